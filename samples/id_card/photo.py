"""Photograph a flat card render: put it on a procedural background and apply
what a phone camera and a candidate do to it.

:func:`photograph` places the card (perspective, in-plane rotation, scale,
position, partly out of frame), then applies, in the order light meets the
sensor: soft shadow and lighting gradient, specular glare over a named field,
exposure gain, defocus and motion blur, sensor noise, JPEG compression and an
optional EXIF Orientation tag. Everything random comes from ``PhotoSpec.seed``,
so a spec always produces the same bytes.

Conventions: ``rotation`` is clockwise, in degrees, of the card as seen in the
displayed image (after EXIF orientation is applied); truth coordinates are in
displayed-image pixels. Corners are the card's TL, TR, BR, BL *as printed*, so
for a card turned 180° the "TL" corner is at the bottom right of the photo.
"""

from __future__ import annotations

import functools
import io
from dataclasses import asdict, dataclass, field
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from samples.id_card.render import CARD_MM, CORNER_RADIUS_MM, FONT_DIR

Background = Literal["wood", "fabric", "paper", "dark"]
Edge = Literal["left", "right", "top", "bottom", "top_left", "top_right", "bottom_left",
               "bottom_right"]
Box = tuple[int, int, int, int]
Point = tuple[float, float]

EXIF_ORIENTATION_TAG = 0x0112
# np.rot90 turns that make the stored pixels from the displayed ones; the
# viewer's EXIF transpose undoes them.
_EXIF_STORE_TURNS = {1: 0, 3: 2, 6: 1, 8: 3}
_WORK_SIDE = 1600  # procedural textures are made at most this large, then resized


@dataclass(frozen=True, slots=True)
class PhotoSpec:
    """How to photograph a card. Pixel-valued knobs (blur, noise) are for a
    1600 px wide frame and scale with ``frame``."""

    seed: int = 0
    frame: tuple[int, int] = (1600, 1200)  # width, height of the displayed image
    background: Background = "wood"
    hand: bool = False  # a thumb overlapping the card's bottom edge
    card_scale: float = 0.6  # card's long side as a fraction of the frame width
    offset: tuple[float, float] = (0.0, 0.0)  # card centre shift, fractions of the frame
    out_of_frame: Edge | None = None
    out_fraction: float = 0.22  # how much of the card lies beyond that edge
    tilt: float = 0.025  # perspective corner jitter, fraction of the card's long side
    rotation: int = 0  # 0, 90, 180 or 270, clockwise
    skew_deg: float = 0.0  # extra in-plane rotation, clockwise
    light_gradient: float = 0.18  # brightness change across the frame
    shadow: float = 0.0  # 0..1, a soft shadow band (the phone's) across the scene
    gain: float = 1.0  # exposure; < 0.3 too dark, > 1.8 overexposed
    lift: float = 0.0  # added after gain (washes out an overexposed photo)
    noise: float = 2.5  # sensor noise sigma, grey levels
    defocus: float = 0.0  # Gaussian sigma, px
    motion: float = 0.0  # motion blur length, px
    motion_angle: float = 0.0  # degrees
    glare_field: str | None = None  # a layout key: the glare's centre
    glare_strength: float = 1.0
    cover_field: str | None = None  # a layout key hidden under a sticky note (privacy masking)
    jpeg_quality: int = 86
    exif_orientation: int | None = None  # 1, 3, 6 or 8
    show_card: bool = True  # False: background only (no card in the photo)


