"""Rig operators: add and remove a head's rig, move animation between bones and parameters.

- ``flame.add_rig``: an armature with FLAME's joints that drives the head's pose from then on;
- ``flame.remove_rig``: back to parameter control, the current pose copied into the parameters;
- ``flame.bake_rig``: *Bones → Parameters*, the rig's evaluated motion keyed on the pose parameters;
- ``flame.rig_from_params``: *Parameters → Bones*, the pose parameters' animation keyed on the bones.

Each is one undo step; a failure reports and leaves the file as it was (no partial keys).
"""

from __future__ import annotations

from typing import Any

import bpy
import numpy as np
from bpy.props import BoolProperty, IntProperty

from ...flame_core import FlameError, FlameParams
from ...flame_core import rig as core_rig
from ...flame_core.axes import to_blender_axes
from .. import animation, bridge, evaluate, heads, param_channels, rig
from ..results import OperatorResult
from . import frame_range

#: Distance of the eye target in front of the eyes, as a multiple of the head's height.
EYE_TARGET_DISTANCE = 2.0


def _head(context: Any) -> Any:
    """The active head, or the head of the active rig."""
    obj = getattr(context, "active_object", None)
    if heads.is_head(obj):
        return obj
    return rig.head_of(obj) if obj is not None else None


def _editable(obj: Any) -> bool:
    return obj is not None and heads.is_editable(obj)


def _frame_range(op: Any, context: Any) -> np.ndarray:
    problem = frame_range.settle(op, context.scene.frame_start, context.scene.frame_end)
    if problem:
        raise FlameError(problem)
    return np.arange(op.frame_start, op.frame_end + 1, dtype=np.float64)


def add_eye_target(context: Any, head: Any, arm: Any) -> Any:
    """An empty in front of the eyes that both eye bones follow with a Damped Track."""
    from .. import objects

    joints, height = rig.rest_joints(head)
    eyes = joints[3:5].mean(axis=0)
    local = to_blender_axes(eyes + np.array([0.0, 0.0, EYE_TARGET_DISTANCE * max(height, 0.05)]))
    target = bpy.data.objects.new(f"{head.name} Eye Target", None)
    target.empty_display_type = "SPHERE"
    target.empty_display_size = 0.1 * max(height, 0.05)
    objects.link_beside(context, target, head)
    target.parent = head
    target.matrix_parent_inverse.identity()
    target.location = np.asarray(local, dtype=np.float64).tolist()
    for name in core_rig.BONE_NAMES[3:5]:
        constraint = arm.pose.bones[name].constraints.new("DAMPED_TRACK")
        constraint.name = "Look at Target"
        constraint.target = target
        constraint.track_axis = "TRACK_Y"
    return target


class FLAME_OT_add_rig(bpy.types.Operator):
    """Add an armature with FLAME's joints (root, neck, jaw, eyes) that drives the head's pose"""

    bl_idname = "flame.add_rig"
    bl_label = "Add Rig"
    bl_options = {"REGISTER", "UNDO"}

    eye_target: BoolProperty(  # type: ignore[valid-type]
        name="Eye Target", description="Add an empty in front of the face that the eyes track (Damped Track)",
        default=False,
    )

    @classmethod
    def poll(cls, context: Any) -> bool:
        head = heads.active_head(context)
        return _editable(head) and rig.rig_of(head) is None and context.mode == "OBJECT"

    def execute(self, context: Any) -> OperatorResult:
        head: Any = heads.active_head(context)
        if head is None or not _editable(head):
            self.report({"ERROR"}, "Select a FLAME head that is not linked from a library")
            return {"CANCELLED"}
        if rig.rig_of(head) is not None:
            self.report({"ERROR"}, f"{head.name!r} already has a rig")
            return {"CANCELLED"}
        stale = head.flame_rig.armature  # a rig deleted from every scene: forget it
        if stale is not None:
            rig.detach(head)
        target = None
        try:
            arm = rig.build_rig(context, head)
            if self.eye_target:
                target = add_eye_target(context, head, arm)
            context.view_layer.update()
            evaluate.evaluate(head, force=True)
        except (FlameError, OSError, RuntimeError) as exc:
            if target is not None:
                bpy.data.objects.remove(target)
            if rig.rig_of(head) is not None:
                arm = rig.detach(head)
                for widget in rig.widgets_of(arm):
                    rig.remove_object(widget)
                rig.remove_object(arm)
            if stale is not None:
                head.flame_rig.armature, stale.flame_rig.head = stale, head
            evaluate.safe_evaluate(head, force=True)
            self.report({"ERROR"}, f"Cannot add a rig: {exc}")
            return {"CANCELLED"}
        return {"FINISHED"}


