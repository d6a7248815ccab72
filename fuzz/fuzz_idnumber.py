"""Fuzz ID-number handling in ``pipelines.idnumber``.

Normalising, repairing, checking and masking take any text and never raise; a
number called valid is 18 ASCII characters with the right GB 11643 check
character; a mask keeps at most the first 6 and last 4 characters.
"""

from __future__ import annotations

import re
import sys

import _common


def _load() -> None:
    import pipelines.idnumber  # noqa: F401


def test_one_input(data: bytes) -> None:
    from pipelines import idnumber

    text = data.decode("utf-8", "replace")
    normalized = idnumber.normalize_id_number(text)
    assert idnumber.normalize_id_number(normalized) == normalized, "normalisation is not idempotent"
    idnumber.repair_ocr_id_number(text)
    check = idnumber.check_id_number(text)
    if check.valid:
        assert re.fullmatch(r"[0-9]{17}[0-9X]", check.number), (
            f"valid but not ASCII: {check.number!r}"
        )
        assert idnumber.check_character(check.number[:17]) == check.number[17]
        assert check.birth_date is not None and check.sex in ("男", "女")
    masked = idnumber.mask_id_number(check.number)
    assert len(masked) == len(check.number)
    if len(check.number) > 10:
        assert masked[6:-4] == "*" * (len(check.number) - 10)
    idnumber.mask_name(text)
    idnumber.differing_positions(text[:40], normalized[:40])


if __name__ == "__main__":
    _common.run(test_one_input, _load)
    sys.exit(0)
