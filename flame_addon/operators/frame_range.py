"""The frame range of operators with ``frame_start`` / ``frame_end`` properties: unset ends take a default."""

from __future__ import annotations

from typing import Any


def settle(op: Any, start: int, end: int) -> str | None:
    """Give the operator's unset ``frame_start`` / ``frame_end`` the values ``start`` / ``end``.

    Returns the problem to report when the range is empty, else None.
    """
    if not op.properties.is_property_set("frame_start"):
        op.frame_start = start
    if not op.properties.is_property_set("frame_end"):
        op.frame_end = end
    if op.frame_end < op.frame_start:
        return f"End frame {op.frame_end} is before start frame {op.frame_start}"
    return None
