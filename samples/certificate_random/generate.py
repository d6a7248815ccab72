# ruff: noqa: E501  (tables of characters and drawing calls with many coordinates)
"""Certificate pages from a second, independent generator, for held-out evaluation.

Nothing here is shared with :mod:`samples.certificate.generate` (the generator the
thresholds were tuned on): other fonts (WenQuanYi Zen/Micro Hei, AR PL UMing/UKai),
four layouts (bordered certificate, 学信网-style report table, two-page booklet,
plain letter), title wordings per type, round or oval seals with or without a star,
tinted or patterned paper, and two ways of capture: a flat scan at 100-300 dpi, or a
phone photo of the printed page on a desk (perspective, uneven light, vignette,
stronger JPEG). Sizes follow from the paper and the dpi, as real files do.

Each case has a category with its expected outcome:

    good          accepted (no reasons)
    pictures      accepted with the TEXT_NOT_FOUND warning (pictograms, no writing)
    skewed        SKEWED            3-8 degrees
    upside_down   UPSIDE_DOWN
    sideways      SIDEWAYS          90 or 270
    blank         BLANK_PAGE        paper grain, a faint show-through at most
    low_res       LOW_RESOLUTION    25-42 dpi (14-pt body type under 8 px)
    blurry        BLURRY            defocus of 0.10-0.18 em, or motion blur

and a page type (one of the eight). ``split`` is ``tune`` or ``held_out`` by a stable
hash of the case id: never tune on held-out.

``python -m samples.certificate_random.generate OUT --per-category N`` writes the files
and ``manifest.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONTS = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
)

CATEGORIES = (
    "good",
    "pictures",
    "skewed",
    "upside_down",
    "sideways",
    "blank",
    "low_res",
    "blurry",
)
EXPECTED = {
    "good": [],
    "pictures": [],
    "skewed": ["SKEWED"],
    "upside_down": ["UPSIDE_DOWN"],
    "sideways": ["SIDEWAYS"],
    "blank": ["BLANK_PAGE"],
    "low_res": ["LOW_RESOLUTION"],
    "blurry": ["BLURRY"],
}

#: page type -> (file-name type, title wordings)
PAGE_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "学历证书": ("学历证书", ("毕业证书", "普通高等学校毕业证书", "研究生毕业证书")),
    "学位证书": ("学位证书", ("学士学位证书", "硕士学位证书", "博士学位证书")),
    "学历验证报告": (
        "学历证书验证报告",
        ("教育部学历证书电子注册备案表", "学历证书在线验证报告", "中国高等教育学历认证报告"),
    ),
    "学位验证报告": ("学位证书验证报告", ("中国高等教育学位在线验证报告", "学位认证报告")),
    "资格证书": ("医师资格证", ("医师资格证书", "执业医师资格证书")),
    "执业证书": ("医师执业证", ("医师执业证书", "护士执业证书")),
    "专业技术资格证": ("专业技术资格证", ("专业技术资格证书", "卫生专业技术资格证书")),
    "住院医师规范化培训合格证书": (
        "住院医师规范化培训合格证书",
        ("住院医师规范化培训合格证书", "住院医师规范化培训结业证书"),
    ),
}

SURNAMES = "欧阳司马诸葛上官东方王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "一乙二十丁厂七卜人入八九几儿了力乃刀又三于干亏士工土才寸下大丈与万上小口巾山千乞川亿个勺久凡及夕丸么广亡门义之尸弓己已子卫也女飞刃习叉马乡丰王井开夫天无元专云扎艺木五支厅不太犬区历尤友匹车巨牙屯比互切瓦止少日中冈贝内水见午牛手毛气升长仁什片仆化仇币仍仅斤爪反介父从今凶分乏公仓月氏勿欠风丹匀乌凤勾文六方火为斗忆订计户认心尺引丑巴孔队办以允予劝双书幻玉刊示末未击打巧正扑扒功扔去甘世古节本术可丙左厉右石布龙平灭轧东卡北占业旧帅归且旦目叶甲申叮电号田由史只央兄叼叫另叨叹四生失禾丘付仗代仙们仪白仔他斥瓜乎丛令用甩印乐"
# region codes including districts created after many holders' birth years (real numbers
# are assigned at registration): 420115 江夏区 (1995), 429005 潜江市 (1994), 110115 大兴区
REGIONS = ("420115", "429005", "110115", "420106", "310115", "440305", "500112", "330106")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def check_character(body17: str) -> str:
    """GB 11643 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(body17, _WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def random_number(rng: random.Random) -> str:
    year, month, day = rng.randint(1962, 2000), rng.randint(1, 12), rng.randint(1, 28)
    body = f"{rng.choice(REGIONS)}{year:04d}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
    return body + check_character(body)


def random_name(rng: random.Random) -> str:
    surname = (
        rng.choice(("欧阳", "司马", "诸葛")) if rng.random() < 0.08 else rng.choice(SURNAMES[6:])
    )
    return surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


@dataclass(frozen=True)
class Case:
    case_id: str
    category: str
    split: str
    page_type: str
    filename_type: str
    name: str
    id_number: str
    layout: str
    capture: str  # scan | phone
    dpi: float
    skew_degrees: float
    rotation: int
    expected: tuple[str, ...]
    file: str = ""


def split_of(case_id: str) -> str:
    return "held_out" if hashlib.sha256(case_id.encode()).digest()[0] % 2 == 0 else "tune"


def _font(rng: random.Random, size: float) -> ImageFont.FreeTypeFont:
    path, index = rng.choice(FONTS)
    return ImageFont.truetype(path, max(6, round(size)), index=index)


def _text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font, fill) -> float:
    draw.text(xy, text, font=font, fill=fill)
    box = draw.textbbox(xy, text, font=font)
    return box[3] - xy[1]


