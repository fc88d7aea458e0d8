"""Sample a point cloud bound to the head's surface and export it for every frame of a sequence.

    .venv/bin/python scripts/example_bound_points.py SEQUENCE OUTDIR [-n 100000] [--seed 0] [--region face]
    blender -b --python scripts/example_bound_points.py -- SEQUENCE OUTDIR [...]

Writes OUTDIR/bound/points.ply + flame_param.npz (the triangle-bound GaussianAvatars layout, at the first
frame) and OUTDIR/frames/points_####.ply (world positions and normals per frame, 3D Gaussian Splatting layout,
in FLAME's axes): the same points, following the animation.
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
    parser.add_argument("outdir", help="output folder")
    parser.add_argument("--model", default="", help="model file (default: the configured model or the demo head)")
    parser.add_argument("-n", "--count", type=int, default=100_000, help="number of points")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--region", default="ALL", help="ALL or a mask of the model (e.g. face)")
    args = parser.parse_args(argv)

    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.flame.add_head(model_path=args.model)
    head = bpy.context.object
    bpy.ops.flame.import_sequence(filepath=str(Path(args.sequence).resolve()), frame_start=1, fps_mode="FILE")
    scene = bpy.context.scene
    scene.frame_set(scene.frame_start)
    bpy.ops.flame.sample_points(count=args.count, seed=args.seed, region=args.region, bind=True)
    outdir = Path(args.outdir).resolve()
    (outdir / "bound").mkdir(parents=True, exist_ok=True)
    (outdir / "frames").mkdir(parents=True, exist_ok=True)
    bpy.ops.flame.export_points(filepath=str(outdir / "bound" / "points.ply"), layout="BOUND",
                                frame=scene.frame_start)
    for frame in range(scene.frame_start, scene.frame_end + 1):
        bpy.ops.flame.export_points(filepath=str(outdir / "frames" / f"points_{frame:04d}.ply"), layout="3DGS",
                                    axes="FLAME", frame=frame)
    print(f"wrote {args.count} bound points of {head.name!r} and {scene.frame_end - scene.frame_start + 1} "
          f"per-frame point clouds to {outdir}")


if __name__ == "__main__":
    blender_session.run(main, "example_bound_points")
