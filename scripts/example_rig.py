"""Keyframe a FLAME parameter sequence onto a head, move its pose onto a rig's bones, and save a .blend.

    .venv/bin/python scripts/example_rig.py SEQUENCE OUT.blend [--model FILE] [--eye-target]
    blender -b --python scripts/example_rig.py -- SEQUENCE OUT.blend [...]

The head's shape and expression stay parameter keys; its pose (global rotation, translation, neck, jaw, eyes)
becomes keys on the rig's bones (*Parameters → Bones*), ready to be refined with constraints. With
--eye-target both eyes also track an empty in front of the face (Damped Track), overriding the tracked gaze.
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
    parser.add_argument("--eye-target", action="store_true", help="eyes track an empty (Damped Track)")
    args = parser.parse_args(argv)

    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.flame.add_head(model_path=args.model)
    if bpy.ops.flame.import_sequence(filepath=str(Path(args.sequence).resolve()), fps_mode="FILE") != {"FINISHED"}:
        raise SystemExit(f"could not import {args.sequence}")
    scene = bpy.context.scene
    if bpy.ops.flame.add_rig(eye_target=args.eye_target) != {"FINISHED"}:
        raise SystemExit("could not add a rig")
    if bpy.ops.flame.rig_from_params(frame_start=scene.frame_start, frame_end=scene.frame_end) != {"FINISHED"}:
        raise SystemExit("could not key the bones")
    bpy.ops.wm.save_as_mainfile(filepath=str(Path(args.blend).resolve()))
    print(f"keyed the rig's bones over frames {scene.frame_start}-{scene.frame_end} into {args.blend}")


if __name__ == "__main__":
    blender_session.run(main, "example_rig")
