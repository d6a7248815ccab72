"""Time and memory bounds for hostile replays: peak RSS of a process (and its children)
sampled in a background thread while the work runs."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psutil


def tree_rss(process: psutil.Process) -> int:
    total = 0
    with contextlib.suppress(psutil.Error):
        total += process.memory_info().rss
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
    return total


@dataclass
class Measurement:
    seconds: float = 0.0
    rss_before: int = 0
    rss_peak: int = 0

    @property
    def growth_mb(self) -> float:
        return max(0, self.rss_peak - self.rss_before) / 2**20


@contextlib.contextmanager
def measured(pid: int | None = None, interval: float = 0.002) -> Iterator[Measurement]:
    """``with measured(server_pid) as m: ...`` then ``m.seconds`` and ``m.growth_mb``."""
    process = psutil.Process(pid)
    result = Measurement(rss_before=tree_rss(process))
    result.rss_peak = result.rss_before
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            result.rss_peak = max(result.rss_peak, tree_rss(process))
            stop.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - started
        stop.set()
        sampler.join()
        result.rss_peak = max(result.rss_peak, tree_rss(process))
