"""Writers of synthetic FLAME files in the official on-disk layouts (random but valid content).

The model pickle is written the way the official files are: a Python-2 style protocol-2 pickle
whose arrays are reconstructed by ``numpy.core.multiarray._reconstruct`` (the old module path, even
on numpy 2) with their data as Python-2 ``str`` opcodes, ``chumpy.ch.Ch`` objects with an ``x``
array in their ``__dict__`` state, a ``scipy.sparse.csc.csc_matrix`` joint regressor,
``kintree_table`` and ``f`` as uint32 with 2**32-1 as the root's parent. Neither chumpy nor scipy
is needed: stand-in classes pickle under those names.

Sizes are parameters: ``flame_arrays(n_verts=60, n_faces=100)`` for fast tests, 5023/9976 for
realistic ones.
"""

from __future__ import annotations

import io
import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np

UINT32_ROOT = 2**32 - 1
PARENTS = (-1, 0, 1, 1, 1)
N_JOINTS = 5

# --------------------------------------------------------------------------- stand-in classes


class _StandIn:
    """Pickles as an instance of ``_pickle_global`` with ``__dict__`` as its BUILD state."""

    _pickle_global: tuple[str, str] = ("", "")

    def __init__(self, **state: Any) -> None:
        self.__dict__.update(state)


def stand_in(module: str, name: str) -> type:
    """A class whose pickled global reference is ``module.name``."""
    return type(name, (_StandIn,), {"_pickle_global": (module, name)})


Ch = stand_in("chumpy.ch", "Ch")
Select = stand_in("chumpy.reordering", "Select")
CscMatrix = stand_in("scipy.sparse.csc", "csc_matrix")


def chumpy(array: np.ndarray) -> Any:
    """A ``chumpy.ch.Ch`` holding ``array`` (state keys as chumpy writes them)."""
    return Ch(x=np.asarray(array), _dirty_vars=set())


def chumpy_select(array: np.ndarray, rng: np.random.Generator) -> Any:
    """A ``chumpy.reordering.Select`` without ``x``: ``a`` (a permuted flat Ch), ``idxs``, ``preferred_shape``."""
    flat = np.asarray(array).ravel()
    perm = rng.permutation(flat.size)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size)
    return Select(a=chumpy(flat[perm]), idxs=inverse, preferred_shape=array.shape)


def csc(dense: np.ndarray) -> Any:
    """A scipy CSC matrix stand-in with the attributes scipy pickles."""
    col, row = np.nonzero(dense.T)  # entries in column-major order
    indptr = np.concatenate([[0], np.cumsum(np.bincount(col, minlength=dense.shape[1]))]).astype(np.int32)
    return CscMatrix(
        _shape=tuple(dense.shape), maxprint=50, format="csc",
        data=dense[row, col].astype(np.float64), indices=row.astype(np.int32), indptr=indptr,
    )


# --------------------------------------------------------------------------- Python-2 style pickler

_OLD_NUMPY = {"_reconstruct": ("numpy.core.multiarray", "_reconstruct"), "scalar": ("numpy.core.multiarray", "scalar")}


class Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]  # the pure-Python pickler is overridable
    """Protocol 2 with the module paths and opcodes of the Python-2 era files."""

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def __init__(self, file: Any) -> None:
        super().__init__(file, protocol=2)

    def save_global(self, obj: Any, name: str | None = None) -> None:
        target = None
        if isinstance(obj, type) and issubclass(obj, _StandIn):
            target = obj._pickle_global
        elif obj is np.ndarray:
            target = ("numpy", "ndarray")
        elif obj is np.dtype:
            target = ("numpy", "dtype")
        elif getattr(obj, "__name__", None) in _OLD_NUMPY and "numpy" in str(getattr(obj, "__module__", "")):
            target = _OLD_NUMPY[obj.__name__]
        if target is None:
            return super().save_global(obj, name)
        self.write(pickle.GLOBAL + f"{target[0]}\n{target[1]}\n".encode())
        self.memoize(obj)

    def save_bytes(self, obj: bytes) -> None:
        """Bytes as a Python-2 ``str`` (what the real files hold; read back with encoding='latin1')."""
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + struct.pack("<B", n) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def py2_pickle(obj: Any) -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf).dump(obj)
    return buf.getvalue()


def write_py2_pickle(path: str | Path, obj: Any) -> Path:
    Path(path).write_bytes(py2_pickle(obj))
    return Path(path)


