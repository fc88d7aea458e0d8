"""Sequences saved with torch (metrical-tracker checkpoints, dicts of tensors), IMavatar JSON, oxigaf quirks,
and the two readings of a moving camera."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch_writer as tw

from flame_core import FlameParams
from flame_core.errors import SequenceFileError
from flame_core.rotations import axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_rotation_6d
from flame_core.sequence import load_sequence
from flame_core.sequence.cameras import head_motion, sequence_cameras, view_camera


def random_rotvecs(rng: np.random.Generator, n: int) -> np.ndarray:
    axes = rng.normal(size=(n, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    return axes * rng.uniform(0.0, 0.6, (n, 1))


def d6(rotvecs: np.ndarray) -> np.ndarray:
    """The 6D representation written by PyTorch3D's matrix_to_rotation_6d: the first two rows."""
    return axis_angle_to_matrix(rotvecs)[..., :2, :].reshape(rotvecs.shape[:-1] + (6,))


@pytest.mark.parametrize("angle", [0.0, 1e-9, 0.3, 2.0, np.pi - 1e-6, np.pi - 1e-12, np.pi])
def test_6d_and_matrix_conversions_are_exact(angle):
    rng = np.random.default_rng(3)
    axes = rng.normal(size=(50, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    rotvecs = axes * angle
    matrices = axis_angle_to_matrix(rotvecs)
    back = matrix_to_axis_angle(matrices)
    assert np.allclose(axis_angle_to_matrix(back), matrices, atol=1e-12)
    if angle < np.pi - 1e-3:
        assert np.allclose(back, rotvecs, atol=1e-12)
    scaled = matrix_to_rotation_6d(matrices) * np.array([2.0, 2.0, 2.0, 0.5, 0.5, 0.5])  # unnormalised rows
    from flame_core.rotations import rotation_6d_to_matrix

    assert np.allclose(rotation_6d_to_matrix(scaled), matrices, atol=1e-12)


# ------------------------------------------------------------------ dicts of tensors


def vhap_arrays(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {
        "expr": rng.normal(size=(n, 100)).astype(np.float32), "rotation": random_rotvecs(rng, n).astype(np.float32),
        "jaw_pose": random_rotvecs(rng, n).astype(np.float32), "translation": rng.normal(size=(n, 3)),
        "shape": rng.normal(size=300).astype(np.float32),
    }


@pytest.mark.parametrize("container", ["zip", "legacy"])
@pytest.mark.parametrize("suffix", [".pt", ".pth", ".tar"])
def test_dict_of_tensors(tmp_path, container, suffix):
    arrays = vhap_arrays(np.random.default_rng(0), 7)
    obj = {k: tw.Tensor.of(v) for k, v in arrays.items()}
    path = tmp_path / f"params{suffix}"
    path.write_bytes(tw.zip_bytes(obj, "params") if container == "zip" else tw.legacy_bytes(obj))
    seq = load_sequence(path, fps=25)
    assert seq.format == "vhap" and len(seq) == 7
    assert np.array_equal(seq.params.expression, arrays["expr"].astype(np.float64))
    assert np.array_equal(seq.params.rotation, arrays["rotation"].astype(np.float64))
    assert np.array_equal(seq.params.translation, arrays["translation"])
    assert np.array_equal(seq.params.shape, arrays["shape"].astype(np.float64))


def test_folder_of_per_frame_torch_files(tmp_path):
    arrays = vhap_arrays(np.random.default_rng(1), 4)
    for i in range(4):
        frame = {k: (v if k == "shape" else tw.Tensor.of(v[i : i + 1])) for k, v in arrays.items()}
        (tmp_path / f"{i:05d}.pt").write_bytes(tw.zip_bytes(frame, f"{i:05d}"))
    seq = load_sequence(tmp_path)
    assert len(seq) == 4
    assert np.array_equal(seq.params.jaw, arrays["jaw_pose"].astype(np.float64))
    assert np.array_equal(seq.params.shape, arrays["shape"].astype(np.float64))


# ------------------------------------------------------------------ metrical-tracker


def opencv_cameras(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cameras about 1 m in front of the face (OpenCV world->camera), looking at it."""
    R = np.einsum("tij,jk->tik", axis_angle_to_matrix(random_rotvecs(rng, n) * 0.3), np.diag([1.0, -1.0, -1.0]))
    t = np.array([0.0, 0.0, 1.0]) + rng.normal(size=(n, 3)) * 0.02
    K = np.tile(np.array([[2500.0, 0, 256.0], [0, 2500.0, 250.0], [0, 0, 1.0]]), (n, 1, 1))
    K[:, 0, 2] += rng.normal(size=n)
    return R, t, K


def metrical_frames(rng: np.random.Generator, n: int, opencv: bool = True) -> tuple[list[dict], dict]:
    exp = rng.normal(size=(n, 100)).astype(np.float32)
    shape = rng.normal(size=(1, 300)).astype(np.float32)
    jaw = random_rotvecs(rng, n)
    eyes = random_rotvecs(rng, 2 * n).reshape(n, 6)
    eyelids = rng.uniform(0, 1, (n, 2)).astype(np.float32)
    R, t, K = opencv_cameras(rng, n)
    size = np.array([512, 512])  # height, width
    scale = 256.0
    R_p3d = np.transpose(R, (0, 2, 1)) @ np.diag([-1.0, -1.0, 1.0])
    t_p3d = t * np.array([-1.0, -1.0, 1.0])
    frames = []
    for i in range(n):
        frame = {
            "flame": {
                "exp": exp[i : i + 1], "shape": shape, "tex": np.zeros((1, 140), np.float32),
                "sh": np.zeros((1, 9, 3), np.float32), "eyes": d6(eyes[i : i + 1].reshape(2, 3)).reshape(1, 12),
                "eyelids": eyelids[i : i + 1], "jaw": d6(jaw[i : i + 1]),
            },
            "camera": {
                "R": matrix_to_rotation_6d(R_p3d[i : i + 1]).astype(np.float32), "t": t_p3d[i : i + 1],
                "fl": np.array([[K[i, 0, 0] / scale]]), "pp": ((size[::-1] / 2 - K[i, :2, 2]) / scale)[None],
            },
            "img_size": size,
            "frame_id": f"{i:05d}",
            "global_step": 100 * i,
        }
        if opencv:
            frame["opencv"] = {"R": R[i : i + 1], "t": t[i : i + 1], "K": K[i : i + 1]}
        frames.append(frame)
    truth = {"exp": exp, "shape": shape[0], "jaw": jaw, "eyes": eyes, "eyelids": eyelids, "R": R, "t": t, "K": K}
    return frames, truth


def write_checkpoints(folder: Path, frames: list[dict], legacy: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        name = f"{i:05d}"
        (folder / f"{name}.frame").write_bytes(tw.legacy_bytes(frame) if legacy else tw.zip_bytes(frame, name))
    return folder


@pytest.mark.parametrize("legacy", [False, True])
def test_metrical_tracker_checkpoints(tmp_path, legacy):
    frames, truth = metrical_frames(np.random.default_rng(2), 5)
    seq = load_sequence(write_checkpoints(tmp_path / "checkpoint", frames, legacy))
    assert seq.format == "metrical-tracker" and len(seq) == 5
    assert np.array_equal(seq.params.expression, truth["exp"].astype(np.float64))
    assert np.array_equal(seq.params.shape, truth["shape"].astype(np.float64))
    assert np.allclose(seq.params.jaw, truth["jaw"], atol=1e-12, rtol=0)
    assert np.allclose(seq.params.eyes, truth["eyes"], atol=1e-12, rtol=0)
    assert seq.params.rotation is None and seq.params.translation is None
    assert np.array_equal(seq.params.eyelids, truth["eyelids"].astype(np.float64))
    assert seq.params.eyelids.shape == (5, 2) and "eyelids" not in seq.extras
    assert np.array_equal(seq.extras["camera_R"], truth["R"]) and np.array_equal(seq.extras["camera_t"], truth["t"])
    assert np.array_equal(seq.extras["image_size"], [512, 512])
    cams = sequence_cameras(seq)
    assert np.allclose(cams[3].K, truth["K"][3]) and np.allclose(cams[3].R, truth["R"][3])


def test_single_frame_file(tmp_path):
    frames, truth = metrical_frames(np.random.default_rng(4), 1)
    path = write_checkpoints(tmp_path / "c", frames) / "00000.frame"
    seq = load_sequence(path)
    assert len(seq) == 1 and np.allclose(seq.params.jaw, truth["jaw"], atol=1e-12)


def test_pytorch3d_camera_without_opencv_entry(tmp_path):
    frames, truth = metrical_frames(np.random.default_rng(5), 3, opencv=False)
    seq = load_sequence(write_checkpoints(tmp_path / "checkpoint", frames))
    cams = sequence_cameras(seq)
    points = np.random.default_rng(6).normal(size=(20, 3)) * 0.1
    for i, cam in enumerate(cams):
        # PyTorch3D, written out: rows of the 6D, X_view = X @ R + T (X left, Y up), NDC scaled by half the side
        row = frames[i]["camera"]["R"][0].astype(np.float64)
        R = np.stack([row[:3] / np.linalg.norm(row[:3]), row[3:] / np.linalg.norm(row[3:])])
        R = np.vstack([R, np.cross(R[0], R[1])])
        view = points @ R + frames[i]["camera"]["t"][0]
        ndc = frames[i]["camera"]["fl"][0, 0] * view[:, :2] / view[:, 2:] + frames[i]["camera"]["pp"][0]
        expected = np.stack([256 - ndc[:, 0] * 256, 256 - ndc[:, 1] * 256], axis=1)
        got, depth = cam.project(points)
        assert np.allclose(got, expected, atol=1e-4) and np.all(depth > 0)
        assert np.allclose(cam.K, truth["K"][i], atol=1e-6)


def test_camera_readings_agree(tmp_path, small_model):
    frames, _ = metrical_frames(np.random.default_rng(7), 4)
    seq = load_sequence(write_checkpoints(tmp_path / "checkpoint", frames))
    seq = replace(seq, params=replace(seq.params, eyelids=None))  # the test model has no eyelid shapes
    cams = sequence_cameras(seq)
    still = small_model.forward(seq.params).vertices.astype(np.float64)
    moved = head_motion(seq, small_model)
    assert "camera_R" not in moved.extras and moved.params.rotation is not None
    posed = small_model.forward(moved.params).vertices.astype(np.float64)
    for i, cam in enumerate(cams):
        view = view_camera(moved, frame=i)  # fixed, with the frame's intrinsics
        assert np.allclose(view.world_to_camera(posed[i]), cam.world_to_camera(still[i]), atol=1e-9)
        assert np.allclose(view.project(posed[i])[0], cam.project(still[i])[0], atol=1e-6)


def test_resampled_cameras_stay_rotations(tmp_path):
    frames, truth = metrical_frames(np.random.default_rng(12), 5)
    seq = load_sequence(write_checkpoints(tmp_path / "checkpoint", frames), fps=10)
    fine = seq.resample(20)
    cams = sequence_cameras(fine)  # every rotation valid (Camera checks it)
    assert len(cams) == 9
    assert np.allclose(cams[4].R, truth["R"][2], atol=1e-12)  # original frames kept exactly
    assert np.allclose(cams[4].t, truth["t"][2], atol=1e-12)


def test_head_motion_keeps_the_heads_own_pose(small_model):
    from flame_core.sequence import FlameSequence

    rng = np.random.default_rng(8)
    R, t, K = opencv_cameras(rng, 3)
    params = FlameParams(rotation=random_rotvecs(rng, 3), translation=rng.normal(size=(3, 3)) * 0.1,
                         expression=rng.normal(size=(3, 10)), jaw=random_rotvecs(rng, 3))
    extras = {"camera_R": R, "camera_t": t, "camera_K": K, "image_size": np.array([512, 512])}
    seq = FlameSequence(params, extras=extras)
    before = small_model.forward(params).vertices.astype(np.float64)
    after = small_model.forward(head_motion(seq, small_model).params).vertices.astype(np.float64)
    view = view_camera(seq)
    for i, cam in enumerate(sequence_cameras(seq)):
        assert np.allclose(view.world_to_camera(after[i]), cam.world_to_camera(before[i]), atol=1e-9)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("jaw", np.zeros((1, 5)), "flame/jaw"), ("eyes", np.zeros((1, 6)), "flame/eyes"),
     ("jaw", np.zeros((1, 6)), "flame/jaw")],
)
def test_malformed_checkpoints(tmp_path, key, value, message):
    frames, _ = metrical_frames(np.random.default_rng(9), 2)
    frames[1]["flame"][key] = value
    frames[0]["flame"][key] = value
    with pytest.raises(SequenceFileError, match=message):
        load_sequence(write_checkpoints(tmp_path / "checkpoint", frames))


# ------------------------------------------------------------------ IMavatar flame_params.json


def imavatar_document(rng: np.random.Generator, n: int) -> dict:
    pose = np.concatenate([random_rotvecs(rng, n) for _ in range(5)], axis=1)
    frames = []
    for i in range(n):
        world = np.hstack([np.eye(3), np.array([[0.0], [0.0], [-4.0 + 0.1 * i]])])
        frames.append({"file_path": f"./image/{i + 1}", "world_mat": world.tolist(),
                       "expression": rng.normal(size=50).tolist(), "pose": pose[i].tolist(),
                       "bbox": [0, 0, 1, 1], "flame_keypoints": [[0.0, 0.0]] * 3})
    return {"frames": frames, "shape_params": rng.normal(size=100).tolist(),
            "intrinsics": [-2.2, 2.2, 0.5, 0.5]}


def test_imavatar_flame_params_json(tmp_path, small_model):
    doc = imavatar_document(np.random.default_rng(10), 4)
    path = tmp_path / "flame_params.json"
    path.write_text(json.dumps(doc))
    seq = load_sequence(path)
    assert seq.format == "imavatar" and len(seq) == 4
    assert np.array_equal(seq.params.shape, doc["shape_params"])
    assert np.array_equal(seq.params.expression, [f["expression"] for f in doc["frames"]])
    assert np.array_equal(seq.params.pose, [f["pose"] for f in doc["frames"]])
    assert np.array_equal(seq.extras["intrinsics"], doc["intrinsics"])
    cams = sequence_cameras(seq)
    assert np.allclose(cams[0].K, [[2.2 * 512, 0, 256], [0, 2.2 * 512, 256], [0, 0, 1]])
    # IMavatar's own projection of the 4x scaled head: u = x / z * K0 + K2 (pixels of a 512 image), z < 0
    verts = small_model.forward(seq.params).vertices.astype(np.float64)
    for i, cam in enumerate(cams):
        world = np.array(doc["frames"][i]["world_mat"])
        p = verts[i] * 4 @ world[:, :3].T + world[:, 3]
        k = np.array(doc["intrinsics"]) * 512
        expected = np.stack([p[:, 0] / p[:, 2] * k[0] + k[2], p[:, 1] / p[:, 2] * k[1] + k[3]], axis=1)
        assert np.allclose(cam.project(verts[i])[0], expected, atol=1e-6)
    moved = head_motion(seq, small_model)
    posed = small_model.forward(moved.params).vertices.astype(np.float64)
    assert np.allclose(view_camera(moved).world_to_camera(posed[2]), cams[2].world_to_camera(verts[2]), atol=1e-9)


def test_imavatar_json_is_told_from_oxigaf(tmp_path):
    doc = imavatar_document(np.random.default_rng(11), 2)
    del doc["shape_params"], doc["intrinsics"]
    path = tmp_path / "f.json"
    path.write_text(json.dumps(doc))
    assert load_sequence(path).format == "imavatar"
    doc["frames"][1]["world_mat"] = [[1, 0], [0, 1]]
    path.write_text(json.dumps(doc))
    with pytest.raises(SequenceFileError, match="world_mat"):
        load_sequence(path)


# ------------------------------------------------------------------ oxigaf quirks


def test_oxigaf_short_pose_and_null_translation(tmp_path):
    frames = [{"shape": [0.1] * 10, "expression": [0.2] * 5, "pose": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
               "translation": None},
              {"shape": [0.1] * 10, "expression": [0.3] * 5, "pose": [0.0] * 6, "translation": [1.0, 2.0, 3.0]}]
    path = tmp_path / "seq.json"
    path.write_text(json.dumps({"fps": 30.0, "frames": frames}))
    seq = load_sequence(path)
    assert np.array_equal(seq.params.pose[0], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6] + [0.0] * 9)
    assert np.array_equal(seq.params.translation, [[0, 0, 0], [1, 2, 3]])
    npz = tmp_path / "seq.npz"
    np.savez(npz, shape=np.zeros((2, 10)), expression=np.zeros((2, 5)), pose=np.ones((2, 6)))
    assert np.array_equal(load_sequence(npz).params.pose[:, 6:], np.zeros((2, 9)))
    np.savez(npz, shape=np.zeros((2, 10)), expression=np.zeros((2, 5)), pose=np.ones((2, 7)))
    with pytest.raises(SequenceFileError, match="key 'pose'"):
        load_sequence(npz)
