"""Parameter operators: reset, randomize, copy and paste between heads."""

from __future__ import annotations

import random
from typing import Any

import bpy
import numpy as np
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty

from ...flame_core import FIELDS, FlameError, FlameParams
from .. import bridge, evaluate, heads
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
    obj = heads.active_head(context)
    return obj is not None and heads.is_editable(obj)


def _heads(context: Any) -> list[Any]:
    """The active head and every other selected head (those linked from a library are left out)."""
    found = [o for o in context.selected_objects if heads.is_head(o) and heads.is_editable(o)]
    active = heads.active_head(context)
    if active is not None and active not in found and heads.is_editable(active):
        found.insert(0, active)
    return found


def _apply(operator: Any, targets: list[Any], params: FlameParams, names: tuple[str, ...]) -> OperatorResult:
    """Write ``params`` into every head and evaluate; on a model error every head is put back."""
    before = [(obj, bridge.read_params(obj.flame)) for obj in targets]
    try:
        for obj in targets:
            bridge.write_params(obj.flame, params, names)
            evaluate.evaluate(obj)
    except (FlameError, OSError) as exc:
        for obj, old in before:
            bridge.write_params(obj.flame, old)
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
        targets = _heads(context)
        rng = np.random.default_rng(self.seed)
        names = GROUPS[self.group]
        fields = {}
        for name in names:
            count = max(len(getattr(obj.flame, name)) for obj in targets)
            fields[name] = rng.standard_normal(count) * self.scale
        return _apply(self, targets, FlameParams(**fields), names)


class FLAME_OT_copy_params(bpy.types.Operator):
    """Copy the active head's parameters (shape, expression and pose)"""

    bl_idname = "flame.copy_params"
    bl_label = "Copy Parameters"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        return heads.active_head(context) is not None

    def execute(self, context: Any) -> OperatorResult:
        obj = heads.active_head(context)
        assert obj is not None
        _clipboard["params"] = bridge.read_params(obj.flame)
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
        targets = _heads(context) if self.only_selected else [heads.active_head(context)]
        return _apply(self, targets, _clipboard["params"], GROUPS[self.group])


def clipboard_source() -> str | None:
    """Name of the head whose parameters are on the clipboard."""
    return _clipboard.get("source")


def clear_clipboard() -> None:
    """Empty the parameter clipboard (on unregister)."""
    _clipboard.clear()


CLASSES = (FLAME_OT_reset_params, FLAME_OT_randomize_params, FLAME_OT_copy_params, FLAME_OT_paste_params)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register() -> None:
    _register_classes()


def unregister() -> None:
    _unregister_classes()
    clear_clipboard()
