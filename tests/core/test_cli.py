"""The command line, in-process (``main(argv)``) and once as ``python -m flame_core``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import synthetic as syn

import flame_core
from flame_core.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def files(tmp_path):
    return syn.write_all(tmp_path / "flame", n_verts=50, n_faces=80, seed=41)


def test_help_everywhere(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name, *_ in COMMANDS)
    for name, *_ in COMMANDS:
        assert main([name, "--help"]) == 0
        assert "usage:" in capsys.readouterr().out


def test_usage_error_is_one_line(capsys):
    assert main(["convert"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "required" in err
    assert main(["no-such-command"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_info(files, capsys):
    code = main(["info", str(files["pkl"]), "--landmarks", str(files["static"]), str(files["dynamic"]),
                 "--uvs", str(files["obj"]), "--masks", str(files["masks"])])
    assert code == 0
    out = capsys.readouterr().out
    assert "vertices:    50" in out and "faces:       80" in out
    assert "shape:       300" in out and "expression:  100" in out and "float32" in out
    assert "FLAME 2020" in out and "68" in out and "lips" in out
    assert f"{len(files['uv'])} UV" in out
    assert main(["info", str(files["pkl"])]) == 0
    assert "landmarks:   none" in capsys.readouterr().out


def test_info_bad_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "broken.pkl"
    bad.write_bytes(b"\x80\x02garbage")
    assert main(["info", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "broken.pkl" in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize("out_name", ["out.npz", "out.safetensors", "out_folder"])
def test_convert(files, tmp_path, out_name, capsys):
    out = tmp_path / out_name
    code = main(["convert", str(files["pkl"]), str(out), "--n-shape", "12", "--n-expression", "4",
                 "--dtype", "float64", "--masks", str(files["masks"])])
    assert code == 0, capsys.readouterr().err
    model = flame_core.load_model(out, dtype=np.float64)
    reference = flame_core.load_model(files["pkl"], n_shape=12, n_expression=4, dtype=np.float64)
    assert (model.n_shape, model.n_expression) == (12, 4)
    assert np.array_equal(model.shapedirs, reference.shapedirs) and model.masks.keys() == set(syn.MASK_NAMES)


def test_convert_too_many_components(files, tmp_path, capsys):
    assert main(["convert", str(files["pkl"]), str(tmp_path / "x.npz"), "--n-shape", "999"]) == 1
    assert "n_shape=999" in capsys.readouterr().err


def test_demo_model_and_info_without_model(tmp_path, capsys):
    assert main(["demo-model", str(tmp_path / "demo.safetensors")]) == 0
    saved = flame_core.load_model(tmp_path / "demo.safetensors")
    demo = flame_core.demo_model()
    assert np.array_equal(saved.v_template, demo.v_template.astype(np.float32))
    capsys.readouterr()
    assert main(["info"]) == 0
    assert f"vertices:    {demo.n_vertices}" in capsys.readouterr().out


def test_subprocess(files, tmp_path):
    out = tmp_path / "m.npz"
    result = subprocess.run([sys.executable, "-m", "flame_core", "convert", str(files["pkl"]), str(out)],
                            capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"})
    assert result.returncode == 0, result.stderr
    assert out.exists()
    result = subprocess.run([sys.executable, "-m", "flame_core", "info", str(tmp_path / "missing.pkl")],
                            capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"})
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "missing.pkl" in result.stderr
    assert "Traceback" not in result.stderr
