""":class:`FlameSequence`: FLAME parameters over time, with frame rate, timestamps and the file's other arrays."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FlameError
from ..params import FlameParams

#: Extras that are per-vertex offsets added before skinning (VHAP / GaussianAvatars).
OFFSET_KEYS = ("static_offset", "dynamic_offset")


@dataclass(frozen=True, eq=False)
class FlameSequence:
    """A performance: one :class:`FlameParams` with a leading frame axis T.

    ``params``: fields with a leading frame axis ``(T, n)`` or shared by every frame ``(n,)`` (typically
    ``shape``). ``fps``: frame rate, ``None`` when unknown. ``timestamps``: per-frame times in seconds
    (optional, strictly increasing). ``extras``: arrays from the file that are not FLAME parameters
    (``static_offset``, ``dynamic_offset``, ``cam``, ``timestep_id``, ``eyelid_params``, ...);
    ``frame_keys`` names the extras that have a leading frame axis (``None``: those whose first axis
    has length T). ``skipped``: keys of the file that were not read at all (pickled objects, images).
    ``source``: the file or folder read, ``format``: the format it was read as.

    ``seq[i]`` is frame i as an unbatched :class:`FlameParams`; ``seq[a:b]`` and index arrays give a
    :class:`FlameSequence` (timestamps and per-frame extras follow; a slice step divides ``fps``).
    """

    params: FlameParams
    fps: float | None = None
    timestamps: np.ndarray | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    source: str | None = None
    format: str = "memory"
    frame_keys: frozenset[str] | None = None
    skipped: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.params, FlameParams):
            raise FlameError(f"params must be FlameParams, got {type(self.params).__name__}")
        batch = self.params.batch_shape
        if len(batch) != 1:
            raise FlameError(f"a sequence needs params with one leading frame axis, got batch shape {batch}")
        n = batch[0]
        if self.fps is not None:
            fps = float(self.fps)
            if not (math.isfinite(fps) and fps > 0.0):
                raise FlameError(f"fps must be a positive number or None, got {self.fps!r}")
            object.__setattr__(self, "fps", fps)
        if self.timestamps is not None:
            times = np.array(self.timestamps, dtype=np.float64)
            if times.shape != (n,):
                raise FlameError(f"timestamps must have shape ({n},), one per frame, got {times.shape}")
            if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0.0):
                raise FlameError("timestamps must be finite and strictly increasing")
            times.setflags(write=False)
            object.__setattr__(self, "timestamps", times)
        extras = {str(k): np.asarray(v) for k, v in dict(self.extras).items()}
        object.__setattr__(self, "extras", extras)
        if self.frame_keys is None:
            keys = frozenset(k for k, v in extras.items() if v.ndim >= 1 and v.shape[0] == n)
        else:
            keys = frozenset(self.frame_keys)
            bad = sorted(k for k in keys if k not in extras or extras[k].ndim == 0 or extras[k].shape[0] != n)
            if bad:
                raise FlameError(f"frame_keys {bad} are not extras with a leading axis of {n} frames")
        object.__setattr__(self, "frame_keys", keys)
        object.__setattr__(self, "skipped", tuple(self.skipped))

    # ------------------------------------------------------------------ frames
    def __len__(self) -> int:
        return self.params.batch_shape[0]

    def frame(self, i: int) -> FlameParams:
        """Frame ``i`` (negative counts from the end) as unbatched parameters."""
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"frame {i} out of range for a sequence of {n} frames")
        return self.params[i]

    def __iter__(self) -> Iterator[FlameParams]:
        for i in range(len(self)):
            yield self.params[i]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)):
            return self.frame(int(index))
        fps = self.fps
        if isinstance(index, slice):
            step = 1 if index.step is None else index.step
            if step <= 0:
                raise ValueError("sequence slices must go forward in time (positive step)")
            fps = None if fps is None else fps / step
            rows = index
        else:
            rows = np.arange(len(self))[index]
            if rows.ndim != 1:
                raise IndexError("index a sequence with an int, a slice or a 1-D index/boolean array")
            if np.any(np.diff(rows) <= 0):
                raise ValueError("selected frames must be in increasing order")
        times = self.timestamps
        if times is None and self.fps is not None and not isinstance(index, slice):
            times = np.arange(len(self)) / self.fps  # an arbitrary selection keeps its real times
        if times is not None:
            times = times[rows]
            if not isinstance(index, slice):
                fps = None
        per_frame = self.frame_keys or frozenset()
        extras = {k: (v[rows] if k in per_frame else v) for k, v in self.extras.items()}
        return FlameSequence(
            params=self.params[rows],
            fps=fps,
            timestamps=times,
            extras=extras,
            source=self.source,
            format=self.format,
            frame_keys=self.frame_keys,
            skipped=self.skipped,
        )

    @property
    def offsets(self) -> dict[str, np.ndarray]:
        """The per-vertex offsets among the extras (VHAP's ``static_offset``, ``dynamic_offset``), by the
        names :meth:`FlameModel.forward` takes: ``model.forward(seq.params, **seq.offsets)``."""
        return {k: self.extras[k] for k in OFFSET_KEYS if k in self.extras}

    # ------------------------------------------------------------------ time
    @property
    def times(self) -> np.ndarray | None:
        """Per-frame times in seconds: ``timestamps``, else ``i / fps``; ``None`` when neither is known."""
        if self.timestamps is not None:
            return self.timestamps
        if self.fps is not None:
            return np.arange(len(self)) / self.fps
        return None

    @property
    def duration(self) -> float | None:
        """Length in seconds: ``T / fps`` (each frame lasts 1/fps), else the timestamp span; ``None`` if unknown."""
        if self.fps is not None:
            return len(self) / self.fps
        if self.timestamps is not None:
            return float(self.timestamps[-1] - self.timestamps[0])
        return None

    def resample(self, fps: float, source_fps: float | None = None) -> FlameSequence:
        """The sequence on the grid ``t0 + i / fps`` (linear coefficients, slerped rotations).

        The source times are ``timestamps`` when present, else ``i / source_fps`` (or ``i / self.fps``);
        an unknown source rate is a :class:`FlameError`.
        """
        from .resample import resample_sequence

        return resample_sequence(self, fps, source_fps)

    def with_fps(self, fps: float | None) -> FlameSequence:
        """The same frames with another (or no) frame rate."""
        return self.replace(fps=fps)

    def replace(self, **changes: Any) -> FlameSequence:
        """A copy with some attributes replaced."""
        values: dict[str, Any] = {
            "params": self.params,
            "fps": self.fps,
            "timestamps": self.timestamps,
            "extras": self.extras,
            "source": self.source,
            "format": self.format,
            "frame_keys": self.frame_keys,
            "skipped": self.skipped,
        }
        values.update(changes)
        return FlameSequence(**values)

    # ------------------------------------------------------------------ comparison
    def allclose(self, other: FlameSequence, rtol: float = 0.0, atol: float = 0.0) -> bool:
        """Same frame count, params within tolerance, same fps, timestamps and extras."""
        if not isinstance(other, FlameSequence) or len(self) != len(other):
            return False
        if not self.params.allclose(other.params, rtol=rtol, atol=atol):
            return False
        if (self.fps is None) != (other.fps is None) or (self.fps is not None and self.fps != other.fps):
            return False
        mine, theirs = self.timestamps, other.timestamps
        if (mine is None) != (theirs is None):
            return False
        if mine is not None and theirs is not None and not np.allclose(mine, theirs, rtol=rtol, atol=atol):
            return False
        if set(self.extras) != set(other.extras):
            return False
        return all(_same_array(self.extras[k], other.extras[k]) for k in self.extras)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FlameSequence):
            return NotImplemented
        return self.allclose(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fps = "unknown" if self.fps is None else f"{self.fps:g}"
        extras = f", extras={sorted(self.extras)}" if self.extras else ""
        return f"FlameSequence({len(self)} frames, fps={fps}, format={self.format!r}{extras})"


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))
