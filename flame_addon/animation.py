"""Bulk keyframing and reading of F-Curves on Blender 4.2 (legacy actions) and 4.4+ (slotted actions).

Blender 4.2/4.3 keep F-Curves on the action (``action.fcurves``, ``action.groups``). From 4.4 an
action has slots, layers, keyframe strips and one channelbag of F-Curves per slot; 5.0 removed
``Action.fcurves``. Everything here goes through :func:`fcurves_of` and :func:`_ensure_fcurve`, which
pick the right API by feature (never by version number).

:func:`write_keyframes` is transactional: the keys are written into a copy of the ID's action (or
a new action), which is assigned only when every channel was written; on any error the ID gets its
previous action, slot and animation data back and nothing created is left behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import bpy
import numpy as np

from ..flame_core import FlameError


@dataclass(frozen=True)
class Channel:
    """Keys of one animated value: ``data_path[index]`` takes ``values[k]`` at ``frames[k]``."""

    data_path: str
    index: int
    frames: np.ndarray
    values: np.ndarray
    group: str | None = None

    def __post_init__(self) -> None:
        frames = np.asarray(self.frames, dtype=np.float64).reshape(-1)
        values = np.asarray(self.values, dtype=np.float64).reshape(-1)
        if frames.shape != values.shape:
            raise FlameError(f"{self.data_path}[{self.index}]: {len(frames)} frames but {len(values)} values")
        if not (np.all(np.isfinite(frames)) and np.all(np.isfinite(values))):
            raise FlameError(f"{self.data_path}[{self.index}]: frames and values must be finite")
        if np.any(np.diff(frames) <= 0):
            raise FlameError(f"{self.data_path}[{self.index}]: frames must be strictly increasing")
        object.__setattr__(self, "frames", frames)
        object.__setattr__(self, "values", values)

    @property
    def key(self) -> tuple[str, int]:
        return self.data_path, self.index


def interpolation_value(name: str) -> int:
    """The integer RNA value of a keyframe interpolation mode (what ``foreach_set`` takes)."""
    prop: Any = bpy.types.Keyframe.bl_rna.properties["interpolation"]
    items = prop.enum_items
    if name not in items:
        raise FlameError(f"unknown interpolation {name!r}; known: {list(items.keys())}")
    return int(items[name].value)


def is_slotted() -> bool:
    """True when actions have slots and channelbags (Blender 4.4 and later)."""
    return hasattr(bpy.types, "ActionSlot")


# ---------------------------------------------------------------------------------------------- F-Curve access
def _channelbag(action: Any, slot: Any) -> Any | None:
    if action is None or slot is None:
        return None
    for layer in action.layers:
        for strip in layer.strips:
            bag = strip.channelbag(slot)
            if bag is not None:
                return bag
    return None


def fcurves_of(id_data: Any) -> Any | None:
    """The F-Curve collection animating ``id_data`` through its action (None when it has none).

    4.2: ``action.fcurves``; 4.4+: the channelbag of the ID's assigned slot.
    """
    anim = getattr(id_data, "animation_data", None)
    if anim is None or anim.action is None:
        return None
    action = anim.action
    if not is_slotted():
        return action.fcurves
    bag = _channelbag(action, anim.action_slot)
    return bag.fcurves if bag is not None else None


def find_fcurve(id_data: Any, data_path: str, index: int = 0) -> Any | None:
    curves = fcurves_of(id_data)
    return curves.find(data_path, index=index) if curves is not None else None


def _ensure_fcurve(id_data: Any, action: Any, channel: Channel) -> Any:
    """The action's F-Curve for a channel, created when missing (the action is assigned to ``id_data``)."""
    if hasattr(action, "fcurve_ensure_for_datablock"):  # 4.4+: creates slot, layer, strip and channelbag
        kwargs: dict[str, Any] = {"index": channel.index}
        if channel.group:
            kwargs["group_name"] = channel.group
        return action.fcurve_ensure_for_datablock(id_data, channel.data_path, **kwargs)
    curve = action.fcurves.find(channel.data_path, index=channel.index)
    if curve is None:
        curve = action.fcurves.new(channel.data_path, index=channel.index, action_group=channel.group or "")
    return curve


def fill_fcurve(curve: Any, frames: np.ndarray, values: np.ndarray, interpolation: int) -> None:
    """Replace a curve's keys with ``values`` at ``frames`` in three bulk writes."""
    points = curve.keyframe_points
    if len(points):
        points.clear()
    n = len(frames)
    points.add(n)
    co = np.empty(2 * n, dtype=np.float32)
    co[0::2] = frames
    co[1::2] = values
    points.foreach_set("co", co)
    points.foreach_set("interpolation", np.full(n, interpolation, dtype=np.int32))
    curve.update()


