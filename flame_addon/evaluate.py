"""The bridge between a head object and the model: properties -> parameters -> mesh positions.

Axes: FLAME is Y-up with the face looking along +Z; Blender is Z-up and its front view looks
along +Y at the -Y side. :func:`to_blender_axes` maps FLAME (x, y, z) to Blender (x, -z, y) (a
+90 degree turn about X), so a head stands upright facing -Y. Every conversion of FLAME positions
or directions into Blender goes through it (and back through :func:`from_blender_axes`). The
parameters themselves (rotations, translation) stay in FLAME's axes, as in parameter files.

Evaluation state kept here is runtime only (never saved): the parameter signature each head was
last evaluated with, the last error per head for the panels, and the heads whose properties are
being written in bulk (their update callbacks wait for the caller's own evaluation).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..flame_core import FIELDS, FlameError, FlameModel, FlameParams
from . import followers, models, offsets, rig
from .preferences import get_preferences

#: FLAME (x, y, z) -> Blender (x, -z, y) as a matrix acting on column vectors.
FLAME_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

COEFFICIENT_FIELDS = tuple(f for f in FIELDS if f.kind == "coefficients")
VECTOR_FIELDS = tuple(f for f in FIELDS if f.kind != "coefficients")

_signatures: dict[int, bytes] = {}
_errors: dict[int, str] = {}
_reported: set[tuple[int, str]] = set()
_writing: set[int] = set()


def to_blender_axes(points: np.ndarray) -> np.ndarray:
    """FLAME positions or directions (..., 3) to Blender's axes: (x, y, z) -> (x, -z, y)."""
    points = np.asarray(points)
    out = np.empty(points.shape, dtype=np.result_type(points.dtype, np.float32))
    out[..., 0] = points[..., 0]
    out[..., 1] = -points[..., 2]
    out[..., 2] = points[..., 1]
    return out


def from_blender_axes(points: np.ndarray) -> np.ndarray:
    """Blender positions or directions (..., 3) to FLAME's axes: (x, y, z) -> (x, z, -y)."""
    points = np.asarray(points)
    out = np.empty(points.shape, dtype=np.result_type(points.dtype, np.float32))
    out[..., 0] = points[..., 0]
    out[..., 1] = points[..., 2]
    out[..., 2] = -points[..., 1]
    return out


def is_head(obj: Any) -> bool:
    """True for a mesh object made by ``flame.add_head``."""
    return obj is not None and obj.type == "MESH" and bool(obj.flame.is_head)


def active_head(context: Any) -> Any | None:
    """The active object when it is a head, else None."""
    obj = getattr(context, "active_object", None)
    return obj if is_head(obj) else None


def is_editable(obj: Any) -> bool:
    """False for an object linked from a library (its properties cannot be changed; overrides can)."""
    return bool(getattr(obj, "is_editable", obj.library is None))


def shared_mesh_heads(obj: Any) -> list[Any]:
    """The other heads using this head's mesh (linked duplicates): they all show the last one evaluated."""
    mesh = obj.data
    if mesh is None or mesh.users < 2:
        return []
    import bpy  # deferred: keeps this module importable for type checks

    return [o for o in bpy.data.objects if o.data == mesh and o != obj and is_head(o)]


def read_fields(settings: Any) -> dict[str, np.ndarray]:
    """The head's parameter values (``obj.flame``) by field name, float32 (bulk reads, no per-value loop)."""
    fields: dict[str, np.ndarray] = {}
    for field in COEFFICIENT_FIELDS:
        items = getattr(settings, field.name)
        values = np.empty(len(items), dtype=np.float32)
        items.foreach_get("value", values)
        fields[field.name] = values
    for field in VECTOR_FIELDS:
        fields[field.name] = np.array(getattr(settings, field.name), dtype=np.float32)
    return fields


def read_params(settings: Any) -> FlameParams:
    """The head's parameters (``obj.flame``) as :class:`FlameParams`."""
    return FlameParams(**read_fields(settings))


@contextmanager
def writing(obj: Any) -> Iterator[None]:
    """Within the block, property update callbacks of ``obj`` do not evaluate it (the caller does, once)."""
    key = obj.session_uid
    nested = key in _writing
    _writing.add(key)
    try:
        yield
    finally:
        if not nested:
            _writing.discard(key)


def is_writing(obj: Any) -> bool:
    """True while :func:`writing` holds back the update callbacks of ``obj``."""
    return obj.session_uid in _writing


def write_params(settings: Any, params: FlameParams, names: tuple[str, ...] | None = None) -> None:
    """Set the head's properties from ``params`` (bulk writes); ``names`` limits the fields.

    Coefficients beyond the exposed count are dropped; missing ones are zero. Does not evaluate (the
    update callbacks are held back while writing).
    """
    with writing(settings.id_data):
        _write_params(settings, params, names)


def _write_params(settings: Any, params: FlameParams, names: tuple[str, ...] | None) -> None:
    for field in FIELDS:
        if names is not None and field.name not in names:
            continue
        if field.kind == "coefficients":
            items = getattr(settings, field.name)
            have = getattr(params, field.name)
            values = np.zeros(len(items), dtype=np.float32)
            if have is not None:
                n = min(len(items), have.shape[-1])
                values[:n] = have[..., :n].reshape(-1)[:n]
            items.foreach_set("value", values)
        else:
            setattr(settings, field.name, params.values(field.name).astype(float).tolist())


