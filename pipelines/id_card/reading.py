"""Read a rectified card: one detection pass, orientation by vote, then only the lines needed.

The outline step already turned the card so its long edge is horizontal, so
only 0 or 180 degrees remain; the direction classifier's vote over the lines
decides, and line boxes are mapped into the upright card.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from pipelines.id_card.layout import ADDRESS_CONTINUATION, FRONT_LABEL_COLUMN, front_label_at
from pipelines.id_card.result import Side
from pipelines.ocr import OcrEngine, TextLine, crop_line

_FRONT_KEYS = ("姓名", "性别", "民族", "出生", "住址", "公民身份号码", "身份号码")
_BACK_KEYS = ("中华人民共和国", "居民身份证", "签发机关", "有效期限", "公安局", "长期")
_NUMBER_LIKE = re.compile(r"[0-9OoIlX]{15,}")
_DATE_RANGE = re.compile(r"\d{4}[.\-]\d{1,2}[.\-]\d{1,2}")


@dataclass(frozen=True, slots=True)
class CardReading:
    lines: tuple[TextLine, ...]  # boxes in the upright card's pixels
    card: np.ndarray  # upright card image at OCR size
    rotated_180: bool
    side: Side | None
    side_scores: dict[str, float] = field(default_factory=dict)
    elapsed_ms: dict[str, float] = field(default_factory=dict)


def classify_side(lines: tuple[TextLine, ...]) -> tuple[Side | None, dict[str, float]]:
    """Portrait side or emblem side, from the words only each side carries."""
    text = "".join(line.text for line in lines)
    front = sum(1.0 for key in _FRONT_KEYS if key in text)
    front += 1.5 if _NUMBER_LIKE.search(text.replace(" ", "")) else 0.0
    back = sum(1.0 for key in _BACK_KEYS if key in text)
    back += 1.0 if _DATE_RANGE.search(text) else 0.0
    # the title is often read one character per line
    back += 0.5 * sum(1 for ch in "华人民共和国" if ch in text) / 6
    scores = {"front": front, "back": back}
    if max(front, back) < 1.0 or front == back:
        return None, scores
    return (Side.FRONT if front > back else Side.BACK), scores


def _probe_side(text: str) -> Side | None:
    """Side from the card's bottom line alone: the number (front) or the validity (back)."""
    compact = text.replace(" ", "")
    if _DATE_RANGE.search(compact) or "有效期限" in compact or "长期" in compact:
        return Side.BACK
    if _NUMBER_LIKE.search(compact) or "身份号码" in compact:
        return Side.FRONT
    return None


def _is_front_label(box: np.ndarray, width: int) -> bool:
    """A box wholly inside the front's label column (姓名, 性别, 出生, 住址 are printed there)."""
    return float(box[:, 0].max()) < FRONT_LABEL_COLUMN * width


def _not_needed(side: Side | None, y_fraction: float, full_address: bool) -> bool:
    """Rows no field of the result comes from: the emblem side's title, and (unless asked
    for) the address's continuation lines."""
    if side is Side.BACK:
        return y_fraction < 0.5
    low, high = ADDRESS_CONTINUATION
    return side is Side.FRONT and not full_address and low < y_fraction < high


def _recognise_needed(
    engine: OcrEngine,
    crops: list[np.ndarray],
    boxes: list[np.ndarray],
    width: int,
    height: int,
    min_score: float,
    *,
    full_address: bool = True,
    layout_trusted: bool = True,
) -> tuple[TextLine, ...]:
    """Recognise the lines the verification needs, not every line on the card.

    Recognition is most of the cost. The bottom-most wide line is read first: it is
    the number on the portrait side and the validity period on the emblem side, so
    it tells the side. Then the portrait side's labels are not recognised (their
    column and rows are fixed; the label text is restored from its row), and neither
    is the emblem side's title (中华人民共和国 / 居民身份证), which carries no field.
    Whatever the probe cannot place is read in full. Without ``full_address`` only the
    address's first line is read: the result shows no more than its first characters.
    Skipping by position needs a card rectified from its outline (``layout_trusted``);
    a block found by its text is read in full.
    """
    if not crops:
        return ()
    centres = [float(box[:, 1].mean()) for box in boxes]
    wide = [i for i in range(len(crops)) if float(np.ptp(boxes[i][:, 0])) > 0.3 * width]
    probe = max(wide or range(len(crops)), key=lambda i: centres[i])
    texts: dict[int, tuple[str, float]] = {probe: engine.recognize([crops[probe]])[0]}
    side = _probe_side(texts[probe][0]) if layout_trusted else None
    skipped: dict[int, str] = {}
    for i, box in enumerate(boxes):
        if i == probe:
            continue
        if side is Side.FRONT and _is_front_label(box, width):
            skipped[i] = front_label_at(centres[i] / height)
        elif _not_needed(side, centres[i] / height, full_address):
            skipped[i] = ""
    todo = [i for i in range(len(crops)) if i not in texts and i not in skipped]
    texts.update(zip(todo, engine.recognize([crops[i] for i in todo]), strict=True))
    texts.update({i: (label, 1.0) for i, label in skipped.items() if label})
    return tuple(
        TextLine(text, score, boxes[i])
        for i, (text, score) in sorted(texts.items())
        if text.strip() and score >= min_score
    )


