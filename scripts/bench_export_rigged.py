"""The engine export of a 1000-frame performance against the per-frame shape-key bake, both as glTF.

    .venv/bin/python scripts/bench_export_rigged.py [--frames 1000] [--zip build/extension/...zip]

Prints the time of ``flame.export_rigged`` (50 expressions and the correctives), the sizes of its .glb and of
the .glb of ``flame.bake_shape_keys`` for the same frames (written with the same glTF exporter settings:
no morph normals), their ratio, and the largest vertex deviation from exact FLAME.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import blender_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--zip", help="extension zip (default: build one in a temporary folder)")
    args = parser.parse_args()
    extension = blender_session.start(args.zip or blender_session.build_zip())[1]
    import bpy

    flame_core = importlib.import_module(f"{extension.__name__}.flame_core")
    export_rigged = importlib.import_module(f"{extension.__name__}.flame_addon.operators.export_rigged")
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.flame.add_head()
    head = bpy.context.active_object
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        seq = flame_core.save_sequence(flame_core.demo_sequence(args.frames, fps=30.0), out / "performance.npz")
        assert bpy.ops.flame.import_sequence(filepath=str(seq), frame_start=1, fps_mode="FILE") == {"FINISHED"}
        rigged = out / "rigged.glb"
        assert bpy.ops.flame.export_rigged(filepath=str(rigged), expressions=50, frame_start=1,
                                           frame_end=args.frames) == {"FINISHED"}
        report = export_rigged.last_report
        started = time.perf_counter()
        assert bpy.ops.flame.bake_shape_keys(frame_start=1, frame_end=args.frames) == {"FINISHED"}
        baked_object = bpy.context.active_object
        for obj in bpy.context.selected_objects:
            obj.select_set(False)
        baked_object.select_set(True)
        baked = out / "baked.glb"
        bpy.ops.export_scene.gltf(filepath=str(baked), export_format="GLB", use_selection=True,
                                  export_morph_normal=False, export_animations=True)
        bake_seconds = time.perf_counter() - started
        del head
        size, baked_size = rigged.stat().st_size, baked.stat().st_size
        print(f"{args.frames} frames, 50 expressions + 36 correctives")
        print(f"export_rigged (glTF): {report.seconds:.1f} s, {size / 1e6:.2f} MB")
        print(f"bake_shape_keys + glTF export: {bake_seconds:.1f} s, {baked_size / 1e6:.2f} MB")
        print(f"size ratio rigged / baked: {size / baked_size:.4f}")
        print(f"largest vertex deviation from exact FLAME: {report.deviation * 1000:.2g} mm")


if __name__ == "__main__":
    blender_session.run(main, "bench_export_rigged")
