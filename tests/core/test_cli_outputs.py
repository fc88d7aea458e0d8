"""The render and sample commands of ``python -m flame_core``."""

from __future__ import annotations

import json

import numpy as np
import pytest

import flame_core
from flame_core.binding import read_bound_ply, unbind_points
from flame_core.cli import main


@pytest.fixture
def sequence_file(tmp_path):
    frames = 4
    params = flame_core.FlameParams(
        expression=np.linspace(0, 1, frames)[:, None] * np.ones((frames, 10)),
        jaw=np.c_[np.linspace(0, 0.3, frames), np.zeros((frames, 2))],
    )
    return flame_core.save_sequence(flame_core.FlameSequence(params, fps=25.0), tmp_path / "seq.npz")


def test_render_writes_one_normal_map_per_frame(tmp_path, sequence_file, capsys):
    out = tmp_path / "maps"
    assert main(["render", str(sequence_file), str(out), "--size", "96x64", "--frames", "1:3"]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["normal_00001.png", "normal_00002.png"]
    image = flame_core.read_png(out / files[0])
    assert image.shape == (64, 96, 4)
    assert 0 < (image[..., 3] > 0).mean() < 1  # the head covers part of the frame
    assert "rendering" in capsys.readouterr().err


def test_render_matches_the_api_with_a_model_file_and_camera(tmp_path, sequence_file):
    model = flame_core.demo_model(n_shape=20, n_expression=10)
    model_path = flame_core.save_model(model, tmp_path / "m.npz")
    camera = flame_core.Camera.look_at((0.0, 0.0, 1.0), (0.0, 0.0, 0.0), fov_y_degrees=25, size=(80, 80))
    K, R, t = camera.to_opencv()
    cam_file = tmp_path / "cam.json"
    cam_file.write_text(json.dumps({"K": K.tolist(), "R": R.tolist(), "t": t.tolist(), "width": 80, "height": 80}))
    out = tmp_path / "maps"
    args = ["render", str(model_path), str(sequence_file), str(out), "--camera", str(cam_file), "--format", "exr",
            "--space", "world"]
    assert main(args) == 0
    seq = flame_core.load_sequence(sequence_file)
    expected = flame_core.render_normal_map(model.forward(seq[2]).vertices, model.faces, camera, space="world")
    channels = flame_core.read_exr(out / "normal_00002.exr")
    written = np.stack([channels[c] for c in "RGBA"], axis=-1)
    np.testing.assert_allclose(written, expected.image, atol=1e-5)  # float32 rounding of the reloaded model


def test_sample_plain_and_bound(tmp_path, sequence_file):
    plain = tmp_path / "points.ply"
    assert main(["sample", str(plain), "-n", "500", "--seed", "3", "--region", "face"]) == 0
    columns = flame_core.read_ply(plain)
    assert len(columns["x"]) == 500 and {"nx", "ny", "nz"} <= set(columns)

    bound = tmp_path / "bound" / "points.ply"
    assert main(["sample", str(bound), "-n", "300", "--sequence", str(sequence_file), "--frame", "3", "--bound"]) == 0
    local, faces, _ = read_bound_ply(bound)
    stored = np.load(bound.parent / "flame_param.npz")
    assert stored["expr"].shape == (1, 100)
    np.testing.assert_allclose(stored["jaw_pose"][0], [0.3, 0, 0], atol=1e-6)
    model = flame_core.demo_model()
    posed = model.forward(flame_core.load_sequence(sequence_file)[3]).vertices
    world = unbind_points(posed, model.faces, faces, local)
    # Every bound point lies on its parent triangle's plane.
    tri = posed[model.faces[faces]]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    assert np.abs(np.einsum("nd,nd->n", world - tri[:, 0], normal)).max() < 1e-5


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["render", "only-one"], "expected [MODEL] SEQUENCE OUTDIR"),
        (["render", "missing.npz", "out"], "missing.npz"),
        (["sample", "out.ply", "--region", "nowhere"], "no such mask"),
        (["sample", "out.ply", "-n", "0"], "positive"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
