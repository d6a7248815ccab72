"""Shared by the harnesses: how a harness is run by atheris, and how CI replays inputs.

Each harness module defines ``test_one_input(data: bytes) -> None`` that raises only
on a real bug (an exception outside the documented error tree, or a broken
invariant). Harnesses import atheris only when run as programs, so CI can replay
crash files with plain pytest (tests/hostile/test_fuzz_crashes.py).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def signature(exc: BaseException) -> str:
    """Where a crash comes from: exception type and the innermost repository frame."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if str(ROOT) in f.filename]
    where = f"{Path(frames[-1].filename).relative_to(ROOT)}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__}@{where}"


def run(test_one_input: Callable[[bytes], None], instrument: Callable[[], None]) -> None:
    """Entry point of a harness program: ``python fuzz/fuzz_x.py [libFuzzer args]``.

    ``FUZZ_IGNORE`` (newline-separated :func:`signature` values) lets a bounded run go
    on past crashes it has already kept, to find different ones.
    """
    import atheris

    ignore = set(filter(None, os.environ.get("FUZZ_IGNORE", "").splitlines()))

    def guarded(data: bytes) -> None:
        try:
            test_one_input(data)
        except Exception as exc:
            if signature(exc) in ignore:
                return
            sys.stderr.write(f"CRASH-SIGNATURE {signature(exc)}\n")
            raise

    with atheris.instrument_imports():
        instrument()
    atheris.Setup(sys.argv, guarded)
    atheris.Fuzz()
