"""Enabling and disabling the extension leaves Blender as it found it."""

from __future__ import annotations

import addon_utils
import bpy
from conftest import MODULE

HANDLER_LISTS = ("frame_change_pre", "frame_change_post", "load_post", "load_pre", "undo_post", "redo_post",
                 "depsgraph_update_post", "render_pre", "render_post", "save_pre", "save_post")


def _state():
    handlers = {name: len(getattr(bpy.app.handlers, name)) for name in HANDLER_LISTS}
    types = {name for name in dir(bpy.types) if name.startswith("FLAME_")}
    return handlers, types, hasattr(bpy.types.Object, "flame"), len(bpy.types.VIEW3D_MT_mesh_add._dyn_ui_initialize())


def test_disable_removes_everything_and_enable_restores():
    enabled = _state()
    assert enabled[1], "the extension registers FLAME_* classes"
    assert enabled[2]
    addon_utils.disable(MODULE, default_set=True)
    try:
        handlers, types, has_prop, menu = _state()
        assert types == set()
        assert not has_prop
        assert menu == enabled[3] - 1
        assert all(handlers[n] <= enabled[0][n] for n in HANDLER_LISTS)
        # frame change, depsgraph (evaluation), load, undo, redo, depsgraph (rig rests), load (earlier files)
        assert sum(enabled[0].values()) - sum(handlers.values()) == 7
        for name in HANDLER_LISTS:
            assert not [h for h in getattr(bpy.app.handlers, name) if h.__module__.startswith(MODULE)]
        assert not hasattr(bpy.ops.flame, "add_head") or "add_head" not in dir(bpy.ops.flame)
    finally:
        addon_utils.enable(MODULE, default_set=True)
    assert _state() == enabled


def test_enable_twice_registers_handlers_once():
    addon_utils.enable(MODULE, default_set=True)
    post = [h for h in bpy.app.handlers.frame_change_post if h.__module__.startswith(MODULE)]
    assert len(post) == 1
