"""metrical-tracker checkpoints imported with the camera motion on the head or on a camera; unreadable companions."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import bpy
import numpy as np
import pytest
from helpers import add_head, mesh_positions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
import synthetic  # the synthetic files of the core tests
import torch_writer as tw  # the torch-format writer of the core tests

SIZE_HW = (480, 640)


def rotation(rotvec):
    angle = np.linalg.norm(rotvec)
    if angle == 0:
        return np.eye(3)
    k = np.array([[0, -rotvec[2], rotvec[1]], [rotvec[2], 0, -rotvec[0]], [-rotvec[1], rotvec[0], 0]]) / angle
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def write_checkpoints(folder: Path, n: int = 4, seed: int = 0) -> Path:
    """metrical-tracker's checkpoint/<frame>.frame files (torch zip archives holding numpy arrays)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(n):
        turn = rotation(rng.normal(size=3) * 0.2) @ np.diag([1.0, -1.0, -1.0])
        jaw = rotation(np.array([0.05 * i, 0.0, 0.0]))
        eyes = np.concatenate([rotation(rng.normal(size=3) * 0.1)[:2].ravel() for _ in range(2)])
        frame = {
            "flame": {"exp": rng.normal(size=(1, 8)).astype(np.float32), "shape": np.full((1, 10), 0.3, np.float32),
                      "eyes": eyes[None].astype(np.float32), "eyelids": rng.random((1, 2)).astype(np.float32),
                      "jaw": jaw[:2].reshape(1, 6).astype(np.float32)},
            "opencv": {"R": turn[None], "t": np.array([[0.01 * i, 0.02, 0.6 + 0.01 * i]]),
                       "K": np.array([[[700.0, 0, 330.0], [0, 700.0, 235.0], [0, 0, 1]]])},
            "img_size": np.array(SIZE_HW),
            "frame_id": f"{i:05d}",
        }
        (folder / f"{i:05d}.frame").write_bytes(tw.zip_bytes(frame, f"{i:05d}"))
    return folder


def head_flame_world(obj):
    """The head's evaluated vertices in FLAME axes (mesh positions are Blender (x, -z, y))."""
    co = mesh_positions(obj).astype(np.float64)
    return np.stack([co[:, 0], co[:, 2], -co[:, 1]], axis=1)


def world_positions(obj):
    co = mesh_positions(obj).astype(np.float64)
    m = np.array(obj.matrix_world)
    return co @ m[:3, :3].T + m[:3, 3]


def test_camera_motion_on_the_head(fc, addon, model_file, tmp_path):
    model_path, model = model_file
    folder = write_checkpoints(tmp_path / "checkpoint")
    head = add_head(model_path=model_path)
    assert bpy.ops.flame.import_sequence(directory=str(folder), use_folder=True, frame_start=1,
                                         camera_motion="HEAD") == {"FINISHED"}
    assert not [o for o in bpy.data.objects if o.type == "CAMERA"]
    seq = fc.load_sequence(folder)
    cams = fc.sequence_cameras(seq)
    still = model.forward(replace(seq.params, eyelids=None)).vertices.astype(np.float64)  # no eyelid shapes
    moved = fc.head_motion(seq, model)
    keys = addon.animation.read_keyframes(head)
    for name in ("rotation", "translation"):
        for i in range(3):
            _, values = keys[(f"flame.{name}", i)]
            np.testing.assert_allclose(values, getattr(moved.params, name)[:, i], atol=1e-6)
    for i in (0, 3):
        bpy.context.scene.frame_set(1 + i)
        view = fc.sequence.view_camera(moved, frame=i)
        uv, _ = view.project(head_flame_world(head))
        expected, _ = cams[i].project(still[i])
        np.testing.assert_allclose(uv, expected, atol=2e-2)  # pixels; the head is evaluated in float32


