"""Placing new objects the way Blender's own operators do: linked beside the head, selected and active."""

from __future__ import annotations

from typing import Any


def link_into(context: Any, obj: Any, collections: Any) -> None:
    """Link ``obj`` into each of ``collections`` that can take it; into the scene's own collection when none
    can (no collection, or only ones linked from a library)."""
    for collection in collections:
        if collection is None or not getattr(collection, "is_editable", collection.library is None):
            continue
        try:
            collection.objects.link(obj)
        except RuntimeError:  # e.g. a library override that does not take new objects
            continue
    if not obj.users_collection:
        context.scene.collection.objects.link(obj)


def link_beside(context: Any, obj: Any, head: Any) -> None:
    """Link ``obj`` into the collections of ``head`` (see :func:`link_into`)."""
    link_into(context, obj, head.users_collection)


def select_only(context: Any, obj: Any) -> None:
    """Deselect everything else and make ``obj`` selected and active (when it is in the view layer)."""
    for other in context.selected_objects:
        other.select_set(False)
    try:
        obj.select_set(True)
    except RuntimeError:  # not in the view layer (e.g. only in an excluded collection)
        return
    context.view_layer.objects.active = obj