def _centre(draw, y: float, text: str, font, width: int, fill) -> float:
    w = draw.textlength(text, font=font)
    return y + _text(draw, ((width - w) / 2, y), text, font, fill)


def _seal(canvas: Image.Image, rng: random.Random, cx: float, cy: float, r: float) -> None:
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    red = (rng.randint(180, 230), rng.randint(10, 60), rng.randint(20, 60), rng.randint(150, 210))
    oval = rng.random() < 0.3
    rx, ry = (r * 1.3, r * 0.9) if oval else (r, r)
    d.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), outline=red, width=max(2, int(r / 14)))
    if rng.random() < 0.7:
        pts = []
        for k in range(10):
            rr = r * (0.3 if k % 2 == 0 else 0.12)
            a = -math.pi / 2 + k * math.pi / 5
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        d.polygon(pts, fill=red)
    font = _font(rng, r / 4.5)
    text = rng.choice(("卫生健康委员会", "医学院", "教育部学位中心", "人力资源和社会保障厅"))
    for i, ch in enumerate(text):
        a = math.pi * (1.15 + 0.7 * (i + 0.5) / len(text))
        d.text(
            (cx + rx * 0.7 * math.cos(a) - r / 9, cy + ry * 0.7 * math.sin(a) - r / 9),
            ch,
            font=font,
            fill=red,
        )
    canvas.alpha_composite(layer)


def _paper(rng: random.Random, w: int, h: int) -> Image.Image:
    tint = rng.choice(
        ((255, 255, 255), (250, 246, 232), (238, 244, 250), (240, 248, 238), (252, 250, 245))
    )
    canvas = Image.new("RGBA", (w, h), (*tint, 255))
    if rng.random() < 0.35:  # a faint guilloche / line pattern, as security paper has
        d = ImageDraw.Draw(canvas)
        colour = tuple(max(0, c - rng.randint(10, 22)) for c in tint)
        step = max(6, int(w / rng.randint(60, 120)))
        for k in range(-h, w, step):
            d.line((k, 0, k + h * 0.6, h), fill=(*colour, 255), width=1)
    return canvas


def _fields(case: Case, rng: random.Random) -> list[tuple[str, str]]:
    year = int(case.id_number[6:10])
    rows = [
        ("姓名", case.name),
        ("性别", "男" if int(case.id_number[16]) % 2 else "女"),
        ("出生日期", f"{year}年{int(case.id_number[10:12])}月{int(case.id_number[12:14])}日"),
        (rng.choice(("身份证号", "公民身份号码", "证件号码")), case.id_number),
        ("证书编号", "".join(str(rng.randint(0, 9)) for _ in range(rng.choice((12, 15, 17))))),
        (
            rng.choice(("专业", "类别", "执业范围")),
            rng.choice(("临床医学", "护理学", "预防医学", "内科专业")),
        ),
        ("发证日期", f"{rng.randint(2008, 2024)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日"),
    ]
    rng.shuffle(rows[4:])
    return rows


