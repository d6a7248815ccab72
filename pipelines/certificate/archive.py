"""Reading a zip of certificate scans without trusting it.

Every member is judged on its own; a refused member becomes an
:class:`ArchiveMember` with a ``refusal`` reason (an ``ARCHIVE_*`` code of its own, never
a page code such as CORRUPT_IMAGE) and the rest still run. Nothing is written to disk.
Refused, with ``detail.refusal``:

    zip_slip            ``../x.jpg``, ``/abs.jpg``, ``C:\\x.jpg``, ``..\\x.jpg``
    symlink             a Unix symlink entry (external attributes)
    bad_name            NUL or control characters, or a name over ``max_name_bytes``
    encrypted           password-protected entry
    nested_archive      a zip/rar/7z/tar/gz inside (by name or by magic bytes)
    unsupported_compression   not stored or deflated
    member_too_large    declared or actual size over ``max_member_bytes``
    compression_ratio   more than ``max_ratio`` times its compressed size
    total_size          the archive's members together exceed ``max_total_uncompressed``
    overlapping_entries two entries share bytes (the overlapping-entry zip bomb)
    too_many_members    beyond ``max_members``: one summary member for all the rest
    bad_member          the member's data is corrupt (CRC, deflate stream, forged size)

Sizes in headers are never trusted: each member is read through a bounded stream
that stops one byte past the limit. Directories and macOS resource forks
(``__MACOSX/``, ``._*``, ``.DS_Store``, ``Thumbs.db``) are skipped silently.
"""

from __future__ import annotations

import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

from pipelines.certificate.messages import reason
from pipelines.certificate.result import CertReason, CertReasonCode
from pipelines.errors import InputError


class InvalidArchiveError(InputError):
    """The bytes are not a readable zip archive at all."""

    code = "INVALID_ARCHIVE"


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_members: int = 1000
    max_total_uncompressed: int = 1024 * 1024 * 1024  # 1 GiB across members
    max_member_bytes: int = 32 * 1024 * 1024  # room for over-3-MiB scans to be fixed
    max_ratio: float = 100.0
    max_name_bytes: int = 255
    max_central_directory_bytes: int = 64 * 1024 * 1024
    max_entries: int = 200_000  # listed entries beyond this: the archive is refused whole


@dataclass(frozen=True, slots=True)
class ArchiveMember:
    index: int  # position among the yielded members, from 0
    name: str  # safe display name: base name only, printable
    data: bytes | None  # None when refused
    refusal: CertReason | None


_NESTED_EXT = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".jar", ".cab", ".iso")
_NESTED_MAGIC = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"Rar!",
    b"7z\xbc\xaf\x27\x1c",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ\x00",
)
_JUNK = re.compile(r"(^|/)(__MACOSX/|\._[^/]*$|\.DS_Store$|Thumbs\.db$|desktop\.ini$)", re.I)
_CHUNK = 1 << 16

_REFUSALS: dict[str, CertReasonCode] = {
    "zip_slip": CertReasonCode.ARCHIVE_UNSAFE_PATH,
    "symlink": CertReasonCode.ARCHIVE_SYMLINK,
    "bad_name": CertReasonCode.ARCHIVE_BAD_NAME,
    "encrypted": CertReasonCode.ARCHIVE_ENCRYPTED,
    "nested_archive": CertReasonCode.ARCHIVE_NESTED,
    "unsupported_compression": CertReasonCode.ARCHIVE_UNSUPPORTED_COMPRESSION,
    "member_too_large": CertReasonCode.ARCHIVE_MEMBER_TOO_LARGE,
    "compression_ratio": CertReasonCode.ARCHIVE_BOMB,
    "overlapping_entries": CertReasonCode.ARCHIVE_BOMB,
    "total_size": CertReasonCode.ARCHIVE_TOO_LARGE,
    "too_many_members": CertReasonCode.ARCHIVE_TOO_MANY_FILES,
    "bad_member": CertReasonCode.ARCHIVE_MEMBER_CORRUPT,
}


def _refusal(kind: str, **detail: object) -> CertReason:
    return reason(_REFUSALS[kind], refusal=kind, **detail)


def _decoded_name(info: zipfile.ZipInfo) -> str:
    """Zips made on Chinese Windows store GBK names without the UTF-8 flag."""
    if info.flag_bits & 0x800:
        return info.orig_filename
    try:
        raw = info.orig_filename.encode("cp437")
    except UnicodeEncodeError:
        return info.orig_filename
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.orig_filename


def _display_name(name: str) -> str:
    base = re.split(r"[\\/]", name)[-1] or name
    cleaned = "".join(ch if unicodedata.category(ch)[0] != "C" else "?" for ch in base)
    return cleaned[:200]


def _unsafe_path(name: str) -> bool:
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return True
    return any(part == ".." for part in re.split(r"[\\/]", name))


def _check_entry_count(data: bytes, limits: ArchiveLimits) -> None:
    """Refuse, before zipfile builds a ZipInfo per entry, a directory absurdly large."""
    tail = data[-(65535 + 22) :]
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return  # zipfile decides
    _, _, _, _, total, cd_size, _, _ = struct.unpack("<4sHHHHIIH", tail[at : at + 22])
    if total != 0xFFFF and total > limits.max_entries:
        raise InvalidArchiveError(
            f"archive lists {total} entries, over the limit of {limits.max_entries}"
        )
    if cd_size != 0xFFFFFFFF and cd_size > limits.max_central_directory_bytes:
        raise InvalidArchiveError(f"archive directory is {cd_size} bytes, over the limit")


