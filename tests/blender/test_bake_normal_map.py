"""flame.bake_normal_map in Blender: image datablock, exact scene-camera conversion, object transform, files,
UV bake and errors."""

from __future__ import annotations

import importlib
import math
from types import ModuleType

import bpy
import numpy as np
import pytest
from bpy_extras.object_utils import world_to_camera_view
from helpers import add_head, key_jaw_opening, mesh_positions
from mathutils import Vector

IMAGE = "FLAME Head Normals"


def _pixels(image) -> np.ndarray:
    """An image's pixels (H, W, 4), row 0 at the top."""
    w, h = image.size
    out = np.empty(w * h * 4, dtype=np.float32)
    image.pixels.foreach_get(out)
    return out.reshape(h, w, 4)[::-1]


def _load(path) -> np.ndarray:
    image = bpy.data.images.load(str(path))
    image.colorspace_settings.is_data = True
    try:
        return _pixels(image)
    finally:
        bpy.data.images.remove(image)


def _camera(location=(0.0, -1.0, 0.0), rotation=(math.pi / 2, 0.0, 0.0), **settings):
    scene = bpy.context.scene
    data = bpy.data.cameras.new("Camera")
    for key, value in settings.items():
        setattr(data, key, value)
    cam = bpy.data.objects.new("Camera", data)
    scene.collection.objects.link(cam)
    cam.location = location
    cam.rotation_euler = rotation
    scene.camera = cam
    bpy.context.view_layer.update()
    return cam


def _resolution(x, y, percentage=100, aspect=(1.0, 1.0)):
    render = bpy.context.scene.render
    render.resolution_x, render.resolution_y, render.resolution_percentage = x, y, percentage
    render.pixel_aspect_x, render.pixel_aspect_y = aspect


def _core(fc: ModuleType, name: str) -> ModuleType:
    return importlib.import_module(f"{fc.__name__}.{name}")


def _world_vertices(obj) -> np.ndarray:
    m = np.array(obj.matrix_world)
    return mesh_positions(obj).astype(np.float64) @ m[:3, :3].T + m[:3, 3]


def _mismatch(a: np.ndarray, b: np.ndarray, atol: float) -> float:
    """Fraction of pixels differing by more than ``atol`` in any channel."""
    return float(np.mean(np.any(np.abs(a - b) > atol, axis=-1)))


def test_defaults_give_a_float_non_colour_image_masking_the_head(fc):
    head = add_head()
    images_before = len(bpy.data.images)
    assert bpy.ops.flame.bake_normal_map() == {"FINISHED"}
    assert len(bpy.data.images) == images_before + 1
    image = bpy.data.images[IMAGE]
    assert tuple(image.size) == (512, 512)
    assert image.is_float and image.colorspace_settings.is_data
    px = _pixels(image)
    alpha = px[..., 3]
    assert 0.05 < np.mean(alpha > 0) < 0.9
    # Every vertex of the head projects onto a covered pixel of the core's front camera.
    camera = _core(fc, "camera").Camera.front(fc.demo_model().forward(fc.FlameParams()).vertices, (512, 512))
    flame = np.stack([mesh_positions(head)[:, 0], mesh_positions(head)[:, 2], -mesh_positions(head)[:, 1]], -1)
    uv, _ = camera.project(flame)
    cols, rows = np.clip(np.floor(uv).astype(int), 0, 511).T
    assert np.mean(alpha[rows, cols] > 0) > 0.97
    # Camera-space OpenGL normals: on the face, blue (towards the viewer) dominates.
    covered = px[alpha > 0]
    assert np.median(covered[:, 2]) > 0.8
    np.testing.assert_allclose(np.linalg.norm(covered[:, :3] * 2 - 1, axis=1), 1.0, atol=1e-4)
    # Running again reuses the image; another size replaces it under the same name.
    assert bpy.ops.flame.bake_normal_map() == {"FINISHED"}
    assert len(bpy.data.images) == images_before + 1
    assert bpy.ops.flame.bake_normal_map(camera="FRONT", width=64, height=32) == {"FINISHED"}
    assert len(bpy.data.images) == images_before + 1
    assert tuple(bpy.data.images[IMAGE].size) == (64, 32)


