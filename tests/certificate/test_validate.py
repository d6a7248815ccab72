"""Every reason code, on real generated scans and the real OCR models."""

from __future__ import annotations

import random
import struct
import zlib

import cv2
import numpy as np
import pytest

from pipelines.certificate import (
    CertificateConfig,
    CertReasonCode,
    fix_certificate,
    validate_certificate,
)
from samples.certificate.generate import (
    canonical_filename,
    encode,
    make_scan,
    random_spec,
)

from .conftest import scan

C = CertReasonCode


def codes(report) -> set[str]:
    return set(report.reason_codes)


def test_good_scan_is_accepted_with_checks(good_scan, ocr_engine) -> None:
    data, name, spec = good_scan
    report = validate_certificate(data, name, engine=ocr_engine)
    assert report.status == "accepted", report.to_dict()
    assert report.warnings == ()
    checks = report.to_dict()["checks"]
    assert checks["format"] == "jpeg" and checks["bytes"] == len(data)
    assert abs(checks["skew_degrees"] - spec.skew_degrees) < 0.2
    assert checks["orientation_degrees"] == 0
    assert checks["filename"]["name"] == spec.holder.name[0] + "*" * (len(spec.holder.name) - 1)
    assert spec.holder.id_number not in str(report.to_dict())
    assert report.fingerprint and report.fixable is False


@pytest.mark.parametrize(
    ("rotation", "landscape", "code"),
    [
        (180, False, C.UPSIDE_DOWN),
        (90, False, C.SIDEWAYS),
        (270, True, C.SIDEWAYS),
        (180, True, C.UPSIDE_DOWN),
    ],
)
def test_orientation(ocr_engine, rotation: int, landscape: bool, code: CertReasonCode) -> None:
    data, name, _ = scan(200 + rotation + landscape, rotation=rotation, landscape=landscape)
    report = validate_certificate(data, name, engine=ocr_engine)
    assert codes(report) == {code}, report.to_dict()
    assert report.checks["orientation_degrees"] == rotation
    assert report.fixable


@pytest.mark.parametrize("theta", [3.4, -2.6])
def test_skewed_reports_the_angle(ocr_engine, theta: float) -> None:
    data, name, _ = scan(300, skew_degrees=theta, template="certificate", landscape=False)
    report = validate_certificate(data, name, engine=ocr_engine)
    assert codes(report) == {C.SKEWED}
    (reason,) = report.reasons
    assert abs(reason.detail["degrees"] - theta) < 0.2 and f"{abs(theta):.1f}" in reason.message


def test_one_degree_passes(ocr_engine) -> None:
    data, name, _ = scan(
        301, skew_degrees=-1.0, template="report", certificate_type="学历证书验证报告"
    )
    assert validate_certificate(data, name, engine=ocr_engine).accepted


def test_blank_low_resolution_blurry(ocr_engine) -> None:
    data, name, _ = scan(400, blank=True)
    assert codes(validate_certificate(data, name, engine=ocr_engine)) == {C.BLANK_PAGE}
    # legibility, not page size: a 640 px page of 20 px characters passes ...
    data, name, _ = scan(401, width_px=640, template="certificate", landscape=False)
    small_page = validate_certificate(data, name, engine=ocr_engine)
    assert C.LOW_RESOLUTION not in codes(small_page), small_page.to_dict()
    assert small_page.checks["char_height_px"] > 15
    # ... a 300 px page of 9 px characters does not, and says what it measured
    data, name, _ = scan(401, width_px=300, template="certificate", landscape=False)
    low = validate_certificate(data, name, engine=ocr_engine)
    assert codes(low) == {C.LOW_RESOLUTION}, low.to_dict()
    detail = low.reasons[0].detail
    assert detail["minimum"] == 12 and detail["char_px"] < 12 and "12" in low.reasons[0].message
    data, name, _ = scan(402, blur_sigma=3.5, template="certificate", landscape=False)
    assert C.BLURRY in codes(validate_certificate(data, name, engine=ocr_engine))


def test_empty_file_has_its_own_code(ocr_engine) -> None:
    _, name, _ = scan(101, template="certificate", landscape=False)
    report = validate_certificate(b"", name, engine=ocr_engine)
    assert report.reason_codes == ["EMPTY_FILE"] and "重新上传" in report.reasons[0].message


