"""Write the hostile-input corpus into ``tests/hostile/corpus/``.

    .venv/bin/python -m tests.hostile.generate          # (re)write every file
    .venv/bin/python -m tests.hostile.generate --check  # exit 1 if the corpus is stale

Deterministic: the same bytes on every run, so the committed corpus only changes
when a case changes. Everything on disk stays small (the largest is the
12000x12000 PNG, ~0.4 MB); the big ones (11 MB bodies, the 10 GB deflate member,
10,000-entry zips) are built on the fly by :mod:`tests.hostile.cases`.
What each file is and what must happen to it lives in :mod:`tests.hostile.cases`.
"""

from __future__ import annotations

import argparse
import io
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from tests.hostile.zipforge import DEFLATED, S_IFLNK, Entry, build_zip, deflate

CORPUS = Path(__file__).parent / "corpus"


# -- building blocks -------------------------------------------------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def real_png_bomb(width: int, height: int, *, bit_depth: int, colour_type: int) -> bytes:
    """A complete, valid PNG of ``width`` x ``height`` black pixels: it *would* decode, into
    hundreds of megabytes. The IDAT is compressed row by row so building it stays small."""
    channels = {0: 1, 2: 3}[colour_type]
    row = b"\x00" + bytes((width * channels * bit_depth + 7) // 8)  # filter byte + pixels
    compressor = zlib.compressobj(9)
    parts = []
    rows_per_step = max(1, (8 << 20) // len(row))
    step = row * rows_per_step
    done = 0
    while done < height:
        n = min(rows_per_step, height - done)
        parts.append(compressor.compress(step if n == rows_per_step else row * n))
        done += n
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def page_pixels(text: str = "CERTIFICATE 1990") -> np.ndarray:
    """A small, plain document page (BGR)."""
    page = np.full((700, 500, 3), 245, np.uint8)
    for i, y in enumerate(range(80, 640, 48)):
        cv2.putText(
            page,
            f"{text} {i:02d}",
            (40, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.9,
            (30, 30, 30),
            2,
            cv2.LINE_AA,
        )
    return page


def jpeg(
    pixels: np.ndarray | None = None, *, exif: bytes | None = None, quality: int = 80
) -> bytes:
    image = Image.fromarray((page_pixels() if pixels is None else pixels)[:, :, ::-1])
    buffer = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(buffer, "JPEG", quality=quality, **kwargs)
    return buffer.getvalue()


def png_small() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(page_pixels()[:, :, ::-1]).save(buffer, "PNG")
    return buffer.getvalue()


def with_com_segment(data: bytes, comment: bytes) -> bytes:
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]


HTML_PAYLOAD = (
    b"<html><body><script>alert(document.cookie)</script><img src=x onerror=alert(1)></body></html>"
)


def exif_html_and_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = '<script>alert("exif")</script><img src=x onerror=alert(2)>'  # ImageDescription
    exif[0x010F] = "<b>EvilCam</b>"  # Make
    gps = {1: "N", 2: (30.0, 35.0, 12.5), 3: "E", 4: (114.0, 18.0, 1.25), 5: 0, 6: 23.0}
    exif[0x8825] = gps  # GPS IFD
    return jpeg(exif=exif.tobytes())


def jpeg_with_zip_and_script() -> bytes:
    """A valid JPEG; after its end marker a ZIP with an HTML member, then a bare script."""
    trailer_zip = build_zip(
        [
            Entry(
                b"evil.html",
                deflate(HTML_PAYLOAD),
                DEFLATED,
                crc=zlib.crc32(HTML_PAYLOAD),
                file_size=len(HTML_PAYLOAD),
            )
        ]
    )
    return jpeg() + trailer_zip + b"<script>alert('after EOI')</script>"


def elf_header() -> bytes:
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, 0x3E, 1, 0x401000, 64, 0, 0, 64, 56, 1, 64, 0, 0
    )
    return header + b"\x00" * 120 + b"/bin/sh\x00"


def tiff_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(page_pixels()[:, :, ::-1]).save(buffer, "TIFF", compression="tiff_deflate")
    return buffer.getvalue()


def gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(page_pixels()[:, :, ::-1]).convert("P").save(buffer, "GIF")
    return buffer.getvalue()


def eps_bytes() -> bytes:
    """Encapsulated PostScript: Pillow's EPS plugin would hand this to Ghostscript."""
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n%%EndComments\n"
        b"(/etc/passwd) (r) file 100 string readstring pop print\n"
        b"newpath 0 0 moveto 100 100 lineto stroke showpage\n%%EOF\n"
    )


