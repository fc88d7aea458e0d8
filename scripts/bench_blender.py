"""Re-evaluation cost of a FLAME head in Blender (median milliseconds).

    .venv/bin/python scripts/bench_blender.py [--repeat 200] [--zip build/extension/...zip]

Installs the extension from its zip into a temporary user folder (building it when no zip is
given), adds a demo head (5023 vertices) and times:

- a parameter change through the property (update callback -> forward -> mesh), expression and shape;
- playback: ``scene.frame_set`` with every parameter animated (the handler's share timed separately);
- the parts: reading the properties, the forward pass, writing the positions;
- playback of a head with an imported 1000-frame VHAP performance (300 shape, 100 expression, pose), alone,
  then with one and with five bound 100k-point clouds following it (``frame_set`` as a whole: Blender's
  F-Curves, the handler, the Geometry Nodes evaluation of the clouds).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import blender_session
from timing import Timing, measure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--zip", help="extension zip (default: build one in a temporary folder)")
    args = parser.parse_args()
    _, package = blender_session.start(args.zip or blender_session.build_zip())
    return run(package, args.repeat)


def run(package: ModuleType, repeat: int) -> int:
    import bpy
    import numpy as np

    evaluate = package.flame_addon.evaluate
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.flame.add_head(n_shape=100, n_expression=50)
    obj = bpy.context.active_object
    f = obj.flame
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"Blender {bpy.app.version_string}; head: {len(obj.data.vertices)} vertices, "
          f"{len(f.shape)} shape, {len(f.expression)} expression; median of {repeat}")

    rng = np.random.default_rng(0)
    values = rng.normal(size=repeat).astype(np.float32)
    step = itertools.count()

    def set_expression() -> None:
        i = next(step)
        f.expression[i % len(f.expression)].value = values[i % repeat]

    def set_shape() -> None:
        i = next(step)
        f.shape[i % len(f.shape)].value = values[i % repeat]

    def set_jaw() -> None:
        f.jaw[0] = 0.3 * values[next(step) % repeat]

    def median_ms(fn) -> float:
        return measure(fn, repeat, warmup=0).median_ms

    print(f"property change, expression: {median_ms(set_expression):.3f} ms")
    print(f"property change, jaw:        {median_ms(set_jaw):.3f} ms")
    print(f"property change, shape:      {median_ms(set_shape):.3f} ms")

    # Animate every expression, the jaw and the eyes over the frame range.
    frames = 120
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, frames
    for frame in range(1, frames + 1, 4):
        expression = rng.normal(size=len(f.expression)).astype(np.float32)
        f.expression.foreach_set("value", expression)
        f.jaw = (0.2 * rng.random(), 0.0, 0.0)
        f.eyes = rng.normal(scale=0.1, size=6).tolist()
        for i in range(len(f.expression)):
            obj.keyframe_insert("flame.expression_values", index=i, frame=frame)
        obj.keyframe_insert("flame.jaw", frame=frame)
        obj.keyframe_insert("flame.eyes", frame=frame)
    handler_times: list[float] = []
    original = evaluate.evaluate_all

    def timed_handler(*a, **k):
        start = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            handler_times.append(time.perf_counter() - start)

    evaluate.evaluate_all = timed_handler
    frame = itertools.count()
    try:
        frame_ms = median_ms(lambda: scene.frame_set(1 + next(frame) % frames))
    finally:
        evaluate.evaluate_all = original
    print(f"playback, scene.frame_set:   {frame_ms:.3f} ms per frame (all of Blender's frame change)")
    print(f"playback, handler share:     {Timing.from_seconds(handler_times).median_ms:.3f} ms per frame")

    addon = package.flame_addon
    params = addon.bridge.read_params(f)
    model = addon.heads.model_for(obj)
    vertices = model.forward(params).vertices
    print(f"  read properties:           {median_ms(lambda: addon.bridge.read_params(f)):.3f} ms")
    print(f"  forward (shape cached):    {median_ms(lambda: model.forward(params)):.3f} ms")
    print(f"  write positions + update:  {median_ms(lambda: addon.bridge.write_positions(obj.data, vertices)):.3f} ms")
    playback_with_clouds(package, repeat)
    return 0


def playback_with_clouds(package: ModuleType, repeat: int, frames: int = 1000, points: int = 100_000) -> None:
    """``frame_set`` of a head keyed from a 1000-frame VHAP file, then with bound 100k clouds following it, and
    what the first cloud costs on its own (see :func:`cloud_costs`)."""
    import tempfile

    import bpy
    import numpy as np

    fc = package.flame_core
    rng = np.random.default_rng(1)
    params = fc.FlameParams(
        shape=rng.normal(size=300), expression=rng.normal(scale=0.5, size=(frames, 100)),
        rotation=rng.normal(scale=0.05, size=(frames, 3)), neck=rng.normal(scale=0.05, size=(frames, 3)),
        jaw=np.abs(rng.normal(scale=0.1, size=(frames, 3))), eyes=rng.normal(scale=0.05, size=(frames, 6)),
        translation=rng.normal(scale=0.005, size=(frames, 3)),
    )
    step = itertools.count()

    def frame_set_ms(clock: Callable[[], float]) -> float:
        """Median ``frame_set`` over the keyed range, measured with ``clock``."""
        scene = bpy.context.scene
        return measure(lambda: scene.frame_set(1 + next(step) % frames), repeat, warmup=5, clock=clock).median_ms

    def playback_ms() -> str:
        """Wall and CPU time of ``frame_set``: median of three medians (shared machine)."""
        out = [sorted(frame_set_ms(clock) for _ in range(3))[1] for clock in (time.perf_counter, time.process_time)]
        return f"{out[0]:.3f} ms per frame (CPU time {out[1]:.3f} ms)"

    with tempfile.TemporaryDirectory() as folder:
        path = fc.save_sequence(fc.FlameSequence(params, fps=25.0), f"{folder}/tracked_flame_params.npz")
        times = {}
        for constant_keys in ("NONE", "ONE"):
            bpy.ops.wm.read_homefile(use_empty=True)
            bpy.context.scene.render.fps, bpy.context.scene.render.fps_base = 25, 1.0
            bpy.ops.flame.import_sequence(filepath=str(path), frame_start=1, constant_keys=constant_keys)
            times[constant_keys] = playback_ms()
    head = bpy.context.active_object
    print(f"VHAP import ({frames} frames, {len(head.flame.shape)} shape, {len(head.flame.expression)} expression):")
    print(f"  playback, scene.frame_set: {times['ONE']}, constant channels keyed once (the default)")
    print(f"  playback, scene.frame_set: {times['NONE']}, constant channels not keyed")
    for count in (1, 5):
        while sum(1 for child in head.children if child.get("flame_bound")) < count:
            bpy.context.view_layer.objects.active = head
            bpy.ops.flame.sample_points(count=points, seed=count, bind=True)
        label = f"{count} bound {points // 1000}k cloud{'s' if count > 1 else ''}"
        print(f"  with {label}:  {playback_ms()}")
        if count == 1:
            cloud = next(child for child in head.children if child.get("flame_bound"))
            cloud_costs(package, cloud, head, frame_set_ms)


def cloud_costs(package: ModuleType, cloud: Any, head: Any, frame_set_ms: Callable[[Callable[[], float]], float]
                ) -> None:
    """What one bound cloud adds to a played frame: ``frame_set`` with the cloud minus ``frame_set`` with it disabled in
    viewports (not evaluated), measured in turn five times, the best median of each (the least disturbed on a
    shared machine). Also with its normals off, and the floor any 100k-point object following the head pays: its
    modifier replaced by one that passes the points through, then by one setting every position from a stored
    attribute (the cloud unmarked as bound meanwhile, so the add-on leaves that modifier alone)."""
    addon = package.flame_addon
    modifier = cloud.modifiers[addon.bound_points.MODIFIER]
    group = modifier.node_group

    def set_input(name: str, value: object) -> None:
        for item in modifier.node_group.interface.items_tree:
            if getattr(item, "in_out", None) == "INPUT" and item.name == name:
                addon.point_display.set_modifier_input(modifier, item.identifier, value)

    def own_cost(rounds: int = 5) -> str:
        out = []
        for clock in (time.perf_counter, time.process_time):
            with_cloud, without = [], []
            for _ in range(rounds):
                with_cloud.append(frame_set_ms(clock))
                cloud.hide_viewport = True
                without.append(frame_set_ms(clock))
                cloud.hide_viewport = False
            out.append(min(with_cloud) - min(without))
        return f"{out[0]:.3f} ms per frame (CPU time {out[1]:.3f} ms)"

    print(f"    the cloud's own cost:                       {own_cost()}")
    set_input("Normals", False)
    print(f"    the same, its Normals off:                  {own_cost()}")
    set_input("Normals", True)
    cloud["flame_bound"] = False
    for label, set_positions in (("passing the points through", False), ("setting positions from an attribute", True)):
        modifier.node_group = _floor_group(set_positions)
        set_input("Head", head)
        print(f"    floor, a modifier {label}: {own_cost()}")
    modifier.node_group = group
    set_input("Head", head)
    cloud["flame_bound"] = True


def _floor_group(set_positions: bool) -> Any:
    """A Geometry Nodes group following a head (an Object input) that samples nothing: it passes its points
    through, or sets every position from a stored vector attribute (the least a moving cloud writes)."""
    import bpy

    group = bpy.data.node_groups.new("Bench Floor", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    group.interface.new_socket("Head", in_out="INPUT", socket_type="NodeSocketObject")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    source, sink = group.nodes.new("NodeGroupInput"), group.nodes.new("NodeGroupOutput")
    info = group.nodes.new("GeometryNodeObjectInfo")
    group.links.new(source.outputs["Head"], info.inputs["Object"])
    geometry = source.outputs["Geometry"]
    if set_positions:
        stored = group.nodes.new("GeometryNodeInputNamedAttribute")
        stored.data_type = "FLOAT_VECTOR"
        stored.inputs["Name"].default_value = "barycentric"
        set_position = group.nodes.new("GeometryNodeSetPosition")
        group.links.new(geometry, set_position.inputs["Geometry"])
        group.links.new(stored.outputs["Attribute"], set_position.inputs["Position"])
        geometry = set_position.outputs["Geometry"]
    group.links.new(geometry, sink.inputs["Geometry"])
    return group


if __name__ == "__main__":
    raise SystemExit(main())
