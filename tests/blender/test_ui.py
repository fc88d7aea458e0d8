"""Every panel, list, menu entry and the preferences drawn headless in every state of a head, against a recording
layout that checks each property path and operator id against the real RNA (see ui_recorder)."""

from __future__ import annotations

import bpy
import numpy as np
import pytest
from conftest import MODULE
from helpers import add_head, key_jaw_opening
from test_library import _library, _link_collection
from ui_recorder import RecordingLayout, draw, draw_settings


def _panels():
    return [getattr(bpy.types, name) for name in dir(bpy.types)
            if name.startswith("FLAME_PT_") and issubclass(getattr(bpy.types, name), bpy.types.Panel)]


def _activate(obj):
    bpy.context.view_layer.objects.active = obj
    return obj


def _no_head(tmp_path, model_path):
    return None


def _demo_head(tmp_path, model_path):
    return add_head()


def _model_error(tmp_path, model_path):
    head = add_head(model_path=model_path)
    head.flame.model_path = str(tmp_path / "missing_model.npz")
    return head


def _edited_mesh(tmp_path, model_path):
    head = add_head(model_path=model_path)
    head.modifiers.new("Subdivision", "SUBSURF")
    bpy.ops.object.modifier_apply(modifier="Subdivision")
    head.flame.jaw[0] = 0.1
    return head


def _linked(tmp_path, model_path):
    collection = _link_collection(_library(tmp_path, model_path))
    return _activate(collection.objects["Linked Head"])


def _overridden(tmp_path, model_path):
    collection = _link_collection(_library(tmp_path, model_path))
    collection.override_hierarchy_create(bpy.context.scene, bpy.context.view_layer)
    head = next(o for o in bpy.data.objects if o.override_library is not None and o.flame.is_head)
    head.override_library.is_system_override = False
    head.flame.jaw[0] = 0.1
    return _activate(head)


def _shared_mesh(tmp_path, model_path):
    head = add_head(model_path=model_path)
    twin = head.copy()  # a linked duplicate (Alt+D): the same mesh
    bpy.context.scene.collection.objects.link(twin)
    assert twin.data == head.data
    return head


def _animated(tmp_path, model_path):
    head = add_head(model_path=model_path)
    key_jaw_opening(head, 10)
    bpy.ops.flame.copy_params()
    bpy.context.scene.frame_set(5)
    return head


def _rigged(tmp_path, model_path):
    head = add_head(model_path=model_path)
    assert bpy.ops.flame.add_rig() == {"FINISHED"}
    return _activate(head)


def _prefs():
    return bpy.context.preferences.addons[MODULE].preferences


def _eyelid_shapes(tmp_path, model_path):
    n_vertices = np.load(model_path)["v_template"].shape[0]
    np.save(tmp_path / "l_eyelid.npy", np.full((n_vertices, 3), 1e-3))
    np.save(tmp_path / "r_eyelid.npy", np.full((n_vertices, 3), -1e-3))
    _prefs().eyelids_path = str(tmp_path / "l_eyelid.npy")
    head = add_head(model_path=model_path)
    head.flame.eyelids = (0.5, 0.0)
    return head


def _companion_problem(tmp_path, model_path):
    np.save(tmp_path / "l_eyelid.npy", np.zeros((3, 3)))  # not one row per vertex
    np.save(tmp_path / "r_eyelid.npy", np.zeros((3, 3)))
    _prefs().eyelids_path = str(tmp_path / "l_eyelid.npy")
    return add_head(model_path=model_path)


STATES = {"no head": _no_head, "demo head": _demo_head, "model error": _model_error, "edited mesh": _edited_mesh,
          "linked": _linked, "overridden": _overridden, "shared mesh": _shared_mesh, "animated": _animated,
          "rigged": _rigged, "eyelid shapes": _eyelid_shapes, "companion problem": _companion_problem}
#: What each state's panels must show (operator ids, label fragments), besides drawing without errors.
EXPECTED = {
    "no head": ({"flame.add_head"}, ["demo head"]),
    "demo head": ({"flame.import_sequence", "flame.sample_points", "flame.eyes_look_at"}, ["Version:"]),
    "model error": (set(), ["file not found"]),
    "edited mesh": ({"flame.rebuild_mesh", "flame.convert_to_mesh"}, ["no longer has the model"]),
    "linked": (set(), ["make a library override"]),
    "overridden": (set(), ["made local"]),
    "shared mesh": (set(), ["Mesh shared with 1 other head"]),
    "animated": ({"flame.paste_params"}, ["Clipboard: FLAME Head"]),
    "rigged": ({"flame.bake_rig", "flame.rig_from_params", "flame.remove_rig"},
               ["Posed by the rig", "Pose from the rig"]),
    "eyelid shapes": (set(), ["With UVs, masks, eyelids", "eyelids_file: l_eyelid.npy + r_eyelid.npy"]),
    "companion problem": ({"flame.add_rig"}, ["Left out: the model loads without this file", "No eyelid shapes"]),
}
#: Labels a state's panels must not show.
ABSENT = {"eyelid shapes": ["No eyelid shapes"], "rigged": ["Pose from the parameters"]}


