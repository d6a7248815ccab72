"""Test-only fault injection for the poison-image test (tests/faults/test_poison.py).

This directory is put on ``PYTHONPATH`` of the worker process that test starts, and
of nothing else. When ``OCR_FAULTS_POISON_MARKER`` is set, a certificate whose bytes
contain the marker kills the worker process running it with SIGKILL, every time:
what a file that crashes a native decoder would do. The production code is not
changed; the hook replaces ``pipelines.certificate.validate_certificate`` in the
worker before Celery forks its pool. Each kill appends a line to
``OCR_FAULTS_POISON_LOG`` so the test can count them.
"""

import os

_MARKER = os.environ.get("OCR_FAULTS_POISON_MARKER", "").encode()

if _MARKER:
    import signal

    import pipelines.certificate as _certificate

    _real_validate = _certificate.validate_certificate

    def _poisoned_validate(data, filename, **kwargs):  # type: ignore[no-untyped-def]
        if _MARKER in data:
            with open(os.environ["OCR_FAULTS_POISON_LOG"], "a") as log:
                log.write(f"{os.getpid()}\n")
            os.kill(os.getpid(), signal.SIGKILL)
        return _real_validate(data, filename, **kwargs)

    _certificate.validate_certificate = _poisoned_validate
