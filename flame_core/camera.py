"""Pinhole cameras in the OpenCV convention, with converters to and from Blender cameras.

Conventions (used everywhere in flame_core):

* Camera space is OpenCV's: ``x_cam = R @ x_world + t``; +X right, +Y down, +Z forward (the camera looks
  along +Z). Depth is the camera-space z.
* Pixel coordinates ``(u, v)`` are continuous: u to the right, v down, and pixel ``(row i, column j)`` covers
  ``j <= u < j + 1``, ``i <= v < i + 1``; its centre is ``(j + 0.5, i + 0.5)``. So ``(0, 0)`` is the top-left
  corner of the top-left pixel (Blender's and OpenGL's convention; OpenCV puts pixel centres on integers, see
  :meth:`Camera.from_opencv`). ``u = fx * x / z + cx``, ``v = fy * y / z + cy``.
* Blender cameras look along their local -Z with +Y up, and ``matrix_world`` maps camera to world.
* FLAME's world: +Y up, +Z out of the face, +X the subject's left. Seen from the front (camera on +Z looking
  towards -Z, +Y up) world +X points to the image right, so the subject's left is on the image's right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from .errors import FlameError

SensorFit = Literal["AUTO", "HORIZONTAL", "VERTICAL"]

# OpenCV camera axes expressed in Blender camera axes (and back): flip Y and Z.
_CV_FROM_BLENDER = np.diag([1.0, -1.0, -1.0])


def _vec3(value: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise FlameError(f"{name}: expected 3 finite numbers, found shape {arr.shape}")
    return arr


def _size(size: Sequence[int]) -> tuple[int, int]:
    if len(size) != 2 or int(size[0]) <= 0 or int(size[1]) <= 0:
        raise FlameError(f"size: expected (width, height) > 0, found {tuple(size)}")
    return int(size[0]), int(size[1])


@dataclass(frozen=True, eq=False)
class BlenderCamera:
    """The settings of a Blender perspective camera and its render output (what ``bpy`` calls them).

    ``matrix_world`` is the camera object's 4x4 camera->world matrix; ``lens`` is in mm; ``shift_x/shift_y``
    are in units of the fitted image dimension (the larger one for ``AUTO``); ``resolution`` is the rendered
    pixel size (``resolution_x/y`` at 100 %); ``pixel_aspect`` is ``(pixel_aspect_x, pixel_aspect_y)``.
    """

    matrix_world: np.ndarray
    lens: float
    sensor_width: float
    sensor_height: float
    sensor_fit: SensorFit
    resolution: tuple[int, int]
    pixel_aspect: tuple[float, float] = (1.0, 1.0)
    shift_x: float = 0.0
    shift_y: float = 0.0
    clip_start: float = 0.1
    clip_end: float = 100.0


def _blender_fit(sensor_fit: str, resolution: tuple[int, int], pixel_aspect: tuple[float, float]) -> str:
    """Blender's sensor fit rule: AUTO fits the larger of (aspect_x * width, aspect_y * height)."""
    if sensor_fit not in ("AUTO", "HORIZONTAL", "VERTICAL"):
        raise FlameError(f"sensor_fit: expected 'AUTO', 'HORIZONTAL' or 'VERTICAL', found {sensor_fit!r}")
    if sensor_fit == "AUTO":
        wide = pixel_aspect[0] * resolution[0] >= pixel_aspect[1] * resolution[1]
        return "HORIZONTAL" if wide else "VERTICAL"
    return sensor_fit


