"""Landmark embedding files.

- ``flame_static_embedding.pkl``: ``lmk_face_idx`` (51,), ``lmk_b_coords`` (51, 3).
- ``flame_dynamic_embedding.npy`` (a pickled dict): ``lmk_face_idx`` (79, 17), ``lmk_b_coords`` (79, 17, 3).
- DECA's ``landmark_embedding.npy`` bundle (also MICA, SMIRK): ``static_lmk_faces_idx``/``static_lmk_bary_coords``
  (51), ``dynamic_lmk_faces_idx``/``dynamic_lmk_bary_coords`` (79, 17; torch tensors in the file) and
  ``full_lmk_faces_idx``/``full_lmk_bary_coords`` (1, 68) kept in ``extra``: 17 contour + 51 = 68 landmarks.
- VHAP/GaussianAvatars' ``landmark_embedding_with_eyes.npy``: the same keys with 53 static landmarks (the 51
  and the two eye centres) and ``full_*`` (1, 70): 17 contour + 53 = 70 landmarks.
- Any of these saved with ``torch.save``; torch tensors are read without torch (:mod:`.torch_files`).
- ``mediapipe_landmark_embedding.npz``: ``lmk_face_idx`` (105,), ``lmk_b_coords`` (105, 3),
  ``landmark_indices`` (105,) kept in ``extra``.

The format is recognised from the content, whatever the suffix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError
from ..landmarks import N_CONTOUR, N_DYNAMIC_ROWS, LandmarkEmbedding
from . import safe_pickle, torch_files
from .layout import guard, read_head

#: Static landmarks of VHAP's embedding: the 51 of DECA and the two eye centres.
N_STATIC_WITH_EYES = 53


def read_mapping(path: str | Path) -> dict[str, Any]:
    """The dict a landmark or mask file holds, whatever its container (pickle, pickled .npy, .npz)."""
    head = read_head(path, 512)
    if torch_files.is_torch_bytes(head):
        data = torch_files.load(path)
    elif head.startswith(b"PK"):
        from .npz import open_npz

        with open_npz(path) as npz:
            return {k: npz[k] for k in npz}
    if head.startswith(b"\x93NUMPY"):
        from .npy_folder import read_npy

        data = read_npy(path)
    else:
        data = torch_files.load(path)
    if not isinstance(data, dict):
        raise ModelFileError(path, "not a landmark embedding", expected="a dict of arrays", found=type(data).__name__)
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in data.items()}


def load_landmarks(*paths: str | Path) -> LandmarkEmbedding:
    """A landmark embedding from one file, or a static and a dynamic file combined.

    ``load_landmarks("flame_static_embedding.pkl", "flame_dynamic_embedding.npy")`` gives the 68
    iBUG landmarks (17 yaw-dependent contour points, then the 51 static ones).
    """
    if not paths:
        raise TypeError("load_landmarks() needs at least one path")
    parts = [_embedding(read_mapping(p), p) for p in paths]
    if len(parts) == 1:
        return parts[0]
    return combine(parts, " + ".join(str(p) for p in paths))


def combine(parts: list[LandmarkEmbedding], source: str) -> LandmarkEmbedding:
    """Static landmarks of every part, and the one contour table among them."""
    contours = [p for p in parts if p.has_contour]
    if len(contours) > 1:
        raise ModelFileError(source, "more than one dynamic contour table")
    extra: dict[str, np.ndarray] = {}
    for p in parts:
        extra.update(p.extra)
    return LandmarkEmbedding(
        face_index=np.concatenate([p.face_index for p in parts]).astype(np.int64),
        barycentric=np.concatenate([p.barycentric for p in parts]),
        contour_face_index=contours[0].contour_face_index if contours else None,
        contour_barycentric=contours[0].contour_barycentric if contours else None,
        name="+".join(p.name for p in parts), source=source, extra=extra,
    )


def _get(data: Mapping[str, Any], key: str, path: str | Path, ndim: int, integer: bool) -> np.ndarray:
    if key not in data:
        raise ModelFileError(path, "missing key", key=key, found="keys " + ", ".join(sorted(data)))
    with guard(path, key):
        array = safe_pickle.to_array(data[key], path, key)
    if array.ndim != ndim:
        raise ModelFileError(path, "wrong number of axes", key=key, expected=str(ndim), found=str(array.shape))
    if integer:
        if not np.issubdtype(array.dtype, np.integer):
            raise ModelFileError(path, "wrong dtype", key=key, expected="integers", found=str(array.dtype))
        return array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.floating):
        raise ModelFileError(path, "wrong dtype", key=key, expected="floating-point numbers", found=str(array.dtype))
    return array.astype(np.float64)


def _embedding(data: Mapping[str, Any], path: str | Path) -> LandmarkEmbedding:
    src = str(path)
    if "static_lmk_faces_idx" in data:  # DECA / VHAP bundle
        extra: dict[str, np.ndarray] = {}
        if "full_lmk_faces_idx" in data:
            extra["full_face_index"] = _get(data, "full_lmk_faces_idx", path, 2, True).reshape(-1)
            extra["full_barycentric"] = _get(data, "full_lmk_bary_coords", path, 3, False).reshape(-1, 3)
        static = _get(data, "static_lmk_faces_idx", path, 1, True)
        return LandmarkEmbedding(
            face_index=static,
            barycentric=_get(data, "static_lmk_bary_coords", path, 2, False),
            contour_face_index=_get(data, "dynamic_lmk_faces_idx", path, 2, True),
            contour_barycentric=_get(data, "dynamic_lmk_bary_coords", path, 3, False),
            name="vhap" if len(static) == N_STATIC_WITH_EYES else "deca", source=src, extra=extra,
        )
    if "face_index" in data and "barycentric" in data:  # written by this package
        contour = "contour_face_index" in data
        return LandmarkEmbedding(
            face_index=_get(data, "face_index", path, 1, True),
            barycentric=_get(data, "barycentric", path, 2, False),
            contour_face_index=_get(data, "contour_face_index", path, 2, True) if contour else None,
            contour_barycentric=_get(data, "contour_barycentric", path, 3, False) if contour else None,
            name="landmarks", source=src,
        )
    if "lmk_face_idx" not in data:
        raise ModelFileError(
            path, "not a landmark embedding", key="lmk_face_idx",
            expected="lmk_face_idx/lmk_b_coords or DECA's static_lmk_faces_idx",
            found="keys " + ", ".join(sorted(data)),
        )
    with guard(path, "lmk_face_idx"):
        ndim = safe_pickle.to_array(data["lmk_face_idx"], path, "lmk_face_idx").ndim
    if ndim == 2:  # dynamic contour
        idx = _get(data, "lmk_face_idx", path, 2, True)
        bary = _get(data, "lmk_b_coords", path, 3, False)
        if idx.shape != (N_DYNAMIC_ROWS, N_CONTOUR):
            raise ModelFileError(path, "wrong shape", key="lmk_face_idx",
                                 expected=f"({N_DYNAMIC_ROWS}, {N_CONTOUR})", found=str(idx.shape))
        return LandmarkEmbedding(
            face_index=np.zeros(0, np.int64), barycentric=np.zeros((0, 3)),
            contour_face_index=idx, contour_barycentric=bary, name="dynamic", source=src,
        )
    indices: dict[str, np.ndarray] = {}
    name = "static"
    if "landmark_indices" in data:
        indices["landmark_indices"] = _get(data, "landmark_indices", path, 1, True)
        name = "mediapipe"
    return LandmarkEmbedding(
        face_index=_get(data, "lmk_face_idx", path, 1, True), barycentric=_get(data, "lmk_b_coords", path, 2, False),
        name=name, source=src, extra=indices,
    )
