"""Flat renderings of a fictional 2nd-generation resident ID card.

The card is ID-1 (85.6 x 54 mm) drawn at ``px_per_mm`` (10 → 856 x 540 px),
laid out like the real card: on the portrait side (人像面) the labels 姓名, 性别,
民族, 出生, 住址 and 公民身份号码 in a muted blue with black values, a drawn
head-and-shoulders photo of a fictional person (a shaded face with eyes, brows, nose and
lips, hair, a jacket; a face detector finds it, as it finds a real photo's face); on the
emblem side (国徽面) a stylised
red-and-gold emblem placeholder (not the real emblem), 中华人民共和国 and
居民身份证, 签发机关 and 有效期限. Both sides have a pale guilloche background
and rounded corners (the pixels outside the corners are white; use
:func:`card_mask` to composite).

:func:`front_layout` and :func:`back_layout` give each field's value rectangle
``(x0, y0, x1, y1)`` in the rendered card's pixels, so glare can be aimed at a
field and pipelines can be checked against the fields' true places.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from samples.id_card.identities import Identity

CARD_MM = (85.6, 54.0)
CORNER_RADIUS_MM = 3.18
FONT_DIR = Path("/usr/share/fonts/opentype/noto")
_SC = 2  # index of the Simplified Chinese face inside the Noto CJK collections
_MONO_SC = 7

LABEL_RGB = (38, 112, 168)
VALUE_RGB = (18, 18, 20)

Box = tuple[int, int, int, int]


@functools.lru_cache(maxsize=64)
def _font(kind: str, size: int) -> ImageFont.FreeTypeFont:
    files = {
        "sans": ("NotoSansCJK-Regular.ttc", _SC),
        "sans_bold": ("NotoSansCJK-Bold.ttc", _SC),
        "serif_bold": ("NotoSerifCJK-Bold.ttc", _SC),
        "mono_bold": ("NotoSansCJK-Bold.ttc", _MONO_SC),
    }
    name, index = files[kind]
    path = FONT_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: install the Debian package fonts-noto-cjk")
    return ImageFont.truetype(str(path), size, index=index)


def card_size(px_per_mm: float = 10.0) -> tuple[int, int]:
    """(width, height) of the rendered card in pixels."""
    return round(CARD_MM[0] * px_per_mm), round(CARD_MM[1] * px_per_mm)


def card_mask(px_per_mm: float = 10.0) -> np.ndarray:
    """uint8 mask (255 inside the card) of the rounded-corner card outline."""
    width, height = card_size(px_per_mm)
    radius = round(CORNER_RADIUS_MM * px_per_mm)
    mask = np.zeros((height, width), np.uint8)
    cv2.rectangle(mask, (radius, 0), (width - 1 - radius, height - 1), 255, -1)
    cv2.rectangle(mask, (0, radius), (width - 1, height - 1 - radius), 255, -1)
    for cx, cy in (
        (radius, radius),
        (width - 1 - radius, radius),
        (radius, height - 1 - radius),
        (width - 1 - radius, height - 1 - radius),
    ):
        cv2.circle(mask, (cx, cy), radius, 255, -1, lineType=cv2.LINE_AA)
    return mask


def _guilloche(width: int, height: int, seed: int, tint: tuple[int, int, int]) -> np.ndarray:
    """A pale banknote-like pattern of crossing wavy lines and a rosette (RGB, a fresh copy)."""
    return _guilloche_cached(width, height, seed, tint).copy()


@functools.lru_cache(maxsize=16)
def _guilloche_cached(width: int, height: int, seed: int, tint: tuple[int, int, int]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    x /= width / 85.6  # in mm so the pattern does not depend on resolution
    y /= height / 54.0
    ink = np.zeros((height, width), np.float32)
    for _ in range(2):
        amp, px, py = rng.uniform(1.2, 2.5), rng.uniform(9, 16), rng.uniform(1.1, 1.6)
        phase = rng.uniform(0, 6.28)
        wave = np.sin(2 * np.pi * (y + amp * np.sin(2 * np.pi * x / px + phase)) / py)
        ink = np.maximum(ink, np.clip((np.abs(wave) - 0.86) / 0.14, 0, 1))
        wave = np.sin(2 * np.pi * (x + amp * np.sin(2 * np.pi * y / px - phase)) / (py * 1.3))
        ink = np.maximum(ink, 0.6 * np.clip((np.abs(wave) - 0.9) / 0.1, 0, 1))
    cx, cy = rng.uniform(30, 55), rng.uniform(20, 34)
    radius = np.hypot(x - cx, y - cy)
    angle = np.arctan2(y - cy, x - cx)
    rosette = np.sin(radius * 2.2 + 1.5 * np.sin(angle * 12))
    ink = np.maximum(ink, 0.7 * np.clip((np.abs(rosette) - 0.9) / 0.1, 0, 1) * (radius < 22))
    # Pale blue at the top-left fading to pale green at the bottom-right.
    base = np.empty((height, width, 3), np.float32)
    t = np.clip((x / 85.6 + y / 54.0) / 2, 0, 1)[..., None]
    base[:] = (1 - t) * np.array([236, 243, 248], np.float32) + t * np.array([236, 246, 238])
    colour = np.array(tint, np.float32)
    out = base * (1 - 0.35 * ink[..., None]) + colour * 0.35 * ink[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)


@dataclass(frozen=True, slots=True)
class _Pen:
    draw: ImageDraw.ImageDraw
    k: float  # px per mm

    def text(
        self,
        x_mm: float,
        baseline_mm: float,
        text: str,
        kind: str,
        size_mm: float,
        fill: tuple[int, int, int],
        spacing_mm: float = 0.0,
    ) -> Box:
        """Draw ``text`` with its left edge at ``x_mm`` on the baseline; return its box."""
        font = _font(kind, max(6, round(size_mm * self.k)))
        x, y = x_mm * self.k, baseline_mm * self.k
        boxes = []
        if spacing_mm == 0.0:
            self.draw.text((x, y), text, font=font, fill=fill, anchor="ls")
            boxes.append(self.draw.textbbox((x, y), text, font=font, anchor="ls"))
        else:
            for char in text:
                self.draw.text((x, y), char, font=font, fill=fill, anchor="ls")
                boxes.append(self.draw.textbbox((x, y), char, font=font, anchor="ls"))
                x += font.getlength(char) + spacing_mm * self.k
        return (
            int(min(b[0] for b in boxes)),
            int(min(b[1] for b in boxes)),
            int(np.ceil(max(b[2] for b in boxes))),
            int(np.ceil(max(b[3] for b in boxes))),
        )

    def width(self, text: str, kind: str, size_mm: float) -> float:
        return _font(kind, max(6, round(size_mm * self.k))).getlength(text) / self.k


def _union(*boxes: Box) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _pad(box: Box, k: float, mm: float = 0.5) -> Box:
    p = round(mm * k)
    return box[0] - p, box[1] - p, box[2] + p, box[3] + p


def wrap_address(address: str, width_mm: float = 33.0, size_mm: float = 3.0) -> list[str]:
    """Split an address into printed lines the way the card does (≈11 characters)."""
    font = _font("sans", 100)
    limit = width_mm / size_mm * 100
    lines, current = [], ""
    for char in address:
        if current and font.getlength(current + char) > limit:
            lines.append(current)
            current = ""
        current += char
    if current:
        lines.append(current)
    return lines


def _portrait(image: np.ndarray, box: Box, seed: int, sex: str = "男") -> None:
    """A drawn head-and-shoulders ID photo inside ``box``: a shaded face (eyes with irises,
    brows, nose, lips, ears), hair, neck and a jacket with a shirt collar on a pale
    background. Deterministic per ``seed``; a face detector finds it (BlazeFace scores it
    like a photo), unlike a faceless placeholder."""
    rng = np.random.default_rng([seed, 11])
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    region = image[y0:y1, x0:x1]
    # Background: a pale studio backdrop, lighter at the top, over a trace of the guilloche.
    tone = np.array([236, 234, 228], np.float32) + rng.uniform(-8, 8, 3).astype(np.float32)
    ramp = np.linspace(6, -10, h, dtype=np.float32)[:, None, None]
    canvas = region.astype(np.float32) * 0.12 + (tone + ramp) * 0.88
    canvas = np.clip(canvas, 0, 255)
    # Skin and hair (BGR): warm tones of several lightnesses, black to dark-brown hair.
    base = np.array([138, 172, 214], np.float32) * rng.uniform(0.84, 1.06)
    skin = tuple(float(min(250, c)) for c in base + rng.uniform(-6, 6, 3))
    hair = tuple(float(c) for c in np.array([22, 26, 34]) * rng.uniform(0.7, 1.8))
    jacket = [(58, 40, 30), (40, 40, 44), (70, 62, 58), (96, 70, 52), (35, 30, 70)][
        int(rng.integers(5))
    ]
    long_hair = sex == "女" and rng.random() < 0.8
    cx = w * (0.5 + rng.uniform(-0.025, 0.025))
    fw = w * rng.uniform(0.205, 0.235)  # half the face's width
    fh = h * rng.uniform(0.205, 0.225)  # half its height
    fy = h * rng.uniform(0.40, 0.43)  # its centre
    layer = np.zeros((h, w, 3), np.float32)
    mask = np.zeros((h, w), np.float32)

    def paint(shape_mask: np.ndarray, colour: tuple[float, ...]) -> None:
        m = shape_mask.astype(np.float32)[:, :, None]
        layer[:] = layer * (1 - m) + np.array(colour, np.float32) * m
        mask[:] = np.maximum(mask, shape_mask.astype(np.float32))

    def poly(points: list[tuple[float, float]]) -> np.ndarray:
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [np.round(np.array(points) * 4).astype(np.int32)], 1, cv2.LINE_AA, 2)
        return m.astype(np.float32)

    def ellipse(
        c: tuple[float, float], axes: tuple[float, float], angle: float = 0.0
    ) -> np.ndarray:
        m = np.zeros((h, w), np.uint8)
        cv2.ellipse(
            m,
            (round(c[0] * 4), round(c[1] * 4)),
            (round(axes[0] * 4), round(axes[1] * 4)),
            angle,
            0,
            360,
            1,
            -1,
            cv2.LINE_AA,
            2,
        )
        return m.astype(np.float32)

    # Long hair falls behind the shoulders.
    if long_hair:
        paint(
            poly(
                [
                    (cx - fw * 1.35, fy - fh * 0.6),
                    (cx + fw * 1.35, fy - fh * 0.6),
                    (cx + fw * 1.55, fy + fh * 2.0),
                    (cx - fw * 1.55, fy + fh * 2.0),
                ]
            ),
            hair,
        )
        paint(ellipse((cx, fy - fh * 0.55), (fw * 1.35, fh * 0.75)), hair)
    # Shoulders: a jacket whose outline rises from the bottom corners to the neck.
    neck_y = fy + fh * 0.85
    sh_y = fy + fh * 1.55
    t = np.linspace(0, 1, 24)
    left = [
        (cx - fw * 0.55 - (w * 0.52 - fw * 0.55) * s, sh_y + (h - sh_y) * s**2.2 * 0.6) for s in t
    ]
    right = [(2 * cx - x, y) for x, y in reversed(left)]
    paint(poly([*left, (cx - w * 0.6, h + 2), (cx + w * 0.6, h + 2), *right]), jacket)
    # Neck, shirt collar (a white V) and the neck's shadow under the chin.
    neck = tuple(c * 0.9 for c in skin)
    paint(
        poly(
            [
                (cx - fw * 0.42, neck_y - fh * 0.3),
                (cx + fw * 0.42, neck_y - fh * 0.3),
                (cx + fw * 0.5, sh_y + fh * 0.2),
                (cx - fw * 0.5, sh_y + fh * 0.2),
            ]
        ),
        neck,
    )
    paint(
        poly(
            [
                (cx - fw * 0.62, sh_y - fh * 0.05),
                (cx, sh_y + fh * 0.75),
                (cx + fw * 0.62, sh_y - fh * 0.05),
                (cx + fw * 0.85, sh_y + fh * 0.35),
                (cx, sh_y + fh * 1.25),
                (cx - fw * 0.85, sh_y + fh * 0.35),
            ]
        ),
        (238, 240, 242),
    )
    paint(
        poly(
            [
                (cx - fw * 0.5, sh_y + fh * 0.1),
                (cx, sh_y + fh * 0.75),
                (cx + fw * 0.5, sh_y + fh * 0.1),
            ]
        ),
        neck,
    )
    # Ears, then the face: an egg, wider at the cheekbones than at the chin.
    for side in (-1, 1):
        paint(
            ellipse((cx + side * fw * 0.98, fy + fh * 0.02), (fw * 0.16, fh * 0.26)),
            tuple(c * 0.93 for c in skin),
        )
    angles = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    outline = []
    for a in angles:
        s = np.sin(a)  # +1 at the chin
        narrow = 1 - 0.22 * max(0.0, s) ** 1.5
        outline.append((cx + fw * np.cos(a) * narrow, fy + fh * s * (1.04 if s > 0 else 0.98)))
    face = poly(outline)
    paint(face, skin)
    # Shading: the face darker towards its edges, lit from the upper left.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx - cx + fw * 0.15) / fw) ** 2 + ((yy - fy + fh * 0.1) / fh) ** 2)
    shade = np.clip(1.04 - 0.22 * r**2, 0.72, 1.06)[:, :, None]
    skin_area = (face > 0)[:, :, None]
    layer[:] = np.where(skin_area, layer * shade, layer)
    # Hair on top: a cap over the forehead with a side parting.
    part = -1 if rng.random() < 0.5 else 1
    fringe = fy - fh * rng.uniform(0.42, 0.55)
    cap = [
        (cx + fw * 1.06 * np.cos(a), fy - fh * 0.05 + fh * 1.12 * np.sin(a))
        for a in np.linspace(np.pi, 2 * np.pi, 30)
    ]
    cap += [
        (cx + fw * 1.02, fy - fh * 0.05),
        (cx + fw * 0.92, fringe + fh * 0.05 * part),
        (cx + part * fw * 0.3, fringe - fh * 0.06),
        (cx - fw * 0.92, fringe - fh * 0.05 * part),
        (cx - fw * 1.02, fy - fh * 0.05),
    ]
    paint(poly(cap), hair)
    # Brows, eyes (white, iris, pupil, a lid line and a glint), nose and lips.
    ey = fy - fh * 0.08
    ex = fw * rng.uniform(0.38, 0.43)
    brow_w = max(2, round(fh * 0.07))
    iris = (float(rng.uniform(30, 45)), float(rng.uniform(45, 60)), float(rng.uniform(70, 95)))
    for side in (-1, 1):
        c = cx + side * ex
        pts = np.array(
            [
                (c - side * fw * 0.22, ey - fh * 0.2),
                (c, ey - fh * 0.27),
                (c + side * fw * 0.25, ey - fh * 0.22),
            ]
        )
        cv2.polylines(
            layer, [np.round(pts * 4).astype(np.int32)], False, hair, brow_w, cv2.LINE_AA, 2
        )
        eye = ellipse((c, ey), (fw * 0.2, fh * 0.075))
        paint(eye, (235, 238, 240))
        ir = ellipse((c + side * fw * 0.01, ey), (fw * 0.085, fw * 0.085)) * eye
        paint(ir, iris)
        paint(ellipse((c + side * fw * 0.01, ey), (fw * 0.04, fw * 0.04)) * eye, (15, 15, 18))
        paint(
            ellipse((c - fw * 0.03, ey - fh * 0.025), (fw * 0.018, fw * 0.018)) * eye,
            (245, 245, 245),
        )
        lid = [
            (c - fw * 0.21, ey + fh * 0.005),
            (c, ey - fh * 0.085),
            (c + fw * 0.21, ey + fh * 0.005),
        ]
        cv2.polylines(
            layer,
            [np.round(np.array(lid) * 4).astype(np.int32)],
            False,
            (30, 30, 38),
            max(1, round(fh * 0.025)),
            cv2.LINE_AA,
            2,
        )
    dark = tuple(c * 0.72 for c in skin)
    ny = fy + fh * 0.32
    ridge = [(cx + part * fw * 0.06, ey + fh * 0.05), (cx + part * fw * 0.09, ny - fh * 0.03)]
    cv2.polylines(
        layer,
        [np.round(np.array(ridge) * 4).astype(np.int32)],
        False,
        tuple(c * 0.85 for c in skin),
        max(1, round(fw * 0.05)),
        cv2.LINE_AA,
        2,
    )
    for side in (-1, 1):
        paint(ellipse((cx + side * fw * 0.12, ny), (fw * 0.06, fh * 0.03)), dark)
    paint(
        ellipse((cx, ny - fh * 0.04), (fw * 0.09, fh * 0.05)) * 0.5,
        tuple(min(255, c * 1.08) for c in skin),
    )
    my = fy + fh * 0.58
    mw = fw * rng.uniform(0.3, 0.38)
    lip = (float(skin[0] * 0.62), float(skin[1] * 0.55), float(min(255, skin[2] * 0.92)))
    paint(ellipse((cx, my + fh * 0.045), (mw * 0.85, fh * 0.06)), lip)
    paint(ellipse((cx, my - fh * 0.01), (mw, fh * 0.045)), tuple(c * 0.85 for c in lip))
    cv2.line(
        layer,
        (round((cx - mw) * 4), round(my * 4 + fh * 0.1)),
        (round((cx + mw) * 4), round(my * 4 + fh * 0.1)),
        (40, 40, 60),
        max(1, round(fh * 0.018)),
        cv2.LINE_AA,
        2,
    )
    # A photo's softness and grain, then onto the card.
    grain = rng.normal(0, 2.5, (h, w, 1)).astype(np.float32)
    m = cv2.GaussianBlur(mask, (0, 0), 0.8)[:, :, None]
    out = canvas * (1 - m) + layer * m + grain
    out = cv2.GaussianBlur(out, (0, 0), 0.9)
    region[:] = np.clip(out, 0, 255).astype(np.uint8)


def _emblem(image: np.ndarray, centre: tuple[int, int], radius: int) -> None:
    """A stylised red-and-gold roundel with a star: a placeholder, not the national emblem."""
    red, gold = (30, 28, 200), (40, 180, 235)  # BGR
    cx, cy = centre
    cv2.circle(image, centre, radius, gold, -1, cv2.LINE_AA)
    cv2.circle(image, centre, int(radius * 0.90), red, -1, cv2.LINE_AA)
    cv2.circle(image, centre, int(radius * 0.72), gold, max(1, radius // 25), cv2.LINE_AA)
    cv2.circle(image, centre, int(radius * 0.55), gold, max(1, radius // 30), cv2.LINE_AA)
    for i in range(24):  # ring of small gold studs
        a = 2 * np.pi * i / 24
        p = (int(cx + 0.81 * radius * np.cos(a)), int(cy + 0.81 * radius * np.sin(a)))
        cv2.circle(image, p, max(1, radius // 22), gold, -1, cv2.LINE_AA)

    def star(c: tuple[float, float], r: float) -> np.ndarray:
        pts = []
        for i in range(10):
            a = -np.pi / 2 + i * np.pi / 5
            rr = r if i % 2 == 0 else r * 0.40
            pts.append((c[0] + rr * np.cos(a), c[1] + rr * np.sin(a)))
        return np.array(pts, np.int32)

    cv2.fillPoly(image, [star((cx, cy - radius * 0.08), radius * 0.38)], gold, cv2.LINE_AA)
    cv2.rectangle(
        image,
        (int(cx - radius * 0.42), int(cy + radius * 0.36)),
        (int(cx + radius * 0.42), int(cy + radius * 0.46)),
        gold,
        -1,
    )


def _plan_front(identity: Identity, image: Image.Image | None, k: float) -> dict[str, Box]:
    draw = ImageDraw.Draw(image or Image.new("RGB", card_size(k)))
    pen = _Pen(draw, k)
    label, value = 2.7, 3.1
    lx, vx = 5.8, 16.4
    layout: dict[str, Box] = {}
    pen.text(lx, 10.2, "姓  名", "sans", label, LABEL_RGB)
    layout["name"] = pen.text(vx, 10.4, identity.name, "sans_bold", 3.5, VALUE_RGB)
    pen.text(lx, 16.8, "性  别", "sans", label, LABEL_RGB)
    layout["sex"] = pen.text(vx, 16.8, identity.sex, "sans", value, VALUE_RGB)
    pen.text(26.8, 16.8, "民  族", "sans", label, LABEL_RGB)
    layout["ethnicity"] = pen.text(36.4, 16.8, identity.ethnicity, "sans", value, VALUE_RGB)
    pen.text(lx, 23.4, "出  生", "sans", label, LABEL_RGB)
    b = identity.birth_date
    year = pen.text(vx, 23.4, f"{b.year}", "sans", value, VALUE_RGB)
    pen.text(25.0, 23.4, "年", "sans", label, LABEL_RGB)
    month_x = 31.2 - pen.width(str(b.month), "sans", value)
    pen.text(month_x, 23.4, f"{b.month}", "sans", value, VALUE_RGB)
    pen.text(32.0, 23.4, "月", "sans", label, LABEL_RGB)
    day_x = 38.4 - pen.width(str(b.day), "sans", value)
    pen.text(day_x, 23.4, f"{b.day}", "sans", value, VALUE_RGB)
    end = pen.text(39.2, 23.4, "日", "sans", label, LABEL_RGB)
    layout["birth"] = _union(year, end)
    pen.text(lx, 30.0, "住  址", "sans", label, LABEL_RGB)
    lines = wrap_address(identity.address, 33.5, value)[:3]
    boxes = [
        pen.text(vx, 30.0 + 4.6 * i, line, "sans", value, VALUE_RGB) for i, line in enumerate(lines)
    ]
    layout["address"] = _union(*boxes)
    pen.text(lx, 47.6, "公民身份号码", "sans", label, LABEL_RGB)
    layout["id_number"] = pen.text(
        29.0, 47.8, identity.id_number, "mono_bold", 3.7, VALUE_RGB, spacing_mm=0.45
    )
    layout = {key: _pad(box, k) for key, box in layout.items()}
    layout["portrait"] = (round(54.0 * k), round(5.0 * k), round(80.5 * k), round(38.5 * k))
    return layout


def _plan_back(identity: Identity, image: Image.Image | None, k: float) -> dict[str, Box]:
    draw = ImageDraw.Draw(image or Image.new("RGB", card_size(k)))
    pen = _Pen(draw, k)
    layout: dict[str, Box] = {}
    first = pen.text(28.5, 12.6, "中华人民共和国", "sans_bold", 4.4, VALUE_RGB, spacing_mm=2.3)
    second = pen.text(27.0, 23.0, "居民身份证", "serif_bold", 7.2, VALUE_RGB, spacing_mm=3.0)
    layout["title"] = _union(first, second)
    pen.text(15.5, 42.3, "签发机关", "sans", 2.7, LABEL_RGB)
    layout["issuing_authority"] = pen.text(
        29.5, 42.3, identity.issuing_authority, "sans", 3.0, VALUE_RGB
    )
    pen.text(15.5, 48.8, "有效期限", "sans", 2.7, LABEL_RGB)
    layout["validity"] = pen.text(29.5, 48.8, identity.validity_text, "sans", 3.0, VALUE_RGB)
    layout = {key: _pad(box, k) for key, box in layout.items()}
    layout["emblem"] = (round(4.5 * k), round(4.5 * k), round(22.5 * k), round(22.5 * k))
    return layout


def _finish(rgb: np.ndarray, k: float) -> np.ndarray:
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    mask = card_mask(k)
    bgr[mask == 0] = 255
    return bgr


def _seed(identity: Identity) -> int:
    return int(identity.id_number[6:17]) % 100_003


def render_front(identity: Identity, *, px_per_mm: float = 10.0) -> np.ndarray:
    """The portrait side (人像面) as a BGR uint8 image of :func:`card_size` pixels."""
    width, height = card_size(px_per_mm)
    background = _guilloche(width, height, _seed(identity), (120, 170, 200))
    layout = front_layout(identity, px_per_mm=px_per_mm)
    bgr = cv2.cvtColor(background, cv2.COLOR_RGB2BGR)
    _portrait(bgr, layout["portrait"], _seed(identity), identity.sex)
    image = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    _plan_front(identity, image, px_per_mm)
    return _finish(np.asarray(image).copy(), px_per_mm)


def render_back(identity: Identity, *, px_per_mm: float = 10.0) -> np.ndarray:
    """The emblem side (国徽面) as a BGR uint8 image of :func:`card_size` pixels."""
    width, height = card_size(px_per_mm)
    background = _guilloche(width, height, _seed(identity) + 7, (150, 190, 170))
    bgr = cv2.cvtColor(background, cv2.COLOR_RGB2BGR)
    x0, y0, x1, y1 = back_layout(identity, px_per_mm=px_per_mm)["emblem"]
    _emblem(bgr, ((x0 + x1) // 2, (y0 + y1) // 2), (x1 - x0) // 2)
    image = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    _plan_back(identity, image, px_per_mm)
    return _finish(np.asarray(image).copy(), px_per_mm)


def front_layout(identity: Identity, *, px_per_mm: float = 10.0) -> dict[str, Box]:
    """Value rectangles on the portrait side: name, sex, ethnicity, birth, address,
    id_number (plus portrait), in the rendered card's pixels."""
    return _plan_front(identity, None, px_per_mm)


def back_layout(identity: Identity, *, px_per_mm: float = 10.0) -> dict[str, Box]:
    """Rectangles on the emblem side: title, issuing_authority, validity (plus emblem)."""
    return _plan_back(identity, None, px_per_mm)


def render(
    identity: Identity, side: str, *, px_per_mm: float = 10.0
) -> tuple[np.ndarray, dict[str, Box]]:
    """Image and layout of one side, ``side`` being "front" or "back"."""
    if side == "front":
        return (
            render_front(identity, px_per_mm=px_per_mm),
            front_layout(identity, px_per_mm=px_per_mm),
        )
    if side == "back":
        return (
            render_back(identity, px_per_mm=px_per_mm),
            back_layout(identity, px_per_mm=px_per_mm),
        )
    raise ValueError(f"side must be 'front' or 'back', not {side!r}")
