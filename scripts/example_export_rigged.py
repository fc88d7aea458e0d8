"""Export a FLAME performance as a rigged, blend-shaped asset for engines (glTF for the web, FBX for Unity/Unreal).

    .venv/bin/python scripts/example_export_rigged.py SEQUENCE OUT.glb [--preset GLTF|UNITY|UNREAL] [--expressions 50]
    blender -b --python scripts/example_export_rigged.py -- SEQUENCE OUT.fbx --preset UNITY

SEQUENCE is any file or folder ``flame_core.load_sequence`` reads, or ``demo:N`` for a generated N-frame
performance of the demo head. Without --model the extension's configured model (or the demo head) is used.
Prints the export time, the file size and the largest vertex deviation from exact FLAME.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import blender_session


def main() -> None:
    argv, extension = blender_session.start()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequence", help="sequence file or folder, or demo:N")
    parser.add_argument("output", help=".glb/.gltf (GLTF) or .fbx (UNITY, UNREAL) file to write")
    parser.add_argument("--preset", choices=("GLTF", "UNITY", "UNREAL"), default="GLTF")
    parser.add_argument("--expressions", type=int, default=50, help="expression shape keys (default 50)")
    parser.add_argument("--no-correctives", action="store_true", help="leave out the 36 pose-corrective shapes")
    parser.add_argument("--model", default="", help="model file (default: the configured model or the demo head)")
    args = parser.parse_args(argv)

    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.flame.add_head(model_path=args.model)
    with tempfile.TemporaryDirectory() as folder:
        source = args.sequence
        if source.startswith("demo:"):
            flame_core = importlib.import_module(f"{extension.__name__}.flame_core")
            source = str(flame_core.save_sequence(flame_core.demo_sequence(int(source[5:]), fps=30.0),
                                                  Path(folder) / "demo.npz"))
        result = bpy.ops.flame.import_sequence(filepath=str(Path(source).resolve()), frame_start=1, fps_mode="FILE")
        if result != {"FINISHED"}:
            raise SystemExit(f"could not import {args.sequence}")
    scene = bpy.context.scene
    output = Path(args.output).resolve()
    result = bpy.ops.flame.export_rigged(filepath=str(output), preset=args.preset, expressions=args.expressions,
                                         correctives=not args.no_correctives,
                                         frame_start=scene.frame_start, frame_end=scene.frame_end)
    if result != {"FINISHED"}:
        raise SystemExit(f"could not export {output}")
    report = importlib.import_module(f"{extension.__name__}.flame_addon.operators.export_rigged").last_report
    print(f"exported {report.frames} frames ({args.preset}, {report.expressions} expressions) to {output}: "
          f"{output.stat().st_size / 1e6:.2f} MB in {report.seconds:.1f} s; largest deviation from FLAME "
          f"{report.deviation * 1000:.3g} mm")


if __name__ == "__main__":
    blender_session.run(main, "example_export_rigged")
