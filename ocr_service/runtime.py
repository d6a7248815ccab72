"""Process-wide objects, built once: settings, database, file store, keys, OCR engine."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ocr_service.config import Settings
from ocr_service.security import Keys
from ocr_service.storage.db import (
    SessionFactory,
    make_engine,
    make_session_factory,
    migrate,
    private_dir,
)
from ocr_service.storage.files import FileStore
from pipelines.ocr import OcrEngine, OcrResult, create_engine


def engine_slots(threads_per_call: int) -> int:
    """Concurrent model calls that fill the cores without oversubscribing them."""
    return max(1, (os.cpu_count() or 1) // max(1, threads_per_call))


class SerializedEngine:
    """One engine shared by threads, at most ``slots`` model calls at a time.

    The ID thread and the certificate thread of the embedded queue interleave at
    the granularity of a single detect/classify/recognize call, so an ID
    verification waits for at most one model call of a batch, never for a file.
    With one slot per core, the ID pipeline's two sides still run side by side.
    """

    def __init__(self, engine: OcrEngine, slots: int = 1) -> None:
        self._engine = engine
        self._lock = threading.BoundedSemaphore(slots)
        self.name = getattr(engine, "name", type(engine).__name__)

    def detect(self, image: np.ndarray) -> list[np.ndarray]:
        with self._lock:
            return self._engine.detect(image)

    def classify(self, crops: Sequence[np.ndarray]) -> list[tuple[bool, float]]:
        with self._lock:
            return self._engine.classify(crops)

    def recognize(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        with self._lock:
            return self._engine.recognize(crops)

    def read(self, image: np.ndarray, *, classify: bool = True) -> OcrResult:
        with self._lock:
            return self._engine.read(image, classify=classify)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


class EngineHolder:
    """The OCR engine, loaded in the background so /healthz can say 'not yet'."""

    def __init__(self, settings: Settings, engine: OcrEngine | None = None) -> None:
        self._settings = settings
        slots = engine_slots(settings.ocr.threads)
        self._engine: OcrEngine | None = (
            SerializedEngine(engine, slots) if engine is not None else None
        )
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.injected = engine is not None  # an injected engine cannot go to other processes
        if engine is not None:
            self.ready.set()

    def load(self) -> None:
        try:
            self._engine = SerializedEngine(
                create_engine(self._settings.ocr), engine_slots(self._settings.ocr.threads)
            )
        except BaseException as exc:  # reported by /healthz and at first use
            self.error = exc
            raise
        finally:
            self.ready.set()

    def get(self, timeout: float | None = None) -> OcrEngine:
        from ocr_service.errors import NotReadyError

        if not self.ready.wait(timeout):
            raise NotReadyError()
        if self._engine is None:
            raise NotReadyError("OCR engine failed to load")
        return self._engine

    @property
    def loaded(self) -> bool:
        return self.ready.is_set() and self._engine is not None


@dataclass
class Runtime:
    settings: Settings
    session_factory: SessionFactory
    store: FileStore
    keys: Keys
    engine: EngineHolder
    db_engine: Any = field(repr=False, default=None)

    @classmethod
    def build(cls, settings: Settings, engine: OcrEngine | None = None) -> Runtime:
        private_dir(settings.data_dir)  # 0700: certificates, review images, the key file
        url = settings.resolved_database_url
        if settings.auto_migrate:
            migrate(url)
        db_engine = make_engine(url)
        return cls(
            settings=settings,
            session_factory=make_session_factory(db_engine),
            store=FileStore(settings.data_dir),
            keys=Keys.from_secret(settings.secret),
            engine=EngineHolder(settings, engine),
            db_engine=db_engine,
        )
