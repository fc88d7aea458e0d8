"""Type of an operator's return value (what ``execute``/``invoke`` give back to Blender)."""

from __future__ import annotations

from typing import Literal

OperatorResult = set[Literal["RUNNING_MODAL", "CANCELLED", "FINISHED", "PASS_THROUGH", "INTERFACE"]]
