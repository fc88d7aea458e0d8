"""Where tasks run: this process, a local process pool, or Dask (a LocalCluster or a running scheduler).

Every engine yields the records of finished tasks in completion order, keeping a bounded number of tasks
in flight (the driver never holds more than that many results). Dask is imported only by :class:`DaskEngine`.

Workers compute with single-threaded BLAS (parallelism comes from processes): a matrix product's last bits
depend on how many threads split it, and the same job must give the same bytes on every engine. The pool
starts its processes with ``*_NUM_THREADS=1``; Dask's nanny does the same for its workers (start bare
``dask worker --no-nanny`` processes with ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1``).
:class:`SerialEngine` runs in the calling process with whatever BLAS threading it has.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from itertools import islice
from typing import Any

from ..errors import FlameError
from .config import BatchJob
from .tasks import Task, describe_error, run_task

Record = dict[str, Any]


class SerialEngine:
    """Every task in this process, one after the other."""

    name = "1 process"
    dashboard: str | None = None

    def results(self, job: BatchJob, tasks: Iterable[Task]) -> Iterator[Record]:
        for task in tasks:
            yield run_task(job, task)


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the driver, which stops the pool and writes the manifest."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: Environment variables that make BLAS libraries single-threaded in a process started with them.
SINGLE_THREADED = {name: "1" for name in (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")}


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class PoolEngine:
    """A pool of ``workers`` local processes (started fresh, so nothing depends on the driver's state)."""

    dashboard: str | None = None

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.name = f"local pool of {workers} processes" if workers > 1 else "1 worker process"

    def results(self, job: BatchJob, tasks: Iterable[Task]) -> Iterator[Record]:
        with _environment(SINGLE_THREADED):
            yield from self._results(job, tasks)

    def _results(self, job: BatchJob, tasks: Iterable[Task]) -> Iterator[Record]:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        todo = iter(tasks)
        pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_ignore_sigint)
        try:
            running: dict[Future[Record], Task] = {}
            for task in islice(todo, 2 * self.workers):
                running[pool.submit(run_task, job, task)] = task
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    task = running.pop(future)
                    try:
                        record = future.result()
                    except BrokenProcessPool:
                        raise FlameError("a worker process died (out of memory or killed); rerun to resume") from None
                    yield record
                    for nxt in islice(todo, 1):
                        running[pool.submit(run_task, job, nxt)] = nxt
                    del task
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


#: Dask configuration for the workers' nannies: no ``MALLOC_TRIM_THRESHOLD_`` (Dask sets 64 KiB by default,
#: which pins glibc's mmap threshold so every large temporary array is mapped and unmapped again: rendering
#: runs about 3x slower). Remote workers: ``DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON__MALLOC_TRIM_THRESHOLD_=None``.
NANNY_ENVIRONMENT = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


class DaskEngine:
    """``dask.distributed``: ``address="local"`` starts a LocalCluster of ``workers`` single-threaded
    processes; otherwise ``address`` is a running scheduler (``tcp://host:8786``). Tasks lost with a worker
    are rerun elsewhere by the scheduler; each task's record is taken once, from its future."""

    def __init__(self, address: str, workers: int) -> None:
        self.address = address
        self.workers = workers
        self.dashboard: str | None = None
        self.name = f"Dask LocalCluster of {workers} workers" if address == "local" else f"Dask at {address}"
        self._client: Any = None
        self._cluster: Any = None

    def start(self) -> None:
        try:
            import logging

            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise FlameError("--dask needs Dask: pip install flame-core[dask]") from None
        if self.address == "local":
            import dask

            with dask.config.set(NANNY_ENVIRONMENT):
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                             dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL)
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(self.address, timeout="30s")
            except OSError as exc:
                raise FlameError(f"--dask {self.address}: cannot reach the scheduler ({exc})") from None
        services = self._client.scheduler_info().get("services", {})
        if "dashboard" in services:
            self.dashboard = self._client.dashboard_link

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def results(self, job: BatchJob, tasks: Iterable[Task]) -> Iterator[Record]:
        import uuid

        from dask.distributed import as_completed

        if self._client is None:
            self.start()
        client = self._client
        token = uuid.uuid4().hex[:8]
        todo = iter(tasks)
        window = max(4 * self.workers, 8)
        owner: dict[str, Task] = {}

        def submit(task: Task) -> Any:
            owner[f"{task.id}@{token}"] = task
            return client.submit(run_task, job, task, key=f"{task.id}@{token}", pure=False)

        queue = as_completed([submit(t) for t in islice(todo, window)])
        try:
            for future in queue:
                task = owner.pop(future.key)
                try:
                    record = future.result()
                except Exception as exc:  # the worker could not run it at all (e.g. flame_core not installed)
                    record = {"task": task.id, "sequence": task.sequence, "kind": task.kind,
                              "frames": [task.start, task.stop], "status": "failed",
                              "error": f"a Dask worker could not run the task: {describe_error(exc)}"}
                future.release()
                yield record
                for nxt in islice(todo, 1):
                    queue.add(submit(nxt))
        finally:
            for future in list(getattr(queue, "futures", ())):
                future.cancel()


def make_engine(job: BatchJob) -> PoolEngine | DaskEngine:
    """The engine a job asks for: Dask when ``job.dask`` is set, else a pool of ``job.n_workers`` processes."""
    if job.dask:
        return DaskEngine(job.dask, job.n_workers)
    return PoolEngine(job.n_workers)
