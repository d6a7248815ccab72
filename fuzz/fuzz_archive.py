"""Fuzz zip listing: ``pipelines.certificate.archive.iter_archive``.

Only :class:`InvalidArchiveError` may escape; every member is either read or refused
with a reason, names are bare and printable, and nothing is larger than its limits.
"""

from __future__ import annotations

import sys

import _common


def _load() -> None:
    import pipelines.certificate.archive  # noqa: F401


def test_one_input(data: bytes) -> None:
    from pipelines.certificate.archive import ArchiveLimits, InvalidArchiveError, iter_archive

    limits = ArchiveLimits(
        max_members=50, max_total_uncompressed=4 << 20, max_member_bytes=1 << 20, max_entries=5000
    )
    try:
        members = list(iter_archive(data, limits=limits))
    except InvalidArchiveError:
        return
    total = 0
    for i, member in enumerate(members):
        assert member.index == i
        assert (member.data is None) == (member.refusal is not None)
        assert "/" not in member.name and "\\" not in member.name and "\x00" not in member.name
        if member.data is not None:
            assert len(member.data) <= limits.max_member_bytes
            total += len(member.data)
        else:
            assert member.refusal is not None and member.refusal.detail.get("refusal")
    assert total <= limits.max_total_uncompressed
    assert len(members) <= limits.max_members + 1


if __name__ == "__main__":
    _common.run(test_one_input, _load)
    sys.exit(0)
