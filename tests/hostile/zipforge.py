"""Hand-built zip archives, for the entries no honest zip writer produces.

``zipfile`` refuses to write forged sizes, overlapping entries, symlink modes
with arbitrary data, or a 10 GB member from 10 MB of deflate; :func:`build_zip`
writes local headers, the central directory and the end record from plain
:class:`Entry` values, so each lie is one field.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

STORED = 0
DEFLATED = 8
UNIX = 3
S_IFLNK = 0o120777
S_IFREG = 0o100644


@dataclass
class Entry:
    name: bytes
    data: bytes = b""  # the bytes stored after the local header (already compressed)
    method: int = STORED
    crc: int | None = None  # None: CRC of ``data`` (right for stored entries)
    file_size: int | None = None  # None: len(data)
    compress_size: int | None = None  # None: len(data)
    flags: int = 0x800  # UTF-8 names
    create_system: int = UNIX
    mode: int = S_IFREG
    header_offset: int | None = None  # None: where its local header is written
    local: bool = True  # False: central directory entry only (reuses header_offset)
    zip64: bool = False  # sizes in a ZIP64 extra field
    extra: bytes = field(default=b"")


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def zero_deflate_stream(total_bytes: int, block: int = 1 << 20) -> bytes:
    """Raw deflate of ``total_bytes`` zeros, built by repeating one flushed block, so a
    10 GB member costs ~10 MB and milliseconds, not 10 GB of compression."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(block)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    blocks, rest = divmod(total_bytes, block)
    tail = compressor.compress(bytes(rest)) + compressor.flush()
    return first + again * (blocks - 1) + tail


def _zip64_extra(entry: Entry, size: int, csize: int, offset: int | None) -> bytes:
    body = struct.pack("<QQ", size, csize)
    if offset is not None:
        body += struct.pack("<Q", offset)
    return struct.pack("<HH", 0x0001, len(body)) + body


def build_zip(entries: Sequence[Entry], *, comment: bytes = b"") -> bytes:
    out = bytearray()
    central = bytearray()
    offsets: list[int] = []
    for entry in entries:
        if entry.local:
            offsets.append(len(out))
        else:
            assert entry.header_offset is not None
            offsets.append(entry.header_offset)
        size = len(entry.data) if entry.file_size is None else entry.file_size
        csize = len(entry.data) if entry.compress_size is None else entry.compress_size
        crc = zlib.crc32(entry.data) if entry.crc is None else entry.crc
        if entry.local:
            extra = (_zip64_extra(entry, size, csize, None) if entry.zip64 else b"") + entry.extra
            out += struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                45 if entry.zip64 else 20,
                entry.flags,
                entry.method,
                0,
                0x21,
                crc,
                0xFFFFFFFF if entry.zip64 else csize,
                0xFFFFFFFF if entry.zip64 else size,
                len(entry.name),
                len(extra),
            )
            out += entry.name + extra + entry.data
    for entry, offset in zip(entries, offsets, strict=True):
        size = len(entry.data) if entry.file_size is None else entry.file_size
        csize = len(entry.data) if entry.compress_size is None else entry.compress_size
        crc = zlib.crc32(entry.data) if entry.crc is None else entry.crc
        header_offset = offset if entry.header_offset is None else entry.header_offset
        extra = (_zip64_extra(entry, size, csize, None) if entry.zip64 else b"") + entry.extra
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            (entry.create_system << 8) | 63,
            45 if entry.zip64 else 20,
            entry.flags,
            entry.method,
            0,
            0x21,
            crc,
            0xFFFFFFFF if entry.zip64 else csize,
            0xFFFFFFFF if entry.zip64 else size,
            len(entry.name),
            len(extra),
            0,
            0,
            0,
            (entry.mode & 0xFFFF) << 16,
            header_offset,
        )
        central += entry.name + extra
    cd_offset = len(out)
    out += central
    count = len(entries)
    out += struct.pack(
        "<4sHHHHIIH",
        b"PK\x05\x06",
        0,
        0,
        min(count, 0xFFFF),
        min(count, 0xFFFF),
        len(central),
        cd_offset,
        len(comment),
    )
    return bytes(out + comment)


def many_empty_entries(count: int) -> bytes:
    return build_zip([Entry(f"e{i:05d}.jpg".encode()) for i in range(count)])


def ten_gb_deflate(*, honest_header: bool) -> bytes:
    """One member inflating to 10 GiB of zeros from ~10 MB. With ``honest_header`` the
    sizes are declared (ZIP64); otherwise the header claims 1000 bytes and only the
    bounded reader can notice."""
    total = 10 * 1024**3
    stream = zero_deflate_stream(total)
    if honest_header:
        return build_zip(
            [
                Entry(
                    b"bomb.jpg",
                    stream,
                    DEFLATED,
                    crc=0,
                    file_size=total,
                    compress_size=len(stream),
                    zip64=True,
                )
            ]
        )
    return build_zip(
        [Entry(b"bomb.jpg", stream, DEFLATED, crc=0, file_size=1000, compress_size=len(stream))]
    )