def render(
    case: Case, rng: random.Random, *, pictures: bool = False, blank: bool = False
) -> np.ndarray:
    """The upright page at ``case.dpi`` (BGR)."""
    landscape = case.layout == "booklet" or (case.layout == "bordered" and rng.random() < 0.4)
    mm_w, mm_h = (297, 210) if landscape else (210, 297)
    px = case.dpi / 25.4
    w, h = int(mm_w * px), int(mm_h * px)
    canvas = _paper(rng, w, h)
    if blank:
        if rng.random() < 0.5:  # show-through of the other side: very faint, mirrored text
            d = ImageDraw.Draw(canvas)
            font = _font(rng, 5 * px)
            for k in range(6):
                d.text(
                    (w * 0.2, h * (0.2 + 0.1 * k)),
                    "证书背面透印" * 2,
                    font=font,
                    fill=(238, 238, 236, 255),
                )
        return np.asarray(canvas.convert("RGB"))[:, :, ::-1].copy()
    d = ImageDraw.Draw(canvas)
    ink = rng.choice(((20, 20, 20), (35, 30, 45), (10, 25, 60)))
    if pictures:
        for _ in range(rng.randint(6, 14)):
            x, y, r = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h, rng.uniform(8, 25) * px
            colour = (rng.randint(0, 230), rng.randint(0, 230), rng.randint(0, 230), 255)
            shape = rng.choice(("circle", "square", "triangle"))
            if shape == "circle":
                d.ellipse((x - r, y - r, x + r, y + r), fill=colour)
            elif shape == "square":
                d.rectangle((x - r, y - r, x + r, y + r), fill=colour)
            else:
                d.polygon(((x, y - r), (x + r, y + r), (x - r, y + r)), fill=colour)
        return np.asarray(canvas.convert("RGB"))[:, :, ::-1].copy()

    title = rng.choice(PAGE_TYPES[case.page_type][1])
    pt = px * 25.4 / 72  # pixels per point
    body_pt = rng.uniform(10.5, 14)
    fields = _fields(case, rng)
    margin = rng.uniform(18, 28) * px
    if case.layout == "bordered":
        colour = rng.choice(((150, 110, 40), (40, 90, 140), (140, 40, 40)))
        for k, width in ((6, 3), (9, 1)):
            d.rectangle(
                (k * px, k * px, w - k * px, h - k * px),
                outline=(*colour, 255),
                width=max(1, int(width * px / 4)),
            )
        y = margin + 8 * px
        y = _centre(
            d,
            y,
            rng.choice(("中华人民共和国", "国家卫生健康委员会", "")) or " ",
            _font(rng, 16 * pt),
            w,
            ink,
        )
        y = (
            _centre(
                d,
                y + 8 * px,
                title,
                _font(rng, rng.uniform(26, 36) * pt),
                w,
                (170, 25, 25) if rng.random() < 0.4 else ink,
            )
            + 14 * px
        )
        font = _font(rng, body_pt * pt)
        for label, value in fields:
            y += (
                _text(d, (margin + 12 * px, y), f"{label}：{value}", font, ink) + body_pt * pt * 0.9
            )
        sentence = f"兹证明{case.name}同志经考核合格，准予颁发本证书。特此证明。"
        y += 4 * px
        _text(d, (margin + 12 * px, y), sentence, font, ink)
        d.rectangle(
            (w - margin - 35 * px, margin + 45 * px, w - margin - 10 * px, margin + 80 * px),
            fill=(200, 205, 215, 255),
        )
        _seal(canvas, rng, w - margin - 45 * px, h - margin - 45 * px, rng.uniform(17, 22) * px)
    elif case.layout == "report":
        band = rng.choice(((30, 100, 170), (20, 120, 90), (60, 60, 60)))
        d.rectangle((0, 0, w, 22 * px), fill=(*band, 255))
        _text(
            d,
            (margin, 6 * px),
            rng.choice(
                (
                    "学信网",
                    "中国高等教育学生信息网",
                    "学位网" if "学位" in case.page_type else "学信网",
                )
            ),
            _font(rng, 16 * pt),
            (255, 255, 255),
        )
        y = _centre(d, 32 * px, title, _font(rng, rng.uniform(20, 26) * pt), w, ink) + 12 * px
        font = _font(rng, body_pt * pt)
        row_h = body_pt * pt * 2.1
        col = (margin, margin + 38 * px, w - margin)
        for label, value in fields:
            d.rectangle(
                (col[0], y, col[1], y + row_h), outline=(90, 90, 90, 255), fill=(235, 238, 242, 255)
            )
            d.rectangle((col[1], y, col[2], y + row_h), outline=(90, 90, 90, 255))
            _text(d, (col[0] + 3 * px, y + row_h * 0.25), label, font, ink)
            _text(d, (col[1] + 3 * px, y + row_h * 0.25), value, font, ink)
            y += row_h
        y += 10 * px
        small = _font(rng, max(9, body_pt - 2) * pt)
        for line in (
            "本报告可在有效期内登录网站查询验证。",
            "报告内容与证书原件不一致的，以原件为准。",
        ):
            y += _text(d, (margin, y), line, small, ink) + 6 * px
        cell = 1.2 * px
        qr = np.random.default_rng(rng.randint(0, 2**31)).random((21, 21)) < 0.5
        for (i, j), on in np.ndenumerate(qr):
            if on:
                d.rectangle(
                    (
                        w - margin - 21 * cell + j * cell,
                        y + i * cell,
                        w - margin - 20 * cell + j * cell,
                        y + (i + 1) * cell,
                    ),
                    fill=(0, 0, 0, 255),
                )
        _seal(canvas, rng, w * 0.7, h - margin - 40 * px, rng.uniform(16, 20) * px)
    elif case.layout == "booklet":
        d.line(
            (w / 2, margin, w / 2, h - margin), fill=(180, 180, 180, 255), width=max(1, int(px / 2))
        )
        d.rectangle(
            (margin + 10 * px, margin + 15 * px, margin + 45 * px, margin + 60 * px),
            fill=(205, 210, 220, 255),
        )
        font = _font(rng, body_pt * pt)
        y = margin + 70 * px
        for label, value in fields[:5]:
            y += _text(d, (margin + 5 * px, y), f"{label} {value}", font, ink) + body_pt * pt * 0.8
        y = (
            _centre(
                d, margin + 20 * px, title, _font(rng, rng.uniform(24, 32) * pt), int(w * 1.5), ink
            )
            + 20 * px
        )
        for line in (
            f"{case.name}，于{rng.randint(2005, 2022)}年在本单位完成规定学习，",
            "成绩合格，特发此证。",
        ):
            y += _text(d, (w / 2 + 12 * px, y), line, font, ink) + body_pt * pt * 0.8
        _seal(canvas, rng, w * 0.8, h - margin - 35 * px, rng.uniform(16, 21) * px)
    else:  # letter
        y = margin + 10 * px
        y += _text(d, (margin, y), title, _font(rng, rng.uniform(20, 28) * pt), ink) + 14 * px
        font = _font(rng, body_pt * pt)
        text = (
            f"{case.name}（{fields[3][0]}：{case.id_number}），"
            f"{fields[5][1]}，经审核符合有关规定，予以认定。"
            "本证明仅用于人才服务平台资格审核，复印无效。如有疑问请与发证单位联系核实。"
        )
        line, lines = "", []
        for ch in text:
            if d.textlength(line + ch, font=font) > w - 2 * margin:
                lines.append(line)
                line = ch
            else:
                line += ch
        lines.append(line)
        for ln in lines:
            y += _text(d, (margin, y), ln, font, ink) + body_pt * pt * 0.7
        y += 10 * px
        for label, value in fields[4:]:
            y += _text(d, (margin, y), f"{label}：{value}", font, ink) + body_pt * pt * 0.7
        _seal(canvas, rng, w - margin - 40 * px, y + 30 * px, rng.uniform(17, 21) * px)
    return np.asarray(canvas.convert("RGB"))[:, :, ::-1].copy()


