"""Operators, one module per user action; each module registers its own classes (and menus, followers)."""

from __future__ import annotations

from . import bake_normal_map, bake_shape_keys, export_rigged, head, landmarks, look_at, params, points, rig, sequence

#: The operator modules in registration order.
MODULES = (head, params, look_at, sequence, bake_shape_keys, landmarks, bake_normal_map, points, rig, export_rigged)


def register() -> None:
    for module in MODULES:
        module.register()


def unregister() -> None:
    for module in reversed(MODULES):
        module.unregister()
