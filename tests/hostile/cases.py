"""The hostile-input cases: what each file is, and the clean outcome it must get.

A case never expects a 5xx, an uncaught exception, a hang or a memory blow-up;
those are checked for every case by the replay tests. What differs per case is:

* ``pipeline``: the outcome at the library level: an exception class from
  :mod:`pipelines.errors` for :func:`pipelines.io.read_header`, or ``None`` when the
  bytes are a valid JPEG/PNG that may be decoded;
* ``cert_reason``: the reason code ``validate_certificate`` must report (``None``: any);
* ``id_http``: the HTTP status (and error code) ``POST /v1/id-verifications`` must
  answer with this file as the front image;
* ``seconds`` / ``rss_mb``: the time and memory-growth bounds of one replay.

Archive cases list the refusal (``detail.refusal`` of :mod:`pipelines.certificate.archive`)
expected for each member, in order; ``"ok"`` is a member that is read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.errors import CorruptImageError, ImageTooLargeError, UnsupportedFormatError
from tests.hostile import zipforge

CORPUS = Path(__file__).parent / "corpus"
FUZZ_CRASHES = CORPUS / "fuzz-crashes"


@dataclass(frozen=True)
class ImageCase:
    path: str  # under corpus/
    pipeline: type[Exception] | None
    cert_reason: str | None
    id_http: tuple[int, str | None]  # status, error code (None: any / not an error)
    seconds: float = 0.1  # pipeline-level bound (the "rejected before decoding in 100 ms")
    rss_mb: float = 50.0
    http_seconds: float = 1.0  # whole request over loopback, fake-free server

    @property
    def name(self) -> str:
        return self.path

    def data(self) -> bytes:
        return (CORPUS / self.path).read_bytes()

    @property
    def filename(self) -> str:
        return Path(self.path).name


IMAGE_CASES: list[ImageCase] = [
    # pixel bombs: refused from the header, before a pixel is decoded
    ImageCase(
        "pixel/png_30000x30000_1bit.png",
        ImageTooLargeError,
        "CORRUPT_IMAGE",
        (413, "IMAGE_TOO_LARGE"),
    ),
    ImageCase(
        "pixel/png_8000x8000_rgb.png", ImageTooLargeError, "CORRUPT_IMAGE", (413, "IMAGE_TOO_LARGE")
    ),
    ImageCase(
        "pixel/png_12000x12000_rgb.png",
        ImageTooLargeError,
        "CORRUPT_IMAGE",
        (413, "IMAGE_TOO_LARGE"),
    ),
    ImageCase(
        "pixel/jpeg_header_65500x65500.jpg",
        ImageTooLargeError,
        "CORRUPT_IMAGE",
        (413, "IMAGE_TOO_LARGE"),
    ),
    ImageCase("pixel/png_ihdr_0x0.png", CorruptImageError, "CORRUPT_IMAGE", (422, "CORRUPT_IMAGE")),
    # type spoofing: named .jpg, sent as image/jpeg, never parsed
    *[
        ImageCase(
            f"spoof/{n}", UnsupportedFormatError, "UNSUPPORTED_FORMAT", (415, "UNSUPPORTED_FORMAT")
        )
        for n in (
            "elf.jpg",
            "html.jpg",
            "svg.jpg",
            "pdf.jpg",
            "tiff.jpg",
            "eps.jpg",
            "eps_dos_binary.jpg",
            "psd.jpg",
            "gif.jpg",
        )
    ],
    ImageCase(
        "spoof/empty.jpg", UnsupportedFormatError, "EMPTY_FILE", (422, "INVALID_FIELD")
    ),
    ImageCase(
        "spoof/jpeg_magic_then_html.jpg", CorruptImageError, "CORRUPT_IMAGE", (422, "CORRUPT_IMAGE")
    ),
    # a valid header over a truncated body: the header passes, the decode must fail cleanly
    ImageCase("spoof/png_truncated.png", None, "CORRUPT_IMAGE", (422, None)),
    # valid JPEGs carrying something else: decoded (only as JPEG), previews re-encoded
    ImageCase("payload/shell.php.jpg", None, "BAD_FILENAME", (200, None)),
    ImageCase("payload/jpeg_zip_script_after_eoi.jpg", None, None, (200, None)),
    ImageCase("payload/exif_html_gps.jpg", None, None, (200, None)),
]


@dataclass(frozen=True)
class ArchiveCase:
    name: str
    make: Callable[[], bytes]
    refusals: tuple[str, ...] | None  # per member, in order; None: see ``invalid``
    invalid: bool = False  # the whole upload is not a zip: InvalidArchiveError / 4xx
    seconds: float = 2.0
    rss_mb: float = 100.0
    members_at_least: int = 0  # for huge listings: how many members must be yielded
    # whole upload request at the service, which also stores and seals every readable member
    http_seconds: float = 2.0


def _corpus(rel: str) -> Callable[[], bytes]:
    return lambda: (CORPUS / rel).read_bytes()


ARCHIVE_CASES: list[ArchiveCase] = [
    ArchiveCase("zip_slip", _corpus("archive/zip_slip.zip"), ("zip_slip",) * 5 + ("ok",)),
    ArchiveCase("symlinks", _corpus("archive/symlinks.zip"), ("symlink", "symlink", "ok")),
    ArchiveCase(
        "bad_names", _corpus("archive/bad_names.zip"), ("bad_name", "bad_name", "bad_name", "ok")
    ),
    ArchiveCase("encrypted", _corpus("archive/encrypted.zip"), ("encrypted", "ok")),
    ArchiveCase(
        "overlap_bomb", _corpus("archive/overlap_bomb.zip"), ("overlapping_entries",) * 200
    ),
    ArchiveCase(
        "overlap_spans", _corpus("archive/overlap_spans.zip"), ("overlapping_entries",) * 2
    ),
    ArchiveCase("nested", _corpus("archive/nested.zip"), ("nested_archive",) * 3 + ("ok",)),
    ArchiveCase(
        "forged_size", _corpus("archive/forged_size.zip"), None
    ),  # refused, reason may vary
    ArchiveCase("bad_method", _corpus("archive/bad_method.zip"), ("unsupported_compression", "ok")),
    ArchiveCase("not_a_zip", _corpus("archive/not_a_zip.zip"), None, invalid=True),
    # built on the fly (too big to commit)
    ArchiveCase(
        "deflate_10GB_declared",
        lambda: zipforge.ten_gb_deflate(honest_header=True),
        ("member_too_large",),
    ),
    ArchiveCase(
        "deflate_10GB_lying_header", lambda: zipforge.ten_gb_deflate(honest_header=False), None
    ),
    # The service stores and seals the first 1000 members before refusing the listing (422):
    # ~2.8 s on 2 cores, see docs/hostile.md "Known gaps".
    ArchiveCase(
        "empty_entries_10000",
        lambda: zipforge.many_empty_entries(10_000),
        None,
        members_at_least=1,
        http_seconds=8.0,
    ),
]


# protocol-level cases (service only): described here, built in test_service_hostile.py
@dataclass(frozen=True)
class RequestCase:
    name: str
    statuses: tuple[int, ...]
    seconds: float
    note: str = ""
    extra: dict[str, object] = field(default_factory=dict)


REQUEST_CASES: list[RequestCase] = [
    RequestCase("body_11MB_with_length", (413,), 1.0, "refused from Content-Length, nothing read"),
    RequestCase(
        "body_11MB_chunked",
        (413,),
        2.0,
        "counted on arrival; server stops reading at cap + a little",
    ),
    RequestCase(
        "body_11MB_lying_length", (400, 413), 2.0, "Content-Length says 1000, 11 MB follow"
    ),
    RequestCase("fields_1001", (400, 413), 1.0),
    RequestCase("files_1001", (400, 413), 1.0),
    RequestCase("text_field_2MB", (413,), 1.0),
    RequestCase("crlf_preamble_200KB", (400, 413, 422), 1.0),
    RequestCase("boundary_200_chars", (400,), 1.0),
    RequestCase("boundary_pathological_chars", (400, 415, 422), 1.0),
    RequestCase("part_headers_10000", (400, 413), 1.0),
    RequestCase("unterminated_body", (400,), 1.0),
]
