"""``flame.eyes_look_at``: aim both eyes at the 3D cursor or an object."""

from __future__ import annotations

from typing import Any

import bpy
import numpy as np
from bpy.props import EnumProperty, StringProperty

from ...flame_core import JOINT_NAMES, FlameError
from ...flame_core.lbs import rodrigues
from ...flame_core.params import PARENTS
from .. import evaluate
from ..results import OperatorResult

#: An eye looks along +Z (FLAME axes) in the rest pose.
EYE_FORWARD = np.array([0.0, 0.0, 1.0])
EYE_JOINTS = (JOINT_NAMES.index("left_eye"), JOINT_NAMES.index("right_eye"))


def aim_rotation(forward: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The smallest axis-angle rotation (3,) taking unit ``forward`` onto ``direction``."""
    d = direction / np.linalg.norm(direction)
    axis = np.cross(forward, d)
    sin = np.linalg.norm(axis)
    cos = float(np.clip(np.dot(forward, d), -1.0, 1.0))
    angle = np.arctan2(sin, cos)
    if sin < 1e-12:
        if cos > 0:
            return np.zeros(3)
        # Opposite directions: any axis perpendicular to forward.
        helper = np.array([1.0, 0.0, 0.0]) if abs(forward[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        axis = np.cross(forward, helper)
        sin = np.linalg.norm(axis)
    return axis / sin * angle


def eye_rotations(params: Any, joints: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Eye axis-angles (6,) aiming both eyes (posed ``joints`` (J, 3), FLAME axes) at ``target`` (3,).

    Each eye's rotation is relative to its parent joint, so the parent chain's rotation is undone
    before aiming.
    """
    local = rodrigues(params.pose.reshape(len(JOINT_NAMES), 3))
    world = [np.eye(3)] * len(JOINT_NAMES)
    for j, parent in enumerate(PARENTS):
        world[j] = local[j] if parent < 0 else world[parent] @ local[j]
    out = []
    for j in EYE_JOINTS:
        direction = target - joints[j]
        if np.linalg.norm(direction) < 1e-9:
            raise FlameError("the target is at the eye's centre")
        parent_rotation = world[PARENTS[j]]
        out.append(aim_rotation(EYE_FORWARD, parent_rotation.T @ direction))
    return np.concatenate(out)


class FLAME_OT_eyes_look_at(bpy.types.Operator):
    """Rotate both eyes of the active head to look at the 3D cursor or an object"""

    bl_idname = "flame.eyes_look_at"
    bl_label = "Eyes Look At"
    bl_options = {"REGISTER", "UNDO"}

    target: EnumProperty(  # type: ignore[valid-type]
        name="Target", description="What the eyes look at",
        items=[("CURSOR", "3D Cursor", "Look at the 3D cursor"), ("OBJECT", "Object", "Look at an object's origin")],
        default="CURSOR",
    )
    target_object: StringProperty(name="Object", description="Object to look at (Target: Object)")  # type: ignore[valid-type]

    @classmethod
    def poll(cls, context: Any) -> bool:
        obj = evaluate.active_head(context)
        return obj is not None and evaluate.is_editable(obj)

    def execute(self, context: Any) -> OperatorResult:
        obj = context.active_object
        if self.target == "OBJECT":
            other = bpy.data.objects.get(self.target_object)
            if other is None:
                self.report({"ERROR"}, f"No object named {self.target_object!r}")
                return {"CANCELLED"}
            world = np.array(other.matrix_world.translation)
        else:
            world = np.array(context.scene.cursor.location)
        inverse = np.array(obj.matrix_world.inverted())
        local = inverse[:3, :3] @ world + inverse[:3, 3]
        target = evaluate.from_blender_axes(local).astype(np.float64)
        before = list(obj.flame.eyes)
        try:
            params = evaluate.read_params(obj.flame)
            model = evaluate.model_for(obj)
            joints = model.forward(evaluate.model_params(model, params)).joints
            obj.flame.eyes = eye_rotations(params, np.asarray(joints, dtype=np.float64), target).tolist()
            evaluate.evaluate(obj)
        except (FlameError, OSError) as exc:
            obj.flame.eyes = before
            self.report({"ERROR"}, f"Cannot aim the eyes: {exc}")
            return {"CANCELLED"}
        return {"FINISHED"}


CLASSES = (FLAME_OT_eyes_look_at,)
