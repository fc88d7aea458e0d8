"""Persistent application handlers that keep head meshes in step with their (animated) properties.

- ``frame_change_post``: the animation system writes keyframed values without calling update
  callbacks, so after every frame change each head whose parameters changed since its last
  evaluation is re-evaluated (playback: nothing else runs).
- ``depsgraph_update_post``: drivers, constraints, a parameter source (e.g. an armature) or leaving Edit or
  Sculpt Mode change what a head shows without a property update; the heads the update concerns are
  evaluated when their parameters differ from their last evaluation (see ``evaluate.evaluate_updates``).
  The head's own mesh write is reported as an update too and stops at that comparison.

Both read values from the depsgraph's evaluated object, which is also right for final renders and
``blender -b`` runs; for renders from the UI enable ``RenderSettings.use_lock_interface`` so the
interface cannot edit heads while a frame renders.
- ``load_post``: after a .blend is opened every head is evaluated again (meshes are saved, but the
  model file may have changed, and the runtime state starts empty; model files that failed to load
  are tried again).
- ``undo_post``/``redo_post``: undo restores meshes with their properties; the stored signatures
  are dropped so the next change re-evaluates.

No handler raises: model errors are stored per head and printed once (see ``evaluate``).
"""

from __future__ import annotations

from typing import Any

import bpy
from bpy.app.handlers import persistent

from . import evaluate, models


@persistent
def on_frame_change(scene: Any, depsgraph: Any = None, *_: Any) -> None:
    evaluate.evaluate_all(scene.objects, depsgraph=depsgraph)


_in_update: list[bool] = []


@persistent
def on_depsgraph_update(scene: Any, depsgraph: Any = None, *_: Any) -> None:
    if depsgraph is None or _in_update:  # no re-entry from the writes made here
        return
    _in_update.append(True)
    try:
        evaluate.evaluate_updates(scene, depsgraph)
    finally:
        _in_update.clear()


@persistent
def on_load(*_: Any) -> None:
    evaluate.forget()
    models.forget_failures()
    evaluate.evaluate_all(bpy.data.objects, force=True)


@persistent
def on_undo(*_: Any) -> None:
    evaluate.forget()


HANDLERS = (
    ("frame_change_post", on_frame_change),
    ("depsgraph_update_post", on_depsgraph_update),
    ("load_post", on_load),
    ("undo_post", on_undo),
    ("redo_post", on_undo),
)


def register() -> None:
    for name, function in HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        if function not in handlers:
            handlers.append(function)


def unregister() -> None:
    for name, function in HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        while function in handlers:
            handlers.remove(function)
