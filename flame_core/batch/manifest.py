"""The manifest ``OUT/manifest.jsonl``: one JSON object per line, appended as the batch goes.

Lines: ``{"type": "run", ...}`` when a run starts (tasks planned, already done, to do), one
``{"type": "task", "task": ID, "status": "done" | "failed", "outputs": [{path, bytes, sha256}], "seconds",
"run"}`` per finished task, ``{"type": "sequence", "status": "failed", "error"}`` per sequence that could
not be planned, and ``{"type": "summary", ...}`` when the run ends. A rerun skips every task whose latest
``done`` record's outputs are all still there with their recorded sizes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class Manifest:
    """Append-only JSON Lines file; only the process that drives the batch writes it."""

    def __init__(self, out: Path) -> None:
        self.path = out / "manifest.jsonl"

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record, read line by line; a last line cut short by an interrupted write is ignored."""
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    yield record

    def completed(self, out: Path) -> set[str]:
        """IDs of the tasks whose latest record is ``done`` and whose outputs are all there with their sizes."""
        done: set[str] = set()
        for record in self.records():
            task = record.get("task")
            if record.get("type") != "task" or not isinstance(task, str):
                continue
            files = record.get("outputs") or []
            if record.get("status") == "done" and all(_intact(out, f) for f in files):
                done.add(task)
            else:
                done.discard(task)
        return done

    def next_run(self) -> int:
        runs = [r["run"] for r in self.records() if r.get("type") == "run" and isinstance(r.get("run"), int)]
        return max(runs, default=0) + 1

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())


def _intact(out: Path, entry: Any) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        return False
    path = out / entry["path"]
    try:
        return path.stat().st_size == entry.get("bytes")
    except OSError:
        return False
