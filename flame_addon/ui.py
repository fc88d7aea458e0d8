"""Panels and lists (drawing only): a "FLAME" tab in the 3D viewport sidebar and the same panels in
the Object properties."""

from __future__ import annotations

from typing import Any

import bpy

from ..flame_core import FIELDS, FlameError
from . import evaluate, heads, models, offsets, rig
from .bridge import values_name
from .operators import params as params_ops
from .preferences import DEMO_NOTE, draw_problem, get_preferences

COEFFICIENT_FIELDS = tuple(f for f in FIELDS if f.kind == "coefficients")
EYE_LABELS = ("Left Eye", "Right Eye")


class FLAME_UL_components(bpy.types.UIList):
    """Coefficient list drawn like the shape key list: name, then a value slider (filter by name below)."""

    def draw_item(self, context: Any, layout: Any, data: Any, item: Any, icon: Any, active_data: Any,
                  active_property: Any, index: Any = 0, flt_flag: Any = 0) -> None:
        if self.layout_type in {"DEFAULT", "COMPACT"}:
            split = layout.split(factor=0.5, align=False)
            split.label(text=item.name)
            field_name = str(active_property).removesuffix("_index")  # the list of "shape" is driven by "shape_index"
            split.prop(data, values_name(field_name), index=index, text="", emboss=False)
        else:
            layout.alignment = "CENTER"
            layout.label(text=str(index + 1))


def draw_error(layout: Any, obj: Any) -> None:
    message = evaluate.error(obj)
    if message:
        box = layout.box()
        box.alert = True
        col = box.column(align=True)
        col.label(text="The head keeps its last mesh:", icon="ERROR")
        for start in range(0, len(message), 60):
            col.label(text=message[start : start + 60])
        if evaluate.mesh_mismatch(obj):
            row = box.row(align=True)
            row.operator("flame.rebuild_mesh", icon="FILE_REFRESH")
            row.operator("flame.convert_to_mesh", icon="MESH_DATA")


def draw_notes(layout: Any, obj: Any) -> None:
    """Why the head may not behave as expected: linked from a library, or a mesh shared with other heads."""
    if not heads.is_editable(obj):
        layout.label(text="Linked from a library: make a library override to pose it", icon="LIBRARY_DATA_DIRECT")
    message = evaluate.note(obj)
    if message:
        layout.label(text=f"Library override: {message}", icon="LIBRARY_DATA_OVERRIDE")
    others = heads.shared_mesh_heads(obj)
    if others:
        col = layout.column(align=True)
        col.label(text=f"Mesh shared with {len(others)} other head(s): all show the last one changed", icon="ERROR")
        col.label(text="Object > Relations > Make Single User > Object & Data")


def draw_main(layout: Any, context: Any) -> None:
    obj = heads.active_head(context)
    if obj is None:
        layout.operator("flame.add_head", icon="USER", text="Add FLAME Head")
        prefs = get_preferences(context)
        if prefs is None or not prefs.model_path:
            layout.label(text=DEMO_NOTE, icon="INFO")
        return
    draw_error(layout, obj)
    draw_notes(layout, obj)
    row = layout.row(align=True)
    row.operator("flame.copy_params", icon="COPYDOWN", text="Copy")
    row.operator("flame.paste_params", icon="PASTEDOWN", text="Paste")
    row.operator("flame.reset_params", icon="LOOP_BACK", text="Reset").group = "ALL"
    source = params_ops.clipboard_source()
    if source:
        layout.label(text=f"Clipboard: {source}", icon="INFO")


def draw_coefficients(layout: Any, obj: Any, field_name: str) -> None:
    settings = obj.flame
    row = layout.row()
    row.template_list(
        "FLAME_UL_components", field_name, settings, field_name, settings, f"{field_name}_index", rows=6
    )
    items = getattr(settings, field_name)
    index = getattr(settings, f"{field_name}_index")
    if 0 <= index < len(items):
        layout.prop(settings, values_name(field_name), index=index, text=items[index].name, slider=True)
    layout.prop(settings, f"n_{field_name}")
    row = layout.row(align=True)
    row.operator("flame.reset_params", text="Reset", icon="LOOP_BACK").group = field_name.upper()
    row.operator("flame.randomize_params", text="Randomize", icon="RNDCURVE").group = field_name.upper()


