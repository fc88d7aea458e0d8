"""``load_model`` / ``save_model``: format detection and dispatch to the per-format readers."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import topology
from ..errors import ModelFileError
from ..landmarks import LandmarkEmbedding
from ..model import FlameModel
from . import landmark_files, layout, npy_folder, npz, pkl, safetensors_io
from .eyelids import load_eyelids
from .masks import fit_masks, load_masks
from .uvs import load_uvs, match_uvs

#: Formats by file suffix; content decides when it disagrees with the suffix.
SUFFIXES = {".pkl": "pkl", ".pickle": "pkl", ".npz": "npz", ".safetensors": "safetensors"}
WRITABLE = ("npz", "safetensors", "npy-folder")

PathLike = str | Path


def detect_format(path: PathLike) -> str:
    """"pkl", "npz", "safetensors" or "npy-folder", from the content (first bytes) or else the suffix."""
    p = Path(path)
    if p.is_dir():
        return "npy-folder"
    if not p.exists():
        raise ModelFileError(path, "no such file or folder")
    head = layout.read_head(path, 16)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "npz"
    if head[:1] == b"\x80" and 2 <= head[1] <= 5:
        return "pkl"
    if len(head) >= 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] < p.stat().st_size:
        return "safetensors"
    if p.suffix.lower() in SUFFIXES:
        return SUFFIXES[p.suffix.lower()]
    raise ModelFileError(path, "unrecognised model file", expected="a .pkl, .npz or .safetensors file, or a folder")


def load_model(
    path: PathLike,
    n_shape: int | None = None,
    n_expression: int | None = None,
    dtype: Any = np.float32,
    *,
    landmarks: PathLike | Sequence[PathLike] | LandmarkEmbedding | None = None,
    uvs: PathLike | None = None,
    masks: PathLike | None = None,
    eyelids: PathLike | Sequence[PathLike] | None = None,
    teeth: bool = False,
) -> FlameModel:
    """Load a FLAME model from a ``.pkl`` (FLAME 2020/2023/2023 Open), ``.npz``, ``.safetensors`` or npy folder.

    ``n_shape`` / ``n_expression`` keep only the first components; ``dtype`` is float32 or float64.
    ``landmarks`` (one path, a static + dynamic pair, or an embedding), ``uvs`` (``head_template.obj``
    or ``FLAME_texture.npz``), ``masks`` (``FLAME_masks.pkl``, or SMIRK's per-triangle
    ``FLAME_masks_triangles.npy``) and ``eyelids`` (``l_eyelid.npy`` / ``r_eyelid.npy``, see
    :func:`~flame_core.io.eyelids.load_eyelids`) attach those to the model; each must fit the model's
    mesh (see :mod:`flame_core.topology`). ``teeth`` adds VHAP's 120 teeth vertices (see
    :mod:`flame_core.teeth`; FLAME's mesh only). Bad files raise
    :class:`~flame_core.errors.ModelFileError` naming the file and the key.
    """
    fmt = detect_format(path)
    options: dict[str, Any] = dict(n_shape=n_shape, n_expression=n_expression, dtype=dtype)
    if fmt == "pkl":
        model = layout.build_model(pkl.read_pkl(path), path, fmt, **options)
    elif fmt == "npz":
        with npz.open_npz(path) as archive:
            model = layout.build_model(archive, path, fmt, stored_metadata=archive.metadata(), **options)
    else:
        read = safetensors_io.read_safetensors if fmt == "safetensors" else npy_folder.read_folder
        arrays, meta = read(path)
        model = layout.build_model(arrays, path, fmt, stored_metadata=meta, **options)
    model = attach(model, landmarks=landmarks, uvs=uvs, masks=masks, eyelids=eyelids)
    if teeth and not model.n_added_vertices:
        from ..teeth import add_teeth

        model = add_teeth(model)
    return model


def attach(
    model: FlameModel,
    *,
    landmarks: PathLike | Sequence[PathLike] | LandmarkEmbedding | None = None,
    uvs: PathLike | None = None,
    masks: PathLike | None = None,
    eyelids: PathLike | Sequence[PathLike] | None = None,
) -> FlameModel:
    """A copy of ``model`` with landmarks, UVs, masks and/or eyelid blend shapes read from files.

    Each must have been made for the model's mesh (see :mod:`flame_core.topology`), else
    :class:`ModelFileError`.
    """
    if landmarks is None and uvs is None and masks is None and eyelids is None:
        return model
    # C-contiguous copies: the model's derived arrays then match a model loaded from a file bit for bit.
    arrays = {k: np.ascontiguousarray(v) for k, v in model.arrays().items()}
    meta = dict(model.metadata)
    lmk = model.landmarks
    if landmarks is not None:
        if isinstance(landmarks, LandmarkEmbedding):
            lmk = landmarks
        elif isinstance(landmarks, (str, Path)):
            lmk = landmark_files.load_landmarks(landmarks)
        else:
            lmk = landmark_files.load_landmarks(*landmarks)
        lmk.check_faces(model.n_faces)
        check_landmarks_fit(lmk, model)
        meta["landmarks_file"] = Path(lmk.source.split(" + ")[0]).name if lmk.source else ""
    if uvs is not None:
        arrays["uv_coords"], arrays["uv_faces"] = match_uvs(uvs, model)
        meta["uvs_file"] = Path(uvs).name
    mask_dict, face_mask_dict = dict(model.masks), dict(model.face_masks)
    if masks is not None:
        kind, fitted = fit_masks(masks, load_masks(masks), model.faces, model.n_vertices)
        if kind == "faces":
            face_mask_dict = fitted
            meta["face_masks_file"] = Path(masks).name
        else:
            mask_dict = fitted
            meta["masks_file"] = Path(masks).name
    if eyelids is not None:
        arrays["eyelid_dirs"], meta["eyelids_file"] = fit_eyelids(eyelids, model)
    arrays.pop("parents", None)
    return FlameModel(**arrays, parents=model.parents, masks=mask_dict, face_masks=face_mask_dict, landmarks=lmk,
                      metadata=meta, source=model.source, dtype=model.dtype)


def check_landmarks_fit(lmk: LandmarkEmbedding, model: FlameModel) -> None:
    """Raise unless the landmarks lie in chains on the model's template (made for its mesh)."""
    template = model.v_template.astype(np.float64)
    rows = np.zeros(1, dtype=np.int64) if lmk.has_contour else None
    points = lmk.evaluate(template[None], model.faces, rows)[0]
    step = topology.landmark_step(points, template)
    if step > topology.MAX_LANDMARK_STEP:
        raise ModelFileError(
            lmk.source or None, "the landmarks were not made for this model's mesh (another topology, e.g. "
            "FLAME's landmarks on the demo head): consecutive landmarks lie far apart on its template",
            expected=f"a median step of at most {topology.MAX_LANDMARK_STEP:.0%} of the head's size",
            found=f"{step:.0%}",
        )


