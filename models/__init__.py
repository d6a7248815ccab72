"""The model registry: which model files are loaded, with checksums.

The OCR weights ship inside the ``rapidocr`` wheel (installed from the package
registry with everything else; :func:`load_registry`). The face detector of the
portrait check is small enough to ship inside this package (:func:`load_bundled`,
:func:`bundled_path`). The registry records which files, which versions, their
SHA-256, source and licence, so that a changed file is caught before it is loaded
and nothing is ever downloaded.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str
    task: str
    file: str
    version: str
    sha256: str
    source: str
    licence: str


def _table(table: str) -> dict[str, ModelEntry]:
    text = resources.files(__package__).joinpath("registry.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {name: ModelEntry(name=name, **entry) for name, entry in data[table].items()}


def load_registry() -> dict[str, ModelEntry]:
    """The OCR engine's models (``[models.*]``, files inside the rapidocr wheel)."""
    return _table("models")


def load_bundled() -> dict[str, ModelEntry]:
    """Models shipped inside this package (``[bundled.*]``), each loaded by its own module."""
    return _table("bundled")


def bundled_path(entry: ModelEntry) -> Path:
    """Where a bundled model's file lies (the package is installed unzipped)."""
    return Path(str(resources.files(__package__).joinpath(entry.file)))
