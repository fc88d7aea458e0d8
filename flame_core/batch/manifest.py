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
from pathlib import Path
from typing import Any


class Manifest:
    """Append-only JSON Lines file; only the process that drives the batch writes it."""

    def __init__(self, out: Path) -> None:
        self.path = out / "manifest.jsonl"

    def records(self) -> list[dict[str, Any]]:
        """Every record; a last line cut short by an interrupted write is ignored."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                out.append(record)
        return out

    def completed(self, out: Path) -> set[str]:
        """IDs of the tasks whose latest record is ``done`` and whose outputs are intact."""
        latest: dict[str, dict[str, Any]] = {}
        for record in self.records():
            if record.get("type") == "task" and isinstance(record.get("task"), str):
                latest[record["task"]] = record
        done = set()
        for task_id, record in latest.items():
            if record.get("status") != "done":
                continue
            files = record.get("outputs") or []
            if all(_intact(out, f) for f in files):
                done.add(task_id)
        return done

    def next_run(self) -> int:
        runs = [r.get("run", 0) for r in self.records() if r.get("type") == "run"]
        return max([int(r) for r in runs if isinstance(r, int)], default=0) + 1

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
