"""Camera conventions: look_at, front view, OpenCV and Blender conversions."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core.camera import Camera, default_front_camera
from flame_core.errors import FlameError


def test_look_at_centre_up_right():
    cam = Camera.look_at((1.0, 2.0, 5.0), (0.2, 0.1, -0.3), up=(0, 1, 0), fov_y_degrees=40, size=(320, 240))
    uv, depth = cam.project(np.array([0.2, 0.1, -0.3]))
    assert np.allclose(uv, [160, 120]) and depth > 0
    # Something above the target (world +Y) appears higher in the image (smaller v).
    uv_up, _ = cam.project(np.array([0.2, 0.3, -0.3]))
    assert uv_up[1] < 120 and abs(uv_up[0] - 160) < 20
    # The camera's right = forward x up; a point that way appears to the right.
    forward = np.array([0.2, 0.1, -0.3]) - np.array([1.0, 2.0, 5.0])
    right = np.cross(forward, [0, 1, 0])
    uv_right, _ = cam.project(np.array([0.2, 0.1, -0.3]) + 0.1 * right / np.linalg.norm(right))
    assert uv_right[0] > 160
    # Vertical field of view: a point at the top edge of the frustum lands on v = 0.
    top = cam.camera_to_world(np.array([0.0, -np.tan(np.radians(20)) * 3.0, 3.0]))
    assert np.isclose(cam.project(top)[0][1], 0.0, atol=1e-9)
    assert np.allclose(cam.position, [1, 2, 5])


def test_front_camera_axes_and_framing():
    rng = np.random.default_rng(3)
    verts = rng.normal(size=(500, 3)) * [0.08, 0.12, 0.1] + [0.0, 0.02, 0.01]
    cam = default_front_camera(verts, (256, 200))
    assert cam.position[2] > verts[:, 2].max()
    assert np.allclose(cam.forward, [0, 0, -1])
    uv, depth = cam.project(verts)
    assert np.all(depth > cam.near)
    assert np.all((uv > 0) & (uv < [256, 200]))
    centre = verts.mean(axis=0)
    (u_left, _), _ = cam.project(centre + [0.05, 0, 0])  # +X: the subject's left
    (_, v_up), _ = cam.project(centre + [0, 0.05, 0])
    (u_c, v_c), _ = cam.project(centre)
    assert u_left > u_c  # subject's left appears on the image right
    assert v_up < v_c  # +Y up is up in the image


def test_opencv_round_trip_and_pixel_centres():
    K = np.array([[500.0, 0, 319.5], [0, 480.0, 239.5], [0, 0, 1]])
    rot = Camera.look_at((0.3, 0.2, 1.0), (0, 0, 0)).R
    t = np.array([0.01, -0.02, 1.1])
    cam = Camera.from_opencv(K, rot, t, (640, 480))
    pts = np.random.default_rng(0).normal(size=(10, 3)) * 0.1
    uv, _ = cam.project(pts)
    x = pts @ rot.T + t
    uv_cv = (x[:, :2] / x[:, 2:]) * [500, 480] + [319.5, 239.5]
    assert np.allclose(uv, uv_cv + 0.5)  # OpenCV centres on integers, ours on integer + 0.5
    K2, R2, t2 = cam.to_opencv()
    assert np.allclose(K2, K) and np.allclose(R2, rot) and np.allclose(t2, t)
    with pytest.raises(FlameError):
        Camera.from_opencv(np.eye(3) * [1, 1, 2], rot, t, (10, 10))


def _blender_reference(M, lens, sensor_x, sensor_y, fit, res, asp, shift, clip_start, points):  # noqa: N803
    """Pixel coordinates (top-left origin) by Blender's view-plane construction, step by step."""
    winx, winy = res
    aspx, aspy = asp
    ycor = aspy / aspx
    sensor_size = sensor_y if fit == "VERTICAL" else sensor_x
    pixsize = sensor_size * clip_start / lens
    resolved = fit if fit != "AUTO" else ("HORIZONTAL" if aspx * winx >= aspy * winy else "VERTICAL")
    viewfac = winx if resolved == "HORIZONTAL" else ycor * winy
    pixsize /= viewfac
    xmin = (-0.5 * winx + shift[0] * viewfac) * pixsize
    xmax = (0.5 * winx + shift[0] * viewfac) * pixsize
    ymin = (-0.5 * ycor * winy + shift[1] * viewfac) * pixsize
    ymax = (0.5 * ycor * winy + shift[1] * viewfac) * pixsize
    local = (np.linalg.inv(M) @ np.c_[points, np.ones(len(points))].T).T[:, :3]
    # Intersect the ray with the plane z = -clip_start, then map the view-plane rectangle to the image.
    px = local[:, 0] * clip_start / -local[:, 2]
    py = local[:, 1] * clip_start / -local[:, 2]
    u = (px - xmin) / (xmax - xmin) * winx
    v = (ymax - py) / (ymax - ymin) * winy
    return np.stack([u, v], axis=1)


