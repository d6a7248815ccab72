"""The same scan twice in one batch, even re-encoded or resized.

Two people's certificates of one template differ only in a name, a number and a
date, which a perceptual hash alone cannot see: on generated pages a 1024-bit
pHash put two landscape certificates of different people 28 bits apart while a
resized, re-encoded copy sat 10 bits away. So the fingerprint has two parts,
both taken from the page turned upright (a quarter-turned copy still matches):

* a 1024-bit pHash (low 32x32 DCT of a 128x128 grey thumbnail): a cheap filter
  for candidates;
* a 96x96 grey thumbnail, contrast-normalised and quantised to 16 levels: the
  confirmation. A copy differs from its original by at most about 1.75 levels
  (2x2-averaged maximum difference); different people's pages by 3 or more,
  because their names and numbers sit in different pixels.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import cv2
import imagehash
import numpy as np
from PIL import Image

from pipelines.certificate.config import CertificateConfig
from pipelines.certificate.messages import reason
from pipelines.certificate.result import CertificateReport, CertReasonCode

PREFIX = "fp1:"
_THUMB = 96


def fingerprint(gray: np.ndarray) -> str:
    """``fp1:<pHash hex>:<base64 thumbnail>`` of a greyscale page."""
    phash = str(imagehash.phash(Image.fromarray(gray), hash_size=32, highfreq_factor=4))
    thumb = cv2.resize(gray.astype(np.float32), (_THUMB, _THUMB), interpolation=cv2.INTER_AREA)
    lo, hi = np.percentile(thumb, 1), np.percentile(thumb, 99)
    levels = np.round(np.clip((thumb - lo) / max(hi - lo, 1.0), 0, 1) * 15).astype(np.uint8)
    flat = levels.reshape(-1)
    packed = (flat[0::2] << 4 | flat[1::2]).astype(np.uint8).tobytes()
    return f"{PREFIX}{phash}:{base64.b64encode(packed).decode('ascii')}"


def _parts(fp: str) -> tuple[int, np.ndarray] | None:
    if not fp.startswith(PREFIX):
        return None
    try:
        phash, thumb = fp[len(PREFIX) :].split(":", 1)
        packed = np.frombuffer(base64.b64decode(thumb), np.uint8)
    except ValueError:
        return None
    if packed.size * 2 != _THUMB * _THUMB:
        return None
    levels = np.empty(packed.size * 2, np.uint8)
    levels[0::2], levels[1::2] = packed >> 4, packed & 0x0F
    return int(phash, 16), levels.reshape(_THUMB, _THUMB)


def fingerprint_distance(a: str, b: str) -> int | None:
    """pHash bits that differ, or None if the two are not comparable."""
    pa, pb = _parts(a), _parts(b)
    if pa is None or pb is None:
        return None
    return (pa[0] ^ pb[0]).bit_count()


def thumbnail_difference(a: str, b: str) -> float | None:
    """Largest 2x2-averaged difference of the two thumbnails, in grey levels (0-15)."""
    pa, pb = _parts(a), _parts(b)
    if pa is None or pb is None:
        return None
    diff = np.abs(pa[1].astype(np.float32) - pb[1].astype(np.float32))
    return float(cv2.blur(diff, (2, 2)).max())


def same_scan(a: str, b: str, config: CertificateConfig) -> tuple[bool, int | None, float | None]:
    bits = fingerprint_distance(a, b)
    if bits is None or bits > config.duplicate_max_distance:
        return False, bits, None
    diff = thumbnail_difference(a, b)
    return diff is not None and diff <= config.duplicate_max_thumbnail_diff, bits, diff


def mark_duplicates(
    reports: Sequence[CertificateReport], config: CertificateConfig | None = None
) -> list[CertificateReport]:
    """Add DUPLICATE to every report whose image repeats an earlier one in ``reports``.

    The first copy stays as it was; later copies are rejected and name the first."""
    config = config or CertificateConfig()
    out = list(reports)
    firsts: list[int] = []
    for i, report in enumerate(reports):
        fp = report.fingerprint
        if not fp:
            continue
        match = None
        for j in firsts:
            same, bits, diff = same_scan(fp, reports[j].fingerprint or "", config)
            if same:
                match = (j, bits, diff)
                break
        if match is None:
            firsts.append(i)
            continue
        j, bits, diff = match
        first = reports[j]
        out[i] = report.with_reason(
            reason(
                CertReasonCode.DUPLICATE,
                duplicate_of=first.masked_filename or first.filename,
                duplicate_index=j,
                distance=bits,
                thumbnail_difference=diff,
            )
        )
    return out
