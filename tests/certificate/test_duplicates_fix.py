from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from pipelines.certificate import (
    CertificateConfig,
    CertReasonCode,
    fingerprint_distance,
    fix_certificate,
    mark_duplicates,
    render_preview,
    validate_certificate,
)
from pipelines.io import decode_image, encode_jpeg

from .conftest import scan


def test_reencoded_and_resized_copies_are_duplicates_but_other_people_are_not(
    good_scan, ocr_engine
) -> None:
    data, name, _spec = good_scan
    pixels = decode_image(data).pixels
    reencoded = encode_jpeg(pixels, quality=70)
    resized = encode_jpeg(
        cv2.resize(pixels, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA), quality=85
    )
    same_template, other_name, _ = scan(102, template="certificate", landscape=False)
    reports = [
        validate_certificate(d, n, engine=ocr_engine)
        for d, n in (
            (data, name),
            (reencoded, "copy1.jpg"),
            (same_template, other_name),
            (resized, "copy2.jpg"),
        )
    ]
    marked = mark_duplicates(reports)
    assert "DUPLICATE" not in marked[0].reason_codes + marked[2].reason_codes
    for later in (marked[1], marked[3]):
        dup = next(r for r in later.reasons if r.code is CertReasonCode.DUPLICATE)
        assert dup.detail["duplicate_index"] == 0 and later.status == "rejected"
    far = fingerprint_distance(reports[0].fingerprint, reports[2].fingerprint)
    near = max(
        fingerprint_distance(reports[0].fingerprint, r.fingerprint)
        for r in (reports[1], reports[3])
    )
    assert near < far


def test_same_template_different_people_are_not_duplicates(ocr_engine) -> None:
    """The hard case: one landscape template, only names, numbers and dates differ."""
    reports = []
    for seed in range(910, 914):
        data, name, _ = scan(
            seed, template="landscape", landscape=True, certificate_type="医师资格证"
        )
        reports.append(
            validate_certificate(
                data, name, engine=ocr_engine, config=CertificateConfig(name_check_budget_px=0)
            )
        )
    assert all("DUPLICATE" not in r.reason_codes for r in mark_duplicates(reports))


def test_fix_makes_a_file_that_passes(ocr_engine) -> None:
    data, name, spec = scan(
        700, rotation=90, skew_degrees=3.1, template="certificate", landscape=False
    )
    report = validate_certificate(data, name, engine=ocr_engine)
    assert set(report.reason_codes) == {"SKEWED", "SIDEWAYS"} and report.fixable
    fixed = fix_certificate(data, report, engine=ocr_engine)
    assert fixed is not None and len(fixed.data) <= 3 * 1024 * 1024
    assert (
        fixed.filename
        == f"{spec.holder.name}+{spec.holder.id_number}+{spec.certificate_type}+{spec.page}.jpg"
    )
    again = validate_certificate(fixed.data, fixed.filename, engine=ocr_engine)
    assert again.accepted, again.to_dict()
    assert abs(again.checks["skew_degrees"]) < 0.5


def test_not_fixable_returns_none(good_scan, ocr_engine) -> None:
    data, _name, _ = good_scan
    report = validate_certificate(data, "IMG_1.jpg", engine=ocr_engine)
    assert fix_certificate(data, report, engine=ocr_engine) is None


def test_preview_is_clean_jpeg(good_scan, ocr_engine) -> None:
    data, name, _ = good_scan
    payload = data + b"PK\x03\x04<script>alert(1)</script>"
    report = validate_certificate(data, name, engine=ocr_engine)
    preview = render_preview(payload, report, max_side=400)
    image = Image.open(io.BytesIO(preview))
    assert image.format == "JPEG" and max(image.size) <= 400 and not image.getexif()
    assert preview.endswith(b"\xff\xd9") and b"<script>" not in preview
    assert render_preview(b"garbage", report).startswith(b"\xff\xd8")
    assert np.asarray(image).std() > 0
