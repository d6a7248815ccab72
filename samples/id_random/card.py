"""Card artwork drawn from scratch: the portrait side (人像面) and the emblem side (国徽面) of a
second-generation resident ID card, with randomised fonts, inks, tint and guilloché.

Coordinates are fractions of the card (85.6 x 54 mm) so the layout is the real card's; every
card jitters its rows a little. :func:`draw_card` returns the BGR image, an alpha mask with
rounded corners, and the boxes of the fields (card pixels) for glare and hand placement.
"""

from __future__ import annotations

import functools
import math
import random
import subprocess
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from samples.id_random.people import Person

CARD_MM = (85.6, 54.0)
PX_PER_MM = 12.0
CARD_W = round(CARD_MM[0] * PX_PER_MM)
CARD_H = round(CARD_MM[1] * PX_PER_MM)
CORNER_MM = 3.18

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in card pixels


@dataclass(frozen=True, slots=True)
class Face:
    path: str
    index: int
    family: str


@dataclass(slots=True)
class CardArt:
    image: np.ndarray  # BGR uint8, CARD_H x CARD_W
    alpha: np.ndarray  # uint8 mask, rounded corners
    fields: dict[str, Box] = field(default_factory=dict)
    font: str = ""
    side: str = "front"


@functools.cache
def cjk_faces() -> tuple[Face, ...]:
    """Every installed Simplified-Chinese-capable face (one per family, CN/SC variants)."""
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "-f", "%{file}|%{index}|%{family[0]}\n"],
            capture_output=True, text=True, check=True, timeout=20,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    faces: dict[str, Face] = {}
    for line in sorted(out.splitlines()):
        try:
            path, index, family = line.split("|", 2)
        except ValueError:
            continue
        if any(tag in family for tag in (" JP", " KR", " TC", " HK", " TW", "Mono", "Sharp")):
            continue
        faces.setdefault(family, Face(path, int(index), family))
    if not faces:
        raise RuntimeError("no CJK font installed (see scripts/install-system-deps.sh)")
    return tuple(faces.values())


