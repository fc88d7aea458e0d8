"""FLAME Head: a Blender extension for the FLAME parametric head model (see flame_addon).

``register``/``unregister`` import the add-on only when Blender calls them, so this folder can be
imported (by test runners, linters) where bpy is not installed.
"""


def register() -> None:
    from .flame_addon import register as register_addon

    register_addon()


def unregister() -> None:
    from .flame_addon import unregister as unregister_addon

    unregister_addon()


__all__ = ["register", "unregister"]
