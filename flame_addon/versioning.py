"""Bringing files saved by earlier versions up to date, once, when they are opened.

Earlier versions kept each coefficient in its list item (``flame.shape[i].value``); it now lives in the
field's array (``flame.shape_values``, element ``i``). Opening such a file moves the stored values into the
arrays and points F-Curves (of every action, so clips on the NLA too) and drivers at the array elements.
Linked data is left alone (a library file is brought up to date by opening it).
"""

from __future__ import annotations

import contextlib
import re
import sys
from typing import Any

import bpy
from bpy.app.handlers import persistent

from ..flame_core import FIELDS
from . import animation, bridge

COEFFICIENT_NAMES = tuple(f.name for f in FIELDS if f.kind == "coefficients")
#: An earlier F-Curve or driver path of one coefficient.
OLD_PATH = re.compile(r"^flame\.(" + "|".join(COEFFICIENT_NAMES) + r")\[(\d+)\]\.value$")
#: The key under which earlier versions stored an item's value.
OLD_VALUE_KEY = "value"


def new_path(data_path: str) -> tuple[str, int] | None:
    """The array path and index replacing an earlier coefficient path (None for any other path)."""
    match = OLD_PATH.match(data_path)
    if match is None:
        return None
    return f"flame.{bridge.values_name(match[1])}", int(match[2])


def _repath(curves: Any, curve: Any) -> bool:
    """Point one F-Curve at its array element; a duplicate of an existing element's curve is dropped."""
    target = new_path(curve.data_path)
    if target is None:
        return False
    path, index = target
    if curves is not None and curves.find(path, index=index) is not None:
        curves.remove(curve)
        return True
    curve.data_path, curve.array_index = path, index
    return True


def _curve_sets(action: Any) -> list[Any]:
    """The F-Curve collections of an action: the action's own (4.2), else one per channelbag."""
    if not animation.is_slotted():
        return [action.fcurves]
    return [bag.fcurves for layer in action.layers for strip in layer.strips
            for bag in getattr(strip, "channelbags", ())]


def upgrade_actions() -> int:
    """Rewrite earlier coefficient paths in every local action; returns the number of F-Curves changed."""
    changed = 0
    for action in bpy.data.actions:
        if action.library is None:
            for curves in _curve_sets(action):
                for curve in [c for c in curves if OLD_PATH.match(c.data_path)]:
                    changed += _repath(curves, curve)
    return changed


def upgrade_head(obj: Any) -> bool:
    """Move a head's stored item values into its arrays and repath its drivers; True when anything moved."""
    if obj.library is not None or not obj.flame.is_head:
        return False
    settings = obj.flame
    moved = False
    for name in COEFFICIENT_NAMES:
        items = getattr(settings, name)
        stored = [(i, item.get(OLD_VALUE_KEY)) for i, item in enumerate(items)]
        stored = [(i, v) for i, v in stored if v is not None]
        if not stored:
            continue
        values = bridge.read_coefficients(settings, name)
        for i, value in stored:
            if i < len(values):
                values[i] = float(value)
            del items[i][OLD_VALUE_KEY]
        with bridge.writing(obj):
            bridge.write_coefficients(settings, name, values)
        moved = True
    anim = obj.animation_data
    if anim is not None:
        for driver in [d for d in anim.drivers if OLD_PATH.match(d.data_path)]:
            moved |= _repath(anim.drivers, driver)
    return moved


def upgrade_file() -> int:
    """Bring every head and action of the open file up to date; returns how many were changed."""
    heads = sum(upgrade_head(obj) for obj in bpy.data.objects)
    curves = upgrade_actions()
    if heads or curves:
        print(f"FLAME Head: brought {heads} head(s) and {curves} F-Curve(s) of an earlier version up to date",
              file=sys.stderr)
    return heads + curves


@persistent
def on_load(*_: Any) -> None:
    upgrade_file()


def register() -> None:
    if on_load not in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.insert(0, on_load)  # before the heads are evaluated
    with contextlib.suppress(AttributeError):  # at start-up bpy.data is restricted; load_post follows
        upgrade_file()  # the file open when the extension is enabled


def unregister() -> None:
    while on_load in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(on_load)

