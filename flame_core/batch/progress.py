"""A progress line on stderr: frames done, frames/s, ETA; redrawn in place on a terminal, else a plain line
every few seconds (logs and CI stay readable)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts frames and tasks; ``update`` after each task, ``close`` at the end."""

    def __init__(self, total_frames: int, total_tasks: int, *, stream: TextIO | None = None,
                 label: str = "batch", interval: float | None = None, enabled: bool = True) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total_frames, self.total_tasks = total_frames, total_tasks
        self.frames = self.tasks = self.failed = 0
        self.label = label
        self.interval = interval if interval is not None else (0.2 if self.tty else 10.0)
        self.enabled = enabled
        self.started = time.perf_counter()
        self._last = 0.0

    def note(self, text: str) -> None:
        """A line of its own (e.g. the Dask dashboard address)."""
        if self.enabled:
            self._clear()
            print(text, file=self.stream, flush=True)

    def update(self, frames: int, failed: bool = False) -> None:
        self.frames += frames
        self.tasks += 1
        self.failed += int(failed)
        now = time.perf_counter()
        if self.enabled and (now - self._last >= self.interval or self.tasks == self.total_tasks):
            self._last = now
            self._draw(now)

    def rate(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.frames / elapsed if elapsed > 0 else 0.0

    def _text(self, now: float) -> str:
        elapsed = now - self.started
        rate = self.frames / elapsed if elapsed > 0 else 0.0
        left = self.total_frames - self.frames
        eta = _clock(left / rate) if rate > 0 and left > 0 else "--:--" if left > 0 else "0:00"
        share = self.frames / self.total_frames if self.total_frames else 1.0
        width = 24
        bar = "#" * int(width * share) + "." * (width - int(width * share))
        failed = f", {self.failed} failed" if self.failed else ""
        return (f"{self.label} [{bar}] {self.frames}/{self.total_frames} frames, "
                f"{self.tasks}/{self.total_tasks} tasks{failed}, {rate:.1f} frames/s, ETA {eta}")

    def _draw(self, now: float) -> None:
        text = self._text(now)
        if self.tty:
            print("\r" + text + "\x1b[K", end="", file=self.stream, flush=True)
        else:
            print(text, file=self.stream, flush=True)

    def _clear(self) -> None:
        if self.tty and self.tasks:
            print("\r\x1b[K", end="", file=self.stream)

    def close(self) -> None:
        if self.enabled and self.tty and self.tasks:
            print(file=self.stream, flush=True)


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
