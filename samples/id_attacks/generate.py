"""Write simulated capture attacks with the risk each should raise.

``python -m samples.id_attacks.generate OUT_DIR --count N --seed S`` writes ``count``
images per attack and ``manifest.json`` (``attack``, ``side``, ``expected_risk``,
``detail``). Card artwork and scenes come from ``samples.id_random`` (its own artwork,
fonts and backgrounds, independent of ``samples.id_card``); each attack then changes
the card, the scene or the file the way the attack does.

Attacks (``ATTACKS``): ``screenshot`` (a card inside a web page, PNG at a screen size,
browser chrome), ``screen_photo`` (the card shown on a screen with a subpixel grid and
gamma, photographed in perspective: moire, bezel), ``grey_copy`` (a greyscale copy on
paper texture), ``colour_copy`` (a colour copy: faded colour, toner grain, paper),
``edited`` (the name repainted with other text and an editor's EXIF Software),
``two_cards`` (two cards in one photo), ``finger`` (a finger over the name or the
number), ``temporary_front`` / ``temporary_back`` (临时居民身份证 layouts), ``portrait_blank``,
``portrait_object`` and ``portrait_two_faces``.
"""

from __future__ import annotations

import argparse
import io
import json
import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from samples.id_random.card import CARD_H, CARD_W, CardArt, draw_card, pick_face
from samples.id_random.generate import TODAY, good_shot
from samples.id_random.people import Person, make_person
from samples.id_random.scene import background, photograph

Attack = tuple[bytes, str, dict[str, Any]]  # image, side, detail

EDITORS = (
    "Adobe Photoshop 25.4 (Windows)",
    "Adobe Photoshop CC 2019 (Macintosh)",
    "美图秀秀",
    "GIMP 2.10.36",
    "Snapseed 2.0",
    "PicsArt",
    "Meitu",
)


def _font(rng: random.Random, text: str, size: int) -> ImageFont.FreeTypeFont:
    face = pick_face(rng, text)
    return ImageFont.truetype(face.path, size, index=face.index)


def _card(rng: random.Random, nrng: np.random.Generator, side: str
          ) -> tuple[Person, CardArt]:
    person = make_person(rng, TODAY)
    return person, draw_card(person, side, rng, nrng)


def _photo(art: CardArt, rng: random.Random, nrng: np.random.Generator, **changes: Any
           ) -> tuple[bytes, Any]:
    from dataclasses import replace

    shot = replace(good_shot("good", rng, 2000), messenger=False, exif_orientation=1, **changes)
    return photograph(art, shot, rng, nrng)


def _decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def _jpeg(bgr: np.ndarray, quality: int, software: str | None = None,
          camera: bool = True) -> bytes:
    image = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    exif = Image.Exif()
    if camera:
        exif[0x010F], exif[0x0110] = "HUAWEI", "ELS-AN00"
    extra: dict[str, Any] = {}
    if software and software.isascii():
        exif[0x0131] = software
    elif software:  # EXIF strings are ASCII: Chinese apps name themselves in XMP
        extra["xmp"] = (
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
            '02/22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
            f'xmp:CreatorTool="{software}"/></rdf:RDF></x:xmpmeta>'
        ).encode()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, exif=exif.tobytes(), **extra)
    return buffer.getvalue()


def _homography(truth: Any) -> np.ndarray:
    src = np.array([[0, 0], [CARD_W, 0], [CARD_W, CARD_H], [0, CARD_H]], np.float32)
    return cv2.getPerspectiveTransform(src, np.array(truth.corners, np.float32))


def _map(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float64), h).reshape(-1, 2)


