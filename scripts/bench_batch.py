"""Batch benchmark: sequence files to PNG-16 normal maps at 512x512, end to end, on 1 and 2 workers and Dask.

    .venv/envs/numpy2/bin/python scripts/bench_batch.py [--frames 240 --repeat 3 --long 1000]

Per engine (1 worker process, a local pool of 2, a Dask LocalCluster of 2) it runs the same job ``--repeat``
times into fresh folders and prints the median of: wall-clock frames/s for the whole run (start-up included),
steady frames/s (from the first finished task to the last), the start-up time, and the peak RSS of a worker
process, and the CPU time a worker spends per frame (what two free cores would give, whatever else runs on
the machine). Then the Dask scheduler's overhead per task (no-op tasks on the LocalCluster), the chunk size that
keeps it under 1 % of a task, the CPU time per frame of each stage in one process, the bytes per map, and
(``--long N``) the worker RSS for an N-frame sequence, to show that memory does not grow with length.
Dask is needed for the Dask figures (the numpy2 environment has it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flame_core.batch import BatchJob, run_batch
from flame_core.demo_animation import demo_sequence
from flame_core.sequence import save_sequence

SIZE = (512, 512)


def make_sequences(folder: Path, count: int, frames: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        save_sequence(demo_sequence(frames, seed=i), folder / f"take{i}.npz")


def one_run(seqs: Path, out: Path, workers: int, dask: str | None, chunk: int) -> dict[str, float]:
    job = BatchJob(inputs=(str(seqs),), out=str(out), size=SIZE, format="png16", outputs=("normals",),
                   workers=workers, dask=dask, chunk=chunk)
    began = time.perf_counter()
    summary = run_batch(job, progress=False)
    wall = time.perf_counter() - began
    if not summary.ok:
        raise SystemExit(f"benchmark run failed: {summary.line()} {summary.failures[:3]}")
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    start = next(r["time"] for r in lines if r["type"] == "run")
    tasks = [r for r in lines if r["type"] == "task"]
    ends = sorted(r["end"] for r in tasks)
    first_end, last_end = ends[0], ends[-1]
    later = sum(r["frames"][1] - r["frames"][0] for r in tasks if r["end"] > first_end)
    rss = max(r.get("max_rss_mb", 0.0) for r in tasks)
    steady = [r for r in tasks if r["end"] > first_end]
    cpu_ms = 1e3 * sum(r["cpu_seconds"] for r in steady) / max(later, 1)
    sizes = [o["bytes"] for r in tasks for o in r["outputs"]]
    return {"wall_fps": summary.frames / wall, "steady_fps": later / max(last_end - first_end, 1e-9),
            "startup_s": first_end - start, "rss_mb": rss, "bytes": float(np.mean(sizes)), "cpu_ms": cpu_ms}


def engine_figures(seqs: Path, tmp: Path, label: str, workers: int, dask: str | None, chunk: int,
                   repeat: int) -> dict[str, float]:
    runs = [one_run(seqs, tmp / f"{label}-{k}", workers, dask, chunk) for k in range(repeat)]
    med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    spread = ", ".join(f"{r['steady_fps']:.1f}" for r in runs)
    print(f"  {label:28s} wall {med['wall_fps']:6.1f} frames/s   steady {med['steady_fps']:6.1f} frames/s "
          f"(runs: {spread})   start-up {med['startup_s']:4.1f} s   worker RSS {med['rss_mb']:5.0f} MB   "
          f"worker CPU {med['cpu_ms']:5.1f} ms/frame")
    return med


def dask_overhead(n_tasks: int = 2000) -> float:
    """Seconds per no-op task on a 2-worker LocalCluster (submitted as the batch does, as_completed)."""
    import logging

    from dask.distributed import Client, LocalCluster, as_completed

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        client.submit(abs, -1).result()
        began = time.perf_counter()
        futures = [client.submit(abs, -i, pure=False) for i in range(n_tasks)]
        for future in as_completed(futures):
            future.result()
        return (time.perf_counter() - began) / n_tasks


def stage_times(frames: int = 16) -> None:
    """CPU time per frame of each stage, in this process (single-threaded BLAS as in the workers)."""
    from flame_core import demo_model
    from flame_core.batch.cameras import framing_camera
    from flame_core.batch.tasks import _png
    from flame_core.images import encode_png
    from flame_core.raster import rasterize
    from flame_core.render import render_normal_map

    model = demo_model()
    params = demo_sequence(frames).params
    verts = model.forward(params).vertices
    camera = framing_camera(verts.min(axis=(0, 1)), verts.max(axis=(0, 1)), SIZE)
    images = [render_normal_map(v, model.faces, camera).image for v in verts]
    pngs = [_png(im, 16) for im in images]

    def cpu(fn) -> float:
        times = []
        for _ in range(3):
            began = time.process_time()
            for i in range(frames):
                fn(i)
            times.append((time.process_time() - began) / frames * 1e3)
        return statistics.median(times)

    print("\nCPU time per frame, one process (median of 3 passes over 16 frames):")
    print(f"  forward, in a 16-frame call {cpu(lambda i: model.forward(params) if i == 0 else None):6.2f} ms")
    print(f"  rasterize                   {cpu(lambda i: rasterize(verts[i], model.faces, camera)):6.2f} ms")
    print(f"  render_normal_map           {cpu(lambda i: render_normal_map(verts[i], model.faces, camera)):6.2f} ms")
    print(f"  PNG-16, zlib 6, Up rows     {cpu(lambda i: encode_png(images[i], 16)):6.2f} ms")
    print(f"  PNG-16, zlib 1, Up rows     {cpu(lambda i: encode_png(images[i], 16, 1)):6.2f} ms")
    print(f"  PNG-16 as the batch writes  {cpu(lambda i: _png(images[i], 16)):6.2f} ms")
    print(f"  sha256 of the file          {cpu(lambda i: hashlib.sha256(pngs[i]).digest()):6.2f} ms")
    sizes = [len(encode_png(images[0], 16)), len(encode_png(images[0], 16, 1)), len(pngs[0])]
    print(f"  bytes: zlib 6 Up {sizes[0]:,}, zlib 1 Up {sizes[1]:,}, batch {sizes[2]:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=240, help="frames in all (4 sequences)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=32)
    parser.add_argument("--long", type=int, default=0, metavar="N", help="also measure RSS for an N-frame sequence")
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"  # the driver's own work as in the workers (the pool sets it for its processes)
    load = os.getloadavg()
    print(f"numpy {np.__version__}; {os.cpu_count()} CPUs; load average at start {load[0]:.1f}, {load[1]:.1f}")
    print(f"{args.frames} frames in 4 sequences -> PNG-16 normal maps {SIZE[0]}x{SIZE[1]}, chunk {args.chunk}, "
          f"median of {args.repeat} runs")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        make_sequences(tmp / "seqs", 4, args.frames // 4)
        one = engine_figures(tmp / "seqs", tmp, "1 worker process", 1, None, args.chunk, args.repeat)
        two = engine_figures(tmp / "seqs", tmp, "local pool, 2 processes", 2, None, args.chunk, args.repeat)
        print(f"  2 workers / 1 worker: {two['steady_fps'] / one['steady_fps']:.2f}x steady, "
              f"{two['wall_fps'] / one['wall_fps']:.2f}x wall; from CPU time per frame (what two free cores "
              f"give): {2e3 / two['cpu_ms']:.1f} frames/s, {2 * one['cpu_ms'] / two['cpu_ms']:.2f}x one worker")
        if not args.no_dask:
            engine_figures(tmp / "seqs", tmp, "Dask LocalCluster, 2", 2, "local", args.chunk, args.repeat)
            overhead = dask_overhead()
            per_frame = 2 / two["steady_fps"]  # seconds of one worker per frame
            chunk = int(np.ceil(overhead / (0.01 * per_frame)))
            print(f"\nDask scheduler overhead: {overhead * 1e3:.2f} ms per task (2,000 no-op tasks, 2 workers); "
                  f"a frame costs {per_frame * 1e3:.1f} ms of a worker, so chunks of >= {chunk} frames keep the "
                  f"overhead under 1 %")
        print(f"  bytes per PNG-16 map: {one['bytes']:,.0f}")
        if args.long:
            make_sequences(tmp / "long", 1, args.long)
            figures = one_run(tmp / "long", tmp / "long-out", 2, None, args.chunk)
            print(f"\n{args.long}-frame sequence on 2 workers: {figures['steady_fps']:.1f} frames/s, "
                  f"worker RSS {figures['rss_mb']:.0f} MB")
    stage_times()
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}; driver peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
