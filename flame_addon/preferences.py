"""Add-on preferences: the default model file, its extra files and the exposed component counts."""

from __future__ import annotations

import os
from typing import Any

import bpy
from bpy.props import BoolProperty, IntProperty, StringProperty

from ..flame_core import N_EXPRESSION, N_SHAPE
from .results import OperatorResult

#: The extension's package (``bl_ext.<repo>.flame_head``): this package without ``.flame_addon``.
ADDON_PACKAGE = (__package__ or "").rpartition(".")[0]

DEFAULT_N_SHAPE = min(100, N_SHAPE)
DEFAULT_N_EXPRESSION = min(50, N_EXPRESSION)
DEMO_NOTE = "Using the built-in demo head (not FLAME)"
MODEL_FILTER = "*.pkl;*.npz;*.safetensors;*.npy"


def get_preferences(context: Any = None) -> Any | None:
    """The add-on's preferences, or None when the add-on is not enabled as an extension."""
    prefs = (context or bpy.context).preferences
    addon = prefs.addons.get(ADDON_PACKAGE) if prefs is not None else None
    return None if addon is None else addon.preferences


def user_folder(*parts: str) -> str:
    """A folder in the extension's user directory (created); everything the add-on writes goes there."""
    base = bpy.utils.extension_path_user(ADDON_PACKAGE, path=os.path.join(*parts) if parts else "", create=True)
    return str(base)


def _on_files_update(self: Any, context: Any) -> None:
    """Heads follow a change of the preferences' model or extra files at once."""
    from . import evaluate, models

    models.forget_failures()
    evaluate.evaluate_all(bpy.data.objects, force=True)


def draw_problem(layout: Any, message: str, width: int = 90) -> None:
    """A problem as error-marked lines (the message wrapped), then a note that the model loads without it."""
    import textwrap

    lines = textwrap.wrap(message, width) or [message]
    for i, line in enumerate(lines[:4]):
        layout.label(text=line, icon="ERROR" if i == 0 else "BLANK1")
    layout.label(text="Left out: the model loads without this file", icon="BLANK1")


class FLAME_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_PACKAGE

    model_path: StringProperty(  # type: ignore[valid-type]
        name="Model File",
        description=(
            "FLAME model used by heads that name no file of their own (.pkl, .npz, .safetensors, or a folder "
            "of .npy files). Empty: the built-in demo head (not FLAME)"
        ),
        subtype="FILE_PATH",
        update=_on_files_update,
    )
    landmarks_path: StringProperty(  # type: ignore[valid-type]
        name="Landmark Embedding",
        description="Optional landmark embedding file (static, dynamic, DECA or Mediapipe layout)",
        subtype="FILE_PATH",
        update=_on_files_update,
    )
    uv_path: StringProperty(  # type: ignore[valid-type]
        name="UV File",
        description="Optional UV layout (head_template.obj or FLAME_texture.npz) for models without UVs",
        subtype="FILE_PATH",
        update=_on_files_update,
    )
    masks_path: StringProperty(  # type: ignore[valid-type]
        name="Mask File",
        description="Optional masks (FLAME_masks.pkl, or SMIRK's per-triangle FLAME_masks_triangles.npy); "
        "each region becomes a vertex group and a sampling region",
        subtype="FILE_PATH",
        update=_on_files_update,
    )
    eyelids_path: StringProperty(  # type: ignore[valid-type]
        name="Eyelid Shapes",
        description="Optional eyelid blend shapes driving the Eyelids parameter: l_eyelid.npy (r_eyelid.npy "
        "beside it) or their folder",
        subtype="FILE_PATH",
        update=_on_files_update,
    )
    teeth: BoolProperty(  # type: ignore[valid-type]
        name="Add Teeth (VHAP)",
        description="Add VHAP/GaussianAvatars' 120 teeth vertices to the model file's mesh (FLAME's mesh only; "
        "new heads get 5143 vertices, as GaussianAvatars' offsets and bound points expect)",
        default=False,
        update=_on_files_update,
    )
    n_shape: IntProperty(  # type: ignore[valid-type]
        name="Shape Components",
        description="Shape (identity) coefficients exposed on new heads",
        default=DEFAULT_N_SHAPE, min=0, max=N_SHAPE,
    )
    n_expression: IntProperty(  # type: ignore[valid-type]
        name="Expression Components",
        description="Expression coefficients exposed on new heads",
        default=DEFAULT_N_EXPRESSION, min=0, max=N_EXPRESSION,
    )

    def draw(self, context: Any) -> None:
        layout = self.layout
        col = layout.column()
        col.prop(self, "model_path")
        if not self.model_path:
            col.label(text=DEMO_NOTE, icon="INFO")
        else:
            row = col.row()
            row.operator("flame.convert_model_cache", icon="FILE_CACHE")
        col.separator()
        from . import models

        problems = models.companion_problems(self)
        for prop in ("landmarks_path", "uv_path", "masks_path", "eyelids_path"):
            col.prop(self, prop)
            if prop in problems:
                draw_problem(col, problems[prop])
        col.prop(self, "teeth")
        col.separator()
        row = col.row(align=True)
        row.prop(self, "n_shape")
        row.prop(self, "n_expression")


class FLAME_OT_convert_model_cache(bpy.types.Operator):
    """Store a fast-loading safetensors copy of the model file in the extension's user folder and use it"""

    bl_idname = "flame.convert_model_cache"
    bl_label = "Convert to Fast Cache"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        prefs = get_preferences(context)
        return prefs is not None and bool(prefs.model_path)

    def execute(self, context: Any) -> OperatorResult:
        from .. import flame_core
        from . import models

        prefs = get_preferences(context)
        assert prefs is not None
        source = models.resolve_path(prefs.model_path)
        try:
            model = models.get_model(source, preferences=prefs)
            stem = os.path.splitext(os.path.basename(source.rstrip(os.sep)))[0] or "model"
            target = os.path.join(user_folder("models"), f"{stem}.safetensors")
            flame_core.save_model(model, target)
        except (flame_core.FlameError, OSError, ImportError) as exc:
            self.report({"ERROR"}, f"Cannot convert the model: {exc}")
            return {"CANCELLED"}
        prefs.model_path = target
        self.report({"INFO"}, f"Model cached as {target}")
        return {"FINISHED"}


CLASSES = (FLAME_OT_convert_model_cache, FLAME_AddonPreferences)
register, unregister = bpy.utils.register_classes_factory(CLASSES)