def _paper(nrng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    grain = cv2.GaussianBlur(nrng.standard_normal(shape).astype(np.float32), (0, 0), 1.2)
    fibre = cv2.GaussianBlur(nrng.standard_normal(shape).astype(np.float32), (0, 0), 6.0)
    return 1.0 + 0.035 * grain + 0.05 * fibre


# --- attacks ------------------------------------------------------------------------


def screenshot(rng: random.Random, nrng: np.random.Generator) -> Attack:
    side = rng.choice(("front", "back"))
    _, art = _card(rng, nrng, side)
    w, h = rng.choice(((1920, 1080), (1366, 768), (1440, 900), (1170, 2532), (1080, 2400),
                       (2560, 1440)))
    page = np.full((h, w, 3), rng.choice((255, 250, 246)), np.uint8)
    bar = int(h * rng.uniform(0.05, 0.09))
    page[:bar] = rng.choice(((222, 222, 222), (245, 240, 235), (60, 60, 60)))
    cv2.rectangle(page, (int(0.2 * w), bar // 4), (int(0.8 * w), bar * 3 // 4),
                  (255, 255, 255), -1)
    for k in range(rng.randint(3, 8)):  # text lines of the page
        y = bar + 30 + k * 28
        cv2.rectangle(page, (40, y), (40 + rng.randint(150, w // 2), y + 10), (190, 190, 190), -1)
    card_w = int(min(w * rng.uniform(0.4, 0.75), 0.9 * w))
    card_h = round(card_w * CARD_H / CARD_W)
    card = cv2.resize(art.image, (card_w, card_h), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(art.alpha, (card_w, card_h))[..., None] / 255.0
    x0 = (w - card_w) // 2
    y0 = min(h - card_h - 10, bar + 60 + rng.randint(0, max(1, (h - bar - card_h) // 3)))
    roi = page[y0 : y0 + card_h, x0 : x0 + card_w]
    roi[:] = (roi * (1 - alpha) + card * alpha).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(cv2.cvtColor(page, cv2.COLOR_BGR2RGB)).save(buffer, "PNG")
    return buffer.getvalue(), side, {"screen": [w, h]}


def screen_photo(rng: random.Random, nrng: np.random.Generator) -> Attack:
    """The card shown on a screen: RGB subpixel stripes, gamma, a dark bezel, then
    photographed in perspective (the camera's sampling of the grid makes the moire)."""
    side = rng.choice(("front", "back"))
    _, art = _card(rng, nrng, side)
    sw, sh = rng.choice(((640, 400), (720, 450), (560, 350)))  # screen pixels on show
    screen = np.full((sh, sw, 3), 245, np.uint8)
    cw = int(sw * rng.uniform(0.8, 0.92))
    ch = round(cw * CARD_H / CARD_W)
    card = cv2.resize(art.image, (cw, ch), interpolation=cv2.INTER_AREA)
    screen[(sh - ch) // 2 : (sh - ch) // 2 + ch, (sw - cw) // 2 : (sw - cw) // 2 + cw] = card
    gamma = rng.uniform(0.8, 1.2)
    lit = 255.0 * (screen.astype(np.float32) / 255.0) ** gamma
    k = 3  # each screen pixel: R, G, B stripes with a dark gap below
    sub = np.zeros((sh * k, sw * k, 3), np.float32)
    for i, channel in enumerate((2, 1, 0)):  # BGR order: stripe 0 red, 1 green, 2 blue
        sub[:, i::k, channel] = np.repeat(np.repeat(lit[:, :, channel], k, 0), 1, 1)
    sub[k - 1 :: k] *= 0.35
    sub *= 2.2
    bezel = int(0.06 * sub.shape[1])
    framed = np.full((sub.shape[0] + 2 * bezel, sub.shape[1] + 2 * bezel, 3),
                     rng.uniform(8, 30), np.float32)
    framed[bezel:-bezel, bezel:-bezel] = sub
    fw, fh = rng.choice(((1600, 1200), (2000, 1500), (1920, 1080)))
    scene = background(rng.choice(("wood_dark", "desk", "dark")), (fw, fh), rng, nrng)
    # the screen fills most of the frame, in perspective
    span = rng.uniform(0.75, 0.95)
    cx, cy = fw / 2 + rng.uniform(-0.03, 0.03) * fw, fh / 2 + rng.uniform(-0.03, 0.03) * fh
    half_w = span * fw / 2
    half_h = half_w * framed.shape[0] / framed.shape[1]
    if half_h > 0.47 * fh:
        half_w *= 0.47 * fh / half_h
        half_h = 0.47 * fh
    j = 0.05 * half_w
    dst = np.array([[cx - half_w + rng.uniform(-j, j), cy - half_h + rng.uniform(-j, j)],
                    [cx + half_w + rng.uniform(-j, j), cy - half_h + rng.uniform(-j, j)],
                    [cx + half_w + rng.uniform(-j, j), cy + half_h + rng.uniform(-j, j)],
                    [cx - half_w + rng.uniform(-j, j), cy + half_h + rng.uniform(-j, j)]],
                   np.float32)
    src = np.array([[0, 0], [framed.shape[1], 0], [framed.shape[1], framed.shape[0]],
                    [0, framed.shape[0]]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(framed, m, (fw, fh), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones(framed.shape[:2], np.float32), m, (fw, fh))[..., None]
    img = scene * (1 - mask) + warped * mask
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 0.8))
    img += nrng.normal(0, rng.uniform(1.0, 3.0), img.shape).astype(np.float32)
    bgr = np.clip(img, 0, 255).astype(np.uint8)
    return _jpeg(bgr, rng.randint(80, 94)), side, {"screen": [sw, sh], "gamma": round(gamma, 2)}


def _copy_art(art: CardArt, nrng: np.random.Generator, *, colour: bool,
              rng: random.Random) -> CardArt:
    img = art.image.astype(np.float32)
    if colour:
        grey = img.mean(axis=2, keepdims=True)
        img = grey + (img - grey) * rng.uniform(0.25, 0.45)  # copiers lose most colour
        img = 255 - (255 - img) * rng.uniform(0.8, 0.95)
    else:
        grey = cv2.cvtColor(art.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
        grey = np.clip((grey - 128) * rng.uniform(1.1, 1.4) + 140, 0, 255)  # copier contrast
        img = np.repeat(grey[..., None], 3, axis=2)
    toner = nrng.normal(0, 6, img.shape[:2]).astype(np.float32)[..., None]
    img = (img + toner) * _paper(nrng, img.shape[:2])[..., None]
    paper = np.array([rng.uniform(236, 250)] * 3, np.float32)
    img = np.minimum(img, paper)
    alpha = np.full_like(art.alpha, 255)  # cut from a sheet: square corners
    return CardArt(np.clip(img, 0, 255).astype(np.uint8), alpha, art.fields, art.font, art.side)


def grey_copy(rng: random.Random, nrng: np.random.Generator) -> Attack:
    side = rng.choice(("front", "back"))
    _, art = _card(rng, nrng, side)
    data, _ = _photo(_copy_art(art, nrng, colour=False, rng=rng), rng, nrng)
    return data, side, {}


def colour_copy(rng: random.Random, nrng: np.random.Generator) -> Attack:
    side = rng.choice(("front", "back"))
    _, art = _card(rng, nrng, side)
    data, _ = _photo(_copy_art(art, nrng, colour=True, rng=rng), rng, nrng)
    return data, side, {}


def edited(rng: random.Random, nrng: np.random.Generator) -> Attack:
    """The name repainted in an editor: its box filled with the paper's colour, another
    name typed over it, saved with the editor's EXIF Software."""
    person, art = _card(rng, nrng, "front")
    data, truth = _photo(art, rng, nrng, tilt=rng.uniform(0, 8))
    img = _decode(data)
    h = _homography(truth)
    x0, y0, x1, y1 = art.fields["name"]
    pad = 0.3 * (y1 - y0)
    box = np.array([[x0 - pad, y0 - pad], [x1 + 2 * pad, y0 - pad], [x1 + 2 * pad, y1 + pad],
                    [x0 - pad, y1 + pad]])
    quad = _map(h, box).astype(np.int32)
    ring = np.zeros(img.shape[:2], np.uint8)
    cv2.fillConvexPoly(ring, quad, 1)
    around = cv2.dilate(ring, np.ones((15, 15), np.uint8)) - ring
    paper = np.percentile(img[around > 0], 70, axis=0)
    cv2.fillConvexPoly(img, quad, tuple(float(v) for v in paper))
    new_name = rng.choice(("王建国", "李秀英", "张伟", "刘洋", "陈静"))
    size = int(max(12, np.linalg.norm(quad[3] - quad[0]) * 0.65))
    pil = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    ImageDraw.Draw(pil).text((int(quad[0][0] + pad), int(quad[0][1] + 0.15 * size)), new_name,
                             font=_font(rng, new_name, size), fill=(30, 30, 30))
    img = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
    software = rng.choice(EDITORS)
    return _jpeg(img, rng.randint(88, 97), software), "front", {
        "software": software, "field": "name", "printed": person.name}


def two_cards(rng: random.Random, nrng: np.random.Generator) -> Attack:
    side = rng.choice(("front", "back"))
    arts = [_card(rng, nrng, side)[1] for _ in range(2)]
    fw, fh = rng.choice(((2000, 1500), (1600, 1200), (1920, 1080)))
    img = background(rng.choice(("wood_light", "wood_dark", "desk", "fabric", "dark")),
                     (fw, fh), rng, nrng)
    card_w = fw * rng.uniform(0.36, 0.44)
    for k, art in enumerate(arts):
        cx = fw * (0.27 + 0.46 * k) + rng.uniform(-0.02, 0.02) * fw
        cy = fh * 0.5 + rng.uniform(-0.12, 0.12) * fh
        angle = np.radians(rng.gauss(0, 4))
        half = np.array([card_w / 2, card_w * CARD_H / CARD_W / 2])
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        dst = (corners @ rot.T + [cx, cy]).astype(np.float32)
        dst += nrng.normal(0, 0.01 * card_w, dst.shape).astype(np.float32)
        src = np.array([[0, 0], [CARD_W, 0], [CARD_W, CARD_H], [0, CARD_H]], np.float32)
        m = cv2.getPerspectiveTransform(src, dst)
        layer = cv2.warpPerspective(art.image.astype(np.float32), m, (fw, fh))
        alpha = cv2.warpPerspective(art.alpha.astype(np.float32) / 255, m, (fw, fh))[..., None]
        img = img * (1 - alpha) + layer * alpha * rng.uniform(0.8, 1.0)
    img += nrng.normal(0, 2.0, img.shape).astype(np.float32)
    bgr = np.clip(img, 0, 255).astype(np.uint8)
    return _jpeg(bgr, rng.randint(80, 94)), side, {}


def finger(rng: random.Random, nrng: np.random.Generator) -> Attack:
    """A fingertip from the card's edge over part of the name or the number."""
    _, art = _card(rng, nrng, "front")
    data, truth = _photo(art, rng, nrng)
    img = _decode(data).astype(np.float32)
    h = _homography(truth)
    target = rng.choice(("name", "id_number"))
    x0, y0, x1, y1 = art.fields[target]
    # tip over 30-60 % of the field, coming from below (number) or from the left (name)
    if target == "id_number":
        tip = np.array([x0 + rng.uniform(0.3, 0.7) * (x1 - x0), y0 - 0.2 * (y1 - y0)])
        base = np.array([tip[0] + rng.uniform(-60, 60), CARD_H + 200])
    else:
        tip = np.array([x0 + rng.uniform(0.4, 0.7) * (x1 - x0), (y0 + y1) / 2])
        base = np.array([-250, tip[1] + rng.uniform(-40, 120)])
    width = rng.uniform(0.11, 0.16) * CARD_W  # a finger is about 15-18 mm wide
    axis = base - tip
    length = float(np.linalg.norm(axis))
    angle = np.degrees(np.arctan2(axis[1], axis[0]))
    centre = tip + axis / 2
    outline = cv2.ellipse2Poly((int(centre[0]), int(centre[1])), (int(length / 2 + width / 2),
                               int(width / 2)), int(angle), 0, 360, 4).astype(np.float64)
    mask = np.zeros(img.shape[:2], np.float32)
    cv2.fillPoly(mask, [_map(h, outline).astype(np.int32)], 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), 2.0)[..., None]
    skin = np.array([rng.uniform(120, 175), rng.uniform(150, 195), rng.uniform(200, 240)],
                    np.float32) * rng.uniform(0.7, 1.0)
    shade = 0.85 + 0.15 * cv2.GaussianBlur(nrng.standard_normal(img.shape[:2]).astype(
        np.float32), (0, 0), 25)[..., None] * 3
    img = img * (1 - mask) + (skin * shade) * mask
    img += nrng.normal(0, 1.5, img.shape).astype(np.float32)
    return _jpeg(np.clip(img, 0, 255).astype(np.uint8), rng.randint(80, 94)), "front", {
        "field": target}


def _repaint(art: CardArt, box: tuple[int, int, int, int], lines: list[str],
             rng: random.Random) -> None:
    x0, y0, x1, y1 = box
    patch = art.image[y0:y1, x0:x1]
    patch[:] = np.median(patch.reshape(-1, 3), axis=0).astype(np.uint8)
    pil = Image.fromarray(cv2.cvtColor(art.image, cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(pil)
    size = int(0.052 * CARD_H * 1.6)
    for k, text in enumerate(lines):
        draw.text((x0, y0 + k * int(size * 1.3)), text, font=_font(rng, text, size),
                  fill=(20, 20, 20))
    art.image[:] = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)


def temporary_front(rng: random.Random, nrng: np.random.Generator) -> Attack:
    """A temporary card's portrait side: every item there, 3 months of validity."""
    person, art = _card(rng, nrng, "front")
    start = TODAY - timedelta(days=rng.randint(0, 60))
    end = start + timedelta(days=rng.choice((90, 91, 92)))
    x0, y0, _, _ = art.fields["address"]
    box = (x0 - 4, y0 - 4, int(0.6 * CARD_W), int(0.74 * CARD_H))
    _repaint(art, box, [f"有效期限 {start:%Y.%m.%d}-{end:%Y.%m.%d}",
                        f"签发机关 {person.authority}"], rng)
    data, _ = _photo(art, rng, nrng)
    return data, "front", {"validity": f"{start}..{end}"}


def temporary_back(rng: random.Random, nrng: np.random.Generator) -> Attack:
    """A temporary card's emblem side: the title reads 临时居民身份证."""
    _, art = _card(rng, nrng, "back")
    x0, y0, x1, y1 = art.fields["title2"]
    pad = int(0.15 * (y1 - y0))
    patch = art.image[y0 - pad : y1 + pad, x0 - pad : x1 + pad]
    ink = patch.reshape(-1, 3)[np.argmin(patch.reshape(-1, 3).sum(axis=1))]
    patch[:] = np.median(patch.reshape(-1, 3), axis=0).astype(np.uint8)
    pil = Image.fromarray(cv2.cvtColor(art.image, cv2.COLOR_BGR2RGB))
    title = "临时居民身份证"
    size = int((y1 - y0) * 0.95)
    ImageDraw.Draw(pil).text((x0 - 2 * size, y0), title, font=_font(rng, title, size),
                             fill=tuple(int(v) for v in ink[::-1]))
    art.image[:] = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
    data, _ = _photo(art, rng, nrng)
    return data, "back", {}


def _portrait_attack(kind: str) -> Callable[[random.Random, np.random.Generator], Attack]:
    def attack(rng: random.Random, nrng: np.random.Generator) -> Attack:
        _, art = _card(rng, nrng, "front")
        x0, y0, x1, y1 = art.fields["portrait"]
        region = art.image[y0:y1, x0:x1]
        around = art.image[y0:y1, max(0, x0 - 30) : x0].reshape(-1, 3)
        paper = np.median(around, axis=0)
        if kind == "blank":
            region[:] = np.clip(paper + nrng.normal(0, 2, region.shape), 0, 255).astype(np.uint8)
        elif kind == "object":
            h, w = region.shape[:2]
            if rng.random() < 0.5:  # a landscape: sky over hills
                sky = np.linspace(0, 1, h)[:, None, None]
                region[:] = (np.array([235, 200, 150]) * (1 - sky) + np.array([250, 235, 210])
                             * sky).astype(np.uint8)
                hill = (h * (0.55 + 0.1 * np.sin(np.linspace(0, rng.uniform(3, 7), w)))).astype(
                    int)
                for x in range(w):
                    region[hill[x] :, x] = (60, 140, 70)
            else:  # an object: a bottle, a logo-like disc on a table
                region[:] = paper
                cv2.circle(region, (w // 2, h // 2), int(0.4 * w), (40, 90, 200), -1)
                cv2.rectangle(region, (0, int(0.8 * h)), (w, h), (70, 90, 120), -1)
        else:  # two faces side by side
            half = cv2.resize(region, (region.shape[1] // 2, region.shape[0] // 2))
            region[:] = paper
            top = region.shape[0] // 3
            region[top : top + half.shape[0], : half.shape[1]] = half
            region[top : top + half.shape[0], half.shape[1] : 2 * half.shape[1]] = half
        data, _ = _photo(art, rng, nrng)
        return data, "front", {"portrait": kind}

    return attack


# attack -> (maker, expected risk)
ATTACKS: dict[str, tuple[Callable[[random.Random, np.random.Generator], Attack], str]] = {
    "screenshot": (screenshot, "SCREEN_RECAPTURE"),
    "screen_photo": (screen_photo, "SCREEN_RECAPTURE"),
    "grey_copy": (grey_copy, "PHOTOCOPY"),
    "colour_copy": (colour_copy, "PHOTOCOPY"),
    "edited": (edited, "EDITED_IMAGE"),
    "two_cards": (two_cards, "MULTIPLE_CARDS"),
    "finger": (finger, "COVERED_FIELD"),
    "temporary_front": (temporary_front, "TEMPORARY_ID"),
    "temporary_back": (temporary_back, "TEMPORARY_ID"),
    "portrait_blank": (_portrait_attack("blank"), "PORTRAIT"),
    "portrait_object": (_portrait_attack("object"), "PORTRAIT"),
    "portrait_two_faces": (_portrait_attack("two_faces"), "PORTRAIT"),
}


def build_attack(attack: str, i: int, seed: int) -> tuple[dict[str, Any], bytes]:
    """Attack ``attack`` number ``i``: its manifest entry and its image."""
    rng = random.Random(f"{seed}:{attack}:{i}")
    nrng = np.random.default_rng([seed, i, sorted(ATTACKS).index(attack)])
    maker, risk = ATTACKS[attack]
    data, side, detail = maker(rng, nrng)
    ext = "png" if data[:4] == b"\x89PNG" else "jpg"
    name = f"{attack}_{i:03d}"
    return {"name": name, "file": f"{name}.{ext}", "attack": attack, "side": side,
            "expected_risk": risk, "detail": detail}, data


def generate(out: Path, count: int, seed: int, attacks: list[str] | None = None
             ) -> list[dict[str, Any]]:
    out.mkdir(parents=True, exist_ok=True)
    cases = []
    for attack in attacks or list(ATTACKS):
        for i in range(count):
            case, data = build_attack(attack, i, seed)
            (out / case["file"]).write_bytes(data)
            cases.append(case)
    (out / "manifest.json").write_text(
        json.dumps({"seed": seed, "today": str(TODAY), "cases": cases}, ensure_ascii=False,
                   indent=1), encoding="utf-8")
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=10, help="images per attack")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--attack", action="append", choices=sorted(ATTACKS))
    args = parser.parse_args(argv)
    cases = generate(args.out, args.count, args.seed, args.attack)
    print(f"wrote {len(cases)} attack images to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

