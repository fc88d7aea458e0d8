"""``flame.add_landmarks``: a point object that follows the head's facial landmarks.

The object is a vertices-only mesh ``"<head> Landmarks"`` (one vertex per landmark, in the model's
landmark order), a follower of the head (see ``followers``): its positions are rewritten each
time the head is evaluated, so it follows parameter edits, animation and renders. A Geometry Nodes
"Mesh to Points" modifier makes the points visible and renderable (loose vertices alone are only
drawn in Edit Mode); the mesh itself keeps plain vertices for scripts and exporters.
"""

from __future__ import annotations

from typing import Any

import bpy
import numpy as np
from bpy.props import BoolProperty, FloatProperty

from ...flame_core import FlameError
from .. import bridge, evaluate, followers, heads, objects, point_display
from ..results import OperatorResult

KIND = "LANDMARKS"


def landmark_count(model: Any) -> int:
    if model.landmarks is None:
        raise FlameError(
            "the model has no landmark embedding; set a landmark file in the add-on preferences "
            "(e.g. landmark_embedding.npy) or use a model that includes one"
        )
    return int(model.landmarks.count)


def update_landmarks(obj: Any, context: followers.FollowerContext) -> None:
    """Follower update: write the landmark positions (Blender axes, head-local) into the point mesh."""
    points = context.output.landmarks
    if points is None:
        raise FlameError(f"the model of {context.head.name!r} has no landmark embedding")
    points = np.asarray(points).reshape(-1, 3)
    mesh = obj.data
    if len(mesh.vertices) != len(points):
        mesh.clear_geometry()
        mesh.vertices.add(len(points))
    bridge.write_positions(mesh, points)


def add_landmarks(context: Any, head: Any, *, show_points: bool = True, radius: float = 0.002) -> Any:
    """The head's landmark object (created when missing); raises FlameError when the model has none."""
    existing = next(followers.followers_of(head, KIND), None)
    if existing is not None:
        return existing
    model = heads.model_for(head)
    count = landmark_count(model)
    mesh = bpy.data.meshes.new(f"{head.name} Landmarks")
    mesh.vertices.add(count)
    obj = bpy.data.objects.new(mesh.name, mesh)
    try:
        followers.mark(obj, head, KIND)
        if show_points:
            point_display.show_as_points(obj, radius, "Landmark Points")
        objects.link_beside(context, obj, head)
        evaluate.evaluate(head, force=True)  # writes the positions through the follower hook
        if followers.error(obj):
            raise FlameError(followers.error(obj))
    except BaseException:
        bpy.data.objects.remove(obj)
        bpy.data.meshes.remove(mesh)
        raise
    return obj


class FLAME_OT_add_landmarks(bpy.types.Operator):
    """Add points that follow the active head's facial landmarks (needs a model with a landmark embedding)"""

    bl_idname = "flame.add_landmarks"
    bl_label = "Add Landmarks"
    bl_options = {"REGISTER", "UNDO"}

    show_points: BoolProperty(  # type: ignore[valid-type]
        name="Show as Points", description="Draw and render the landmarks as small points (Geometry Nodes)",
        default=True,
    )
    radius: FloatProperty(  # type: ignore[valid-type]
        name="Radius", description="Radius of the drawn points", default=0.002, min=0.0, soft_max=0.01,
        unit="LENGTH", precision=4,
    )

    @classmethod
    def poll(cls, context: Any) -> bool:
        return heads.is_head(context.active_object) and context.mode == "OBJECT"

    def execute(self, context: Any) -> OperatorResult:
        head = context.active_object
        try:
            obj = add_landmarks(context, head, show_points=self.show_points, radius=self.radius)
        except (FlameError, OSError) as exc:
            self.report({"ERROR"}, f"Cannot add landmarks to {head.name}: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"{obj.name}: {len(obj.data.vertices)} landmarks following {head.name}")
        return {"FINISHED"}


CLASSES = (FLAME_OT_add_landmarks,)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register() -> None:
    _register_classes()
    followers.register_follower(KIND, update_landmarks, landmarks=True)


def unregister() -> None:
    followers.unregister_follower(KIND)
    _unregister_classes()