def read_card(
    card: np.ndarray,
    engine: OcrEngine,
    *,
    width: int,
    min_score: float,
    vote_lines: int = 6,
    full_address: bool = True,
    layout_trusted: bool = True,
) -> CardReading:
    """OCR the rectified card (detection at ``width``), fix 180-degree turns, tell the side.

    The direction classifier runs only on the widest lines, and the card is turned
    as a whole by their vote: one orientation for the card, not one per line, so a
    single line classified wrongly cannot be read upside down.
    """
    started = time.perf_counter()
    # Detect on a small copy (detection cost grows with area), recognise crops taken
    # from the full-resolution card (recognition cost does not depend on it).
    scale = card.shape[1] / width
    small = cv2.resize(card, (width, round(card.shape[0] / scale)), interpolation=cv2.INTER_AREA)
    boxes = [box * scale for box in engine.detect(small)]
    detected = time.perf_counter()
    crops = [crop_line(card, box) for box in boxes]
    widest = sorted(range(len(crops)), key=lambda i: -crops[i].shape[1])[:vote_lines]
    votes = engine.classify([crops[i] for i in widest])
    flipped = sum(
        conf * crops[i].shape[1] for i, (down, conf) in zip(widest, votes, strict=True) if down
    )
    upright = sum(
        conf * crops[i].shape[1] for i, (down, conf) in zip(widest, votes, strict=True) if not down
    )
    rotated = flipped > upright
    image = card
    if rotated:
        image = np.ascontiguousarray(card[::-1, ::-1])
        corner = np.array([card.shape[1] - 1, card.shape[0] - 1], np.float32)
        boxes = [(corner - box)[[2, 3, 0, 1]] for box in boxes]
        crops = [np.ascontiguousarray(c[::-1, ::-1]) for c in crops]
    classified = time.perf_counter()
    lines = _recognise_needed(
        engine,
        crops,
        boxes,
        card.shape[1],
        card.shape[0],
        min_score,
        full_address=full_address,
        layout_trusted=layout_trusted,
    )
    finished = time.perf_counter()
    side, scores = classify_side(lines)
    timings = {
        "detect": (detected - started) * 1000,
        "classify": (classified - detected) * 1000,
        "recognize": (finished - classified) * 1000,
    }
    return CardReading(lines, image, rotated, side, scores, timings)


def reread_variants(
    card: np.ndarray, box: np.ndarray, engine: OcrEngine, *, pads: tuple[float, ...] = (0.12, 0.3)
) -> list[tuple[str, float]]:
    """Recognise one line again from differently framed and contrast-stretched crops.

    The recogniser's answer for a rare character can hinge on the crop (骉 read as 弱 from a
    tight box, right from a looser one). A declared spelling that one of these readings
    gives exactly is evidence; one that none gives stays a mismatch.
    """
    centre = box.mean(axis=0)
    height = float(np.linalg.norm(box[3] - box[0]))
    width = float(np.linalg.norm(box[1] - box[0]))
    along = (box[1] - box[0]) / max(width, 1.0)
    across = (box[3] - box[0]) / max(height, 1.0)
    crops = []
    for pad in pads:
        half_w, half_h = width / 2 + pad * height, height / 2 * (1 + pad)
        grown = np.array(
            [
                centre - along * half_w - across * half_h,
                centre + along * half_w - across * half_h,
                centre + along * half_w + across * half_h,
                centre - along * half_w + across * half_h,
            ],
            np.float32,
        )
        crop = crop_line(card, grown)
        crops.append(crop)
        gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        stretched = cv2.normalize(gray, None, 0, 255, cv2.NORM_MINMAX)
        crops.append(cv2.cvtColor(stretched, cv2.COLOR_GRAY2BGR))
    crops.append(cv2.resize(crop_line(card, box), None, fx=1.5, fy=1.5))
    return engine.recognize(crops)
