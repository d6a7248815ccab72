"""Hostile zips: each bad member refused with its own reason, the rest still read."""

from __future__ import annotations

import io
import random
import struct
import time
import zipfile
import zlib

import pytest

from pipelines.certificate.archive import ArchiveLimits, InvalidArchiveError, iter_archive
from pipelines.errors import InputError

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 200 + b"\xff\xd9"


def make_zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]], **kw) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(
        buffer, "w", compression=kw.get("compression", zipfile.ZIP_DEFLATED)
    ) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buffer.getvalue()


def refusals(data: bytes, **limits) -> list[tuple[str, str | None]]:
    return [
        (m.name, m.refusal.detail["refusal"] if m.refusal else None)
        for m in iter_archive(data, limits=ArchiveLimits(**limits) if limits else None)
    ]


def test_not_a_zip_raises_input_error() -> None:
    with pytest.raises(InvalidArchiveError) as info:
        list(iter_archive(b"not a zip at all"))
    assert isinstance(info.value, InputError)


def raw_name(data: bytes, placeholder: str, raw: bytes) -> bytes:
    """Put bytes zipfile would not write (GBK without the UTF-8 flag, NUL) into both headers."""
    assert len(placeholder.encode()) == len(raw)
    return data.replace(placeholder.encode(), raw)


def test_good_members_are_read_and_gbk_names_decoded() -> None:
    gbk = "张三+420102199003071234+医师资格证+1.jpg".encode("gbk")
    placeholder = "G" * len(gbk)
    data = make_zip(
        [("a/good.jpg", JPEG), (placeholder, JPEG), ("dir/", b""), ("__MACOSX/._good.jpg", b"x")]
    )
    data = raw_name(data, placeholder, gbk)
    members = list(iter_archive(data))
    assert [m.name for m in members] == ["good.jpg", "张三+420102199003071234+医师资格证+1.jpg"]
    assert all(m.data == JPEG and m.refusal is None for m in members)


def test_zip_slip_absolute_and_windows_paths() -> None:
    data = make_zip(
        [
            ("../../x.jpg", JPEG),
            ("/abs.jpg", JPEG),
            ("C:\\x.jpg", JPEG),
            ("..\\x.jpg", JPEG),
            ("ok.jpg", JPEG),
        ]
    )
    got = refusals(data)
    assert [r for _, r in got] == ["zip_slip"] * 4 + [None]
    assert all("/" not in name and "\\" not in name for name, _ in got)


def test_symlink_encrypted_bad_names_nested() -> None:
    link = zipfile.ZipInfo("link.jpg")
    link.create_system = 3
    link.external_attr = 0o120777 << 16
    nested = make_zip([("inner.jpg", JPEG)])
    data = make_zip(
        [
            (link, b"/etc/passwd"),
            ("nulXX.jpg", JPEG),
            ("a" * 300 + ".jpg", JPEG),
            ("inner.zip", nested),
            ("disguised.jpg", nested),
            ("ok.jpg", JPEG),
        ]
    )
    data = raw_name(data, "nulXX.jpg", b"nul\x00x.jpg")
    # mark one entry encrypted by flipping its flag bits in both headers
    enc = make_zip([("secret.jpg", JPEG)])
    enc = enc.replace(b"PK\x03\x04\x14\x00\x00\x00", b"PK\x03\x04\x14\x00\x01\x00", 1)
    enc = enc.replace(
        b"PK\x01\x02\x14\x03\x14\x00\x00\x00", b"PK\x01\x02\x14\x03\x14\x00\x01\x00", 1
    )
    assert [r for _, r in refusals(data)] == [
        "symlink",
        "bad_name",
        "bad_name",
        "nested_archive",
        "nested_archive",
        None,
    ]
    assert [r for _, r in refusals(enc)] == ["encrypted"]


def test_size_ratio_and_total_limits() -> None:
    zeros = b"\0" * (2 * 1024 * 1024)
    noise = random.Random(0).randbytes(20_000)
    data = make_zip([("bomb.jpg", zeros), ("a.jpg", noise), ("b.jpg", noise), ("c.jpg", JPEG)])
    got = refusals(data, max_ratio=50, max_total_uncompressed=30_000, max_member_bytes=1024 * 1024)
    assert got[0][1] in ("member_too_large", "compression_ratio")
    assert got[1][1] is None and got[2][1] == "total_size"


def test_forged_sizes_are_not_trusted() -> None:
    payload = b"\xff\xd8\xff" + b"A" * 500_000
    data = bytearray(make_zip([("forged.jpg", payload)]))
    # claim a tiny uncompressed size in the central directory and the local header
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, 10)
    struct.pack_into("<I", data, 22, 10)
    got = list(iter_archive(bytes(data)))
    assert got[0].refusal is not None or (got[0].data is not None and len(got[0].data) <= 10)


def _overlap_bomb(kernel_size: int = 1_000_000, entries: int = 50) -> bytes:
    """Fifield's overlapping-entry bomb: many central entries, one shared deflate stream."""
    kernel = zlib.compress(b"\0" * kernel_size)[2:-4]
    local = (
        struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            20,
            0,
            8,
            0,
            0,
            zlib.crc32(b"\0" * kernel_size),
            len(kernel),
            kernel_size,
            5,
            0,
        )
        + b"a.jpg"
        + kernel
    )
    central = b""
    for i in range(entries):
        name = f"{i:04d}.jpg".encode()
        central += (
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                20,
                20,
                0,
                8,
                0,
                0,
                zlib.crc32(b"\0" * kernel_size),
                len(kernel),
                kernel_size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                0,
            )
            + name
        )
    end = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, entries, entries, len(central), len(local), 0
    )
    return local + central + end


def test_overlapping_entry_bomb_is_refused_fast() -> None:
    started = time.perf_counter()
    got = refusals(_overlap_bomb())
    assert time.perf_counter() - started < 2
    assert {r for _, r in got} <= {"overlapping_entries", "compression_ratio", "bad_member"}
    assert all(r is not None for _, r in got)


def test_ten_thousand_empty_entries_in_well_under_two_seconds() -> None:
    data = make_zip([(f"{i}.jpg", b"") for i in range(10_000)], compression=zipfile.ZIP_STORED)
    started = time.perf_counter()
    members = list(iter_archive(data))
    assert time.perf_counter() - started < 2
    assert len(members) == 1001  # 1000 members, then one summary refusal
    assert members[-1].refusal.detail == {
        "refusal": "too_many_members",
        "skipped": 9000,
        "limit": 1000,
    }


def test_entry_count_over_hard_limit_refuses_the_archive() -> None:
    data = make_zip([(f"{i}.jpg", b"") for i in range(50)], compression=zipfile.ZIP_STORED)
    with pytest.raises(InvalidArchiveError):
        list(iter_archive(data, limits=ArchiveLimits(max_entries=10)))
