"""Every bulk transfer between Blender data and numpy arrays: parameters, positions and point attributes.

Reading and writing mirror each other (``read_X`` / ``write_X``) and move whole arrays at once
(``foreach_get`` / ``foreach_set``), never one value at a time. Positions cross here in FLAME's axes on the
numpy side and in Blender's on the Blender side (``flame_core.axes``). Attributes are checked for their
type and domain before anything is read or written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import bpy
import numpy as np

from ..flame_core import FIELDS, FlameError, FlameParams
from ..flame_core.axes import from_blender_axes, to_blender_axes
from ..flame_core.params import FIELD_BY_NAME

COEFFICIENT_FIELDS = tuple(f for f in FIELDS if f.kind == "coefficients")
VECTOR_FIELDS = tuple(f for f in FIELDS if f.kind != "coefficients")

#: numpy dtype and ``foreach`` key of each attribute data type handled here, with its values per element.
ATTRIBUTE_TYPES: dict[str, tuple[type, str, int]] = {
    "FLOAT": (np.float32, "value", 1),
    "INT": (np.int32, "value", 1),
    "FLOAT_VECTOR": (np.float32, "vector", 3),
    "FLOAT2": (np.float32, "vector", 2),
    "BOOLEAN": (np.bool_, "value", 1),
}

#: Blender's largest array dimension.
MAX_ARRAY_DIMENSION = 32

_writing: set[int] = set()


# ---------------------------------------------------------------------------------------------- parameters
def values_name(field_name: str) -> str:
    """The array property holding a coefficient field's values (``"shape"`` -> ``"shape_values"``)."""
    return f"{field_name}_values"


