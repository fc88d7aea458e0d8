"""Parameter sequences as animation channels: one value per frame for each exposed parameter value.

No Blender here: the add-on turns the arrays into F-Curves. A *table* is (T, n) values of n channels over
T frames; a channel whose values are the same in every frame is *constant* and needs one key (or none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .errors import ParamsError
from .params import FIELD_BY_NAME, FIELDS, FlameParams


def field_values(params: FlameParams, name: str, size: int, frames: int | None = None) -> np.ndarray:
    """A field cut or zero-padded to ``size`` values: (frames, size) when ``frames`` is given, else as stored."""
    if name not in FIELD_BY_NAME:
        raise ParamsError(f"unknown parameter field {name!r}; known: {', '.join(FIELD_BY_NAME)}")
    value = getattr(params, name)
    lead: tuple[int, ...] = (frames,) if frames is not None else (() if value is None else value.shape[:-1])
    out = np.zeros(lead + (size,), dtype=np.float64)
    if value is not None:
        n = min(size, value.shape[-1])
        out[..., :n] = value[..., :n]
    return out


def varies(values: np.ndarray) -> bool:
    """True when a (T, n) table is not the same in every frame."""
    values = np.asarray(values)
    if values.ndim != 2 or len(values) < 2:
        return False
    return not bool(np.all(constant_columns(values)))


def constant_columns(values: np.ndarray) -> np.ndarray:
    """(n,) bool: which columns of a (T, n) table hold one value in every frame (exactly)."""
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"expected a (frames, channels) table, got shape {values.shape}")
    if len(values) == 0:
        return np.ones(values.shape[1], dtype=bool)
    return np.asarray(np.all(values == values[:1], axis=0))


def used_count(values: np.ndarray | None) -> int:
    """How many leading coefficients hold anything in any frame (trailing all-zero ones dropped)."""
    if values is None:
        return 0
    values = np.asarray(values)
    if values.size == 0:
        return 0
    used = np.nonzero(np.any(values.reshape(-1, values.shape[-1]) != 0.0, axis=0))[0]
    return int(used[-1]) + 1 if len(used) else 0


#: What happens to a channel that is the same in every frame: one key, or no key (the value is set instead).
CONSTANT_MODES = ("ONE", "NONE")


@dataclass(frozen=True)
class ChannelKeys:
    """The keys of one parameter value: value ``index`` of field ``field`` takes ``values`` at ``frames``."""

    field: str
    index: int
    frames: np.ndarray
    values: np.ndarray


@dataclass
class SequenceChannels:
    """The channels of a sequence: keyed ones, and constant ones left unkeyed (their values to set instead)."""

    keyed: list[ChannelKeys]
    constants: dict[tuple[str, int], float]
    fields: tuple[str, ...]
    n_varying: int
    n_constant: int


def sequence_channels(params: FlameParams, sizes: Mapping[str, int], frames: np.ndarray, *,
                      constant: str = "ONE", range_ends: bool = False) -> SequenceChannels:
    """One channel per value of every field ``params`` holds (among ``sizes``, which gives each field's count).

    Fields ``params`` lacks (None) are left out entirely. A channel that varies is keyed at every frame; a
    constant one gets one key at the first frame (``constant="ONE"``; with ``range_ends`` also one at the last,
    so that keys around the range keep their own values) or none (``"NONE"``: listed in ``constants``).
    """
    if constant not in CONSTANT_MODES:
        raise ParamsError(f"unknown constant-channel mode {constant!r}; known: {', '.join(CONSTANT_MODES)}")
    frames = np.asarray(frames, dtype=np.float64).reshape(-1)
    ends = np.array([0, len(frames) - 1]) if range_ends and len(frames) > 1 else np.array([0])
    keyed: list[ChannelKeys] = []
    constants: dict[tuple[str, int], float] = {}
    fields = []
    n_varying = n_constant = 0
    for field in FIELDS:
        if field.name not in sizes or getattr(params, field.name) is None:
            continue
        fields.append(field.name)
        table = field_values(params, field.name, int(sizes[field.name]), len(frames))
        same = constant_columns(table)
        n_constant += int(same.sum())
        n_varying += int((~same).sum())
        for j in range(table.shape[1]):
            if not same[j]:
                keyed.append(ChannelKeys(field.name, j, frames, table[:, j]))
            elif constant == "ONE":
                keyed.append(ChannelKeys(field.name, j, frames[ends], table[ends, j]))
            elif len(frames):
                constants[(field.name, j)] = float(table[0, j])
    return SequenceChannels(keyed, constants, tuple(fields), n_varying, n_constant)