def _rot_xyz(ax, ay, az):
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


@pytest.mark.parametrize(
    "fit, res, asp, shift",
    [
        ("AUTO", (1920, 1080), (1, 1), (0, 0)),
        ("AUTO", (600, 900), (1, 1), (0.1, -0.2)),
        ("HORIZONTAL", (600, 900), (1, 1), (-0.05, 0.1)),
        ("VERTICAL", (1280, 720), (1, 1), (0.2, 0.05)),
        ("AUTO", (1000, 980), (1, 1.1), (0.05, 0.1)),
        ("VERTICAL", (640, 640), (2, 1), (0, 0.3)),
    ],
)
def test_from_blender_matches_blender_view_plane(fit, res, asp, shift):
    M = np.eye(4)
    M[:3, :3] = _rot_xyz(1.2, -0.1, 0.4) * 2.0  # object scale is ignored
    M[:3, 3] = [0.4, -1.5, 0.3]
    cam = Camera.from_blender(M, 42.0, 36.0, 24.0, fit, res, asp, shift[0], shift[1], clip_start=0.05, clip_end=10.0)
    # Points in front of the camera: along its -Z axis with lateral scatter.
    rng = np.random.default_rng(1)
    rot = M[:3, :3] / 2.0
    local = np.c_[rng.uniform(-0.3, 0.3, (20, 2)), -rng.uniform(0.8, 3.0, 20)]
    pts = local @ rot.T + M[:3, 3]
    expected = _blender_reference(M, 42.0, 36.0, 24.0, fit, res, asp, shift, 0.05, pts)
    uv, depth = cam.project(pts)
    assert np.allclose(uv, expected, rtol=0, atol=1e-6)
    assert np.allclose(depth, -local[:, 2])
    # The inverse conversion reproduces the camera.
    back = Camera.from_blender_camera(cam.to_blender(36.0, 24.0, fit))
    assert back.allclose(cam)


def test_blender_default_camera_numbers():
    cam = Camera.from_blender(np.eye(4), 50.0, 36.0, 24.0, "AUTO", (1920, 1080))
    assert np.isclose(2 * np.degrees(np.arctan(960 / cam.fx)), 39.5977, atol=1e-3)
    uv, depth = cam.project(np.array([[0, 0, -5.0], [1, 0, -5], [0, 1, -5]]))
    assert np.allclose(uv[0], [960, 540]) and np.allclose(depth, 5)
    assert uv[1, 0] > 960 and uv[2, 1] < 540  # Blender +X right, +Y up


@pytest.mark.parametrize("fit", ["AUTO", "HORIZONTAL", "VERTICAL"])
def test_to_blender_round_trip(fit):
    rot = Camera.look_at((0.1, 0.3, 1), (0, 0, 0)).R
    cam = Camera(700.0, 650.0, 300.0, 260.0, 640, 480, rot, [0.0, 0.1, 1.2], far=50.0)
    bl = cam.to_blender(sensor_width=32.0, sensor_fit=fit)
    assert bl.sensor_width == 32.0 and bl.sensor_fit == fit and min(bl.pixel_aspect) == 1.0
    assert np.allclose(bl.matrix_world[:3, 3], cam.position)
    # Blender camera looks along its local -Z.
    assert np.allclose(-bl.matrix_world[:3, 2], cam.forward)
    assert Camera.from_blender_camera(bl).allclose(cam)


def test_camera_validation():
    with pytest.raises(FlameError):
        Camera(100, 100, 50, 50, 100, 100, R=np.diag([1, 1, -1]))
    with pytest.raises(FlameError):
        Camera.look_at((0, 0, 1), (0, 0, 0), up=(0, 0, 1))
    with pytest.raises(FlameError):
        Camera(100, 100, 50, 50, 100, 100, near=1.0, far=0.5)
