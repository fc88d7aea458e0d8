"""The Blender side of the FLAME Head extension: properties, operators, panels, handlers, preferences.

Imported as ``bl_ext.<repo>.flame_head.flame_addon``; the numpy core is the sibling package
``flame_core``. Nothing here touches ``sys.path``; files the add-on writes go to the extension's
user folder (``preferences.user_folder``) or to paths the user picks.
"""

from __future__ import annotations

from typing import Any

import bpy

from . import evaluate, followers, handlers, models, operators, preferences, properties, rig, ui
from .operators import export_rigged as export_rigged_ops
from .operators import head as head_ops
from .operators import landmarks as landmark_ops
from .operators import params as params_ops
from .operators import sequence as sequence_ops

CLASSES: tuple[Any, ...] = (*properties.CLASSES, *rig.CLASSES, *preferences.CLASSES, *operators.CLASSES, *ui.CLASSES)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    properties.register()
    rig.register()
    handlers.register()
    bpy.types.VIEW3D_MT_mesh_add.append(head_ops.menu_add)  # type: ignore[arg-type]
    landmark_ops.register()
    bpy.types.TOPBAR_MT_file_import.append(sequence_ops.menu_import)  # type: ignore[arg-type]
    bpy.types.TOPBAR_MT_file_export.append(sequence_ops.menu_export)  # type: ignore[arg-type]
    bpy.types.TOPBAR_MT_file_export.append(export_rigged_ops.menu_export)  # type: ignore[arg-type]


def unregister() -> None:
    bpy.types.TOPBAR_MT_file_export.remove(export_rigged_ops.menu_export)  # type: ignore[arg-type]
    bpy.types.TOPBAR_MT_file_export.remove(sequence_ops.menu_export)  # type: ignore[arg-type]
    bpy.types.TOPBAR_MT_file_import.remove(sequence_ops.menu_import)  # type: ignore[arg-type]
    landmark_ops.unregister()
    bpy.types.VIEW3D_MT_mesh_add.remove(head_ops.menu_add)  # type: ignore[arg-type]
    handlers.unregister()
    rig.unregister()
    properties.unregister()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
    models.clear_cache()
    evaluate.forget()
    params_ops.clear_clipboard()
    followers.clear()
