"""flame_core.batch without Dask or extra processes: job files, discovery, cameras, manifest, resuming, CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from flame_core.batch import BatchJob, Manifest, SerialEngine, discover, load_job, run_batch, sequence_cameras
from flame_core.batch.cameras import camera_from_json
from flame_core.batch.progress import Progress
from flame_core.cli import main
from flame_core.demo_animation import demo_sequence
from flame_core.errors import FlameError, SequenceFileError
from flame_core.params import FlameParams
from flame_core.sequence import FlameSequence, save_sequence


def _sequences(folder: Path, count: int = 2, frames: int = 5) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [save_sequence(demo_sequence(frames, seed=i), folder / f"take{i}.npz") for i in range(count)]


def _still(frames: int, **extras: np.ndarray) -> FlameSequence:
    return FlameSequence(FlameParams(expression=np.zeros((frames, 10))), extras=extras, format="flame-head-tracker")


# ------------------------------------------------------------------------------------------ job files
def test_job_from_toml_with_relative_paths_and_overrides(tmp_path: Path) -> None:
    config = tmp_path / "jobs" / "job.toml"
    config.parent.mkdir()
    config.write_text('inputs = ["seqs/*.npz", "@list.txt"]\nout = "dataset"\nsize = [64, 48]\n'
                      'outputs = ["normals", "mask"]\nformat = "png8"\ncamera = "cam.json"\nchunk = 8\n')
    job = load_job(config, chunk=4, workers=None)
    base = config.parent
    assert job.inputs == (str(base / "seqs/*.npz"), "@" + str(base / "list.txt"))
    assert job.out == str(base / "dataset") and job.camera == str(base / "cam.json")
    assert job.size == (64, 48) and job.outputs == ("normals", "mask") and job.format == "png8"
    assert job.chunk == 4  # the override wins; None overrides nothing


@pytest.mark.parametrize("text, message", [
    ('inputs = ["a"]\nout = "o"\ncolour = 1\n', "unknown keys \\['colour'\\]"),
    ('inputs = ["a"]\nout = "o"\noutputs = ["normals", "albedo"]\n', "expected some of normals"),
    ('inputs = ["a"]\nout = "o"\nchunk = 0\n', "chunk: expected a positive integer"),
    ('inputs = ["a"]\nout = "o"\nsize = "wide"\n', "size: expected W or WxH"),
    ('inputs = ["a"\n', "not a readable TOML file"),
    ('out = "o"\n', "no inputs given"),
])
def test_bad_job_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "job.toml"
    config.write_text(text)
    with pytest.raises(FlameError, match=message):
        load_job(config)


# ------------------------------------------------------------------------------------------ discovery
def test_discovery_of_folders_globs_and_lists(tmp_path: Path) -> None:
    _sequences(tmp_path / "a" / "subject1", count=1)
    _sequences(tmp_path / "a" / "subject2", count=1)
    frames = tmp_path / "a" / "tracker"
    frames.mkdir()
    for i in range(3):  # a per-frame folder is one sequence
        np.savez(frames / f"{i}.npz", exp=np.zeros((1, 100)), head_pose=np.zeros((1, 3)))
    listing = tmp_path / "list.txt"
    listing.write_text("# takes\na/subject1/take0.npz\n\na/tracker\n")
    by_glob = discover((str(tmp_path / "a" / "*" / "take0.npz"),))
    assert [name for name, _ in by_glob] == ["subject1/take0", "subject2/take0"]  # unique names per sequence
    by_list = discover(("@" + str(listing),))
    assert [p for _, p in by_list] == [(tmp_path / "a/subject1/take0.npz").resolve(), frames.resolve()]
    assert [name for name, _ in discover((str(tmp_path / "a"),))] == ["subject1", "subject2", "tracker"]
    with pytest.raises(FlameError, match="name no sequence files"):
        discover((str(tmp_path / "nothing*.npz"),))


# ------------------------------------------------------------------------------------------ cameras
def test_flame_head_tracker_camera_looks_from_its_pose() -> None:
    # Camera 1 m in front of the face (on +Z), OpenGL axes, looking at the origin; 20 degree field of view.
    seq = _still(2, cam=np.array([[0, 0, 0, 0, 0, 1.0], [0, 0, 0, 0.1, 0, 1.0]]), fov=np.array([20.0, 20.0]))
    cams = sequence_cameras("auto", seq, (200, 100))
    assert cams is not None and len(cams) == 2
    uv, depth = cams[0].project(np.array([[0.0, 0.0, 0.0], [0.1, 0.05, 0.0]]))
    assert np.allclose(uv[0], [100, 50]) and np.allclose(depth, 1.0)
    focal = 50 / np.tan(np.radians(10))
    assert np.allclose(uv[1], [100 + 0.1 * focal, 50 - 0.05 * focal])  # +X right, +Y up in the image
    uv2, _ = cams[1].project(np.zeros((1, 3)))  # the camera moved right: the origin moves left
    assert np.allclose(uv2[0], [100 - 0.1 * focal, 50])


def test_opencv_k_and_rt_from_the_sequence_are_rescaled_to_the_output_size() -> None:
    K = np.array([[800.0, 0, 255.5], [0, 800.0, 255.5], [0, 0, 1]])  # a 512x512 tracker image
    RT = np.hstack([np.eye(3), [[0.0], [0.0], [1.0]]])
    point = np.array([[0.02, -0.03, 0.1]])
    seq = _still(3, K=K, RT=RT)
    seq = FlameSequence(seq.params, extras=seq.extras, format="vhap")
    native = sequence_cameras("sequence", seq, (512, 512))
    half = sequence_cameras("sequence", seq, (256, 256))
    assert native is not None and half is not None
    x = point[0] + [0, 0, 1.0]
    expected = (K @ x)[:2] / x[2] + 0.5  # OpenCV pixel centres at integers -> this project's at +0.5
    assert np.allclose(native[2].project(point)[0][0], expected)
    assert np.allclose(half[0].project(point)[0][0], expected / 2)


def test_tracked_cameras_of_the_sequence_readers_are_used() -> None:
    from flame_core.sequence import sequence_cameras as tracked

    angle = np.radians([5.0, -8.0, 12.0])
    R = np.stack([np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]]) for a in angle])
    t = np.array([[0.0, 0.0, 1.0], [0.01, 0.0, 1.1], [0.0, -0.02, 0.9]])
    K = np.array([[900.0, 0, 256], [0, 900.0, 256], [0, 0, 1]])
    seq = FlameSequence(FlameParams(expression=np.zeros((3, 10))), format="metrical-tracker",
                        extras={"camera_R": R, "camera_t": t, "camera_K": np.stack([K] * 3),
                                "image_size": np.array([512, 512])})
    cams = sequence_cameras("sequence", seq, (256, 256))
    assert cams is not None and len(cams) == 3
    expected = tracked(seq, (256, 256))
    point = np.array([[0.03, 0.02, 0.05]])
    for cam, want in zip(cams, expected):
        assert np.allclose(cam.project(point)[0], want.project(point)[0])
        assert np.allclose(cam.R, want.R) and np.allclose(cam.t, want.t)


def test_camera_json_and_missing_cameras(tmp_path: Path) -> None:
    path = tmp_path / "cam.json"
    path.write_text(json.dumps({"K": [[100, 0, 31.5], [0, 100, 31.5], [0, 0, 1]], "R": np.eye(3).tolist(),
                                "t": [0, 0, 2], "width": 64, "height": 64}))
    cam = camera_from_json(path, (128, 128))
    assert (cam.fx, cam.cx, cam.width) == (200.0, 64.0, 128)
    cams = sequence_cameras(str(path), _still(4), (128, 128))
    assert cams is not None and len(cams) == 4
    assert sequence_cameras("auto", _still(2), (64, 64)) is None  # nothing stored: framing
    with pytest.raises(SequenceFileError, match="no camera stored"):
        sequence_cameras("sequence", _still(2), (64, 64))
    path.write_text('{"K": [1, 2]}')
    with pytest.raises(FlameError, match=r"cam\.json"):
        camera_from_json(path, (64, 64))


# ------------------------------------------------------------------------------------------ runs
def test_serial_run_outputs_manifest_and_resume(tmp_path: Path) -> None:
    _sequences(tmp_path / "seqs", count=2, frames=5)
    job = BatchJob(inputs=(str(tmp_path / "seqs"),), out=str(tmp_path / "out"), size=(32, 32), chunk=2,
                   outputs=("normals", "mask", "depth", "landmarks", "points"), points=200, format="png8")
    summary = run_batch(job, engine=SerialEngine(), progress=False)
    assert summary.ok and summary.frames == 10 and summary.done == 2 * (3 + 1) and summary.exit_code == 0
    out = Path(job.out)
    landmarks = np.load(out / "take1" / "landmarks.npz")
    assert landmarks["landmarks_3d"].shape[:1] == landmarks["landmarks_2d"].shape[:1] == (5,)
    assert np.load(out / "take0" / "points" / "positions_00004-00005.npy").shape == (1, 200, 3)
    assert len(list((out / "take0" / "normals").glob("*.png"))) == 5

    again = run_batch(job, engine=SerialEngine(), progress=False)
    assert again.done == 0 and again.skipped == again.tasks == 8
    (out / "take1" / "normals" / "00003.png").unlink()  # a lost output: only its task runs again
    (out / "take0" / "landmarks.npz").write_bytes(b"short")
    stray = out / "take1" / "normals" / "00003.png.tmp-999"  # left by a worker that was killed mid-write
    stray.write_bytes(b"partial")
    third = run_batch(job, engine=SerialEngine(), progress=False)
    assert not stray.exists()
    assert third.done == 2 and third.skipped == 6
    rerun = {r["task"] for r in Manifest(out).records() if r.get("type") == "task" and r["run"] == 3}
    assert rerun == {"take1:frames:00002-00004", "take0:sequence"}


def test_manifest_ignores_a_cut_last_line(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path)
    (tmp_path / "a.png").write_bytes(b"1234")
    manifest.append({"type": "task", "task": "s:frames:00000-00001", "status": "done",
                     "outputs": [{"path": "a.png", "bytes": 4}]})
    manifest.append({"type": "task", "task": "s:frames:00001-00002", "status": "failed"})
    with open(manifest.path, "a") as f:
        f.write('{"type": "task", "task": "s:fr')
    assert manifest.completed(tmp_path) == {"s:frames:00000-00001"}


def test_progress_is_plain_lines_without_a_terminal() -> None:
    stream = io.StringIO()
    bar = Progress(10, 2, stream=stream, interval=0.0)
    bar.update(6)
    bar.update(4, failed=True)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in stream.getvalue()
    assert "10/10 frames, 2/2 tasks, 1 failed" in lines[-1] and "frames/s, ETA 0:00" in lines[-1]


def test_cli_batch_with_a_config_file_and_a_failing_sequence(tmp_path: Path, capsys) -> None:
    _sequences(tmp_path / "seqs", count=1, frames=3)
    (tmp_path / "seqs" / "broken.npz").write_bytes(b"not a zip")
    config = tmp_path / "job.toml"
    config.write_text('inputs = ["seqs"]\nout = "out"\nsize = 24\nworkers = 1\nformat = "png8"\n')
    code = main(["batch", "--config", str(config), "--outputs", "normals,mask", "--quiet", "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 1
    assert "failed: broken: " in err and "broken.npz" in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("batch FAILED: 2 sequences; tasks: 1 run, 0 already done, 1 failed")
    assert sorted(p.name for p in (tmp_path / "out" / "take0" / "mask").iterdir()) == ["00000.png", "00001.png",
                                                                                       "00002.png"]
    assert main(["batch", "--quiet"]) == 1
    assert "no inputs or out given" in capsys.readouterr().err
