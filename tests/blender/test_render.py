"""Final renders (as with ``blender -b ... -a``) see the animated head of every frame."""

from __future__ import annotations

import bpy
import numpy as np
from helpers import add_head


def _setup(tmp_path):
    obj = add_head()
    obj.flame.rotation = (0.0, 0.0, 0.0)
    obj.keyframe_insert("flame.rotation", frame=1)
    obj.flame.rotation = (0.0, 0.9, 0.0)
    obj.flame.jaw = (0.4, 0.0, 0.0)
    obj.keyframe_insert("flame.rotation", frame=2)
    scene = bpy.context.scene
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    scene.camera = camera
    camera.location = (0.0, -0.8, 0.0)
    camera.rotation_euler = (np.pi / 2, 0.0, 0.0)  # looking along +Y at the face
    render = scene.render
    render.engine = "BLENDER_WORKBENCH"
    render.resolution_x = render.resolution_y = 48
    render.use_lock_interface = True
    render.image_settings.file_format = "PNG"
    scene.frame_start, scene.frame_end = 1, 2
    render.filepath = str(tmp_path / "anim_")
    return scene


def _pixels(path):
    image = bpy.data.images.load(str(path))
    pixels = np.empty(len(image.pixels), dtype=np.float32)
    image.pixels.foreach_get(pixels)
    bpy.data.images.remove(image)
    return pixels


def test_animation_render_evaluates_each_frame(tmp_path):
    scene = _setup(tmp_path)
    scene.frame_set(2)  # the interface sits on the last frame while rendering the animation
    bpy.ops.render.render(animation=True)
    frames = [_pixels(tmp_path / f"anim_{f:04d}.png") for f in (1, 2)]
    stills = []
    for frame in (1, 2):
        scene.frame_set(frame)
        scene.render.filepath = str(tmp_path / f"still_{frame}.png")
        bpy.ops.render.render(write_still=True)
        stills.append(_pixels(tmp_path / f"still_{frame}.png"))
    assert np.abs(frames[0] - frames[1]).max() > 0.2  # the head turned
    np.testing.assert_allclose(frames[0], stills[0], atol=2 / 255)
    np.testing.assert_allclose(frames[1], stills[1], atol=2 / 255)