@dataclass(frozen=True, slots=True)
class PhotoTruth:
    """What the photo really shows, in displayed-image pixels."""

    frame: tuple[int, int]  # displayed (width, height)
    stored: tuple[int, int]  # (width, height) of the pixels as stored in the JPEG
    exif_orientation: int | None
    card_present: bool
    corners: tuple[Point, Point, Point, Point] | None  # TL, TR, BR, BL as printed
    rotation: float  # clockwise degrees of the card in the displayed image
    out_of_frame: tuple[str, ...]  # edges the card crosses: "left", "top", ...
    card_long_side_px: float
    card_area_fraction: float  # visible card area / frame area
    card_luminance: float  # mean luma of the visible card, before noise and JPEG
    field_quads: dict[str, tuple[Point, Point, Point, Point]] = field(default_factory=dict)
    glare_field: str | None = None
    glare_saturated_fraction: float = 0.0  # of the glare field's area, luma >= 250
    defocus: float = 0.0
    motion: float = 0.0

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["field_quads"] = {k: [list(p) for p in v] for k, v in self.field_quads.items()}
        if self.corners is not None:
            data["corners"] = [list(p) for p in self.corners]
        return data


# --- backgrounds -------------------------------------------------------------

def _value_noise(rng: np.random.Generator, shape: tuple[int, int], cells: tuple[int, int]
                 ) -> np.ndarray:
    """Smooth noise in [0, 1]: a coarse random grid resized with bicubic interpolation."""
    coarse = rng.random((cells[1], cells[0])).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def _wood(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    warp = _value_noise(rng, (h, w), (6, 5)) * 60 + _value_noise(rng, (h, w), (3, 40)) * 18
    period = rng.uniform(9, 16)
    grain = 0.5 + 0.5 * np.sin(2 * np.pi * (y + warp) / period)
    streaks = _value_noise(rng, (h, w), (4, h // 3))
    tone = 0.55 * grain ** 3 + 0.45 * streaks
    light = np.array(rng.choice([(150, 190, 225), (95, 135, 180), (70, 100, 140)]), np.float32)
    dark = light * rng.uniform(0.55, 0.7)
    img = dark + (light - dark) * tone[..., None]
    plank = rng.uniform(220, 380)
    seams = (np.abs(((y + 0.03 * x) % plank) - 2) < 1.5)
    img[seams] *= 0.45
    return img


def _fabric(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    p = rng.uniform(6, 9)
    warp_threads = 0.5 + 0.5 * np.cos(2 * np.pi * x / p)
    weft_threads = 0.5 + 0.5 * np.cos(2 * np.pi * y / p)
    over = (np.floor(x / p) + np.floor(y / p)) % 2
    weave = np.where(over > 0, warp_threads, weft_threads)
    folds = _value_noise(rng, (h, w), (5, 4))
    colour = np.array(rng.choice([(120, 80, 50), (90, 90, 95), (60, 60, 150), (110, 130, 120)]),
                      np.float32)
    shade = (0.84 + 0.16 * weave) * (0.75 + 0.5 * folds)
    return colour * shade[..., None]


def _dark(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    base = rng.uniform(28, 48)
    mottled = _value_noise(rng, (h, w), (8, 6)) * 10 + _value_noise(rng, (h, w), (120, 90)) * 4
    tint = np.array([1.0, 1.0, 1.04], np.float32)
    return (base + mottled)[..., None] * tint


@functools.lru_cache(maxsize=4)
def _paper_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / "NotoSerifCJK-Regular.ttc"), size, index=2)


_PAPER_TEXT = (
    "关于做好二〇二六年度卫生专业技术人员资格审核工作的通知各有关单位根据省卫生健康委员会"
    "工作安排现将有关事项通知如下一申报人员须如实填写个人信息并上传本人有效身份证件二审核"
    "工作实行属地管理逐级负责三请各单位按时完成材料初审并对材料真实性负责特此通知"
)


def _paper_sheet(rng: np.random.Generator, width: int) -> np.ndarray:
    """A white A4-ish sheet with printed lines of text (BGR float32)."""
    height = int(width * 1.414)
    sheet = Image.new("RGB", (width, height), (246, 246, 242))
    draw = ImageDraw.Draw(sheet)
    size = max(8, width // 34)
    font = _paper_font(size)
    margin = width // 9
    chars_per_line = int((width - 2 * margin) / size)
    y = margin
    start = int(rng.integers(0, len(_PAPER_TEXT)))
    while y < height - margin:
        n = chars_per_line if rng.random() > 0.15 else int(chars_per_line * rng.uniform(0.3, 0.8))
        line = (_PAPER_TEXT * 3)[start:start + n]
        start = (start + n) % len(_PAPER_TEXT)
        draw.text((margin, y), line, font=font, fill=(40, 40, 40))
        y += int(size * rng.uniform(1.7, 2.1))
    arr = cv2.cvtColor(np.asarray(sheet), cv2.COLOR_RGB2BGR).astype(np.float32)
    return arr


def make_background(kind: Background, width: int, height: int, seed: int) -> np.ndarray:
    """A procedural scene without a card, BGR float32 in 0..255."""
    rng = np.random.default_rng(seed)
    scale = min(1.0, _WORK_SIDE / max(width, height))
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    desk = kind if kind != "paper" else rng.choice(["wood", "dark"])
    makers = {"wood": _wood, "fabric": _fabric, "dark": _dark}
    img = makers[desk](rng, w, h)
    if kind == "paper":
        sheet = _paper_sheet(rng, int(w * rng.uniform(0.55, 0.75)))
        sh, sw = sheet.shape[:2]
        angle = rng.uniform(-25, 25)
        centre = (w * rng.uniform(0.3, 0.7), h * rng.uniform(0.35, 0.75))
        m = cv2.getRotationMatrix2D((sw / 2, sh / 2), angle, 1.0)
        m[:, 2] += (centre[0] - sw / 2, centre[1] - sh / 2)
        warped = cv2.warpAffine(sheet, m, (w, h), flags=cv2.INTER_AREA)
        mask = cv2.warpAffine(np.ones((sh, sw), np.float32), m, (w, h))
        shadow = cv2.GaussianBlur(mask, (0, 0), 6)
        img *= (1 - 0.3 * _shifted(shadow, 5, 5))[..., None]
        img = img * (1 - mask[..., None]) + warped * mask[..., None]
    if (w, h) != (width, height):
        small = np.clip(img, 0, 255).astype(np.uint8)  # uint8 resizing is several times faster
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR).astype(
            np.float32)
    return img.astype(np.float32)


# --- geometry ----------------------------------------------------------------

def _card_quad(spec: PhotoSpec, card_w: int, card_h: int, rng: np.random.Generator
               ) -> np.ndarray:
    """Destination corners (TL, TR, BR, BL as printed) in displayed-frame pixels."""
    fw, fh = spec.frame
    long_side = spec.card_scale * fw
    short_side = long_side * CARD_MM[1] / CARD_MM[0]
    local = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * [
        long_side / 2, short_side / 2]
    local += rng.uniform(-1, 1, (4, 2)) * spec.tilt * long_side
    theta = np.deg2rad(spec.rotation + spec.skew_deg)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    quad = local @ rot.T
    lo, hi = quad.min(axis=0), quad.max(axis=0)
    extent = hi - lo
    centre = np.array([fw / 2 + spec.offset[0] * fw, fh / 2 + spec.offset[1] * fh])
    if spec.out_of_frame:
        edge = spec.out_of_frame
        f = spec.out_fraction
        if "left" in edge:
            centre[0] = -lo[0] - f * extent[0]
        if "right" in edge:
            centre[0] = fw - hi[0] + f * extent[0]
        if "top" in edge:
            centre[1] = -lo[1] - f * extent[1]
        if "bottom" in edge:
            centre[1] = fh - hi[1] + f * extent[1]
    return quad + centre


def _crossed_edges(quad: np.ndarray, frame: tuple[int, int]) -> tuple[str, ...]:
    fw, fh = frame
    edges = []
    if quad[:, 0].min() < 0:
        edges.append("left")
    if quad[:, 0].max() > fw - 1:
        edges.append("right")
    if quad[:, 1].min() < 0:
        edges.append("top")
    if quad[:, 1].max() > fh - 1:
        edges.append("bottom")
    return tuple(edges)


def _rounded_mask(card_w: int, card_h: int) -> np.ndarray:
    radius = round(CORNER_RADIUS_MM * card_w / CARD_MM[0])
    mask = np.zeros((card_h, card_w), np.uint8)
    cv2.rectangle(mask, (radius, 0), (card_w - 1 - radius, card_h - 1), 255, -1)
    cv2.rectangle(mask, (0, radius), (card_w - 1, card_h - 1 - radius), 255, -1)
    for cx, cy in ((radius, radius), (card_w - 1 - radius, radius),
                   (radius, card_h - 1 - radius), (card_w - 1 - radius, card_h - 1 - radius)):
        cv2.circle(mask, (cx, cy), radius, 255, -1, cv2.LINE_AA)
    return mask


def _map(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float64), h).reshape(-1, 2)


def _ellipse_points(cx: float, cy: float, ax: float, ay: float, tilt: float) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 72)
    ex, ey = ax * np.cos(t), ay * np.sin(t)
    return np.stack([cx + ex * np.cos(tilt) - ey * np.sin(tilt),
                     cy + ex * np.sin(tilt) + ey * np.cos(tilt)], axis=1)


def _thumb(frame: np.ndarray, h: np.ndarray, card_w: int, card_h: int,
           rng: np.random.Generator) -> None:
    """A skin-toned hand below the card whose thumb reaches over its bottom edge."""
    x = card_w * rng.uniform(0.87, 0.92)  # right of the number and validity lines
    reach = card_h * rng.uniform(0.05, 0.08)
    tilt = np.deg2rad(rng.uniform(-15, 15))
    ay = card_h * 0.24
    thumb = _ellipse_points(x, card_h - reach + ay, card_w * 0.07, ay, tilt)
    palm = _ellipse_points(x + card_w * 0.1, card_h * 1.62, card_w * 0.24, card_h * 0.52, 0.2)
    nail = _ellipse_points(x - np.sin(tilt) * card_h * 0.02, card_h - reach + card_h * 0.075,
                           card_w * 0.045, card_h * 0.06, tilt)
    polys = [_map(h, p) for p in (thumb, palm, nail)]
    fh, fw = frame.shape[:2]
    k = _scale_of(h)
    roi = _roi(np.vstack(polys[:2]), (fw, fh), 30 * k + 10)
    ys, xs = roi
    offset = np.array([xs.start, ys.start])
    size = (ys.stop - ys.start, xs.stop - xs.start)
    if size[0] < 2 or size[1] < 2:
        return
    mask = np.zeros(size, np.uint8)
    for poly in polys[:2]:
        cv2.fillPoly(mask, [(poly - offset).round().astype(np.int32)], 255, cv2.LINE_AA)
    nail_mask = np.zeros(size, np.uint8)
    cv2.fillPoly(nail_mask, [(polys[2] - offset).round().astype(np.int32)], 255, cv2.LINE_AA)
    soft = mask.astype(np.float32) / 255
    roundness = cv2.GaussianBlur(soft, (0, 0), max(2.0, 0.035 * card_w * k))
    skin = np.array(rng.choice([(120, 160, 215), (105, 145, 200), (140, 175, 225)]), np.float32)
    view = frame[roi]
    shadow = _shifted(cv2.GaussianBlur(soft, (0, 0), 6 * k + 2), 5 * k + 2, 5 * k + 2)
    view *= (1 - 0.4 * shadow * (1 - soft))[..., None]
    shaded = skin * (0.55 + 0.45 * roundness)[..., None]
    nail_a = (nail_mask.astype(np.float32) / 255 * 0.5)[..., None]
    shaded = shaded * (1 - nail_a) + (skin * 1.08 + 22) * nail_a
    view[:] = view * (1 - soft[..., None]) + shaded * soft[..., None]


def _sticky_note(frame: np.ndarray, h: np.ndarray, box: Box, rng: np.random.Generator) -> None:
    """A pale yellow paper note stuck over ``box`` (card pixels), as candidates do to hide
    their number."""
    x0, y0, x1, y1 = box
    pad_x, pad_y = (x1 - x0) * 0.08, (y1 - y0) * 0.5
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hw, hh = (x1 - x0) / 2 + pad_x, (y1 - y0) / 2 + pad_y
    a = np.deg2rad(rng.uniform(-4, 4))
    corners = np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]])
    corners = corners @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) + [cx, cy]
    poly = _map(h, corners)
    fh, fw = frame.shape[:2]
    k = _scale_of(h)
    roi = _roi(poly, (fw, fh), 12 * k + 6)
    ys, xs = roi
    offset = np.array([xs.start, ys.start])
    size = (ys.stop - ys.start, xs.stop - xs.start)
    if size[0] < 2 or size[1] < 2:
        return
    mask = np.zeros(size, np.uint8)
    cv2.fillPoly(mask, [(poly - offset).round().astype(np.int32)], 255, cv2.LINE_AA)
    soft = mask.astype(np.float32) / 255
    view = frame[roi]
    shadow = _shifted(cv2.GaussianBlur(soft, (0, 0), 3 * k + 1), 2 * k + 1, 2 * k + 1)
    view *= (1 - 0.3 * shadow * (1 - soft))[..., None]
    colour = np.array(rng.choice([(150, 235, 250), (170, 240, 245), (235, 235, 232)]), np.float32)
    texture = 1 - 0.04 * _value_noise(rng, size, (6, 3))
    view[:] = view * (1 - soft[..., None]) + (colour * texture[..., None]) * soft[..., None]


