"""The calibration thresholds file: threshold values an operator applied from reviewer
feedback, read by :class:`ocr_service.config.Settings` at start-up and again after SIGHUP.

Source order, highest first: values passed to ``Settings(...)`` in code (tests), the
environment (``OCR_SERVICE_ID_CARD__MIN_SHARPNESS``), the thresholds file, the defaults.
The environment stays above the file: a value pinned in the deployment is a deliberate
decision that a dashboard click must not silently undo. The settings page says where each
value came from, and the calibration page warns when the environment masks the file.

The file (``DATA_DIR/thresholds.toml`` unless ``CALIBRATION__THRESHOLDS_FILE``) holds only
the pipelines' threshold sections::

    [id_card]
    min_sharpness = 0.25

An unknown section or key is an error at start-up, like any unknown setting.

Reloading: SIGHUP (or an apply in this process) bumps a generation counter; code that
hands thresholds to a pipeline calls :func:`live_settings`, which rebuilds the settings
once per generation (same code values, same environment, the file as it is now). A file
that no longer loads is logged and the previous settings stay in force.
"""

from __future__ import annotations

import contextvars
import logging
import os
import signal
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

log = logging.getLogger("ocr_service.thresholds")

#: The settings sections a thresholds file may set.
SECTIONS = ("id_card", "certificate")
DEFAULT_FILE_NAME = "thresholds.toml"


class ThresholdsFileError(ValueError):
    """The thresholds file cannot be read or names something that is not a threshold."""


