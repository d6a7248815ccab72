"""Settings for running the service in production: metrics, admission, the HTTP server, drain.

Sits in :class:`ocr_service.config.Settings` as ``ops`` (env
``OCR_SERVICE_OPS__ID_DEADLINE_S=8`` and so on); unknown keys are refused.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class OpsConfig(BaseModel):
    """Metrics exposure, admission deadlines, request-head limits and the shutdown drain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metrics_enabled: bool = Field(True, description="expose /metrics (Prometheus text format)")
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="serve /metrics on its own port bound to METRICS_HOST, without an API key; "
        "unset: on the API port, behind an API key like the API",
    )
    metrics_host: str = Field("127.0.0.1", description="address of the separate metrics port")
    multiproc_dir: str | None = Field(
        None,
        description="prometheus-client multiprocess directory shared by the API processes and "
        "the workers of one host; unset: DATA_DIR/prometheus",
    )

    id_deadline_s: float = Field(
        10.0,
        gt=0,
        description="client-facing deadline of an ID verification: admitted only when the "
        "expected wait (jobs ahead x recent per-job service time) fits, answered by then",
    )
    single_cert_deadline_s: float = Field(
        10.0, gt=0, description="the same for /v1/certificates/validate"
    )
    batch_deadline_s: float = Field(
        900.0,
        gt=0,
        description="a batch upload is refused while the certificate backlog would take longer",
    )
    admission_headroom: float = Field(
        0.8,
        gt=0,
        le=1,
        description="share of a deadline the expected wait may fill at admission: the rest "
        "absorbs service times that rise after a job was admitted (a certificate batch "
        "arriving), so admitted jobs are answered within the deadline",
    )
    service_time_window: int = Field(
        20, ge=1, description="recent jobs whose service times make the estimate"
    )
    initial_id_service_s: float = Field(
        1.0, gt=0, description="per-job estimate before any ID verification was measured"
    )
    initial_cert_service_s: float = Field(
        1.0, gt=0, description="per-file estimate before any certificate was measured"
    )
    id_parallelism: int | None = Field(
        None,
        ge=1,
        description="ID jobs processed at once behind this process (Celery: the id workers' "
        "total concurrency); unset: 1 for the embedded queue, WORKER_CONCURRENCY for Celery",
    )

    head_timeout_s: float = Field(
        10.0, gt=0, description="a request line and headers must arrive within (then closed)"
    )
    max_head_bytes: int = Field(
        64 * 1024, ge=4096, description="request line and headers at most (HTTP/1 buffer)"
    )
    drain_timeout_s: float = Field(
        30.0,
        gt=0,
        description="on SIGTERM: stop admitting, answer what is in flight, exit within this",
    )
    workers: int | None = Field(
        None,
        ge=1,
        description="API processes; unset: 1 with the embedded queue (its engine already uses "
        "every core), one per core with --no-worker",
    )


def ops_config(settings: Any) -> OpsConfig:
    """The ops config from the service settings, or the defaults."""
    value = getattr(settings, "ops", None)
    return value if isinstance(value, OpsConfig) else OpsConfig()
