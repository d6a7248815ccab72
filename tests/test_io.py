"""The decoding seam: only JPEG and PNG, bombs refused from the header, EXIF applied."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from pipelines.errors import CorruptImageError, ImageTooLargeError, UnsupportedFormatError
from pipelines.io import ImageFormat, decode_image, encode_jpeg, read_header, sniff_format


def jpeg(width: int = 320, height: int = 200, **save: object) -> bytes:
    gradient = np.linspace(0, 255, width * height * 3).reshape(height, width, 3).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(gradient).save(buffer, format="JPEG", **save)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height``, with one tiny compressed row."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def test_magic_bytes_decide_the_format() -> None:
    assert sniff_format(jpeg()) is ImageFormat.JPEG
    assert sniff_format(png_header_only(4, 4)) is ImageFormat.PNG
    for other in (b"GIF89a....", b"%PDF-1.7", b"\x7fELF", b"<svg xmlns=", b"II*\x00", b""):
        assert sniff_format(other) is None
        with pytest.raises(UnsupportedFormatError):
            decode_image(other)


def test_pixel_bomb_is_refused_from_the_header_quickly() -> None:
    bomb = png_header_only(30000, 30000)
    started = time.perf_counter()
    with pytest.raises(ImageTooLargeError):
        read_header(bomb)
    with pytest.raises(ImageTooLargeError):
        decode_image(bomb)
    assert time.perf_counter() - started < 0.1
    assert read_header(png_header_only(6000, 6000)).pixels == 36_000_000  # under the 40 MP cap


def test_truncated_and_garbage_files_are_corrupt_not_crashes() -> None:
    data = jpeg(800, 600)
    with pytest.raises(CorruptImageError):
        decode_image(data[: len(data) // 2])
    with pytest.raises(CorruptImageError):
        decode_image(b"\xff\xd8\xff" + b"\x00" * 64)


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, displayed rotated 90 degrees clockwise
    decoded = decode_image(jpeg(320, 200, exif=exif.tobytes()))
    assert decoded.exif_rotated
    assert (decoded.width, decoded.height) == (200, 320)
    assert (decoded.original_width, decoded.original_height) == (200, 320)


def test_large_jpeg_is_decoded_reduced() -> None:
    decoded = decode_image(jpeg(4000, 3000, quality=80), max_long_side=1000)
    assert max(decoded.width, decoded.height) == 1000
    assert decoded.original_width == 4000 and decoded.scale == pytest.approx(0.25)


def test_reencoded_jpeg_carries_nothing_extra() -> None:
    exif = Image.Exif()
    exif[0x010E] = "<script>alert(1)</script>"
    original = jpeg(exif=exif.tobytes()) + b"PK\x03\x04trailing zip"
    clean = encode_jpeg(decode_image(original).pixels)
    assert clean.endswith(b"\xff\xd9") and b"<script>" not in clean and b"Exif" not in clean
