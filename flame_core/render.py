"""Normal maps of a mesh seen by a camera, for ControlNet-style conditioning and avatar pipelines.

Normals are the mesh's smooth (area-weighted) vertex normals, interpolated perspective-correctly across each
triangle and renormalised per pixel, then expressed in a named convention and encoded as ``n * 0.5 + 0.5``.

Camera-space conventions (``space="camera"``), as axis directions in the image:

==========  =====================  ====================  ==========================  ===================
name        +X (red)               +Y (green)            +Z (blue)                   facing the camera
==========  =====================  ====================  ==========================  ===================
opengl      image right            image up              towards the viewer          (0.5, 0.5, 1.0)
opencv      image right            image down            away from the viewer        (0.5, 0.5, 0.0)
scannet     image LEFT             image up              towards the viewer          (0.5, 0.5, 1.0)
==========  =====================  ====================  ==========================  ===================

``scannet`` (aliases ``controlnet``, ``bae``) is what ControlNet 1.1's normal model (trained on normal-BAE
predictions, ScanNet protocol) expects: "blue is front, red is left, green is top", i.e. OpenGL with X negated:
a surface turned towards the image's left edge is red.

World-space conventions (``space="world"``): ``flame`` (alias ``y_up``) keeps the model's axes (+X the
subject's left, +Y up, +Z out of the face); ``blender`` (alias ``z_up``) is the same head after the usual
Y-up -> Z-up import rotation (+90 degrees about X): ``(x, y, z) -> (x, -z, y)``, i.e. Blender world normals of
a head object whose only transform is that rotation. For any other object transform, pass its 3x3 rotation
matrix as ``convention``: a (3, 3) matrix is applied to FLAME world normals (world space) or to OpenCV
camera-space normals (camera space).

Back faces: coverage ignores winding. The normal is the interpolated vertex normal as the mesh defines it; with
``flip_backfaces=True`` pixels whose face is seen from behind (e.g. inside the mouth or the neck opening) get
the negated normal, as double-sided shading does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .axes import FLAME_TO_BLENDER
from .camera import Camera
from .errors import FlameError
from .mesh import vertex_normals
from .raster import Fragments, rasterize

_CAMERA_CONVENTIONS = {
    "opencv": np.diag([1.0, 1.0, 1.0]),
    "opengl": np.diag([1.0, -1.0, -1.0]),
    "scannet": np.diag([-1.0, -1.0, -1.0]),
}
_WORLD_CONVENTIONS = {
    "flame": np.eye(3),
    "blender": FLAME_TO_BLENDER,
}
_ALIASES = {"controlnet": "scannet", "bae": "scannet", "y_up": "flame", "world": "flame", "z_up": "blender"}

Background = str | Sequence[float] | None


@dataclass(frozen=True, eq=False)
class NormalMap:
    """A rendered normal map and its buffers; row 0 is the top of the image.

    ``image`` (H, W, 4) float32 RGBA: RGB = encoded normal ``n * 0.5 + 0.5`` (straight, not premultiplied,
    alpha when the background is transparent), A = coverage. ``normals`` (H, W, 3) float32 unit normals in the
    chosen space and convention (zero on background). ``depth`` (H, W) float32 camera z of the nearest
    surface (inf on background), ``face_index`` (H, W) int32 (-1 on background), ``mask`` (H, W) bool: any
    coverage. With supersampling, depth and face are those of the nearest sample in the pixel.
    """

    image: np.ndarray
    normals: np.ndarray
    depth: np.ndarray
    face_index: np.ndarray
    mask: np.ndarray
    space: str
    convention: str

    @property
    def alpha(self) -> np.ndarray:
        return self.image[..., 3]

    def to_uint8(self) -> np.ndarray:
        """(H, W, 4) uint8 RGBA."""
        return np.round(np.clip(self.image, 0.0, 1.0) * 255.0).astype(np.uint8)

    def save(self, path: str | Path, bit_depth: int | None = None, alpha: bool = True) -> None:
        """Write the image as PNG (8 or 16 bit) or EXR (16 = half, 32 = float); see :func:`images.save_image`."""
        from .images import save_image

        save_image(path, self.image if alpha else self.image[..., :3], bit_depth=bit_depth)


def convention_matrix(space: str = "camera", convention: str | np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """(3x3 matrix applied to OpenCV camera-space or FLAME world normals, convention name)."""
    if space not in ("camera", "world"):
        raise FlameError(f"space: expected 'camera' or 'world', found {space!r}")
    table = _CAMERA_CONVENTIONS if space == "camera" else _WORLD_CONVENTIONS
    if convention is None:
        convention = "opengl" if space == "camera" else "flame"
    if isinstance(convention, str):
        name = _ALIASES.get(convention.lower(), convention.lower())
        if name not in table:
            raise FlameError(f"convention: expected one of {sorted(table)} for {space} space, found {convention!r}")
        return table[name], name
    matrix = np.asarray(convention, dtype=np.float64)
    if matrix.shape != (3, 3):
        raise FlameError(f"convention: expected a name or a (3, 3) matrix, found shape {matrix.shape}")
    return matrix, "custom"


def _background_rgba(background: Background, neutral_rgb: np.ndarray) -> np.ndarray | None:
    """RGBA fill colour, or None for a transparent background."""
    if background is None or (isinstance(background, str) and background == "transparent"):
        return None
    if isinstance(background, str):
        if background == "black":
            return np.array([0.0, 0.0, 0.0, 1.0])
        if background == "neutral":
            return np.append(neutral_rgb, 1.0)
        expected = "None, 'transparent', 'black', 'neutral' or RGB(A)"
        raise FlameError(f"background: expected {expected}, found {background!r}")
    rgba = np.asarray(background, dtype=np.float64).reshape(-1)
    if rgba.size == 3:
        rgba = np.append(rgba, 1.0)
    if rgba.size != 4:
        raise FlameError(f"background: expected 3 or 4 numbers, found {rgba.size}")
    return rgba


def _sample_offsets(samples: int) -> list[tuple[float, float]]:
    k = round(float(np.sqrt(samples)))
    if k < 1 or k * k != samples:
        raise FlameError(f"samples: expected a square number (1, 4, 9, 16 ...), found {samples}")
    grid = (np.arange(k) + 0.5) / k
    return [(float(x), float(y)) for y in grid for x in grid]


def render_normal_map(
    vertices: np.ndarray,
    faces: np.ndarray,
    camera: Camera,
    *,
    space: str = "camera",
    convention: str | np.ndarray | None = None,
    samples: int = 1,
    background: Background = None,
    normals: np.ndarray | None = None,
    flip_backfaces: bool = False,
) -> NormalMap:
    """Render the normals of a mesh (vertices (V, 3) in world units, faces (F, 3)) seen by ``camera``.

    ``space`` ``"camera"`` or ``"world"``; ``convention`` a name from the module docstring or a 3x3 matrix
    (default ``opengl`` for camera space, ``flame`` for world space). ``samples`` (1, 4, 9, 16 ...) is a
    k x k grid of samples per pixel: normals are averaged over the covered samples and renormalised, alpha is
    the covered fraction. ``background``: None / ``"transparent"`` (RGB 0, alpha 0 outside the mesh and
    straight colour at edges), ``"black"``, ``"neutral"`` (the colour of a normal facing the camera along its
    axis) or an RGB(A) tuple; a fill colour is blended under partial pixels and makes alpha 1. ``normals``
    (V, 3) overrides the area-weighted vertex normals.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if normals is None:
        normals = vertex_normals(vertices, faces)
    normals = np.asarray(normals, dtype=np.float64)
    if normals.shape != vertices.shape:
        raise FlameError(f"normals: expected shape {vertices.shape} like the vertices, found {normals.shape}")
    matrix, name = convention_matrix(space, convention)
    # Normals are accumulated in the output space: world normals times M, where M = matrix (world) or
    # matrix @ R (camera; R takes world to OpenCV camera axes).
    to_out = matrix if space == "world" else matrix @ camera.R
    # (9, F) table: row 3 * c + k = component k of the output-space normal at corner c of each face.
    out_normals = np.ascontiguousarray((normals @ to_out.T).astype(np.float32).T)  # (3, V)
    table = np.take(out_normals, faces.T, axis=1).transpose(1, 0, 2).reshape(9, -1)
    H, W = camera.height, camera.width
    offsets = _sample_offsets(samples)
    if len(offsets) == 1:
        frags = rasterize(vertices, faces, camera, offset=offsets[0])
        pixels = frags.pixels
        n = _unit(_interpolate(frags, table, flip_backfaces))
        alpha = np.ones(pixels.size, dtype=np.float32)
        depth, face_index = frags.depth_image().ravel(), frags.face_image().ravel()
    else:
        acc = np.zeros((3, H * W), dtype=np.float32)
        count = np.zeros(H * W, dtype=np.float32)
        depth = np.full(H * W, np.inf, dtype=np.float32)
        face_index = np.full(H * W, -1, dtype=np.int32)
        for offset in offsets:
            frags = rasterize(vertices, faces, camera, offset=offset)
            p = frags.pixels
            acc[:, p] += _unit(_interpolate(frags, table, flip_backfaces))
            count[p] += 1.0
            nearer = frags.depth < depth[p]
            depth[p[nearer]] = frags.depth[nearer]
            face_index[p[nearer]] = frags.face[nearer]
        pixels = np.flatnonzero(count)
        n = _unit(acc[:, pixels])
        alpha = count[pixels] / np.float32(len(offsets))
    unit = np.zeros((H * W, 3), dtype=np.float32)
    _put_rows(unit, pixels, n)
    mask = np.zeros(H * W, dtype=bool)
    mask[pixels] = True
    neutral_dir = np.array([0.0, 0.0, -1.0]) if space == "camera" else camera.R.T @ [0.0, 0.0, -1.0]
    fill = _background_rgba(background, matrix @ neutral_dir * 0.5 + 0.5)
    image = np.zeros((H * W, 4), dtype=np.float32)
    encoded = [c * np.float32(0.5) + np.float32(0.5) for c in n]
    if fill is None:
        _put_rows(image, pixels, [*encoded, alpha])
    else:
        fill32 = fill.astype(np.float32)
        image[:] = fill32
        blend = [e * alpha + fill32[k] * (1 - alpha) for k, e in enumerate(encoded)]
        _put_rows(image, pixels, [*blend, np.full(pixels.size, fill32[3])])
    return NormalMap(
        image=image.reshape(H, W, 4),
        normals=unit.reshape(H, W, 3),
        depth=depth.reshape(H, W),
        face_index=face_index.reshape(H, W),
        mask=mask.reshape(H, W),
        space=space,
        convention=name,
    )


