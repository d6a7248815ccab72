"""The one seam where untrusted bytes become pixel arrays.

Only Pillow parses untrusted bytes, restricted to JPEG and PNG, and only after
the header's pixel count has been checked against a cap; OpenCV only ever sees
arrays we produced. Arrays are BGR ``uint8`` (OpenCV's convention).
"""

from __future__ import annotations

import io
import struct
import time
import warnings
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
from PIL import Image, ImageOps

from pipelines.errors import CorruptImageError, ImageTooLargeError, UnsupportedFormatError

DEFAULT_MAX_PIXELS = 40_000_000

_PIL_FORMATS = ("JPEG", "PNG")
_EXIF_ORIENTATION = 0x0112


class ImageFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """What the file says about itself, read without decoding pixels."""

    format: ImageFormat
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """A decoded image and how it relates to the file it came from."""

    pixels: np.ndarray  # BGR uint8, EXIF orientation applied
    format: ImageFormat
    original_width: int  # after EXIF orientation, at full resolution
    original_height: int
    scale: float  # decoded size / original size (1.0 unless reduced)
    exif_rotated: bool
    elapsed_ms: float

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def sniff_format(data: bytes) -> ImageFormat | None:
    """Identify JPEG or PNG by magic bytes; anything else is ``None``."""
    if data[:3] == b"\xff\xd8\xff":
        return ImageFormat.JPEG
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return ImageFormat.PNG
    return None


def _open(data: bytes) -> Image.Image:
    if sniff_format(data) is None:
        raise UnsupportedFormatError("only JPEG and PNG images are accepted")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=_PIL_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(str(exc)) from exc
    except (OSError, SyntaxError, ValueError, struct.error, EOFError) as exc:
        raise CorruptImageError(f"cannot parse image header: {exc}") from exc


def _open_checked(data: bytes, max_pixels: int) -> tuple[Image.Image, ImageHeader]:
    """Parse the header once: refuse non-JPEG/PNG and pixel bombs before any decoding."""
    image = _open(data)
    header = ImageHeader(ImageFormat(image.format.lower()), image.width, image.height)
    if header.width <= 0 or header.height <= 0:
        raise CorruptImageError("image header has zero size")
    if header.pixels > max_pixels:
        raise ImageTooLargeError(
            f"image is {header.width}x{header.height} = {header.pixels} pixels, "
            f"over the cap of {max_pixels}"
        )
    return image, header


def read_header(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageHeader:
    """Read format and dimensions; refuse non-JPEG/PNG and pixel bombs. No pixel decoding."""
    return _open_checked(data, max_pixels)[1]


def decode_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_long_side: int | None = None,
) -> DecodedImage:
    """Decode JPEG/PNG bytes to a BGR array, safely.

    ``max_long_side`` lets a large JPEG be decoded at 1/2, 1/4 or 1/8 scale by
    the DCT itself (``Image.draft``), which is several times cheaper than
    decoding in full and resizing; the result is then resized to fit exactly.
    """
    started = time.perf_counter()
    image, header = _open_checked(data, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if max_long_side and header.format is ImageFormat.JPEG:
                long_side = max(header.width, header.height)
                if long_side > max_long_side:
                    ratio = max_long_side / long_side
                    # at least 1x1: a 5x49155 strip must not ask for a zero-width draft
                    image.draft(
                        "RGB",
                        (max(1, int(header.width * ratio)), max(1, int(header.height * ratio))),
                    )
            orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
            exif_rotated = orientation in range(2, 9)
            rgb = (ImageOps.exif_transpose(image) if exif_rotated else image).convert("RGB")
            rgb.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(str(exc)) from exc
    except (
        OSError,
        SyntaxError,
        ValueError,
        struct.error,
        EOFError,
        ZeroDivisionError,
        IndexError,
    ) as exc:  # what Pillow's decoders raise on malformed data
        raise CorruptImageError(f"cannot decode image: {exc}") from exc

    pixels = np.asarray(rgb)[:, :, ::-1]
    if max_long_side and max(pixels.shape[:2]) > max_long_side:
        ratio = max_long_side / max(pixels.shape[:2])
        pixels = cv2.resize(
            pixels,
            (max(1, round(pixels.shape[1] * ratio)), max(1, round(pixels.shape[0] * ratio))),
            interpolation=cv2.INTER_AREA,
        )
    pixels = np.ascontiguousarray(pixels)
    swapped = orientation in (5, 6, 7, 8)  # EXIF orientations that turn the image by 90 degrees
    original_w, original_h = (
        (header.height, header.width) if swapped else (header.width, header.height)
    )
    return DecodedImage(
        pixels=pixels,
        format=header.format,
        original_width=original_w,
        original_height=original_h,
        scale=pixels.shape[1] / original_w,
        exif_rotated=exif_rotated,
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


def encode_jpeg(pixels: np.ndarray, *, quality: int = 90) -> bytes:
    """Re-encode a BGR array as a clean JPEG: no EXIF, nothing after the end marker."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels[:, :, ::-1])).save(
        buffer, format="JPEG", quality=quality, optimize=True
    )
    return buffer.getvalue()


def encode_png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels[:, :, ::-1])).save(
        buffer, format="PNG", optimize=True
    )
    return buffer.getvalue()