def _overlapping(infos: list[zipfile.ZipInfo], data: bytes) -> set[int]:
    """Indices of entries whose local data overlaps another entry's."""
    spans = []
    for i, info in enumerate(infos):
        start = info.header_offset
        if start < 0 or start + 30 > len(data):  # a forged directory can point anywhere
            continue
        name_len, extra_len = struct.unpack("<HH", data[start + 26 : start + 30])
        end = start + 30 + name_len + extra_len + info.compress_size
        spans.append((start, end, i))
    spans.sort()
    bad: set[int] = set()
    reach, reach_index = -1, -1  # furthest end so far, and whose
    for start, end, index in spans:
        if start < reach:
            bad.update((reach_index, index))
        if end > reach:
            reach, reach_index = end, index
    # several entries pointing at the same local header are the classic overlap
    seen: dict[int, int] = {}
    for info_index, info in enumerate(infos):
        if info.header_offset in seen:
            bad.update((seen[info.header_offset], info_index))
        seen[info.header_offset] = info_index
    return bad


def iter_archive(data: bytes, *, limits: ArchiveLimits | None = None) -> Iterator[ArchiveMember]:
    """Yield each file member of a zip, read or refused. Raises :class:`InvalidArchiveError`
    (an :class:`~pipelines.errors.InputError`) only if ``data`` is not a zip at all."""
    limits = limits or ArchiveLimits()
    _check_entry_count(data, limits)
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        infos = archive.infolist()
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        ValueError,
        struct.error,
        NotImplementedError,
    ) as exc:
        raise InvalidArchiveError(f"not a readable zip archive: {exc}") from exc
    overlapping = _overlapping(infos, data)
    total = 0
    index = 0
    files = [
        (i, info)
        for i, info in enumerate(infos)
        # not ZipInfo.is_dir(): it raises IndexError on an empty name (Python 3.11)
        if not info.filename.endswith("/") and not _JUNK.search(info.filename)
    ]
    for position, (i, info) in enumerate(files):
        if index >= limits.max_members:
            rest = len(files) - position
            yield ArchiveMember(
                index,
                f"（其余 {rest} 个文件）",
                None,
                _refusal("too_many_members", skipped=rest, limit=limits.max_members),
            )
            return
        raw_name = _decoded_name(info)
        name = _display_name(raw_name)
        refusal = _judge(info, raw_name, i in overlapping, limits)
        if refusal is None and "\x00" in info.orig_filename:  # zipfile cuts names at NUL
            refusal = _refusal("bad_name")
        if refusal is None and total >= limits.max_total_uncompressed:
            refusal = _refusal("total_size", limit=limits.max_total_uncompressed)
        if refusal is not None:
            yield ArchiveMember(index, name, None, refusal)
            index += 1
            continue
        budget = min(
            limits.max_member_bytes,
            limits.max_total_uncompressed - total,
            int(max(info.compress_size, 1) * limits.max_ratio),
        )
        content, refusal = _read_bounded(archive, info, budget, limits)
        if refusal is None and content is not None:
            total += len(content)
            if content.startswith(_NESTED_MAGIC):
                content, refusal = None, _refusal("nested_archive")
        yield ArchiveMember(index, name, content if refusal is None else None, refusal)
        index += 1


def _judge(
    info: zipfile.ZipInfo, name: str, overlapping: bool, limits: ArchiveLimits
) -> CertReason | None:
    if "\x00" in name or any(unicodedata.category(ch) == "Cc" for ch in name):
        return _refusal("bad_name")
    if len(name.encode("utf-8", "surrogatepass")) > limits.max_name_bytes:
        return _refusal("bad_name", name_bytes=len(name.encode("utf-8", "surrogatepass")))
    if _unsafe_path(name):
        return _refusal("zip_slip")
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_ISLNK(mode):
        return _refusal("symlink")
    if info.flag_bits & 0x1:
        return _refusal("encrypted")
    if name.lower().endswith(_NESTED_EXT):
        return _refusal("nested_archive")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return _refusal("unsupported_compression", method=info.compress_type)
    if overlapping:
        return _refusal("overlapping_entries")
    if info.file_size > limits.max_member_bytes:
        return _refusal("member_too_large", declared=info.file_size, limit=limits.max_member_bytes)
    if info.file_size > max(info.compress_size, 1) * limits.max_ratio:
        return _refusal("compression_ratio", declared=info.file_size, compressed=info.compress_size)
    return None


def _read_bounded(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, limits: ArchiveLimits
) -> tuple[bytes | None, CertReason | None]:
    """Read at most ``budget`` bytes; one more means the header lied."""
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while True:
                chunk = stream.read(min(_CHUNK, budget + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > budget:
                    if size > limits.max_member_bytes:
                        return None, _refusal("member_too_large", limit=limits.max_member_bytes)
                    if size > max(info.compress_size, 1) * limits.max_ratio:
                        return None, _refusal("compression_ratio", compressed=info.compress_size)
                    return None, _refusal("total_size", limit=limits.max_total_uncompressed)
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        ValueError,
        struct.error,
        OSError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        return None, _refusal("bad_member", error=str(exc)[:200])
    return b"".join(chunks), None
