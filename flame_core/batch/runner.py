"""``run_batch``: plan, skip what the manifest says is done, run the rest on an engine, record, summarise."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .config import BatchJob
from .engines import DaskEngine, PoolEngine, SerialEngine, make_engine
from .manifest import Manifest
from .outputs import remove_partial
from .progress import Progress
from .tasks import load_job_model, plan


@dataclass
class BatchSummary:
    """What a run did. ``failures``: (sequence or task, error) pairs; ``interrupted``: stopped by Ctrl-C."""

    sequences: int = 0
    tasks: int = 0
    skipped: int = 0
    done: int = 0
    frames: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False
    engine: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures and not self.interrupted

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else (1 if self.failures else 0)

    def line(self) -> str:
        rate = self.frames / self.seconds if self.seconds > 0 else 0.0
        state = "interrupted" if self.interrupted else ("FAILED" if self.failures else "done")
        return (f"batch {state}: {self.sequences} sequences; tasks: {self.done} run, {self.skipped} already done, "
                f"{len(self.failures)} failed; {self.frames} frames in {self.seconds:.1f} s "
                f"({rate:.1f} frames/s) on {self.engine}")


def run_batch(
    job: BatchJob,
    *,
    engine: SerialEngine | PoolEngine | DaskEngine | None = None,
    stream: TextIO | None = None,
    progress: bool = True,
) -> BatchSummary:
    """Run ``job``; returns the summary (failed sequences and tasks do not stop the others).

    Writes ``OUT/<sequence>/...`` and appends to ``OUT/manifest.jsonl``. A rerun computes only the tasks
    that are not recorded as done with their outputs intact. Ctrl-C stops the run cleanly
    (``summary.interrupted``); what finished is in the manifest.
    """
    began = time.perf_counter()
    out = Path(job.out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(out)
    run = manifest.next_run()
    engine = engine or make_engine(job)
    summary = BatchSummary(engine=engine.name)
    model = load_job_model(job)
    tasks, failures, lengths = plan(job, model)
    summary.sequences = len(lengths) + len(failures)
    for failure in failures:
        manifest.append({"type": "sequence", "run": run, "sequence": failure.sequence, "source": failure.source,
                         "status": "failed", "error": failure.error})
        summary.failures.append((failure.sequence, failure.error))
    done = manifest.completed(out)
    todo = [t for t in tasks if t.id not in done]
    touched = sorted({t.sequence for t in todo})
    for name in touched:  # files left half-written by an earlier run or a lost worker
        remove_partial(out / name)
    summary.tasks, summary.skipped = len(tasks), len(tasks) - len(todo)
    manifest.append({"type": "run", "run": run, "engine": engine.name, "sequences": summary.sequences,
                     "tasks": len(tasks), "skipped": summary.skipped, "to_do": len(todo),
                     "frames": sum(t.frames for t in todo), "time": time.time()})
    bar = Progress(sum(t.frames for t in todo), len(todo), stream=stream, enabled=progress)
    try:
        if todo:
            if isinstance(engine, DaskEngine):
                engine.start()
                if engine.dashboard:
                    bar.note(f"Dask dashboard: {engine.dashboard}")
            for record in engine.results(job, todo):
                record.update(type="task", run=run)
                manifest.append(record)
                failed = record.get("status") != "done"
                if failed:
                    summary.failures.append((str(record["task"]), str(record.get("error"))))
                else:
                    summary.done += 1
                    summary.frames += record["frames"][1] - record["frames"][0] if record["kind"] == "frames" else 0
                bar.update(record["frames"][1] - record["frames"][0] if record["kind"] == "frames" else 0, failed)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        bar.close()
        if isinstance(engine, DaskEngine):
            engine.close()
        for name in touched:
            remove_partial(out / name)
    summary.seconds = time.perf_counter() - began
    manifest.append(_summary_record(summary, run))
    return summary


def _summary_record(summary: BatchSummary, run: int) -> dict[str, Any]:
    return {"type": "summary", "run": run, "sequences": summary.sequences, "tasks": summary.tasks,
            "skipped": summary.skipped, "done": summary.done, "failed": len(summary.failures),
            "frames": summary.frames, "seconds": round(summary.seconds, 3), "interrupted": summary.interrupted}
