"""A head's parameters as animation channels: data paths, keying a sequence, sampling per frame.

Every field is an array property with one F-Curve per element: the coefficients ``flame.shape_values`` and
``flame.expression_values`` (index = component), the vectors ``flame.rotation`` (indices 0..2), ``flame.eyes``
(0..5) and so on. The order of :func:`channel_keys` follows ``flame_core.params.FIELDS``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..flame_core import FIELDS, FlameParams
from ..flame_core.channels import ChannelKeys
from . import animation, bridge, rig

COEFFICIENT_NAMES = tuple(f.name for f in FIELDS if f.kind == "coefficients")
GROUP_NAMES = {f.name: f.name.title() for f in FIELDS}


def field_keys(settings: Any, name: str) -> list[tuple[str, int]]:
    """(data_path, index) of every exposed value of one field, in order."""
    field = next(f for f in FIELDS if f.name == name)
    if field.kind == "coefficients":
        return [(f"flame.{bridge.values_name(name)}", i) for i in range(len(getattr(settings, name)))]
    return [(f"flame.{name}", i) for i in range(field.size)]


def value_key(settings: Any, name: str, index: int) -> tuple[str, int]:
    """(data_path, index) of value ``index`` of field ``name``."""
    return field_keys(settings, name)[index]


def to_channel(settings: Any, keys: ChannelKeys) -> animation.Channel:
    """The animation channel of a core :class:`ChannelKeys` on a head."""
    path, index = value_key(settings, keys.field, keys.index)
    return animation.Channel(path, index, keys.frames, keys.values, GROUP_NAMES[keys.field])


def channel_keys(settings: Any, names: tuple[str, ...] | None = None) -> list[tuple[str, int]]:
    """(data_path, index) of every exposed parameter value of a head (optionally only some fields)."""
    keys: list[tuple[str, int]] = []
    for field in FIELDS:
        if names is None or field.name in names:
            keys.extend(field_keys(settings, field.name))
    return keys


def keyed_range(obj: Any) -> tuple[int, int] | None:
    """The first and last frame the head's parameters are keyed at (its action's ``flame.*`` F-Curves and its
    unmuted NLA strips), or None when nothing is keyed."""
    lows: list[float] = []
    highs: list[float] = []
    for curve in animation.curves_by_path(obj, "flame."):
        if len(curve.keyframe_points):
            low, high = curve.range()
            lows.append(low)
            highs.append(high)
    anim = obj.animation_data
    if anim is not None:
        for track in anim.nla_tracks:
            if not track.mute:
                for strip in track.strips:
                    if not strip.mute:
                        lows.append(strip.frame_start)
                        highs.append(strip.frame_end)
    if not lows:
        return None
    return int(np.floor(min(lows))), int(np.ceil(max(highs)))


def _simple_animation(obj: Any) -> bool:
    """True when the head's values are its action's F-Curves alone (no NLA, drivers or blending)."""
    anim = obj.animation_data
    if anim is None:
        return True
    if any(not track.mute for track in anim.nla_tracks) or anim.use_tweak_mode:
        return False
    if any(d.data_path.startswith("flame.") for d in anim.drivers):
        return False
    return anim.action_influence == 1.0 and anim.action_blend_type == "REPLACE"


def _from_columns(settings: Any, table: np.ndarray, keys: list[tuple[str, int]]) -> FlameParams:
    fields: dict[str, np.ndarray] = {}
    start = 0
    for field in FIELDS:
        n = len(field_keys(settings, field.name))
        fields[field.name] = table[:, start : start + n]
        start += n
    assert start == len(keys)
    return FlameParams(**fields)


def sample_params(context: Any, obj: Any, frames: np.ndarray, *, from_rig: bool = True) -> FlameParams:
    """The head's parameters at each of ``frames`` as FlameParams with a leading frame axis.

    A rigged head's pose and translation come from its rig (``from_rig=False``: its own parameters).
    """
    params = _sample_params(context, obj, frames)
    pose = rig.sample_pose(context, obj, frames) if from_rig else None  # a rigged head: pose from its rig
    return params if pose is None else params.replace(**pose.to_dict())


def _sample_params(context: Any, obj: Any, frames: np.ndarray) -> FlameParams:
    """The head's own parameters at each of ``frames`` as FlameParams with a leading frame axis.

    With plain keyframes (the usual case) the F-Curves are evaluated directly; with NLA strips,
    drivers or action blending the scene is stepped frame by frame and the evaluated object read
    (the current frame is restored afterwards).
    """
    settings = obj.flame
    keys = channel_keys(settings)
    frames = np.asarray(frames, dtype=np.float64).reshape(-1)
    if _simple_animation(obj):
        current = np.concatenate([
            bridge.read_params(settings).values(f.name, len(field_keys(settings, f.name))) for f in FIELDS
        ])
        table = np.broadcast_to(current, (len(frames), len(keys))).copy()
        curves = animation.fcurves_of(obj)
        found = []
        if curves is not None:
            for j, (path, index) in enumerate(keys):
                curve = curves.find(path, index=index)
                if curve is not None and not curve.mute:
                    found.append((j, curve))
        if found:
            table[:, [j for j, _ in found]] = animation.sample_fcurves([c for _, c in found], frames)
        return _from_columns(settings, table, keys)
    scene = context.scene
    frame, subframe = scene.frame_current, scene.frame_subframe
    rows = []
    try:
        for f in frames:
            whole = int(np.floor(f))
            scene.frame_set(whole, subframe=float(f - whole))
            depsgraph = context.evaluated_depsgraph_get()
            rows.append(bridge.read_params(obj.evaluated_get(depsgraph).flame))
    finally:
        scene.frame_set(frame, subframe=subframe)
    stacked = FlameParams.stack(rows)
    return stacked
