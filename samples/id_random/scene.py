"""Photograph a card: procedural backgrounds, a hand, placement with perspective and any
rotation, shadows, lighting, exposure, glare, blur, noise, EXIF orientation and JPEG.

Everything is float32 BGR in 0..255 until the end; backgrounds and light fields are made at
a reduced size and scaled up, so a 4000 x 3000 photo costs about a second.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
from PIL import Image

from samples.id_random.card import CARD_H, CARD_MM, CARD_W, CardArt

BACKGROUNDS = ("white_paper", "wood_light", "wood_dark", "desk", "fabric", "dark", "wall",
               "scanner")
LOW = 900  # long side at which backgrounds and light fields are drawn


@dataclass(slots=True)
class Shot:
    """How to photograph one card (or no card)."""

    frame: tuple[int, int]  # width, height as displayed
    background: str = "wood_light"
    rotation: float = 0.0  # in-plane, degrees counter-clockwise
    tilt: float = 0.0  # out-of-plane, degrees
    tilt_dir: float = 0.0  # direction of the tilt axis, degrees
    fill: float = 0.4  # card area / frame area
    placement: str = "inside"  # inside | near_edge | cut | crop
    edges: tuple[str, ...] = ()  # for near_edge / cut: left, right, top, bottom
    edge_gap: float = 0.02  # near_edge: gap as a fraction of the frame
    cut_fraction: float = 0.25  # cut: share of the card's extent beyond the edge
    margin: float = 0.04  # inside: minimum gap to every edge as a fraction
    pos: tuple[float, float] = (0.5, 0.5)  # where in the free range the card sits (0..1)
    distance: float = 3.5  # camera distance in card widths (perspective strength)
    hand: bool = False
    shadow: float = 0.3
    light_gradient: float = 0.15
    vignette: float = 0.15
    brightness: float = 160.0  # target mean luminance of the card
    washout: float = 0.0  # 0 = none; else keep this share of the contrast below white
    glare_field: str = ""
    defocus_mm: float = 0.0  # Gaussian sigma in card millimetres
    motion_mm: float = 0.0
    motion_angle: float = 0.0
    noise: float = 2.0
    jpeg_quality: int = 85
    exif_orientation: int = 1
    messenger: bool = False


@dataclass(slots=True)
class Truth:
    corners: list[list[float]] | None  # TL, TR, BR, BL of the card, displayed image pixels
    fill: float  # card area / frame area (whole card, inside or not)
    visible_fraction: float  # share of the card inside the frame
    fields_outside: list[str]
    size: tuple[int, int]  # displayed width, height (after EXIF orientation)
    stored_size: tuple[int, int]
    card_brightness: float | None
    glare_cover: float | None  # share of the glared field's box at full white
    shot: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _low_size(w: int, h: int) -> tuple[int, int]:
    s = LOW / max(w, h)
    return max(8, round(w * s)), max(8, round(h * s))


def _smooth_noise(nrng: np.random.Generator, size: tuple[int, int], cells: int) -> np.ndarray:
    w, h = size
    grid = nrng.standard_normal((cells, cells)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def _wood(rng: random.Random, nrng: np.random.Generator, size: tuple[int, int],
          dark: bool) -> np.ndarray:
    w, h = size
    base = (np.array([60, 110, 170], np.float32) * rng.uniform(0.85, 1.15) if not dark
            else np.array([25, 45, 75], np.float32) * rng.uniform(0.7, 1.3))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = math.radians(rng.choice((0, 90)) + rng.uniform(-8, 8))
    v = -xx * math.sin(ang) + yy * math.cos(ang)
    warp = _smooth_noise(nrng, size, 6) * rng.uniform(8, 25)
    grain = np.sin((v + warp) * rng.uniform(0.15, 0.4)) * 0.5 + 0.5
    streak = cv2.resize(nrng.standard_normal((1, 400)).astype(np.float32), (w, 1))
    streak = np.repeat(streak, h, axis=0)
    streak = cv2.GaussianBlur(streak, (0, 0), 1.0)
    plank = rng.uniform(120, 260)
    seams = (np.abs(((v + 0.0) % plank) - plank / 2) > plank / 2 - 1.5).astype(np.float32)
    tone = 1 + 0.12 * (grain - 0.5) + 0.05 * streak - 0.35 * seams
    tone += 0.08 * _smooth_noise(nrng, size, 4)
    return base[None, None, :] * tone[..., None]


def _fabric(rng: random.Random, nrng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    colour = np.array([rng.uniform(30, 200) for _ in range(3)], np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    p = rng.uniform(2.2, 4.0)
    weave = np.sin(xx * 2 * math.pi / p) * np.sin(yy * 2 * math.pi / p)
    folds = _smooth_noise(nrng, size, rng.randint(3, 6))
    tone = 1 + 0.08 * weave + 0.18 * folds
    return colour[None, None, :] * tone[..., None]


def _paper_text(img: np.ndarray, rng: random.Random, box: tuple[float, float, float, float],
                angle: float, ink: float) -> None:
    """A white sheet with printed lines of 'words' at ``box`` (low-res pixels), rotated."""
    x0, y0, x1, y1 = box
    sheet = np.full((int(y1 - y0), int(x1 - x0), 3), rng.uniform(225, 250), np.float32)
    hs, ws = sheet.shape[:2]
    y = rng.uniform(0.06, 0.12) * hs
    step = rng.uniform(8, 14)
    while y < hs * 0.92:
        x = ws * 0.08
        end = ws * rng.uniform(0.7, 0.92)
        while x < end:
            word = rng.uniform(8, 30)
            cv2.line(sheet, (int(x), int(y)), (int(min(x + word, end)), int(y)),
                     (ink, ink, ink), max(1, int(step * 0.18)))
            x += word + rng.uniform(3, 6)
        y += step
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    m = cv2.getRotationMatrix2D((ws / 2, hs / 2), angle, 1.0)
    m[0, 2] += centre[0] - ws / 2
    m[1, 2] += centre[1] - hs / 2
    h, w = img.shape[:2]
    warped = cv2.warpAffine(sheet, m, (w, h))
    mask = cv2.warpAffine(np.ones((hs, ws), np.float32), m, (w, h))[..., None]
    img[:] = img * (1 - mask) + warped * mask


def _desk(rng: random.Random, nrng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    base = rng.choice((_wood(rng, nrng, size, dark=rng.random() < 0.4),
                       np.full((h, w, 3), [rng.uniform(60, 200)] * 3, np.float32)))
    img = np.ascontiguousarray(base, np.float32)
    count = rng.randint(8, 16)
    for n in range(count):
        kind = rng.random() * 0.35 if n < 2 else rng.random()
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        if kind < 0.35:  # a printed sheet
            sw, sh = rng.uniform(0.2, 0.45) * w, rng.uniform(0.25, 0.5) * h
            _paper_text(img, rng, (cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2),
                        rng.uniform(-40, 40), rng.uniform(40, 120))
        elif kind < 0.55:  # a pen
            length = rng.uniform(0.12, 0.25) * max(w, h)
            a = rng.uniform(0, math.pi)
            p1 = (int(cx), int(cy))
            p2 = (int(cx + length * math.cos(a)), int(cy + length * math.sin(a)))
            colour = [rng.uniform(0, 255) for _ in range(3)]
            cv2.line(img, p1, p2, colour, rng.randint(4, 8), cv2.LINE_AA)
            cv2.circle(img, p2, 3, (20, 20, 20), -1, cv2.LINE_AA)
        elif kind < 0.75:  # a book, phone or box
            rw, rh = rng.uniform(0.08, 0.3) * w, rng.uniform(0.08, 0.3) * h
            rect = ((cx, cy), (rw, rh), rng.uniform(0, 90))
            pts = cv2.boxPoints(rect).astype(np.int32)
            colour = [rng.uniform(0, 255) for _ in range(3)]
            cv2.fillConvexPoly(img, pts, colour, cv2.LINE_AA)
        else:  # a mug or a round object
            r = int(rng.uniform(0.04, 0.1) * max(w, h))
            colour = [rng.uniform(0, 255) for _ in range(3)]
            cv2.circle(img, (int(cx), int(cy)), r, colour, -1, cv2.LINE_AA)
            cv2.circle(img, (int(cx), int(cy)), int(r * 0.8), [c * 0.6 for c in colour], -1,
                       cv2.LINE_AA)
    return img


def background(kind: str, frame: tuple[int, int], rng: random.Random,
               nrng: np.random.Generator) -> np.ndarray:
    """A full-size float32 BGR background of ``kind``."""
    size = _low_size(*frame)
    w, h = size
    if kind == "wood_light":
        img = _wood(rng, nrng, size, dark=False)
    elif kind == "wood_dark":
        img = _wood(rng, nrng, size, dark=True)
    elif kind == "fabric":
        img = _fabric(rng, nrng, size)
    elif kind == "desk":
        img = _desk(rng, nrng, size)
    elif kind == "dark":
        img = np.full((h, w, 3), rng.uniform(20, 55), np.float32)
        img *= 1 + 0.15 * _smooth_noise(nrng, size, 5)[..., None]
    elif kind in ("white_paper", "wall", "scanner"):
        level = {"white_paper": (222, 248), "wall": (215, 245), "scanner": (240, 252)}[kind]
        tint = np.array([rng.uniform(*level) for _ in range(3)], np.float32)
        tint = tint.mean() + (tint - tint.mean()) * 0.3
        img = np.broadcast_to(tint, (h, w, 3)).astype(np.float32).copy()
        fibre = cv2.GaussianBlur(nrng.standard_normal((h, w)).astype(np.float32), (0, 0), 0.8)
        img += (fibre * (1.5 if kind != "scanner" else 0.6))[..., None]
        if kind == "white_paper" and rng.random() < 0.5:  # the sheet's edge on a desk
            edge = rng.uniform(0.03, 0.12)
            table = np.array([rng.uniform(30, 140)] * 3, np.float32)
            side = rng.choice(("left", "right", "top", "bottom"))
            n = int(edge * (w if side in ("left", "right") else h))
            sl = {"left": np.s_[:, :n], "right": np.s_[:, w - n:], "top": np.s_[:n, :],
                  "bottom": np.s_[h - n:, :]}[side]
            img[sl] = table
    else:
        raise ValueError(kind)
    return cv2.resize(img, frame, interpolation=cv2.INTER_LINEAR)


def _rot(ax: float, ay: float, az: float) -> np.ndarray:
    cx, sx = math.cos(ax), math.sin(ax)
    cy, sy = math.cos(ay), math.sin(ay)
    cz, sz = math.cos(az), math.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rx @ ry @ rz


def _unit_quad(rotation: float, tilt: float, tilt_dir: float, distance: float) -> np.ndarray:
    """Card corners (TL, TR, BR, BL) seen by a pinhole camera, centred, arbitrary scale."""
    w, h = CARD_MM
    pts = np.array([[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0],
                    [-w / 2, h / 2, 0]])
    d = math.radians(tilt_dir)
    t = math.radians(tilt)
    r = _rot(t * math.cos(d), t * math.sin(d), -math.radians(rotation))
    cam = pts @ r.T
    z = cam[:, 2] + distance * w
    quad = cam[:, :2] / z[:, None]
    return quad - quad.mean(axis=0)


def polygon_area(quad: np.ndarray) -> float:
    x, y = quad[:, 0], quad[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def visible_fraction(quad: np.ndarray, frame: tuple[int, int]) -> float:
    w, h = frame
    rect = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    inter, _ = cv2.intersectConvexConvex(quad.astype(np.float32), rect)
    return float(inter) / max(polygon_area(quad), 1e-9)


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def place(shot: Shot) -> np.ndarray:
    """The card's corners in the displayed frame for ``shot``'s fill, angles and placement."""
    fw, fh = shot.frame
    if shot.placement == "crop":
        return np.array([[0, 0], [fw, 0], [fw, fh], [0, fh]], np.float64)
    px, py = shot.pos
    quad0 = _unit_quad(shot.rotation, shot.tilt, shot.tilt_dir, shot.distance)
    scale = math.sqrt(shot.fill * fw * fh / polygon_area(quad0))
    quad = quad0 * scale
    lo, hi = quad.min(axis=0), quad.max(axis=0)
    bw, bh = hi - lo
    if shot.placement in ("inside", "near_edge"):
        mx, my = (shot.margin * fw, shot.margin * fh) if shot.placement == "inside" else (0, 0)
        if shot.placement == "near_edge":
            mx, my = 0.01 * fw, 0.01 * fh
        fit = min((fw - 2 * mx) / bw, (fh - 2 * my) / bh, 1.0)
        quad, lo, hi = quad * fit, lo * fit, hi * fit
        bw, bh = hi - lo
        cx = _lerp(mx - lo[0], fw - mx - hi[0], px) if fw - 2 * mx > bw else fw / 2 - (
            lo[0] + hi[0]) / 2
        cy = _lerp(my - lo[1], fh - my - hi[1], py) if fh - 2 * my > bh else fh / 2 - (
            lo[1] + hi[1]) / 2
        if shot.placement == "near_edge":
            for edge in shot.edges:
                gx, gy = shot.edge_gap * fw, shot.edge_gap * fh
                if edge == "left":
                    cx = gx - lo[0]
                elif edge == "right":
                    cx = fw - gx - hi[0]
                elif edge == "top":
                    cy = gy - lo[1]
                elif edge == "bottom":
                    cy = fh - gy - hi[1]
    elif shot.placement == "cut":
        cx = _lerp(0.05 * fw - lo[0], 0.95 * fw - hi[0], px) if bw < 0.9 * fw else fw / 2
        cy = _lerp(0.05 * fh - lo[1], 0.95 * fh - hi[1], py) if bh < 0.9 * fh else fh / 2
        for edge in shot.edges:
            if edge == "left":
                cx = -shot.cut_fraction * bw - lo[0]
            elif edge == "right":
                cx = fw + shot.cut_fraction * bw - hi[0]
            elif edge == "top":
                cy = -shot.cut_fraction * bh - lo[1]
            elif edge == "bottom":
                cy = fh + shot.cut_fraction * bh - hi[1]
    else:
        raise ValueError(shot.placement)
    return quad + np.array([cx, cy])


def card_to_frame(quad: np.ndarray) -> np.ndarray:
    """Homography from card-artwork pixels to the frame for corners ``quad``."""
    src = np.array([[0, 0], [CARD_W, 0], [CARD_W, CARD_H], [0, CARD_H]], np.float32)
    return cv2.getPerspectiveTransform(src, quad.astype(np.float32)).astype(np.float64)


def fields_outside(fields: dict[str, tuple[int, int, int, int]], quad: np.ndarray,
                   frame: tuple[int, int]) -> list[str]:
    """Names of the fields whose box reaches beyond the frame."""
    fw, fh = frame
    h = card_to_frame(quad)
    out = []
    for name, (x0, y0, x1, y1) in fields.items():
        pts = cv2.perspectiveTransform(
            np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], np.float64), h)[0]
        if (pts < 0).any() or (pts[:, 0] > fw).any() or (pts[:, 1] > fh).any():
            out.append(name)
    return out


@dataclass(frozen=True, slots=True)
class HandPlan:
    """Where the thumb tip and the palm are, in card millimetres, and the colour of skin."""

    tip: tuple[float, float]
    palm: tuple[float, float]
    palm_angle: float
    skin: tuple[float, float, float]  # BGR

    def pads_mm(self) -> tuple[float, float, float, float]:
        """Room the hand needs beyond the card: left, top, right, bottom."""
        r = 44.0
        w, h = CARD_MM
        return (max(2.0, r - self.palm[0]), max(2.0, r - self.palm[1]),
                max(2.0, self.palm[0] + r - w), max(2.0, self.palm[1] + r - h))


def plan_hand(rng: random.Random, side: str) -> HandPlan:
    """A hand holding the card: the palm beside it, the thumb over its edge where there is no
    text (the front's portrait, the back's empty middle right)."""
    w, h = CARD_MM
    skin = (rng.uniform(120, 175), rng.uniform(150, 195), rng.uniform(200, 240))
    if side == "front" and rng.random() < 0.35:
        tip = (w * rng.uniform(0.7, 0.82), rng.uniform(5, 9))
        palm = (tip[0] + rng.uniform(-10, 10), -35.0)
    else:
        frac = rng.uniform(0.38, 0.55) if side == "front" else rng.uniform(0.55, 0.6)
        tip = (w - rng.uniform(5, 8), h * frac)
        palm = (w + 38.0, tip[1] + rng.uniform(5, 20))
    return HandPlan(tip, palm, rng.uniform(0, 180), skin)


def _draw_hand(layer: np.ndarray, alpha: np.ndarray, origin: tuple[int, int], plan: HandPlan,
               mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Composite the palm under the card and the thumb over it; ``origin`` is the card's
    top-left in the layer and ``mm`` layer pixels per card millimetre."""
    ox, oy = origin
    skin = np.array(plan.skin, np.float32)
    under = np.zeros_like(alpha)
    over = np.zeros_like(alpha)
    tip = (ox + plan.tip[0] * mm, oy + plan.tip[1] * mm)
    palm = (ox + plan.palm[0] * mm, oy + plan.palm[1] * mm)
    cv2.ellipse(under, (int(palm[0]), int(palm[1])), (int(42 * mm), int(34 * mm)),
                plan.palm_angle, 0, 360, 255, -1, cv2.LINE_AA)
    ang = math.atan2(tip[1] - palm[1], tip[0] - palm[0])
    length = math.hypot(tip[0] - palm[0], tip[1] - palm[1])
    mid = ((tip[0] + palm[0]) / 2, (tip[1] + palm[1]) / 2)
    cv2.ellipse(over, (int(mid[0]), int(mid[1])), (int(length / 2 + 4 * mm), int(9 * mm)),
                math.degrees(ang), 0, 360, 255, -1, cv2.LINE_AA)
    nail = np.zeros_like(over)
    nx, ny = tip[0] - math.cos(ang) * 4 * mm, tip[1] - math.sin(ang) * 4 * mm
    cv2.ellipse(nail, (int(nx), int(ny)), (int(4 * mm), int(5 * mm)), math.degrees(ang),
                0, 360, 255, -1, cv2.LINE_AA)
    shade = cv2.GaussianBlur(over, (0, 0), max(1.0, 1.5 * mm)).astype(np.float32) / 255
    a_under = under.astype(np.float32) / 255
    a_card = alpha.astype(np.float32) / 255
    a_over = over.astype(np.float32) / 255
    palm_layer = np.empty_like(layer)
    palm_layer[:] = skin * 0.85
    base = cv2.blendLinear(layer, palm_layer, a_card, (1 - a_card) * a_under + 1e-6)
    thumb = (0.8 + 0.2 * shade)[..., None] * skin + (nail.astype(np.float32) / 255 * 25)[..., None]
    out = cv2.blendLinear(thumb.astype(np.float32), base, a_over, 1 - a_over)
    a_base = a_card + a_under * (1 - a_card)
    a_out = a_base + a_over * (1 - a_base)
    return out, (a_out * 255).astype(np.uint8)


