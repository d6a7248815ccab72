"""Temporary ID cards (临时居民身份证): the title, all items on one side, ~3 months."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from pipelines.id_card.risks.signal import RiskCode, RiskSignal, _region, _timed

if TYPE_CHECKING:
    from pipelines.ocr import OcrEngine, TextLine


# --- temporary ID -------------------------------------------------------------------

_RANGE = re.compile(
    r"(\d{4})[.\-年](\d{1,2})[.\-月](\d{1,2})日?[^\d]{0,3}(\d{4})[.\-年](\d{1,2})"
    r"[.\-月](\d{1,2})"
)
_FRONT_ITEMS = ("姓名", "公民身份号码", "身份号码", "出生")
_BACK_ITEMS = ("签发机关", "有效期限")


def detect_temporary_id(lines: Sequence[TextLine], title_text: str = "") -> RiskSignal:
    """临时 in the title, front and back items on one side, about 3 months of validity."""
    started = time.perf_counter()
    text = "".join(line.text for line in lines).replace(" ", "") + title_text
    # 时 before 居民身份证: the title's first character can be lost at the crop's edge
    evidence: dict[str, Any] = {"title_temporary": "临时" in text or "时居民" in text}
    one_side = any(k in text for k in _FRONT_ITEMS) and any(k in text for k in _BACK_ITEMS)
    evidence["all_items_one_side"] = one_side
    days = None
    if match := _RANGE.search(text):
        y0, m0, d0, y1, m1, d1 = (int(g) for g in match.groups())
        try:
            days = (date(y1, m1, d1) - date(y0, m0, d0)).days
        except ValueError:
            days = None
    evidence["validity_days"] = days
    three_months = days is not None and 60 <= days <= 130
    # A genuine card prints its items on two sides; a temporary card on one.
    confidence = 0.6 * evidence["title_temporary"] + 0.5 * one_side + 0.35 * three_months
    return _timed(RiskCode.TEMPORARY_ID, started, confidence, evidence)


def read_title(card: np.ndarray, engine: OcrEngine) -> str:
    """The emblem side's second title line (居民身份证 or 临时居民身份证), which the
    reading skips: the ink rows of the title band, recognised as one crop. The band starts
    under the emblem, since the longer temporary title reaches into it; the emblem's red and
    gold are painted over with paper first."""
    band = _region(card, (0.10, 0.22, 0.98, 0.46)).copy()
    lab = cv2.cvtColor(band, cv2.COLOR_BGR2LAB).astype(np.float32)
    emblem = np.hypot(lab[:, :, 1] - 128, lab[:, :, 2] - 128) > 30
    if emblem.all():
        return ""
    band[emblem] = np.median(band[~emblem], axis=0).astype(np.uint8)
    gray = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY)
    ink = gray < np.percentile(gray, 50) - 40
    rows = np.flatnonzero(ink.mean(axis=1) > 0.02)
    cols = np.flatnonzero(ink.mean(axis=0) > 0.02)
    if rows.size < 8 or cols.size < 8:
        return ""
    y0, y1 = max(0, rows[0] - 4), min(band.shape[0], rows[-1] + 5)
    x0, x1 = max(0, cols[0] - 6), min(band.shape[1], cols[-1] + 7)
    text, score = engine.recognize([np.ascontiguousarray(band[y0:y1, x0:x1])])[0]
    return text if score >= 0.5 else ""
