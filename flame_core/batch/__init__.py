"""Datasets at scale: many sequences to per-frame images, landmarks and bound point clouds, in parallel.

    from flame_core.batch import load_job, run_batch
    job = load_job("job.toml", out="dataset")         # or BatchJob(inputs=("seqs/*.npz",), out="dataset")
    summary = run_batch(job)                          # local process pool; job.dask="local" for Dask
    print(summary.line())

Modules: ``config`` (the job, TOML), ``cameras`` (cameras from sequence files), ``tasks`` (planning, the
work of one task), ``manifest`` (resuming), ``engines`` (this process, a process pool, Dask), ``progress``.
"""

from .cameras import CAMERA_SOURCES, camera_from_json, sequence_cameras
from .config import OUTPUTS, BatchJob, load_job
from .engines import DaskEngine, PoolEngine, SerialEngine, make_engine
from .manifest import Manifest
from .runner import BatchSummary, run_batch
from .tasks import Task, discover, plan, run_task

__all__ = [
    "CAMERA_SOURCES",
    "OUTPUTS",
    "BatchJob",
    "BatchSummary",
    "DaskEngine",
    "Manifest",
    "PoolEngine",
    "SerialEngine",
    "Task",
    "camera_from_json",
    "discover",
    "load_job",
    "make_engine",
    "plan",
    "run_batch",
    "run_task",
    "sequence_cameras",
]
