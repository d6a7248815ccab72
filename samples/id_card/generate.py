"""Write synthetic ID-card photo sets with a manifest of expected outcomes.

``python -m samples.id_card.generate OUT_DIR [--count N] [--seed S]`` writes N
random two-sided cases (front and back JPEGs) and ``manifest.json``;
``--golden`` writes the named cases of :func:`golden_cases` instead (that is
how ``samples/golden/id/`` is made).

Verification is two-sided, so the manifest is organised as *pairs*: which file
is uploaded as the front and which as the back, the declared name and number,
the expected status (verified/rejected) and the expected reason codes with the
side they belong to. Each image also records the identity printed on it, the
side it really shows, its intended defect and the photo's ground truth.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path

from stdnum.cn import ric

from samples.id_card.identities import (
    Identity,
    add_years,
    age_on,
    make_identity,
    validity_years,
)
from samples.id_card.photo import PhotoSpec, PhotoTruth, photograph
from samples.id_card.render import render

REASON_CODES = (
    "CARD_NOT_FOUND", "CARD_INCOMPLETE", "CARD_TOO_SMALL", "BLURRY", "GLARE", "TOO_DARK",
    "OVEREXPOSED", "WRONG_SIDE", "TEXT_UNREADABLE", "NAME_MISMATCH", "ID_NUMBER_MISMATCH",
    "ID_NUMBER_INVALID", "FIELDS_INCONSISTENT", "EXPIRED",
)
GOLDEN_FRAME = (1280, 960)
PHONE_FRAME = (4000, 3000)


@dataclass(frozen=True, slots=True)
class Shot:
    """One photo: which identity's which side, photographed how, and what is wrong with it."""

    file: str
    identity: str  # key into the case set's identities
    side: str  # the side the photo really shows: "front" or "back"
    spec: PhotoSpec
    defect: str = "none"
    px_per_mm: float = 10.0


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    side: str  # "front" | "back": the upload the reason is about


@dataclass(frozen=True, slots=True)
class PairCase:
    """One two-sided verification request and its expected outcome."""

    name: str
    front: Shot  # uploaded as the front (人像面)
    back: Shot  # uploaded as the back (国徽面)
    declared_name: str
    declared_id_number: str
    expected_status: str  # "verified" | "rejected"
    expected_reasons: tuple[Reason, ...] = ()
    note: str = ""

    @property
    def expected_codes(self) -> list[str]:
        return sorted({r.code for r in self.expected_reasons})


@dataclass(slots=True)
class CaseSet:
    identities: dict[str, Identity]
    cases: list[PairCase] = field(default_factory=list)


def _spec(seed: int, **kwargs: object) -> PhotoSpec:
    base = PhotoSpec(seed=seed, frame=GOLDEN_FRAME, noise=1.2, jpeg_quality=76)
    return replace(base, **kwargs)  # type: ignore[arg-type]


def golden_identities() -> dict[str, Identity]:
    """The fictional holders of the committed golden set."""
    people = {
        "a": make_identity(101, sex="女", check_x=True, age_at_issue=24, rare_name=False,
                           compound_surname=False),
        "b": make_identity(202, sex="男", age_at_issue=31, rare_name=False,
                           compound_surname=False, check_x=False),
        "c": make_identity(303, sex="女", compound_surname=True, rare_name=False, age_at_issue=38,
                           check_x=False),
        "d": make_identity(404, sex="男", name="宋堃", check_x=False, age_at_issue=27),
        "e": make_identity(505, sex="男", age_at_issue=52, rare_name=False, check_x=False,
                           compound_surname=False),
        "f": make_identity(606, sex="女", expired=True, age_at_issue=23, rare_name=False,
                           check_x=False, compound_surname=False),
        "g": make_identity(707, sex="男", hmt_prefix="810000", age_at_issue=29, rare_name=False,
                           compound_surname=False, check_x=False),
        "h": make_identity(808, sex="女", age_at_issue=33, rare_name=False, check_x=False,
                           compound_surname=False),
        "i": make_identity(909, sex="男", age_at_issue=34, issue_date=date(2023, 3, 1),
                           rare_name=False, check_x=False, compound_surname=False),
        "j": make_identity(1010, sex="女", name="张玥淼", age_at_issue=21, check_x=False),
    }
    h = people["h"]
    # Printed birth date three years and two months off the one in the number.
    people["h"] = replace(h, birth_date=date(h.birth_date.year - 3,
                                             (h.birth_date.month + 1) % 12 + 1, 11))
    i = people["i"]
    # Issued at 34, so 20 years are due; the card says 10.
    people["i"] = replace(i, valid_until=add_years(i.valid_from, 10))
    return people


