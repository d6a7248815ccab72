from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.certificate import load_certificate_types, parse_filename
from samples.certificate.generate import random_holder

TABLE = load_certificate_types()
HOLDER = random_holder(random.Random(7))
NAME, ID = HOLDER.name, HOLDER.id_number


def test_canonical_name_parses() -> None:
    p = parse_filename(f"{NAME}+{ID}+医师资格证+1.jpg", TABLE)
    assert (p.name, p.id_number, p.certificate_type, p.page, p.extension) == (
        NAME,
        ID,
        "医师资格证",
        1,
        "jpg",
    )
    assert p.complete and p.id_valid


def test_aliases_map_to_canonical_types() -> None:
    cases = {
        "毕业证书": "学历证书",
        "学信网学历验证报告": "学历证书验证报告",
        "学历认证报告": "学历证书验证报告",
        "规培证": "住院医师规范化培训合格证书",
        "医师执业证书": "医师执业证",
        "护士证": "护士执业证",
        "硕士学位证书": "学位证书",
        "职称证": "专业技术资格证",
    }
    for alias, canonical in cases.items():
        assert parse_filename(f"{NAME}+{ID}+{alias}+1.png", TABLE).certificate_type == canonical


def test_ambiguous_alias_names_the_choices() -> None:
    p = parse_filename(f"{NAME}+{ID}+执业证书+1.jpg", TABLE)
    assert p.certificate_type is None and set(p.certificate_candidates) == {
        "医师执业证",
        "护士执业证",
    }


def test_page_forms_and_missing_parts() -> None:
    assert parse_filename(f"{NAME}{ID}学位证书第二页.jpeg", TABLE).page == 2
    assert parse_filename(f"{NAME} {ID} 学位证书 第3页.jpg", TABLE).page == 3
    assert "page" in parse_filename(f"{NAME}+{ID}+学位证书.jpg", TABLE).missing
    assert "id_number" in parse_filename("扫描件001.jpg", TABLE).missing
    assert "name" in parse_filename(f"{ID}+学位证书+1.jpg", TABLE).missing


def test_invalid_id_is_reported_with_problem_and_masked() -> None:
    bad = ID[:17] + ("0" if ID[17] != "0" else "1")
    p = parse_filename(f"{NAME}+{bad}+学位证书+1.jpg", TABLE)
    assert not p.id_valid and p.id_problem == "checksum"
    assert p.masked()["id_number"] == bad[:6] + "********" + bad[-4:]
    assert bad not in p.masked_filename(f"{NAME}+{bad}+学位证书+1.jpg")


def test_extra_types_file_extends_the_table(tmp_path) -> None:
    extra = tmp_path / "extra.toml"
    extra.write_text('[types."荣誉证书"]\naliases = ["获奖证书"]\n', encoding="utf-8")
    table = load_certificate_types(str(extra))
    assert parse_filename(f"{NAME}+{ID}+获奖证书+1.jpg", table).certificate_type == "荣誉证书"
    assert parse_filename(f"{NAME}+{ID}+获奖证书+1.jpg", TABLE).certificate_type is None


@settings(max_examples=60, deadline=None)
@given(
    sep=st.sampled_from(["+", "_", "-", " ", ""]),
    cert=st.sampled_from(sorted(TABLE.aliases)),
    page=st.integers(1, 30),
    page_style=st.sampled_from(["{}", "第{}页"]),
    ext=st.sampled_from(["jpg", "JPG", "jpeg", "png"]),
)
def test_any_separator_round_trips(
    sep: str, cert: str, page: int, page_style: str, ext: str
) -> None:
    if sep == "" and page_style == "{}" and cert[-1:].isdigit():
        return
    p = parse_filename(f"{NAME}{sep}{ID}{sep}{cert}{sep}{page_style.format(page)}.{ext}", TABLE)
    assert p.name == NAME and p.id_number == ID and p.page == page
    assert p.certificate_type == TABLE.lookup(cert)
    assert p.canonical() == f"{NAME}+{ID}+{p.certificate_type}+{page}.{ext.lower()}"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_parser_never_raises(name: str) -> None:
    parse_filename(name, TABLE)


@settings(max_examples=60, deadline=None)
@given(sep=st.sampled_from(["+", "_", " ", ""]), fullwidth=st.booleans(), lower_x=st.booleans())
def test_masked_filename_hides_the_birth_date(sep: str, fullwidth: bool, lower_x: bool) -> None:
    number = ID.lower() if lower_x else ID
    if fullwidth:
        number = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number)
    filename = f"{NAME}{sep}{number}{sep}学位证书{sep}1.jpg"
    parsed = parse_filename(filename, TABLE)
    assert parsed.id_number == ID.upper()
    masked = parsed.masked_filename(filename)
    assert number[6:14] not in masked and NAME not in masked
