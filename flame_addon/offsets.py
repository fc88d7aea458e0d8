"""A head's static per-vertex offset (VHAP / GaussianAvatars ``static_offset``), kept on its mesh.

Stored as the float-vector point attribute ``flame_static_offset`` in FLAME's axes (metres), one value
per vertex of the head's mesh, so it is saved with the .blend file and undone with the mesh. The
evaluation adds it to the shaped head before posing (see ``FlameModel.forward``). Per-frame
(dynamic) offsets are not kept in Blender.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import bridge

ATTRIBUTE = "flame_static_offset"


def read(obj: Any) -> np.ndarray | None:
    """The head's static offset (V, 3) float32, or None when it has none."""
    mesh = obj.data
    attr = mesh.attributes.get(ATTRIBUTE) if mesh is not None else None
    if attr is None or attr.domain != "POINT" or attr.data_type != "FLOAT_VECTOR":
        return None
    return bridge.read_attribute(mesh, ATTRIBUTE, "FLOAT_VECTOR")


def write(obj: Any, offset: np.ndarray | None) -> None:
    """Store ``offset`` (V, 3) on the head's mesh (V = its vertex count), or remove it with None."""
    mesh = obj.data
    attr = mesh.attributes.get(ATTRIBUTE)
    if attr is not None:
        mesh.attributes.remove(attr)
    if offset is None:
        return
    bridge.write_attribute(mesh, ATTRIBUTE, "FLOAT_VECTOR", offset)


def forward_options(obj: Any) -> dict[str, np.ndarray]:
    """The ``FlameModel.forward`` keywords of the head's offsets (empty when it has none)."""
    offset = read(obj)
    return {} if offset is None else {"static_offset": offset}


def fit(offset: np.ndarray, n_vertices: int) -> tuple[np.ndarray, str]:
    """A file's static offset (V', 3) fitted to a mesh of ``n_vertices``, and a note when it was cut or padded."""
    have = offset.shape[0]
    if have == n_vertices:
        return offset, ""
    if have > n_vertices:
        return offset[:n_vertices], (
            f"the static offset has {have} vertices, the head {n_vertices}: the extra ones (teeth) are left out "
            "(enable Teeth in the add-on's preferences for a head with VHAP's teeth)"
        )
    padded = np.zeros((n_vertices, 3), dtype=offset.dtype)
    padded[:have] = offset
    return padded, f"the static offset has {have} vertices, the head {n_vertices}: the others get none"
