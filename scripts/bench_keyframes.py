"""Keyframing a FLAME sequence in Blender: bulk F-Curve writes against per-key ``keyframe_insert``.

    .venv/bin/python scripts/bench_keyframes.py [--frames 1000] [--repeat 5] [--zip build/extension/...zip]

Installs the extension from its zip into a temporary user folder (building it when no zip is
given), adds a demo head exposing 100 expression components and times, on a VHAP-layout sequence
(100 expression + 15 pose + 3 translation channels per frame, shape shared):

- ``animation.write_keyframes`` of the 118 channels (the bulk path), and the whole
  ``flame.import_sequence`` operator from an .npz file (file read, counts, keys, frame range);
- ``keyframe_insert`` once per channel and frame, measured on a subset of frames and scaled up
  linearly to the full length (said so in the output);
- sampling the head's parameters at every frame for export: F-Curve evaluation against stepping
  the scene with ``frame_set``;
- ``flame.bake_shape_keys`` over a shorter range.

Prints the best and the median of the repeats (the machine is shared, so the best is the cleaner figure).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent))

import blender_session
from timing import Timing, measure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--insert-frames", type=int, default=100, help="frames keyed with keyframe_insert")
    parser.add_argument("--bake-frames", type=int, default=100)
    parser.add_argument("--zip", help="extension zip (default: build one in a temporary folder)")
    args = parser.parse_args()
    _, package = blender_session.start(args.zip or blender_session.build_zip())
    folder = tempfile.mkdtemp(prefix="flame-bench-")
    try:
        return run(package, args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(package: ModuleType, args: argparse.Namespace, folder: str) -> int:
    import bpy
    import numpy as np

    addon, fc = package.flame_addon, package.flame_core
    animation, channels_mod, bridge = addon.animation, addon.param_channels, addon.bridge
    sequence_channels = importlib.import_module(f"{package.__name__}.flame_core.channels").sequence_channels

    n = args.frames
    rng = np.random.default_rng(0)
    params = fc.FlameParams(
        shape=rng.normal(size=300), expression=rng.normal(size=(n, 100)),
        rotation=rng.normal(scale=0.1, size=(n, 3)), neck=rng.normal(scale=0.1, size=(n, 3)),
        jaw=rng.normal(scale=0.1, size=(n, 3)), eyes=rng.normal(scale=0.1, size=(n, 6)),
        translation=rng.normal(scale=0.01, size=(n, 3)),
    )
    seq = fc.FlameSequence(params, fps=24.0)
    path = os.path.join(folder, "tracked_flame_params.npz")
    fc.save_sequence(seq, path)

    def fresh_head():
        bpy.ops.wm.read_homefile(use_empty=True)
        addon.evaluate.forget()
        bpy.ops.flame.add_head(n_shape=100, n_expression=100)
        return bpy.context.active_object

    def clear_animation(obj) -> None:
        if obj.animation_data is not None:
            action = obj.animation_data.action
            obj.animation_data_clear()
            if action is not None:
                bpy.data.actions.remove(action)

    head = fresh_head()
    frames = np.arange(1, n + 1, dtype=np.float64)
    sizes = {name: len(channels_mod.field_keys(head.flame, name)) for name in channels_mod.GROUP_NAMES}
    varying = fc.FlameParams(**{k: v for k, v in params.to_dict().items() if k != "shape"})
    channels = [channels_mod.to_channel(head.flame, c) for c in sequence_channels(varying, sizes, frames).keyed]
    print(f"Blender {bpy.app.version_string}; {n} frames x {len(channels)} channels "
          f"({len(channels) * n} keys); {args.repeat} repeats")

    def bulk() -> None:
        clear_animation(head)
        animation.write_keyframes(head, channels)

    print(f"write_keyframes (bulk):            {measure(bulk, args.repeat, warmup=0):9.1f}   target <= 300 ms")

    operator_times: list[float] = []
    for _ in range(args.repeat):
        fresh_head()  # not timed
        start = time.perf_counter()
        assert bpy.ops.flame.import_sequence(filepath=path) == {"FINISHED"}
        operator_times.append(time.perf_counter() - start)
    print(f"flame.import_sequence (.npz file): {Timing.from_seconds(operator_times):9.1f}")

    # Per-key keyframe_insert on a subset of frames, scaled to the full length.
    head = fresh_head()
    m = min(args.insert_frames, n)
    settings = head.flame
    keys = [(c.data_path, c.index) for c in channels]
    table = np.stack([c.values[:m] for c in channels], axis=1)

    def per_key() -> None:
        clear_animation(head)
        for k in range(m):
            for j, (data_path, index) in enumerate(keys):
                prop = data_path.rpartition(".")[2]
                if prop.endswith("_values"):  # coefficients: a two-dimensional array, flat index
                    bridge.set_coefficient(settings, prop.removesuffix("_values"), index, table[k, j])
                else:
                    getattr(settings, prop)[index] = table[k, j]
                head.keyframe_insert(data_path, index=index, frame=k + 1)

    settings.is_head = False  # the property updates would re-evaluate the head per value: not keying cost
    try:
        inserted = measure(per_key, min(args.repeat, 3), warmup=0)
    finally:
        settings.is_head = True
    scale = n / m
    print(f"keyframe_insert per key, {m} frames: {inserted:9.1f} (value set + keyframe_insert, head evaluation off)")
    print(f"  scaled x{scale:g} to {n} frames (linear extrapolation): ~{inserted.best_ms * scale / 1e3:.1f} s best, "
          f"~{inserted.median_ms * scale / 1e3:.1f} s median")

    # Sampling for export.
    head = fresh_head()
    animation.write_keyframes(head, channels)
    context = bpy.context
    sampled = measure(lambda: channels_mod.sample_params(context, head, frames), args.repeat, warmup=0)
    print(f"sample_params, F-Curve evaluation: {sampled:9.1f}")
    head.animation_data.action_blend_type = "ADD"  # forces the frame-stepping path (blending)
    stepped = measure(lambda: channels_mod.sample_params(context, head, frames), 1, warmup=0)
    print(f"sample_params, frame_set stepping: {stepped:9.1f} (1 run; includes the head's evaluation per frame)")
    head.animation_data.action_blend_type = "REPLACE"

    k = min(args.bake_frames, n)

    def bake() -> None:
        bpy.context.view_layer.objects.active = head
        assert bpy.ops.flame.bake_shape_keys(frame_start=1, frame_end=k) == {"FINISHED"}

    print(f"flame.bake_shape_keys, {k} frames, {len(head.data.vertices)} vertices: "
          f"{measure(bake, min(args.repeat, 3), warmup=0):9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
