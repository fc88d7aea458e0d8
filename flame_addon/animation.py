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
#: Where :func:`write_keyframes` puts the keys.
MODES = ("NEW_ACTION", "REPLACE_RANGE", "REPLACE")
#: Keyframe properties kept, key by key, when keys outside a replaced range stay (``foreach`` names, widths).
_KEY_PROPERTIES = (("co", 2, np.float32), ("handle_left", 2, np.float32), ("handle_right", 2, np.float32),
                   ("interpolation", 1, np.int32), ("handle_left_type", 1, np.int32),
                   ("handle_right_type", 1, np.int32), ("easing", 1, np.int32), ("type", 1, np.int32))


@dataclass
class _Before:
    had_animation_data: bool
    action: Any
    slot_identifier: str | None
    tracks: int


@dataclass
class KeyingReport:
    """What :func:`write_keyframes` did: the action keyed and what was kept besides the new keys."""

    action: Any
    kept: list[str]


def _snapshot(id_data: Any) -> _Before:
    anim = id_data.animation_data
    if anim is None:
        return _Before(False, None, None, 0)
    slot = getattr(anim, "action_slot", None)
    return _Before(True, anim.action, slot.identifier if slot is not None else None, len(anim.nla_tracks))


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
        return
    anim = id_data.animation_data
    while len(anim.nla_tracks) > before.tracks:
        anim.nla_tracks.remove(anim.nla_tracks[-1])
    _assign(id_data, before.action, before.slot_identifier)


def _new_action(id_data: Any, name: str) -> Any:
    action = bpy.data.actions.new(name)
    if "id_root" in action.bl_rna.properties:
        setattr(action, "id_root", id_data.id_type)  # noqa: B010 - 4.2/4.3 only
    return action


def push_to_nla(id_data: Any, action: Any, slot_identifier: str | None) -> Any:
    """Put ``action`` on a new NLA track of ``id_data`` as a strip at its first frame; returns the strip."""
    anim = id_data.animation_data_create()
    track = anim.nla_tracks.new()
    track.name = action.name
    start = int(np.floor(action.frame_range[0]))
    strip = track.strips.new(action.name, start, action)
    if slot_identifier is not None and hasattr(strip, "action_slot"):
        slot = next((s for s in action.slots if s.identifier == slot_identifier), None)
        if slot is not None and strip.action_slot != slot:
            strip.action_slot = slot
    return strip


def _read_points(curve: Any) -> dict[str, np.ndarray]:
    points = curve.keyframe_points
    out = {}
    for name, width, dtype in _KEY_PROPERTIES:
        values = np.empty(width * len(points), dtype=dtype)
        points.foreach_get(name, values)
        out[name] = values.reshape(len(points), width)
    return out


def merge_range(curve: Any, frames: np.ndarray, values: np.ndarray, interpolation: int) -> int:
    """Replace a curve's keys within ``frames``' span by the new keys; keys outside stay exactly as they were.

    Returns how many keys were kept."""
    old = _read_points(curve)
    old_frames = old["co"][:, 0]
    outside = (old_frames < frames.min()) | (old_frames > frames.max())
    kept = {name: array[outside] for name, array in old.items()}
    n_new = len(frames)
    new = {name: np.zeros((n_new, width), dtype=dtype) for name, width, dtype in _KEY_PROPERTIES}
    new["co"][:, 0], new["co"][:, 1] = frames, values
    new["handle_left"][:] = new["co"]
    new["handle_right"][:] = new["co"]
    new["interpolation"][:] = interpolation
    new["handle_left_type"][:] = new["handle_right_type"][:] = _enum_value(bpy.types.Keyframe, "handle_left_type",
                                                                         "AUTO_CLAMPED")
    merged = {name: np.concatenate([kept[name], new[name]]) for name in old}
    order = np.argsort(merged["co"][:, 0], kind="stable")
    points = curve.keyframe_points
    points.clear()
    points.add(len(order))
    for name, _, _ in _KEY_PROPERTIES:
        points.foreach_set(name, np.ascontiguousarray(merged[name][order]).reshape(-1))
    curve.update()
    return int(outside.sum())


def _enum_value(rna_type: Any, prop: str, name: str) -> int:
    return int(rna_type.bl_rna.properties[prop].enum_items[name].value)


def write_keyframes(
    id_data: Any,
    channels: Iterable[Channel],
    *,
    mode: str = "REPLACE",
    interpolation: str = "LINEAR",
    remove: Iterable[tuple[str, int]] = (),
    action_name: str | None = None,
    progress: Any = None,
) -> KeyingReport:
    """Key every channel on ``id_data`` in bulk; all or nothing.

    ``mode``: ``"REPLACE"`` replaces each channel's whole F-Curve in (a copy of) the ID's action;
    ``"REPLACE_RANGE"`` replaces only the keys within the span of each channel's new keys (keys before and
    after stay, with their interpolation and handles); ``"NEW_ACTION"`` keys a new action named
    ``action_name`` and pushes the ID's previous action onto the NLA as a strip (so what it animates and the
    new action does not keeps playing). ``remove`` lists (data_path, index) channels whose F-Curves are
    deleted from the keyed action. Other F-Curves are kept. ``progress(done, total)`` is called after each
    channel. Raises (leaving the ID's animation exactly as it was) when any channel fails.
    """
    if mode not in MODES:
        raise FlameError(f"unknown keying mode {mode!r}; known: {', '.join(MODES)}")
    channels = list(channels)
    anim = id_data.animation_data
    if anim is not None and anim.use_tweak_mode:
        raise FlameError(f"{id_data.name!r} is in NLA tweak mode; leave it before keying")
    key_mode = interpolation_value(interpolation)
    before = _snapshot(id_data)
    kept: list[str] = []
    if mode == "NEW_ACTION" or before.action is None:
        action = _new_action(id_data, action_name or f"{id_data.name} Action")
        slot_identifier = None
    else:
        action = before.action.copy()
        slot_identifier = before.slot_identifier
    kept_keys = 0
    try:
        if mode == "NEW_ACTION" and before.action is not None:
            strip = push_to_nla(id_data, before.action, before.slot_identifier)
            kept.append(f"the previous action {before.action.name!r} as the NLA strip {strip.name!r}")
        _assign(id_data, action, slot_identifier)
        curves = fcurves_of(id_data) if remove else None
        if curves is not None:
            for data_path, index in remove:
                curve = curves.find(data_path, index=index)
                if curve is not None:
                    curves.remove(curve)
        for done, channel in enumerate(channels, 1):
            curve = _ensure_fcurve(id_data, action, channel)
            if mode == "REPLACE_RANGE" and len(curve.keyframe_points) and len(channel.frames):
                kept_keys += merge_range(curve, channel.frames, channel.values, key_mode)
            else:
                fill_fcurve(curve, channel.frames, channel.values, key_mode)
            if progress is not None:
                progress(done, len(channels))
    except BaseException:
        _restore(id_data, before)
        bpy.data.actions.remove(action)
        raise
    if kept_keys:
        kept.append(f"{kept_keys} keys outside the imported range")
    old = before.action
    if mode != "NEW_ACTION" and old is not None and old.users == 0 and not old.use_fake_user:
        name = old.name
        bpy.data.actions.remove(old)
        action.name = name
    return KeyingReport(action, kept)


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
