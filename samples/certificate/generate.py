"""Realistic certificate scans with known skew and rotation, for tests and benchmarks.

A page is drawn upright with Noto CJK fonts (title, holder's name, fields, a
table, body text, a red seal, a photo box), then "scanned": paper tint, a known
skew (degrees, counter-clockwise positive as displayed, OpenCV's convention),
a quarter-turn rotation (clockwise degrees: 0/90/180/270), sensor noise, a
little optical blur and JPEG compression. Every random choice comes from the
``random.Random`` passed in, so a seed reproduces a page exactly.

``python -m samples.certificate.generate OUT --count N`` writes N files named
by the 姓名+身份证号+证书名称+第几页 rule and a ``manifest.json`` with the truth.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from stdnum.cn import ric

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
_SANS = FONT_DIR / "NotoSansCJK-Regular.ttc"
_SANS_BOLD = FONT_DIR / "NotoSansCJK-Bold.ttc"
_SERIF = FONT_DIR / "NotoSerifCJK-Regular.ttc"
_SERIF_BOLD = FONT_DIR / "NotoSerifCJK-Bold.ttc"
_FONT_INDEX_SC = 2  # in the Noto CJK collections: 0 JP, 1 KR, 2 SC, 3 TC

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国志文晓雪梅琳婷晨宇浩然子涵欣怡思远嘉诚俊杰雨轩"  # noqa: E501
REGIONS = ("420102", "420106", "420111", "420502", "420602", "421002", "110105", "310104", "440106")

CERTIFICATE_TYPES = (
    "学历证书",
    "学历证书验证报告",
    "学位证书",
    "学位证书验证报告",
    "专业技术资格证",
    "医师资格证",
    "医师执业证",
    "护士执业证",
    "住院医师规范化培训合格证书",
)


@dataclass(frozen=True)
class Holder:
    name: str
    id_number: str
    sex: str
    birth: tuple[int, int, int]


@dataclass(frozen=True)
class PageSpec:
    """What to draw and how to scan it."""

    holder: Holder
    certificate_type: str
    page: int = 1
    landscape: bool = False
    width_px: int = 1240  # long side follows from the A-series ratio
    skew_degrees: float = 0.0  # counter-clockwise positive, as displayed
    rotation: int = 0  # clockwise quarter turn applied after skew: 0/90/180/270
    noise: float = 4.0  # sensor noise sigma, grey levels
    blur_sigma: float = 0.6  # optical blur after scanning, pixels
    tint: tuple[int, int, int] = (238, 243, 246)  # BGR paper colour
    jpeg_quality: int = 88
    blank: bool = False
    template: str = "auto"  # auto | certificate | report | landscape
    extra: dict[str, str] = field(default_factory=dict)


def random_holder(rng: random.Random) -> Holder:
    """A holder with a number stdnum accepts (region codes must exist in the birth year)."""
    while True:
        name = rng.choice(SURNAMES) + "".join(
            rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2)))
        )
        year, month, day = rng.randint(1965, 2001), rng.randint(1, 12), rng.randint(1, 28)
        sex = rng.choice("男女")
        odd = rng.choice((1, 3, 5, 7, 9)) if sex == "男" else rng.choice((0, 2, 4, 6, 8))
        seq = rng.randint(0, 99) * 10 + odd
        body = f"{rng.choice(REGIONS)}{year:04d}{month:02d}{day:02d}{seq:03d}"
        # stdnum's calc_check_digit takes the number *with* a placeholder check character
        number = body + ric.calc_check_digit(body + "0")
        if ric.is_valid(number):
            return Holder(name, number, sex, (year, month, day))


def canonical_filename(spec: PageSpec, *, ext: str = "jpg") -> str:
    return f"{spec.holder.name}+{spec.holder.id_number}+{spec.certificate_type}+{spec.page}.{ext}"


def random_spec(rng: random.Random, **overrides: object) -> PageSpec:
    """A plausible page: mostly upright and nearly straight, as units upload them."""
    landscape = rng.random() < 0.35
    spec = PageSpec(
        holder=random_holder(rng),
        certificate_type=rng.choice(CERTIFICATE_TYPES),
        page=rng.choice((1, 1, 1, 2)),
        landscape=landscape,
        width_px=rng.choice((1240, 1240, 1400, 1654)),
        skew_degrees=round(rng.uniform(-0.9, 0.9), 2),
        noise=rng.uniform(2.0, 6.0),
        blur_sigma=rng.uniform(0.3, 0.8),
        tint=(rng.randint(225, 245), rng.randint(232, 250), rng.randint(238, 255)),
        jpeg_quality=rng.randint(80, 92),
    )
    return replace(spec, **overrides)  # type: ignore[arg-type]


# -- drawing ---------------------------------------------------------------------------------


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size, index=_FONT_INDEX_SC)


def _centered(
    draw: ImageDraw.ImageDraw,
    y: int,
    text: str,
    font: ImageFont.FreeTypeFont,
    width: int,
    fill: tuple[int, int, int],
) -> int:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((width - (right - left)) // 2, y), text, font=font, fill=fill)
    return y + (bottom - top)


def _seal(
    canvas: Image.Image, center: tuple[int, int], radius: int, text: str, rng: random.Random
) -> None:
    """A red round seal with a star and text along the rim, drawn semi-transparently."""
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    red = (205, 30, 35, 200)
    cx, cy = center
    ring = max(3, radius // 18)
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=red, width=ring)
    star = []
    for k in range(10):
        r = radius * (0.28 if k % 2 == 0 else 0.11)
        a = -math.pi / 2 + k * math.pi / 5
        star.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    draw.polygon(star, fill=red)
    size = max(12, radius // 5)
    font = _font(_SANS_BOLD, size)
    span = math.radians(230)
    for i, ch in enumerate(text):
        a = -math.pi / 2 - span / 2 + span * (i + 0.5) / len(text)
        glyph = Image.new("RGBA", (size * 2, size * 2), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((size // 2, size // 3), ch, font=font, fill=red)
        glyph = glyph.rotate(-math.degrees(a) - 90, resample=Image.Resampling.BICUBIC)
        gx = cx + (radius - ring - size * 0.75) * math.cos(a) - size
        gy = cy + (radius - ring - size * 0.75) * math.sin(a) - size
        layer.alpha_composite(glyph, (int(gx), int(gy)))
    # ink is never even
    alpha = np.asarray(layer)[:, :, 3].astype(np.float32)
    alpha *= np.clip(
        rng.uniform(0.75, 1.0)
        + np.random.default_rng(rng.randint(0, 2**31)).normal(0, 0.12, alpha.shape),
        0.3,
        1.0,
    )
    data = np.asarray(layer).copy()
    data[:, :, 3] = alpha.astype(np.uint8)
    canvas.alpha_composite(Image.fromarray(data))


def _fields(spec: PageSpec) -> list[tuple[str, str]]:
    h = spec.holder
    y, m, d = h.birth
    issued = 2010 + (sum(map(ord, h.id_number)) % 14)
    serial = "".join(str((int(c) * 7 + i) % 10) for i, c in enumerate(h.id_number[:15]))
    return [
        ("姓名", h.name),
        ("性别", h.sex),
        ("出生日期", f"{y}年{m}月{d}日"),
        ("身份证件号码", h.id_number),
        ("证书编号", serial),
        ("专业", "临床医学" if "护士" not in spec.certificate_type else "护理学"),
        ("发证日期", f"{issued}年{(m % 12) + 1}月{d}日"),
    ]


_TITLES = {
    "学历证书": ("普通高等学校", "毕业证书"),
    "学历证书验证报告": ("教育部学历证书电子注册备案表", "学信网"),
    "学位证书": ("中华人民共和国", "学士学位证书"),
    "学位证书验证报告": ("中国高等教育学位在线验证报告", "学信网"),
    "专业技术资格证": ("中华人民共和国", "专业技术资格证书"),
    "医师资格证": ("中华人民共和国", "医师资格证书"),
    "医师执业证": ("中华人民共和国", "医师执业证书"),
    "护士执业证": ("中华人民共和国", "护士执业证书"),
    "住院医师规范化培训合格证书": ("住院医师规范化培训", "合格证书"),
}

_BODY = (
    "经审核，{name}同志符合相关规定，具备相应资格，准予注册，特发此证。"
    "本证书由国家卫生健康委员会统一印制，在全国范围内有效。"
    "持证人应当遵守法律法规，恪守职业道德，依法执业，不得涂改、出借、转让本证书。"
)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines, current = [], ""
    for ch in text:
        if font.getlength(current + ch) > width:
            lines.append(current)
            current = ch
        else:
            current += ch
    return [*lines, current] if current else lines


def render_page(spec: PageSpec, rng: random.Random) -> np.ndarray:
    """Draw the upright page (BGR uint8) on white paper."""
    width = spec.width_px
    height = round(width * math.sqrt(2))
    if spec.landscape:
        width, height = height, width
    canvas = Image.new("RGBA", (width, height), (255, 255, 255, 255))
    if spec.blank:
        return np.asarray(canvas.convert("RGB"))[:, :, ::-1].copy()
    draw = ImageDraw.Draw(canvas)
    unit = min(width, height) / 1240
    black = (25, 25, 30)
    template = spec.template
    if template == "auto":
        if "报告" in spec.certificate_type:
            template = "report"
        else:
            template = "landscape" if spec.landscape else "certificate"
    top_line, title = _TITLES.get(spec.certificate_type, ("中华人民共和国", spec.certificate_type))
    margin = int(90 * unit)
    fields = _fields(spec)

    if template == "landscape":
        frame = int(40 * unit)
        draw.rectangle(
            (frame, frame, width - frame, height - frame),
            outline=(150, 110, 40),
            width=int(10 * unit),
        )
        draw.rectangle(
            (
                frame + int(18 * unit),
                frame + int(18 * unit),
                width - frame - int(18 * unit),
                height - frame - int(18 * unit),
            ),
            outline=(150, 110, 40),
            width=int(3 * unit),
        )
        y = _centered(draw, int(110 * unit), top_line, _font(_SERIF, int(46 * unit)), width, black)
        y = _centered(
            draw,
            y + int(40 * unit),
            title,
            _font(_SERIF_BOLD, int(92 * unit)),
            width,
            (170, 20, 20),
        )
        body_font = _font(_SERIF, int(38 * unit))
        text = _BODY.format(name=spec.holder.name)
        y += int(70 * unit)
        for line in _wrap(text, body_font, width - int(220 * unit) - int(480 * unit)):
            draw.text((int(220 * unit), y), line, font=body_font, fill=black)
            y += int(62 * unit)
        small = _font(_SANS, int(30 * unit))
        y += int(30 * unit)
        for label, value in fields[3:6]:
            draw.text((int(220 * unit), y), f"{label}：{value}", font=small, fill=black)
            y += int(50 * unit)
        photo = (width - int(420 * unit), int(330 * unit), width - int(240 * unit), int(570 * unit))
        draw.rectangle(photo, fill=(205, 210, 220), outline=(120, 120, 120), width=2)
        _seal(
            canvas,
            (width - int(400 * unit), height - int(260 * unit)),
            int(130 * unit),
            "国家卫生健康委员会",
            rng,
        )
        return np.asarray(canvas.convert("RGB"))[:, :, ::-1].copy()

    y = _centered(draw, int(100 * unit), top_line, _font(_SERIF, int(42 * unit)), width, black)
    y = _centered(draw, y + int(30 * unit), title, _font(_SERIF_BOLD, int(72 * unit)), width, black)
    y += int(70 * unit)
    label_font = _font(_SANS, int(32 * unit))
    if template == "report":
        # A bordered table: label | value | label | value, as on 学信网 reports.
        rows = [fields[i : i + 2] for i in range(0, len(fields), 2)]
        row_h = int(74 * unit)
        col = [
            margin,
            margin + int(220 * unit),
            width // 2,
            width // 2 + int(220 * unit),
            width - margin,
        ]
        for r, pair in enumerate(rows):
            top = y + r * row_h
            for c in range(4):
                draw.rectangle(
                    (col[c], top, col[c + 1], top + row_h),
                    outline=(60, 60, 60),
                    width=max(1, int(2 * unit)),
                )
                if c % 2 == 0:
                    draw.rectangle(
                        (col[c] + 2, top + 2, col[c + 1] - 2, top + row_h - 2), fill=(232, 236, 242)
                    )
            for k, (label, value) in enumerate(pair):
                draw.text(
                    (col[2 * k] + int(14 * unit), top + int(18 * unit)),
                    label,
                    font=label_font,
                    fill=black,
                )
                draw.text(
                    (col[2 * k + 1] + int(14 * unit), top + int(18 * unit)),
                    value,
                    font=label_font,
                    fill=black,
                )
        y += len(rows) * row_h + int(60 * unit)
        qr = np.random.default_rng(rng.randint(0, 2**31)).random((25, 25)) < 0.5
        cell = int(8 * unit)
        for (i, j), on in np.ndenumerate(qr):
            if on:
                draw.rectangle(
                    (
                        width - margin - 25 * cell + j * cell,
                        y + i * cell,
                        width - margin - 24 * cell + j * cell,
                        y + (i + 1) * cell,
                    ),
                    fill=black,
                )
        note = _font(_SANS, int(26 * unit))
        for line in _wrap(
            "本报告在线验证有效期内可通过学信网查询验证，请核对报告内容与证书原件是否一致。" * 2,
            note,
            width - 2 * margin - 25 * cell - int(30 * unit),
        ):
            draw.text((margin, y), line, font=note, fill=black)
            y += int(44 * unit)
        _seal(
            canvas,
            (width - int(330 * unit), height - int(330 * unit)),
            int(120 * unit),
            "全国高等学校学生信息咨询与就业指导中心",
            rng,
        )
    else:
        photo = (width - margin - int(230 * unit), y, width - margin, y + int(300 * unit))
        draw.rectangle(photo, fill=(205, 210, 220), outline=(120, 120, 120), width=2)
        for label, value in fields:
            draw.text((margin + int(40 * unit), y), f"{label}", font=label_font, fill=black)
            draw.text((margin + int(300 * unit), y), value, font=label_font, fill=black)
            y += int(72 * unit)
        y += int(40 * unit)
        body_font = _font(_SERIF, int(34 * unit))
        for line in _wrap(
            _BODY.format(name=spec.holder.name), body_font, width - 2 * margin - int(80 * unit)
        ):
            draw.text((margin + int(40 * unit), y), line, font=body_font, fill=black)
            y += int(58 * unit)
        _seal(
            canvas,
            (width - int(330 * unit), height - int(300 * unit)),
            int(130 * unit),
            "国家卫生健康委员会",
            rng,
        )
        sign = _font(_SANS, int(32 * unit))
        draw.text(
            (width - int(560 * unit), height - int(200 * unit)),
            "发证机关（盖章）",
            font=sign,
            fill=black,
        )
    return np.asarray(canvas.convert("RGB"))[:, :, ::-1].copy()


# -- scanning --------------------------------------------------------------------------------


def rotate_keep_size(image: np.ndarray, degrees: float, fill: tuple[int, int, int]) -> np.ndarray:
    """Rotate counter-clockwise by ``degrees`` about the centre, keeping the canvas size."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(
        image,
        matrix,
        (w, h),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=fill,
    )


