"""Render a normal map for every frame of a FLAME parameter sequence.

    .venv/bin/python scripts/example_normal_maps.py SEQUENCE OUTDIR [--size 512] [--convention OPENGL] [...]
    blender -b --python scripts/example_normal_maps.py -- SEQUENCE OUTDIR [...]

The head is keyframed from SEQUENCE, then `flame.bake_normal_map` renders frame by frame from a front camera
framing the head (or the scene camera with --camera SCENE) into OUTDIR/normal_####.png (or .exr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import blender_session


def main() -> None:
    argv, _ = blender_session.start()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequence", help="sequence file or folder")
    parser.add_argument("outdir", help="folder for the images")
    parser.add_argument("--model", default="", help="model file (default: the configured model or the demo head)")
    parser.add_argument("--size", type=int, default=512, help="image width and height (front camera)")
    parser.add_argument("--camera", choices=("FRONT", "SCENE"), default="FRONT")
    parser.add_argument("--space", choices=("CAMERA", "WORLD"), default="CAMERA")
    parser.add_argument("--convention", default="AUTO", help="AUTO, OPENGL, OPENCV, SCANNET, BLENDER, FLAME")
    parser.add_argument("--samples", type=int, default=1, help="samples per pixel (1, 4, 9, 16)")
    parser.add_argument("--format", choices=("PNG8", "PNG16", "EXR"), default="PNG8")
    args = parser.parse_args(argv)

    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.flame.add_head(model_path=args.model)
    bpy.ops.flame.import_sequence(filepath=str(Path(args.sequence).resolve()), frame_start=1, fps_mode="FILE")
    scene = bpy.context.scene
    outdir = Path(args.outdir).resolve()
    suffix = ".exr" if args.format == "EXR" else ".png"
    bpy.ops.flame.bake_normal_map(
        camera=args.camera, space=args.space, convention=args.convention.upper(), width=args.size,
        height=args.size, samples=args.samples, frame_start=scene.frame_start, frame_end=scene.frame_end,
        filepath=str(outdir / f"normal_####{suffix}"), file_format=args.format,
    )
    print(f"wrote {scene.frame_end - scene.frame_start + 1} normal maps to {outdir}")


if __name__ == "__main__":
    blender_session.run(main, "example_normal_maps")