def test_pictures_without_text_warn_and_blank_is_never_blurry(ocr_engine) -> None:
    rng = np.random.default_rng(7)
    page = np.full((1400, 1000, 3), 245, np.uint8)
    for _ in range(12):  # colour pictograms: filled circles and squares, no writing
        x, y, r = (
            int(rng.integers(100, 900)),
            int(rng.integers(100, 1300)),
            int(rng.integers(30, 90)),
        )
        colour = tuple(int(c) for c in rng.integers(0, 200, 3))
        cv2.circle(page, (x, y), r, colour, -1)
        cv2.rectangle(page, (x - r, y + r + 10), (x + r, y + 2 * r), colour, -1)
    _, name, _ = scan(101, template="certificate", landscape=False)
    report = validate_certificate(encode(page), name, engine=ocr_engine)
    assert report.accepted and report.warning_codes == ["TEXT_NOT_FOUND"], report.to_dict()
    blank = np.full((1400, 1000, 3), 240, np.uint8)
    noisy = np.clip(blank + rng.normal(0, 3, blank.shape), 0, 255).astype(np.uint8)
    assert codes(validate_certificate(encode(noisy), name, engine=ocr_engine)) == {C.BLANK_PAGE}


def test_page_type_and_id_number_are_read_from_the_page(ocr_engine) -> None:
    data, name, spec = scan(700, certificate_type="学位证书", template="certificate")
    report = validate_certificate(data, name, engine=ocr_engine)
    assert report.accepted and report.warnings == (), report.to_dict()
    assert report.checks["page_type"] == "学位证书" and report.checks["page_id_matches"] is True
    # a 学位证书 uploaded under a 学历证书 name: a warning naming both, or a rejection
    other = name.replace("学位证书", "学历证书")
    warned = validate_certificate(data, other, engine=ocr_engine)
    assert warned.accepted and warned.warning_codes == ["CERTIFICATE_TYPE_MISMATCH"]
    assert "学历证书" in warned.warnings[0].message and "学位证书" in warned.warnings[0].message
    strict = CertificateConfig(type_mismatch_rejects=True)
    assert codes(validate_certificate(data, other, engine=ocr_engine, config=strict)) == {
        C.CERTIFICATE_TYPE_MISMATCH
    }
    # another valid number in the file name than the one printed on the page
    h = spec.holder
    body = "110105198001010" + ("02" if h.id_number[15:17] != "02" else "04")
    from pipelines.idnumber import check_id_number as check

    number = next(body + c for c in "0123456789X" if check(body + c).problem is None)
    renamed = name.replace(h.id_number, number)
    mismatch = validate_certificate(data, renamed, engine=ocr_engine)
    assert "ID_NUMBER_MISMATCH" in mismatch.warning_codes, mismatch.to_dict()
    assert number not in str(mismatch.to_dict()) and h.id_number not in str(mismatch.to_dict())


def test_records_keep_every_stage(good_scan, ocr_engine) -> None:
    data, name, _ = good_scan
    stages = validate_certificate(data, name, engine=ocr_engine).checks["stages"]
    assert list(stages)[:3] == ["check_filename", "format", "decode"]
    assert stages["resolution"]["limits"] == {"min_char_height_px": 12.0}
    assert stages["resolution"]["measured"]["char_height_px"] > 12
    assert all(
        set(s) == {"passed", "measured", "limits", "reasons", "elapsed_ms"} for s in stages.values()
    )


def test_an_illegible_page_is_not_read(ocr_engine) -> None:
    class Counting:
        name = "counting"
        recognized = 0

        def __getattr__(self, attr: str):
            return getattr(ocr_engine, attr)

        def recognize(self, crops):
            Counting.recognized += len(crops)
            return ocr_engine.recognize(crops)

    data, name, _ = scan(401, width_px=300, template="certificate", landscape=False)
    report = validate_certificate(data, name, engine=Counting())  # type: ignore[arg-type]
    assert report.reason_codes == ["LOW_RESOLUTION"] and Counting.recognized == 0


def test_name_not_on_document_is_a_warning_unless_configured(ocr_engine) -> None:
    data, name, spec = scan(500, template="certificate", landscape=False)
    other = name.replace(spec.holder.name, "司马相如")
    report = validate_certificate(data, other, engine=ocr_engine)
    assert report.accepted and report.warning_codes == ["NAME_NOT_ON_DOCUMENT"]
    strict = CertificateConfig(name_not_on_document_rejects=True)
    assert codes(validate_certificate(data, other, engine=ocr_engine, config=strict)) == {
        C.NAME_NOT_ON_DOCUMENT
    }


