"""Timings of the normal-map bake and surface-point operators in Blender (median of repeats).

    .venv/bin/python scripts/bench_outputs.py [--zip build/extension/...zip]          # bpy 5.0
    .venv/envs/blender-4.2/bin/python scripts/bench_outputs.py

Installs the extension from its zip into a temporary user folder (building it when no zip is given).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import blender_session
from timing import measure


def _median(fn, repeat: int = 5) -> float:
    return measure(fn, repeat, warmup=0).median_ms


def _changer(head):
    values = iter(range(1_000_000))

    def change() -> None:
        head.flame.jaw = (0.001 * next(values), 0.0, 0.0)  # evaluates the head and its bound points

    return change


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zip", help="extension zip (default: build one in a temporary folder)")
    args = parser.parse_args()
    blender_session.start(args.zip or blender_session.build_zip())
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.flame.add_head()
    head = bpy.context.view_layer.objects.active
    folder = tempfile.mkdtemp(prefix="flame-bench-out-")
    print(f"Blender {bpy.app.version_string}")
    for label, kwargs in [
        ("bake front 512x512 camera space", {"camera": "FRONT"}),
        ("bake front 1024x1024, 4 samples", {"camera": "FRONT", "width": 1024, "height": 1024, "samples": 4}),
        ("bake UV 1024x1024 object space", {"space": "UV_OBJECT", "width": 1024, "height": 1024}),
        ("bake front 512 + save PNG16", {"camera": "FRONT", "filepath": os.path.join(folder, "n.png"),
                                         "file_format": "PNG16"}),
        ("bake front 512 + save EXR", {"camera": "FRONT", "filepath": os.path.join(folder, "n.exr"),
                                       "file_format": "EXR"}),
    ]:
        print(f"{label:40s} {_median(lambda kw=kwargs: bpy.ops.flame.bake_normal_map(**kw)):8.1f} ms")
    for count in (10_000, 100_000):
        bpy.context.view_layer.objects.active = head
        print(f"{f'sample_points {count}':40s} "
              f"{_median(lambda c=count: bpy.ops.flame.sample_points(count=c, seed=1), 3):8.1f} ms")
        bpy.context.view_layer.objects.active = head
        bpy.ops.flame.sample_points(count=count, seed=1)
        for obj in [o for o in bpy.data.objects if o.parent is head and o.name != bpy.context.active_object.name]:
            bpy.data.objects.remove(obj)
        change = _changer(head)

        with_points = _median(change, 9)
        print(f"{f'head update with {count} bound points':40s} {with_points:8.1f} ms")
        bpy.data.objects.remove(bpy.context.active_object)
        print(f"{'head update without points':40s} {_median(change, 9):8.1f} ms")


if __name__ == "__main__":
    main()
