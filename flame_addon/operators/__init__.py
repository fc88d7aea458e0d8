"""Operators, one module per user action; ``CLASSES`` lists them in registration order."""

from __future__ import annotations

from . import bake_normal_map, bake_shape_keys, export_rigged, head, landmarks, look_at, params, points, rig, sequence

CLASSES = (
    *head.CLASSES, *params.CLASSES, *look_at.CLASSES,
    *sequence.CLASSES, *bake_shape_keys.CLASSES, *landmarks.CLASSES,
    *bake_normal_map.CLASSES, *points.CLASSES, *export_rigged.CLASSES, *rig.CLASSES,
)