def test_filename_reasons(good_scan, ocr_engine) -> None:
    data, _name, spec = good_scan
    h = spec.holder
    bad_id = h.id_number[:17] + ("0" if h.id_number[17] != "0" else "1")
    cases = {
        "IMG_0001.jpg": {C.BAD_FILENAME},
        f"{h.name}+{bad_id}+医师资格证+1.jpg": {C.FILENAME_ID_INVALID},
        f"{h.name}+{h.id_number}+荣誉证书+1.jpg": {C.UNKNOWN_CERTIFICATE_TYPE},
        f"{h.name}+{h.id_number}+医师资格证.jpg": {C.BAD_FILENAME},
    }
    for filename, expected in cases.items():
        report = validate_certificate(
            data, filename, engine=ocr_engine, config=CertificateConfig(name_check_budget_px=0)
        )
        assert codes(report) == expected, (filename, report.reason_codes)


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)

    def chunk_bytes(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    idat = zlib.compress(b"\0" * 4096)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk_bytes(b"IHDR", ihdr)
        + chunk_bytes(b"IDAT", idat)
        + chunk_bytes(b"IEND", b"")
    )


def test_bad_bytes_are_results_not_exceptions(good_scan, ocr_engine) -> None:
    data, name, _ = good_scan
    cases = {
        b"GIF89a" + b"\0" * 100: C.UNSUPPORTED_FORMAT,
        b"%PDF-1.7\n" + b"x" * 100: C.UNSUPPORTED_FORMAT,
        b"": C.EMPTY_FILE,
        data[: len(data) // 2]: C.CORRUPT_IMAGE,
        data[:200]: C.CORRUPT_IMAGE,
        _png_header(30000, 30000): C.CORRUPT_IMAGE,  # 900 MP bomb: refused from its header
    }
    for payload, code in cases.items():
        report = validate_certificate(payload, name, engine=ocr_engine)
        assert code in codes(report), (payload[:10], report.reason_codes)
    bomb = validate_certificate(_png_header(30000, 30000), name, engine=ocr_engine)
    assert bomb.reasons[0].detail["refusal"] == "pixel_limit" and bomb.timings_ms["total"] < 100


def test_extension_rules(good_scan, ocr_engine) -> None:
    data, name, _ = good_scan
    cfg = CertificateConfig(name_check_budget_px=0)
    assert codes(validate_certificate(data, name[:-4] + ".bmp", engine=ocr_engine, config=cfg)) == {
        C.UNSUPPORTED_FORMAT
    }
    mismatch = validate_certificate(data, name[:-4] + ".png", engine=ocr_engine, config=cfg)
    assert mismatch.accepted and mismatch.warnings[0].detail["mismatch"] is True


def test_file_too_large_is_fixable(ocr_engine) -> None:
    spec = random_spec(random.Random(600), template="certificate", landscape=False, width_px=1100)
    pixels = make_scan(spec, 600)
    big = encode(pixels, fmt="png")
    noisy = np.clip(
        pixels.astype(np.int16) + np.random.default_rng(0).integers(-40, 40, pixels.shape), 0, 255
    )
    big = encode(noisy.astype(np.uint8), fmt="png")
    assert len(big) > 3 * 1024 * 1024
    name = canonical_filename(spec, ext="png")
    report = validate_certificate(
        big, name, engine=ocr_engine, config=CertificateConfig(name_check_budget_px=0)
    )
    assert C.FILE_TOO_LARGE in codes(report) and report.fixable
    fixed = fix_certificate(big, report, engine=ocr_engine)
    assert fixed is not None and len(fixed.data) <= 3 * 1024 * 1024
    assert fixed.filename.endswith(".jpg") and "jpeg_q" in " ".join(fixed.applied)
    again = validate_certificate(
        fixed.data,
        fixed.filename,
        engine=ocr_engine,
        config=CertificateConfig(name_check_budget_px=0),
    )
    assert C.FILE_TOO_LARGE not in codes(again) and C.UNSUPPORTED_FORMAT not in codes(again)
