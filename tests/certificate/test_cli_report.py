from __future__ import annotations

import csv
import io
import zipfile

from rich.console import Console

from ocr_service.certs_cli import validate_certs_command
from pipelines.certificate import validate_certificate, write_report_csv

from .conftest import scan


def test_cli_over_files_folders_and_zips(tmp_path, good_scan, ocr_engine) -> None:
    data, name, _spec = good_scan
    upside, upside_name, _ = scan(202 + 180, rotation=180, landscape=False)
    folder = tmp_path / "unit"
    (folder / "sub").mkdir(parents=True)
    (folder / name).write_bytes(data)
    (folder / "sub" / upside_name).write_bytes(upside)
    (folder / ".DS_Store").write_bytes(b"junk")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../../evil.jpg", data)
        zf.writestr("copy.jpg", data)
    archive = tmp_path / "batch.zip"
    archive.write_bytes(buffer.getvalue())
    report, fixes = tmp_path / "out.csv", tmp_path / "fixed"
    out = io.StringIO()
    code = validate_certs_command(
        [folder, archive],
        report=report,
        fix_dir=fixes,
        engine=ocr_engine,
        console=Console(file=out, width=200),
    )
    assert code == 1
    raw = report.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 5 and rows[0][0] == "序号"
    results = [r[3] for r in rows[1:]]
    assert "" in results and "UPSIDE_DOWN" in results and "DUPLICATE" in ";".join(results)
    assert any("ARCHIVE_UNSAFE_PATH" in r for r in results)  # the zip-slip member
    fixed = list(fixes.iterdir())
    assert len(fixed) == 1 and fixed[0].suffix == ".jpg"
    assert "汇总" in out.getvalue()


def test_csv_masks_by_default_and_neutralises_formulas(good_scan, ocr_engine) -> None:
    data, name, spec = good_scan
    report = validate_certificate(data, name, engine=ocr_engine)
    evil = validate_certificate(b"GIF89a", '=HYPERLINK("http://x").jpg', engine=ocr_engine)
    stream = io.StringIO(newline="")
    write_report_csv([report, evil], stream)
    text = stream.getvalue()
    assert spec.holder.id_number not in text and "\r\n" in text
    assert "'=HYPERLINK" in text
