"""Operators, one module per user action; ``CLASSES`` lists them in registration order."""

from __future__ import annotations

from . import head, look_at, params

CLASSES = (*head.CLASSES, *params.CLASSES, *look_at.CLASSES)