def _other_valid_number(number: str) -> str:
    """A valid number differing from ``number`` in the birth day (and so the check digit)."""
    day = int(number[12:14])
    new_day = day + 1 if day < 28 else day - 1
    body = f"{number[:12]}{new_day:02d}{number[14:17]}"
    return body + ric.calc_check_digit(body + "0")


def golden_cases() -> CaseSet:
    """The named cases of the committed golden set (``samples/golden/id/``)."""
    ids = golden_identities()
    cs = CaseSet(ids)

    def good(key: str, seed: int, **kwargs: object) -> tuple[Shot, Shot]:
        front = Shot(f"{key}_front.jpg", key, "front", _spec(seed, **kwargs))
        back = Shot(f"{key}_back.jpg", key, "back", _spec(seed + 1, **kwargs))
        return front, back

    def add(name: str, front: Shot, back: Shot, key: str, reasons: tuple[Reason, ...] = (),
            note: str = "", declared_name: str | None = None,
            declared_number: str | None = None) -> None:
        person = ids[key]
        cs.cases.append(PairCase(
            name=name, front=front, back=back,
            declared_name=declared_name if declared_name is not None else person.name,
            declared_id_number=(declared_number if declared_number is not None
                                else person.id_number),
            expected_status="rejected" if reasons else "verified",
            expected_reasons=reasons, note=note))

    # Good pairs on each background.
    a_f, a_b = good("a", 10, background="wood", skew_deg=3.0)
    b_f, b_b = good("b", 20, background="fabric", hand=True, skew_deg=-2.0)
    c_f, c_b = good("c", 30, background="paper", card_scale=0.5, offset=(0.06, 0.04))
    d_f, d_b = good("d", 40, background="dark", shadow=0.5)
    add("good_a", a_f, a_b, "a", note="X check character, wood desk")
    add("good_b", b_f, b_b, "b", note="fabric, a thumb over the bottom edge")
    add("good_c", c_f, c_b, "c", note="compound surname, card on printed paper")
    add("good_d_rare_name", d_f, d_b, "d", note="rare character 堃 in the name, dark table")
    j_f, j_b = good("j", 45, background="wood", tilt=0.04, skew_deg=-5.0)
    add("good_j_rare_name", j_f, j_b, "j", note="rare characters 玥淼, stronger perspective")

    # Rotated uploads are corrected, not rejected.
    for rot, key, bg in ((90, "b", "wood"), (180, "c", "dark"), (270, "a", "fabric")):
        f = Shot(f"{key}_front_rot{rot}.jpg", key, "front",
                 _spec(50 + rot, background=bg, rotation=rot, skew_deg=2.0), f"rotated_{rot}")
        b = Shot(f"{key}_back_rot{rot}.jpg", key, "back",
                 _spec(51 + rot, background=bg, rotation=rot, skew_deg=-1.5), f"rotated_{rot}")
        add(f"rotated_{rot}", f, b, key, note=f"both sides turned {rot}° clockwise")

    # Capture defects, each on one side; the other side is the person's good photo.
    blurry = Shot("a_front_blurry.jpg", "a", "front",
                  _spec(60, background="wood", defocus=7.0), "blurry")
    add("blurry_front", blurry, a_b, "a", (Reason("BLURRY", "front"),),
        "defocus sigma 7 px: text visibly smeared")
    motion = Shot("b_back_motion.jpg", "b", "back",
                  _spec(61, background="fabric", motion=34, motion_angle=20), "blurry")
    add("motion_blur_back", b_f, motion, "b", (Reason("BLURRY", "back"),),
        "34 px motion blur on the emblem side")
    glare = Shot("b_front_glare_number.jpg", "b", "front",
                 _spec(62, background="dark", glare_field="id_number"), "glare")
    add("glare_number", glare, b_b, "b", (Reason("GLARE", "front"),),
        "specular glare saturating the 公民身份号码 area")
    dark = Shot("c_front_dark.jpg", "c", "front",
                _spec(63, background="wood", gain=0.07), "too_dark")
    add("too_dark", dark, c_b, "c", (Reason("TOO_DARK", "front"),),
        "card mean luma about 15/255: the print is lost in the dark")
    over = Shot("d_front_overexposed.jpg", "d", "front",
                _spec(64, background="fabric", gain=2.8, lift=90), "overexposed")
    add("overexposed", over, d_b, "d", (Reason("OVEREXPOSED", "front"),),
        "card face clipped to white, the print washed out")
    left = Shot("a_front_out_left.jpg", "a", "front",
                _spec(65, background="dark", out_of_frame="left", out_fraction=0.22),
                "out_of_frame_left")
    add("out_of_frame_left", left, a_b, "a", (Reason("CARD_INCOMPLETE", "front"),),
        "a fifth of the card beyond the left edge")
    corner = Shot("b_back_out_corner.jpg", "b", "back",
                  _spec(66, background="paper", out_of_frame="bottom_right", out_fraction=0.2),
                  "out_of_frame_bottom_right")
    add("out_of_frame_corner", b_f, corner, "b", (Reason("CARD_INCOMPLETE", "back"),),
        "bottom-right corner of the card cut off")
    small = Shot("c_front_small.jpg", "c", "front",
                 _spec(67, background="wood", card_scale=0.12), "too_small")
    add("too_small", small, c_b, "c", (Reason("CARD_TOO_SMALL", "front"),),
        "card about 175 px wide in a 1440 px photo: characters of 5-6 px")
    empty = Shot("no_card.jpg", "d", "front",
                 _spec(68, background="paper", show_card=False), "no_card")
    add("no_card", empty, d_b, "d", (Reason("CARD_NOT_FOUND", "front"),),
        "printed paper on a desk, no card")

    covered = Shot("d_front_number_covered.jpg", "d", "front",
                   _spec(69, background="wood", cover_field="id_number"), "text_unreadable")
    add("number_covered", covered, d_b, "d", (Reason("TEXT_UNREADABLE", "front"),),
        "a sticky note hides the whole 公民身份号码 line; photo otherwise good")

    # Side mix-ups.
    add("sides_swapped", replace(a_b), replace(a_f), "a",
        (Reason("WRONG_SIDE", "front"), Reason("WRONG_SIDE", "back")),
        "emblem side uploaded as the front and portrait side as the back")
    add("front_uploaded_twice", c_f, c_f, "c", (Reason("WRONG_SIDE", "back"),),
        "the portrait side uploaded as the back too")

    # Content problems.
    f_f, f_b = good("f", 70, background="wood")
    add("expired", f_f, f_b, "f", (Reason("EXPIRED", "back"),),
        f"validity ended {ids['f'].valid_until}")
    g_f, g_b = good("g", 72, background="fabric")
    add("hmt_permit_number", g_f, g_b, "g", (Reason("ID_NUMBER_INVALID", "front"),),
        "810000 prefix (港澳台居民居住证 number) on a resident-card layout")
    e_f, e_b = good("e", 74, background="dark")
    add("long_term_validity", e_f, e_b, "e", note="issued at 52: 有效期限 …-长期")
    h_f, h_b = good("h", 76, background="wood")
    add("birth_date_inconsistent", h_f, h_b, "h", (Reason("FIELDS_INCONSISTENT", "front"),),
        "printed 出生 differs from the date inside the number")
    i_f, i_b = good("i", 78, background="paper", card_scale=0.55)
    age_i = age_on(ids["i"].birth_date, ids["i"].valid_from)
    add("validity_length_inconsistent", i_f, i_b, "i", (Reason("FIELDS_INCONSISTENT", "back"),),
        f"issued at {age_i} ({validity_years(age_i)} years due) but valid for 10")

    # Camera formats.
    p_f = Shot("b_front_4000x3000.jpg", "b", "front",
               replace(_spec(80, background="dark", card_scale=0.55), frame=PHONE_FRAME,
                       noise=0.8, jpeg_quality=70), "phone_size", px_per_mm=24.0)
    p_b = Shot("b_back_4000x3000.jpg", "b", "back",
               replace(_spec(81, background="dark", card_scale=0.55), frame=PHONE_FRAME,
                       noise=0.8, jpeg_quality=70), "phone_size", px_per_mm=24.0)
    add("phone_4000x3000", p_f, p_b, "b", note="full-size phone photos")
    x_f = Shot("c_front_exif6.jpg", "c", "front",
               _spec(82, background="wood", exif_orientation=6), "exif_orientation")
    x_b = Shot("c_back_exif8.jpg", "c", "back",
               _spec(83, background="wood", exif_orientation=8), "exif_orientation")
    add("exif_orientation", x_f, x_b, "c",
        note="pixels stored sideways; EXIF Orientation 6 (front) and 8 (back) make them upright")

    # Declaration mismatches reuse good photos.
    a = ids["a"]
    add("name_mismatch", a_f, a_b, "a", (Reason("NAME_MISMATCH", "front"),),
        "declared name differs in the last character",
        declared_name=a.name[:-1] + ("强" if a.name[-1] != "强" else "伟"))
    b = ids["b"]
    add("id_number_mismatch", b_f, b_b, "b", (Reason("ID_NUMBER_MISMATCH", "front"),),
        "declared a different valid number (birth day and check digit differ)",
        declared_number=_other_valid_number(b.id_number))
    add("declaration_normalised", a_f, a_b, "a",
        note="declared with a lower-case x, spaces and full-width digits: still verified",
        declared_name=f" {a.name} ",
        declared_number=_fullwidth(a.id_number[:6]) + " " + a.id_number[6:14] + " "
        + a.id_number[14:].lower())
    return cs


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


