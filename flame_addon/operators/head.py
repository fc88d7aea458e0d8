"""``flame.add_head``: a mesh object with the model's topology, UVs and mask vertex groups."""

from __future__ import annotations

from typing import Any

import bpy
import numpy as np
from bpy.props import IntProperty, StringProperty

from ...flame_core import N_EXPRESSION, N_SHAPE, FlameError, FlameModel
from .. import evaluate, models, objects
from ..preferences import DEFAULT_N_EXPRESSION, DEFAULT_N_SHAPE, get_preferences
from ..properties import resize_components
from ..results import OperatorResult

HEAD_NAME = "FLAME Head"
UV_MAP = "UVMap"


def build_mesh(model: FlameModel, name: str = HEAD_NAME) -> Any:
    """A new mesh with the model's template (Blender axes), triangles, smooth shading and UV map."""
    n_verts, n_faces = model.n_vertices, model.n_faces
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(n_verts)
    mesh.loops.add(3 * n_faces)
    mesh.polygons.add(n_faces)
    co = np.ascontiguousarray(evaluate.to_blender_axes(model.v_template), dtype=np.float32)
    mesh.vertices.foreach_set("co", co.reshape(-1))
    mesh.loops.foreach_set("vertex_index", np.ascontiguousarray(model.faces, dtype=np.int32).reshape(-1))
    mesh.polygons.foreach_set("loop_start", np.arange(0, 3 * n_faces, 3, dtype=np.int32))
    if "loop_total" in mesh.polygons[0].bl_rna.properties and not mesh.polygons[0].bl_rna.properties[
        "loop_total"
    ].is_readonly:
        mesh.polygons.foreach_set("loop_total", np.full(n_faces, 3, dtype=np.int32))
    mesh.update(calc_edges=True)
    if mesh.validate(verbose=False):
        bpy.data.meshes.remove(mesh)
        raise FlameError(f"the model's faces do not form a valid mesh ({model.source or 'demo'})")
    mesh.polygons.foreach_set("use_smooth", np.ones(n_faces, dtype=bool))
    if model.uv_coords is not None and model.uv_faces is not None:
        layer = mesh.uv_layers.new(name=UV_MAP)
        if layer is None:
            raise FlameError("Blender refused to add a UV map")
        uv = np.ascontiguousarray(model.uv_coords[model.uv_faces], dtype=np.float32)
        layer.data.foreach_set("uv", uv.reshape(-1))
    mesh.update()
    return mesh


def add_mask_groups(obj: Any, model: FlameModel) -> None:
    """One vertex group (weight 1) per region of the model (a triangle mask gives its triangles' corners)."""
    for name in model.region_names:
        group = obj.vertex_groups.new(name=name)
        group.add(np.asarray(model.region_vertices(name), dtype=np.int64).tolist(), 1.0, "REPLACE")


def create_head(context: Any, model_path: str, n_shape: int, n_expression: int, name: str = HEAD_NAME) -> Any:
    """Load the model and add a head object at the 3D cursor; raises FlameError/OSError, adding nothing."""
    prefs = get_preferences(context)
    path = models.resolve_path(model_path, prefs)
    model = models.get_model(path, n_shape, n_expression, prefs)
    mesh = build_mesh(model, name)
    obj: Any = bpy.data.objects.new(name, mesh)
    try:
        add_mask_groups(obj, model)
        settings = obj.flame
        settings.model_path = model_path
        for field_name, count in (("shape", model.n_shape), ("expression", model.n_expression)):
            setattr(settings, f"n_{field_name}", count)  # the update callback sizes the list
            resize_components(settings, field_name, count, model.component_names(field_name))
        settings.is_head = True  # last: update callbacks skip objects that are not heads yet
        evaluate.evaluate(obj, force=True)
    except BaseException:
        bpy.data.objects.remove(obj)
        bpy.data.meshes.remove(mesh)
        raise
    objects.link_into(context, obj, [context.collection])
    obj.location = context.scene.cursor.location
    return obj


class FLAME_OT_add_head(bpy.types.Operator):
    """Add a FLAME head at the 3D cursor: a mesh driven by animatable shape, expression and pose parameters"""

    bl_idname = "flame.add_head"
    bl_label = "FLAME Head"
    bl_options = {"REGISTER", "UNDO"}

    model_path: StringProperty(  # type: ignore[valid-type]
        name="Model File",
        description="FLAME model file; empty: the preferences' model, or the built-in demo head",
        subtype="FILE_PATH",
    )
    n_shape: IntProperty(  # type: ignore[valid-type]
        name="Shape Components", description="Shape coefficients to expose (default: preferences)",
        default=DEFAULT_N_SHAPE, min=0, max=N_SHAPE,
    )
    n_expression: IntProperty(  # type: ignore[valid-type]
        name="Expression Components", description="Expression coefficients to expose (default: preferences)",
        default=DEFAULT_N_EXPRESSION, min=0, max=N_EXPRESSION,
    )

    @classmethod
    def poll(cls, context: Any) -> bool:
        return context.scene is not None and (context.mode == "OBJECT")

    def execute(self, context: Any) -> OperatorResult:
        prefs = get_preferences(context)
        if prefs is not None:
            if not self.properties.is_property_set("n_shape"):
                self.n_shape = prefs.n_shape
            if not self.properties.is_property_set("n_expression"):
                self.n_expression = prefs.n_expression
        try:
            obj = create_head(context, self.model_path, self.n_shape, self.n_expression)
        except (FlameError, OSError) as exc:
            self.report({"ERROR"}, f"Cannot add a FLAME head: {exc}")
            return {"CANCELLED"}
        objects.select_only(context, obj)
        return {"FINISHED"}


def menu_add(self: Any, context: Any) -> None:
    self.layout.operator(FLAME_OT_add_head.bl_idname, text="FLAME Head", icon="USER")


CLASSES = (FLAME_OT_add_head,)
