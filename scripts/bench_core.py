"""Benchmark the core forward pass on the full-size embedded model (float32).

    .venv/bin/python scripts/bench_core.py [--frames 1000] [--repeat 50]

Prints median timings: a single frame with every parameter set, a batched animation with a
fixed identity (also with eyelids, and with VHAP's per-frame offsets), and the bare blend-shape
matrix product (300 + 100 coefficients) for scale.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import measure

import flame_core


def random_params(rng: np.random.Generator, frames: tuple[int, ...]) -> flame_core.FlameParams:
    return flame_core.FlameParams(
        shape=rng.normal(size=flame_core.N_SHAPE),
        expression=rng.normal(size=frames + (flame_core.N_EXPRESSION,)),
        rotation=rng.normal(size=frames + (3,)) * 0.2,
        neck=rng.normal(size=frames + (3,)) * 0.2,
        jaw=np.abs(rng.normal(size=frames + (3,))) * 0.2,
        eyes=rng.normal(size=frames + (6,)) * 0.1,
        translation=rng.normal(size=frames + (3,)) * 0.01,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    start = time.perf_counter()
    model = flame_core.demo_model()
    print(f"demo model built in {(time.perf_counter() - start) * 1e3:.0f} ms: {model}")
    rng = np.random.default_rng(0)

    single = random_params(rng, ())
    single_ms = measure(lambda: model.forward(single), args.repeat * 10).median_ms
    print(f"single frame, all parameters:          {single_ms:.3f} ms median  (target <= 0.3 ms)")
    cold_ms = measure(lambda: (model.clear_cache(), model.forward(single)), args.repeat).median_ms
    print(f"single frame, identity recomputed:     {cold_ms:.3f} ms median")

    batch = random_params(rng, (args.frames,))
    batch_ms = measure(lambda: model.forward(batch), max(3, args.repeat // 10)).median_ms
    print(
        f"{args.frames} frames batched, fixed identity: {batch_ms:.1f} ms median = "
        f"{args.frames / batch_ms * 1e3:,.0f} frames/s  (target >= 10,000)"
    )

    lidded = batch.replace(eyelids=rng.uniform(size=(args.frames, 2)))
    lidded_ms = measure(lambda: model.forward(lidded), max(3, args.repeat // 10)).median_ms
    print(f"{args.frames} frames with eyelids:       {lidded_ms:.1f} ms median = "
          f"{args.frames / lidded_ms * 1e3:,.0f} frames/s")
    offset = rng.normal(size=(args.frames, model.n_vertices, 3)).astype(np.float32) * 1e-3
    offset_ms = measure(lambda: model.forward(batch, dynamic_offset=offset), max(3, args.repeat // 10)).median_ms
    print(f"{args.frames} frames with dynamic offsets: {offset_ms:.1f} ms median = "
          f"{args.frames / offset_ms * 1e3:,.0f} frames/s")

    basis = np.concatenate([model.shapedirs, model.exprdirs], axis=2)
    basis = np.ascontiguousarray(basis.reshape(-1, basis.shape[2]).T)
    coeffs = rng.normal(size=basis.shape[0]).astype(np.float32)
    bare_ms = measure(lambda: coeffs @ basis, args.repeat * 10).median_ms
    print(f"bare blend-shape product ({basis.shape[0]} x {basis.shape[1]}): {bare_ms:.3f} ms median")
    print(f"forward / bare product:                {single_ms / bare_ms:.2f}x  (target <= 2x)")


if __name__ == "__main__":
    main()
