"""Image-validation pipelines: bytes or arrays in, typed results out.

This package never imports :mod:`ocr_service`; the service depends on it, not
the other way round.
"""