def _light_field(shot: Shot, rng: random.Random, frame: tuple[int, int]) -> np.ndarray:
    w, h = _low_size(*frame)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xx / w - 0.5, yy / h - 0.5
    a = rng.uniform(0, 2 * math.pi)
    field_ = 1 + shot.light_gradient * 2 * (u * math.cos(a) + v * math.sin(a))
    cx, cy = rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15)
    field_ *= 1 - shot.vignette * ((u - cx) ** 2 + (v - cy) ** 2) * 2
    return cv2.resize(np.clip(field_, 0.2, 2.0), frame)


def _motion_kernel(length: float, angle: float) -> np.ndarray:
    n = max(3, int(length) | 1)
    k = np.zeros((n, n), np.float32)
    c = n // 2
    dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    cv2.line(k, (int(c - dx * c), int(c - dy * c)), (int(c + dx * c), int(c + dy * c)), 1.0, 1)
    return k / k.sum()


def _exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


# The transpose that makes stored pixels from displayed ones, per EXIF orientation (the
# inverse of what a viewer applies to show them).
_STORE = {1: None, 3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90,
          8: Image.Transpose.ROTATE_270}


def encode(img: np.ndarray, quality: int, orientation: int = 1, messenger: bool = False
           ) -> tuple[bytes, tuple[int, int]]:
    """JPEG bytes of the displayed BGR image; stored rotated with an undoing EXIF tag, or
    recompressed the way a messenger does (downscaled to 1280, q≈70, no EXIF)."""
    rgb = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    if messenger:
        buf = io.BytesIO()
        rgb.save(buf, "JPEG", quality=quality)
        rgb = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
        s = 1280 / max(rgb.size)
        if s < 1:
            size = (round(rgb.width * s), round(rgb.height * s))
            rgb = rgb.resize(size, Image.Resampling.LANCZOS)
        quality, orientation = 70, 1
    stored = rgb.transpose(_STORE[orientation]) if _STORE[orientation] else rgb
    buf = io.BytesIO()
    kwargs = {"exif": _exif_bytes(orientation)} if orientation != 1 else {}
    stored.save(buf, "JPEG", quality=quality, **kwargs)
    return buf.getvalue(), stored.size


