"""``FlameModel``: the model arrays, their validation, truncation and the forward pass."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import lbs
from .errors import FlameError, ModelFileError, ParamsError
from .landmarks import LandmarkEmbedding, contour_rows
from .params import FIELD_BY_NAME, N_EXPRESSION, N_JOINTS, N_POSE_FEATURES, N_SHAPE, PARENTS, FlameParams

#: Frames whose blend shapes are evaluated in one matrix product, and frames skinned together
#: (smaller: the blended per-vertex transforms of a sub-chunk stay in cache).
CHUNK_FRAMES = 128
SKIN_FRAMES = 16
#: Eyelid blend shapes: left, then right (the order of the ``eyelids`` parameter).
N_EYELIDS = FIELD_BY_NAME["eyelids"].size
#: Metadata key of the number of vertices added after the model's own (teeth, see :mod:`flame_core.teeth`).
ADDED_VERTICES_KEY = "teeth_vertices"
#: Vertices VHAP's teeth add to FLAME's mesh.
TEETH_VERTICES = 120


@dataclass(frozen=True)
class FlameOutput:
    """Result of :meth:`FlameModel.forward`; leading axes match the parameters' batch axes."""

    vertices: np.ndarray  # (..., V, 3)
    joints: np.ndarray  # (..., J, 3)
    landmarks: np.ndarray | None = None  # (..., L, 3) when the model has a landmark embedding


