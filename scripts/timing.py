"""The timing loop of the benchmarks: best and median of repeated calls, in milliseconds.

    t = measure(lambda: model.forward(params), repeat=50)
    print(f"forward: {t}")        # best 0.21 ms  median 0.23 ms
    print(f"forward: {t:7.1f}")   # the format spec applies to both figures
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Best and median of a set of timed runs, in milliseconds."""

    best_ms: float
    median_ms: float

    @classmethod
    def from_seconds(cls, seconds: Iterable[float]) -> Timing:
        """The timing of runs measured elsewhere, given in seconds."""
        times = list(seconds)
        if not times:
            raise ValueError("no timed runs")
        return cls(min(times) * 1e3, statistics.median(times) * 1e3)

    def __format__(self, spec: str) -> str:
        spec = spec or ".2f"
        return f"best {self.best_ms:{spec}} ms  median {self.median_ms:{spec}} ms"

    def __str__(self) -> str:
        return format(self)


def measure(
    fn: Callable[[], object], repeat: int, warmup: int = 1, clock: Callable[[], float] = time.perf_counter
) -> Timing:
    """Call ``fn`` ``warmup`` times untimed, then time ``repeat`` calls with ``clock`` (default wall clock;
    ``time.process_time`` gives this process's CPU time, all its threads, steadier on a shared machine)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(1, repeat)):
        start = clock()
        fn()
        times.append(clock() - start)
    return Timing.from_seconds(times)
