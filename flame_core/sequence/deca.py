"""DECA and EMOCA codes: ``shape`` (100), ``exp`` (50), ``pose`` (6 = global rotation + jaw), ``cam`` (3).

As a dict per frame (``deca.encode`` output, also spelled ``shapecode``/``expcode``/``posecode``), stacked
(T, ...) arrays in one npz, or EMOCA's ``save_codes`` folders (one sub-folder per frame with
``shape.npy``, ``exp.npy``, ``pose.npy``, ``tex.npy``, ``detail.npy``). ``cam``, ``tex``, ``light``,
``detail`` become extras. Older flame-head-tracker results (``pose`` + ``eye_pose``) read here too.
"""

from __future__ import annotations

from ._format import Format

FORMAT = Format(
    name="deca",
    label="DECA/EMOCA",
    keys={
        "shape": ("shape",),
        "exp": ("expression",),
        "pose": ("rotation", "jaw"),
        "eye_pose": ("eyes",),
    },
    aliases={"shapecode": "shape", "expcode": "exp", "posecode": "pose"},
    signatures=(frozenset({"exp", "pose"}),),
    static=frozenset({"tex", "light"}),
)