# ---------------------------------------------------------------------------------------------- writing
@dataclass
class _Before:
    had_animation_data: bool
    action: Any
    slot_identifier: str | None


def _snapshot(id_data: Any) -> _Before:
    anim = id_data.animation_data
    if anim is None:
        return _Before(False, None, None)
    slot = getattr(anim, "action_slot", None)
    return _Before(True, anim.action, slot.identifier if slot is not None else None)


def _assign(id_data: Any, action: Any, slot_identifier: str | None) -> None:
    anim = id_data.animation_data_create()
    anim.action = action
    if action is not None and slot_identifier is not None and hasattr(anim, "action_slot"):
        slot = next((s for s in action.slots if s.identifier == slot_identifier), None)
        if slot is not None:
            anim.action_slot = slot


def _restore(id_data: Any, before: _Before) -> None:
    if not before.had_animation_data:
        id_data.animation_data_clear()
    else:
        _assign(id_data, before.action, before.slot_identifier)


def write_keyframes(
    id_data: Any,
    channels: Iterable[Channel],
    *,
    interpolation: str = "LINEAR",
    remove: Iterable[tuple[str, int]] = (),
    action_name: str | None = None,
    progress: Any = None,
) -> Any:
    """Key every channel on ``id_data`` in bulk (one F-Curve per channel, existing keys replaced).

    ``remove`` lists (data_path, index) channels whose F-Curves are deleted. Other F-Curves of the
    ID's action are kept. ``progress(done, total)`` is called after each channel. Returns the action
    now assigned. Raises (leaving the ID's animation exactly as it was) when any channel fails.
    """
    channels = list(channels)
    anim = id_data.animation_data
    if anim is not None and anim.use_tweak_mode:
        raise FlameError(f"{id_data.name!r} is in NLA tweak mode; leave it before keying")
    mode = interpolation_value(interpolation)
    before = _snapshot(id_data)
    if before.action is not None:
        action = before.action.copy()
    else:
        action = bpy.data.actions.new(action_name or f"{id_data.name} Action")
        if "id_root" in action.bl_rna.properties:
            setattr(action, "id_root", id_data.id_type)  # noqa: B010 - 4.2/4.3 only
    try:
        _assign(id_data, action, before.slot_identifier)
        curves = fcurves_of(id_data) if remove else None
        if curves is not None:
            for data_path, index in remove:
                curve = curves.find(data_path, index=index)
                if curve is not None:
                    curves.remove(curve)
        for done, channel in enumerate(channels, 1):
            curve = _ensure_fcurve(id_data, action, channel)
            fill_fcurve(curve, channel.frames, channel.values, mode)
            if progress is not None:
                progress(done, len(channels))
    except BaseException:
        _restore(id_data, before)
        bpy.data.actions.remove(action)
        raise
    old = before.action
    if old is not None and old.users == 0 and not old.use_fake_user:
        name = old.name
        bpy.data.actions.remove(old)
        action.name = name
    return action


# ---------------------------------------------------------------------------------------------- reading
def read_keyframes(id_data: Any, keys: Iterable[tuple[str, int]] | None = None) -> dict[tuple[str, int], Any]:
    """The keys of the ID's F-Curves: {(data_path, index): (frames, values) float64 arrays}.

    ``keys`` limits the channels (those without an F-Curve are missing from the result).
    """
    curves = fcurves_of(id_data)
    out: dict[tuple[str, int], Any] = {}
    if curves is None:
        return out
    wanted = None if keys is None else set(keys)
    for curve in curves:
        key = (curve.data_path, curve.array_index)
        if wanted is not None and key not in wanted:
            continue
        co = np.empty(2 * len(curve.keyframe_points), dtype=np.float32)
        curve.keyframe_points.foreach_get("co", co)
        out[key] = (co[0::2].astype(np.float64), co[1::2].astype(np.float64))
    return out


def curves_by_path(id_data: Any, prefix: str = "") -> Iterator[Any]:
    """The ID's F-Curves whose data path starts with ``prefix``."""
    curves = fcurves_of(id_data)
    if curves is not None:
        for curve in curves:
            if curve.data_path.startswith(prefix):
                yield curve


def sample_fcurves(curves: Sequence[Any], frames: np.ndarray) -> np.ndarray:
    """Each curve evaluated at each frame: (len(frames), len(curves)) float64 (no NLA, no drivers)."""
    out = np.empty((len(frames), len(curves)), dtype=np.float64)
    times = [float(f) for f in np.asarray(frames).reshape(-1)]
    for j, curve in enumerate(curves):
        evaluate = curve.evaluate
        out[:, j] = [evaluate(f) for f in times]
    return out
