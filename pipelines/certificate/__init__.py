"""Certificate-scan validation: format, name, orientation, skew, quality, duplicates, fixes.

Public API::

    validate_certificate(data, filename, *, engine, config=None) -> CertificateReport
    mark_duplicates(reports, config=None) -> list[CertificateReport]
    fix_certificate(data, report, *, engine, config=None) -> FixedFile | None
    render_preview(data, report, *, max_side=800) -> bytes
    write_report_csv(reports, stream, *, mask=True)
    archive.iter_archive(data, *, limits=None) -> Iterator[ArchiveMember]

A rejected file is a result (a report with reason codes); exceptions mean the
engine broke (:class:`pipelines.errors.InferenceError`) or, for archives, that
the bytes are not a zip at all (:class:`pipelines.certificate.archive.InvalidArchiveError`).
"""

from pipelines.certificate.config import CertificateConfig
from pipelines.certificate.duplicates import fingerprint_distance, mark_duplicates, same_scan
from pipelines.certificate.filename import ParsedFilename, parse_filename
from pipelines.certificate.fix import fix_certificate
from pipelines.certificate.preview import render_preview
from pipelines.certificate.report import write_report_csv
from pipelines.certificate.result import (
    FIXABLE_CODES,
    CertificateReport,
    CertReason,
    CertReasonCode,
    FixedFile,
)
from pipelines.certificate.types import CertificateTypeTable, load_certificate_types
from pipelines.certificate.validate import validate_certificate

__all__ = [
    "FIXABLE_CODES",
    "CertReason",
    "CertReasonCode",
    "CertificateConfig",
    "CertificateReport",
    "CertificateTypeTable",
    "FixedFile",
    "ParsedFilename",
    "fingerprint_distance",
    "fix_certificate",
    "load_certificate_types",
    "mark_duplicates",
    "parse_filename",
    "render_preview",
    "same_scan",
    "validate_certificate",
    "write_report_csv",
]