def _put_rows(out: np.ndarray, pixels: np.ndarray, columns: Sequence[np.ndarray] | np.ndarray) -> None:
    """``out[pixels] = columns`` stacked as rows, for a contiguous (N, C) array and C columns (M,): the rows are
    assembled, then scattered as single C-value items (one pass over ``out``)."""
    rows = np.empty((pixels.size, out.shape[1]), dtype=out.dtype)
    for k, values in enumerate(columns):
        rows[:, k] = values
    item = np.dtype((np.void, out.dtype.itemsize * out.shape[1]))
    out.view(item)[:, 0][pixels] = rows.view(item)[:, 0]


def _interpolate(frags: Fragments, table: np.ndarray, flip_backfaces: bool) -> np.ndarray:
    """(3, M) barycentric blend of the face corners' normals (table (9, F)), not normalised."""
    coef = np.take(table, frags.face.astype(np.intp), axis=1)
    bary = frags.bary.T
    n = coef[0:3] * bary[0] + coef[3:6] * bary[1] + coef[6:9] * bary[2]
    if flip_backfaces:
        n[:, frags.backfacing] *= -1.0
    return n


def _unit(n: np.ndarray) -> np.ndarray:
    """Normalise the columns of (3, M); zero columns stay zero."""
    length = np.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2])
    return n / np.where(length > 0, length, np.float32(1.0))