def eps_dos_binary() -> bytes:
    """DOS EPS binary header (C5 D0 D3 C6) wrapping PostScript."""
    ps = eps_bytes()
    return struct.pack("<4sIIIIIIH", b"\xc5\xd0\xd3\xc6", 30, len(ps), 0, 0, 0, 0, 0xFFFF) + ps


def psd_bytes() -> bytes:
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, 64, 64, 8, 3)
    return header + struct.pack(">I", 0) * 3 + struct.pack(">H", 0) + bytes(64 * 64 * 3)


def pdf_bytes() -> bytes:
    return (
        b"%PDF-1.7\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction 3 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
        b"3 0 obj<</S/JavaScript/JS(app.alert\\('pdf'\\))>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" '
    b'onload="alert(1)"><script>alert(document.domain)</script>'
    b'<rect width="100" height="100"/></svg>'
)


# -- archives ----------------------------------------------------------------------------------

SMALL_JPEG_NAME = "张三+110105194912310026+医师资格证+1.jpg"


def _member(name: str | bytes, data: bytes | None = None, **kw: object) -> Entry:
    raw = name.encode() if isinstance(name, str) else name
    return Entry(raw, data if data is not None else small_jpeg(), **kw)  # type: ignore[arg-type]


def small_jpeg() -> bytes:
    return jpeg(cv2.resize(page_pixels(), (100, 140), interpolation=cv2.INTER_AREA), quality=60)


def archive_zip_slip() -> bytes:
    return build_zip(
        [
            _member("../../x.jpg"),
            _member("/abs.jpg"),
            _member("C:\\x.jpg"),
            _member("..\\x.jpg"),
            _member("ok/../../../etc/x.jpg"),
            _member(SMALL_JPEG_NAME),
        ]
    )


def archive_symlink() -> bytes:
    return build_zip(
        [
            Entry(b"link.jpg", b"/etc/passwd", mode=S_IFLNK),
            Entry(b"link2.jpg", b"../../../../root/.ssh/id_rsa", mode=S_IFLNK),
            _member(SMALL_JPEG_NAME),
        ]
    )


def archive_bad_names() -> bytes:
    return build_zip(
        [
            _member(b"nul\x00name.jpg"),
            _member(b"ctrl\x07bell.jpg"),
            _member(("a" * 300) + ".jpg"),
            _member(SMALL_JPEG_NAME),
        ]
    )


def archive_encrypted() -> bytes:
    # The traditional-encryption flag on honest-looking data: must be refused, not decrypted.
    return build_zip(
        [_member("secret.jpg", os_random_like(4096), flags=0x801), _member(SMALL_JPEG_NAME)]
    )


def os_random_like(n: int) -> bytes:
    return bytes((i * 131 + 7) % 256 for i in range(n))  # deterministic "ciphertext"


def archive_overlap_bomb() -> bytes:
    """Fifield-style: many central entries share one deflated kernel (same local header),
    plus a second form where one entry's data span covers the next local header."""
    kernel_plain = bytes(1 << 20)
    kernel = deflate(kernel_plain)
    crc = zlib.crc32(kernel_plain)
    shared = [Entry(b"k0.jpg", kernel, DEFLATED, crc=crc, file_size=len(kernel_plain))]
    shared += [
        Entry(
            f"k{i}.jpg".encode(),
            kernel,
            DEFLATED,
            crc=crc,
            file_size=len(kernel_plain),
            header_offset=0,
            local=False,
        )
        for i in range(1, 200)
    ]
    return build_zip(shared)


def archive_overlap_spans() -> bytes:
    """The first entry claims the second entry's local header and data as its own bytes."""
    inner = _member("inner.jpg")
    outer = Entry(b"outer.jpg", b"", crc=0)
    outer.compress_size = outer.file_size = 30 + len(inner.name) + len(inner.data)
    return build_zip([outer, inner])


def archive_nested() -> bytes:
    inner = build_zip([_member(SMALL_JPEG_NAME)])
    return build_zip(
        [
            Entry(b"inner.zip", inner),
            Entry(b"disguised.jpg", inner),
            Entry(b"gz.jpg", b"\x1f\x8b\x08\x00" + bytes(64)),
            _member(SMALL_JPEG_NAME),
        ]
    )