class FlameModel:
    """A FLAME model: template, blend shapes, correctives, joint regressor and skinning weights.

    Arrays are given in the official layout (``shapedirs`` (V, 3, n_shape) and so on) and stored
    internally as read-only (components, 3V) matrices in ``dtype``; every array it hands out is
    read-only, and the inputs are not modified. ``source`` names the file for error
    messages; ``metadata`` is free-form text (source file, version, truncation).

    Optional parts: ``eyelid_dirs`` (V, 3, 2), the left and right eyelid blend shapes driven by the
    ``eyelids`` parameter; ``masks`` (vertex indices per region) and ``face_masks`` (triangle
    indices per region); UVs and a landmark embedding.
    """

    def __init__(
        self,
        *,
        v_template: np.ndarray,
        faces: np.ndarray,
        shapedirs: np.ndarray,
        exprdirs: np.ndarray,
        posedirs: np.ndarray,
        j_regressor: np.ndarray,
        weights: np.ndarray,
        parents: Any = PARENTS,
        uv_coords: np.ndarray | None = None,
        uv_faces: np.ndarray | None = None,
        masks: Mapping[str, np.ndarray] | None = None,
        face_masks: Mapping[str, np.ndarray] | None = None,
        eyelid_dirs: np.ndarray | None = None,
        landmarks: LandmarkEmbedding | None = None,
        metadata: Mapping[str, str] | None = None,
        source: str | None = None,
        dtype: Any = np.float32,
    ) -> None:
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise FlameError(f"dtype must be float32 or float64, got {self.dtype}")
        self.source = source
        check = _Checker(source)
        v_template = check.array("v_template", v_template, (None, 3))
        n_verts = v_template.shape[0]
        self.faces = check.faces("faces", faces, n_verts)
        shapedirs = check.array("shapedirs", shapedirs, (n_verts, 3, None))
        exprdirs = check.array("exprdirs", exprdirs, (n_verts, 3, None))
        posedirs = check.array("posedirs", posedirs, (n_verts, 3, N_POSE_FEATURES))
        j_regressor = check.array("j_regressor", j_regressor, (N_JOINTS, n_verts))
        weights = check.array("weights", weights, (n_verts, N_JOINTS))
        self.parents = check.parents("parents", parents)
        if shapedirs.shape[2] > N_SHAPE or exprdirs.shape[2] > N_EXPRESSION:
            raise ModelFileError(
                source, "too many components", key="shapedirs",
                expected=f"at most {N_SHAPE} shape and {N_EXPRESSION} expression",
                found=f"{shapedirs.shape[2]} and {exprdirs.shape[2]}",
            )
        dt = self.dtype
        # Planar layout: every basis row holds all x, then all y, then all z coordinates, so that
        # coefficients @ basis is one BLAS call and skinning works on contiguous coordinate rows.
        self._template = np.ascontiguousarray(v_template.T, dtype=dt).reshape(-1)
        self._shape_basis = _planar(shapedirs, dt)
        self._n_expression = exprdirs.shape[2]
        # Expression and pose correctives change every frame: one basis, one product per frame.
        self._frame_basis = np.concatenate([_planar(exprdirs, dt), _planar(posedirs, dt)])
        self.j_regressor = np.ascontiguousarray(j_regressor, dtype=dt)
        self._weights_t = np.ascontiguousarray(weights.T, dtype=dt)
        # Joint regression commutes with the blend: regress the template and every component once.
        # Contiguous float64 copies make the results independent of the inputs' memory layout.
        jr = np.ascontiguousarray(j_regressor, dtype=np.float64)
        self._j_template = jr @ np.ascontiguousarray(v_template, dtype=np.float64)
        self._j_shape = _regress_components(jr, shapedirs)
        self._j_expr = _regress_components(jr, exprdirs)
        self._eyelid_basis = None
        if eyelid_dirs is not None:
            self._eyelid_basis = _planar(check.array("eyelid_dirs", eyelid_dirs, (n_verts, 3, N_EYELIDS)), dt)

        self.uv_coords = None if uv_coords is None else check.array("uv_coords", uv_coords, (None, 2))
        n_uvs = 0 if self.uv_coords is None else len(self.uv_coords)
        self.uv_faces = None if uv_faces is None else check.faces("uv_faces", uv_faces, n_uvs)
        if (self.uv_coords is None) != (self.uv_faces is None):
            raise ModelFileError(source, "UV coordinates and UV faces come together", key="uv_faces")
        if self.uv_faces is not None and self.uv_faces.shape != self.faces.shape:
            raise ModelFileError(
                source, "one UV triangle per face", key="uv_faces",
                expected=str(self.faces.shape), found=str(self.uv_faces.shape),
            )
        self.masks = {name: check.indices(f"masks/{name}", idx, n_verts) for name, idx in (masks or {}).items()}
        self.face_masks = {name: check.indices(f"face_masks/{name}", idx, len(self.faces))
                           for name, idx in (face_masks or {}).items()}
        if landmarks is not None:
            landmarks.check_faces(len(self.faces))
        self.landmarks = landmarks
        self.metadata: dict[str, str] = dict(metadata or {})
        added = str(self.metadata.get(ADDED_VERTICES_KEY, "0"))
        if not added.isdigit() or int(added) >= n_verts:
            check.fail(f"metadata/{ADDED_VERTICES_KEY}", "not a count of added vertices", f"0..{n_verts - 1}",
                       repr(added)[:40])
        self._n_added = int(added)
        # Every array handed out (``faces``, ``v_template``, ``arrays()``, ...) is a view of these: keep them
        # read-only views, so that no caller can change the model (and its cached identity) in place.
        for name in ("faces", "_template", "_shape_basis", "_frame_basis", "j_regressor", "_weights_t",
                     "_j_template", "_j_shape", "_j_expr", "uv_coords", "uv_faces", "_eyelid_basis"):
            setattr(self, name, _read_only(getattr(self, name)))
        self.masks = {name: _read_only(idx) for name, idx in self.masks.items()}
        self.face_masks = {name: _read_only(idx) for name, idx in self.face_masks.items()}
        self._cache_key: bytes | None = None
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ sizes and arrays
    @property
    def n_vertices(self) -> int:
        return self._weights_t.shape[1]

    @property
    def n_added_vertices(self) -> int:
        """Vertices appended after the model's own (120 with VHAP's teeth, else 0)."""
        return self._n_added

    @property
    def n_base_vertices(self) -> int:
        """Vertices of the model without added ones (FLAME's 5023 with or without teeth)."""
        return self.n_vertices - self.n_added_vertices

    @property
    def n_faces(self) -> int:
        return self.faces.shape[0]

    @property
    def n_joints(self) -> int:
        return N_JOINTS

    @property
    def n_shape(self) -> int:
        return self._shape_basis.shape[0]

    @property
    def n_expression(self) -> int:
        return self._n_expression

    @property
    def v_template(self) -> np.ndarray:
        """(V, 3) rest vertices."""
        return self._template.reshape(3, -1).T

    @property
    def shapedirs(self) -> np.ndarray:
        """(V, 3, n_shape) in the official layout."""
        return _official(self._shape_basis, self.n_vertices)

    @property
    def exprdirs(self) -> np.ndarray:
        """(V, 3, n_expression) in the official layout."""
        return _official(self._frame_basis[: self._n_expression], self.n_vertices)

    @property
    def posedirs(self) -> np.ndarray:
        """(V, 3, 36) in the official layout."""
        return _official(self._frame_basis[self._n_expression :], self.n_vertices)

    @property
    def weights(self) -> np.ndarray:
        """(V, J) skinning weights."""
        return self._weights_t.T

    @property
    def eyelid_dirs(self) -> np.ndarray | None:
        """(V, 3, 2) left and right eyelid blend shapes, or ``None``."""
        return None if self._eyelid_basis is None else _official(self._eyelid_basis, self.n_vertices)

    @property
    def has_eyelids(self) -> bool:
        return self._eyelid_basis is not None

    def component_names(self, field: str) -> tuple[str, ...]:
        """Human names of the first ``shape`` or ``expression`` components, when the model has any.

        Read from the metadata key ``"<field>_names"`` (a JSON list, as :func:`names_metadata` writes);
        at most as many names as the model has components, possibly fewer, often none.
        """
        count = {"shape": self.n_shape, "expression": self.n_expression}[field]
        try:
            names = json.loads(self.metadata.get(f"{field}_names", "[]"))
        except ValueError:
            return ()
        if not isinstance(names, list):
            return ()
        return tuple(str(name) for name in names[:count])

    @property
    def region_names(self) -> tuple[str, ...]:
        """Names of the regions: vertex masks and triangle masks, sorted."""
        return tuple(sorted(set(self.masks) | set(self.face_masks)))

    def region(self, name: str) -> np.ndarray:
        """A region as sampling takes it: a boolean face mask (F,) of a triangle mask, else vertex indices."""
        if name in self.face_masks:
            mask = np.zeros(self.n_faces, dtype=bool)
            mask[self.face_masks[name]] = True
            return mask
        if name in self.masks:
            return self.masks[name]
        raise FlameError(f"the model has no region {name!r} (regions: {', '.join(self.region_names) or 'none'})")

    def region_vertices(self, name: str) -> np.ndarray:
        """Vertex indices of a region: the vertex mask, else the corners of the triangle mask's triangles."""
        if name in self.masks:
            return self.masks[name]
        if name in self.face_masks:
            return np.unique(self.faces[self.face_masks[name]]).astype(np.int64)
        raise FlameError(f"the model has no region {name!r} (regions: {', '.join(self.region_names) or 'none'})")

    @property
    def has_uvs(self) -> bool:
        return self.uv_coords is not None

    def arrays(self) -> dict[str, np.ndarray]:
        """The model's arrays in the official layout (what the savers write)."""
        out = {
            "v_template": self.v_template,
            "faces": self.faces,
            "shapedirs": self.shapedirs,
            "exprdirs": self.exprdirs,
            "posedirs": self.posedirs,
            "j_regressor": self.j_regressor,
            "weights": self.weights,
            "parents": np.asarray(self.parents, dtype=np.int64),
        }
        if self.uv_coords is not None and self.uv_faces is not None:
            out["uv_coords"] = self.uv_coords
            out["uv_faces"] = self.uv_faces
        if self.eyelid_dirs is not None:
            out["eyelid_dirs"] = self.eyelid_dirs
        return out

    def truncated(self, n_shape: int | None = None, n_expression: int | None = None) -> FlameModel:
        """A copy keeping only the first ``n_shape`` / ``n_expression`` components."""
        n_shape = self.n_shape if n_shape is None else n_shape
        n_expression = self.n_expression if n_expression is None else n_expression
        check_component_counts(n_shape, self.n_shape, n_expression, self.n_expression)
        metadata = dict(self.metadata, n_shape=str(n_shape), n_expression=str(n_expression))
        return FlameModel(
            v_template=self.v_template, faces=self.faces,
            shapedirs=self.shapedirs[:, :, :n_shape], exprdirs=self.exprdirs[:, :, :n_expression],
            posedirs=self.posedirs, j_regressor=self.j_regressor, weights=self.weights, parents=self.parents,
            uv_coords=self.uv_coords, uv_faces=self.uv_faces, masks=self.masks, face_masks=self.face_masks,
            eyelid_dirs=self.eyelid_dirs, landmarks=self.landmarks,
            metadata=metadata, source=self.source, dtype=self.dtype,
        )

    def astype(self, dtype: Any) -> FlameModel:
        """A copy whose arrays are stored and evaluated in ``dtype``."""
        return FlameModel(
            **{k: v for k, v in self.arrays().items()},
            masks=self.masks, face_masks=self.face_masks, landmarks=self.landmarks, metadata=self.metadata,
            source=self.source, dtype=dtype,
        )

    # ------------------------------------------------------------------ evaluation
    def identity(self, shape: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shaped template (3V,) and its joints (J, 3) for one shape vector; cached per shape (read-only)."""
        key = shape.tobytes()
        if self._cache is None or key != self._cache_key:
            v = self._template + shape.astype(self.dtype) @ self._shape_basis
            j = self._j_template + (shape @ self._j_shape).reshape(N_JOINTS, 3)
            self._cache, self._cache_key = (_read_only(v), _read_only(j)), key
        return self._cache

    def clear_cache(self) -> None:
        """Forget the cached identity (results do not change, only speed)."""
        self._cache = self._cache_key = None

    def forward(
        self,
        params: FlameParams | None = None,
        *,
        static_offset: Any = None,
        dynamic_offset: Any = None,
        landmarks: bool = True,
        **fields: Any,
    ) -> FlameOutput:
        """Evaluate the model for single or batched parameters.

        Pass a :class:`FlameParams` or its fields as keywords. Returns vertices (..., V, 3),
        joints (..., J, 3) and, when a landmark embedding is attached, landmarks (..., L, 3), with
        the parameters' batch axes in front.

        ``static_offset`` ((V, 3) or (1, V, 3)) and ``dynamic_offset`` ((..., V, 3), one per frame)
        are per-vertex offsets added to the shaped mesh before the joints are regressed and the mesh
        is posed, as VHAP and GaussianAvatars do; V is the model's vertex count or, on a model with
        teeth, FLAME's own 5023 (the teeth then get none). The ``eyelids`` weights add the eyelid
        blend shapes to the posed vertices, as metrical-tracker and SMIRK do. ``landmarks=False`` skips the
        landmarks (``output.landmarks`` is None) where only the mesh is wanted.
        """
        if params is None:
            params = FlameParams(**fields)
        elif fields:
            params = params.replace(**fields)
        batch = params.batch_shape
        n = int(np.prod(batch)) if batch else 1
        shape = params.values("shape", self.n_shape)
        expr = params.values("expression", self.n_expression, broadcast=True).reshape(n, self.n_expression)
        pose = params.pose.reshape(n, N_JOINTS, 3)
        trans = params.values("translation", broadcast=True).reshape(n, 3)
        eyelids = self._eyelid_weights(params, n)
        static = None if static_offset is None else self._offset("static_offset", static_offset, ())
        dynamic = None if dynamic_offset is None else self._offset("dynamic_offset", dynamic_offset, batch)

        rotations = lbs.rodrigues(pose)  # float64, (n, J, 3, 3)
        vertices = np.empty((n, self.n_vertices, 3), dtype=self.dtype)
        joints = np.empty((n, N_JOINTS, 3), dtype=self.dtype)
        shared_identity = shape.ndim == 1
        if shared_identity:
            v_id, j_id = self.identity(shape)
            if static is not None:
                v_id, j_id = v_id + static[0], j_id + static[1]
        else:
            shape = shape.reshape(n, self.n_shape)
        for start in range(0, n, CHUNK_FRAMES):
            s = slice(start, min(start + CHUNK_FRAMES, n))
            if not shared_identity:
                v_id = self._template + shape[s].astype(self.dtype) @ self._shape_basis
                j_id = self._j_template + (shape[s] @ self._j_shape).reshape(-1, N_JOINTS, 3)
                if static is not None:
                    v_id, j_id = v_id + static[0], j_id + static[1]
            e = expr[s]
            coeffs = np.concatenate([e, lbs.pose_features(rotations[s])], axis=1).astype(self.dtype)
            planes = coeffs @ self._frame_basis
            planes += v_id
            j_rest = j_id + (e @ self._j_expr).reshape(-1, N_JOINTS, 3)
            if dynamic is not None:
                planes += dynamic[0].reshape(n, -1)[s]
                j_rest = j_rest + dynamic[1].reshape(n, N_JOINTS, 3)[s]
            j_posed, transforms = lbs.rigid_transforms(rotations[s], j_rest, self.parents)
            joints[s] = j_posed + trans[s, None, :]
            planes = planes.reshape(len(e), 3, -1)
            transforms = transforms.astype(self.dtype)
            for sub in range(0, len(e), SKIN_FRAMES):
                k = slice(sub, sub + SKIN_FRAMES)
                frames = slice(start + sub, start + sub + len(planes[k]))
                skinned = lbs.skin(planes[k], self._weights_t, transforms[k])
                skinned += trans[frames].T[:, :, None].astype(self.dtype)
                if eyelids is not None:
                    lids = eyelids[frames].astype(self.dtype) @ self._eyelid_basis
                    skinned += lids.reshape(-1, 3, self.n_vertices).transpose(1, 0, 2)
                vertices[frames] = skinned.transpose(1, 2, 0)

        with np.errstate(over="ignore", invalid="ignore"):  # one cheap pass: sums keep NaN/inf
            finite = np.isfinite(vertices.sum()) and np.isfinite(joints.sum())
        if not finite:
            raise FlameError("the model gives non-finite vertices for these parameters "
                             "(its arrays or the parameters are out of range)")
        points = None
        if landmarks and self.landmarks is not None:
            rows = contour_rows(rotations) if self.landmarks.has_contour else None
            points = self.landmarks.evaluate(vertices, self.faces, rows)
            points = points.reshape(batch + points.shape[1:])
        return FlameOutput(
            vertices=vertices.reshape(batch + vertices.shape[1:]),
            joints=joints.reshape(batch + joints.shape[1:]),
            landmarks=points,
        )

    def _eyelid_weights(self, params: FlameParams, n: int) -> np.ndarray | None:
        """(n, 2) eyelid weights, or ``None`` when unset or all zero (nothing to add)."""
        if params.eyelids is None or not np.any(params.eyelids):
            return None
        if self._eyelid_basis is None:
            raise ParamsError(
                "the eyelids parameter is set but this model has no eyelid blend shapes "
                "(load it with eyelids=('l_eyelid.npy', 'r_eyelid.npy'))"
            )
        return params.values("eyelids", broadcast=True).reshape(n, N_EYELIDS)

    def _offset(self, name: str, value: Any, batch: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Per-vertex offsets in planar layout (..., 3V) in ``dtype`` and their joint offsets (..., 3J).

        ``batch``: the frame axes the offsets must have (``()``: one offset for every frame; a
        leading axis of 1 is accepted for it).
        """
        array = np.asarray(value)
        if array.dtype.kind not in "fiu":
            raise ParamsError(f"{name} must hold numbers, got {array.dtype}")
        n_verts = array.shape[-2] if array.ndim >= 2 else -1
        if array.ndim < 2 or array.shape[-1] != 3:
            raise ParamsError(f"{name} must have shape (..., V, 3), got {array.shape}")
        if n_verts == self.n_base_vertices + TEETH_VERTICES and self.n_added_vertices == 0:
            raise ParamsError(
                f"{name} has {n_verts} vertices: FLAME's {self.n_base_vertices} plus {TEETH_VERTICES} teeth; "
                f"load the model with teeth=True to apply it"
            )
        if n_verts not in (self.n_vertices, self.n_base_vertices):
            raise ParamsError(f"{name} has {n_verts} vertices, the model {self.n_vertices}")
        lead = array.shape[:-2]
        if lead != batch and not (lead in ((), (1,)) and batch in ((), (1,))):
            raise ParamsError(f"{name} has frame axes {lead}, the parameters {batch}")
        if not np.all(np.isfinite(array)):
            raise ParamsError(f"{name} contains non-finite values (NaN or inf)")
        flat = array.reshape(-1, n_verts, 3)
        # One copy into the planar layout; FLAME's vertices only (teeth model): the teeth get nothing.
        planar = np.zeros((len(flat), 3, self.n_vertices), dtype=self.dtype)
        planar[:, :, :n_verts] = flat.transpose(0, 2, 1)
        joints = (planar.reshape(-1, self.n_vertices) @ self.j_regressor.T).astype(np.float64)
        joints = joints.reshape(len(flat), 3, N_JOINTS).transpose(0, 2, 1).reshape(len(flat), -1)
        planar = planar.reshape(len(flat), -1)
        if not batch:
            return planar[0], joints[0].reshape(N_JOINTS, 3)
        return planar, joints

    def __call__(self, params: FlameParams | None = None, **fields: Any) -> FlameOutput:
        return self.forward(params, **fields)

    def __repr__(self) -> str:
        return (
            f"FlameModel({self.n_vertices} vertices, {self.n_faces} faces, {self.n_shape} shape, "
            f"{self.n_expression} expression, dtype={self.dtype}, source={self.source!r})"
        )


def names_metadata(field: str, names: Sequence[str]) -> dict[str, str]:
    """The metadata entry that :meth:`FlameModel.component_names` reads back."""
    return {f"{field}_names": json.dumps(list(names))}


def check_component_counts(n_shape: Any, max_shape: int, n_expression: Any, max_expression: int) -> None:
    """Raise unless ``0 <= n_shape <= max_shape`` and ``0 <= n_expression <= max_expression`` (integers)."""
    for name, n, most in (("n_shape", n_shape, max_shape), ("n_expression", n_expression, max_expression)):
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 0 <= n <= most:
            raise FlameError(f"{name} must be an integer between 0 and {most}, got {n!r}")


def _read_only(array: Any) -> Any:
    """A read-only view of ``array`` (``None`` stays ``None``); the array itself is left writable."""
    if array is None:
        return None
    view = array.view()
    view.setflags(write=False)
    return view


def _regress_components(regressor: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Joint offsets of each blend direction: (J, V) @ (V, 3, K) -> (K, 3J), joint-major."""
    n_verts, _, n_components = dirs.shape
    flat = np.ascontiguousarray(dirs, dtype=np.float64).reshape(n_verts, 3 * n_components)
    joints = (regressor @ flat).reshape(N_JOINTS, 3, n_components)
    return joints.transpose(2, 0, 1).reshape(n_components, 3 * N_JOINTS)


def _planar(dirs: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """(V, 3, K) official blend directions to (K, 3V) rows of x, then y, then z coordinates."""
    n_verts, _, n_components = dirs.shape
    return np.ascontiguousarray(dirs.transpose(2, 1, 0), dtype=dtype).reshape(n_components, 3 * n_verts)


def _official(basis: np.ndarray, n_verts: int) -> np.ndarray:
    """Inverse of :func:`_planar`."""
    return basis.reshape(basis.shape[0], 3, n_verts).transpose(2, 1, 0)


class _Checker:
    """Validates arrays against the layout, raising :class:`ModelFileError` naming the key."""

    def __init__(self, source: str | None) -> None:
        self.source = source

    def fail(self, key: str, problem: str, expected: str | None = None, found: str | None = None) -> None:
        raise ModelFileError(self.source, problem, key=key, expected=expected, found=found)

    def array(self, key: str, value: Any, shape: tuple[int | None, ...]) -> np.ndarray:
        try:
            array = np.asarray(value)
        except Exception as exc:
            self.fail(key, f"not an array ({exc})")
        expected = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        if array.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, array.shape)):
            self.fail(key, "wrong shape", expected, str(array.shape))
        if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
            self.fail(key, "wrong dtype", "floating-point numbers", str(array.dtype))
        if not np.all(np.isfinite(array)):
            self.fail(key, "non-finite values (NaN or inf)")
        return array

    def indices(self, key: str, value: Any, upper: int, ndim: int = 1) -> np.ndarray:
        array = np.asarray(value)
        if array.ndim != ndim:
            self.fail(key, "wrong number of axes", str(ndim), str(array.ndim))
        whole_floats = np.issubdtype(array.dtype, np.floating) and np.all(np.mod(array, 1) == 0)
        if not (np.issubdtype(array.dtype, np.integer) or whole_floats):
            self.fail(key, "wrong dtype", "integer indices", str(array.dtype))
        array = array.astype(np.int64)
        if array.size and (array.min() < 0 or array.max() >= upper):
            self.fail(key, "index out of range", f"0..{upper - 1}", f"{array.min()}..{array.max()}")
        return array

    def faces(self, key: str, value: Any, n_verts: int) -> np.ndarray:
        faces = self.indices(key, value, n_verts, ndim=2)
        if faces.shape[1] != 3 or faces.shape[0] == 0:
            self.fail(key, "wrong shape", "(F, 3) triangles", str(faces.shape))
        return faces.astype(np.int32)

    def parents(self, key: str, value: Any) -> tuple[int, ...]:
        parents = tuple(int(p) for p in np.asarray(value).ravel())
        if len(parents) != N_JOINTS:
            self.fail(key, "wrong number of joints", str(N_JOINTS), str(len(parents)))
        if parents[0] != -1 or any(not 0 <= p < j for j, p in enumerate(parents) if j > 0):
            self.fail(key, "parents are not well-ordered", "root -1 and each parent before its child", str(parents))
        return parents
