"""The head's animatable properties on ``Object.flame``, derived from ``flame_core.params.FIELDS``.

Data paths (stable; keyframe them from the UI or with ``obj.keyframe_insert``):

- ``flame.shape_values``, ``flame.expression_values``: the coefficients, one array element per component
  (element ``i`` is component ``i``; keyframe with ``obj.keyframe_insert("flame.expression_values", index=i)``).
  Only the first ``flame.n_shape`` / ``flame.n_expression`` are exposed and used;
- ``flame.shape``, ``flame.expression``: the labelled lists the panels show, one item per exposed component;
  ``item.value`` reads and sets that component's element (a convenience for scripts; it is not animatable,
  key the array element);
- ``flame.rotation``, ``flame.neck``, ``flame.jaw``: axis-angle vectors in radians (shown in degrees);
- ``flame.eyes``: left then right eye axis-angles (6 values, radians);
- ``flame.translation``: metres, in FLAME's axes like the parameter files;
- ``flame.eyelids``: left then right eyelid blend-shape weights (1: closed), for models with eyelid shapes.

The coefficients are arrays rather than a property per list item because Blender resolves an F-Curve's
path into a list by walking it: a head with 300 keyed shape coefficients would spend milliseconds per frame
finding them. Arrays of more than 32 elements are two-dimensional in Blender (``shape_values`` is 10 x 30);
F-Curves, drivers, ``foreach_get``/``foreach_set`` and ``index=`` in the UI use the flat index.

Update callbacks re-evaluate the mesh at once; animation playback is handled by the frame-change
handler (the animation system does not call update callbacks). The values are library-overridable,
so a linked head made a library override can be posed and keyed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import bpy
from bpy.props import BoolProperty, CollectionProperty, FloatProperty, FloatVectorProperty, IntProperty, StringProperty

from ..flame_core import FIELDS, FlameError, FlameModel
from ..flame_core.params import Field
from . import bridge, evaluate, heads, models
from .preferences import get_preferences

#: Label of the first item of each coefficient list ("Shape 001").
COMPONENT_LABELS = {f.name: f.name.title() for f in FIELDS if f.kind == "coefficients"}
#: Animatable values can be changed on library overrides (linked heads made editable).
OVERRIDABLE: Any = {"LIBRARY_OVERRIDABLE"}
#: Soft slider range of the rotations (radians, shown as -180..180 degrees).
ROTATION_SOFT_LIMIT = math.pi
#: Soft slider range of the translation (metres).
TRANSLATION_SOFT_LIMIT = 1.0
#: Soft slider range of blend-shape weights (eyelids: 0 open, 1 closed).
WEIGHT_SOFT_RANGE = (0.0, 1.0)
_resizing: set[int] = set()


def _evaluates(obj: Any) -> bool:
    """Whether a property change on ``obj`` should re-evaluate it now."""
    return obj is not None and heads.is_head(obj) and not bridge.is_writing(obj)


def _on_param_update(self: Any, context: Any) -> None:
    obj = self.id_data
    if _evaluates(obj):
        evaluate.safe_evaluate(obj)


def _on_model_update(self: Any, context: Any) -> None:
    obj = self.id_data
    models.forget_failures()
    if _evaluates(obj):
        evaluate.safe_evaluate(obj, force=True)


_ITEM_PATH = re.compile(r"flame\.(\w+)\[(\d+)\]$")


def _item_location(item: Any) -> tuple[str, int]:
    """The field and the index of the component an item of a coefficient list stands for."""
    match = _ITEM_PATH.match(item.path_from_id())
    if match is None:
        raise ValueError(f"{item!r} is not an item of a head's coefficient list")
    return match[1], int(match[2])


def _get_item_value(item: Any) -> float:
    return bridge.get_coefficient(item.id_data.flame, *_item_location(item))


def _set_item_value(item: Any, value: float) -> None:
    bridge.set_coefficient(item.id_data.flame, *_item_location(item), value)


def component_name(field_name: str, index: int, names: Sequence[str] = ()) -> str:
    """The list label of a coefficient: ``"Expression 001"`` for index 0, ``"Expression 001: smile"``
    when the model names it."""
    label = f"{COMPONENT_LABELS[field_name]} {index + 1:03d}"
    if index < len(names) and names[index]:
        label += f": {names[index].replace('_', ' ')}"
    return label


def resize_components(settings: Any, field_name: str, count: int, names: Sequence[str] = ()) -> None:
    """Grow or shrink a coefficient list to ``count`` items; kept items keep their values.

    With ``names`` (the model's component names) every item is labelled from them.
    """
    items = getattr(settings, field_name)
    if len(items) > count:  # components no longer exposed are zero (as if new) when shown again
        values = bridge.read_coefficients(settings, field_name)
        if values[count:].any():
            values[count:] = 0.0
            with bridge.writing(settings.id_data):
                bridge.write_coefficients(settings, field_name, values)
    while len(items) > count:
        items.remove(len(items) - 1)
    for i in range(len(items), count):
        item = items.add()
        item.name = component_name(field_name, i, names)  # a new item's value is 0: no update runs
    if names:
        for i, item in enumerate(items):
            label = component_name(field_name, i, names)
            if item.name != label:
                item.name = label
    index_name = f"{field_name}_index"
    if getattr(settings, index_name) >= count:
        setattr(settings, index_name, max(0, count - 1))


def _full_model(settings: Any) -> FlameModel | None:
    """The head's model with every component of its file (None when it cannot be loaded)."""
    if not settings.is_head:
        return None
    prefs = get_preferences()
    try:
        return models.get_model(models.resolve_path(settings.model_path, prefs), None, None, prefs)
    except (FlameError, OSError):
        return None


def _count_updater(field_name: str) -> Any:
    def update(self: Any, context: Any) -> None:
        key = self.as_pointer()
        if key in _resizing:
            return
        count_name = f"n_{field_name}"
        count = getattr(self, count_name)
        model = _full_model(self)
        _resizing.add(key)
        try:
            if model is not None and count > getattr(model, count_name):
                count = getattr(model, count_name)
                setattr(self, count_name, count)
            names = model.component_names(field_name) if model is not None else ()
            resize_components(self, field_name, count, names)
        finally:
            _resizing.discard(key)
        _on_param_update(self, context)

    return update


COEFFICIENT_DESCRIPTION = "Coefficient (in standard deviations of the model's training data)"
COEFFICIENT_SOFT_RANGE = (-3.0, 3.0)


class FlameComponent(bpy.types.PropertyGroup):
    """One shape or expression component of a head's list (``name`` is its label)."""

    value: FloatProperty(  # type: ignore[valid-type]
        name="Value",
        description=f"{COEFFICIENT_DESCRIPTION}; the value of the field's array (animate the array element)",
        soft_min=COEFFICIENT_SOFT_RANGE[0], soft_max=COEFFICIENT_SOFT_RANGE[1], precision=3, options=set(),
        get=_get_item_value, set=_set_item_value,
    )


def _field_properties(field: Field) -> dict[str, Any]:
    """The Blender properties of one parameter group."""
    label = field.name.title()
    description = field.description[:1].upper() + field.description[1:]
    if field.kind == "coefficients":
        return {
            field.name: CollectionProperty(
                type=FlameComponent, name=label, description=f"{description} (the exposed components, labelled)",
                override=OVERRIDABLE,
            ),
            bridge.values_name(field.name): FloatVectorProperty(
                name=f"{label} Values", description=f"{description}: {COEFFICIENT_DESCRIPTION.lower()}",
                size=bridge.array_dimensions(field.size), soft_min=COEFFICIENT_SOFT_RANGE[0],
                soft_max=COEFFICIENT_SOFT_RANGE[1], precision=3, override=OVERRIDABLE, update=_on_param_update,
            ),
            f"{field.name}_index": IntProperty(
                name=f"Active {label}", description=f"The {field.name} coefficient selected in the list",
                default=0, min=0, options=set(), override=OVERRIDABLE,
            ),
            f"n_{field.name}": IntProperty(
                name=f"{label} Components",
                description=f"Number of {field.name} coefficients exposed (at most {field.size})",
                default=0, min=0, max=field.size, options=set(),
                update=_count_updater(field.name),
            ),
        }
    if field.kind == "rotation":
        return {
            field.name: FloatVectorProperty(
                name=label, description=description, size=field.size,
                subtype="XYZ" if field.size == 3 else "NONE", unit="ROTATION",
                soft_min=-ROTATION_SOFT_LIMIT, soft_max=ROTATION_SOFT_LIMIT, override=OVERRIDABLE,
                update=_on_param_update,
            )
        }
    if field.kind == "weights":
        return {
            field.name: FloatVectorProperty(
                name=label, description=description, size=field.size, subtype="NONE",
                soft_min=WEIGHT_SOFT_RANGE[0], soft_max=WEIGHT_SOFT_RANGE[1], precision=3, override=OVERRIDABLE,
                update=_on_param_update,
            )
        }
    return {
        field.name: FloatVectorProperty(
            name=label, description=description, size=field.size, subtype="XYZ", unit="LENGTH",
            soft_min=-TRANSLATION_SOFT_LIMIT, soft_max=TRANSLATION_SOFT_LIMIT, step=1,
            override=OVERRIDABLE, update=_on_param_update,
        )
    }


class FlameHeadSettings(bpy.types.PropertyGroup):
    """Everything that makes an object a FLAME head: model, exposed counts and parameters."""

    is_head: BoolProperty(  # type: ignore[valid-type]
        name="FLAME Head", description="The object is a FLAME head (set by Add > Mesh > FLAME Head)",
        default=False, options={"HIDDEN"},
    )
    model_path: StringProperty(  # type: ignore[valid-type]
        name="Model File",
        description="FLAME model of this head; empty: the preferences' model (or the built-in demo head)",
        subtype="FILE_PATH", options=set(),
        update=_on_model_update,
    )


for _field in FIELDS:
    FlameHeadSettings.__annotations__.update(_field_properties(_field))


CLASSES = (FlameComponent, FlameHeadSettings)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register() -> None:
    _register_classes()
    bpy.types.Object.flame = bpy.props.PointerProperty(  # type: ignore[attr-defined]
        type=FlameHeadSettings, name="FLAME", description="FLAME head model, shape, expression and pose",
        override=OVERRIDABLE,
    )


def unregister() -> None:
    del bpy.types.Object.flame  # type: ignore[attr-defined]
    _unregister_classes()
