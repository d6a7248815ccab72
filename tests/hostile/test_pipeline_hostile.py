"""Pipeline-level replay of the hostile corpus: no server, fast.

For every case: the documented outcome, no exception outside
:mod:`pipelines.errors`, within its time and memory bounds; only JPEG and PNG
ever reach Pillow, no external program is started, and a preview never carries
the upload's EXIF, GPS or trailing bytes.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from PIL import EpsImagePlugin, Image

from pipelines.certificate import render_preview, validate_certificate, write_report_csv
from pipelines.certificate.archive import InvalidArchiveError, iter_archive
from pipelines.errors import InputError
from pipelines.io import decode_image, read_header
from tests.hostile import generate
from tests.hostile.cases import ARCHIVE_CASES, IMAGE_CASES, ArchiveCase, ImageCase
from tests.hostile.measure import measured


@pytest.fixture(autouse=True)
def only_jpeg_and_png_reach_pillow(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Every ``Image.open`` is restricted to JPEG/PNG; EPS (Ghostscript) and any child
    process are forbidden outright for the duration of each test."""
    seen: list[tuple[str, ...]] = []
    real_open = Image.open

    def guarded_open(fp, mode="r", formats=None):  # type: ignore[no-untyped-def]
        seen.append(tuple(formats or ()))
        assert formats is not None and set(formats) <= {"JPEG", "PNG"}, (
            f"Image.open with formats={formats}"
        )
        return real_open(fp, mode, formats)

    def forbidden(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError(f"an external program was started: {args[:1]}")

    monkeypatch.setattr(Image, "open", guarded_open)
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", forbidden)
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", forbidden)
    monkeypatch.setattr(subprocess.Popen, "__init__", forbidden)
    monkeypatch.setattr(os, "posix_spawn", forbidden)
    monkeypatch.setattr(os, "system", forbidden)
    return seen


def test_corpus_matches_its_generator() -> None:
    assert generate.stale() == [], "run: .venv/bin/python -m tests.hostile.generate"
    for path in generate.CORPUS.rglob("*"):
        assert not path.is_file() or path.stat().st_size < 512 * 1024, (
            f"{path} is too big to commit"
        )


@pytest.mark.parametrize("case", IMAGE_CASES, ids=lambda c: c.name)
def test_header_check_refuses_before_decoding(case: ImageCase) -> None:
    data = case.data()
    with measured() as m:
        if case.pipeline is None:
            read_header(data)
        else:
            with pytest.raises(case.pipeline):
                read_header(data)
    assert m.seconds < case.seconds, f"{m.seconds * 1000:.0f} ms"
    assert m.growth_mb < case.rss_mb, f"RSS grew {m.growth_mb:.0f} MB"


@pytest.mark.parametrize("case", IMAGE_CASES, ids=lambda c: c.name)
def test_decode_never_escapes_the_error_tree(case: ImageCase) -> None:
    with measured() as m:
        try:
            decoded = decode_image(case.data(), max_long_side=1600)
        except InputError:
            decoded = None
    assert case.pipeline is None or decoded is None
    assert m.growth_mb < max(case.rss_mb, 50), f"RSS grew {m.growth_mb:.0f} MB"
    assert m.seconds < 2.0


@pytest.mark.parametrize("case", IMAGE_CASES, ids=lambda c: c.name)
def test_certificate_validation_reports_a_reason(case: ImageCase, ocr_engine) -> None:  # type: ignore[no-untyped-def]
    with measured() as m:
        report = validate_certificate(case.data(), case.filename, engine=ocr_engine)
    if case.cert_reason is not None:
        assert case.cert_reason in report.reason_codes, report.reason_codes
    if case.pipeline is not None:
        assert report.status == "rejected"
        assert m.seconds < 0.5 and m.growth_mb < case.rss_mb, (m.seconds, m.growth_mb)
    assert m.seconds < 10


@pytest.mark.parametrize(
    "case", [c for c in IMAGE_CASES if c.path.startswith("payload/")], ids=lambda c: c.name
)
def test_previews_are_reencoded_without_payload(case: ImageCase, ocr_engine) -> None:  # type: ignore[no-untyped-def]
    data = case.data()
    report = validate_certificate(data, case.filename, engine=ocr_engine)
    preview = render_preview(data, report)
    assert_clean_jpeg(preview)


def assert_clean_jpeg(data: bytes) -> None:
    """Nothing after the end marker, no EXIF/GPS/comment, none of the corpus' payloads."""
    assert data[:3] == b"\xff\xd8\xff" and data.endswith(b"\xff\xd9")
    assert data.count(b"\xff\xd9") == 1, "bytes after the JPEG end marker"
    for needle in (
        b"Exif\x00",
        b"<script",
        b"<?php",
        b"PK\x03\x04",
        b"onerror",
        b"EvilCam",
        b"\xff\xfe",
    ):
        assert needle not in data, needle
    image = Image.open(io.BytesIO(data), formats=("JPEG",))
    assert not image.getexif() and not image.info.get("exif") and not image.info.get("comment")


@pytest.mark.parametrize("case", ARCHIVE_CASES, ids=lambda c: c.name)
def test_archive_members_refused_one_by_one(
    case: ArchiveCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = case.make()
    monkeypatch.chdir(
        tmp_path
    )  # a member written relative to the working directory would land here
    with measured() as m:
        if case.invalid:
            with pytest.raises(InvalidArchiveError):
                list(iter_archive(data))
            members = []
        else:
            members = list(iter_archive(data))
    assert m.seconds < case.seconds, f"{m.seconds:.2f} s"
    assert m.growth_mb < case.rss_mb + len(data) / 2**20, f"RSS grew {m.growth_mb:.0f} MB"
    assert list(tmp_path.iterdir()) == [], "iter_archive wrote to disk"
    kinds = tuple(
        (mb.refusal.detail or {}).get("refusal") if mb.refusal else "ok" for mb in members
    )
    if case.refusals is not None:
        assert kinds == case.refusals
    for member in members:
        assert (member.data is None) == (member.refusal is not None)
        assert "/" not in member.name and "\\" not in member.name and "\x00" not in member.name
        assert len(member.name) <= 200
        if member.refusal is not None:
            assert member.refusal.message and member.refusal.code
    if case.name == "deflate_10GB_lying_header":
        assert kinds and all(k != "ok" for k in kinds)
    if case.name == "forged_size":
        assert kinds[:2] != ("ok", "ok") and kinds[-1] == "ok"
    if case.name == "empty_entries_10000":
        assert len(members) <= 1001 and kinds[-1] == "too_many_members"


@pytest.mark.parametrize(
    "filename",
    [
        '"><svg onload=alert(1)>.jpg',
        "=cmd|' /C calc'!A0.jpg",
        "+1+1.jpg",
        "-2+3.jpg",
        "@SUM(A1).jpg",
        "\t=1.jpg",
        "\r=1.jpg",
    ],
)
def test_report_csv_neutralises_formulas_and_keeps_names_verbatim(
    filename: str, ocr_engine
) -> None:  # type: ignore[no-untyped-def]
    report = validate_certificate(b"not an image", filename, engine=ocr_engine)
    stream = io.StringIO(newline="")
    write_report_csv([report], stream, mask=False)
    import csv

    rows = list(csv.reader(io.StringIO(stream.getvalue().lstrip("\ufeff"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert any(filename.strip("\t\r") in cell for cell in cells)
    for cell in cells:
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), f"formula cell {cell!r}"