DEFECTS = {
    "none": (),
    "blurry": ("BLURRY",),
    "glare": ("GLARE",),
    "too_dark": ("TOO_DARK",),
    "overexposed": ("OVEREXPOSED",),
    "out_of_frame": ("CARD_INCOMPLETE",),
    "too_small": ("CARD_TOO_SMALL",),
    "rotated": (),
}


def random_cases(count: int, seed: int) -> CaseSet:
    """``count`` random two-sided cases: mostly good, the rest with one capture defect."""
    rng = random.Random(seed)
    cs = CaseSet({})
    weights = {"none": 8, "rotated": 3, "blurry": 2, "glare": 2, "too_dark": 1,
               "overexposed": 1, "out_of_frame": 2, "too_small": 1}
    for n in range(count):
        key = f"p{n:04d}"
        person = make_identity(rng.randrange(2**31))
        cs.identities[key] = person
        specs = {}
        for side in ("front", "back"):
            specs[side] = PhotoSpec(
                seed=rng.randrange(2**31),
                background=rng.choice(("wood", "fabric", "paper", "dark")),
                hand=rng.random() < 0.2,
                card_scale=rng.uniform(0.42, 0.75),
                offset=(rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08)),
                tilt=rng.uniform(0.0, 0.045),
                skew_deg=rng.uniform(-6, 6),
                light_gradient=rng.uniform(0.05, 0.3),
                shadow=rng.choice((0.0, 0.0, rng.uniform(0.2, 0.6))),
                gain=rng.uniform(0.85, 1.15),
                noise=rng.uniform(1.0, 4.0),
                jpeg_quality=rng.randint(70, 92),
            )
        defect = rng.choices(list(weights), weights=list(weights.values()))[0]
        side = rng.choice(("front", "back"))
        s = specs[side]
        if defect == "rotated":
            rot = rng.choice((90, 180, 270))
            specs = {k: replace(v, rotation=rot) for k, v in specs.items()}
        elif defect == "blurry":
            s = (replace(s, defocus=rng.uniform(6, 9)) if rng.random() < 0.5
                 else replace(s, motion=rng.uniform(28, 40), motion_angle=rng.uniform(0, 180)))
        elif defect == "glare":
            field_name = "id_number" if side == "front" else "validity"
            s = replace(s, glare_field=field_name, hand=False)
        elif defect == "too_dark":
            s = replace(s, gain=rng.uniform(0.15, 0.22))
        elif defect == "overexposed":
            s = replace(s, gain=rng.uniform(1.8, 2.1), lift=rng.uniform(35, 55))
        elif defect == "out_of_frame":
            s = replace(s, out_of_frame=rng.choice(("left", "right", "top", "bottom", "top_left",
                                                      "top_right", "bottom_left",
                                                      "bottom_right")),
                        out_fraction=rng.uniform(0.18, 0.3))
        elif defect == "too_small":
            s = replace(s, card_scale=rng.uniform(0.12, 0.18), hand=False)
        if defect not in ("none", "rotated"):
            specs[side] = s
        reasons = tuple(Reason(code, side) for code in DEFECTS[defect])
        shots = {k: Shot(f"{key}_{k}.jpg", key, k, v,
                         defect if (k == side or defect == "rotated") and defect != "none"
                         else "none")
                 for k, v in specs.items()}
        cs.cases.append(PairCase(
            name=f"{key}_{defect}", front=shots["front"], back=shots["back"],
            declared_name=person.name, declared_id_number=person.id_number,
            expected_status="rejected" if reasons else "verified", expected_reasons=reasons))
    return cs