def write_object_npy(path: str | Path, obj: Any, modern: bool = False) -> Path:
    """An ``.npy`` holding a pickled object (a 0-d object array), as ``np.save(path, dict)`` writes it.

    ``modern=False`` writes the payload with the Python-2 pickler (old numpy module paths).
    """
    array = np.empty((), dtype=object)
    array[()] = obj
    if modern:
        np.save(path, array, allow_pickle=True)
        return Path(path)
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "|O", "fortran_order": False, "shape": ()})
        fh.write(py2_pickle(array))
    return Path(path)


# --------------------------------------------------------------------------- random FLAME arrays


def random_faces(rng: np.random.Generator, n_verts: int, n_faces: int) -> np.ndarray:
    """Triangles of three distinct vertices, every vertex used when n_faces allows (vectorised)."""
    a = rng.integers(0, n_verts, n_faces)
    a[: min(n_faces, n_verts)] = rng.permutation(n_verts)[: min(n_faces, n_verts)]
    db = rng.integers(1, n_verts, n_faces)
    dc = rng.integers(1, n_verts - 1, n_faces)
    dc = dc + (dc >= db)  # distinct from db and from 0
    return np.stack([a, (a + db) % n_verts, (a + dc) % n_verts], axis=1)


def flame_arrays(
    n_verts: int = 60, n_faces: int = 100, n_shape: int = 300, n_expr: int = 100, seed: int = 0
) -> dict[str, np.ndarray]:
    """Random FLAME arrays in the pickle's layout and dtypes (``shapedirs`` holds shape then expression)."""
    rng = np.random.default_rng(seed)
    weights = rng.random((n_verts, N_JOINTS)) ** 4
    weights /= weights.sum(axis=1, keepdims=True)
    regressor = rng.random((N_JOINTS, n_verts)) * (rng.random((N_JOINTS, n_verts)) < 0.1)
    regressor[:, 0] += 1e-3
    regressor /= regressor.sum(axis=1, keepdims=True)
    v_template = rng.normal(size=(n_verts, 3)) * 0.1
    return {
        "v_template": v_template,
        "f": random_faces(rng, n_verts, n_faces).astype(np.uint32),
        "shapedirs": rng.normal(size=(n_verts, 3, n_shape + n_expr)) * 1e-3,
        "posedirs": rng.normal(size=(n_verts, 3, 36)) * 1e-2,
        "J_regressor": regressor,
        "weights": weights,
        "kintree_table": np.array([[UINT32_ROOT, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.uint32),
        "J": regressor @ v_template,
    }


def split_arrays(raw: dict[str, np.ndarray], n_expr: int = 100, expression_last: bool = True) -> dict:
    """The arrays as the model's constructor (and the reference forward) name them."""
    sd = raw["shapedirs"]
    n_shape = sd.shape[2] - n_expr
    return {
        "v_template": raw["v_template"],
        "faces": raw["f"].astype(np.int64),
        "shapedirs": sd[:, :, :n_shape] if expression_last else sd[:, :, n_expr:],
        "exprdirs": sd[:, :, n_shape:] if expression_last else sd[:, :, :n_expr],
        "posedirs": raw["posedirs"],
        "j_regressor": raw["J_regressor"],
        "weights": raw["weights"],
        "parents": np.array(PARENTS),
    }


VARIANTS = ("2020", "2023", "2023_no_jaw", "2023_open")


def write_flame_pkl(
    path: str | Path, raw: dict[str, np.ndarray], variant: str = "2020", reordering: bool = False, seed: int = 0
) -> Path:
    """A model pickle in the official layout for FLAME ``variant`` (see :data:`VARIANTS`).

    ``shapedirs`` and ``weights`` are chumpy ``Ch`` objects, ``J_regressor`` a CSC matrix; with
    ``reordering``, ``v_template`` is a chumpy ``Select`` without ``x``. ``2023_open`` adds
    ``supr_expression_metadata`` (expression in the last 100 columns).
    """
    if variant not in VARIANTS:
        raise ValueError(variant)
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {
        "J_regressor_prior": csc(raw["J_regressor"]),
        "f": raw["f"],
        "J_regressor": csc(raw["J_regressor"]),
        "kintree_table": raw["kintree_table"],
        "J": raw["J"],
        "weights_prior": raw["weights"],
        "weights": chumpy(raw["weights"]),
        "posedirs": raw["posedirs"],
        "bs_style": "lbs",
        "v_template": chumpy_select(raw["v_template"], rng) if reordering else raw["v_template"],
        "shapedirs": chumpy(raw["shapedirs"]),
        "bs_type": "lrotmin",
    }
    if variant == "2023_open":
        data["supr_expression_metadata"] = {"n_expr": 100, "expr_components": "last_100"}
    return write_py2_pickle(path, data)


def write_official_npz(path: str | Path, raw: dict[str, np.ndarray]) -> Path:
    """The pickle's arrays saved with ``np.savez`` (dense regressor), as converted copies circulate."""
    np.savez(path, **{k: v for k, v in raw.items()}, bs_type=np.array("lrotmin"))
    return Path(path)


def write_npy_folder(path: str | Path, raw: dict[str, np.ndarray], n_expr: int = 100) -> Path:
    """The oxigaf-flame folder layout: float32 arrays, int32 faces, int32 kintree with -1."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = split_arrays(raw, n_expr)
    out = {
        "v_template": arrays["v_template"].astype(np.float32),
        "faces": arrays["faces"].astype(np.int32),
        "shapedirs": arrays["shapedirs"].astype(np.float32),
        "expressiondirs": arrays["exprdirs"].astype(np.float32),
        "posedirs": arrays["posedirs"].astype(np.float32),
        "j_regressor": arrays["j_regressor"].astype(np.float32),
        "kintree_table": np.array([PARENTS, range(N_JOINTS)], dtype=np.int32),
        "lbs_weights": arrays["weights"].astype(np.float32),
    }
    for key, value in out.items():
        np.save(folder / f"{key}.npy", value)
    return folder


# --------------------------------------------------------------------------- companions


def random_barycentric(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    b = rng.random(shape + (3,)) + 0.05
    return b / b.sum(axis=-1, keepdims=True)


def landmark_draw(rng: np.random.Generator, n_faces: int, shape: tuple[int, ...],
                  faces: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Face indices and barycentrics of landmarks: random, or on ``faces`` made for that mesh.

    Landmarks made for a mesh lie in chains (see ``flame_core.topology``): with ``faces``, runs of five
    landmarks sit close to one vertex (weight 0.96 on it, in faces around it).
    """
    if faces is None:
        return rng.integers(0, n_faces, shape), random_barycentric(rng, shape)
    n = int(np.prod(shape))
    vertex = np.repeat(rng.integers(0, int(faces.max()) + 1, -(-n // 5)), 5)[:n]
    face_index = np.empty(n, dtype=np.int64)
    bary = np.full((n, 3), 0.02)
    for k, v in enumerate(vertex):
        around = np.nonzero((faces == v).any(axis=1))[0]
        face_index[k] = around[rng.integers(0, len(around))]
        bary[k, list(faces[face_index[k]]).index(v)] = 0.96
    return face_index.reshape(shape), bary.reshape(shape + (3,))


def static_embedding(n_faces: int, n: int = 51, seed: int = 0, faces: np.ndarray | None = None) -> dict:
    rng = np.random.default_rng(seed)
    face_index, bary = landmark_draw(rng, n_faces, (n,), faces)
    return {"lmk_face_idx": face_index.astype(np.uint32), "lmk_b_coords": bary}


def write_static_embedding(path: str | Path, n_faces: int, n: int = 51, seed: int = 0,
                           faces: np.ndarray | None = None) -> Path:
    """``flame_static_embedding.pkl``: ``lmk_face_idx`` (n,) uint32, ``lmk_b_coords`` (n, 3)."""
    return write_py2_pickle(path, static_embedding(n_faces, n, seed, faces))


def dynamic_embedding(n_faces: int, seed: int = 0, faces: np.ndarray | None = None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    face_index, bary = landmark_draw(rng, n_faces, (79, 17), faces)
    return {"lmk_face_idx": face_index.astype(np.int64), "lmk_b_coords": bary}


def write_dynamic_embedding(path: str | Path, n_faces: int, seed: int = 0, modern: bool = False,
                            faces: np.ndarray | None = None) -> Path:
    """``flame_dynamic_embedding.npy``: a pickled dict in an object array."""
    return write_object_npy(path, dynamic_embedding(n_faces, seed, faces), modern=modern)


def write_deca_embedding(path: str | Path, n_faces: int, seed: int = 0, faces: np.ndarray | None = None) -> Path:
    """DECA's ``landmark_embedding.npy`` bundle."""
    rng = np.random.default_rng(seed)
    dyn = dynamic_embedding(n_faces, seed + 1, faces)
    static_faces, static_bary = landmark_draw(rng, n_faces, (51,), faces)
    full_faces, full_bary = landmark_draw(rng, n_faces, (1, 68), faces)
    data = {
        "static_lmk_faces_idx": static_faces.astype(np.int64),
        "static_lmk_bary_coords": static_bary,
        "dynamic_lmk_faces_idx": dyn["lmk_face_idx"],
        "dynamic_lmk_bary_coords": dyn["lmk_b_coords"],
        "full_lmk_faces_idx": full_faces.astype(np.int64),
        "full_lmk_bary_coords": full_bary,
    }
    return write_object_npy(path, data)


def write_mediapipe_embedding(path: str | Path, n_faces: int, seed: int = 0, faces: np.ndarray | None = None) -> Path:
    """``mediapipe_landmark_embedding.npz``: 105 landmarks and their mediapipe indices."""
    rng = np.random.default_rng(seed)
    face_index, bary = landmark_draw(rng, n_faces, (105,), faces)
    np.savez(path, lmk_face_idx=face_index, lmk_b_coords=bary, landmark_indices=rng.choice(468, 105, replace=False))
    return Path(path)


def uv_layout(faces: np.ndarray, n_uv: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random UVs: every face corner maps to a UV vertex; seams make ``n_uv`` > vertex count."""
    rng = np.random.default_rng(seed)
    n_verts = int(faces.max()) + 1
    n_uv = n_verts + max(1, n_verts // 50) if n_uv is None else n_uv
    uv_of_vertex = np.arange(n_verts) % n_uv
    uv_faces = uv_of_vertex[faces]
    seams = rng.random(faces.shape) < 0.02
    uv_faces[seams] = rng.integers(n_verts, n_uv, int(seams.sum())) if n_uv > n_verts else uv_faces[seams]
    return rng.random((n_uv, 2)), uv_faces


def write_obj(path: str | Path, vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, uv_faces: np.ndarray) -> Path:
    """``head_template.obj``: ``v``, ``vt`` and ``f v/vt`` lines (1-based)."""
    buf = io.StringIO()
    buf.write("# synthetic head template\n")
    np.savetxt(buf, vertices, fmt="v %.6f %.6f %.6f")
    np.savetxt(buf, uv, fmt="vt %.9f %.9f")
    corners = np.stack([faces + 1, uv_faces + 1], axis=-1).reshape(-1, 6)
    np.savetxt(buf, corners, fmt="f %d/%d %d/%d %d/%d")
    Path(path).write_text(buf.getvalue())
    return Path(path)


def write_texture_npz(path: str | Path, uv: np.ndarray, uv_faces: np.ndarray, size: int = 8) -> Path:
    """``FLAME_texture.npz``: ``mean``, ``tex_dir``, ``vt``, ``ft``."""
    rng = np.random.default_rng(0)
    np.savez(path, mean=rng.random((size, size, 3)), tex_dir=rng.random((size, size, 3, 4)), vt=uv,
             ft=uv_faces.astype(np.uint32))
    return Path(path)


MASK_NAMES = ("face", "lips", "nose", "eye_region", "left_eyeball", "right_eyeball", "neck", "scalp",
              "left_ear", "right_ear", "forehead", "boundary")


def masks(n_verts: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: np.sort(rng.choice(n_verts, max(1, n_verts // 10), replace=False)).astype(np.int64)
            for name in MASK_NAMES}


def write_masks(path: str | Path, n_verts: int, seed: int = 0) -> Path:
    """``FLAME_masks.pkl``: a dict of vertex-index arrays."""
    return write_py2_pickle(path, masks(n_verts, seed))


def write_all(folder: str | Path, n_verts: int = 60, n_faces: int = 100, seed: int = 0) -> dict[str, Any]:
    """Every official file for one random model; returns the raw arrays and the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    raw = flame_arrays(n_verts, n_faces, seed=seed)
    faces = raw["f"].astype(np.int64)
    uv, uv_faces = uv_layout(faces, seed=seed)
    return {
        "raw": raw,
        "uv": uv,
        "uv_faces": uv_faces,
        "pkl": write_flame_pkl(folder / "generic_model.pkl", raw),
        "static": write_static_embedding(folder / "flame_static_embedding.pkl", n_faces, seed=seed, faces=faces),
        "dynamic": write_dynamic_embedding(folder / "flame_dynamic_embedding.npy", n_faces, seed=seed, faces=faces),
        "deca": write_deca_embedding(folder / "landmark_embedding.npy", n_faces, seed=seed, faces=faces),
        "mediapipe": write_mediapipe_embedding(folder / "mediapipe_landmark_embedding.npz", n_faces, seed=seed,
                                               faces=faces),
        "obj": write_obj(folder / "head_template.obj", raw["v_template"], faces, uv, uv_faces),
        "texture": write_texture_npz(folder / "FLAME_texture.npz", uv, uv_faces),
        "masks": write_masks(folder / "FLAME_masks.pkl", n_verts, seed=seed),
    }