def test_baked_image_is_kept_in_the_saved_file(tmp_path):
    add_head()
    assert bpy.ops.flame.bake_normal_map(width=48, height=40) == {"FINISHED"}
    baked = _pixels(bpy.data.images[IMAGE]).copy()
    path = tmp_path / "baked.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.open_mainfile(filepath=str(path))
    image = bpy.data.images[IMAGE]
    assert image.packed_file is not None and image.is_float
    np.testing.assert_array_equal(_pixels(image), baked)


def test_front_camera_follows_the_head_placement(fc):
    head = add_head()
    head.flame.jaw = (0.2, 0.0, 0.0)
    assert bpy.ops.flame.bake_normal_map(camera="FRONT", width=96, height=64) == {"FINISHED"}
    still = _pixels(bpy.data.images[IMAGE]).copy()
    # The same head rendered directly in FLAME axes by the core's default front camera.
    camera = _core(fc, "camera").Camera.front(
        np.stack([mesh_positions(head)[:, 0], mesh_positions(head)[:, 2], -mesh_positions(head)[:, 1]], -1), (96, 64)
    )
    flame = np.stack([mesh_positions(head)[:, 0], mesh_positions(head)[:, 2], -mesh_positions(head)[:, 1]], -1)
    direct = _core(fc, "render").render_normal_map(flame, fc.demo_model().faces, camera).image
    assert _mismatch(still, direct, 1e-3) < 0.005
    # Moving and turning the head object does not change a front view in camera space.
    head.location = (0.3, -0.2, 0.1)
    head.rotation_euler = (0.3, -0.2, 0.7)
    bpy.context.view_layer.update()
    assert bpy.ops.flame.bake_normal_map(camera="FRONT", width=96, height=64) == {"FINISHED"}
    assert _mismatch(_pixels(bpy.data.images[IMAGE]), still, 1e-3) < 0.005


def test_scene_camera_matches_an_independent_camera(fc):
    head = add_head()
    _camera(lens=50.0, sensor_width=36.0, clip_start=0.05, clip_end=50.0)
    _resolution(64, 48)
    assert bpy.ops.flame.bake_normal_map(camera="SCENE") == {"FINISHED"}
    image = bpy.data.images[IMAGE]
    assert tuple(image.size) == (64, 48)
    # Looking along +Y from (0, -1, 0): OpenCV x = world X, y = world -Z, z = world Y.
    R = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    t = -R @ np.array([0.0, -1.0, 0.0])
    f = 50.0 / 36.0 * 64
    camera = _core(fc, "camera").Camera(f, f, 32.0, 24.0, 64, 48, R, t, near=0.05, far=50.0)
    direct = _core(fc, "render").render_normal_map(_world_vertices(head), fc.demo_model().faces, camera).image
    assert np.mean(direct[..., 3] > 0) > 0.05
    assert _mismatch(_pixels(image), direct, 1e-4) < 0.002