def archive_forged_size() -> bytes:
    """Declares 100 bytes for a member that inflates to 4 MiB: the bounded reader must stop."""
    plain = bytes(4 << 20)
    return build_zip(
        [
            Entry(b"forged.jpg", deflate(plain), DEFLATED, crc=zlib.crc32(plain), file_size=100),
            Entry(b"badcrc.jpg", small_jpeg(), crc=0xDEADBEEF),
            _member(SMALL_JPEG_NAME),
        ]
    )


def archive_bad_method() -> bytes:
    return build_zip(
        [Entry(b"bzip.jpg", b"BZh91AY&SY" + bytes(40), method=12), _member(SMALL_JPEG_NAME)]
    )


def not_a_zip() -> bytes:
    return b"PK\x03\x04" + bytes(100)


# -- the corpus ----------------------------------------------------------------------------------

FILES: dict[str, Callable[[], bytes]] = {
    # pixel bombs: valid PNGs that would decode into hundreds of megabytes
    "pixel/png_30000x30000_1bit.png": lambda: real_png_bomb(
        30000, 30000, bit_depth=1, colour_type=0
    ),
    "pixel/png_8000x8000_rgb.png": lambda: real_png_bomb(8000, 8000, bit_depth=8, colour_type=2),
    "pixel/png_12000x12000_rgb.png": lambda: real_png_bomb(
        12000, 12000, bit_depth=8, colour_type=2
    ),
    "pixel/jpeg_header_65500x65500.jpg": lambda: _jpeg_with_sof_size(65500, 65500),
    "pixel/png_ihdr_0x0.png": lambda: _png_ihdr_only(0, 0),
    # type spoofing: named .jpg, sent as image/jpeg
    "spoof/elf.jpg": elf_header,
    "spoof/html.jpg": lambda: HTML_PAYLOAD,
    "spoof/svg.jpg": lambda: SVG,
    "spoof/pdf.jpg": pdf_bytes,
    "spoof/tiff.jpg": tiff_bytes,
    "spoof/eps.jpg": eps_bytes,
    "spoof/eps_dos_binary.jpg": eps_dos_binary,
    "spoof/psd.jpg": psd_bytes,
    "spoof/gif.jpg": gif_bytes,
    "spoof/jpeg_magic_then_html.jpg": lambda: b"\xff\xd8\xff\xe0" + HTML_PAYLOAD,
    "spoof/png_truncated.png": lambda: png_small()[:300],
    "spoof/empty.jpg": lambda: b"",
    # valid images carrying something else
    "payload/shell.php.jpg": lambda: with_com_segment(jpeg(), b"<?php system($_GET['c']); ?>"),
    "payload/jpeg_zip_script_after_eoi.jpg": jpeg_with_zip_and_script,
    "payload/exif_html_gps.jpg": exif_html_and_gps,
    # archives
    "archive/zip_slip.zip": archive_zip_slip,
    "archive/symlinks.zip": archive_symlink,
    "archive/bad_names.zip": archive_bad_names,
    "archive/encrypted.zip": archive_encrypted,
    "archive/overlap_bomb.zip": archive_overlap_bomb,
    "archive/overlap_spans.zip": archive_overlap_spans,
    "archive/nested.zip": archive_nested,
    "archive/forged_size.zip": archive_forged_size,
    "archive/bad_method.zip": archive_bad_method,
    "archive/not_a_zip.zip": not_a_zip,
}


def _jpeg_with_sof_size(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF0 claims ``width`` x ``height`` (4.3 GP)."""
    data = bytearray(jpeg(np.full((16, 16, 3), 128, np.uint8)))
    at = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


def _png_ihdr_only(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IEND", b"")


def write_corpus(root: Path = CORPUS) -> list[Path]:
    written = []
    for relative, make in FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = make()
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        written.append(path)
    (root / "fuzz-crashes").mkdir(parents=True, exist_ok=True)
    keep = root / "fuzz-crashes" / "README"
    if not keep.exists():
        keep.write_text(
            "Crashing inputs found by fuzz/run.py, "
            "replayed by tests/hostile/test_fuzz_crashes.py.\n"
        )
    return written


def stale(root: Path = CORPUS) -> list[str]:
    return [
        rel
        for rel, make in FILES.items()
        if not (root / rel).exists() or (root / rel).read_bytes() != make()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only report files that differ")
    args = parser.parse_args(argv)
    if args.check:
        out = stale()
        for rel in out:
            print(f"stale: {rel}")
        return 1 if out else 0
    for path in write_corpus():
        print(f"{path.stat().st_size:>9}  {path.relative_to(CORPUS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
