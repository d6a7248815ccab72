"""Fictional resident identities for synthetic ID cards.

Every identity is made up from a seed: a common (or compound) surname, a 1- or
2-character given name that sometimes uses a rare character, a Hubei (or
neighbouring) region code that ``stdnum.cn.ric`` accepts for the birth year, a
sex digit that agrees with the sex and a GB 11643 check digit. The validity
period follows the real issuing rule (age at issue: under 16 → 5 years,
16–25 → 10, 26–45 → 20, over 45 → 长期).

Negative cases are made by overrides on :func:`make_identity`: an expired
period, a printed birth date that disagrees with the number, or an
810000/820000/830000 (港澳台居民居住证) number with a valid check digit.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from stdnum.cn import ric

# A card issued for a good case must still be valid when the committed golden
# set is used years from now.
VALID_THROUGH_AT_LEAST = date(2032, 1, 1)
# Issue dates never lie in the future of the set's creation.
LATEST_ISSUE = date(2026, 6, 1)

COMMON_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程"
    "魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛段雷龙黎史陶贺毛郝顾龚邵"
    "万覃武钱戴严"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官")
MALE_CHARS = "伟强磊军勇杰涛斌超明辉刚健峰鹏浩宇航晨阳俊凯文博志建国华平东海林波"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲婷雪琳颖慧梅红洁倩佳欣悦琪晓月蓉萍璐露"
RARE_CHARS = "堃喆昇赟燊玥犇淼"
ETHNICITIES = ("汉",) * 14 + ("土家", "回", "苗", "满", "蒙古", "壮")

# (region code, address prefix, issuing authority, earliest birth year stdnum
# accepts for the code).
REGIONS = (
    ("420106", "湖北省武汉市武昌区", "武汉市公安局武昌分局", 1983),
    ("420102", "湖北省武汉市江岸区", "武汉市公安局江岸分局", 1983),
    ("420111", "湖北省武汉市洪山区", "武汉市公安局洪山分局", 1983),
    ("420502", "湖北省宜昌市西陵区", "宜昌市公安局西陵分局", 1986),
    ("420602", "湖北省襄阳市襄城区", "襄阳市公安局襄城分局", 1984),
    ("421002", "湖北省荆州市沙市区", "荆州市公安局沙市区分局", 1994),
    ("422801", "湖北省恩施市", "恩施市公安局", 1981),
    ("420100", "湖北省武汉市汉阳区", "武汉市公安局汉阳分局", 1900),
    ("420200", "湖北省黄石市下陆区", "黄石市公安局下陆分局", 1900),
    ("420500", "湖北省宜昌市伍家岗区", "宜昌市公安局伍家岗分局", 1900),
    ("420300", "湖北省十堰市茅箭区", "十堰市公安局茅箭分局", 1900),
)
STREETS = (
    "中北路", "中南路", "武珞路", "解放大道", "珞喻路", "友谊大道", "沿江大道", "民主路",
    "建设大道", "东湖路", "和平大道", "胜利街", "长江路", "夷陵大道", "人民路", "春风路",
    "青年路", "江汉路",
)
TOWNS = ("龙凤镇", "芭蕉侗族乡", "白杨坪镇")
VILLAGES = ("幸福村", "桃园村", "新华村", "白果树村", "双河村", "柳林村")
HMT_PREFIXES = ("810000", "820000", "830000")


@dataclass(frozen=True, slots=True)
class Identity:
    """What is printed on a card. ``valid_until`` is None for 长期.

    ``birth_date`` is the date printed on the portrait side; for a normal card
    it equals the date inside ``id_number``.
    """

    name: str
    sex: str  # "男" | "女"
    ethnicity: str
    birth_date: date
    address: str
    id_number: str
    issuing_authority: str
    valid_from: date
    valid_until: date | None

    @property
    def validity_text(self) -> str:
        """The 有效期限 line's value as printed: ``2015.03.07-2035.03.07`` or ``…-长期``."""
        end = "长期" if self.valid_until is None else self.valid_until.strftime("%Y.%m.%d")
        return f"{self.valid_from.strftime('%Y.%m.%d')}-{end}"

    def to_json(self) -> dict[str, str | None]:
        data = asdict(self)
        for key in ("birth_date", "valid_from", "valid_until"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data


def validity_years(age_at_issue: int) -> int | None:
    """Years a card issued at this age is valid for; None means 长期."""
    if age_at_issue < 16:
        return 5
    if age_at_issue <= 25:
        return 10
    if age_at_issue <= 45:
        return 20
    return None


def age_on(birth: date, day: date) -> int:
    """Full years between ``birth`` and ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def id_number_for(prefix: str, birth: date, sequence: int, sex: str) -> str:
    """An 18-character number: 6-digit prefix, birth date, 3-digit sequence whose
    last digit is odd for 男 and even for 女, and the GB 11643 check character."""
    seq = sequence % 1000
    if (seq % 2 == 1) != (sex == "男"):
        seq = (seq + 1) % 1000
    body = f"{prefix}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def _name(rng: random.Random, sex: str, *, rare: bool, compound: bool) -> str:
    surname = rng.choice(COMPOUND_SURNAMES[:1] if compound else COMMON_SURNAMES)
    pool = MALE_CHARS if sex == "男" else FEMALE_CHARS
    length = rng.choice((1, 2, 2)) if not compound else rng.choice((1, 2))
    given = [rng.choice(pool) for _ in range(length)]
    if rare:
        given[-1] = rng.choice(RARE_CHARS)
    return surname + "".join(given)


def _address(rng: random.Random, prefix: str) -> str:
    if prefix.endswith("恩施市") and rng.random() < 0.5:
        return (f"{prefix}{rng.choice(TOWNS)}{rng.choice(VILLAGES)}"
                f"{rng.randint(1, 12)}组{rng.randint(1, 60)}号")
    street = rng.choice(STREETS)
    number = rng.randint(1, 399)
    if rng.random() < 0.6:
        return (
            f"{prefix}{street}{number}号{rng.randint(1, 30)}栋"
            f"{rng.randint(1, 6)}单元{rng.randint(1, 33)}{rng.randint(1, 4):02d}室"
        )
    return f"{prefix}{street}{number}号"


def make_identity(
    seed: int,
    *,
    sex: str | None = None,
    name: str | None = None,
    rare_name: bool | None = None,
    compound_surname: bool | None = None,
    age_at_issue: int | None = None,
    issue_date: date | None = None,
    check_x: bool | None = None,
    expired: bool = False,
    printed_birth_date: date | None = None,
    hmt_prefix: str | None = None,
) -> Identity:
    """A deterministic fictional identity.

    Overrides make the negative cases: ``expired`` moves the whole validity
    period into the past; ``printed_birth_date`` prints a birth date that
    disagrees with the number; ``hmt_prefix`` (810000/820000/830000) gives a
    港澳台居民居住证-style number with a correct check digit. ``check_x`` forces
    (or forbids) X as the check character.
    """
    rng = random.Random(seed)
    sex = sex or rng.choice(("男", "女"))
    rare = rare_name if rare_name is not None else rng.random() < 0.12
    compound = compound_surname if compound_surname is not None else rng.random() < 0.06
    if age_at_issue is None:
        age_at_issue = rng.choice((17, 19, 22, 24, 27, 30, 33, 36, 40, 44, 48, 52, 56))
    years = validity_years(age_at_issue)
    if issue_date is None:
        if expired:
            # Expired between 2019 and 2025.
            end = date(2019, 1, 1) + timedelta(days=rng.randint(0, 6 * 365))
            issue_date = add_years(end, -(years or 20))
            if years is None:
                years = 20  # a 长期 card never expires; keep the holder younger
                age_at_issue = rng.randint(26, 45)
        else:
            earliest = date(2008, 1, 1)
            if years is not None:
                earliest = max(earliest, add_years(VALID_THROUGH_AT_LEAST, -years))
            span = max((LATEST_ISSUE - earliest).days, 0)
            issue_date = earliest + timedelta(days=rng.randint(0, span))
    birth = add_years(issue_date, -age_at_issue) - timedelta(days=rng.randint(1, 360))
    # The age at issue is now exactly ``age_at_issue``.
    until = add_years(issue_date, years) if years is not None else None

    if hmt_prefix is not None:
        if hmt_prefix not in HMT_PREFIXES:
            raise ValueError(f"not an HMT residence-permit prefix: {hmt_prefix}")
        candidates = [(hmt_prefix, REGIONS[0][1], REGIONS[0][2])]
    else:
        regions = [r for r in REGIONS if birth.year >= r[3]]
        rng.shuffle(regions)
        candidates = [(code, prefix, authority) for code, prefix, authority, _ in regions]
    code, address_prefix, authority = candidates[0]

    number = ""
    for attempt in range(400):
        number = id_number_for(code, birth, rng.randint(0, 999) + attempt, sex)
        if check_x is None or (number.endswith("X") == check_x):
            break
    if hmt_prefix is None:
        ric.validate(number)  # a generator bug must not produce an invalid sample

    return Identity(
        name=name or _name(rng, sex, rare=rare, compound=compound),
        sex=sex,
        ethnicity=rng.choice(ETHNICITIES),
        birth_date=printed_birth_date or birth,
        address=_address(rng, address_prefix),
        id_number=number,
        issuing_authority=authority,
        valid_from=issue_date,
        valid_until=until,
    )


def identities(seed: int, count: int) -> list[Identity]:
    """``count`` varied identities from one seed."""
    rng = random.Random(seed)
    return [make_identity(rng.randrange(2**31)) for _ in range(count)]
