"""Replay every input the fuzzers kept (tests/hostile/corpus/fuzz-crashes/<harness>-<sha1>.bin)
through its harness, without atheris: CI replays, it does not fuzz. Also replays the
hostile corpus through the harnesses, so their invariants hold on every known file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.hostile.cases import CORPUS, FUZZ_CRASHES

FUZZ_DIR = Path(__file__).resolve().parents[2] / "fuzz"

# Crashes found and kept, whose fix is someone else's: listed so CI stays green while the
# bug is visible; strict, so the mark must go when the fix lands.
KNOWN: dict[str, str] = {
    "archive-9355bfefd4e4cbca96f2d99882d8d380fe913fa2.bin": (
        "struct.error from pipelines/certificate/archive.py _overlapping: a central directory "
        "whose offsets make zipfile's header_offset negative (-1878) slips past "
        "`start + 30 > len(data)`; iter_archive must raise InvalidArchiveError or refuse it"
    ),
    "archive-dfa98ff4dec6c6f7b1cffa224c16fa9f1c3ce9c8.bin": (
        "IndexError from pipelines/certificate/archive.py iter_archive (`info.is_dir()` in the "
        "member list): a central-directory entry with an empty file name; Python 3.11's "
        "ZipInfo.is_dir() indexes filename[-1]. Refuse it as bad_name instead"
    ),
    "decode-370bcc80b631d32699834377ca47361fc8d73f1c.bin": (
        "ZeroDivisionError from pipelines/io.py decode_image (line ~126): a 5x49155 JPEG with "
        "max_long_side=256 asks Image.draft for a (0, 256) size; Pillow divides by it. "
        "Clamp the draft size to >= 1 (and translate ZeroDivisionError to CorruptImageError)"
    ),
}


def harness(name: str) -> ModuleType:
    if str(FUZZ_DIR) not in sys.path:
        sys.path.insert(0, str(FUZZ_DIR))
    spec = importlib.util.spec_from_file_location(f"fuzz_{name}", FUZZ_DIR / f"fuzz_{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def crash_files() -> list[object]:
    out: list[object] = []
    for path in sorted(FUZZ_CRASHES.glob("*-*.bin")):
        marks = (
            [pytest.mark.xfail(strict=True, reason=KNOWN[path.name])] if path.name in KNOWN else []
        )
        out.append(pytest.param(path, marks=marks, id=path.name))
    return out


@pytest.mark.parametrize("path", crash_files())
def test_kept_fuzz_input_no_longer_crashes(path: Path) -> None:
    name = path.name.split("-", 1)[0]
    harness(name).test_one_input(path.read_bytes())


@pytest.mark.parametrize("sub", ["pixel", "spoof", "payload"])
def test_decode_harness_invariants_hold_on_the_corpus(sub: str) -> None:
    run = harness("decode").test_one_input
    for path in sorted((CORPUS / sub).iterdir()):
        run(path.read_bytes())


def test_archive_harness_invariants_hold_on_the_corpus() -> None:
    run = harness("archive").test_one_input
    for path in sorted((CORPUS / "archive").iterdir()):
        run(path.read_bytes())


@pytest.mark.parametrize(
    "text",
    [
        "张三+110105194912310026+医师资格证+1.jpg",
        "李四_11010519491231002X_毕业证书_第2页.png",
        "王五 810000199001010014 学位证书 P3.jpeg",
        "../../x.jpg",
        "=cmd|' /C calc'!A0.jpg",
        "１１０１０５１９４９１２３１００２Ｘ",
        "\u0661" * 18,
        "1" * 400,
    ],
)
def test_text_harnesses_hold_on_known_names(text: str) -> None:
    harness("filename").test_one_input(text.encode())
    harness("idnumber").test_one_input(text.encode())