@pytest.mark.parametrize(
    ("fit", "resolution", "percentage", "aspect", "shift"),
    [
        ("AUTO", (80, 50), 100, (1.0, 1.0), (0.0, 0.0)),
        ("AUTO", (50, 90), 50, (1.0, 1.0), (0.1, -0.05)),
        ("VERTICAL", (120, 60), 100, (1.0, 1.0), (0.0, 0.1)),
        ("HORIZONTAL", (60, 100), 100, (2.0, 1.0), (-0.1, 0.0)),
        ("AUTO", (100, 100), 100, (1.0, 1.5), (0.05, 0.05)),
    ],
)
def test_head_centre_projects_where_blender_says(fc, addon, fit, resolution, percentage, aspect, shift):
    head = add_head()
    head.location = (0.02, 0.0, -0.01)
    cam = _camera(location=(0.15, -0.9, 0.1), rotation=(math.radians(85), 0.0, math.radians(8)),
                  lens=60.0, sensor_width=32.0, sensor_height=20.0, sensor_fit=fit, shift_x=shift[0],
                  shift_y=shift[1])
    _resolution(*resolution, percentage=percentage, aspect=aspect)
    bpy.context.view_layer.update()
    scene = bpy.context.scene
    centre = _world_vertices(head).mean(axis=0)
    x, y, _ = world_to_camera_view(scene, cam, Vector(centre))
    bake = importlib.import_module(f"{addon.__name__}.operators.bake_normal_map")
    camera = bake.scene_camera(scene, cam)
    w, h = resolution[0] * percentage // 100, resolution[1] * percentage // 100
    assert camera.size == (w, h)
    uv, _ = camera.project(centre)
    np.testing.assert_allclose(uv, [x * w, (1 - y) * h], atol=1e-3)
    # A corner of the head (a vertex) too: the whole mapping, not just one point, agrees.
    corner = _world_vertices(head)[np.argmax(_world_vertices(head)[:, 0])]
    cx, cy, _ = world_to_camera_view(scene, cam, Vector(corner))
    np.testing.assert_allclose(camera.project(corner)[0], [cx * w, (1 - cy) * h], atol=1e-3)
    assert bpy.ops.flame.bake_normal_map(camera="SCENE") == {"FINISHED"}
    alpha = _pixels(bpy.data.images[IMAGE])[..., 3]
    assert alpha.shape == (h, w)
    assert alpha[int(uv[1]), int(uv[0])] > 0  # the head covers its own centre


def test_object_transform_moves_the_head_in_the_image(fc, addon):
    head = add_head()
    cam = _camera(lens=35.0)
    _resolution(96, 96)
    bake = importlib.import_module(f"{addon.__name__}.operators.bake_normal_map")
    camera = bake.scene_camera(bpy.context.scene, cam)

    def centroid():
        assert bpy.ops.flame.bake_normal_map(camera="SCENE") == {"FINISHED"}
        alpha = _pixels(bpy.data.images[IMAGE])[..., 3]
        rows, cols = np.nonzero(alpha > 0)
        return np.array([cols.mean(), rows.mean()]), _pixels(bpy.data.images[IMAGE]).copy()

    before, image_before = centroid()
    start = camera.project(_world_vertices(head).mean(axis=0))[0]
    head.location = (0.06, 0.0, 0.03)
    bpy.context.view_layer.update()
    after, _ = centroid()
    moved = camera.project(_world_vertices(head).mean(axis=0))[0]
    np.testing.assert_allclose(after - before, moved - start, atol=1.5)
    assert after[0] > before[0] + 3 and after[1] < before[1] - 1  # right and up in the image
    # Turning the head by 90 degrees shows its side: a different image, equal to the core's render.
    head.location = (0.0, 0.0, 0.0)
    head.rotation_euler = (0.0, 0.0, math.pi / 2)
    bpy.context.view_layer.update()
    _, turned = centroid()
    covered = (turned[..., 3] > 0) | (image_before[..., 3] > 0)
    assert _mismatch(turned[covered], image_before[covered], 0.05) > 0.3
    direct = _core(fc, "render").render_normal_map(_world_vertices(head), fc.demo_model().faces, camera).image
    assert _mismatch(turned, direct, 1e-4) < 0.002


def test_world_space_normals_follow_the_object_rotation(fc):
    head = add_head()
    assert bpy.ops.flame.bake_normal_map(camera="FRONT", space="WORLD", width=64, height=64) == {"FINISHED"}
    still = _pixels(bpy.data.images[IMAGE]).copy()
    mask = still[..., 3] > 0
    n = still[mask][:, :3] * 2 - 1
    assert np.median(n[:, 1]) < -0.5  # the face looks along Blender's -Y
    head.rotation_euler = (0.0, 0.0, math.pi / 2)  # now it looks along +X
    bpy.context.view_layer.update()
    assert bpy.ops.flame.bake_normal_map(camera="FRONT", space="WORLD", width=64, height=64) == {"FINISHED"}
    turned = _pixels(bpy.data.images[IMAGE])
    # The front camera turned with the head: same coverage, normals rotated by +90 degrees about Z.
    assert _mismatch(turned[..., 3:], still[..., 3:], 1e-3) < 0.01
    both = mask & (turned[..., 3] > 0)
    rotated = still[both][:, :3] * 2 - 1
    expected = np.stack([-rotated[:, 1], rotated[:, 0], rotated[:, 2]], -1)
    assert np.median(np.abs(turned[both][:, :3] * 2 - 1 - expected)) < 1e-3
    # FLAME convention: Blender world (x, y, z) -> (x, z, -y).
    assert bpy.ops.flame.bake_normal_map(camera="FRONT", space="WORLD", convention="FLAME", width=64,
                                         height=64) == {"FINISHED"}
    flame = _pixels(bpy.data.images[IMAGE])[both][:, :3] * 2 - 1
    blender = turned[both][:, :3] * 2 - 1
    np.testing.assert_allclose(flame, np.stack([blender[:, 0], blender[:, 2], -blender[:, 1]], -1), atol=1e-5)


