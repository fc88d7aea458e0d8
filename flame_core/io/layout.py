"""From the arrays of a model file to a :class:`FlameModel` and back.

Every reader produces a mapping of raw values (arrays, chumpy placeholders, sparse matrices) under
whatever names its format uses; :func:`build_model` finds the FLAME arrays under their known names,
splits and truncates the blend shapes, converts to the requested dtype and attaches UVs, masks and
landmarks stored alongside. :func:`model_to_arrays` gives the layout the writers store (the names of
the npy-folder layout, plus ``uv_coords``, ``uv_faces``, ``masks/<name>``, ``face_masks/<name>``,
``eyelid_dirs`` (V, 3, 2) and ``landmarks/<key>``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError, FlameError, ModelFileError
from ..landmarks import LandmarkEmbedding
from ..model import FlameModel
from ..params import N_EXPRESSION, N_POSE_FEATURES, N_SHAPE
from .files import open_regular
from .safe_pickle import to_array

#: Names the writers use (the npy-folder layout) and the other names readers accept.
KEY_NAMES: dict[str, tuple[str, ...]] = {
    "v_template": ("v_template",),
    "faces": ("faces", "f"),
    "shapedirs": ("shapedirs",),
    "exprdirs": ("expressiondirs", "exprdirs"),
    "posedirs": ("posedirs",),
    "j_regressor": ("j_regressor", "J_regressor"),
    "weights": ("lbs_weights", "weights"),
    "parents": ("kintree_table", "parents"),
}
MASK_PREFIX = "masks/"
FACE_MASK_PREFIX = "face_masks/"
EYELIDS_KEY = "eyelid_dirs"
LANDMARK_PREFIX = "landmarks/"
LANDMARK_FIELDS = ("face_index", "barycentric", "contour_face_index", "contour_barycentric")
#: Layout of the files save_model writes; stored in their metadata.
LAYOUT_VERSION = "1"

_READ_ERRORS = (OSError, ValueError, TypeError, KeyError, IndexError, EOFError, MemoryError, RuntimeError)


@contextmanager
def guard(
    path: str | Path | None, key: str | None = None, what: str = "cannot read",
    error: type[FileFormatError] = ModelFileError,
) -> Iterator[None]:
    """Turn any exception raised while reading ``key`` of ``path`` into ``error`` (a :class:`ModelFileError`).

    Exhausted memory and too deep recursion are reported as such: the file asked for more than it holds.
    """
    try:
        yield
    except FlameError:
        raise
    except (MemoryError, RecursionError) as exc:
        reason = "out of memory" if isinstance(exc, MemoryError) else "nested too deeply"
        raise error(path, f"{what} ({type(exc).__name__}: {reason})", key=key) from None
    except Exception as exc:
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        if not isinstance(exc, _READ_ERRORS):
            detail = f"{type(exc).__name__}: {detail}"
        raise error(path, f"{what} ({_clip(detail)})", key=key) from None


def _clip(text: str, most: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= most else text[: most - 3] + "..."


def read_head(path: str | Path, size: int = 16) -> bytes:
    """The first ``size`` bytes of a regular file (to tell its container); unreadable or empty files raise."""
    with open_regular(path) as fh, guard(path, None, "cannot read the file"):
        head = fh.read(size)
    if not head:
        raise ModelFileError(path, "empty file")
    return head


def find(raw: Mapping[str, Any], field: str, path: str | Path | None, required: bool = True) -> np.ndarray | None:
    """The array stored under one of the names of ``field``; a missing required key is an error."""
    for name in KEY_NAMES[field]:
        if name in raw:
            with guard(path, name):
                return to_array(raw[name], path, name)
    if required:
        raise ModelFileError(
            path, "missing key", key=KEY_NAMES[field][0],
            expected=" or ".join(repr(n) for n in KEY_NAMES[field]), found=_key_summary(raw),
        )
    return None


def need(raw: Mapping[str, Any], field: str, path: str | Path | None) -> np.ndarray:
    """The array of a required ``field`` (see :func:`find`)."""
    array = find(raw, field, path)
    assert array is not None
    return array


def _key_summary(raw: Mapping[str, Any]) -> str:
    keys = sorted(str(k) for k in raw)
    return "keys " + ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "") if keys else "no keys"


def text_value(value: Any) -> str:
    """A pickled string (str, bytes or a 0-d string array) as text."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bytes):
        return value.decode("latin1")
    return str(value)


