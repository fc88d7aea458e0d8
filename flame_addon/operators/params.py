"""Parameter operators: reset, randomize, copy and paste between heads."""

from __future__ import annotations

import random
from typing import Any

import bpy
import numpy as np
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty

from ...flame_core import FIELDS, FlameError, FlameParams
from .. import evaluate
from ..results import OperatorResult

POSE_NAMES = tuple(f.name for f in FIELDS if f.kind != "coefficients")
COEFFICIENT_NAMES = tuple(f.name for f in FIELDS if f.kind == "coefficients")
#: Parameter groups the operators act on: each coefficient field, the pose fields together, or all.
GROUPS: dict[str, tuple[str, ...]] = {
    **{name.upper(): (name,) for name in COEFFICIENT_NAMES},
    "POSE": POSE_NAMES,
    "ALL": tuple(f.name for f in FIELDS),
}
GROUP_ITEMS = [
    *[(name.upper(), name.title(), f"The {name} coefficients") for name in COEFFICIENT_NAMES],
    ("POSE", "Pose", "Rotations, eyes, translation and eyelids"),
    ("ALL", "All", "Every parameter"),
]

_clipboard: dict[str, Any] = {}


def _editable_head(context: Any) -> bool:
    """Poll of the operators that change parameters: an active head that is not linked from a library."""
    obj = evaluate.active_head(context)
    return obj is not None and evaluate.is_editable(obj)


def _heads(context: Any) -> list[Any]:
    """The active head and every other selected head (those linked from a library are left out)."""
    heads = [o for o in context.selected_objects if evaluate.is_head(o) and evaluate.is_editable(o)]
    active = evaluate.active_head(context)
    if active is not None and active not in heads and evaluate.is_editable(active):
        heads.insert(0, active)
    return heads


def _apply(operator: Any, heads: list[Any], params: FlameParams, names: tuple[str, ...]) -> OperatorResult:
    """Write ``params`` into every head and evaluate; on a model error every head is put back."""
    before = [(obj, evaluate.read_params(obj.flame)) for obj in heads]
    try:
        for obj in heads:
            evaluate.write_params(obj.flame, params, names)
            evaluate.evaluate(obj)
    except (FlameError, OSError) as exc:
        for obj, old in before:
            evaluate.write_params(obj.flame, old)
            evaluate.safe_evaluate(obj)
        operator.report({"ERROR"}, str(exc))
        return {"CANCELLED"}
    return {"FINISHED"}


class FLAME_OT_reset_params(bpy.types.Operator):
    """Set a group of parameters of the selected heads to zero (the mean head, rest pose)"""

    bl_idname = "flame.reset_params"
    bl_label = "Reset Parameters"
    bl_options = {"REGISTER", "UNDO"}

    group: EnumProperty(  # type: ignore[valid-type]
        name="Group", description="Which parameters to reset", items=GROUP_ITEMS, default="ALL",
    )

    @classmethod
    def poll(cls, context: Any) -> bool:
        return _editable_head(context)

    def execute(self, context: Any) -> OperatorResult:
        return _apply(self, _heads(context), FlameParams(), GROUPS[self.group])


class FLAME_OT_randomize_params(bpy.types.Operator):
    """Draw random coefficients (normal distribution, seeded) for the selected heads"""

    bl_idname = "flame.randomize_params"
    bl_label = "Randomize Parameters"
    bl_options = {"REGISTER", "UNDO"}

    group: EnumProperty(  # type: ignore[valid-type]
        name="Group", description="Which coefficients to draw",
        items=[i for i in GROUP_ITEMS if i[0] not in ("POSE", "ALL")],
        default=COEFFICIENT_NAMES[0].upper(),
    )
    seed: IntProperty(  # type: ignore[valid-type]
        name="Seed", description="Random seed (same seed, same values)", default=0, min=0
    )
    scale: FloatProperty(  # type: ignore[valid-type]
        name="Scale", description="Standard deviation of the drawn coefficients", default=1.0, min=0.0, soft_max=3.0
    )

    @classmethod
    def poll(cls, context: Any) -> bool:
        return _editable_head(context)

    def invoke(self, context: Any, event: Any) -> OperatorResult:
        """From the interface: a new seed each time (shown in the redo panel) unless one is given."""
        if not self.properties.is_property_set("seed"):
            self.seed = random.randrange(1 << 30)
        return self.execute(context)

    def execute(self, context: Any) -> OperatorResult:
        heads = _heads(context)
        rng = np.random.default_rng(self.seed)
        names = GROUPS[self.group]
        fields = {}
        for name in names:
            count = max(len(getattr(obj.flame, name)) for obj in heads)
            fields[name] = rng.standard_normal(count) * self.scale
        return _apply(self, heads, FlameParams(**fields), names)


class FLAME_OT_copy_params(bpy.types.Operator):
    """Copy the active head's parameters (shape, expression and pose)"""

    bl_idname = "flame.copy_params"
    bl_label = "Copy Parameters"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        return evaluate.active_head(context) is not None

    def execute(self, context: Any) -> OperatorResult:
        obj = evaluate.active_head(context)
        assert obj is not None
        _clipboard["params"] = evaluate.read_params(obj.flame)
        _clipboard["source"] = obj.name
        self.report({"INFO"}, f"Copied the parameters of {obj.name}")
        return {"FINISHED"}


class FLAME_OT_paste_params(bpy.types.Operator):
    """Paste copied parameters onto the selected heads"""

    bl_idname = "flame.paste_params"
    bl_label = "Paste Parameters"
    bl_options = {"REGISTER", "UNDO"}

    group: EnumProperty(  # type: ignore[valid-type]
        name="Group", description="Which of the copied parameters to paste", items=GROUP_ITEMS, default="ALL",
    )
    only_selected: BoolProperty(  # type: ignore[valid-type]
        name="All Selected Heads", description="Paste onto every selected head, not only the active one", default=True
    )

    @classmethod
    def poll(cls, context: Any) -> bool:
        return _editable_head(context) and "params" in _clipboard

    def execute(self, context: Any) -> OperatorResult:
        heads = _heads(context) if self.only_selected else [evaluate.active_head(context)]
        return _apply(self, heads, _clipboard["params"], GROUPS[self.group])


def clipboard_source() -> str | None:
    """Name of the head whose parameters are on the clipboard."""
    return _clipboard.get("source")


def clear_clipboard() -> None:
    """Empty the parameter clipboard (on unregister)."""
    _clipboard.clear()


CLASSES = (FLAME_OT_reset_params, FLAME_OT_randomize_params, FLAME_OT_copy_params, FLAME_OT_paste_params)