class CalibrationConfig(BaseModel):
    """How proposals are made from reviewer feedback, and where applied values are kept."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    thresholds_file: Path | None = Field(
        None, description="calibrated thresholds (TOML); default DATA_DIR/thresholds.toml"
    )
    target_recall: float = Field(
        0.99,
        gt=0,
        le=1,
        description="share of reviewer-confirmed rejections a proposed threshold must still reject",
    )
    min_reviewed: int = Field(
        30, ge=1, description="reviewed rejections a check needs before a threshold is proposed"
    )
    histogram_bins: int = Field(20, ge=4, le=100, description="bars per calibration histogram")


def thresholds_path(data_dir: Path | str, configured: Path | str | None) -> Path:
    return Path(configured) if configured else Path(data_dir) / DEFAULT_FILE_NAME


# -- the file ----------------------------------------------------------------------------


def read_thresholds(path: Path) -> dict[str, dict[str, Any]]:
    """The sections of a thresholds file; a missing file is empty."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ThresholdsFileError(f"{path}: {exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ThresholdsFileError(f"{path}: not valid TOML: {exc}") from exc
    out: dict[str, dict[str, Any]] = {}
    for section, values in data.items():
        if section not in SECTIONS or not isinstance(values, dict):
            raise ThresholdsFileError(
                f"{path}: unknown section [{section}] (allowed: {', '.join(SECTIONS)})"
            )
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ThresholdsFileError(f"{path}: {section}.{key} must be a number")
        out[section] = dict(values)
    return out


def dump_thresholds(values: dict[str, dict[str, Any]], *, header: str = "") -> str:
    """TOML text for ``values`` (numbers only; sections and keys sorted)."""
    lines = [f"# {line}" for line in header.splitlines()]
    for section in sorted(values):
        if not values[section]:
            continue
        lines += ["", f"[{section}]"] if lines else [f"[{section}]"]
        for key in sorted(values[section]):
            value = values[section][key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ThresholdsFileError(f"{section}.{key} must be a number")
            lines.append(f"{key} = {value!r}")
    return "\n".join(lines) + "\n"


def write_thresholds(path: Path, values: dict[str, dict[str, Any]], *, header: str = "") -> None:
    """Replace the file atomically (a reader sees the old or the new file, never half)."""
    text = dump_thresholds(values, header=header)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# -- the settings source ------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedThresholds:
    """What one ``Settings`` construction read: the file, and which keys came from where."""

    path: Path | None = None
    file_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    env_keys: frozenset[tuple[str, str]] = frozenset()
    code_keys: frozenset[tuple[str, str]] = frozenset()
    init_kwargs: dict[str, Any] = field(default_factory=dict)

    def source_of(self, section: str, key: str) -> str:
        """``code``, ``environment``, ``file`` or ``default``: where a value came from."""
        if (section, key) in self.code_keys or (section, "*") in self.code_keys:
            return "code"
        if (section, key) in self.env_keys or (section, "*") in self.env_keys:
            return "environment"
        if key in self.file_values.get(section, {}):
            return "file"
        return "default"


_LOADED: contextvars.ContextVar[LoadedThresholds | None] = contextvars.ContextVar(
    "ocr_service_thresholds_loaded", default=None
)


def _keys(state: Any) -> frozenset[tuple[str, str]]:
    """(section, key) pairs a source set for the threshold sections; ``*`` for a whole
    section given as an object."""
    keys: set[tuple[str, str]] = set()
    if not isinstance(state, dict):
        return frozenset()
    for section in SECTIONS:
        value = state.get(section)
        if isinstance(value, dict):
            keys.update((section, str(k).lower()) for k in value)
        elif value is not None:
            keys.add((section, "*"))
    return frozenset(keys)


class ThresholdsFileSource(PydanticBaseSettingsSource):
    """A pydantic-settings source below the environment: the thresholds file's sections."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # the whole file is returned by __call__

    def __call__(self) -> dict[str, Any]:
        state = self.current_state
        calibration = state.get("calibration")
        configured = None
        if isinstance(calibration, dict):
            configured = calibration.get("thresholds_file")
        elif isinstance(calibration, CalibrationConfig):
            configured = calibration.thresholds_file
        path = thresholds_path(state.get("data_dir") or "data", configured)
        values = read_thresholds(path)
        sources = self.settings_sources_data
        init_kwargs = dict(sources.get("InitSettingsSource") or {})
        env_state = {
            **(sources.get("DotEnvSettingsSource") or {}),
            **(sources.get("EnvSettingsSource") or {}),
        }
        _LOADED.set(
            LoadedThresholds(
                path=path,
                file_values=values,
                env_keys=_keys(env_state),
                code_keys=_keys(init_kwargs),
                init_kwargs=init_kwargs,
            )
        )
        return {section: dict(v) for section, v in values.items()}


def take_loaded() -> LoadedThresholds:
    """What the source of the ``Settings`` being built read (``model_post_init`` calls it)."""
    loaded = _LOADED.get()
    _LOADED.set(None)
    return loaded or LoadedThresholds()


# -- reloading ----------------------------------------------------------------------------

_generation = 0
_reload_lock = threading.Lock()


def request_reload(*_: Any) -> None:
    """Re-read the thresholds file before the next pipeline run (SIGHUP handler; safe in a
    signal handler: one integer store)."""
    global _generation
    _generation += 1


def generation() -> int:
    return _generation


def install_reload_signal() -> bool:
    """SIGHUP re-reads the thresholds file. Only the main thread may install handlers (a
    server run in a thread, as in tests, skips this; an apply reloads in-process anyway)."""
    if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(signal.SIGHUP, request_reload)
    return True


def live_settings(settings: Any) -> Any:
    """``settings`` as of the last reload request: rebuilt with the same code values and
    environment and the thresholds file as it is now, once per reload. If the file no
    longer loads, the error is logged and ``settings`` stays in force."""
    gen = _generation
    private = getattr(settings, "__pydantic_private__", None)
    if private is None or "_thresholds_generation" not in private:
        return settings
    if settings._thresholds_generation == gen:
        return settings
    cached = settings._thresholds_reloaded
    if cached is not None and cached[0] == gen:
        return cached[1]
    with _reload_lock:
        cached = settings._thresholds_reloaded
        if cached is not None and cached[0] == gen:
            return cached[1]
        try:
            fresh = type(settings)(**settings._thresholds.init_kwargs)
        except Exception as exc:  # a bad file must not stop verifications: keep what works
            log.error("thresholds file not reloaded, previous values stay: %s", exc)
            fresh = cached[1] if cached is not None else settings
        else:
            fresh._thresholds_generation = gen
            log.info("thresholds reloaded", extra={"path": str(settings._thresholds.path)})
        settings._thresholds_reloaded = (gen, fresh)
        return fresh
