"""The work the queues run, shared by the in-process queue and the Celery tasks.

* :func:`run_id_verification` is pure compute: bytes and a declaration in, the
  masked result out. It touches no disk and no database; the API process
  records the outcome.
* :func:`process_certificate_file` (the certificate use case lives in
  :mod:`ocr_service.services.certificate_checks`, shared with the routes) takes a
  job id, re-reads the job row, and is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ocr_service.config import Settings
from ocr_service.services.certificate_checks import (
    WorkerContext,
    build_certificate_record,
    process_certificate_file,
    worker_context,
)
from ocr_service.thresholds import live_settings
from pipelines.ocr import OcrEngine

__all__ = [
    "IdJob",
    "WorkerContext",
    "build_certificate_record",
    "process_certificate_file",
    "run_id_verification",
    "worker_context",
]


@dataclass(frozen=True)
class IdJob:
    """An ID verification travelling through the queue. Lives in memory only."""

    front: bytes
    back: bytes
    declared_name: str
    declared_id_number: str
    today: date

    def __repr__(self) -> str:  # never print the payload
        return "IdJob(<redacted>)"


def run_id_verification(job: IdJob, *, engine: OcrEngine, settings: Settings) -> dict[str, Any]:
    from pipelines.id_card import Declaration, verify_id_card

    result = verify_id_card(
        job.front,
        job.back,
        Declaration(name=job.declared_name, id_number=job.declared_id_number),
        engine=engine,
        config=live_settings(settings).id_card,  # calibrated thresholds, reloaded on SIGHUP
        today=job.today,
    )
    return result.to_dict()
