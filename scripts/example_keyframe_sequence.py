"""Keyframe a FLAME parameter sequence onto a head and save a .blend.

    .venv/bin/python scripts/example_keyframe_sequence.py SEQUENCE OUT.blend [--model FILE] [--fps-mode FILE]
    blender -b --python scripts/example_keyframe_sequence.py -- SEQUENCE OUT.blend [...]

SEQUENCE is any file or folder ``flame_core.load_sequence`` reads (VHAP, GaussianAvatars, flame-head-tracker,
DECA/EMOCA, SMIRK, oxigaf); without --model the extension's configured model (or the demo head) is used.
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
    parser.add_argument("blend", help=".blend file to write")
    parser.add_argument("--model", default="", help="model file (default: the configured model or the demo head)")
    parser.add_argument("--fps-mode", choices=("SCENE", "FILE"), default="FILE",
                        help="FILE: take the scene frame rate from the file; SCENE: resample to the scene's")
    parser.add_argument("--frame-start", type=int, default=1)
    args = parser.parse_args(argv)

    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.flame.add_head(model_path=args.model)
    result = bpy.ops.flame.import_sequence(filepath=str(Path(args.sequence).resolve()),
                                           frame_start=args.frame_start, fps_mode=args.fps_mode)
    if result != {"FINISHED"}:
        raise SystemExit(f"could not import {args.sequence}")
    scene = bpy.context.scene
    bpy.ops.wm.save_as_mainfile(filepath=str(Path(args.blend).resolve()))
    print(f"keyframed frames {scene.frame_start}-{scene.frame_end} at {scene.render.fps / scene.render.fps_base:g} "
          f"fps into {args.blend}")


if __name__ == "__main__":
    blender_session.run(main, "example_keyframe_sequence")