@dataclass(frozen=True, eq=False)
class Camera:
    """A pinhole camera: intrinsics in pixels (see the module docstring) and OpenCV world->camera extrinsics.

    ``R`` (3x3 rotation) and ``t`` (3,) map world to camera: ``x_cam = R @ x_world + t``. ``near`` clips
    geometry closer than that depth (triangles crossing it are cut, not dropped); ``far`` (None = no limit)
    drops fragments further away.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    R: np.ndarray = field(default_factory=lambda: np.eye(3))
    t: np.ndarray = field(default_factory=lambda: np.zeros(3))
    near: float = 0.01
    far: float | None = None

    def __post_init__(self) -> None:
        R = np.array(self.R, dtype=np.float64)
        t = np.array(self.t, dtype=np.float64).reshape(-1)
        if R.shape != (3, 3) or t.shape != (3,):
            raise FlameError(f"Camera: expected R (3, 3) and t (3,), found {R.shape} and {t.shape}")
        if not np.allclose(R @ R.T, np.eye(3), atol=1e-5) or np.linalg.det(R) < 0:
            raise FlameError("Camera: R must be a rotation matrix (orthonormal, determinant +1)")
        try:
            numbers = [float(getattr(self, name)) for name in ("fx", "fy", "cx", "cy", "near", "width", "height")]
            far = None if self.far is None else float(self.far)
        except (TypeError, ValueError):
            raise FlameError("Camera: fx, fy, cx, cy, width, height, near and far must be numbers") from None
        if not np.all(np.isfinite(numbers)) or (far is not None and np.isnan(far)):
            raise FlameError("Camera: fx, fy, cx, cy, width, height and near must be finite, far not NaN")
        if self.fx <= 0 or self.fy <= 0 or self.width <= 0 or self.height <= 0 or self.near <= 0:
            raise FlameError("Camera: fx, fy, width, height and near must be positive")
        if self.far is not None and self.far <= self.near:
            raise FlameError(f"Camera: far ({self.far}) must be beyond near ({self.near})")
        R.setflags(write=False)
        t.setflags(write=False)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "t", t)
        for name in ("fx", "fy", "cx", "cy", "near"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    # ----------------------------------------------------------------- properties
    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.width, self.height

    @property
    def K(self) -> np.ndarray:
        """3x3 intrinsics in this module's pixel convention (pixel centres at integer + 0.5)."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def position(self) -> np.ndarray:
        """The camera centre in world coordinates, ``-R.T @ t``."""
        return -self.R.T @ self.t

    @property
    def forward(self) -> np.ndarray:
        """Unit viewing direction (camera +Z) in world coordinates."""
        return self.R[2].copy()

    @property
    def world_to_camera_matrix(self) -> np.ndarray:
        """4x4 ``[R t; 0 1]``."""
        m = np.eye(4)
        m[:3, :3] = self.R
        m[:3, 3] = self.t
        return m

    # ----------------------------------------------------------------- mapping points
    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) -> OpenCV camera coordinates (..., 3)."""
        points = np.asarray(points, dtype=np.float64)
        return points @ self.R.T + self.t

    def camera_to_world(self, points: np.ndarray) -> np.ndarray:
        """OpenCV camera coordinates (..., 3) -> world points (..., 3)."""
        points = np.asarray(points, dtype=np.float64)
        return (points - self.t) @ self.R

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (..., 3) -> (pixel coordinates (..., 2) as (u, v), depth (...)).

        Points at or behind the camera plane (depth <= 0) get non-finite or mirrored pixel coordinates;
        check the depth.
        """
        cam = self.world_to_camera(points)
        z = cam[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.fx * cam[..., 0] / z + self.cx
            v = self.fy * cam[..., 1] / z + self.cy
        return np.stack([u, v], axis=-1), z

    def pixel_rays(self, uv: np.ndarray) -> np.ndarray:
        """Pixel coordinates (..., 2) -> unit ray directions in world coordinates (..., 3)."""
        uv = np.asarray(uv, dtype=np.float64)
        d = np.stack([(uv[..., 0] - self.cx) / self.fx, (uv[..., 1] - self.cy) / self.fy, np.ones(uv.shape[:-1])], -1)
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        return d @ self.R

    def with_size(self, size: Sequence[int]) -> Camera:
        """The same camera for another image size: intrinsics scaled by the size ratio per axis."""
        w, h = _size(size)
        sx, sy = w / self.width, h / self.height
        return replace(self, fx=self.fx * sx, fy=self.fy * sy, cx=self.cx * sx, cy=self.cy * sy, width=w, height=h)

    def allclose(self, other: Camera, rtol: float = 1e-6, atol: float = 1e-8) -> bool:
        """Whether two cameras match (intrinsics, size, clip planes, extrinsics) within tolerances."""
        if self.size != other.size or (self.far is None) != (other.far is None):
            return False
        a = [self.fx, self.fy, self.cx, self.cy, self.near, self.far or 0.0]
        b = [other.fx, other.fy, other.cx, other.cy, other.near, other.far or 0.0]
        return bool(
            np.allclose(a, b, rtol=rtol, atol=atol)
            and np.allclose(self.R, other.R, rtol=rtol, atol=atol)
            and np.allclose(self.t, other.t, rtol=rtol, atol=atol)
        )

    # ----------------------------------------------------------------- constructors
    @classmethod
    def look_at(
        cls,
        eye: Sequence[float],
        target: Sequence[float],
        up: Sequence[float] = (0.0, 1.0, 0.0),
        *,
        fov_y_degrees: float | None = None,
        focal: float | None = None,
        size: Sequence[int] = (512, 512),
        near: float = 0.01,
        far: float | None = None,
    ) -> Camera:
        """A camera at ``eye`` looking at ``target`` (at the image centre) with ``up`` pointing up in the image.

        Give the vertical field of view in degrees or the focal length in pixels (default: 30 degrees).
        Square pixels, principal point at the image centre.
        """
        eye_v, target_v, up_v = _vec3(eye, "eye"), _vec3(target, "target"), _vec3(up, "up")
        w, h = _size(size)
        forward = target_v - eye_v
        if np.linalg.norm(forward) == 0:
            raise FlameError("look_at: eye and target coincide")
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, up_v)
        if np.linalg.norm(right) < 1e-9:
            raise FlameError("look_at: up is parallel to the viewing direction")
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        R = np.stack([right, down, forward])
        if focal is None:
            fov = 30.0 if fov_y_degrees is None else float(fov_y_degrees)
            if not 0 < fov < 180:
                raise FlameError(f"fov_y_degrees: expected 0 < fov < 180, found {fov}")
            focal = 0.5 * h / np.tan(np.radians(fov) / 2)
        elif fov_y_degrees is not None:
            raise FlameError("look_at: give fov_y_degrees or focal, not both")
        return cls(float(focal), float(focal), w / 2, h / 2, w, h, R, -R @ eye_v, near, far)

    @classmethod
    def from_opencv(
        cls,
        K: np.ndarray,  # noqa: N803 - the usual names
        R: np.ndarray,  # noqa: N803
        t: Sequence[float],
        size: Sequence[int],
        *,
        near: float = 0.01,
        far: float | None = None,
        pixel_center: float = 0.0,
    ) -> Camera:
        """From an OpenCV intrinsics matrix K (3x3, no skew) and extrinsics R, t (world->camera).

        ``pixel_center`` is the coordinate K gives the centre of pixel (0, 0): 0.0 in OpenCV (the default),
        0.5 if K already uses this module's convention. ``cx, cy`` are shifted by ``0.5 - pixel_center``.
        """
        K = np.asarray(K, dtype=np.float64)
        if K.shape != (3, 3) or abs(K[0, 1]) > 1e-12 or not np.allclose(K[2], [0, 0, 1]):
            raise FlameError(f"from_opencv: expected K (3, 3) without skew, found {K.tolist()}")
        w, h = _size(size)
        shift = 0.5 - pixel_center
        return cls(K[0, 0], K[1, 1], K[0, 2] + shift, K[1, 2] + shift, w, h, R, np.asarray(t, float), near, far)

    def to_opencv(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(K with OpenCV's pixel centres at integers, R, t)."""
        K = self.K
        K[:2, 2] -= 0.5
        return K, self.R.copy(), self.t.copy()

    @classmethod
    def front(
        cls,
        vertices: np.ndarray,
        size: Sequence[int] = (512, 512),
        *,
        fov_y_degrees: float = 20.0,
        margin: float = 1.1,
        near: float | None = None,
    ) -> Camera:
        """A front view of a FLAME-axes mesh: camera on +Z looking towards -Z, +Y up, framing all vertices.

        The camera looks at the centre of the vertices' bounding box from far enough for their bounding sphere
        (times ``margin``) to fit the narrower field of view.
        """
        pts = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
        if pts.shape[0] == 0 or not np.all(np.isfinite(pts)):
            raise FlameError("Camera.front: expected finite (..., 3) vertices")
        w, h = _size(size)
        centre = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
        radius = max(float(np.linalg.norm(pts - centre, axis=1).max()), 1e-6) * margin
        half_y = np.radians(fov_y_degrees) / 2
        half_x = np.arctan(np.tan(half_y) * w / h)
        distance = radius / np.sin(min(half_x, half_y))
        near = near if near is not None else max((distance - radius) * 0.5, 1e-4)
        eye = centre + np.array([0.0, 0.0, distance])
        return cls.look_at(eye, centre, (0.0, 1.0, 0.0), fov_y_degrees=fov_y_degrees, size=(w, h), near=near)

    @classmethod
    def from_blender(
        cls,
        matrix_world: np.ndarray,
        lens: float,
        sensor_width: float = 36.0,
        sensor_height: float = 24.0,
        sensor_fit: SensorFit = "AUTO",
        resolution: Sequence[int] = (1920, 1080),
        pixel_aspect: Sequence[float] = (1.0, 1.0),
        shift_x: float = 0.0,
        shift_y: float = 0.0,
        clip_start: float = 0.1,
        clip_end: float | None = None,
        resolution_percentage: float = 100.0,
    ) -> Camera:
        """The camera Blender renders with (perspective cameras), from its settings.

        Follows Blender's view-plane rules: the sensor size is ``sensor_height`` for VERTICAL fit, else
        ``sensor_width``; AUTO fits the sensor to the larger of ``pixel_aspect_x * width`` and
        ``pixel_aspect_y * height``; shifts are in units of the fitted dimension; pixel aspect stretches
        the vertical. Scale in ``matrix_world`` is ignored. Pass ``BlenderCamera`` fields or the
        ``bpy`` values (``obj.matrix_world``, ``cam.lens`` ...).
        """
        M = np.asarray(matrix_world, dtype=np.float64)
        if M.shape != (4, 4):
            raise FlameError(f"matrix_world: expected (4, 4), found {M.shape}")
        rot = M[:3, :3] / np.linalg.norm(M[:3, :3], axis=0, keepdims=True)
        res = _size(resolution)
        w = int(res[0] * resolution_percentage / 100)
        h = int(res[1] * resolution_percentage / 100)
        asp_x, asp_y = float(pixel_aspect[0]), float(pixel_aspect[1])
        ycor = asp_y / asp_x
        fit = _blender_fit(sensor_fit, (w, h), (asp_x, asp_y))
        sensor = sensor_height if sensor_fit == "VERTICAL" else sensor_width
        viewfac = w if fit == "HORIZONTAL" else ycor * h
        fx = lens * viewfac / sensor
        fy = fx / ycor
        cx = w / 2 - shift_x * viewfac
        cy = h / 2 + shift_y * viewfac / ycor
        R = _CV_FROM_BLENDER @ rot.T
        t = -R @ M[:3, 3]
        return cls(fx, fy, cx, cy, w, h, R, t, clip_start, clip_end)

    def to_blender(
        self, sensor_width: float = 36.0, sensor_height: float | None = None, sensor_fit: SensorFit = "AUTO"
    ) -> BlenderCamera:
        """Blender camera settings that reproduce this camera (inverse of :meth:`from_blender`).

        ``sensor_width`` is kept; the lens follows from the focal length. With VERTICAL fit the lens is
        derived from ``sensor_height`` (default: ``sensor_width * height / width``). Unequal fx, fy become a
        pixel aspect (both aspects >= 1, as Blender requires).
        """
        w, h = self.width, self.height
        ratio = self.fx / self.fy  # = ycor = asp_y / asp_x
        pixel_aspect = (1.0, ratio) if ratio >= 1 else (1.0 / ratio, 1.0)
        sensor_h = sensor_width * h / w if sensor_height is None else float(sensor_height)
        fit = _blender_fit(sensor_fit, (w, h), pixel_aspect)
        sensor = sensor_h if sensor_fit == "VERTICAL" else sensor_width
        viewfac = w if fit == "HORIZONTAL" else ratio * h
        M = np.eye(4)
        M[:3, :3] = (_CV_FROM_BLENDER @ self.R).T
        M[:3, 3] = self.position
        return BlenderCamera(
            matrix_world=M,
            lens=self.fx * sensor / viewfac,
            sensor_width=float(sensor_width),
            sensor_height=sensor_h,
            sensor_fit=sensor_fit,
            resolution=(w, h),
            pixel_aspect=pixel_aspect,
            shift_x=(w / 2 - self.cx) / viewfac,
            shift_y=(self.cy - h / 2) * ratio / viewfac,
            clip_start=self.near,
            clip_end=self.far if self.far is not None else 1000.0,
        )

    @classmethod
    def from_blender_camera(cls, cam: BlenderCamera) -> Camera:
        """:meth:`from_blender` from a :class:`BlenderCamera`."""
        return cls.from_blender(
            cam.matrix_world, cam.lens, cam.sensor_width, cam.sensor_height, cam.sensor_fit, cam.resolution,
            cam.pixel_aspect, cam.shift_x, cam.shift_y, cam.clip_start, cam.clip_end,
        )  # fmt: skip


def default_front_camera(
    vertices: np.ndarray, size: Sequence[int] = (512, 512), *, fov_y_degrees: float = 20.0, margin: float = 1.1
) -> Camera:
    """Front view of a head in FLAME axes; see :meth:`Camera.front`."""
    return Camera.front(vertices, size, fov_y_degrees=fov_y_degrees, margin=margin)