def _roi(m: np.ndarray, size: tuple[int, int], frame: tuple[int, int]
         ) -> tuple[int, int, int, int]:
    """Bounding box in the frame of a layer of ``size`` warped by ``m``, clipped to it."""
    w, h = size
    pts = cv2.perspectiveTransform(
        np.array([[[0, 0], [w, 0], [w, h], [0, h]]], np.float64), m)[0]
    fw, fh = frame
    x0, y0 = np.floor(pts.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 2
    return max(0, x0), max(0, y0), min(fw, x1), min(fh, y1)


def photograph(art: CardArt | None, shot: Shot, rng: random.Random,
               nrng: np.random.Generator) -> tuple[bytes, Truth]:
    """Render ``shot`` of ``art`` (None: the background alone) to JPEG bytes and its truth."""
    fw, fh = shot.frame
    img = background(shot.background, shot.frame, rng, nrng)
    corners = None
    fill = vis = 0.0
    outside: list[str] = []
    roi = (0, 0, fw, fh)
    roi_mask = None  # the card (not the hand) inside roi, bool
    if art is not None:
        quad = place(shot)
        corners = quad
        fill = polygon_area(quad) / (fw * fh)
        vis = visible_fraction(quad, shot.frame)
        outside = fields_outside(art.fields, quad, shot.frame)
        # Scale the artwork near its final size first (area filter), then warp.
        width_px = max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3]))
        k = float(np.clip(width_px / CARD_W, 0.08, 1.0))
        card_img, card_a = art.image, art.alpha
        if k < 1:
            size = (max(8, round(CARD_W * k)), max(8, round(CARD_H * k)))
            card_img = cv2.resize(card_img, size, interpolation=cv2.INTER_AREA)
            card_a = cv2.resize(card_a, size, interpolation=cv2.INTER_AREA)
        ch, cw = card_a.shape
        mm = cw / CARD_MM[0]
        plan = plan_hand(rng, art.side) if shot.hand else None
        pl, pt, pr, pb = (round(p * mm) for p in plan.pads_mm()) if plan else (2, 2, 2, 2)
        layer = cv2.copyMakeBorder(card_img, pt, pb, pl, pr, cv2.BORDER_CONSTANT)
        alpha = cv2.copyMakeBorder(card_a, pt, pb, pl, pr, cv2.BORDER_CONSTANT)
        layer = layer.astype(np.float32)
        # The card's edge: a thin darker rim.
        rim = cv2.GaussianBlur(alpha, (0, 0), 1.2).astype(np.float32) / 255
        layer *= (0.85 + 0.15 * rim)[..., None]
        card_alpha = alpha
        if plan is not None:
            layer, alpha = _draw_hand(layer, alpha, (pl, pt), plan, mm)
        src = np.array([[pl, pt], [pl + cw, pt], [pl + cw, pt + ch], [pl, pt + ch]],
                       np.float32)
        m = cv2.getPerspectiveTransform(src, quad.astype(np.float32)).astype(np.float64)
        lsize = (layer.shape[1], layer.shape[0])
        if shot.shadow > 0:  # soft shadow, drawn small and scaled up
            low = _low_size(*shot.frame)
            s_low = np.diag([low[0] / fw, low[1] / fh, 1.0])
            off = np.array([[1, 0, rng.uniform(-1, 1) * 0.01 * low[0]],
                            [0, 1, rng.uniform(0.3, 1) * 0.01 * low[1]], [0, 0, 1]])
            sh = cv2.warpPerspective(alpha, off @ s_low @ m, low, flags=cv2.INTER_LINEAR)
            sh = cv2.GaussianBlur(sh.astype(np.float32) / 255, (0, 0), 5)
            img *= (1 - shot.shadow * cv2.resize(sh, shot.frame))[..., None]
        roi = _roi(m, lsize, shot.frame)
        x0, y0, x1, y1 = roi
        t = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64) @ m
        rsize = (x1 - x0, y1 - y0)
        warped = cv2.warpPerspective(layer, t, rsize, flags=cv2.INTER_LINEAR)
        a = cv2.warpPerspective(alpha, t, rsize, flags=cv2.INTER_LINEAR).astype(np.float32) / 255
        roi_mask = cv2.warpPerspective(card_alpha, t, rsize, flags=cv2.INTER_NEAREST) > 127
        sub = img[y0:y1, x0:x1]
        img[y0:y1, x0:x1] = cv2.blendLinear(warped, sub, a, 1 - a)
    img *= _light_field(shot, rng, shot.frame)[..., None]
    # Exposure: scale so the card (or the whole frame) has the target mean luminance.
    x0, y0, x1, y1 = roi
    luma = cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    has_card = roi_mask is not None and bool(roi_mask.any())
    current = float(luma[roi_mask].mean()) if has_card else float(luma.mean())
    img *= shot.brightness / max(current, 1.0)
    if shot.washout > 0:
        np.clip(img * 1.15, 0, 255, out=img)
        img = 255 - (255 - img) * shot.washout
    glare_cover = None
    if shot.glare_field and art is not None and corners is not None:
        gx0, gy0, gx1, gy1 = art.fields[shot.glare_field]
        gx = rng.uniform(gx0 + 0.3 * (gx1 - gx0), gx1 - 0.3 * (gx1 - gx0))
        gy = (gy0 + gy1) / 2 + rng.uniform(-0.2, 0.2) * (gy1 - gy0)
        rx = rng.uniform(0.22, 0.35) * (gx1 - gx0) if shot.glare_field == "id_number" else (
            rng.uniform(0.45, 0.7) * (gx1 - gx0))
        ry = max(rx * rng.uniform(0.35, 0.6), (gy1 - gy0) * 0.9)
        blob = np.zeros((CARD_H, CARD_W), np.float32)
        cv2.ellipse(blob, (int(gx), int(gy)), (int(rx), int(ry)), rng.uniform(-15, 15),
                    0, 360, 1.0, -1, cv2.LINE_AA)
        blob = cv2.GaussianBlur(blob, (0, 0), max(3.0, rx * 0.25))
        peak = rng.uniform(500, 800)
        t = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64) @ card_to_frame(corners)
        blob_roi = cv2.warpPerspective(blob, t, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
        img[y0:y1, x0:x1] += (blob_roi * peak)[..., None]
        sat = (blob * peak + 200 > 255)[int(gy0):int(gy1), int(gx0):int(gx1)]
        glare_cover = float(sat.mean()) if sat.size else None
    sigma_px = 0.0
    if corners is not None:
        px_per_mm = float(np.linalg.norm(corners[1] - corners[0])) / CARD_MM[0]
    else:
        px_per_mm = min(fw, fh) / 100
    if shot.defocus_mm > 0:
        sigma_px = shot.defocus_mm * px_per_mm
        img = cv2.GaussianBlur(img, (0, 0), max(0.3, sigma_px))
    if shot.motion_mm > 0:
        img = cv2.filter2D(img, -1, _motion_kernel(shot.motion_mm * px_per_mm, shot.motion_angle))
    if shot.noise > 0:
        noise = np.empty_like(img)
        cv2.setRNGSeed(rng.randrange(2**31))
        cv2.randn(noise, 0.0, shot.noise)
        img += noise
    np.clip(img, 0, 255, out=img)
    out = img.astype(np.uint8)
    brightness = None
    if has_card:
        grey = cv2.cvtColor(out[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
        brightness = round(float(grey[roi_mask].mean()), 1)
    data, stored = encode(out, shot.jpeg_quality, shot.exif_orientation, shot.messenger)
    size = (fw, fh)
    if shot.messenger:
        size = stored
        if corners is not None:
            corners = corners * (stored[0] / fw)
    truth = Truth(
        corners=None if corners is None else [[round(float(x), 1), round(float(y), 1)]
                                              for x, y in corners],
        fill=round(fill, 4), visible_fraction=round(vis, 4), fields_outside=outside,
        size=size, stored_size=stored, card_brightness=brightness,
        glare_cover=None if glare_cover is None else round(glare_cover, 3),
        shot={**asdict(shot), "defocus_px": round(sigma_px, 2),
              "card_px_per_mm": round(px_per_mm, 2)},
    )
    return data, truth
