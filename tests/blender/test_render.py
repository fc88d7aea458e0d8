"""Final renders (as with ``blender -b ... -a``) see the animated head of every frame."""

from __future__ import annotations

import bpy
import numpy as np
from helpers import add_head, image_pixels, render_animation_setup


def _setup(tmp_path):
    obj = add_head()
    obj.flame.rotation = (0.0, 0.0, 0.0)
    obj.keyframe_insert("flame.rotation", frame=1)
    obj.flame.rotation = (0.0, 0.9, 0.0)
    obj.flame.jaw = (0.4, 0.0, 0.0)
    obj.keyframe_insert("flame.rotation", frame=2)
    return render_animation_setup(tmp_path)


def test_animation_render_evaluates_each_frame(tmp_path):
    scene = _setup(tmp_path)
    scene.frame_set(2)  # the interface sits on the last frame while rendering the animation
    bpy.ops.render.render(animation=True)
    frames = [image_pixels(tmp_path / f"anim_{f:04d}.png") for f in (1, 2)]
    stills = []
    for frame in (1, 2):
        scene.frame_set(frame)
        scene.render.filepath = str(tmp_path / f"still_{frame}.png")
        bpy.ops.render.render(write_still=True)
        stills.append(image_pixels(tmp_path / f"still_{frame}.png"))
    assert np.abs(frames[0] - frames[1]).max() > 0.2  # the head turned
    np.testing.assert_allclose(frames[0], stills[0], atol=2 / 255)
    np.testing.assert_allclose(frames[1], stills[1], atol=2 / 255)