def _rotate(image: np.ndarray, degrees: float, fill: tuple[int, ...]) -> np.ndarray:
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_CUBIC, borderValue=fill)


def capture(page: np.ndarray, case: Case, rng: random.Random, *, blur: str | None) -> np.ndarray:
    """Scan or photograph the printed page; then skew, blur, quarter turn."""
    nrng = np.random.default_rng(rng.randint(0, 2**31))
    paper = tuple(int(c) for c in np.median(page.reshape(-1, 3), axis=0))
    out = page
    if case.skew_degrees and case.capture == "scan":  # the sheet lies askew on the glass
        out = _rotate(out, case.skew_degrees, paper)
    if case.capture == "phone":
        h, w = out.shape[:2]
        pad = int(0.08 * max(h, w))
        desk = np.array(
            rng.choice(((90, 110, 140), (60, 60, 60), (170, 175, 180), (120, 90, 70))), np.uint8
        )
        canvas = np.empty((h + 2 * pad, w + 2 * pad, 3), np.uint8)
        canvas[:] = desk
        canvas[pad : pad + h, pad : pad + w] = out
        # a slight perspective: the phone is never quite parallel to the desk
        H, W = canvas.shape[:2]
        j = 0.012 * W
        src = np.float32([[0, 0], [W, 0], [W, H], [0, H]])
        dst = src + np.float32([[rng.uniform(-j, j), rng.uniform(-j, j)] for _ in range(4)])
        out = cv2.warpPerspective(
            canvas, cv2.getPerspectiveTransform(src, dst), (W, H), borderMode=cv2.BORDER_REPLICATE
        )
        if case.skew_degrees:  # the phone is held askew: page and desk turn together
            out = _rotate(out, case.skew_degrees, tuple(int(c) for c in desk))
        # light: a gradient and a vignette
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        gain = (
            1.0
            - 0.12 * rng.random() * (xx / W)
            - 0.10 * (((xx - W / 2) / W) ** 2 + ((yy - H / 2) / H) ** 2) * 4
        )
        out = np.clip(
            out.astype(np.float32) * gain[:, :, None] * rng.uniform(0.88, 1.02), 0, 255
        ).astype(np.uint8)
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 0.9))
    else:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 0.7))
    if blur == "defocus":
        em = 12 * case.dpi / 72
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.10, 0.18) * em)
    elif blur == "motion":
        em = 12 * case.dpi / 72
        length = max(3, int(rng.uniform(0.35, 0.6) * em))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        kernel = cv2.warpAffine(
            kernel,
            cv2.getRotationMatrix2D((length / 2, length / 2), rng.uniform(0, 180), 1.0),
            (length, length),
        )
        out = cv2.filter2D(out, -1, kernel / max(kernel.sum(), 1e-6))
    out = np.clip(out + nrng.normal(0, rng.uniform(1.5, 4.5), out.shape), 0, 255).astype(np.uint8)
    if case.rotation:
        out = np.ascontiguousarray(np.rot90(out, k=-(case.rotation // 90)))
    return out


def encode(pixels: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels[:, :, ::-1])).save(
        buffer, format="JPEG", quality=quality
    )
    return buffer.getvalue()


def make_case(
    index: int, category: str, seed: int, *, dpi_range: tuple[float, float] | None = None
) -> tuple[Case, bytes]:
    case_id = f"rc{seed}-{index:05d}"
    rng = random.Random(hashlib.sha256(case_id.encode()).digest())
    page_type = rng.choice(list(PAGE_TYPES))
    layout = rng.choice(("bordered", "report", "booklet", "letter"))
    if "报告" in page_type and rng.random() < 0.7:
        layout = "report"
    capture_kind = "phone" if rng.random() < 0.4 else "scan"
    dpi = rng.uniform(100, 300) if capture_kind == "scan" else rng.uniform(140, 260)
    if dpi_range is not None:  # benchmarks: pages of a given size
        dpi = rng.uniform(*dpi_range)
    if category == "low_res":
        dpi = rng.uniform(25, 42)
    skew = round(rng.uniform(-0.8, 0.8), 2)
    if category == "skewed":
        skew = round(rng.choice((-1, 1)) * rng.uniform(3, 8), 2)
    rotation = {"upside_down": 180, "sideways": rng.choice((90, 270))}.get(category, 0)
    case = Case(
        case_id=case_id,
        category=category,
        split=split_of(case_id),
        page_type=page_type,
        filename_type=PAGE_TYPES[page_type][0],
        name=random_name(rng),
        id_number=random_number(rng),
        layout=layout,
        capture=capture_kind,
        dpi=round(dpi, 1),
        skew_degrees=skew,
        rotation=rotation,
        expected=tuple(EXPECTED[category]),
    )
    page = render(case, rng, pictures=category == "pictures", blank=category == "blank")
    blur = rng.choice(("defocus", "defocus", "motion")) if category == "blurry" else None
    pixels = capture(page, case, rng, blur=blur)
    quality = rng.randint(80, 95) if capture_kind == "scan" else rng.randint(75, 90)
    data = encode(pixels, quality)
    name = f"{case.name}+{case.id_number}+{case.filename_type}+{rng.choice((1, 1, 2))}.jpg"
    return Case(**{**asdict(case), "file": name}), data


def generate(out: Path, per_category: int, *, seed: int = 11) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    index = 0
    for category in CATEGORIES:
        for _ in range(per_category):
            case, data = make_case(index, category, seed)
            (out / case.file).write_bytes(data)
            manifest.append({**asdict(case), "bytes": len(data)})
            index += 1
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-category", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    manifest = generate(args.out, args.per_category, seed=args.seed)
    print(f"wrote {len(manifest)} pages and manifest.json to {args.out}")


if __name__ == "__main__":
    main()
