"""The model registry: which model files the OCR engine loads, with checksums.

The weights themselves ship inside the ``rapidocr`` wheel (installed from the
package registry with everything else); this package holds only the record of
which files, which versions, their SHA-256, source and licence, so that a
changed file is caught at start-up and nothing is ever downloaded.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str
    task: str
    file: str
    version: str
    sha256: str
    source: str
    licence: str


def load_registry() -> dict[str, ModelEntry]:
    text = resources.files(__package__).joinpath("registry.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {name: ModelEntry(name=name, **entry) for name, entry in data["models"].items()}
