"""Exceptions raised by the pipelines.

A document that fails a check is a *result* with reason codes, never an
exception. Exceptions mean the input could not be processed at all, or that a
component broke::

    PipelineError
    ├── InputError                  the caller's bytes are unusable (HTTP 4xx)
    │   ├── UnsupportedFormatError  not JPEG or PNG by its magic bytes (415)
    │   ├── ImageTooLargeError      pixel count over the cap: decompression bomb (413)
    │   └── CorruptImageError       truncated or undecodable (422)
    └── InferenceError              the OCR engine failed (500/503)

Third-party errors (Pillow, ONNX Runtime) are translated at the seam where
they are called, with ``raise ... from exc``.
"""


class PipelineError(Exception):
    """Base of every error raised on purpose by :mod:`pipelines`."""

    code = "PIPELINE_ERROR"


class InputError(PipelineError):
    """The input bytes cannot be processed."""

    code = "INVALID_INPUT"


class UnsupportedFormatError(InputError):
    code = "UNSUPPORTED_FORMAT"


class ImageTooLargeError(InputError):
    code = "IMAGE_TOO_LARGE"


class CorruptImageError(InputError):
    code = "CORRUPT_IMAGE"


class InferenceError(PipelineError):
    code = "INFERENCE_FAILED"
