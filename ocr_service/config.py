"""The service's one settings object.

Everything is read from the environment with the prefix ``OCR_SERVICE_`` (nested
pipeline thresholds with ``__``: ``OCR_SERVICE_ID_CARD__MIN_SHARPNESS=0.3``).
Unknown keys in nested configs are an error, so a typo fails at start-up.

``SECRET_KEY`` keys the HMAC of ID numbers and the encryption of manual-review
images and of ID payloads on the Redis queue. It is never stored in the
database. Unset, the embedded default keeps a random one in
``DATA_DIR/secret.key`` (mode 0600); with an external database or broker it
must be given explicitly.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ocr_service.dashboard.config import DashboardConfig
from ocr_service.ops_config import OpsConfig
from ocr_service.thresholds import (
    CalibrationConfig,
    LoadedThresholds,
    ThresholdsFileSource,
    take_loaded,
)
from pipelines.certificate.config import CertificateConfig
from pipelines.id_card.config import IdCardConfig
from pipelines.ocr import OcrConfig

_WEAK_SECRETS = {"changethis", "secret", "changeme", "password", "test", "dev"}
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Configuration of the API, the workers and the CLI."""

    model_config = SettingsConfigDict(
        env_prefix="OCR_SERVICE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    # where things live
    data_dir: Path = Field(Path("data"), description="SQLite file, certificates, review images")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite under DATA_DIR"
    )
    broker_url: str | None = Field(
        None, description="redis://... for the production queue; unset: in-process queue"
    )
    auto_migrate: bool = Field(True, description="apply Alembic migrations at start-up")

    # access
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="comma list of 'name:key' (or bare keys); DB keys come from create-api-key",
    )
    secret_key: SecretStr | None = Field(None, description=">= 32 chars; keys ID-number HMACs")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma list of proxy addresses/CIDRs whose X-Forwarded-For is believed",
    )

    # uploads (enforced while streaming)
    id_max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    id_max_part_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    cert_max_file_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="hard cap per certificate upload (3 MiB is a check)"
    )
    batch_max_body_bytes: int = Field(512 * 1024 * 1024, ge=1024)
    batch_max_files: int = Field(1000, ge=1)
    max_form_fields: int = Field(16, ge=1, description="non-file multipart parts per request")
    max_field_bytes: int = Field(4096, ge=64, description="size of one non-file multipart part")
    body_timeout_s: float = Field(30.0, gt=0, description="whole request body must arrive within")
    batch_body_timeout_s: float = Field(300.0, gt=0, description="the same for batch uploads")

    # limits
    attempts_per_id_number: int = Field(3, ge=1, description="failed verifications per day")
    failures_per_requester: int = Field(10, ge=1, description="failed verifications per day")
    failures_per_api_key: int = Field(
        500, ge=1, description="failed verifications per API key per day (429 beyond)"
    )
    number_flag_failures: int = Field(
        6,
        ge=1,
        description="failures on one number per day across end users before it is flagged "
        "for operators (flagged, never locked)",
    )
    requests_per_minute_per_key: int = Field(1200, ge=1)
    requests_per_minute_per_client: int = Field(600, ge=1)
    id_max_pending: int = Field(
        32,
        ge=1,
        description="hard cap on ID verifications waiting per API process (503 beyond); "
        "admission is by expected wait first (OPS__ID_DEADLINE_S)",
    )
    id_timeout_s: float = Field(30.0, gt=0, description="wait for an ID result at most")
    timezone: str = "Asia/Shanghai"

    # jobs
    job_max_deliveries: int = Field(3, ge=1)
    job_queued_timeout_s: float = Field(120.0, gt=0, description="sweeper re-enqueues after")
    job_running_timeout_s: float = Field(300.0, gt=0, description="sweeper re-runs after")
    sweep_interval_s: float = Field(30.0, gt=0)
    broker_visibility_timeout_s: int = Field(600, ge=5)
    worker_concurrency: int = Field(
        0, ge=0, description="Celery worker processes (models loaded once each); 0: one per core"
    )
    review_retention_days: int = Field(30, ge=1, description="manual-review images kept at most")
    cert_processes: int = Field(
        0, ge=0, description="certificate-checking processes (models loaded once each); 0: per core"
    )
    cert_retention_days: int = Field(
        30, ge=1, description="certificate uploads, previews and fixed files kept at most"
    )
    review_max_pending: int = Field(
        10_000, ge=1, description="manual-review submissions pending in total (429 beyond)"
    )
    review_max_long_side: int = Field(
        2560, ge=256, description="manual-review images are re-encoded no larger than this (px)"
    )
    review_max_image_bytes: int = Field(
        2 * 1024 * 1024, ge=64 * 1024, description="one re-encoded manual-review image at most"
    )

    log_level: str = "INFO"

    # pipelines
    ocr: OcrConfig = Field(default_factory=OcrConfig)
    id_card: IdCardConfig = Field(default_factory=IdCardConfig)
    certificate: CertificateConfig = Field(default_factory=CertificateConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    ops: OpsConfig = Field(default_factory=OpsConfig)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)

    # the thresholds file this object was built with (ocr_service.thresholds)
    _thresholds: LoadedThresholds = PrivateAttr(default_factory=LoadedThresholds)
    _thresholds_generation: int = PrivateAttr(default=0)
    _thresholds_reloaded: tuple[int, Settings] | None = PrivateAttr(default=None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # code > environment > calibration thresholds file > defaults
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            file_secret_settings,
            ThresholdsFileSource(settings_cls),
        )

    def model_post_init(self, context: Any, /) -> None:
        from ocr_service.thresholds import generation

        self._thresholds = take_loaded()
        self._thresholds_generation = generation()

    @property
    def thresholds(self) -> LoadedThresholds:
        """The calibration file these settings read, and where each threshold came from."""
        return self._thresholds

    @property
    def thresholds_file(self) -> Path:
        from ocr_service.thresholds import thresholds_path

        return thresholds_path(self.data_dir, self.calibration.thresholds_file)

    @field_validator("api_keys", "trusted_proxies", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value

    @field_validator("secret_key")
    @classmethod
    def _refuse_weak_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        if raw.lower() in _WEAK_SECRETS or len(raw) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"SECRET_KEY must be a random string of at least {MIN_SECRET_LENGTH} characters "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return value

    @field_validator("api_keys")
    @classmethod
    def _refuse_weak_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        for item in value:
            key = item.get_secret_value().rpartition(":")[2]
            if len(key) < 16 or key.lower() in _WEAK_SECRETS:
                raise ValueError("every API key must be at least 16 random characters")
        return value

    @model_validator(mode="after")
    def _secret_required_in_production(self) -> Settings:
        if self.secret_key is None and (self.broker_url or self.database_url):
            external = not (self.database_url or "sqlite").startswith("sqlite") or self.broker_url
            if external:
                raise ValueError(
                    "OCR_SERVICE_SECRET_KEY must be set when using an external database or "
                    "broker: every API and worker process needs the same key"
                )
        return self

    # derived values -------------------------------------------------------

    @property
    def worker_processes(self) -> int:
        """Celery worker processes: the setting, or one per core this process may use."""
        return self.worker_concurrency or len(os.sched_getaffinity(0))

    @property
    def embedded(self) -> bool:
        """True for the one-machine default: in-process queue worker."""
        return self.broker_url is None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ocr-service.db').resolve()}"

    @property
    def static_api_keys(self) -> list[tuple[str, str]]:
        """(name, key) pairs from ``API_KEYS``; bare keys are named by a digest prefix."""
        pairs = []
        for item in self.api_keys:
            raw = item.get_secret_value()
            name, sep, key = raw.rpartition(":")
            if not sep:
                name = "key-" + hashlib.sha256(raw.encode()).hexdigest()[:8]
            pairs.append((name, key))
        return pairs

    @cached_property
    def secret(self) -> bytes:
        """The master secret: from the environment, else a per-data-dir key file."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process won the race
                pass
            else:
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_urlsafe(48))
        return _read_key_file(path)

    @property
    def trusted_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(item, strict=False) for item in self.trusted_proxies]


def _read_key_file(path: Path, wait_s: float = 2.0) -> bytes:
    """The key file's contents; an empty or short one is refused (never used as a key).
    A file another process has just created may still be empty for a moment."""
    import time

    deadline = time.monotonic() + wait_s
    while True:
        raw = path.read_text().strip()
        if len(raw) >= MIN_SECRET_LENGTH or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    if len(raw) < MIN_SECRET_LENGTH or raw.lower() in _WEAK_SECRETS:
        raise ValueError(
            f"{path} is empty or shorter than {MIN_SECRET_LENGTH} characters: refusing it as "
            "the secret key. Delete it only if nothing was ever stored under this data "
            "directory (keyed hashes and encrypted images depend on it), or set "
            "OCR_SERVICE_SECRET_KEY."
        )
    return raw.encode()


def get_settings() -> Settings:
    return Settings()