@pytest.mark.parametrize(("file_format", "suffix", "tolerance"),
                         [("PNG8", ".png", 0.51 / 255), ("PNG16", ".png", 0.6 / 65535), ("EXR", ".exr", 0.0)])
def test_frames_are_saved_per_frame_and_reload_identically(tmp_path, file_format, suffix, tolerance):
    head = add_head()
    scene = bpy.context.scene
    key_jaw_opening(head, last_frame=3)
    scene.frame_set(5)
    target = tmp_path / "out" / "normals_###"
    result = bpy.ops.flame.bake_normal_map(camera="FRONT", width=40, height=48, samples=4, frame_start=1,
                                           frame_end=3, filepath=str(target), file_format=file_format)
    assert result == {"FINISHED"}
    assert scene.frame_current == 5
    files = [tmp_path / "out" / f"normals_{f:03d}{suffix}" for f in (1, 2, 3)]
    assert all(p.is_file() for p in files)
    frames = [_load(p) for p in files]
    last = _pixels(bpy.data.images[IMAGE])  # the image holds the last frame
    assert frames[2].shape == last.shape == (48, 40, 4)
    assert np.abs(frames[2] - last).max() <= tolerance + 1e-6
    assert np.any((last[..., 3] > 0) & (last[..., 3] < 1))  # supersampled edges survive the round trip
    assert _mismatch(frames[0], frames[2], 0.05) > 0.01  # the jaw moved between frames
    # A single frame renders the current one; without '#' the name is used as given (extension added).
    assert bpy.ops.flame.bake_normal_map(camera="FRONT", width=40, height=48, samples=4,
                                         filepath=str(tmp_path / "single"), file_format=file_format) == {"FINISHED"}
    assert (tmp_path / f"single{suffix}").is_file()
    np.testing.assert_allclose(_load(tmp_path / f"single{suffix}"), _pixels(bpy.data.images[IMAGE]),
                               atol=tolerance + 1e-6)


def test_frame_range_without_hashes_numbers_the_files(tmp_path):
    add_head()
    assert bpy.ops.flame.bake_normal_map(camera="FRONT", width=16, height=16, frame_start=2, frame_end=3,
                                         filepath=str(tmp_path / "n.png")) == {"FINISHED"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n_0002.png", "n_0003.png"]


def test_uv_bake_covers_the_uv_islands(fc):
    head = add_head()
    model = fc.demo_model()
    assert bpy.ops.flame.bake_normal_map(space="UV_OBJECT", width=256, height=256, padding=2) == {"FINISHED"}
    image = bpy.data.images["FLAME Head UV Normals"]
    assert tuple(image.size) == (256, 256) and image.is_float and image.colorspace_settings.is_data
    w = h = 256
    raw = np.empty(w * h * 4, dtype=np.float32)
    image.pixels.foreach_get(raw)
    bottom_up = raw.reshape(h, w, 4)  # Blender's rows: row 0 is v = 0
    centroids = model.uv_coords[model.uv_faces].mean(axis=1)
    rows = np.clip((centroids[:, 1] * h).astype(int), 0, h - 1)
    cols = np.clip((centroids[:, 0] * w).astype(int), 0, w - 1)
    assert np.mean(bottom_up[rows, cols, 3] > 0) > 0.99
    assert np.mean(bottom_up[..., 3] == 0) > 0.02  # texels away from every island stay empty
    # At each face's UV centroid the texel holds (about) that face's smooth normal in object space.
    co = mesh_positions(head).astype(np.float64)
    faces = model.faces
    vn = np.zeros_like(co)
    cross = np.cross(co[faces[:, 1]] - co[faces[:, 0]], co[faces[:, 2]] - co[faces[:, 0]])
    for k in range(3):
        np.add.at(vn, faces[:, k], cross)
    vn /= np.linalg.norm(vn, axis=1, keepdims=True)
    expected = vn[faces].mean(axis=1)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    got = bottom_up[rows, cols, :3] * 2 - 1
    # Large faces only (small ones share texels with their neighbours).
    edges = model.uv_coords[model.uv_faces][:, 1:] - model.uv_coords[model.uv_faces][:, :1]  # (F, 2, 2)
    uv_area = 0.5 * np.abs(edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0])
    big = uv_area * w * h > 8
    assert big.sum() > 100
    assert np.median(np.einsum("ij,ij->i", got[big], expected[big])) > 0.99
    # The object transform does not change an object-space bake.
    head.rotation_euler = (0.4, 0.2, 1.0)
    bpy.context.view_layer.update()
    before = bottom_up.copy()
    assert bpy.ops.flame.bake_normal_map(space="UV_OBJECT", width=256, height=256, padding=2) == {"FINISHED"}
    image.pixels.foreach_get(raw)
    np.testing.assert_allclose(raw.reshape(h, w, 4), before, atol=1e-6)


