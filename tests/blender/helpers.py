"""Helpers for the Blender tests: small synthetic FLAME-layout models (no FLAME data), mesh access."""

from __future__ import annotations

from typing import Any

import bpy
import numpy as np


def grid_faces(rows: int, cols: int) -> np.ndarray:
    """Two triangles per cell of a rows x cols vertex grid."""
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
    a = (r * cols + c).ravel()
    b, d, e = a + 1, a + cols, a + cols + 1
    return np.concatenate([np.stack([a, b, e], 1), np.stack([a, e, d], 1)]).astype(np.int64)


def make_model(fc: Any, *, rows: int = 12, cols: int = 16, n_shape: int = 10, n_expression: int = 8,
               seed: int = 0, uvs: bool = True, masks: bool = True) -> Any:
    """A random but well-formed FlameModel on a curved grid (FLAME axes, face along +Z)."""
    rng = np.random.default_rng(seed)
    n = rows * cols
    v, u = np.meshgrid(np.linspace(-1, 1, rows), np.linspace(-1, 1, cols), indexing="ij")
    template = np.stack([0.08 * u.ravel(), 0.1 * v.ravel(), 0.05 * np.cos(u.ravel())], 1)
    template += rng.normal(scale=0.002, size=template.shape)
    n_joints = len(fc.JOINT_NAMES)
    weights = rng.random((n, n_joints)) + 0.1
    weights /= weights.sum(1, keepdims=True)
    j_regressor = rng.random((n_joints, n))
    j_regressor /= j_regressor.sum(1, keepdims=True)
    faces = grid_faces(rows, cols)
    uv_coords = np.stack([(u.ravel() + 1) / 2, (v.ravel() + 1) / 2], 1) if uvs else None
    return fc.FlameModel(
        v_template=template,
        faces=faces,
        shapedirs=rng.normal(scale=0.01, size=(n, 3, n_shape)),
        exprdirs=rng.normal(scale=0.01, size=(n, 3, n_expression)),
        posedirs=rng.normal(scale=0.001, size=(n, 3, 9 * (n_joints - 1))),
        j_regressor=j_regressor,
        weights=weights,
        uv_coords=uv_coords,
        uv_faces=faces if uvs else None,
        masks={"left": np.arange(0, n // 2), "right": np.arange(n // 2, n)} if masks else None,
        metadata={"version": "synthetic test model"},
    )


def blender_axes(points):
    """FLAME (x, y, z) -> Blender (x, -z, y), written out independently of the add-on."""
    points = np.asarray(points)
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def mesh_positions(obj):
    co = np.empty(3 * len(obj.data.vertices), dtype=np.float32)
    obj.data.vertices.foreach_get("co", co)
    return co.reshape(-1, 3)


def evaluated_world(obj, frame):
    """Evaluated vertex positions of ``obj`` (modifiers, shape keys, caches) at ``frame`` in world space."""
    bpy.context.scene.frame_set(frame)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        co = np.empty(3 * len(mesh.vertices), dtype=np.float32)
        mesh.vertices.foreach_get("co", co)
    finally:
        evaluated.to_mesh_clear()
    matrix = np.array(evaluated.matrix_world)
    return co.reshape(-1, 3).astype(np.float64) @ matrix[:3, :3].T + matrix[:3, 3]


def render_animation_setup(folder) -> Any:
    """The scene set to render frames 1-2 with Workbench at 48x48 PNG into ``folder/anim_####.png``, seen by a
    camera looking along +Y at the face."""
    scene = bpy.context.scene
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    scene.camera = camera
    camera.location = (0.0, -0.8, 0.0)
    camera.rotation_euler = (np.pi / 2, 0.0, 0.0)
    render = scene.render
    render.engine = "BLENDER_WORKBENCH"
    render.resolution_x = render.resolution_y = 48
    render.use_lock_interface = True
    render.image_settings.file_format = "PNG"
    scene.frame_start, scene.frame_end = 1, 2
    render.filepath = str(folder / "anim_")
    return scene


def image_pixels(path) -> np.ndarray:
    """The RGBA pixels of an image file, as Blender loads them (float32, flat)."""
    image = bpy.data.images.load(str(path))
    pixels = np.empty(len(image.pixels), dtype=np.float32)
    image.pixels.foreach_get(pixels)
    bpy.data.images.remove(image)
    return pixels


def add_head(**kwargs):
    """Run flame.add_head and return the new active object."""
    assert bpy.ops.flame.add_head(**kwargs) == {"FINISHED"}
    return bpy.context.view_layer.objects.active


def key_jaw_opening(head, last_frame: int, opening: float = 0.35) -> None:
    """Keyframe the jaw closed at frame 1 and open by ``opening`` radians at ``last_frame``."""
    head.flame.jaw = (0.0, 0.0, 0.0)
    head.keyframe_insert("flame.jaw", frame=1)
    head.flame.jaw = (opening, 0.0, 0.0)
    head.keyframe_insert("flame.jaw", frame=last_frame)