def draw_pose(layout: Any, obj: Any) -> None:
    settings = obj.flame
    arm = rig.rig_of(obj)
    if arm is not None:
        layout.label(text=f"Posed by the rig {arm.name!r} (Rig panel)", icon="ARMATURE_DATA")
        layout.enabled = False
    layout.use_property_split = True
    layout.use_property_decorate = True
    for field in FIELDS:
        if field.kind == "coefficients":
            continue
        if field.name == "eyes":
            per_eye = field.size // len(EYE_LABELS)
            for e, label in enumerate(EYE_LABELS):
                col = layout.column(align=True)
                for k in range(per_eye):
                    col.prop(settings, "eyes", index=e * per_eye + k, text=label if k == 0 else "XYZ"[k])
            row = layout.row(align=True)
            row.operator("flame.eyes_look_at", text="Eyes Look at Cursor", icon="HIDE_OFF").target = "CURSOR"
        elif field.kind == "weights":
            col = layout.column(align=True)
            col.prop(settings, field.name, index=0, text=f"{field.name.title()} Left")
            col.prop(settings, field.name, index=1, text="Right")
            if not _has_eyelids(obj):
                col.label(text="No eyelid shapes: set them in the preferences", icon="INFO")
        else:
            layout.column(align=True).prop(settings, field.name)


def _has_eyelids(obj: Any) -> bool:
    try:
        return heads.model_for(obj).has_eyelids
    except (FlameError, OSError):
        return True  # the model panel reports the error


def draw_model(layout: Any, context: Any, obj: Any) -> None:
    settings = obj.flame
    layout.prop(settings, "model_path")
    prefs = get_preferences(context)
    path = models.resolve_path(settings.model_path, prefs)
    col = layout.column(align=True)
    if not path:
        col.label(text=DEMO_NOTE, icon="INFO")
    elif not settings.model_path:
        col.label(text="From the preferences:", icon="PREFERENCES")
        col.label(text=path)
    try:
        model = heads.model_for(obj)
    except (FlameError, OSError) as exc:
        if evaluate.error(obj):
            draw_error(layout, obj)
        else:
            layout.label(text=str(exc)[:80], icon="ERROR")
        return
    col = layout.column(align=True)
    col.label(text=f"Version: {models.version_guess(model)}")
    col.label(text=f"{model.n_vertices} vertices, {model.n_faces} faces")
    col.label(text=f"{model.n_shape} shape, {model.n_expression} expression components")
    extras = [name for name, present in (("UVs", model.has_uvs), ("masks", bool(model.region_names)),
                                         ("landmarks", model.landmarks is not None),
                                         ("eyelids", model.has_eyelids), ("teeth", model.n_added_vertices > 0))
              if present]
    col.label(text="With " + ", ".join(extras) if extras else "No UVs, masks, landmarks or eyelids")
    if offsets.ATTRIBUTE in obj.data.attributes:
        col.label(text="Static offset from the imported file applied", icon="MOD_DISPLACE")
    if prefs is not None and path:
        for prop, message in models.companion_problems(prefs).items():
            draw_problem(layout.column(align=True), f"{prefs.bl_rna.properties[prop].name}: {message}", 60)
    for key, value in sorted(model.metadata.items())[:6]:
        col.label(text=f"{key}: {value}"[:80])
    draw_error(layout, obj)


class _Panel:
    bl_category = "FLAME"

    @classmethod
    def poll(cls, context: Any) -> bool:
        return heads.active_head(context) is not None


class _MainPanel:
    bl_label = "FLAME Head"

    def draw(self, context: Any) -> None:
        draw_main(self.layout, context)  # type: ignore[attr-defined]


class _SubPanel(_Panel):
    """A sub-panel drawing ``draw_function(layout, context, head)`` for the active head."""

    @staticmethod
    def draw_function(layout: Any, context: Any, obj: Any) -> None:
        raise NotImplementedError

    def draw(self, context: Any) -> None:
        obj = heads.active_head(context)
        if obj is not None:
            self.draw_function(self.layout, context, obj)  # type: ignore[attr-defined]


def draw_animation(layout: Any, context: Any, obj: Any) -> None:
    col = layout.column(align=True)
    col.operator("flame.import_sequence", icon="IMPORT", text="Import Sequence")
    col.operator("flame.export_sequence", icon="EXPORT", text="Export Sequence")
    col = layout.column(align=True)
    col.operator("flame.bake_shape_keys", icon="SHAPEKEY_DATA", text="Bake to Shape Keys")
    col.operator("flame.add_landmarks", icon="OUTLINER_OB_POINTCLOUD", text="Add Landmarks")


