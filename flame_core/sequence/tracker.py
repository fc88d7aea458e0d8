"""flame-head-tracker results: a folder of per-frame ``{frame}.npz`` (``0.npz``, ``1.npz``, ... in numeric order).

Each file holds ``shape`` (1, 300), ``exp`` (1, 100), ``head_pose`` (1, 3) (the global rotation),
``jaw_pose`` (1, 3), optionally ``neck_pose`` (1, 3), ``eye_pose`` (1, 6) and the camera ``cam`` (1, 6:
yaw, pitch, roll, x, y, z), ``fov``, ``K``, ``tex``, ``light`` (extras), plus rendered images (skipped).
Older versions stored DECA-style ``pose`` (head + jaw) instead: those read as the DECA/EMOCA layout.
"""

from __future__ import annotations

from ._format import Format

FORMAT = Format(
    name="flame-head-tracker",
    label="flame-head-tracker",
    keys={
        "shape": ("shape",),
        "exp": ("expression",),
        "head_pose": ("rotation",),
        "neck_pose": ("neck",),
        "jaw_pose": ("jaw",),
        "eye_pose": ("eyes",),
    },
    signatures=(frozenset({"exp", "head_pose"}),),
    static=frozenset({"tex", "light"}),
)