def test_camera_motion_on_a_camera(fc, addon, model_file, tmp_path):
    model_path, model = model_file
    folder = write_checkpoints(tmp_path / "checkpoint", seed=1)
    head = add_head(model_path=model_path)
    assert bpy.ops.flame.import_sequence(directory=str(folder), use_folder=True, camera_motion="CAMERA") == {
        "FINISHED"}
    camera = bpy.context.scene.camera
    assert camera is not None and camera.type == "CAMERA" and camera.parent == head
    render = bpy.context.scene.render
    assert (render.resolution_x, render.resolution_y) == (SIZE_HW[1], SIZE_HW[0])
    seq = fc.load_sequence(folder)
    cams = fc.sequence_cameras(seq)
    still = model.forward(replace(seq.params, eyelids=None)).vertices.astype(np.float64)  # no eyelid shapes
    head.location = (0.3, -1.0, 0.2)  # the camera follows the head
    head.rotation_euler = (0.1, 0.0, 0.7)
    for i in range(4):
        bpy.context.scene.frame_set(1 + i)
        bpy.context.view_layer.update()
        data = camera.data
        seen = fc.Camera.from_blender(
            np.array(camera.matrix_world), data.lens, data.sensor_width, data.sensor_height, data.sensor_fit,
            (render.resolution_x, render.resolution_y), (render.pixel_aspect_x, render.pixel_aspect_y),
            data.shift_x, data.shift_y, data.clip_start, data.clip_end,
        )
        uv, _ = seen.project(world_positions(head))
        expected, _ = cams[i].project(still[i])
        np.testing.assert_allclose(uv, expected, atol=5e-2)


def test_failed_camera_import_leaves_nothing(fc, addon, model_file, tmp_path, monkeypatch):
    model_path, _ = model_file
    folder = write_checkpoints(tmp_path / "checkpoint")
    head = add_head(model_path=model_path)
    before = (sorted(bpy.data.objects.keys()), sorted(bpy.data.cameras.keys()), sorted(bpy.data.actions.keys()),
              bpy.context.scene.render.resolution_x, bpy.context.scene.camera)

    original = addon.animation.write_keyframes

    def failing(id_data, *args, **kwargs):
        if id_data.type == "CAMERA":
            raise fc.FlameError("keying failed")
        return original(id_data, *args, **kwargs)

    monkeypatch.setattr(addon.animation, "write_keyframes", failing)
    with pytest.raises(RuntimeError, match="keying failed"):
        bpy.ops.flame.import_sequence(directory=str(folder), use_folder=True, camera_motion="CAMERA")
    after = (sorted(bpy.data.objects.keys()), sorted(bpy.data.cameras.keys()), sorted(bpy.data.actions.keys()),
             bpy.context.scene.render.resolution_x, bpy.context.scene.camera)
    assert after == before and head.animation_data is None


def test_unreadable_companion_is_reported_and_left_out(fc, addon, model_file, tmp_path):
    model_path, model = model_file
    prefs = addon.preferences.get_preferences()
    bad = tmp_path / "landmark_embedding.npy"
    bad.write_bytes(b"\x93NUMPY\x01\x00" + b"garbage")
    prefs.model_path = model_path
    prefs.landmarks_path = str(bad)
    head = add_head()
    assert len(head.data.vertices) == model.n_vertices
    loaded = addon.heads.model_for(head)
    assert loaded.landmarks is None and loaded.n_vertices == model.n_vertices
    problems = addon.models.companion_problems(prefs)
    assert list(problems) == ["landmarks_path"] and "landmark_embedding.npy" in problems["landmarks_path"]
    prefs.uv_path = str(tmp_path / "missing.obj")
    addon.heads.model_for(head)
    assert "file not found" in addon.models.companion_problems(prefs)["uv_path"]
    # a readable file (DECA's layout with torch tensors) attaches and clears the report
    rng = np.random.default_rng(0)
    static_faces, static_bary = synthetic.landmark_draw(rng, model.n_faces, (51,), model.faces)
    contour_faces, contour_bary = synthetic.landmark_draw(rng, model.n_faces, (79, 17), model.faces)
    data = {
        "static_lmk_faces_idx": static_faces, "static_lmk_bary_coords": static_bary,
        "dynamic_lmk_faces_idx": tw.embedded(contour_faces),
        "dynamic_lmk_bary_coords": tw.embedded(contour_bary.astype(np.float32)),
    }
    bad.write_bytes(tw.object_npy_bytes(data))
    prefs.uv_path = ""
    head = add_head()
    loaded = addon.heads.model_for(head)
    assert loaded.landmarks is not None and loaded.landmarks.count == 68
    assert addon.models.companion_problems(prefs) == {}