def scan_page(page: np.ndarray, spec: PageSpec, rng: random.Random) -> np.ndarray:
    """Paper tint, skew, quarter turn, blur and noise, as a flatbed or phone scan does."""
    nrng = np.random.default_rng(rng.randint(0, 2**31))
    tint = np.array(spec.tint, np.float32) / 255.0
    out = page.astype(np.float32) * tint
    # uneven illumination: a gentle gradient across the page
    w = out.shape[1]
    gx = np.linspace(-1, 1, w, dtype=np.float32)[None, :, None]
    out *= 1.0 - 0.04 * rng.uniform(0, 1) * gx
    out = np.clip(out, 0, 255).astype(np.uint8)
    if spec.skew_degrees:
        out = rotate_keep_size(out, spec.skew_degrees, tuple(int(c) for c in spec.tint))
    if spec.rotation:
        out = np.ascontiguousarray(np.rot90(out, k=-(spec.rotation // 90)))  # clockwise
    if spec.blur_sigma > 0:
        out = cv2.GaussianBlur(out, (0, 0), spec.blur_sigma)
    if spec.noise > 0:
        out = np.clip(out + nrng.normal(0, spec.noise, out.shape), 0, 255).astype(np.uint8)
    return out


def encode(pixels: np.ndarray, *, fmt: str = "jpeg", quality: int = 88) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(np.ascontiguousarray(pixels[:, :, ::-1]))
    if fmt == "png":
        image.save(buffer, format="PNG", optimize=False, compress_level=6)
    else:
        image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def make_scan(spec: PageSpec, seed: int) -> np.ndarray:
    rng = random.Random(seed)
    return scan_page(render_page(spec, rng), spec, rng)


def make_scan_bytes(spec: PageSpec, seed: int, *, fmt: str = "jpeg") -> bytes:
    return encode(make_scan(spec, seed), fmt=fmt, quality=spec.jpeg_quality)


# -- command line ----------------------------------------------------------------------------


def generate(
    out: Path, count: int, *, seed: int = 0, hard: bool = False
) -> list[dict[str, object]]:
    """Write ``count`` scans: a realistic mix, or with ``hard`` every page skewed and turned."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    manifest = []
    for i in range(count):
        spec = random_spec(rng)
        if hard or rng.random() < 0.25:
            spec = replace(
                spec,
                skew_degrees=round(rng.uniform(-8, 8), 2),
                rotation=rng.choice((0, 90, 180, 270)),
            )
        name = canonical_filename(spec)
        (out / name).write_bytes(make_scan_bytes(spec, seed * 100_003 + i))
        manifest.append(
            {
                "file": name,
                "skew_degrees": spec.skew_degrees,
                "rotation": spec.rotation,
                "landscape": spec.landscape,
                "certificate_type": spec.certificate_type,
                "holder": asdict(spec.holder),
            }
        )
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hard", action="store_true", help="every page skewed and turned")
    args = parser.parse_args(argv)
    manifest = generate(args.out, args.count, seed=args.seed, hard=args.hard)
    print(f"wrote {len(manifest)} scans and manifest.json to {args.out}")


if __name__ == "__main__":
    main()