def iter_normal_maps(
    vertices: np.ndarray,
    faces: np.ndarray,
    camera: Camera | Sequence[Camera],
    *,
    progress: Callable[[int, int], None] | None = None,
    **options,
) -> Iterator[NormalMap]:
    """Yield one :class:`NormalMap` per frame of vertices (T, V, 3); ``camera`` is one camera or T of them.

    ``progress(done, total)`` is called after each frame. Other options as in :func:`render_normal_map`.
    """
    vertices = np.asarray(vertices)
    if vertices.ndim != 3 or vertices.shape[2] != 3:
        raise FlameError(f"vertices: expected (T, V, 3), found {vertices.shape}")
    total = vertices.shape[0]
    cameras = [camera] * total if isinstance(camera, Camera) else list(camera)
    if len(cameras) != total:
        raise FlameError(f"camera: expected one camera or {total}, found {len(cameras)}")
    for i in range(total):
        yield render_normal_map(vertices[i], faces, cameras[i], **options)
        if progress is not None:
            progress(i + 1, total)


def render_normal_maps(
    vertices: np.ndarray,
    faces: np.ndarray,
    camera: Camera | Sequence[Camera],
    *,
    progress: Callable[[int, int], None] | None = None,
    **options,
) -> np.ndarray:
    """(T, H, W, 4) float32 RGBA images for vertices (T, V, 3); see :func:`iter_normal_maps` to stream."""
    maps = [m.image for m in iter_normal_maps(vertices, faces, camera, progress=progress, **options)]
    if not maps:
        cam = camera if isinstance(camera, Camera) else None
        return np.zeros((0, cam.height if cam else 0, cam.width if cam else 0, 4), dtype=np.float32)
    return np.stack(maps)