@functools.cache
def _font(face: Face, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(face.path, size, index=face.index)


@functools.cache
def _notdef(face: Face) -> bytes:
    return bytes(_font(face, 24).getmask("\U0010fffd"))


@functools.cache
def covers(face: Face, char: str) -> bool:
    """Whether ``face`` has a glyph for ``char`` (its mask differs from the missing-glyph box)."""
    if char.isspace():
        return True
    return bytes(_font(face, 24).getmask(char)) != _notdef(face)


def pick_face(rng: random.Random, text: str, exclude: str = "") -> Face:
    faces = [f for f in cjk_faces() if all(covers(f, c) for c in set(text))]
    faces = faces or list(cjk_faces())
    preferred = [f for f in faces if f.family != exclude] or faces
    return rng.choice(preferred)


@functools.cache
def _latin_faces() -> tuple[str, ...]:
    candidates = (
        "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    )
    found = []
    for path in candidates:
        try:
            ImageFont.truetype(path, 10)
        except OSError:
            continue
        found.append(path)
    return tuple(found)


def _number_font(rng: random.Random, face: Face, size: int) -> tuple[ImageFont.FreeTypeFont, str]:
    latin = _latin_faces()
    if latin and rng.random() < 0.6:
        path = rng.choice(latin)
        return ImageFont.truetype(path, size), path.rsplit("/", 1)[-1]
    return _font(face, size), face.family


def _jitter_colour(rng: random.Random, bgr: tuple[int, int, int], amount: int) -> tuple[int, ...]:
    return tuple(int(np.clip(c + rng.randint(-amount, amount), 0, 255)) for c in bgr)


def _guilloche(rng: random.Random, nrng: np.random.Generator, tint: np.ndarray,
               ink: np.ndarray) -> np.ndarray:
    """Pale tinted paper with interfering wave lines and a rosette, float32 BGR."""
    h, w = CARD_H, CARD_W
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[:] = tint
    # A soft diagonal colour gradient across the card.
    grad = (xx / w * rng.uniform(-1, 1) + yy / h * rng.uniform(-1, 1)).astype(np.float32)
    img += grad[..., None] * np.array([rng.uniform(-8, 8) for _ in range(3)], np.float32)
    lines = np.zeros((h, w), np.float32)
    for _ in range(rng.randint(2, 4)):
        period = rng.uniform(9, 22)
        amp = rng.uniform(10, 40)
        fx = rng.uniform(0.004, 0.02)
        phase = rng.uniform(0, 2 * math.pi)
        angle = rng.uniform(-0.6, 0.6)
        u = yy * math.cos(angle) + xx * math.sin(angle)
        v = xx * math.cos(angle) - yy * math.sin(angle)
        wave = np.sin((u + amp * np.sin(v * fx + phase)) * (2 * math.pi / period))
        lines = np.maximum(lines, np.clip((np.abs(wave) - 0.93) / 0.07, 0, 1))
    cx, cy = rng.uniform(0.3, 0.8) * w, rng.uniform(0.3, 0.7) * h
    r = np.hypot(xx - cx, yy - cy)
    theta = np.arctan2(yy - cy, xx - cx)
    petals = rng.randint(8, 24)
    rose = np.sin(r / rng.uniform(5, 9) + rng.uniform(2, 6) * np.sin(theta * petals))
    fade = np.exp(-((r / (0.35 * w)) ** 2))
    lines = np.maximum(lines, np.clip((np.abs(rose) - 0.9) / 0.1, 0, 1) * fade)
    strength = rng.uniform(0.12, 0.35)
    img = img * (1 - strength * lines[..., None]) + ink * (strength * lines[..., None])
    img += nrng.normal(0, 1.2, (h, w, 1)).astype(np.float32)
    return img


def _rounded_alpha() -> np.ndarray:
    alpha = np.zeros((CARD_H, CARD_W), np.uint8)
    r = round(CORNER_MM * PX_PER_MM)
    cv2.rectangle(alpha, (r, 0), (CARD_W - 1 - r, CARD_H - 1), 255, -1)
    cv2.rectangle(alpha, (0, r), (CARD_W - 1, CARD_H - 1 - r), 255, -1)
    for cx, cy in ((r, r), (CARD_W - 1 - r, r), (r, CARD_H - 1 - r),
                   (CARD_W - 1 - r, CARD_H - 1 - r)):
        cv2.circle(alpha, (cx, cy), r, 255, -1, cv2.LINE_AA)
    return alpha


def _text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str,
          font: ImageFont.FreeTypeFont, fill: tuple[int, ...], spacing: float = 0.0) -> Box:
    """Draw ``text`` left-middle anchored at ``xy`` (letter-spaced if asked); return its box."""
    x, y = xy
    x0 = x
    top, bottom = 10**9, -(10**9)
    for ch in text:
        draw.text((x, y), ch, font=font, fill=fill, anchor="lm")
        b = draw.textbbox((x, y), ch, font=font, anchor="lm")
        top, bottom = min(top, b[1]), max(bottom, b[3])
        x += font.getlength(ch) + spacing
    return int(x0), int(top), int(x - spacing), int(bottom)


def _portrait(rng: random.Random, nrng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """A procedural head-and-shoulders photo on a light background (RGBA, soft edges)."""
    w, h = size
    bg = tuple(rng.randint(225, 250) for _ in range(3))
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    skin = (rng.randint(200, 240), rng.randint(160, 200), rng.randint(130, 170))
    hair = tuple([rng.randint(15, 60)] * 3)
    cloth = rng.choice(((30, 35, 45), (20, 20, 25), (60, 70, 100), (240, 240, 240),
                        (110, 30, 40)))
    cx = w / 2 + rng.uniform(-0.03, 0.03) * w
    head_w, head_h = w * rng.uniform(0.44, 0.52), h * rng.uniform(0.46, 0.52)
    top = h * rng.uniform(0.07, 0.11)
    shoulder = top + head_h * rng.uniform(1.12, 1.22)
    # Shoulders and neck.
    d.ellipse((cx - w * 0.66, shoulder, cx + w * 0.66, shoulder + h * 0.7), fill=cloth)
    d.rectangle((cx - head_w * 0.2, top + head_h * 0.8, cx + head_w * 0.2, shoulder + h * 0.05),
                fill=skin)
    d.polygon([(cx - head_w * 0.2, shoulder + h * 0.03), (cx + head_w * 0.2, shoulder + h * 0.03),
               (cx, shoulder + h * 0.1)], fill=skin)
    # Hair behind, head, hair on top.
    long_hair = rng.random() < 0.5
    if long_hair:
        d.rounded_rectangle((cx - head_w * 0.62, top - head_h * 0.05, cx + head_w * 0.62,
                             top + head_h * 1.25), radius=int(head_w * 0.4), fill=hair)
    d.ellipse((cx - head_w / 2, top, cx + head_w / 2, top + head_h), fill=skin)
    d.chord((cx - head_w * 0.54, top - head_h * 0.06, cx + head_w * 0.54, top + head_h * 0.62),
            180, 360, fill=hair)
    ey = top + head_h * 0.5
    for side in (-1, 1):
        ex = cx + side * head_w * 0.2
        d.ellipse((ex - head_w * 0.07, ey - head_h * 0.025, ex + head_w * 0.07,
                   ey + head_h * 0.03), fill=(250, 250, 250))
        d.ellipse((ex - head_w * 0.035, ey - head_h * 0.025, ex + head_w * 0.035,
                   ey + head_h * 0.03), fill=(35, 25, 20))
        d.line((ex - head_w * 0.09, ey - head_h * 0.08, ex + head_w * 0.08, ey - head_h * 0.09),
               fill=hair, width=max(2, int(head_h * 0.025)))
    shade = tuple(max(0, c - 35) for c in skin)
    d.line((cx, ey + head_h * 0.05, cx - head_w * 0.04, ey + head_h * 0.18), fill=shade,
           width=max(2, int(head_w * 0.02)))
    d.arc((cx - head_w * 0.13, ey + head_h * 0.18, cx + head_w * 0.13, ey + head_h * 0.3), 20,
          160, fill=(150, 70, 70), width=max(2, int(head_h * 0.02)))
    arr = np.asarray(img).astype(np.float32)
    arr += nrng.normal(0, 2.0, arr.shape).astype(np.float32)
    arr = cv2.GaussianBlur(arr, (0, 0), 1.2)
    grey = arr.mean(axis=2, keepdims=True)
    arr = grey + (arr - grey) * rng.uniform(0.5, 0.9)  # printed portraits are muted
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _print_colours(rng: random.Random) -> dict[str, tuple[int, ...]]:
    """RGB inks for labels, values and the emblem; brightness/saturation randomised."""
    label = (rng.randint(0, 40), rng.randint(80, 130), rng.randint(140, 190))
    value = (rng.randint(0, 45),) * 3
    red = (rng.randint(180, 225), rng.randint(20, 60), rng.randint(20, 60))
    lift = rng.uniform(-15, 25)  # faded or dark print
    sat = rng.uniform(0.6, 1.15)

    def adjust(c: tuple[int, ...]) -> tuple[int, ...]:
        mean = sum(c) / 3
        return tuple(int(np.clip(mean + (v - mean) * sat + lift, 0, 255)) for v in c)

    return {"label": adjust(label), "value": adjust(value), "red": adjust(red)}


def _card_tint(rng: random.Random, side: str, light: bool = False) -> np.ndarray:
    """BGR paper tint: pale blue/cyan/pink/cream, a little darker unless ``light``."""
    hue = rng.choice(((236, 242, 232), (244, 236, 226), (232, 236, 246), (240, 244, 244),
                      (226, 240, 238)))
    base = np.array(hue, np.float32) - (0 if light else rng.uniform(0, 22))
    if side == "back":
        base += np.array([rng.uniform(-6, 0), rng.uniform(-4, 2), rng.uniform(0, 6)], np.float32)
    return np.clip(base, 0, 255)


def _wrap(text: str, per_line: int, max_lines: int = 3) -> list[str]:
    lines = [text[i:i + per_line] for i in range(0, len(text), per_line)]
    return lines[:max_lines]


def _emblem(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float,
            red: tuple[int, ...], rng: random.Random) -> None:
    """A red emblem-like device: toothed ring, disc, a large star and four small ones, a gate."""
    teeth = rng.randint(18, 28)
    pts = []
    for i in range(teeth * 2):
        a = math.pi * i / teeth
        rr = r * (1.0 if i % 2 == 0 else 0.9)
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    draw.polygon(pts, fill=red)
    pale = tuple(min(255, c + 40) for c in red)
    draw.ellipse((cx - r * 0.8, cy - r * 0.8, cx + r * 0.8, cy + r * 0.8), fill=pale)
    draw.ellipse((cx - r * 0.72, cy - r * 0.72, cx + r * 0.72, cy + r * 0.72), fill=red)
    gold = (235, rng.randint(190, 215), rng.randint(60, 110))

    def star(x: float, y: float, s: float, rot: float) -> None:
        p = []
        for k in range(10):
            a = rot + math.pi * k / 5 - math.pi / 2
            rr = s if k % 2 == 0 else s * 0.4
            p.append((x + rr * math.cos(a), y + rr * math.sin(a)))
        draw.polygon(p, fill=gold)

    star(cx - r * 0.25, cy - r * 0.32, r * 0.2, 0)
    for k, ang in enumerate((-60, -30, 0, 30)):
        a = math.radians(ang - 10)
        star(cx - r * 0.25 + r * 0.38 * math.cos(a), cy - r * 0.32 + r * 0.38 * math.sin(a),
             r * 0.07, 0.3 * k)
    # Gate: a roof and pillars.
    gy = cy + r * 0.15
    draw.rectangle((cx - r * 0.45, gy, cx + r * 0.45, gy + r * 0.07), fill=gold)
    draw.polygon([(cx - r * 0.55, gy), (cx + r * 0.55, gy), (cx + r * 0.4, gy - r * 0.1),
                  (cx - r * 0.4, gy - r * 0.1)], fill=gold)
    for k in range(5):
        x = cx - r * 0.36 + k * r * 0.18
        draw.rectangle((x - r * 0.03, gy + r * 0.07, x + r * 0.03, gy + r * 0.32), fill=gold)
    draw.rectangle((cx - r * 0.5, gy + r * 0.32, cx + r * 0.5, gy + r * 0.38), fill=gold)


def _scale_font(face: Face, mm: float) -> ImageFont.FreeTypeFont:
    return _font(face, max(8, round(mm * PX_PER_MM)))


def draw_card(person: Person, side: str, rng: random.Random, nrng: np.random.Generator, *,
              light: bool = False) -> CardArt:
    """Draw one side of ``person``'s card. ``light``: a pale, bright card stock."""
    inks = _print_colours(rng)
    tint = _card_tint(rng, side, light)
    ink_bgr = tint - np.array([rng.uniform(10, 45) for _ in range(3)], np.float32)
    base = _guilloche(rng, nrng, tint, ink_bgr)
    img = Image.fromarray(cv2.cvtColor(np.clip(base, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(img)
    w, h = CARD_W, CARD_H
    text = (person.name + person.address + "姓名性别民族出生年月日住址公民身份号码"
            + person.ethnicity + person.sex) if side == "front" else (
        person.authority + "中华人民共和国居民身份证签发机关有效期限长期")
    label_face = pick_face(rng, text)
    value_face = label_face if rng.random() < 0.6 else pick_face(rng, text)
    fields: dict[str, Box] = {}

    def jx() -> float:
        return rng.uniform(-0.012, 0.012) * w

    def jy() -> float:
        return rng.uniform(-0.012, 0.012) * h

    label_f = _scale_font(label_face, rng.uniform(2.2, 2.7))
    value_f = _scale_font(value_face, rng.uniform(2.9, 3.4))
    label_c, value_c = inks["label"], inks["value"]
    sp = rng.uniform(0.0, 0.6) * PX_PER_MM
    if side == "front":
        dx, dy = jx(), jy()  # the whole block shifts; rows jitter a little on top
        lx = 0.06 * w + dx
        vx = 0.18 * w + dx
        name_f = _scale_font(value_face, rng.uniform(3.4, 4.0))
        y = 0.17 * h + dy + jy() * 0.3
        _text(draw, (lx, y), "姓名", label_f, label_c, sp)
        fields["name"] = _text(draw, (vx, y), person.name, name_f, value_c, sp * 0.5)
        y = 0.29 * h + dy + jy() * 0.3
        _text(draw, (lx, y), "性别", label_f, label_c, sp)
        fields["sex"] = _text(draw, (vx, y), person.sex, value_f, value_c)
        nx = 0.33 * w + dx
        _text(draw, (nx, y), "民族", label_f, label_c, sp)
        fields["ethnicity"] = _text(draw, (nx + 0.12 * w, y), person.ethnicity, value_f, value_c)
        y = 0.41 * h + dy + jy() * 0.3
        _text(draw, (lx, y), "出生", label_f, label_c, sp)
        b = person.birth_date
        x = vx
        parts = [(str(b.year), value_c), ("年", label_c), (str(b.month), value_c),
                 ("月", label_c), (str(b.day), value_c), ("日", label_c)]
        x0 = x
        for part, colour in parts:
            font = value_f if colour == value_c else label_f
            box = _text(draw, (x, y), part, font, colour)
            x = box[2] + 0.012 * w
        half = value_f.size * 0.6
        fields["birth"] = (int(x0), int(y - half), int(x), int(y + half))
        y = 0.535 * h + dy + jy() * 0.3
        _text(draw, (lx, y), "住址", label_f, label_c, sp)
        per_line = max(8, int((0.60 * w - vx) / value_f.getlength("国")))
        line_gap = rng.uniform(0.068, 0.078) * h
        boxes = []
        for k, line in enumerate(_wrap(person.address, per_line)):
            boxes.append(_text(draw, (vx, y + k * line_gap), line, value_f, value_c))
        fields["address"] = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                             max(b[2] for b in boxes), max(b[3] for b in boxes))
        y = 0.86 * h + dy + jy() * 0.3
        _text(draw, (lx, y), "公民身份号码", label_f, label_c, sp * 0.3)
        num_x0 = 0.34 * w + dx + jx() * 0.3
        num_x1 = rng.uniform(0.88, 0.93) * w + dx
        pitch = (num_x1 - num_x0) / 18
        num_f, _ = _number_font(rng, value_face, round(pitch * rng.uniform(1.45, 1.7)))
        bold = rng.random() < 0.4
        top, bottom = 10**9, -(10**9)
        for k, ch in enumerate(person.id_number):
            cx = num_x0 + (k + 0.5) * pitch
            draw.text((cx, y), ch, font=num_f, fill=value_c, anchor="mm",
                      stroke_width=1 if bold else 0, stroke_fill=value_c)
            bb = draw.textbbox((cx, y), ch, font=num_f, anchor="mm")
            top, bottom = min(top, bb[1]), max(bottom, bb[3])
        fields["id_number"] = (int(num_x0), int(top), int(num_x1), int(bottom))
        # Portrait on the right.
        px0 = int((0.62 + rng.uniform(-0.01, 0.01)) * w)
        py0 = int((0.11 + rng.uniform(0, 0.02)) * h)
        pw, ph = int(0.3 * w), int(0.66 * h)
        portrait = _portrait(rng, nrng, (pw, ph))
        mask = np.full((ph, pw), 255, np.float32)
        edge = max(4, pw // 14)
        ramp = np.minimum(np.arange(pw), np.arange(pw)[::-1])[None, :]
        vramp = np.minimum(np.arange(ph), np.arange(ph)[::-1])[:, None]
        mask = np.clip(np.minimum(ramp, vramp) / edge, 0, 1) * 255 * rng.uniform(0.85, 1.0)
        img.paste(portrait, (px0, py0), Image.fromarray(mask.astype(np.uint8)))
        fields["portrait"] = (px0, py0, px0 + pw, py0 + ph)
    else:
        dx, dy = jx(), jy()
        ex, ey, er = 0.155 * w + dx, 0.25 * h + dy, rng.uniform(0.085, 0.1) * w
        _emblem(draw, ex, ey, er, inks["red"], rng)
        fields["emblem"] = (int(ex - er), int(ey - er), int(ex + er), int(ey + er))
        title_face = pick_face(rng, "中华人民共和国居民身份证")
        t1 = _scale_font(title_face, rng.uniform(4.4, 5.2))
        x0, x1 = (0.37 + rng.uniform(-0.01, 0.02)) * w + dx, (0.89 + rng.uniform(-0.02, 0.01)) * w
        spacing = (x1 - x0 - t1.getlength("中华人民共和国")) / 6
        y = 0.2 * h + dy + jy() * 0.3
        title_c = inks["value"] if rng.random() < 0.5 else tuple(
            int(c * 0.6) for c in inks["label"])
        fields["title"] = _text(draw, (x0, y), "中华人民共和国", t1, title_c, spacing)
        t2 = _scale_font(title_face, rng.uniform(7.2, 8.4))
        spacing = (x1 - x0 - t2.getlength("居民身份证")) / 4
        y = 0.4 * h + dy + jy() * 0.3
        fields["title2"] = _text(draw, (x0, y), "居民身份证", t2, title_c, spacing)
        # A faint wall-like line drawing between the title and the fields.
        wall_y = 0.58 * h + dy
        pale = tuple(int(c * 0.15 + t * 0.85)
                     for c, t in zip(inks["label"], tint[::-1], strict=True))
        for k in range(3):
            pts = [(x, wall_y + k * 8 + 10 * math.sin(x / rng.uniform(40, 90)))
                   for x in np.linspace(0.3 * w, 0.95 * w, 40)]
            draw.line(pts, fill=pale, width=2)
        lx, vx = 0.18 * w + dx, 0.38 * w + dx
        y = 0.73 * h + dy + jy() * 0.3
        _text(draw, (lx, y), "签发机关", label_f, label_c, sp * 0.3)
        fields["authority"] = _text(draw, (vx, y), person.authority, value_f, value_c)
        y = 0.86 * h + dy + jy() * 0.3
        _text(draw, (lx, y), "有效期限", label_f, label_c, sp * 0.3)
        num_f, _ = _number_font(rng, value_face, round(value_f.size * rng.uniform(0.95, 1.1)))
        vt = person.validity_text
        if vt.endswith("长期"):
            box = _text(draw, (vx, y), vt[:-2], num_f, value_c)
            box2 = _text(draw, (box[2] + 2, y), "长期", value_f, value_c)
            box = (box[0], min(box[1], box2[1]), box2[2], max(box[3], box2[3]))
        else:
            box = _text(draw, (vx, y), vt, num_f, value_c)
        fields["validity"] = box
    out = cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)
    return CardArt(out, _rounded_alpha(), fields, label_face.family, side)
