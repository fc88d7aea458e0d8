"""The Blender side of the FLAME Head extension: properties, operators, panels, handlers, preferences.

Imported as ``bl_ext.<repo>.flame_head.flame_addon``; the numpy core is the sibling package
``flame_core``. Nothing here touches ``sys.path``; files the add-on writes go to the extension's
user folder (``preferences.user_folder``) or to paths the user picks. Each module registers its own
classes, menus, followers and handlers; this package only hands off to them, in order.
"""

from __future__ import annotations

from . import evaluate, followers, handlers, models, operators, preferences, properties, rig, ui, versioning

#: Modules registered in this order (and unregistered in reverse).
MODULES = (preferences, properties, rig, operators, ui, versioning, handlers)


def register() -> None:
    for module in MODULES:
        module.register()


def unregister() -> None:
    for module in reversed(MODULES):
        module.unregister()
    models.clear_cache()
    evaluate.forget()
    followers.clear()