def array_dimensions(size: int) -> tuple[int, ...]:
    """Blender's shape of an array of ``size`` elements: one dimension up to 32, else rows of at most 32
    (F-Curves, drivers and ``foreach_get``/``foreach_set`` use the flat index either way)."""
    if size <= MAX_ARRAY_DIMENSION:
        return (size,)
    columns = next(c for c in range(MAX_ARRAY_DIMENSION, 0, -1) if size % c == 0)
    if size // columns > MAX_ARRAY_DIMENSION:
        raise ValueError(f"{size} values do not fit a two-dimensional Blender array")
    return (size // columns, columns)


def read_coefficients(settings: Any, name: str) -> np.ndarray:
    """All values of a coefficient field's array (the field's full size, float32), exposed or not."""
    values = np.empty(FIELD_BY_NAME[name].size, dtype=np.float32)
    getattr(settings, values_name(name)).foreach_get(values)
    return values


def write_coefficients(settings: Any, name: str, values: np.ndarray) -> None:
    """Set all values of a coefficient field's array (the mirror of :func:`read_coefficients`)."""
    getattr(settings, values_name(name)).foreach_set(np.ascontiguousarray(values, dtype=np.float32))


def _check_index(name: str, index: int) -> None:
    if not 0 <= index < FIELD_BY_NAME[name].size:
        raise IndexError(f"{name} has {FIELD_BY_NAME[name].size} values; no index {index}")


def get_coefficient(settings: Any, name: str, index: int) -> float:
    """One coefficient's value (component ``index`` of field ``name``)."""
    _check_index(name, index)
    return float(read_coefficients(settings, name)[index])


def set_coefficient(settings: Any, name: str, index: int, value: float) -> None:
    """Set one coefficient (its update callback evaluates the head, as a slider would)."""
    _check_index(name, index)
    dims = array_dimensions(FIELD_BY_NAME[name].size)
    values = getattr(settings, values_name(name))
    if len(dims) == 2:  # a row of a two-dimensional array, then the element in it
        values, index = values[index // dims[1]], index % dims[1]
    values[index] = value


def read_fields(settings: Any) -> dict[str, np.ndarray]:
    """A head's parameter values (``obj.flame``) by field name, float32 (the exposed coefficients only)."""
    fields: dict[str, np.ndarray] = {}
    for field in COEFFICIENT_FIELDS:
        fields[field.name] = read_coefficients(settings, field.name)[: len(getattr(settings, field.name))]
    for field in VECTOR_FIELDS:
        fields[field.name] = np.array(getattr(settings, field.name), dtype=np.float32)
    return fields


def write_fields(settings: Any, fields: dict[str, np.ndarray]) -> None:
    """Set a head's parameter values from arrays by field name (the mirror of :func:`read_fields`).

    Coefficient arrays are cut or zero-padded to the exposed count. Does not evaluate (the update
    callbacks are held back while writing).
    """
    with writing(settings.id_data):
        for field in FIELDS:
            if field.name not in fields:
                continue
            have = np.asarray(fields[field.name], dtype=np.float32).reshape(-1)
            if field.kind == "coefficients":
                values = np.zeros(field.size, dtype=np.float32)
                n = min(len(getattr(settings, field.name)), len(have))
                values[:n] = have[:n]
                write_coefficients(settings, field.name, values)
            else:
                values = np.zeros(field.size, dtype=np.float64)
                values[: min(field.size, len(have))] = have[: field.size]
                setattr(settings, field.name, values.tolist())


def read_params(settings: Any) -> FlameParams:
    """A head's parameters (``obj.flame``) as :class:`FlameParams`."""
    return FlameParams(**read_fields(settings))


def write_params(settings: Any, params: FlameParams, names: tuple[str, ...] | None = None) -> None:
    """Set a head's properties from ``params``; ``names`` limits the fields (missing values are zero)."""
    fields = {}
    for field in FIELDS:
        if names is not None and field.name not in names:
            continue
        value = getattr(params, field.name)
        fields[field.name] = np.zeros(0) if value is None else np.asarray(value).reshape(-1, value.shape[-1])[0]
    write_fields(settings, fields)


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


# ---------------------------------------------------------------------------------------------- attributes
def _checked(data: Any, name: str, data_type: str, domain: str = "POINT") -> Any:
    attr = data.attributes.get(name)
    if attr is None:
        raise FlameError(f"{data.name!r} has no {name!r} attribute")
    if attr.data_type != data_type or attr.domain != domain:
        raise FlameError(f"{data.name!r}: attribute {name!r} is {attr.data_type} on {attr.domain}; "
                         f"expected {data_type} on {domain}")
    return attr


def read_attribute(data: Any, name: str, data_type: str, domain: str = "POINT") -> np.ndarray:
    """An attribute's values: (n,) or (n, k) in the type's numpy dtype (raises FlameError when it does not fit)."""
    dtype, key, width = ATTRIBUTE_TYPES[data_type]
    attr = _checked(data, name, data_type, domain)
    out: np.ndarray = np.empty(len(attr.data) * width, dtype=dtype)
    attr.data.foreach_get(key, out)
    return out.reshape(-1, width) if width > 1 else out


def write_attribute(data: Any, name: str, data_type: str, values: np.ndarray, domain: str = "POINT") -> Any:
    """Set (creating or retyping) an attribute from (n,) or (n, k) values; returns the attribute."""
    dtype, key, width = ATTRIBUTE_TYPES[data_type]
    attr = data.attributes.get(name)
    if attr is not None and (attr.data_type != data_type or attr.domain != domain):
        data.attributes.remove(attr)
        attr = None
    if attr is None:
        attr = data.attributes.new(name, data_type, domain)
    flat: np.ndarray = np.ascontiguousarray(values, dtype=dtype).reshape(-1)
    if len(flat) != len(attr.data) * width:
        raise FlameError(f"{data.name!r}: {len(flat) // width} values for attribute {name!r} of "
                         f"{len(attr.data)} elements")
    attr.data.foreach_set(key, flat)
    return attr


# ---------------------------------------------------------------------------------------------- positions
def read_positions(data: Any) -> np.ndarray:
    """A mesh's or point cloud's positions (n, 3) float64 in FLAME axes (object space)."""
    return np.asarray(from_blender_axes(read_local_positions(data)), dtype=np.float64)


def read_local_positions(data: Any) -> np.ndarray:
    """A mesh's or point cloud's positions (n, 3) float64 in its object space (Blender axes)."""
    return read_attribute(data, "position", "FLOAT_VECTOR").astype(np.float64)


def write_positions(data: Any, vertices: np.ndarray) -> None:
    """Set a mesh's or point cloud's positions from FLAME-axes points (n, 3), then tag it for update."""
    write_local_positions(data, to_blender_axes(vertices))


def write_local_positions(data: Any, positions: np.ndarray) -> None:
    """Set positions (n, 3) given in the data's object space (Blender axes), then tag it for update."""
    write_attribute(data, "position", "FLOAT_VECTOR", positions)
    if hasattr(data, "vertices"):
        data.update()
    else:
        data.update_tag()


# ---------------------------------------------------------------------------------------------- meshes
def write_mesh(mesh: Any, vertices: np.ndarray, faces: np.ndarray, uv_coords: np.ndarray | None = None,
               uv_faces: np.ndarray | None = None, uv_name: str = "UVMap") -> None:
    """Fill an empty mesh (or replace its geometry) with FLAME-axes ``vertices`` (V, 3) and triangles ``faces``
    (F, 3), smooth shaded, with a UV map when ``uv_coords``/``uv_faces`` are given.

    Raises FlameError when the faces do not form a valid mesh (the mesh is left empty then).
    """
    if len(mesh.vertices):
        mesh.clear_geometry()
    faces = np.asarray(faces)
    n_faces = len(faces)
    mesh.vertices.add(len(vertices))
    mesh.loops.add(3 * n_faces)
    mesh.polygons.add(n_faces)
    mesh.vertices.foreach_set("co", np.ascontiguousarray(to_blender_axes(vertices), dtype=np.float32).reshape(-1))
    mesh.loops.foreach_set("vertex_index", np.ascontiguousarray(faces, dtype=np.int32).reshape(-1))
    mesh.polygons.foreach_set("loop_start", np.arange(0, 3 * n_faces, 3, dtype=np.int32))
    loop_total = bpy.types.MeshPolygon.bl_rna.properties.get("loop_total")  # settable before 4.x only
    if loop_total is not None and not loop_total.is_readonly:
        mesh.polygons.foreach_set("loop_total", np.full(n_faces, 3, dtype=np.int32))
    mesh.update(calc_edges=True)
    if mesh.validate(verbose=False):
        mesh.clear_geometry()
        raise FlameError(f"the faces do not form a valid mesh ({len(vertices)} vertices, {n_faces} faces)")
    mesh.polygons.foreach_set("use_smooth", np.ones(n_faces, dtype=bool))
    if uv_coords is not None and uv_faces is not None:
        layer = mesh.uv_layers.get(uv_name) or mesh.uv_layers.new(name=uv_name)
        if layer is None:
            raise FlameError("Blender refused to add a UV map")
        uv = np.ascontiguousarray(np.asarray(uv_coords)[np.asarray(uv_faces)], dtype=np.float32)
        layer.data.foreach_set("uv", uv.reshape(-1))
    mesh.update()