def draw_rig(layout: Any, context: Any, obj: Any) -> None:
    """The head's rig: add it, or its state and the operators moving animation between bones and parameters."""
    arm = rig.rig_of(obj)
    if arm is None:
        if obj.flame_rig.armature is not None:
            layout.label(text=f"The rig {obj.flame_rig.armature.name!r} is in no scene", icon="ERROR")
            layout.operator("flame.remove_rig", icon="X", text="Forget Rig").delete = False
        row = layout.row(align=True)
        row.operator("flame.add_rig", icon="ARMATURE_DATA", text="Add Rig")
        row.operator("flame.add_rig", icon="HIDE_OFF", text="Add Rig + Eye Target").eye_target = True
        layout.label(text="Pose from the parameters", icon="INFO")
        return
    col = layout.column(align=True)
    col.label(text=f"Pose from the rig {arm.name!r}", icon="ARMATURE_DATA")
    col.label(text="Shape and expression stay parameters")
    try:
        rig.bone_matrices(arm)
    except FlameError as exc:
        layout.label(text=str(exc)[:80], icon="ERROR")
    col = layout.column(align=True)
    col.operator("flame.bake_rig", icon="KEYINGSET", text="Bones \u2192 Parameters")
    col.operator("flame.rig_from_params", icon="BONE_DATA", text="Parameters \u2192 Bones")
    layout.operator("flame.remove_rig", icon="X", text="Remove Rig")


def draw_outputs(layout: Any, context: Any, obj: Any) -> None:
    col = layout.column(align=True)
    col.operator("flame.bake_normal_map", icon="NORMALS_FACE", text="Bake Normal Map")
    col.operator("flame.sample_points", icon="POINTCLOUD_DATA", text="Sample Surface Points")
    col.operator("flame.export_points", icon="EXPORT", text="Export Points (.ply)")


def _coefficient_drawer(field_name: str) -> Any:
    def draw(layout: Any, context: Any, obj: Any) -> None:
        draw_coefficients(layout, obj, field_name)

    return staticmethod(draw)


#: Sub-panels in drawing order: (id suffix, label, draw function, options). The long shape list and the
#: less used panels start collapsed.
SUB_PANELS: tuple[tuple[str, str, Any, set[str]], ...] = (
    *((f.name, f.name.title(), _coefficient_drawer(f.name), {"DEFAULT_CLOSED"} if f.name == "shape" else set())
      for f in COEFFICIENT_FIELDS),
    ("pose", "Pose", staticmethod(lambda layout, context, obj: draw_pose(layout, obj)), set()),
    ("rig", "Rig", staticmethod(draw_rig), set()),
    ("model", "Model", staticmethod(draw_model), {"DEFAULT_CLOSED"}),
    ("animation", "Animation", staticmethod(draw_animation), {"DEFAULT_CLOSED"}),
    ("outputs", "Normal Maps & Points", staticmethod(draw_outputs), {"DEFAULT_CLOSED"}),
)
#: The editors showing the panels: (id prefix, space, region, properties context, main panel always shown).
EDITORS = (("view3d", "VIEW_3D", "UI", None, True), ("object", "PROPERTIES", "WINDOW", "object", False))


def _panels(prefix: str, space: str, region: str, context: str | None, main_poll_any: bool) -> list[type]:
    """The main panel and its sub-panels for one editor."""
    base: dict[str, Any] = {"bl_space_type": space, "bl_region_type": region}
    if context:
        base["bl_context"] = context
    main_id = f"FLAME_PT_{prefix}_head"
    main_attrs = dict(base, bl_idname=main_id)
    if main_poll_any:
        main_attrs["poll"] = classmethod(lambda cls, context: context.scene is not None)
    classes: list[type] = [type(main_id, (_MainPanel, _Panel, bpy.types.Panel), main_attrs)]
    for name, label, function, options in SUB_PANELS:
        idname = f"FLAME_PT_{prefix}_{name}"
        attrs = dict(base, bl_idname=idname, bl_parent_id=main_id, bl_label=label, bl_options=options,
                     draw_function=function)
        classes.append(type(idname, (_SubPanel, bpy.types.Panel), attrs))
    return classes


class FLAME_PT_view3d_rig_tools(bpy.types.Panel):
    """The Rig panel for the active rig itself (e.g. while posing it)."""

    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "FLAME"
    bl_label = "FLAME Rig"

    @classmethod
    def poll(cls, context: Any) -> bool:
        return rig.head_of(context.active_object) is not None

    def draw(self, context: Any) -> None:
        head = rig.head_of(context.active_object)
        layout: Any = self.layout
        if head is not None:
            layout.label(text=f"Drives the head {head.name!r}", icon="USER")
            draw_rig(layout, context, head)


CLASSES = (FLAME_UL_components, *(cls for editor in EDITORS for cls in _panels(*editor)), FLAME_PT_view3d_rig_tools)
register, unregister = bpy.utils.register_classes_factory(CLASSES)
