"""A tracked camera as an animated Blender camera, parented to the head it films.

Trackers such as metrical-tracker keep the head still and move the camera; the core gives one
:class:`~flame_core.camera.Camera` per frame in the head's FLAME axes. Each becomes Blender camera settings
(:meth:`Camera.to_blender`), turned into the head's object axes (FLAME ``(x, y, z)`` is Blender
``(x, -z, y)``) and keyed as location and rotation quaternion in bulk; lens, sensor and shift come from the
first frame. Rendering the scene through it at the tracked image size shows the head as the tracker saw it.
"""

from __future__ import annotations

from typing import Any

import bpy
import numpy as np
from mathutils import Matrix

from ...flame_core import Camera
from ...flame_core.axes import FLAME_TO_BLENDER
from .. import animation


def local_matrices(cameras: list[Camera]) -> np.ndarray:
    """(T, 4, 4) camera -> head-object matrices (Blender camera axes) of the tracked cameras."""
    turn = np.eye(4)
    turn[:3, :3] = FLAME_TO_BLENDER
    return np.stack([turn @ np.asarray(cam.to_blender().matrix_world) for cam in cameras])


def _quaternions(matrices: np.ndarray) -> np.ndarray:
    """(T, 4) w, x, y, z of each matrix's rotation, signs chosen so neighbours interpolate the short way."""
    rotations = [Matrix(m.tolist()).to_quaternion() for m in matrices]
    quats = np.array([(q.w, q.x, q.y, q.z) for q in rotations], dtype=np.float64)
    for i in range(1, len(quats)):
        if np.dot(quats[i], quats[i - 1]) < 0.0:
            quats[i] = -quats[i]
    return quats


def add_tracked_camera(context: Any, head: Any, cameras: list[Camera], frames: np.ndarray, name: str) -> Any:
    """A new camera object parented to ``head``, keyed at ``frames``; removed again if keying fails."""
    settings = cameras[0].to_blender()
    data = bpy.data.cameras.new(name)
    obj = bpy.data.objects.new(name, data)
    try:
        data.lens = settings.lens
        data.sensor_width = settings.sensor_width
        data.sensor_height = settings.sensor_height
        data.sensor_fit = settings.sensor_fit
        data.shift_x, data.shift_y = settings.shift_x, settings.shift_y
        data.clip_start, data.clip_end = settings.clip_start, settings.clip_end
        for collection in head.users_collection[:1] or [context.scene.collection]:
            collection.objects.link(obj)
        obj.parent = head
        obj.matrix_parent_inverse = Matrix.Identity(4)
        obj.rotation_mode = "QUATERNION"
        matrices = local_matrices(cameras)
        quats = _quaternions(matrices)
        channels = [animation.Channel("location", i, frames, matrices[:, i, 3], "Camera") for i in range(3)]
        channels += [animation.Channel("rotation_quaternion", i, frames, quats[:, i], "Camera") for i in range(4)]
        animation.write_keyframes(obj, channels, action_name=f"{name} Motion")
    except BaseException:
        remove_camera(obj)
        raise
    return obj


def remove_camera(obj: Any) -> None:
    """Delete a camera object made by :func:`add_tracked_camera`, its data and its action."""
    data = obj.data
    action = obj.animation_data.action if obj.animation_data is not None else None
    bpy.data.objects.remove(obj)
    if data is not None and data.users == 0:
        bpy.data.cameras.remove(data)
    if action is not None and action.users == 0:
        bpy.data.actions.remove(action)
