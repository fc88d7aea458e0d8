"""The FLAME parameter layout and :class:`FlameParams`, its one definition.

Every other module (the model, the sequence readers, the Blender properties) derives names, sizes
and joint order from the tables here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .errors import ParamsError

#: Joints in kinematic order; their parents are :data:`PARENTS`.
JOINT_NAMES: tuple[str, ...] = ("global", "neck", "jaw", "left_eye", "right_eye")
#: Parent of each joint (-1: the root).
PARENTS: tuple[int, ...] = (-1, 0, 1, 1, 1)
N_JOINTS = len(JOINT_NAMES)
#: Coefficient counts of the full FLAME model.
N_SHAPE = 300
N_EXPRESSION = 100
#: 3x3 rotation matrix entries of every non-root joint: the pose-corrective features.
N_POSE_FEATURES = 9 * (N_JOINTS - 1)

#: ``coefficients``: blend-shape coefficients of any length up to the size (zero-padded);
#: ``rotation``: axis-angle rotations of joints; ``vector``: a translation (metres);
#: ``weights``: a fixed number of blend-shape weights (unitless).
FieldKind = Literal["coefficients", "rotation", "vector", "weights"]

#: Largest magnitude a parameter value may have, by field kind. Anything beyond is refused as
#: absurd (a corrupt or hostile file) before it reaches the model, where it would give NaN or
#: infinite vertices: coefficients are in standard deviations of the model's PCA (real values stay
#: within about +-10); rotations are axis-angles in radians (a few turns at most); translations are
#: in metres (100 km); weights (eyelids) are blend-shape weights like coefficients.
LIMITS: dict[str, float] = {"coefficients": 1e3, "rotation": 1e3, "vector": 1e5, "weights": 1e3}


@dataclass(frozen=True)
class Field:
    """One parameter group: its name, its full size and what it drives."""

    name: str
    size: int
    kind: FieldKind
    joints: tuple[int, ...] = ()
    description: str = ""


#: The parameter groups, in the order they are stored and shown.
FIELDS: tuple[Field, ...] = (
    Field("shape", N_SHAPE, "coefficients", description="identity blend-shape coefficients"),
    Field("expression", N_EXPRESSION, "coefficients", description="expression blend-shape coefficients"),
    Field("rotation", 3, "rotation", (0,), "global head rotation (axis-angle, radians)"),
    Field("neck", 3, "rotation", (1,), "neck rotation (axis-angle, radians)"),
    Field("jaw", 3, "rotation", (2,), "jaw rotation (axis-angle, radians)"),
    Field("eyes", 6, "rotation", (3, 4), "left then right eye rotation (axis-angle, radians)"),
    Field("translation", 3, "vector", description="translation added to every vertex (metres)"),
    Field("eyelids", 2, "weights", description="left then right eyelid blend-shape weights (1: closed)"),
)
FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
FIELD_NAMES: tuple[str, ...] = tuple(FIELD_BY_NAME)
#: The rotation fields in joint order; concatenated they form the 15-value pose vector.
POSE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == "rotation")
N_POSE = 3 * N_JOINTS


@dataclass(frozen=True, eq=False)
class FlameParams:
    """FLAME parameters for one frame or a batch of frames.

    Each field is an array whose last axis is the field's values and whose leading axes (if any)
    are batch axes; a frame sequence of length T is one ``FlameParams`` with leading axis T. A
    field without batch axes applies to every frame (typically ``shape``). ``None`` means zero.
    Coefficient fields may be shorter than the full model (zero-padded when used).

    Raises :class:`ParamsError` (a ``ValueError``) for too many values, non-finite values, values
    beyond :data:`LIMITS` or batch axes that do not agree.
    """

    shape: np.ndarray | None = None
    expression: np.ndarray | None = None
    rotation: np.ndarray | None = None
    neck: np.ndarray | None = None
    jaw: np.ndarray | None = None
    eyes: np.ndarray | None = None
    translation: np.ndarray | None = None
    eyelids: np.ndarray | None = None

    def __post_init__(self) -> None:
        batch: tuple[int, ...] = ()
        for field in FIELDS:
            value = getattr(self, field.name)
            if value is None:
                continue
            array = _as_field_array(field, value)
            object.__setattr__(self, field.name, array)
            lead = array.shape[:-1]
            if lead and batch and lead != batch:
                raise ParamsError(
                    f"parameter {field.name!r} has batch axes {lead}, other parameters have {batch}"
                )
            batch = lead or batch
        object.__setattr__(self, "_batch_shape", batch)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pose(cls, pose: Any, **fields: Any) -> FlameParams:
        """Build from a (..., 15) pose vector (global, neck, jaw, left eye, right eye) and other fields."""
        pose = np.asarray(pose, dtype=np.float64)
        if pose.shape[-1:] != (N_POSE,):
            raise ParamsError(f"pose must have {N_POSE} values in its last axis, got shape {pose.shape}")
        offset = 0
        for name in POSE_FIELDS:
            size = FIELD_BY_NAME[name].size
            fields[name] = pose[..., offset : offset + size]
            offset += size
        return cls(**fields)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> FlameParams:
        """Build from a mapping of field names (unknown names are an error)."""
        unknown = sorted(set(values) - set(FIELD_NAMES))
        if unknown:
            raise ParamsError(f"unknown parameter names {unknown}; known: {list(FIELD_NAMES)}")
        return cls(**{k: v for k, v in values.items() if v is not None})

    @classmethod
    def stack(cls, frames: Iterable[FlameParams]) -> FlameParams:
        """Stack unbatched params into one batch with a leading frame axis."""
        frames = list(frames)
        if not frames:
            raise ParamsError("cannot stack an empty list of parameters")
        fields: dict[str, np.ndarray] = {}
        for field in FIELDS:
            values = [getattr(p, field.name) for p in frames]
            if all(v is None for v in values):
                continue
            width = max(v.shape[-1] for v in values if v is not None)
            rows = [p.values(field.name, width) for p in frames]
            fields[field.name] = np.stack(rows)
        return cls(**fields)

    # ------------------------------------------------------------------ access
    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The leading batch axes shared by the batched fields (``()`` for a single frame)."""
        return self._batch_shape  # type: ignore[attr-defined,no-any-return]

    def __len__(self) -> int:
        if not self.batch_shape:
            raise TypeError("unbatched FlameParams has no len()")
        return self.batch_shape[0]

    def values(self, name: str, size: int | None = None, *, broadcast: bool = False) -> np.ndarray:
        """One field as a float64 array of ``size`` values (zero-padded; zeros when unset).

        Coefficients beyond ``size`` must be zero, else :class:`ParamsError`. With ``broadcast``
        the result has the full batch shape even when the field itself has none.
        """
        field = FIELD_BY_NAME[name]
        size = field.size if size is None else size
        value = getattr(self, name)
        lead = self.batch_shape if broadcast or value is None else value.shape[:-1]
        if value is None:
            return np.zeros(lead + (size,))
        have = value.shape[-1]
        if have > size:
            if np.any(value[..., size:]):
                raise ParamsError(
                    f"{name!r} has {have} values, non-zero beyond the {size} this model uses "
                    f"(load the model with more components)"
                )
            value = value[..., :size]
        elif have < size:
            value = np.concatenate([value, np.zeros(value.shape[:-1] + (size - have,))], axis=-1)
        return np.broadcast_to(value, lead + (size,)) if broadcast and value.shape[:-1] != lead else value

    @property
    def pose(self) -> np.ndarray:
        """The (..., 15) pose vector: global, neck, jaw, left eye, right eye axis-angles."""
        return np.concatenate([self.values(n, broadcast=True) for n in POSE_FIELDS], axis=-1)

    def __getitem__(self, index: Any) -> FlameParams:
        """Index the batch axes; fields without batch axes are kept as they are."""
        if not self.batch_shape:
            raise TypeError("unbatched FlameParams cannot be indexed")
        fields = {}
        for field in FIELDS:
            value = getattr(self, field.name)
            if value is not None:
                fields[field.name] = value if value.ndim == 1 else value[index]
        return FlameParams(**fields)

    def replace(self, **fields: Any) -> FlameParams:
        """A copy with some fields replaced."""
        current = {f.name: getattr(self, f.name) for f in FIELDS}
        current.update(fields)
        return FlameParams.from_dict(current)

    def to_dict(self) -> dict[str, np.ndarray]:
        """The fields that are set, by name."""
        return {f.name: getattr(self, f.name) for f in FIELDS if getattr(self, f.name) is not None}

    def allclose(self, other: FlameParams, rtol: float = 0.0, atol: float = 0.0) -> bool:
        """True when every field (unset = zeros, padded to the longer) agrees within tolerance."""
        if self.batch_shape != other.batch_shape:
            return False
        for field in FIELDS:
            a, b = getattr(self, field.name), getattr(other, field.name)
            if a is None and b is None:
                continue
            width = max(x.shape[-1] for x in (a, b) if x is not None)
            va = self.values(field.name, width, broadcast=True)
            vb = other.values(field.name, width, broadcast=True)
            if not np.allclose(va, vb, rtol=rtol, atol=atol):
                return False
        return True

    def __repr__(self) -> str:
        parts = [f"{k}={v.shape}" for k, v in self.to_dict().items()]
        return f"FlameParams(batch={self.batch_shape}, {', '.join(parts)})"


def _as_field_array(field: Field, value: Any) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParamsError(f"parameter {field.name!r} is not numeric: {exc}") from None
    if array.ndim == 0:
        raise ParamsError(f"parameter {field.name!r} must be an array of up to {field.size} values, got a scalar")
    size = array.shape[-1]
    if field.kind == "coefficients":
        if size > field.size:
            raise ParamsError(f"parameter {field.name!r} has {size} values, at most {field.size} allowed")
    elif size != field.size:
        raise ParamsError(f"parameter {field.name!r} must have {field.size} values, got {size}")
    limit = LIMITS[field.kind]
    # One pass: the largest magnitude is NaN or inf exactly when a value is, and fails the comparison then.
    largest = float(np.abs(array).max()) if array.size else 0.0
    if not largest <= limit:
        if not np.all(np.isfinite(array)):
            raise ParamsError(f"parameter {field.name!r} contains non-finite values (NaN or inf)")
        raise ParamsError(f"parameter {field.name!r} has a value of magnitude {largest:g}, beyond the {limit:g} "
                          f"allowed for {field.kind}")
    array.setflags(write=False)
    return array
