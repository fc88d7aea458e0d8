"""``flame.add_head``: a mesh object with the model's topology, UVs and mask vertex groups."""

from __future__ import annotations

from typing import Any

import bpy
import numpy as np
from bpy.props import IntProperty, StringProperty

from ...flame_core import N_EXPRESSION, N_SHAPE, FlameError, FlameModel
from .. import bridge, evaluate, heads, models, objects
from ..preferences import DEFAULT_N_EXPRESSION, DEFAULT_N_SHAPE, get_preferences
from ..properties import resize_components
from ..results import OperatorResult

HEAD_NAME = "FLAME Head"
UV_MAP = "UVMap"


def build_mesh(model: FlameModel, name: str = HEAD_NAME) -> Any:
    """A new mesh with the model's template (Blender axes), triangles, smooth shading and UV map."""
    mesh = bpy.data.meshes.new(name)
    try:
        bridge.write_mesh(mesh, model.v_template, model.faces, model.uv_coords, model.uv_faces, uv_name=UV_MAP)
    except FlameError as exc:
        bpy.data.meshes.remove(mesh)
        raise FlameError(f"{model.source or 'demo'}: {exc}") from None
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


def rebuild_mesh(obj: Any) -> None:
    """Replace a head's mesh geometry by its model's (edits and applied modifiers undone), then evaluate.

    The mesh datablock, its materials and the object's modifiers are kept; shape keys and vertex-group weights
    of the edited geometry go (the model's mask groups are added again).
    """
    model = heads.model_for(obj)
    if obj.data.shape_keys is not None:
        obj.shape_key_clear()
    bridge.write_mesh(obj.data, model.v_template, model.faces, model.uv_coords, model.uv_faces, uv_name=UV_MAP)
    for name in model.masks:
        group = obj.vertex_groups.get(name)
        if group is not None:
            obj.vertex_groups.remove(group)
    add_mask_groups(obj, model)
    evaluate.forget(obj)
    evaluate.evaluate(obj, force=True)


def _head_in_object_mode(context: Any) -> bool:
    obj = heads.active_head(context)
    return obj is not None and heads.is_editable(obj) and heads.is_editable(obj.data) and context.mode == "OBJECT"


class FLAME_OT_rebuild_mesh(bpy.types.Operator):
    """Give the active head its model's mesh back (after its geometry was edited or a modifier applied); \
parameters, materials and modifiers are kept"""

    bl_idname = "flame.rebuild_mesh"
    bl_label = "Rebuild Mesh"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        return _head_in_object_mode(context)

    def execute(self, context: Any) -> OperatorResult:
        obj = heads.active_head(context)
        assert obj is not None
        try:
            rebuild_mesh(obj)
        except (FlameError, OSError) as exc:
            self.report({"ERROR"}, f"Cannot rebuild the mesh of {obj.name}: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"{obj.name}: the mesh has the model's {len(obj.data.vertices)} vertices again")
        return {"FINISHED"}


class FLAME_OT_convert_to_mesh(bpy.types.Operator):
    """Make the active head a plain mesh as it is now: it keeps its geometry and no longer follows FLAME \
parameters"""

    bl_idname = "flame.convert_to_mesh"
    bl_label = "Convert to Plain Mesh"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        obj = heads.active_head(context)
        return obj is not None and heads.is_editable(obj)

    def execute(self, context: Any) -> OperatorResult:
        obj = heads.active_head(context)
        assert obj is not None
        obj.flame.is_head = False
        evaluate.forget(obj)
        self.report({"INFO"}, f"{obj.name} is a plain mesh now ({len(obj.data.vertices)} vertices)")
        return {"FINISHED"}


def menu_add(self: Any, context: Any) -> None:
    self.layout.operator(FLAME_OT_add_head.bl_idname, text="FLAME Head", icon="USER")


CLASSES = (FLAME_OT_add_head, FLAME_OT_rebuild_mesh, FLAME_OT_convert_to_mesh)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register() -> None:
    _register_classes()
    bpy.types.VIEW3D_MT_mesh_add.append(menu_add)  # type: ignore[arg-type]


def unregister() -> None:
    bpy.types.VIEW3D_MT_mesh_add.remove(menu_add)  # type: ignore[arg-type]
    _unregister_classes()
