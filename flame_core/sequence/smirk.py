"""SMIRK encoder outputs, one dict per frame or stacked.

``shape_params`` (300), ``expression_params`` (50), ``pose_params`` (3, the global rotation),
``jaw_params`` (3), ``eyelid_params`` (2, the eyelid blend-shape weights); ``cam`` (3) becomes an extra.
Trackers built on SMIRK also write ``neck_pose_params`` (3) and ``eye_pose_params`` (6), which are read when present.
"""

from __future__ import annotations

from ._format import Format

FORMAT = Format(
    name="smirk",
    label="SMIRK",
    keys={
        "shape_params": ("shape",),
        "expression_params": ("expression",),
        "pose_params": ("rotation",),
        "neck_pose_params": ("neck",),
        "jaw_params": ("jaw",),
        "eye_pose_params": ("eyes",),
        "eyelid_params": ("eyelids",),
    },
    signatures=(frozenset({"expression_params"}), frozenset({"shape_params", "pose_params"})),
)
