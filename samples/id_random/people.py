"""Fictional card holders: names, region codes (incl. ones a naive table rejects), addresses,
issuing authorities and validity periods that follow the law's age rules."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from stdnum.cn import ric

# code, address prefix, issuing authority, year the code came into use (0 = long before
# any birth year here), year it was abolished (None = still in use).
REGIONS: tuple[tuple[str, str, str, int, int | None], ...] = (
    ("420115", "湖北省武汉市江夏区", "武汉市公安局江夏分局", 1995, None),
    ("429005", "湖北省潜江市", "潜江市公安局", 1994, None),
    ("421002", "湖北省荆州市沙市区", "荆州市公安局沙市分局", 1994, None),
    ("412723", "河南省商水县", "商水县公安局", 0, 2000),
    ("420102", "湖北省武汉市江岸区", "武汉市公安局江岸分局", 0, None),
    ("420106", "湖北省武汉市武昌区", "武汉市公安局武昌分局", 0, None),
    ("420111", "湖北省武汉市洪山区", "武汉市公安局洪山分局", 0, None),
    ("420103", "湖北省武汉市江汉区", "武汉市公安局江汉分局", 0, None),
    ("420502", "湖北省宜昌市西陵区", "宜昌市公安局西陵分局", 0, None),
    ("110105", "北京市朝阳区", "北京市公安局朝阳分局", 0, None),
    ("440305", "广东省深圳市南山区", "深圳市公安局南山分局", 0, None),
    ("510107", "四川省成都市武侯区", "成都市公安局武侯区分局", 0, None),
    ("320106", "江苏省南京市鼓楼区", "南京市公安局鼓楼分局", 0, None),
    ("330106", "浙江省杭州市西湖区", "杭州市公安局西湖区分局", 0, None),
    ("430104", "湖南省长沙市岳麓区", "长沙市公安局岳麓分局", 1996, None),
)
# Codes created after (or abolished before) years that birth dates here fall in.
NEWER_THAN_BIRTH = {"420115": 1995, "429005": 1994, "421002": 1994, "430104": 1996}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "皇甫", "东方")
GIVEN_COMMON = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力燕海波宁晨雪琳浩宇"
                "欣怡子轩")
GIVEN_RARE = "堃玥淼喆翀珺彧婕琍昊犇赟燚鑫骉焱垚昕旻晟"
STREETS = ("文化路", "中山大道", "解放大道", "和平路", "建设大街", "光谷大道", "民主路", "人民路",
           "友谊大道", "珞瑜路", "东湖路", "长江路", "兴业街", "新华路", "江汉北路")
COMMUNITIES = ("纸坊街", "青龙山", "书香门第", "阳光花园", "金色家园", "幸福里", "滨江苑",
               "翠柳村", "梨园小区", "南湖花园", "东风村", "五里墩")

MIN_ISSUE = date(2004, 3, 1)  # second-generation cards are issued from 2004


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    sex: str
    ethnicity: str
    birth_date: date
    address: str
    id_number: str
    authority: str
    valid_from: date
    valid_until: date | None  # None = 长期
    region: str

    @property
    def validity_text(self) -> str:
        end = "长期" if self.valid_until is None else self.valid_until.strftime("%Y.%m.%d")
        return f"{self.valid_from.strftime('%Y.%m.%d')}-{end}"

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        for key in ("birth_date", "valid_from", "valid_until"):
            out[key] = out[key].isoformat() if out[key] else None
        out["validity_text"] = self.validity_text
        return out


def check_char(first17: str) -> str:
    return ric.calc_check_digit(first17 + "0")


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def validity_years(age: int) -> int | None:
    if age < 16:
        return 5
    if age <= 25:
        return 10
    if age <= 45:
        return 20
    return None


def _name(rng: random.Random) -> str:
    roll = rng.random()
    surname = rng.choice(COMPOUND_SURNAMES) if roll < 0.12 else rng.choice(SURNAMES)
    pool = GIVEN_RARE if rng.random() < 0.2 else GIVEN_COMMON
    length = 1 if len(surname) == 2 and rng.random() < 0.6 else rng.choice((1, 2, 2))
    given = rng.choice(pool) + "".join(rng.choice(GIVEN_COMMON) for _ in range(length - 1))
    return (surname + given)[:4]


def _address(rng: random.Random, prefix: str) -> str:
    kind = rng.random()
    if kind < 0.4:
        tail = f"{rng.choice(STREETS)}{rng.randint(1, 399)}号"
    elif kind < 0.8:
        tail = (f"{rng.choice(STREETS)}{rng.randint(1, 199)}号{rng.choice(COMMUNITIES)}"
                f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(1, 33)}0"
                f"{rng.randint(1, 6)}室")
    else:
        tail = f"{rng.choice(COMMUNITIES)}{rng.randint(1, 12)}组{rng.randint(1, 88)}号"
    return prefix + tail


def _pick_issue(rng: random.Random, birth: date, today: date, expired: bool) -> tuple[
        date, date | None]:
    """An issue date (≥ 2004, ≥ birth) whose validity is still running, or ended 2019–2023."""
    for _ in range(400):
        if expired:
            end_year = rng.randint(2019, 2023)
            years = rng.choice((5, 10, 20))
            start = date(end_year - years, rng.randint(1, 12), rng.randint(1, 28))
            if start < MIN_ISSUE or start <= birth:
                continue
            if validity_years(age_on(birth, start)) != years:
                continue
            return start, add_years(start, years)
        span = (today - max(MIN_ISSUE, birth + timedelta(days=40))).days
        if span <= 30:
            break
        start = today - timedelta(days=rng.randint(30, span))
        years = validity_years(age_on(birth, start))
        end = None if years is None else add_years(start, years)
        if end is not None and end <= today + timedelta(days=60):
            continue
        # Avoid issue dates on a birthday boundary so the age rule is unambiguous.
        if (start.month, start.day) == (birth.month, birth.day):
            continue
        return start, end
    raise ValueError("no issue date fits")


def make_person(rng: random.Random, today: date, *, expired: bool = False) -> Person:
    for _ in range(200):
        code, prefix, authority, created, abolished = rng.choice(REGIONS)
        if code in NEWER_THAN_BIRTH and rng.random() < 0.7:
            year = rng.randint(1950, NEWER_THAN_BIRTH[code] - 1)  # born before the code existed
        else:
            year = rng.randint(max(1945, created), min(today.year - 3, abolished or 9999))
        birth = date(year, rng.randint(1, 12), rng.randint(1, 28))
        try:
            start, end = _pick_issue(rng, birth, today, expired)
        except ValueError:
            continue
        sex = rng.choice("男女")
        seq = rng.randint(0, 99) * 10 + rng.randrange(1 if sex == "男" else 0, 10, 2)
        first17 = f"{code}{birth:%Y%m%d}{seq:03d}"
        ethnicity = rng.choices(("汉", "土家", "回", "满", "苗", "壮"), (30, 3, 2, 2, 1, 1))[0]
        return Person(
            name=_name(rng), sex=sex, ethnicity=ethnicity, birth_date=birth,
            address=_address(rng, prefix), id_number=first17 + check_char(first17),
            authority=authority, valid_from=start, valid_until=end, region=code,
        )
    raise ValueError("no identity fits")


def other_number(rng: random.Random, number: str, *, valid_check: bool) -> str:
    """``number`` with one or two digits of its sequence changed; check char valid or not."""
    digits = list(number[:17])
    positions = [14, 15, 16]  # the sequence number: region and birth date stay real
    for i in rng.sample(positions, rng.choice((1, 2))):
        digits[i] = rng.choice([d for d in "0123456789" if d != digits[i]])
    body = "".join(digits)
    check = check_char(body)
    if not valid_check:
        check = rng.choice([c for c in "0123456789X" if c != check])
    return body + check


NAME_SWAPS = {"伟": "玮", "芳": "方", "静": "婧", "丽": "莉", "明": "铭", "华": "化", "军": "君",
              "杰": "洁", "红": "宏", "宇": "雨", "欣": "鑫", "海": "涛", "强": "墙", "磊": "蕾"}


def other_name(rng: random.Random, name: str) -> str:
    """A declared name that is not the printed one: one character swapped, or a stranger's."""
    if rng.random() < 0.7:
        i = len(name) - 1 if rng.random() < 0.7 else rng.randrange(len(name))
        ch = name[i]
        new = NAME_SWAPS.get(ch) or rng.choice([c for c in GIVEN_COMMON if c != ch])
        return name[:i] + new + name[i + 1:]
    while True:
        other = _name(rng)
        if other != name:
            return other