class FLAME_OT_remove_rig(bpy.types.Operator):
    """Remove the head's rig: the pose goes back to the parameters, with the rig's current pose"""

    bl_idname = "flame.remove_rig"
    bl_label = "Remove Rig"
    bl_options = {"REGISTER", "UNDO"}

    keep_pose: BoolProperty(  # type: ignore[valid-type]
        name="Keep Pose", description="Copy the rig's current pose into the head's pose parameters", default=True,
    )
    delete: BoolProperty(  # type: ignore[valid-type]
        name="Delete Armature", description="Delete the armature and its bone shapes (else only unlink it)",
        default=True,
    )

    @classmethod
    def poll(cls, context: Any) -> bool:
        head = _head(context)
        return _editable(head) and head.flame_rig.armature is not None and context.mode in ("OBJECT", "POSE")

    def execute(self, context: Any) -> OperatorResult:
        head = _head(context)
        if head is None or head.flame_rig.armature is None:
            self.report({"ERROR"}, "The active object is neither a rigged head nor its rig")
            return {"CANCELLED"}
        try:
            pose = rig.rig_pose(head) if self.keep_pose else None
        except FlameError as exc:
            self.report({"ERROR"}, f"Cannot read the rig's pose: {exc}")
            return {"CANCELLED"}
        if context.mode == "POSE":
            bpy.ops.object.mode_set(mode="OBJECT")
        arm = rig.detach(head)
        if pose is not None:
            bridge.write_params(head.flame, FlameParams(**pose), rig.RIG_FIELDS)
        if self.delete and arm is not None and heads.is_editable(arm):
            widgets = rig.widgets_of(arm)
            rig.remove_object(arm)
            for widget in widgets:
                if widget.users == 0:
                    rig.remove_object(widget)
        context.view_layer.objects.active = head
        evaluate.safe_evaluate(head, force=True)
        curves = [c.data_path for c in animation.curves_by_path(head, "flame.")]
        if any(path in {f"flame.{name}" for name in rig.RIG_FIELDS} for path in curves):
            self.report({"WARNING"}, "The head's pose keys drive it from now on "
                        "(Bones → Parameters first keeps the rig's motion)")
        return {"FINISHED"}


class _RangeOperator:
    frame_start: IntProperty(  # type: ignore[valid-type]
        name="Start", description="First frame (default: the scene's)", default=1,
    )
    frame_end: IntProperty(  # type: ignore[valid-type]
        name="End", description="Last frame (default: the scene's)", default=250,
    )

    @classmethod
    def poll(cls, context: Any) -> bool:
        head = _head(context)
        return _editable(head) and rig.rig_of(head) is not None and context.mode in ("OBJECT", "POSE")


def pose_channels(params: FlameParams, frames: np.ndarray) -> list[animation.Channel]:
    """Keys of the head's pose parameters for a (T,) batch, rotations kept continuous across frames."""
    pose = core_rig.unwrap_axis_angle(params.pose.reshape(len(frames), -1, 3)).reshape(len(frames), -1)
    unwrapped = FlameParams.from_pose(pose, translation=params.values("translation", broadcast=True))
    channels = []
    for name in rig.RIG_FIELDS:
        values = unwrapped.values(name, broadcast=True)
        group = param_channels.GROUP_NAMES[name]
        for i in range(values.shape[-1]):
            channels.append(animation.Channel(f"flame.{name}", i, frames, values[:, i], group))
    return channels


def bone_channels(params: FlameParams, frames: np.ndarray) -> list[animation.Channel]:
    """Keys of the rig's bones (quaternions, root location) for a (T,) batch of poses."""
    local = core_rig.local_rotations(params.pose)  # (T, J, 3, 3)
    quaternions = core_rig.continuous_quaternions(core_rig.quaternion_from_matrix(local))
    location = core_rig.root_location(params.values("translation", broadcast=True))
    channels = []
    for j, name in enumerate(core_rig.BONE_NAMES):
        path = f'pose.bones["{name}"].rotation_quaternion'
        for i in range(4):
            channels.append(animation.Channel(path, i, frames, quaternions[:, j, i], name))
    for i in range(3):
        channels.append(animation.Channel(f'pose.bones["{rig.ROOT}"].location', i, frames, location[:, i], rig.ROOT))
    return channels


class FLAME_OT_bake_rig(_RangeOperator, bpy.types.Operator):
    """Bones → Parameters: key the head's pose parameters from the rig's evaluated motion at every frame"""

    bl_idname = "flame.bake_rig"
    bl_label = "Bones → Parameters"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: Any) -> OperatorResult:
        head = _head(context)
        try:
            frames = _frame_range(self, context)
            params = rig.sample_pose(context, head, frames)
            if params is None:
                raise FlameError(f"{head.name!r} has no rig")
            animation.write_keyframes(head, pose_channels(params, frames))
        except (FlameError, OSError, RuntimeError) as exc:
            self.report({"ERROR"}, f"Cannot bake the rig: {exc}")
            return {"CANCELLED"}
        evaluate.safe_evaluate(head, force=True)
        self.report({"INFO"}, f"Keyed {len(frames)} frames of the pose parameters of {head.name!r}")
        return {"FINISHED"}


class FLAME_OT_rig_from_params(_RangeOperator, bpy.types.Operator):
    """Parameters → Bones: key the rig's bones from the head's pose parameters (keys, curves) at every frame"""

    bl_idname = "flame.rig_from_params"
    bl_label = "Parameters → Bones"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: Any) -> OperatorResult:
        head = _head(context)
        arm: Any = rig.rig_of(head)
        try:
            frames = _frame_range(self, context)
            params = param_channels.sample_params(context, head, frames, from_rig=False)
            for name in core_rig.BONE_NAMES:
                if name not in arm.pose.bones:
                    raise FlameError(f"the rig {arm.name!r} has no bone {name!r}")
            animation.write_keyframes(arm, bone_channels(params, frames))
        except (FlameError, OSError, RuntimeError) as exc:
            self.report({"ERROR"}, f"Cannot key the bones: {exc}")
            return {"CANCELLED"}
        for bone in arm.pose.bones:
            bone.rotation_mode = "QUATERNION"
        context.scene.frame_set(context.scene.frame_current)
        evaluate.safe_evaluate(head, force=True)
        self.report({"INFO"}, f"Keyed {len(frames)} frames on the bones of {arm.name!r}")
        return {"FINISHED"}


CLASSES = (FLAME_OT_add_rig, FLAME_OT_remove_rig, FLAME_OT_bake_rig, FLAME_OT_rig_from_params)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register() -> None:
    _register_classes()


def unregister() -> None:
    _unregister_classes()
