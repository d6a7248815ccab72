"""Fuzz certificate filename parsing (姓名+身份证号+证书名称+第几页).

``parse_filename`` must never raise; its masked forms must never contain the full
ID number; a canonical name it produces must parse back to the same parts.
"""

from __future__ import annotations

import sys

import _common


def _load() -> None:
    import pipelines.certificate.filename  # noqa: F401


_TABLE = None


def _table():  # type: ignore[no-untyped-def]
    global _TABLE
    if _TABLE is None:
        from pipelines.certificate.types import load_certificate_types

        _TABLE = load_certificate_types()
    return _TABLE


def test_one_input(data: bytes) -> None:
    from pipelines.certificate.filename import parse_filename

    name = data.decode("utf-8", "replace")
    parsed = parse_filename(name, _table())
    masked = parsed.masked()
    if parsed.id_number and len(parsed.id_number) > 10:
        assert parsed.id_number not in str(masked.get("id_number")), "masked ID number leaks"
        assert parsed.id_number.upper() not in parsed.masked_filename(name).upper(), (
            "masked filename leaks"
        )
    canonical = parsed.canonical()
    if canonical is not None:
        again = parse_filename(canonical, _table())
        assert (again.name, again.id_number, again.certificate_type, again.page) == (
            parsed.name,
            parsed.id_number,
            parsed.certificate_type,
            parsed.page,
        ), canonical


if __name__ == "__main__":
    _common.run(test_one_input, _load)
    sys.exit(0)
