"""VHAP tracked parameters (``tracked_flame_params*.npz``) and GaussianAvatars ``flame_param.npz``.

One npz with ``shape`` (300,), ``expr`` (T, 100), ``rotation``/``neck_pose``/``jaw_pose`` (T, 3),
``eyes_pose`` (T, 6: left eye, then right), ``translation`` (T, 3), optionally ``eyelid_params`` (T, 2: the
eyelid blend-shape weights, left then right); ``static_offset`` (1, V, 3) and the optional
``dynamic_offset`` (T, V, 3) (per-vertex offsets, V = 5023 or 5143 with teeth: see
:attr:`FlameSequence.offsets`), ``timestep_id`` (T,) and tracker state (``lights``, ``K``, ``RT``, ``tex``...)
become extras. VHAP's NeRF-dataset export writes the same keys once per frame
(``flame_param/00000.npz``..., leading axis 1; ``shape`` unsliced). No frame rate is stored (30 is usual).
"""

from __future__ import annotations

import numpy as np

from ..params import FIELD_NAMES
from ._format import FPS_KEY, TIMESTAMPS_KEY, Format
from .core import FlameSequence

FORMAT = Format(
    name="vhap",
    label="VHAP/GaussianAvatars",
    keys={
        "shape": ("shape",),
        "expr": ("expression",),
        "rotation": ("rotation",),
        "neck_pose": ("neck",),
        "jaw_pose": ("jaw",),
        "eyes_pose": ("eyes",),
        "translation": ("translation",),
        "eyelid_params": ("eyelids",),
    },
    signatures=(frozenset({"expr", "rotation"}), frozenset({"expr", "jaw_pose"})),
    static=frozenset({"static_offset", "lights", "K", "RT", "tex", "tex_extra", "focal_length"}),
)


#: Fields written only when set (the trackers that have no eyelids write no key for them).
OPTIONAL_FIELDS = ("eyelids",)


def vhap_keys() -> dict[str, str]:
    """FlameParams field -> VHAP/GaussianAvatars npz key (``expression`` -> ``expr``, ``eyes`` -> ``eyes_pose``...)."""
    return FORMAT.inverse()


def to_arrays(seq: FlameSequence, dtype: type = np.float32) -> dict[str, np.ndarray]:
    """The sequence as VHAP/GaussianAvatars npz arrays (every key written, zeros for unset fields).

    ``shape`` is (n,) when shared by all frames (as VHAP writes it), else (T, n); ``eyelid_params`` only when
    the sequence has eyelids; ``fps`` and ``timestamps`` are added when known; extras (offsets included) are
    written under their own names.
    """
    keys = vhap_keys()
    params = seq.params
    out: dict[str, np.ndarray] = {}
    for name in FIELD_NAMES:
        value = getattr(params, name)
        if value is None and name in OPTIONAL_FIELDS:
            continue
        if name == "shape" and (value is None or value.ndim == 1):
            out[keys[name]] = params.values(name, None if value is None else value.shape[-1]).astype(dtype)
            continue
        size = None if value is None else value.shape[-1]
        out[keys[name]] = np.ascontiguousarray(params.values(name, size, broadcast=True), dtype=dtype)
    if seq.fps is not None:
        out[FPS_KEY] = np.array(seq.fps, dtype=np.float64)
    if seq.timestamps is not None:
        out[TIMESTAMPS_KEY] = seq.timestamps.astype(np.float64)
    for key, value in seq.extras.items():
        if key not in out:
            out[key] = value
    return out