def model_for(obj: Any) -> FlameModel:
    """The model a head uses (from the cache), truncated to its exposed component counts."""
    settings = obj.flame
    prefs = get_preferences()
    path = models.resolve_path(settings.model_path, prefs)
    return models.get_model(path, len(settings.shape), len(settings.expression), prefs)


def model_params(model: FlameModel, params: FlameParams) -> FlameParams:
    """``params`` cut to the components the model has (values past them, and eyelid weights on a model
    without eyelid shapes, are ignored; the panel says so)."""
    if params.eyelids is not None and not model.has_eyelids:
        params = params.replace(eyelids=None)
    if all(v is None or v.shape[-1] <= size for v, size in ((params.shape, model.n_shape),
                                                             (params.expression, model.n_expression))):
        return params
    fields = params.to_dict()
    for name, size in (("shape", model.n_shape), ("expression", model.n_expression)):
        if name in fields and fields[name].shape[-1] > size:
            fields[name] = fields[name][..., :size]
    return FlameParams(**fields)


def write_vertices(mesh: Any, vertices: np.ndarray) -> None:
    """Set a mesh's positions from FLAME-axes vertices (V, 3) in one bulk write."""
    co = np.ascontiguousarray(to_blender_axes(vertices), dtype=np.float32).reshape(-1)
    position = mesh.attributes.get("position")
    if position is not None and position.data_type == "FLOAT_VECTOR" and position.domain == "POINT":
        position.data.foreach_set("vector", co)  # a memcpy: far faster than vertices' "co"
    else:
        mesh.vertices.foreach_set("co", co)
    mesh.update()


def _signature(obj: Any, fields: dict[str, np.ndarray], settings: Any) -> bytes:
    parts = [fields[f.name].tobytes() for f in FIELDS]
    parts.append(f"{settings.model_path}|{obj.data.as_pointer()}|{len(obj.data.vertices)}".encode())
    if offsets.ATTRIBUTE in obj.data.attributes:
        parts.append(offsets.read(obj).tobytes())  # type: ignore[union-attr]
    return b"\0".join(parts)


def evaluate(obj: Any, *, force: bool = False, source: Any = None) -> bool:
    """Re-evaluate a head's mesh from its properties; returns False when nothing changed.

    ``source`` is the object whose properties are read (e.g. the depsgraph's evaluated copy during
    a render); the original ``obj``'s mesh is written. Raises ``FlameError`` or ``OSError`` when the
    model cannot be loaded or does not fit the mesh; the mesh is left as it was then.
    """
    settings = (source or obj).flame
    fields = read_fields(settings)
    rig_fields = rig.rig_pose(obj, source)  # a rigged head takes its pose from the rig's evaluated bones
    if rig_fields is not None:
        fields.update(rig_fields)
    key = obj.session_uid
    signature = _signature(obj, fields, settings)
    if not force and _signatures.get(key) == signature:
        return False
    params = FlameParams(**fields)
    model = model_for(obj)
    mesh = obj.data
    if len(mesh.vertices) != model.n_vertices:
        raise FlameError(
            f"the model has {model.n_vertices} vertices but the mesh of {obj.name!r} has {len(mesh.vertices)}; "
            "add a new head for this model"
        )
    if not is_editable(mesh):  # Blender ignores bulk writes into linked data
        raise FlameError(
            f"the mesh of {obj.name!r} is linked from a library and cannot change; make it local "
            "(Object > Relations > Make Local > Selected Objects and Data)"
        )
    used = model_params(model, params)
    output = model.forward(used, **offsets.forward_options(obj))
    write_vertices(mesh, output.vertices)
    _signatures[key] = signature
    _errors.pop(key, None)
    followers.update_followers(obj, model, used, output)
    return True


def safe_evaluate(obj: Any, *, force: bool = False, source: Any = None) -> bool:
    """:func:`evaluate` for handlers and update callbacks: errors are stored, printed once, never raised."""
    try:
        return evaluate(obj, force=force, source=source)
    except (FlameError, OSError) as exc:
        message = str(exc)
    except Exception as exc:  # a handler must never raise; the details go to the console
        message = f"internal error: {type(exc).__name__}: {exc}"
        traceback.print_exc()
    key = obj.session_uid
    _errors[key] = message
    _signatures.pop(key, None)
    if (key, message) not in _reported:
        _reported.add((key, message))
        print(f"FLAME Head: {obj.name}: {message}", file=sys.stderr)
    return False


def error(obj: Any) -> str | None:
    """The last evaluation error of a head (None when it evaluated fine)."""
    return _errors.get(obj.session_uid)


def forget(obj: Any | None = None) -> None:
    """Drop the stored evaluation state of one head (or of every head)."""
    if obj is None:
        _signatures.clear()
        _errors.clear()
        _reported.clear()
    else:
        _signatures.pop(obj.session_uid, None)
        _errors.pop(obj.session_uid, None)


def evaluate_all(objects: Any, *, force: bool = False, depsgraph: Any = None) -> int:
    """Re-evaluate every head among ``objects`` (reading animated values from ``depsgraph``); returns the count."""
    count = 0
    for obj in objects:
        if obj.type != "MESH" or not obj.flame.is_head:
            continue
        source = None
        if depsgraph is not None:
            try:
                source = obj.evaluated_get(depsgraph)
            except (RuntimeError, ReferenceError):  # not in this depsgraph: read the original
                source = None
        count += safe_evaluate(obj, force=force, source=source)
    return count
