"""Parameter sequences as animation channels: one value per frame for each exposed parameter value.

No Blender here: the add-on turns the arrays into F-Curves. A *table* is (T, n) values of n channels over
T frames; a channel whose values are the same in every frame is *constant* and needs one key (or none).
"""

from __future__ import annotations

import numpy as np

from .errors import ParamsError
from .params import FIELD_BY_NAME, FlameParams


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


def replace_range(frames: np.ndarray, values: np.ndarray, new_frames: np.ndarray,
                  new_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys (frames, values) with those inside ``new_frames``' span replaced by the new keys, sorted by frame.

    Keys before the first and after the last new frame are kept; with no new keys nothing changes.
    """
    frames = np.asarray(frames, dtype=np.float64).reshape(-1)
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    new_frames = np.asarray(new_frames, dtype=np.float64).reshape(-1)
    new_values = np.asarray(new_values, dtype=np.float64).reshape(-1)
    if len(new_frames) == 0:
        return frames, values
    outside = (frames < new_frames.min()) | (frames > new_frames.max())
    all_frames = np.concatenate([frames[outside], new_frames])
    all_values = np.concatenate([values[outside], new_values])
    order = np.argsort(all_frames, kind="stable")
    return all_frames[order], all_values[order]
