"""Field parsing from OCR lines, in the shapes PP-OCR really produces on cards."""

from __future__ import annotations

from datetime import date

import numpy as np

from pipelines.id_card.fields import front_field_scores, parse_back, parse_front
from pipelines.ocr import TextLine


def line(text: str, x: float, y: float, width: float = 100, height: float = 36) -> TextLine:
    box = np.array([[x, y], [x + width, y], [x + width, y + height], [x, y + height]], np.float32)
    return TextLine(text, 0.99, box)


def test_merged_labels_and_values() -> None:
    fields = parse_front(
        (
            line("姓名张晓明", 50, 70, 200),
            line("性别男", 50, 140),
            line("民族汉", 260, 140),
            line("出生1990年3月7日", 50, 205, 300),
            line("住址湖北省武汉市洪山区", 50, 270, 400),
            line("珞喻路1037号", 160, 315, 250),
            line("公民身份号码420111199003070019", 50, 445, 650),
        )
    )
    assert fields.name == "张晓明"
    assert fields.sex == "男" and fields.ethnicity == "汉"
    assert fields.birth_date == date(1990, 3, 7)
    assert fields.address == "湖北省武汉市洪山区珞喻路1037号"
    assert fields.id_number == "420111199003070019"


def test_split_lines_value_before_label_and_ocr_confusions() -> None:
    fields = parse_front(
        (
            line("欧阳玥", 160, 68, 120),  # value read before its label
            line("姓名", 52, 72, 78),
            line("性别", 52, 138, 78),
            line("女", 160, 139, 36),
            line("民族", 262, 137, 80),
            line("回", 360, 137, 36),
            line("出生1988年", 52, 205, 200),
            line("年11月2", 255, 206, 100),
            line("日", 360, 205, 30),
            line("住址", 52, 270, 78),
            line("北京市朝阳区", 160, 270, 300),
            line("公民身份号码", 52, 447, 168),
            line("ll0lO5l988ll02OO2x", 285, 445, 415),  # I/l for 1, O for 0, lower-case x
        )
    )
    assert fields.name == "欧阳玥"
    assert fields.sex == "女" and fields.ethnicity == "回"
    assert fields.birth_date == date(1988, 11, 2)
    assert fields.id_number == "11010519881102002X"


def test_full_width_digits_in_number() -> None:
    fields = parse_front(
        (line("姓名李四", 50, 70), line("４２０１０２１９９００１０１１２３４", 280, 445, 420))
    )
    assert fields.id_number == "420102199001011234"


def test_name_label_alone_does_not_borrow_the_next_row() -> None:
    fields = parse_front(
        (line("姓名", 52, 72, 78), line("性别男", 52, 138), line("民族汉", 260, 138))
    )
    assert fields.name is None


def test_back_validity_dates_and_long_term() -> None:
    back = parse_back(
        (
            line("中华人民共和国", 300, 50, 400),
            line("居民身份证", 300, 130, 400),
            line("签发机关武汉市公安局洪山分局", 170, 370, 500),
            line("有效期限2015.03.07-2035.03.07", 170, 440, 500),
        )
    )
    assert back.issuing_authority == "武汉市公安局洪山分局"
    assert back.valid_from == date(2015, 3, 7) and back.valid_until == date(2035, 3, 7)
    assert not back.long_term

    long_term = parse_back(
        (line("有效期限", 170, 440, 130), line("2010.05.01-长期", 320, 441, 300))
    )
    assert long_term.valid_from == date(2010, 5, 1)
    assert long_term.valid_until is None and long_term.long_term


def test_name_without_its_detected_label_is_the_row_above_sex() -> None:
    """The labels are the faintest print on a card; when 姓名 is not detected, the name is
    the row just above 性别/民族, if it holds only a name's characters."""
    fields = parse_front(
        (
            line("陈明晨", 150, 60, 130),
            line("性别", 50, 137, 60),
            line("女", 150, 134, 50),
            line("民族汉", 270, 130, 160),
            line("1987年1月22日", 155, 199, 240),
            line("公民身份号码", 60, 441, 140),
            line("420102198701221002", 300, 435, 480),
        )
    )
    assert fields.name == "陈明晨"
    assert (
        front_field_scores((line("陈明晨", 150, 60, 130), line("性别女", 50, 137, 100)))["name"]
        == 0.99
    )
    # an address-like row above the sex row is no name
    assert parse_front((line("湖北省武汉市1号", 150, 60), line("性别女", 50, 137))).name is None
