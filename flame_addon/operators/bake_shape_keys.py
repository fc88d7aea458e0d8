"""``flame.bake_shape_keys``: a head's animation as a plain mesh with one shape key per frame.

The new object is a copy of the head's mesh (UVs, smooth shading; not a FLAME head) with a
``Basis`` (the first frame) and a ``Frame NNNN`` key per frame whose value is keyed 1 at its own
frame and 0 at its neighbours (constant interpolation), the layout glTF, FBX and Alembic exporters
carry as morph-target / point animation. Positions come from the core's forward pass in batches
and are written per key in one bulk call.
"""

from __future__ import annotations

from typing import Any

import bpy
import numpy as np
from bpy.props import EnumProperty, IntProperty

from ...flame_core import FlameError
from ...flame_core.axes import to_blender_axes
from .. import animation, evaluate, heads, objects, offsets, param_channels
from ..results import OperatorResult
from . import frame_range

#: Frames evaluated per forward call (bounds the memory of a batch: frames x vertices x 3).
BATCH = 64


def frame_vertices(context: Any, head: Any, frames: np.ndarray) -> np.ndarray:
    """The head's vertices (len(frames), V, 3) in its mesh's (Blender) axes at each frame."""
    params = param_channels.sample_params(context, head, frames)
    model = heads.model_for(head)
    if len(head.data.vertices) != model.n_vertices:
        raise FlameError(f"the model has {model.n_vertices} vertices but {head.name!r} has {len(head.data.vertices)}")
    out = np.empty((len(frames), model.n_vertices, 3), dtype=np.float32)
    static_offset = offsets.read(head)
    for start in range(0, len(frames), BATCH):
        chunk = params[start : start + BATCH]
        vertices = model.forward(evaluate.model_params(model, chunk), static_offset=static_offset).vertices
        out[start : start + BATCH] = to_blender_axes(vertices)
    return out


def key_name(frame: int) -> str:
    return f"Frame {frame:04d}"


def visibility_channels(frames: np.ndarray) -> list[animation.Channel]:
    """For each frame's key: 1 at its frame, 0 at the frames before and after (within the range)."""
    channels = []
    first, last = int(frames[0]), int(frames[-1])
    for f in frames.astype(int):
        times = [t for t in (f - 1, f, f + 1) if first <= t <= last]
        values = [1.0 if t == f else 0.0 for t in times]
        channels.append(animation.Channel(f'key_blocks["{key_name(f)}"].value', 0, np.array(times), np.array(values)))
    return channels


def bake(context: Any, head: Any, frame_start: int, frame_end: int, progress: Any = None) -> Any:
    """Make the baked object (linked next to the head); raises, leaving nothing behind, on failure."""
    frames = np.arange(frame_start, frame_end + 1, dtype=np.float64)
    positions = frame_vertices(context, head, frames)
    mesh = head.data.copy()
    mesh.name = f"{head.name} Baked"
    obj = bpy.data.objects.new(mesh.name, mesh)
    try:
        obj.matrix_world = head.matrix_world.copy()
        mesh.vertices.foreach_set("co", positions[0].reshape(-1))
        mesh.update()
        basis = obj.shape_key_add(name="Basis", from_mix=False)
        basis.value = 0.0
        for k, f in enumerate(frames.astype(int)):
            block = obj.shape_key_add(name=key_name(int(f)), from_mix=False)
            block.data.foreach_set("co", positions[k].reshape(-1))
            block.value = 0.0
            block.slider_min, block.slider_max = 0.0, 1.0
            if progress is not None:
                progress(k + 1, 2 * len(frames))
        key = mesh.shape_keys
        key.use_relative = True
        animation.write_keyframes(key, visibility_channels(frames), interpolation="CONSTANT",
                                  action_name=f"{obj.name} Shape Keys")
        objects.link_beside(context, obj, head)
    except BaseException:
        key = mesh.shape_keys
        bpy.data.objects.remove(obj)
        if key is not None and key.animation_data is not None and key.animation_data.action is not None:
            bpy.data.actions.remove(key.animation_data.action)
        bpy.data.meshes.remove(mesh)
        raise
    return obj


class FLAME_OT_bake_shape_keys(bpy.types.Operator):
    """Bake the active head's animation into a new mesh object with one shape key per frame \
(for glTF, FBX and Alembic export)"""

    bl_idname = "flame.bake_shape_keys"
    bl_label = "Bake to Shape Keys"
    bl_options = {"REGISTER", "UNDO"}

    frame_start: IntProperty(name="Start Frame", description="First frame (default: the scene's)")  # type: ignore[valid-type]
    frame_end: IntProperty(name="End Frame", description="Last frame (default: the scene's)")  # type: ignore[valid-type]
    mode: EnumProperty(  # type: ignore[valid-type]
        name="Mode",
        items=[("SHAPE_KEYS", "Shape Key per Frame", "Absolute shape keys, each keyed 1 at its own frame")],
        default="SHAPE_KEYS",
    )

    @classmethod
    def poll(cls, context: Any) -> bool:
        obj = context.active_object
        return heads.is_head(obj) and context.mode == "OBJECT"

    def execute(self, context: Any) -> OperatorResult:
        problem = frame_range.settle(self, context.scene.frame_start, context.scene.frame_end)
        if problem:
            self.report({"ERROR"}, problem)
            return {"CANCELLED"}
        head = context.active_object
        try:
            obj = bake(context, head, self.frame_start, self.frame_end)
        except (FlameError, OSError) as exc:
            self.report({"ERROR"}, f"Cannot bake {head.name}: {exc}")
            return {"CANCELLED"}
        objects.select_only(context, obj)
        count = self.frame_end - self.frame_start + 1
        self.report({"INFO"}, f"Baked {count} frames of {head.name} into {obj.name}")
        return {"FINISHED"}


CLASSES = (FLAME_OT_bake_shape_keys,)
register, unregister = bpy.utils.register_classes_factory(CLASSES)