def _check_blend_type(raw: Mapping[str, Any], path: str | Path | None) -> None:
    for key, wanted in (("bs_type", "lrotmin"), ("bs_style", "lbs")):
        if key in raw and text_value(raw[key]) != wanted:
            raise ModelFileError(
                path, "unsupported blend-shape type", key=key, expected=repr(wanted), found=repr(text_value(raw[key]))
            )


def _parents(kintree: np.ndarray, path: str | Path | None, key: str) -> np.ndarray:
    """Row 0 of a kintree table (or a parents vector); 2**32-1 (unsigned root) becomes -1."""
    if kintree.ndim not in (1, 2) or kintree.size == 0 or not np.issubdtype(kintree.dtype, np.number):
        raise ModelFileError(path, "wrong shape", key=key, expected="(2, J) kintree table", found=str(kintree.shape))
    row = (kintree[0] if kintree.ndim == 2 else kintree).astype(np.int64)
    row[row >= 2**31 - 1] = -1
    return row


def _expression_split(raw: Mapping[str, Any], n_columns: int, path: str | Path | None) -> tuple[slice, slice]:
    """Shape and expression columns of a combined ``shapedirs``."""
    if "supr_expression_metadata" in raw:
        meta = raw["supr_expression_metadata"]
        key = "supr_expression_metadata"
        with guard(path, key):
            n_expr = int(meta["n_expr"])
            where = text_value(meta.get("expr_components", f"last_{n_expr}"))
        match = re.fullmatch(r"(first|last)_(\d+)", where)
        if not match or int(match.group(2)) != n_expr or not 0 <= n_expr <= n_columns:
            raise ModelFileError(
                path, "unsupported expression layout", key=key,
                expected=f"'last_N' or 'first_N' with N = n_expr <= {n_columns}", found=f"{where!r}, n_expr={n_expr}",
            )
        if match.group(1) == "last":
            return slice(0, n_columns - n_expr), slice(n_columns - n_expr, n_columns)
        return slice(n_expr, n_columns), slice(0, n_expr)
    n_shape = min(N_SHAPE, n_columns)
    return slice(0, n_shape), slice(n_shape, n_columns)


def guess_version(raw: Mapping[str, Any] | None = None, path: str | Path | None = None) -> tuple[str, str]:
    """FLAME release a model file most likely comes from, and why: ``(version, evidence)``.

    Returns ``("unknown", ...)`` when neither the keys nor the file name tell. Versions:
    "FLAME 2020", "FLAME 2023", "FLAME 2023 (no jaw)", "FLAME 2023 Open", "FLAME 2017", "FLAME 2019".
    """
    raw = raw or {}
    if "supr_expression_metadata" in raw:
        return "FLAME 2023 Open", "key supr_expression_metadata"
    if path is None:
        return "unknown", "no file name"
    name = Path(path).name.lower()
    full = str(Path(path)).lower().replace("\\", "/")
    if "2023" in name:
        if "open" in name:
            return "FLAME 2023 Open", f"file name {Path(path).name}"
        if "no_jaw" in name or "nojaw" in name:
            return "FLAME 2023 (no jaw)", f"file name {Path(path).name}"
        return "FLAME 2023", f"file name {Path(path).name}"
    year = re.search(r"flame[_\- ]?(2017|2019|2020)", full)
    if year:
        return f"FLAME {year.group(1)}", "folder name"
    if name in ("generic_model.pkl", "female_model.pkl", "male_model.pkl", "flame_neutral.pkl"):
        return "FLAME 2020 (probable)", f"file name {Path(path).name} (also used by FLAME 2017 and 2019)"
    return "unknown", "neither the keys nor the file name identify the release"


