"""Benchmark normal-map rendering of the full-size embedded head (5023 vertices, 9976 faces).

    .venv/bin/python scripts/bench_render.py [--repeat 15] [--fill 0.9] [--wall]

The head is framed by a front camera whose field of view makes it fill about ``--fill`` of the image
height. Prints best and median times for the rasterizer alone (both depth-resolve methods) and for the
full normal map (samples 1 and 4) at 512 and 1024 pixels, and the numpy version. Times are this process's CPU
time (steady on a shared machine; numpy runs single-threaded here), or wall clock with ``--wall``.
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
from flame_core.camera import Camera
from flame_core.raster import rasterize
from flame_core.render import render_normal_map


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--fill", type=float, default=0.9, help="fraction of the image height the head spans")
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    args = parser.parse_args()
    clock = time.perf_counter if args.wall else time.process_time
    model = flame_core.demo_model()
    rng = np.random.default_rng(0)
    params = flame_core.FlameParams(jaw=[0.15, 0, 0], rotation=rng.normal(size=3) * 0.1)
    verts = model.forward(params).vertices.astype(np.float64)
    faces = model.faces
    print(f"numpy {np.__version__}; {len(verts)} vertices, {len(faces)} faces; {'wall' if args.wall else 'CPU'} time")
    height = np.ptp(verts[:, 1])
    for size in (512, 1024):
        base = Camera.front(verts, (size, size))
        distance = np.linalg.norm(base.position - verts.mean(axis=0))
        focal = args.fill * size * distance / height
        cam = Camera.look_at(base.position, base.position - [0, 0, 1.0], focal=focal, size=(size, size))
        nm = render_normal_map(verts, faces, cam)
        print(f"\n{size}x{size}: head covers {nm.mask.mean():.0%} of the image")
        for label, fn in (
            ("rasterize (scatter resolve)", lambda c=cam: rasterize(verts, faces, c, resolve="scatter")),
            ("rasterize (np.minimum.at resolve)", lambda c=cam: rasterize(verts, faces, c, resolve="minimum_at")),
            ("render_normal_map samples=1", lambda c=cam: render_normal_map(verts, faces, c)),
            ("render_normal_map samples=4", lambda c=cam: render_normal_map(verts, faces, c, samples=4)),
        ):
            print(f"  {label:36s} {measure(fn, args.repeat, clock=clock):7.1f}")


if __name__ == "__main__":
    main()
