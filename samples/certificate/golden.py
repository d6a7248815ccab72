"""Build the small committed golden set in ``samples/golden/certificates/``.

``python -m samples.certificate.golden [OUT]`` rewrites the images and
``manifest.json``: for each file, the reason and warning codes validation must
produce. Deterministic: the same seed gives the same bytes.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import replace
from pathlib import Path

import cv2

from samples.certificate.generate import (
    canonical_filename,
    encode,
    make_scan,
    random_spec,
)

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden" / "certificates"


def cases() -> list[tuple[str, dict, list[str], list[str], dict]]:
    """(label, spec overrides, expected reasons, expected warnings, extra) per file."""
    return [
        ("good_portrait", {"template": "certificate", "landscape": False}, [], [], {}),
        ("good_report", {"certificate_type": "学历证书验证报告", "landscape": False}, [], [], {}),
        ("good_landscape", {"template": "landscape", "landscape": True}, [], [], {}),
        (
            "good_alias_underscore",
            {"template": "certificate", "certificate_type": "学历证书"},
            [],
            [],
            {"name": "{name}_{id}_毕业证书_第1页.jpg"},
        ),
        ("skewed", {"template": "certificate", "skew_degrees": 3.5}, ["SKEWED"], [], {}),
        ("upside_down", {"template": "certificate", "rotation": 180}, ["UPSIDE_DOWN"], [], {}),
        (
            "sideways_90",
            {"template": "report", "certificate_type": "学位证书验证报告", "rotation": 90},
            ["SIDEWAYS"],
            [],
            {},
        ),
        (
            "sideways_landscape_270",
            {"template": "landscape", "landscape": True, "rotation": 270},
            ["SIDEWAYS"],
            [],
            {},
        ),
        (
            "bad_filename",
            {"template": "certificate"},
            ["BAD_FILENAME"],
            [],
            {"name": "scan0001.jpg"},
        ),
        ("id_invalid", {"template": "certificate"}, ["FILENAME_ID_INVALID"], [], {"bad_id": True}),
        (
            "unknown_type",
            {"template": "certificate"},
            ["UNKNOWN_CERTIFICATE_TYPE"],
            [],
            {"name": "{name}+{id}+荣誉证书+1.jpg"},
        ),
        ("blank", {"blank": True}, ["BLANK_PAGE"], [], {}),
        (
            "low_resolution",
            {"template": "certificate", "width_px": 330},
            ["LOW_RESOLUTION"],
            [],
            {},
        ),
        (
            "blurry",
            {"template": "certificate", "blur_sigma": 3.2},
            ["BLURRY"],
            ["NAME_NOT_ON_DOCUMENT"],
            {"optional_warnings": True},
        ),
        (
            "name_mismatch",
            {"template": "certificate"},
            [],
            ["NAME_NOT_ON_DOCUMENT"],
            {"other_name": True},
        ),
        (
            "png_good",
            {
                "template": "report",
                "certificate_type": "学位证书验证报告",
                "noise": 0.0,
                "blur_sigma": 0.0,
            },
            [],
            [],
            {"fmt": "png"},
        ),
    ]


def build(out: Path = GOLDEN_DIR, *, seed: int = 2026) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    manifest = []
    for i, (label, overrides, reasons, warnings, extra) in enumerate(cases()):
        spec = random_spec(
            rng, skew_degrees=round(rng.uniform(-0.6, 0.6), 2), width_px=1100, jpeg_quality=78
        )
        spec = replace(spec, **overrides)
        pixels = make_scan(spec, seed + i)
        if extra.get("other_name"):
            pixels = make_scan(
                replace(spec, holder=replace(spec.holder, name="司马相如")), seed + i
            )
        fmt = extra.get("fmt", "jpeg")
        if fmt == "png":
            pixels = cv2.resize(pixels, None, fx=0.92, fy=0.92, interpolation=cv2.INTER_AREA)
        data = encode(pixels, fmt=fmt, quality=spec.jpeg_quality)
        name = canonical_filename(spec, ext="png" if fmt == "png" else "jpg")
        holder_id = spec.holder.id_number
        if extra.get("bad_id"):
            holder_id = holder_id[:17] + ("0" if holder_id[17] != "0" else "1")
            name = f"{spec.holder.name}+{holder_id}+{spec.certificate_type}+1.jpg"
        if "name" in extra:
            name = extra["name"].format(name=spec.holder.name, id=holder_id)
        (out / name).write_bytes(data)
        manifest.append(
            {
                "file": name,
                "case": label,
                "reasons": reasons,
                "warnings": warnings,
                "optional_warnings": bool(extra.get("optional_warnings")),
                "skew_degrees": spec.skew_degrees,
                "rotation": spec.rotation,
            }
        )
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return manifest


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else GOLDEN_DIR
    print(f"{len(build(target))} files written to {target}")
