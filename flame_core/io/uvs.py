"""UV layouts: ``head_template.obj`` or ``FLAME_texture.npz`` (``vt``, ``ft``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from ..model import FlameModel
from ..topology import MAX_UV_CONFLICTS, uvs_fit
from .layout import read_head
from .obj import read_obj_uvs


def _read(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    head = read_head(path, 4)
    if head.startswith(b"PK"):
        from .npz import open_npz

        with open_npz(path) as npz:
            for key in ("vt", "ft"):
                if key not in npz:
                    raise ModelFileError(path, "missing key", key=key, found="keys " + ", ".join(sorted(npz)))
            uv, uv_faces = npz["vt"], npz["ft"]
        return _check(path, uv, uv_faces) + (None,)
    uv, uv_faces, faces, _ = read_obj_uvs(path)
    return uv, uv_faces, faces


def _check(path: str | Path, uv: np.ndarray, uv_faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if uv.ndim != 2 or uv.shape[1] not in (2, 3) or not np.issubdtype(uv.dtype, np.number):
        raise ModelFileError(path, "wrong shape", key="vt", expected="(Vt, 2)", found=f"{uv.dtype} {uv.shape}")
    if uv_faces.ndim != 2 or uv_faces.shape[1] != 3 or not np.issubdtype(uv_faces.dtype, np.integer):
        raise ModelFileError(path, "wrong shape", key="ft", expected="(F, 3) integers",
                             found=f"{uv_faces.dtype} {uv_faces.shape}")
    if uv_faces.size and (uv_faces.min() < 0 or uv_faces.max() >= len(uv)):
        raise ModelFileError(path, "index out of range", key="ft", expected=f"0..{len(uv) - 1}")
    if not np.all(np.isfinite(uv)):
        raise ModelFileError(path, "non-finite UV coordinates", key="vt")
    return uv[:, :2].astype(np.float64), uv_faces.astype(np.int64)


def load_uvs(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(uv_coords (Vt, 2), uv_faces (F, 3))`` from ``head_template.obj`` or ``FLAME_texture.npz``."""
    uv, uv_faces, _ = _read(path)
    return uv, uv_faces


def match_uvs(path: str | Path, model: FlameModel) -> tuple[np.ndarray, np.ndarray]:
    """UVs for ``model`` (in its dtype); an OBJ's triangles must be the model's, in the same order."""
    uv, uv_faces, faces = _read(path)
    if uv_faces.shape != model.faces.shape:
        raise ModelFileError(path, "UV triangles do not match the model", key="f",
                             expected=f"{model.n_faces} triangles", found=f"{len(uv_faces)}")
    if faces is not None and not np.array_equal(faces, model.faces):
        raise ModelFileError(path, "the OBJ's triangles are not the model's faces (another topology or order)",
                             key="f")
    fits, evidence = uvs_fit(model.faces, uv_faces, len(uv))
    if not fits:
        raise ModelFileError(
            path, "the UVs were not made for this model's mesh (another topology, e.g. FLAME's UVs on the demo head)",
            key="ft", expected=f"each UV vertex on one mesh vertex (exceptions: at most {MAX_UV_CONFLICTS:.0%})",
            found=evidence,
        )
    return uv.astype(model.dtype), uv_faces
