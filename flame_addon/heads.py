"""Which objects are heads, and which model a head uses.

A head is a mesh object made by ``flame.add_head`` (``obj.flame.is_head``). Its model file is
``obj.flame.model_path``; empty means the preferences' file, and when that is empty too, the built-in demo head
(see :mod:`models`). Every lookup of a head's model goes through :func:`model_for` / :func:`full_model`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any

from ..flame_core import FlameModel
from ..flame_core.mesh import check_vertex_count
from . import models
from .preferences import get_preferences


def is_head(obj: Any) -> bool:
    """True for a mesh object made by ``flame.add_head``."""
    return obj is not None and getattr(obj, "type", None) == "MESH" and bool(obj.flame.is_head)


def heads_in(objects: Iterable[Any]) -> Iterator[Any]:
    """The heads among ``objects``."""
    for obj in objects:
        if obj.type == "MESH" and obj.flame.is_head:
            yield obj


def active_head(context: Any) -> Any | None:
    """The active object when it is a head, else None."""
    obj = getattr(context, "active_object", None)
    return obj if is_head(obj) else None


def head_of(obj: Any) -> Any | None:
    """The head an object belongs to: itself when it is a head, else its parent head (followers)."""
    if is_head(obj):
        return obj
    parent = getattr(obj, "parent", None)
    return parent if is_head(parent) else None


def is_editable(id_data: Any) -> bool:
    """False for data linked from a library or a system override (its properties cannot change)."""
    return bool(getattr(id_data, "is_editable", id_data.library is None))


def is_linked(obj: Any) -> bool:
    """True for a head linked from a library without an override (read-only)."""
    return obj.library is not None


def is_override(obj: Any) -> bool:
    """True for a library override of a head."""
    return getattr(obj, "override_library", None) is not None


def shared_mesh_heads(obj: Any) -> list[Any]:
    """The other heads using this head's mesh (linked duplicates): they all show the last one evaluated."""
    mesh = obj.data
    if mesh is None or mesh.users < 2:
        return []
    import bpy  # deferred: keeps this module importable for type checks

    return [o for o in bpy.data.objects if o.data == mesh and o != obj and is_head(o)]


def model_path(obj: Any) -> str:
    """The absolute model file of a head ('' for the demo head)."""
    return models.resolve_path(obj.flame.model_path, get_preferences())


def full_model(obj: Any) -> FlameModel:
    """The head's model with every component its file holds (raises FlameError / OSError)."""
    return models.get_model(model_path(obj), None, None, get_preferences())


def model_for(obj: Any) -> FlameModel:
    """The head's model (from the cache), truncated to its exposed component counts."""
    settings = obj.flame
    return models.get_model(model_path(obj), len(settings.shape), len(settings.expression), get_preferences())


def checked_model(obj: Any) -> FlameModel:
    """The head's model, checked against its mesh (raises MeshMismatchError, FlameError or OSError)."""
    model = model_for(obj)
    check_vertex_count(obj.name, model.n_vertices, len(obj.data.vertices))
    return model


def make_mesh_local(obj: Any) -> bool:
    """Give a library-overridden head a local copy of its linked mesh, once; True when it did.

    A library override keeps the mesh linked (read-only), so the head could not deform: its mesh is made
    local (the override's ``data`` points at the copy, which is saved with the file).
    """
    mesh = obj.data
    if not is_override(obj) or not is_editable(obj) or mesh is None or is_editable(mesh):
        return False
    local = mesh.copy()
    local.name = mesh.name
    obj.data = local
    print(f"FLAME Head: {obj.name}: the linked mesh {mesh.name!r} was made local so the override can be posed",
          file=sys.stderr)
    return True
