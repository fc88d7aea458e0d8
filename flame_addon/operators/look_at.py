"""``flame.eyes_look_at``: aim both eyes at the 3D cursor or an object."""

from __future__ import annotations

from typing import Any

import bpy
import numpy as np
from bpy.props import EnumProperty, StringProperty

from ...flame_core import FlameError
from ...flame_core.axes import from_blender_axes
from ...flame_core.eyes import eye_rotations
from .. import evaluate, heads, rig
from ..results import OperatorResult


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
        obj = heads.active_head(context)
        return obj is not None and heads.is_editable(obj)

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
        target = from_blender_axes(local).astype(np.float64)
        if rig.rig_of(obj) is not None:
            self.report({"ERROR"}, f"{obj.name}'s eyes follow its rig: aim the eye.L and eye.R bones "
                        "(e.g. add_rig(eye_target=True), or a Damped Track constraint)")
            return {"CANCELLED"}
        before = list(obj.flame.eyes)
        try:
            params = evaluate.head_params(obj)
            model = heads.model_for(obj)
            joints = model.forward(evaluate.model_params(model, params)).joints
            obj.flame.eyes = eye_rotations(params, np.asarray(joints, dtype=np.float64), target).tolist()
            evaluate.evaluate(obj)
        except (FlameError, OSError) as exc:
            obj.flame.eyes = before
            self.report({"ERROR"}, f"Cannot aim the eyes: {exc}")
            return {"CANCELLED"}
        return {"FINISHED"}


CLASSES = (FLAME_OT_eyes_look_at,)
register, unregister = bpy.utils.register_classes_factory(CLASSES)
