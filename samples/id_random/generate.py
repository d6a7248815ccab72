"""Write a domain-randomised set of two-sided resident-ID-card cases with ground truth.

``python -m samples.id_random.generate OUT_DIR --count N --seed S`` writes
``{case}_front.jpg``, ``{case}_back.jpg`` and ``manifest.json``. Case ``i`` draws everything
from ``random.Random(f"{seed}:{i}")`` and ``numpy.random.default_rng([seed, i])``, so a case
does not depend on how many others are generated. Cases are split into ``tune`` and
``heldout`` halves by a stable hash of their name.

This generator shares no code with ``samples.id_card``: its own artwork, fonts, colours,
backgrounds and framing, so a pipeline tuned on one can be measured on the other.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from samples.id_random.card import CARD_MM, CardArt, draw_card
from samples.id_random.people import make_person, other_name, other_number
from samples.id_random.scene import (
    Shot,
    fields_outside,
    photograph,
    place,
    polygon_area,
    visible_fraction,
)

TODAY = date(2026, 11, 30)
GOOD = ("good", "good_fill", "good_flat", "good_white_paper", "good_busy", "good_hand",
        "good_rotated", "good_bright", "good_near_edge")
DEFECTS = {
    "blurry": "BLURRY",
    "glare": "GLARE",
    "dark": "TOO_DARK",
    "overexposed": "OVEREXPOSED",
    "cut_off": "CARD_INCOMPLETE",
    "too_small": "CARD_TOO_SMALL",
    "no_card": "CARD_NOT_FOUND",
    "wrong_side": "WRONG_SIDE",
    "name_mismatch": "NAME_MISMATCH",
    "number_mismatch": "ID_NUMBER_MISMATCH",
    "expired": "EXPIRED",
}
CATEGORIES = GOOD + tuple(DEFECTS)
# 9 x 6 good : 11 x 4 defect = 54 : 44, about 55 % good.
WEIGHTS = {**{c: 6 for c in GOOD}, **{c: 4 for c in DEFECTS}}
FRAMES = (((1280, 960), 4), ((1600, 1200), 4), ((1920, 1080), 2), ((2048, 1536), 3),
          ((2592, 1944), 2), ((3264, 2448), 1), ((4000, 3000), 1))
ORDINARY_BACKGROUNDS = (("wood_light", 3), ("wood_dark", 2), ("desk", 2), ("fabric", 2),
                        ("dark", 2), ("white_paper", 1))


def split_of(name: str) -> str:
    """``tune`` or ``heldout``, from a stable hash of the case name."""
    return "tune" if hashlib.sha256(name.encode()).digest()[0] % 2 == 0 else "heldout"


def category_of(i: int, seed: int) -> str:
    """Category of case ``i``: blocks of 98 cases hold each category its weight's times, in an
    order shuffled per block, so any prefix of the set stays balanced."""
    block = [c for c in CATEGORIES for _ in range(WEIGHTS[c])]
    random.Random(f"{seed}:block{i // len(block)}").shuffle(block)
    return block[i % len(block)]


def _choice(rng: random.Random, options: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([o for o, _ in options], [w for _, w in options])[0]


def _frame(rng: random.Random, max_side: int | None, large: bool = False) -> tuple[int, int]:
    frames = FRAMES[3:] if large else FRAMES
    w, h = _choice(rng, frames)
    if rng.random() < 0.35:
        w, h = h, w
    return _shrink((w, h), max_side)


def _shrink(frame: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    w, h = frame
    if max_side and max(w, h) > max_side:
        s = max_side / max(w, h)
        w, h = round(w * s), round(h * s)
    return w, h


def ordinary_shot(rng: random.Random, max_side: int | None) -> Shot:
    """A good capture: readable, whole card, ordinary light; angles and framing vary."""
    frame = _frame(rng, max_side)
    rotation = rng.gauss(0, 5)
    if rng.random() < 0.1:
        rotation = rng.uniform(0, 360)
    elif frame[1] > frame[0] and rng.random() < 0.3:
        rotation += rng.choice((90, -90))
    tilt = rng.uniform(0, 15) if rng.random() < 0.7 else rng.uniform(15, 30)
    return Shot(
        frame=frame,
        background=_choice(rng, ORDINARY_BACKGROUNDS),
        rotation=rotation,
        tilt=tilt,
        tilt_dir=rng.uniform(0, 360),
        fill=rng.uniform(0.2, 0.7),
        margin=rng.uniform(0.03, 0.12),
        pos=(rng.random(), rng.random()),
        distance=rng.uniform(2.2, 5.0),
        shadow=0.0 if rng.random() < 0.4 else rng.uniform(0.15, 0.5),
        light_gradient=rng.uniform(0, 0.3),
        vignette=rng.uniform(0, 0.35),
        brightness=rng.uniform(105, 200),
        defocus_mm=rng.uniform(0, 0.05),
        noise=rng.uniform(1, 4),
        jpeg_quality=rng.randint(60, 95),
        exif_orientation=rng.choice((3, 6, 8)) if rng.random() < 0.1 else 1,
        messenger=rng.random() < 0.1,
    )


def _quad_ok(shot: Shot) -> tuple[np.ndarray, float, float]:
    quad = place(shot)
    w, h = shot.frame
    return quad, polygon_area(quad) / (w * h), visible_fraction(quad, shot.frame)


def _inside(quad: np.ndarray, frame: tuple[int, int]) -> bool:
    w, h = frame
    return bool((quad[:, 0] >= -0.01).all() and (quad[:, 0] <= w + 0.01).all()
                and (quad[:, 1] >= -0.01).all() and (quad[:, 1] <= h + 0.01).all())


def good_shot(category: str, rng: random.Random, max_side: int | None) -> Shot:
    """A capture for one of the good categories (also the 'other side' of a defect case)."""
    for _ in range(50):
        s = ordinary_shot(rng, max_side)
        if category == "good_fill":
            w, h = _choice(rng, (((1600, 1200), 2), ((2048, 1536), 2), ((1920, 1200), 2),
                                 ((2560, 1600), 2), ((1280, 800), 1)))
            s = replace(s, frame=_shrink((w, h), max_side), rotation=rng.gauss(0, 1.0),
                        tilt=rng.uniform(0, 3), fill=rng.uniform(0.8, 0.98),
                        margin=rng.uniform(0.0, 0.008), placement="inside",
                        distance=rng.uniform(4, 6), messenger=False)
        elif category == "good_flat":
            if rng.random() < 0.5:  # the image is the card
                width = rng.randint(1000, 2000)
                s = replace(s, frame=_shrink((width, round(width * CARD_MM[1] / CARD_MM[0])),
                                             max_side),
                            placement="crop", rotation=0, tilt=0, fill=1.0,
                            background="scanner", shadow=0, light_gradient=rng.uniform(0, 0.05),
                            vignette=0, noise=rng.uniform(0.3, 1.2), messenger=False,
                            exif_orientation=1, jpeg_quality=rng.randint(75, 95),
                            brightness=rng.uniform(160, 205))
            else:  # on a scanner bed
                s = replace(s, background="scanner", rotation=rng.gauss(0, 1.2), tilt=0,
                            fill=rng.uniform(0.25, 0.6), shadow=rng.uniform(0, 0.1),
                            light_gradient=rng.uniform(0, 0.05), vignette=0,
                            noise=rng.uniform(0.3, 1.5), jpeg_quality=rng.randint(75, 95),
                            brightness=rng.uniform(165, 205), messenger=False)
        elif category == "good_white_paper":
            s = replace(s, background="white_paper", shadow=rng.uniform(0.05, 0.25),
                        brightness=rng.uniform(150, 205))
        elif category == "good_busy":
            s = replace(s, background="desk")
        elif category == "good_hand":
            s = replace(s, hand=True, fill=rng.uniform(0.18, 0.45),
                        background=rng.choice(("fabric", "desk", "wood_light", "wall", "dark")),
                        tilt=min(s.tilt, 20))
        elif category == "good_rotated":
            s = replace(s, rotation=rng.uniform(0, 360),
                        exif_orientation=rng.choice((3, 6, 8)) if rng.random() < 0.85 else 1)
        elif category == "good_bright":
            s = replace(s, brightness=rng.uniform(215, 230), noise=rng.uniform(0.8, 2),
                        jpeg_quality=rng.randint(80, 95), defocus_mm=0,
                        light_gradient=rng.uniform(0, 0.08), vignette=rng.uniform(0, 0.08),
                        background=rng.choice(("wood_light", "desk", "fabric", "white_paper")))
        elif category == "good_near_edge":
            edges = rng.choice((("left",), ("right",), ("top",), ("bottom",), ("left", "top"),
                                ("right", "bottom"), ("right", "top"), ("left", "bottom")))
            s = replace(s, placement="near_edge", edges=edges, edge_gap=rng.uniform(0.01, 0.03),
                        fill=rng.uniform(0.25, 0.6), tilt=min(s.tilt, 20))
        quad, fill, _ = _quad_ok(s)
        if not _inside(quad, s.frame):
            continue
        if category == "good_fill" and fill < 0.8:
            continue
        if category == "good_near_edge" and not _near_edge(quad, s):
            continue
        return s
    raise RuntimeError(f"no {category} shot fits")


def _near_edge(quad: np.ndarray, s: Shot) -> bool:
    w, h = s.frame
    gaps = {"left": quad[:, 0].min() / w, "right": 1 - quad[:, 0].max() / w,
            "top": quad[:, 1].min() / h, "bottom": 1 - quad[:, 1].max() / h}
    return all(0.009 <= gaps[e] <= 0.031 for e in s.edges)


def defect_shot(category: str, rng: random.Random, max_side: int | None, art: CardArt | None
                ) -> Shot:
    s = ordinary_shot(rng, max_side)
    s = replace(s, tilt=min(s.tilt, 25))
    if category == "blurry":
        if rng.random() < 0.5:
            return replace(s, defocus_mm=rng.uniform(0.55, 0.9))
        return replace(s, motion_mm=rng.uniform(3.0, 5.5), motion_angle=rng.uniform(0, 180))
    if category == "glare":
        return replace(s, glare_field=rng.choice(("name", "id_number")), hand=False,
                       brightness=rng.uniform(110, 175), messenger=False)
    if category == "dark":
        return replace(s, brightness=rng.uniform(7, 16), noise=rng.uniform(5, 8),
                       jpeg_quality=rng.randint(60, 80), shadow=0.0)
    if category == "overexposed":
        return replace(s, brightness=rng.uniform(150, 200), washout=rng.uniform(0.05, 0.12),
                       noise=rng.uniform(0.5, 2))
    if category == "cut_off":
        assert art is not None
        for _ in range(50):
            edges = rng.choice((("left",), ("right",), ("top",), ("bottom",), ("left", "top"),
                                ("right", "top"), ("left", "bottom"), ("right", "bottom")))
            c = replace(s, placement="cut", edges=edges, cut_fraction=rng.uniform(0.22, 0.4),
                        fill=rng.uniform(0.25, 0.6), pos=(rng.random(), rng.random()))
            quad = place(c)
            text = [f for f in fields_outside(art.fields, quad, c.frame)
                    if f not in ("portrait", "emblem")]
            if text and visible_fraction(quad, c.frame) < 0.92:
                return c
        raise RuntimeError("no cut_off shot fits")
    if category == "too_small":
        frame = _frame(rng, max_side, large=True)
        w, h = frame
        ratio = CARD_MM[1] / CARD_MM[0]
        width = min(rng.uniform(200, 460), math.sqrt(0.07 * w * h / ratio))
        return replace(s, frame=frame, fill=width * width * ratio / (w * h), hand=False,
                       tilt=min(s.tilt, 12), margin=0.05)
    if category == "no_card":
        return replace(s, background=rng.choice(("wall", "wall", "desk", "wood_light", "fabric",
                                                 "white_paper", "dark")))
    raise ValueError(category)


def build_case(i: int, seed: int, today: date = TODAY, max_side: int | None = None,
               category: str | None = None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Case ``i`` of the set for ``seed``: its manifest entry and its two JPEGs."""
    rng = random.Random(f"{seed}:{i}")
    nrng = np.random.default_rng([seed, i])
    category = category or category_of(i, seed)
    name = f"r{i:04d}_{category}"
    person = make_person(rng, today, expired=category == "expired")
    light = category == "good_white_paper"
    arts = {side: draw_card(person, side, rng, nrng, light=light) for side in ("front", "back")}
    good_kind = category if category in GOOD else rng.choice(("good",) * 4 + GOOD[1:])
    # slot -> (side shown or None, shot, defect)
    slots: dict[str, tuple[str | None, Shot, str]] = {
        slot: (slot, good_shot(good_kind, rng, max_side), "none") for slot in ("front", "back")}
    declared_name, declared_number = person.name, person.id_number
    reasons: list[dict[str, str | None]] = []
    acceptable: list[str] = []
    note = ""
    if category in ("blurry", "glare", "dark", "overexposed", "cut_off", "too_small", "no_card"):
        side = "front" if category == "glare" else rng.choice(("front", "back"))
        shot = defect_shot(category, rng, max_side, arts[side])
        slots[side] = (None if category == "no_card" else side, shot, category)
        reasons.append({"code": DEFECTS[category], "side": side})
    elif category == "wrong_side":
        variant = rng.choice(("back_as_front", "front_as_back", "swapped"))
        note = variant
        if variant == "back_as_front":
            slots["front"] = ("back", good_shot("good", rng, max_side), "wrong_side")
            reasons.append({"code": "WRONG_SIDE", "side": "front"})
        elif variant == "front_as_back":
            slots["back"] = ("front", good_shot("good", rng, max_side), "wrong_side")
            reasons.append({"code": "WRONG_SIDE", "side": "back"})
        else:
            slots = {"front": ("back", slots["back"][1], "wrong_side"),
                     "back": ("front", slots["front"][1], "wrong_side")}
            reasons += [{"code": "WRONG_SIDE", "side": "front"},
                        {"code": "WRONG_SIDE", "side": "back"}]
    elif category == "name_mismatch":
        declared_name = other_name(rng, person.name)
        reasons.append({"code": "NAME_MISMATCH", "side": "front"})
        note = f"printed {person.name}"
    elif category == "number_mismatch":
        valid = rng.random() < 0.7
        declared_number = other_number(rng, person.id_number, valid_check=valid)
        reasons.append({"code": "ID_NUMBER_MISMATCH", "side": "front"})
        if not valid:  # a pipeline may refuse the declared number before reading the photo
            acceptable.append("ID_NUMBER_INVALID")
        note = "declared check char " + ("valid" if valid else "invalid")
    elif category == "expired":
        reasons.append({"code": "EXPIRED", "side": "back"})
        note = f"validity ended {person.valid_until}"
    images: dict[str, bytes] = {}
    truths: dict[str, Any] = {}
    for slot, (shows, shot, defect) in slots.items():
        data, truth = photograph(arts[shows] if shows else None, shot, rng, nrng)
        images[slot] = data
        truths[slot] = {"shows": shows, "defect": defect,
                        "font": arts[shows].font if shows else None,
                        "background": shot.background, "rotation": round(shot.rotation, 2),
                        "perspective_deg": round(shot.tilt, 2),
                        "jpeg_quality": 70 if shot.messenger else shot.jpeg_quality,
                        "exif_orientation": 1 if shot.messenger else shot.exif_orientation,
                        "messenger": shot.messenger, **truth.to_json()}
    case = {
        "name": name,
        "split": split_of(name),
        "category": category,
        "front": f"{name}_front.jpg",
        "back": f"{name}_back.jpg",
        "declared_name": declared_name,
        "declared_id_number": declared_number,
        "expected_status": "rejected" if reasons else "verified",
        "expected_reasons": reasons,
        "acceptable_codes": acceptable,
        "note": note,
        "person": person.to_json(),
        "images": truths,
    }
    return case, images


