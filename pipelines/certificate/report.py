"""The batch report as CSV that Excel opens correctly: UTF-8 with a BOM, CRLF rows."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from pipelines.certificate.result import CertificateReport

COLUMNS = (
    "序号",
    "文件名",
    "结果",
    "原因代码",
    "原因说明",
    "提示",
    "可自动纠正",
    "姓名",
    "身份证号",
    "证书名称",
    "页码",
    "格式",
    "字节数",
    "宽",
    "高",
    "歪斜角度",
    "方向角度",
)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ is a formula to Excel: neutralise (CSV injection).
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def write_report_csv(
    reports: Iterable[CertificateReport], stream: TextIO, *, mask: bool = True
) -> None:
    """Write one row per report to a text ``stream`` (open it with ``newline=""``).
    The BOM is written first, so write to a fresh stream. ``mask`` hides the ID number
    and given name in the file name (default; pass False for the unit's own machine)."""
    stream.write("\ufeff")
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for i, report in enumerate(reports, 1):
        parsed = report.checks.get("filename") or {}
        writer.writerow(
            [
                _cell(v)
                for v in (
                    i,
                    (report.masked_filename or report.filename) if mask else report.filename,
                    "通过" if report.accepted else "不通过",
                    ";".join(report.reason_codes),
                    "；".join(r.message for r in report.reasons),
                    "；".join(w.message for w in report.warnings),
                    "是" if report.fixable else "否",
                    parsed.get("name"),
                    parsed.get("id_number"),
                    parsed.get("certificate_type") or parsed.get("certificate_text"),
                    parsed.get("page"),
                    report.checks.get("format"),
                    report.checks.get("bytes"),
                    report.checks.get("width"),
                    report.checks.get("height"),
                    report.checks.get("skew_degrees"),
                    report.checks.get("orientation_degrees"),
                )
            ]
        )