def _shot_codes(shot: Shot) -> list[str]:
    mapping = {"blurry": "BLURRY", "glare": "GLARE", "too_dark": "TOO_DARK",
               "overexposed": "OVEREXPOSED", "too_small": "CARD_TOO_SMALL",
               "no_card": "CARD_NOT_FOUND", "text_unreadable": "TEXT_UNREADABLE"}
    if shot.defect.startswith("out_of_frame"):
        return ["CARD_INCOMPLETE"]
    return [mapping[shot.defect]] if shot.defect in mapping else []


def take(shot: Shot, person: Identity) -> tuple[bytes, PhotoTruth]:
    """Render and photograph one shot."""
    card, layout = render(person, shot.side, px_per_mm=shot.px_per_mm)
    return photograph(card if shot.spec.show_card else None, shot.spec, layout)


def write_cases(cs: CaseSet, out: Path) -> dict[str, object]:
    """Write every distinct shot once and the manifest; return the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    images: dict[str, dict[str, object]] = {}
    for case in cs.cases:
        for shot in (case.front, case.back):
            if shot.file in images:
                continue
            person = cs.identities[shot.identity]
            data, truth = take(shot, person)
            (out / shot.file).write_bytes(data)
            images[shot.file] = {
                "identity": shot.identity,
                "side": shot.side if shot.spec.show_card else None,
                "defect": shot.defect,
                "image_codes": _shot_codes(shot),
                "bytes": len(data),
                "spec": asdict(shot.spec),
                "truth": truth.to_json(),
            }
    manifest = {
        "description": "Synthetic resident-ID-card photos; fictional identities only.",
        "reason_codes": list(REASON_CODES),
        "identities": {k: v.to_json() for k, v in cs.identities.items()},
        "images": images,
        "pairs": [
            {
                "name": c.name,
                "front": c.front.file,
                "back": c.back.file,
                "identity": c.front.identity,
                "declared_name": c.declared_name,
                "declared_id_number": c.declared_id_number,
                "expected_status": c.expected_status,
                "expected_codes": c.expected_codes,
                "expected_reasons": [asdict(r) for r in c.expected_reasons],
                "note": c.note,
            }
            for c in cs.cases
        ],
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m samples.id_card.generate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="output directory")
    parser.add_argument("--count", type=int, default=20, help="random cases to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--golden", action="store_true",
                        help="write the named golden cases instead of random ones")
    args = parser.parse_args(argv)
    cs = golden_cases() if args.golden else random_cases(args.count, args.seed)
    manifest = write_cases(cs, args.out)
    print(f"wrote {len(manifest['images'])} images, {len(manifest['pairs'])} pairs "  # type: ignore[arg-type]
          f"to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
