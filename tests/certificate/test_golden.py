"""The committed golden set: every file gives exactly the reasons its manifest lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.certificate import mark_duplicates, validate_certificate

GOLDEN = Path(__file__).resolve().parents[2] / "samples" / "golden" / "certificates"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reports(ocr_engine):
    return [
        validate_certificate((GOLDEN / m["file"]).read_bytes(), m["file"], engine=ocr_engine)
        for m in MANIFEST
    ]


@pytest.mark.parametrize("index", range(len(MANIFEST)), ids=[m["case"] for m in MANIFEST])
def test_golden_file(reports, index: int) -> None:
    expected, report = MANIFEST[index], reports[index]
    assert sorted(report.reason_codes) == sorted(expected["reasons"]), report.to_dict()
    if not expected["optional_warnings"]:
        assert sorted(report.warning_codes) == sorted(expected["warnings"])
    if report.checks.get("orientation_degrees") is not None:
        assert report.checks["orientation_degrees"] == expected["rotation"]


def test_golden_set_has_no_duplicates(reports) -> None:
    assert all("DUPLICATE" not in r.reason_codes for r in mark_duplicates(reports))