def test_errors_are_reported_and_leave_nothing_behind(tmp_path, addon):
    images = len(bpy.data.images)
    scenes = len(bpy.data.scenes)
    with pytest.raises(RuntimeError, match="not one"):
        bpy.ops.flame.bake_normal_map()  # no head
    head = add_head()
    with pytest.raises(RuntimeError, match="no camera"):
        bpy.ops.flame.bake_normal_map(camera="SCENE")
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(RuntimeError, match="Cannot bake"):
        bpy.ops.flame.bake_normal_map(camera="FRONT", filepath=str(blocker / "sub" / "n.png"))
    with pytest.raises(RuntimeError, match="folder"):
        bpy.ops.flame.bake_normal_map(camera="FRONT", filepath=str(tmp_path) + "/")
    with pytest.raises(RuntimeError, match="does not apply"):
        bpy.ops.flame.bake_normal_map(space="WORLD", convention="OPENGL")
    with pytest.raises(RuntimeError, match="square"):
        bpy.ops.flame.bake_normal_map(samples=3)
    with pytest.raises(RuntimeError, match="before the start"):
        bpy.ops.flame.bake_normal_map(frame_start=5, frame_end=2)
    cam = _camera(type="ORTHO")
    with pytest.raises(RuntimeError, match="perspective"):
        bpy.ops.flame.bake_normal_map(camera="SCENE")
    assert cam.name in bpy.data.objects
    assert len(bpy.data.images) == images and len(bpy.data.scenes) == scenes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
    assert head.name in bpy.data.objects


def test_uv_bake_needs_uvs(fc, tmp_path):
    from helpers import make_model

    path = tmp_path / "no_uvs.npz"
    fc.save_model(make_model(fc, uvs=False), path)
    add_head(model_path=str(path))
    images = len(bpy.data.images)
    with pytest.raises(RuntimeError, match="no UV"):
        bpy.ops.flame.bake_normal_map(space="UV_OBJECT")
    assert len(bpy.data.images) == images
    assert bpy.ops.flame.bake_normal_map(space="CAMERA", width=32, height=32) == {"FINISHED"}


def test_convention_items_are_the_core_conventions(fc, addon):
    bake = importlib.import_module(f"{addon.__name__}.operators.bake_normal_map")
    render = _core(fc, "render")
    assert [item[0] for item in bake.CONVENTION_ITEMS] == list(bake.CONVENTIONS)
    assert all(item[2] for item in bake.CONVENTION_ITEMS)  # every item has a tooltip
    for key, (_, spaces) in bake.CONVENTIONS.items():
        for space in spaces:
            name = bake.resolve_convention(space, key)
            assert render.convention_matrix("camera" if space == "CAMERA" else "world", name)[1] == name