def _shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``image`` moved by (dx, dy) pixels, zero-filled (no wrap-around)."""
    m = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    return cv2.warpAffine(image, m, (image.shape[1], image.shape[0]))


def _scale_of(h: np.ndarray) -> float:
    """Approximate card-pixel to frame-pixel scale of a homography."""
    p = _map(h, np.array([[0.0, 0.0], [100.0, 0.0]]))
    return float(np.linalg.norm(p[1] - p[0]) / 100)


# --- photographing -----------------------------------------------------------

def _luma(img: np.ndarray) -> np.ndarray:
    return img[..., 0] * 0.114 + img[..., 1] * 0.587 + img[..., 2] * 0.299


def _roi(quad: np.ndarray, frame: tuple[int, int], margin: float) -> tuple[slice, slice]:
    fw, fh = frame
    lo = np.floor(quad.min(axis=0) - margin).astype(int)
    hi = np.ceil(quad.max(axis=0) + margin).astype(int)
    x0, y0 = max(0, lo[0]), max(0, lo[1])
    x1, y1 = min(fw, max(x0 + 1, hi[0])), min(fh, max(y0 + 1, hi[1]))
    return slice(y0, y1), slice(x0, x1)


def photograph(card_bgr: np.ndarray | None, spec: PhotoSpec,
               layout: dict[str, Box] | None = None) -> tuple[bytes, PhotoTruth]:
    """Photograph ``card_bgr`` (a render, ``layout`` in its pixels) as ``spec`` says.

    Returns the JPEG bytes and the ground truth. ``card_bgr`` may be None (or
    ``spec.show_card`` False) for a photo with no card in it.
    """
    if spec.rotation not in (0, 90, 180, 270):
        raise ValueError(f"rotation must be 0, 90, 180 or 270, not {spec.rotation}")
    if spec.exif_orientation not in (None, *_EXIF_STORE_TURNS):
        raise ValueError(f"unsupported EXIF orientation {spec.exif_orientation}")
    layout = layout or {}
    rng = np.random.default_rng(spec.seed)
    fw, fh = spec.frame
    k = fw / 1600  # pixel-valued knobs are for a 1600 px frame
    frame = make_background(spec.background, fw, fh, int(rng.integers(2**31)))
    present = card_bgr is not None and spec.show_card
    quad = np.zeros((4, 2))
    field_quads: dict[str, tuple[Point, Point, Point, Point]] = {}
    card_roi = (slice(0, 1), slice(0, 1))
    card_region = np.zeros((1, 1), np.float32)  # the card's coverage inside card_roi
    if present:
        assert card_bgr is not None
        ch, cw = card_bgr.shape[:2]
        quad = _card_quad(spec, cw, ch, rng)
        margin = 20 * k + 8
        card_roi = _roi(quad, spec.frame, margin)
        ys, xs = card_roi
        shift = np.array([[1, 0, -xs.start], [0, 1, -ys.start], [0, 0, 1]], np.float64)
        src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float32)
        hom = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
        local = shift @ hom
        size = (xs.stop - xs.start, ys.stop - ys.start)
        flags = cv2.INTER_AREA if _scale_of(hom) < 1 else cv2.INTER_LINEAR
        warped = cv2.warpPerspective(card_bgr, local, size, flags=flags).astype(np.float32)
        card_region = cv2.warpPerspective(_rounded_mask(cw, ch), local, size
                                          ).astype(np.float32) / 255
        view = frame[card_roi]
        # contact shadow under the card
        drop = cv2.GaussianBlur(card_region, (0, 0), 5 * k + 1)
        drop = _shifted(drop, 3 * k + 1, 4 * k + 1)
        view *= (1 - 0.45 * drop)[..., None]
        # the card's edge is a little darker than its face (thickness, laminate)
        edge = card_region - cv2.erode(card_region, np.ones((3, 3), np.uint8))
        warped *= (1 - 0.25 * edge)[..., None]
        a = card_region[..., None]
        view[:] = view * (1 - a) + warped * a
        for name, (x0, y0, x1, y1) in layout.items():
            pts = _map(hom, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64))
            field_quads[name] = tuple(  # type: ignore[assignment]
                (round(float(x), 1), round(float(y), 1)) for x, y in pts)
        if spec.cover_field:
            if spec.cover_field not in layout:
                raise ValueError(f"cover_field {spec.cover_field!r} is not in the layout")
            _sticky_note(frame, hom, layout[spec.cover_field], rng)
        if spec.hand:
            _thumb(frame, hom, cw, ch, rng)

        if spec.glare_field:
            if spec.glare_field not in field_quads:
                raise ValueError(f"glare_field {spec.glare_field!r} is not in the layout")
            q = np.array(field_quads[spec.glare_field]) - [xs.start, ys.start]
            centre = q.mean(axis=0) + rng.uniform(-0.05, 0.05, 2) * (q.max(0) - q.min(0))
            width = np.linalg.norm(q[1] - q[0]) * 0.62
            height = max(np.linalg.norm(q[3] - q[0]) * 2.4, width * 0.28)
            angle = np.arctan2(q[1][1] - q[0][1], q[1][0] - q[0][0])
            gy, gx = np.mgrid[0:size[1], 0:size[0]].astype(np.float32)
            dx, dy = gx - centre[0], gy - centre[1]
            u = (dx * np.cos(angle) + dy * np.sin(angle)) / width
            v = (-dx * np.sin(angle) + dy * np.cos(angle)) / height
            alpha = np.clip(spec.glare_strength * 1.8 * np.exp(-(u * u + v * v) * 2.2), 0, 1)
            alpha = (alpha * card_region)[..., None]
            view[:] = view * (1 - alpha) + np.array([255, 255, 252], np.float32) * 1.1 * alpha

    # lighting: a linear gradient in a random direction, an optional soft shadow
    # band, and the exposure gain, as one multiplicative field
    yy, xx = np.mgrid[0:fh:8, 0:fw:8].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = ((xx / fw - 0.5) * np.cos(angle) + (yy / fh - 0.5) * np.sin(angle))
    light = 1 + spec.light_gradient * ramp * 1.4
    if spec.shadow > 0:
        b = rng.uniform(0, 2 * np.pi)
        d = (xx / fw - 0.5) * np.cos(b) + (yy / fh - 0.5) * np.sin(b) - rng.uniform(-0.15, 0.15)
        light *= 1 - spec.shadow * 0.55 / (1 + np.exp(-d / 0.04))
    light = cv2.resize((light * spec.gain).astype(np.float32), (fw, fh),
                       interpolation=cv2.INTER_LINEAR)
    frame *= light[..., None]
    if spec.lift:
        frame += spec.lift
    if spec.defocus > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), spec.defocus * k)
    if spec.motion > 0:
        length = max(3, round(spec.motion * k) | 1)
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1
        rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), spec.motion_angle, 1)
        kernel = cv2.warpAffine(kernel, rot, (length, length))
        frame = cv2.filter2D(frame, -1, kernel / kernel.sum())
    np.clip(frame, 0, 255, out=frame)

    luminance, area, glare_fraction = 0.0, 0.0, 0.0
    if present:
        inside = card_region > 0.5
        luma = _luma(frame[card_roi])
        luminance = float(luma[inside].mean()) if inside.any() else 0.0
        area = float(inside.sum()) / (fw * fh)
        if spec.glare_field:
            fq = np.array(field_quads[spec.glare_field]) - [card_roi[1].start, card_roi[0].start]
            fmask = np.zeros(inside.shape, np.uint8)
            cv2.fillPoly(fmask, [fq.round().astype(np.int32)], 1)
            sel = fmask.astype(bool) & inside
            glare_fraction = float((luma[sel] >= 250).mean()) if sel.any() else 0.0

    if spec.noise > 0:
        cv2.setRNGSeed(int(rng.integers(2**31)))
        # shot noise is stronger in an underexposed photo
        sigma = spec.noise * (2.5 if spec.gain < 0.5 else 1.0)
        grey = np.empty((fh, fw), np.float32)
        cv2.randn(grey, 0, sigma)
        chroma = np.empty((fh, fw, 3), np.float32)
        cv2.randn(chroma, 0, spec.noise * 0.5)
        chroma += grey[..., None]
        frame += chroma
    out = cv2.convertScaleAbs(frame)  # saturating round to uint8

    stored = out
    turns = _EXIF_STORE_TURNS.get(spec.exif_orientation or 1, 0)
    if turns:
        stored = np.ascontiguousarray(np.rot90(out, turns))
    jpeg = _encode(stored, spec.jpeg_quality, spec.exif_orientation)

    rotation = 0.0
    if present:
        top = quad[1] - quad[0]
        rotation = float(np.rad2deg(np.arctan2(top[1], top[0])) % 360)
    truth = PhotoTruth(
        frame=(fw, fh),
        stored=(stored.shape[1], stored.shape[0]),
        exif_orientation=spec.exif_orientation,
        card_present=present,
        corners=tuple(  # type: ignore[arg-type]
            (round(float(x), 1), round(float(y), 1)) for x, y in quad) if present else None,
        rotation=round(rotation, 2),
        out_of_frame=_crossed_edges(quad, spec.frame) if present else (),
        card_long_side_px=round(float(np.linalg.norm(quad[1] - quad[0])), 1) if present else 0.0,
        card_area_fraction=round(area, 4),
        card_luminance=round(luminance, 1),
        field_quads=field_quads,
        glare_field=spec.glare_field if present else None,
        glare_saturated_fraction=round(glare_fraction, 3),
        defocus=spec.defocus,
        motion=spec.motion,
    )
    return jpeg, truth


def _encode(bgr: np.ndarray, quality: int, orientation: int | None) -> bytes:
    image = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    buffer = io.BytesIO()
    kwargs: dict[str, object] = {"quality": int(quality), "optimize": True}
    if orientation is not None:
        exif = Image.Exif()
        exif[EXIF_ORIENTATION_TAG] = orientation
        kwargs["exif"] = exif.tobytes()
    image.save(buffer, "JPEG", **kwargs)
    return buffer.getvalue()
