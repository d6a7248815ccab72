"""Certificate scans made once per session from the generator (no files downloaded)."""

from __future__ import annotations

import random
from dataclasses import replace
from functools import cache

import pytest

from pipelines.certificate import CertificateConfig
from samples.certificate.generate import PageSpec, canonical_filename, make_scan_bytes, random_spec


@cache
def scan(seed: int, **overrides: object) -> tuple[bytes, str, PageSpec]:
    """Bytes, canonical file name and spec of one generated scan (memoised per session)."""
    settings = {"skew_degrees": 0.3, "width_px": 1100, **overrides}
    spec = random_spec(random.Random(seed), **settings)
    fmt = "png" if spec.extra.get("fmt") == "png" else "jpeg"
    return make_scan_bytes(spec, seed, fmt=fmt), canonical_filename(spec), spec


@pytest.fixture(scope="session")
def config() -> CertificateConfig:
    return CertificateConfig()


@pytest.fixture(scope="session")
def good_scan() -> tuple[bytes, str, PageSpec]:
    return scan(101, template="certificate", landscape=False)


def respec(spec: PageSpec, **changes: object) -> PageSpec:
    return replace(spec, **changes)  # type: ignore[arg-type]
