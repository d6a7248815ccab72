"""Fuzz the one decoding seam: ``pipelines.io.read_header`` and ``decode_image``.

Anything but a :class:`pipelines.errors.InputError` is a bug, as is a decoded array
that disagrees with its header or exceeds the pixel cap.
"""

from __future__ import annotations

import sys

import _common

MAX_PIXELS = 4_000_000  # small, so the fuzzer spends its time on parsing, not on pixels


def _load() -> None:
    import pipelines.io  # noqa: F401


def test_one_input(data: bytes) -> None:
    from pipelines.errors import InputError
    from pipelines.io import decode_image, read_header, sniff_format

    try:
        header = read_header(data, max_pixels=MAX_PIXELS)
    except InputError:
        return
    assert sniff_format(data) is header.format
    assert 0 < header.width * header.height <= MAX_PIXELS
    try:
        decoded = decode_image(data, max_pixels=MAX_PIXELS, max_long_side=256)
    except InputError:
        return
    assert decoded.pixels.ndim == 3 and decoded.pixels.shape[2] == 3
    assert decoded.pixels.dtype.name == "uint8"
    assert max(decoded.pixels.shape[:2]) <= 256
    assert {decoded.original_width, decoded.original_height} == {header.width, header.height}


if __name__ == "__main__":
    _common.run(test_one_input, _load)
    sys.exit(0)