@pytest.mark.parametrize("state", list(STATES))
def test_every_panel_draws_with_real_properties_and_operators(state, tmp_path, model_file):
    head = STATES[state](tmp_path, model_file[0])
    assert (bpy.context.active_object == head) if head is not None else bpy.context.active_object is None
    panels = _panels()
    assert len(panels) >= 14
    drawn, props, operators, labels, lists = 0, [], set(), [], []
    for panel in panels:
        if hasattr(panel, "poll") and not panel.poll(bpy.context):
            continue
        record = draw(panel)
        assert not record.errors, (panel.__name__, record.errors)
        drawn += 1
        props += record.props
        operators |= set(record.operators)
        labels += record.labels
        lists += record.lists
    assert drawn >= (1 if head is None else 14)
    expected_operators, expected_labels = EXPECTED[state]
    assert expected_operators <= operators, operators
    text = "\n".join(labels)
    for fragment in expected_labels:
        assert fragment in text, (fragment, text)
    for fragment in ABSENT.get(state, []):
        assert fragment not in text, (fragment, text)
    if head is not None:
        assert {"FLAME_UL_components:shape", "FLAME_UL_components:expression"} <= set(lists)
        assert {"FlameHeadSettings.jaw", "FlameHeadSettings.eyelids[0]", "FlameHeadSettings.eyelids[1]",
                "FlameHeadSettings.shape_values[0]", "FlameHeadSettings.expression_values[0]"} <= set(props)
        assert "FlameComponent.value" not in props  # lists draw the animatable array elements


def test_rig_panel_draws_for_the_active_rig(model_file):
    head = add_head(model_path=model_file[0])
    assert bpy.ops.flame.add_rig() == {"FINISHED"}
    arm = _activate(head.flame_rig.armature)
    panel = bpy.types.FLAME_PT_view3d_rig_tools
    assert panel in _panels() and panel.poll(bpy.context)
    record = draw(panel)
    assert not record.errors, record.errors
    assert {"flame.bake_rig", "flame.rig_from_params", "flame.remove_rig"} <= set(record.operators)
    assert f"Drives the head {head.name!r}" in record.labels and f"Pose from the rig {arm.name!r}" in record.labels


def test_menus_and_preferences_draw(addon):
    for function in (addon.operators.head.menu_add, addon.operators.sequence.menu_import,
                     addon.operators.sequence.menu_export, addon.operators.export_rigged.menu_export):
        record = draw(function)
        assert not record.errors and record.operators
    assert "flame.export_rigged" in draw(addon.operators.export_rigged.menu_export).operators
    prefs = _prefs()
    for path in ("", "/some/model.pkl"):
        prefs.model_path = path
        record = draw_settings(type(prefs), prefs)
        assert not record.errors, record.errors
        assert "FLAME_AddonPreferences.model_path" in record.props
    prefs.model_path = ""


def test_preferences_draw_a_companion_problem(model_file, tmp_path):
    _companion_problem(tmp_path, model_file[0])
    prefs = _prefs()
    record = draw_settings(type(prefs), prefs)
    assert not record.errors, record.errors
    assert "FLAME_AddonPreferences.eyelids_path" in record.props
    assert "Left out: the model loads without this file" in record.labels


def test_the_recorder_catches_misspelt_names():
    head = add_head()
    layout = RecordingLayout()
    layout.prop(head.flame, "jaws")
    layout.prop(head.flame, "eyes", index=6)
    layout.operator("flame.add_heads")
    layout.operator("flame.reset_params").group = "EVERYTHING"
    layout.operator("flame.reset_params").groups = "ALL"
    layout.label(text="x", icon="NO_SUCH_ICON")
    layout.row(aligned=True)
    layout.alignement = "CENTER"
    layout.template_list("FLAME_UL_nothing", "", head.flame, "shape", head.flame, "shape_index")
    errors = layout.record.errors
    assert len(errors) == 9, errors