def _write_one(args: tuple[int, int, str, str, int | None, str | None]) -> dict[str, Any]:
    i, seed, out, today, max_side, category = args
    case, images = build_case(i, seed, date.fromisoformat(today), max_side, category)
    for slot, data in images.items():
        (Path(out) / case[slot]).write_bytes(data)
    return case


def generate(out: Path, count: int, seed: int, *, today: date = TODAY,
             max_side: int | None = None, jobs: int = 1,
             category: str | None = None) -> dict[str, Any]:
    """Write ``count`` cases and ``manifest.json`` into ``out``; return the manifest.
    ``category`` makes every case of that one category (a targeted development set)."""
    out.mkdir(parents=True, exist_ok=True)
    work = [(i, seed, str(out), today.isoformat(), max_side, category) for i in range(count)]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            cases = list(pool.map(_write_one, work, chunksize=4))
    else:
        cases = [_write_one(w) for w in work]
    manifest = {
        "generator": "samples.id_random",
        "description": "Domain-randomised synthetic resident-ID-card photos; fictional people.",
        "seed": seed,
        "count": count,
        "today": today.isoformat(),
        "max_side": max_side,
        "categories": {"good": list(GOOD), "defects": DEFECTS},
        "cases": cases,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                       encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m samples.id_random.generate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="output directory")
    parser.add_argument("--count", type=int, default=240)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--today", type=date.fromisoformat, default=TODAY,
                        help="the evaluation date validity is judged against (ISO)")
    parser.add_argument("--max-side", type=int, default=None,
                        help="shrink every photo to at most this long side (tests)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--category", choices=CATEGORIES, default=None,
                        help="every case of this one category (a targeted development set)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    manifest = generate(args.out, args.count, args.seed, today=args.today,
                        max_side=args.max_side, jobs=args.jobs, category=args.category)
    counts: dict[tuple[str, str], int] = {}
    for case in manifest["cases"]:
        key = (case["category"], case["split"])
        counts[key] = counts.get(key, 0) + 1
    print(f"wrote {len(manifest['cases'])} cases to {args.out} "
          f"in {time.perf_counter() - started:.0f} s")
    print(f"{'category':18} {'tune':>5} {'heldout':>8}")
    for cat in CATEGORIES:
        print(f"{cat:18} {counts.get((cat, 'tune'), 0):5d} {counts.get((cat, 'heldout'), 0):8d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