def fit_eyelids(source: PathLike | Sequence[PathLike], model: FlameModel) -> tuple[np.ndarray, str]:
    """Eyelid blend shapes (V, 3, 2) for ``model`` (zero on added teeth vertices) and their file names."""
    dirs, names = load_eyelids(source)
    where = source if isinstance(source, (str, Path)) else names
    if len(dirs) != model.n_base_vertices:
        raise ModelFileError(where, "the eyelid shapes do not match the model",
                             expected=f"{model.n_base_vertices} vertices", found=f"{len(dirs)}")
    for side, name in ((0, "left"), (1, "right")):
        size = np.linalg.norm(dirs[:, :, side], axis=1)
        moved = np.nonzero(size > 1e-3 * size.max())[0] if size.max() > 0 else np.zeros(0, np.int64)
        scattered = topology.misfit_regions(model.faces, model.n_vertices, {name: moved}, per_face=False)
        if scattered:
            raise ModelFileError(
                where, "the eyelid shapes were not made for this model's mesh (another topology, e.g. FLAME's "
                "eyelids on the demo head)", key=name,
                expected=f"the moved vertices in at most {topology.MAX_REGION_PIECES} patches",
                found=f"{scattered[name]} pieces",
            )
    if model.n_added_vertices:
        dirs = np.concatenate([dirs, np.zeros((model.n_added_vertices, 3, dirs.shape[2]))])
    return dirs.astype(model.dtype), names


def save_model(model: FlameModel, path: PathLike) -> Path:
    """Save ``model`` with its UVs, masks and landmarks: ``.npz``, ``.safetensors``, or a folder of ``.npy``.

    A path without a suffix (or an existing folder) is written as an npy folder. The metadata names
    the source file and the FLAME version. Returns the path written.
    """
    p = Path(path)
    arrays, meta = layout.model_to_arrays(model)
    from .. import __version__

    meta["writer"] = f"flame_core {__version__}"
    suffix = p.suffix.lower()
    if p.is_dir() or suffix == "":
        npy_folder.write_folder(p, arrays, meta)
    elif suffix == ".npz":
        npz.write_npz(p, arrays, meta)
    elif suffix == ".safetensors":
        safetensors_io.write_safetensors(p, arrays, meta)
    else:
        raise ModelFileError(path, "cannot write this format", expected=".npz, .safetensors or a folder",
                             found=repr(p.suffix))
    return p


__all__ = ["attach", "detect_format", "load_eyelids", "load_masks", "load_model", "load_uvs", "save_model"]