def build_model(
    raw: Mapping[str, Any],
    path: str | Path,
    fmt: str,
    *,
    n_shape: int | None = None,
    n_expression: int | None = None,
    dtype: Any = np.float32,
    stored_metadata: Mapping[str, str] | None = None,
) -> FlameModel:
    """A :class:`FlameModel` from the raw values of a model file (see the module docstring)."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise FlameError(f"dtype must be float32 or float64, got {dtype}")
    _check_blend_type(raw, path)
    v_template = need(raw, "v_template", path)
    shapedirs = need(raw, "shapedirs", path)
    exprdirs = find(raw, "exprdirs", path, required=False)
    n_verts = v_template.shape[0] if v_template.ndim == 2 else -1
    for key, array in (("shapedirs", shapedirs), ("expressiondirs", exprdirs)):
        if array is not None and (array.ndim != 3 or array.shape[:2] != (n_verts, 3)):
            raise ModelFileError(path, "wrong shape", key=key, expected=f"({n_verts}, 3, N)", found=str(array.shape))
    if exprdirs is None:
        shape_cols, expr_cols = _expression_split(raw, shapedirs.shape[2], path)
        shapedirs, exprdirs = shapedirs[:, :, shape_cols], shapedirs[:, :, expr_cols]
    meta: dict[str, str] = {}
    available = {"n_shape": shapedirs.shape[2], "n_expression": exprdirs.shape[2]}
    meta.update({f"{k}_file": str(v) for k, v in available.items()})
    keep = {"n_shape": N_SHAPE if n_shape is None else n_shape,
            "n_expression": N_EXPRESSION if n_expression is None else n_expression}
    for name, wanted in keep.items():
        if isinstance(wanted, bool) or not isinstance(wanted, (int, np.integer)) or wanted < 0:
            raise FlameError(f"{name} must be a non-negative integer, got {wanted!r}")
    for name, given in (("n_shape", n_shape), ("n_expression", n_expression)):
        if given is not None and given > available[name]:
            raise FlameError(f"{name}={given} but {Path(path).name} has only {available[name]} components")
    # Slice before converting: only the kept components are copied into ``dtype``.
    shapedirs = shapedirs[:, :, : min(keep["n_shape"], available["n_shape"])]
    exprdirs = exprdirs[:, :, : min(keep["n_expression"], available["n_expression"])]

    posedirs = need(raw, "posedirs", path)
    if posedirs.ndim == 2 and posedirs.shape == (N_POSE_FEATURES, 3 * n_verts):  # (36, 3V): transposed flat
        posedirs = posedirs.T.reshape(n_verts, 3, N_POSE_FEATURES)
    parents = _parents(need(raw, "parents", path), path, "kintree_table")

    def floats(array: np.ndarray) -> np.ndarray:
        if not np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_:
            return array  # FlameModel reports the wrong dtype
        # An owned C-contiguous copy: one memory layout whatever the source, and no file buffer kept alive.
        return np.array(array, dtype=dtype, order="C")

    uv_coords = raw.get("uv_coords")
    uv_faces = raw.get("uv_faces")
    with guard(path, "uv_coords"):
        uv_coords = None if uv_coords is None else floats(to_array(uv_coords, path, "uv_coords"))
        uv_faces = None if uv_faces is None else to_array(uv_faces, path, "uv_faces")
    masks: dict[str, np.ndarray] = {}
    face_masks: dict[str, np.ndarray] = {}
    for key in raw:
        for prefix, found in ((MASK_PREFIX, masks), (FACE_MASK_PREFIX, face_masks)):
            if str(key).startswith(prefix):
                with guard(path, key):
                    found[str(key)[len(prefix):]] = to_array(raw[key], path, key)
    eyelid_dirs = raw.get(EYELIDS_KEY)
    with guard(path, EYELIDS_KEY):
        eyelid_dirs = None if eyelid_dirs is None else floats(to_array(eyelid_dirs, path, EYELIDS_KEY))
    stored = dict(stored_metadata or {})
    landmarks = _stored_landmarks(raw, path, stored)

    meta.update(stored)
    meta.setdefault("source", Path(path).name)
    if "version" not in stored:
        meta["version"], meta["version_evidence"] = guess_version(raw, path)
    meta.update(
        file=Path(path).name, format=fmt, dtype=dtype.name,
        n_shape=str(shapedirs.shape[2]), n_expression=str(exprdirs.shape[2]),
    )
    with guard(path, None, "invalid model"):
        return FlameModel(
            v_template=floats(v_template), faces=need(raw, "faces", path), shapedirs=floats(shapedirs),
            exprdirs=floats(exprdirs), posedirs=floats(posedirs), j_regressor=floats(need(raw, "j_regressor", path)),
            weights=floats(need(raw, "weights", path)), parents=parents, uv_coords=uv_coords, uv_faces=uv_faces,
            masks=masks, face_masks=face_masks, eyelid_dirs=eyelid_dirs, landmarks=landmarks, metadata=meta,
            source=str(path), dtype=dtype,
        )


def _stored_landmarks(raw: Mapping[str, Any], path: str | Path, meta: Mapping[str, str]) -> LandmarkEmbedding | None:
    keys = [str(k) for k in raw if str(k).startswith(LANDMARK_PREFIX)]
    if not keys:
        return None
    values: dict[str, np.ndarray] = {}
    extra: dict[str, np.ndarray] = {}
    for key in keys:
        with guard(path, key):
            array = to_array(raw[key], path, key)
        field = key[len(LANDMARK_PREFIX):]
        if field.startswith("extra/"):
            extra[field[len("extra/"):]] = array
        elif field in LANDMARK_FIELDS:
            values[field] = array
    for field in ("face_index", "barycentric"):
        if field not in values:
            raise ModelFileError(path, "incomplete landmark embedding", key=LANDMARK_PREFIX + field)
    for field in ("face_index", "contour_face_index"):
        if field in values and not np.issubdtype(values[field].dtype, np.integer):
            raise ModelFileError(path, "wrong dtype", key=LANDMARK_PREFIX + field, expected="integers",
                                 found=str(values[field].dtype))
    return LandmarkEmbedding(
        face_index=values["face_index"].astype(np.int64), barycentric=values["barycentric"],
        contour_face_index=_opt_int(values.get("contour_face_index")),
        contour_barycentric=values.get("contour_barycentric"),
        name=meta.get("landmarks_name", "landmarks"), source=str(path), extra=extra,
    )


def _opt_int(array: np.ndarray | None) -> np.ndarray | None:
    return None if array is None else array.astype(np.int64)


def model_to_arrays(model: FlameModel) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The arrays and text metadata the writers store for ``model``."""
    arrays: dict[str, np.ndarray] = {
        "v_template": model.v_template,
        "faces": model.faces.astype(np.int32),
        "shapedirs": model.shapedirs,
        "expressiondirs": model.exprdirs,
        "posedirs": model.posedirs,
        "j_regressor": model.j_regressor,
        "kintree_table": np.stack([np.asarray(model.parents), np.arange(model.n_joints)]).astype(np.int32),
        "lbs_weights": model.weights,
    }
    if model.uv_coords is not None and model.uv_faces is not None:
        arrays["uv_coords"] = model.uv_coords
        arrays["uv_faces"] = model.uv_faces.astype(np.int32)
    for name, idx in model.masks.items():
        arrays[MASK_PREFIX + name] = np.asarray(idx, dtype=np.int64)
    for name, idx in model.face_masks.items():
        arrays[FACE_MASK_PREFIX + name] = np.asarray(idx, dtype=np.int64)
    if model.eyelid_dirs is not None:
        arrays[EYELIDS_KEY] = model.eyelid_dirs
    meta = {k: v for k, v in model.metadata.items() if k not in ("file", "format")}
    lmk = model.landmarks
    if lmk is not None:
        for field in LANDMARK_FIELDS:
            value = getattr(lmk, field)
            if value is not None:
                arrays[LANDMARK_PREFIX + field] = value.astype(np.int64) if "index" in field else value
        for name, value in lmk.extra.items():
            arrays[f"{LANDMARK_PREFIX}extra/{name}"] = np.asarray(value)
        meta["landmarks_name"] = lmk.name
    if "source" not in meta:
        meta["source"] = Path(model.source).name if model.source else "unknown"
    meta.setdefault("version", "unknown")
    meta.update(dtype=model.dtype.name, n_shape=str(model.n_shape), n_expression=str(model.n_expression))
    meta["layout"] = LAYOUT_VERSION
    return {k: np.ascontiguousarray(v) for k, v in arrays.items()}, meta
