"""Cost of a rigged FLAME head in Blender (median milliseconds) and of moving animation between bones and parameters.

    .venv/bin/python scripts/bench_rig.py [--repeat 200] [--frames 250] [--zip build/extension/...zip]

Installs the extension from its zip into a temporary user folder (building it when no zip is
given), adds a demo head (5023 vertices) with a rig (eyes tracking a target) and times:

- reading the pose from the rig's evaluated bones (the step a rig adds to every evaluation);
- a bone rotated as in a viewport drag, until the head's mesh follows (depsgraph update);
- playback: ``scene.frame_set`` with every bone keyed;
- *Bones → Parameters* and *Parameters → Bones* over the frame range.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent))

import blender_session
from timing import measure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--frames", type=int, default=250)
    parser.add_argument("--zip", help="extension zip (default: build one in a temporary folder)")
    args = parser.parse_args()
    _, package = blender_session.start(args.zip or blender_session.build_zip())
    return run(package, args.repeat, args.frames)


def run(package: ModuleType, repeat: int, frames: int) -> int:
    import bpy
    import numpy as np
    from mathutils import Quaternion

    rig = package.flame_addon.rig
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.flame.add_head(n_shape=100, n_expression=50)
    head = bpy.context.active_object
    bpy.ops.flame.add_rig(eye_target=True)
    arm = head.flame_rig.armature
    print(f"Blender {bpy.app.version_string}; head: {len(head.data.vertices)} vertices; median of {repeat}")

    print(f"read pose from the rig:      {measure(lambda: rig.rig_pose(head), repeat).median_ms:.3f} ms")
    rng = np.random.default_rng(0)
    angles = rng.uniform(-0.4, 0.4, size=repeat)
    step = itertools.count()
    jaw = arm.pose.bones["jaw"]

    def drag() -> None:
        jaw.rotation_quaternion = Quaternion((1.0, 0.0, 0.0), float(angles[next(step) % repeat]))
        bpy.context.view_layer.update()

    print(f"bone rotated, head follows:  {measure(drag, repeat).median_ms:.3f} ms (view layer update included)")

    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, frames
    for frame in range(1, frames + 1, 5):
        for bone in arm.pose.bones:
            bone.rotation_quaternion = Quaternion(rng.normal(size=3), 0.3 * rng.random())
            bone.keyframe_insert("rotation_quaternion", frame=frame)
    counter = itertools.count()
    playback = measure(lambda: scene.frame_set(1 + next(counter) % frames), repeat).median_ms
    print(f"playback, scene.frame_set:   {playback:.3f} ms per frame (rig and head)")

    start = time.perf_counter()
    assert bpy.ops.flame.bake_rig(frame_start=1, frame_end=frames) == {"FINISHED"}
    bake = time.perf_counter() - start
    start = time.perf_counter()
    assert bpy.ops.flame.rig_from_params(frame_start=1, frame_end=frames) == {"FINISHED"}
    back = time.perf_counter() - start
    print(f"Bones -> Parameters:         {1e3 * bake:.0f} ms for {frames} frames")
    print(f"Parameters -> Bones:         {1e3 * back:.0f} ms for {frames} frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
