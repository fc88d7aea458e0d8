"""Benchmark surface sampling on the full-size embedded head (5023 vertices, 9976 faces, float32).

    .venv/bin/python scripts/bench_sampling.py [--points 1000000] [--repeat 30]

Prints best and median times: sampling with normals, re-evaluating the samples on a batch of posed
frames, binding/unbinding to triangles, writing the point cloud as PLY, and blue-noise sampling.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import measure

import flame_core
from flame_core.binding import bind_points, unbind_points
from flame_core.ply import write_ply
from flame_core.sampling import evaluate_samples, sample_surface


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    model = flame_core.demo_model()
    verts, faces = model.forward(flame_core.FlameParams()).vertices, model.faces
    n, repeat = args.points, args.repeat
    print(f"numpy {np.__version__}, demo head: {verts.shape[0]} vertices, {faces.shape[0]} faces, {verts.dtype}")

    def report(label: str, fn, reps: int = repeat) -> None:
        print(f"{label:<52s} {measure(fn, reps):8.2f}")

    report(f"sample_surface {n:,} points + normals (float32)", lambda: sample_surface(verts, faces, n, seed=0))
    verts64 = verts.astype(np.float64)
    report(f"sample_surface {n:,} points + normals (float64)", lambda: sample_surface(verts64, faces, n, seed=0))
    samples = sample_surface(verts, faces, n, seed=0)
    frames = np.stack([verts * (1 + 0.01 * k) for k in range(4)])
    report(f"evaluate_samples {n:,} points x 4 frames", lambda: evaluate_samples(frames, faces, samples.face_index,
                                                                                  samples.barycentric), 5)
    local = bind_points(verts, faces, samples.positions, samples.face_index)
    report(f"bind_points {n:,}", lambda: bind_points(verts, faces, samples.positions, samples.face_index), 5)
    report(f"unbind_points {n:,}", lambda: unbind_points(verts, faces, samples.face_index, local), 5)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "points.ply"
        report(f"write_ply {n:,} points + normals", lambda: write_ply(path, samples.positions, samples.normals), 5)
    spacing = float(np.sqrt(flame_core.face_areas(verts64, faces).sum() / 20_000))
    report(f"blue noise: 20,000 points, min_distance {spacing * 1e3:.2f} mm",
           lambda: sample_surface(verts, faces, 20_000, seed=0, min_distance=spacing * 0.8), 5)


if __name__ == "__main__":
    main()
