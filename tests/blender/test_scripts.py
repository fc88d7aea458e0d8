"""The runnable example scripts and the demo, run as a user runs them (a separate Blender process each)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def run_script(name: str, *args: str, cwd: Path, separator: bool = False) -> subprocess.CompletedProcess:
    """``python scripts/NAME.py ARGS`` (or ``... -- ARGS`` as inside ``blender -b --python``)."""
    command = [sys.executable, str(SCRIPTS / name), *(["--"] if separator else []), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture
def sequence(tmp_path, fc) -> Path:
    seq = fc.demo_sequence(frames=6, fps=25.0)
    return fc.save_sequence(seq, tmp_path / "seq.npz")


def test_keyframe_sequence_script_saves_a_blend_that_reopens(tmp_path, sequence, fc):
    import bpy

    blend = tmp_path / "anim.blend"
    done = run_script("example_keyframe_sequence.py", str(sequence), str(blend), cwd=tmp_path, separator=True)
    assert done.returncode == 0, done.stderr
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end, scene.render.fps) == (1, 6, 25)
    head = next(o for o in bpy.data.objects if o.flame.is_head)
    expected = fc.load_sequence(sequence)[3]
    scene.frame_set(4)
    np.testing.assert_allclose(np.array(head.flame.jaw), expected.values("jaw"), atol=1e-6)


def test_normal_map_script_writes_one_image_per_frame(tmp_path, sequence, fc):
    out = tmp_path / "maps"
    done = run_script("example_normal_maps.py", str(sequence), str(out), "--size", "64", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"normal_{i:04d}.png" for i in range(1, 7)]
    images = [fc.read_png(f) for f in files]
    assert images[0].shape == (64, 64, 4) and (images[0][..., 3] > 0).any()
    assert any(not np.array_equal(images[0], im) for im in images[1:])  # the head moves


def test_bound_points_script_exports_every_frame(tmp_path, sequence, fc):
    out = tmp_path / "points"
    done = run_script("example_bound_points.py", str(sequence), str(out), "-n", "500", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    frames = sorted((out / "frames").iterdir())
    assert len(frames) == 6
    first, last = (fc.read_ply(f) for f in (frames[0], frames[-1]))
    assert len(first["x"]) == len(last["x"]) == 500
    assert not np.allclose(first["y"], last["y"])  # the same points, moved by the animation
    assert (out / "bound" / "points.ply").exists() and (out / "bound" / "flame_param.npz").exists()


def test_demo_makes_every_output(tmp_path, fc):
    out = tmp_path / "demo"
    done = run_script("demo.py", "--out", str(out), "--frames", "4", "--size", "32", "--points", "300", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"demo.blend", "sequence.npz", "points.ply", "preview.png", "bound/points.ply",
            "bound/flame_param.npz"} <= names
    assert {f"normals/normal_{i:04d}.png" for i in range(1, 5)} <= names
    assert fc.read_png(out / "preview.png").shape[0] > 100


def test_scripts_report_bad_input_in_one_line(tmp_path):
    done = run_script("example_normal_maps.py", str(tmp_path / "missing.npz"), str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode != 0
    message = done.stderr.strip().splitlines()[-1]
    assert "missing.npz" in message and "Traceback" not in done.stderr


@pytest.mark.parametrize("separator", [False, True])
def test_export_rigged_script_writes_an_engine_file(tmp_path, sequence, separator):
    import bpy

    out = tmp_path / "head.fbx" if separator else tmp_path / "head.glb"
    preset = ("--preset", "UNREAL") if separator else ()
    done = run_script("example_export_rigged.py", str(sequence), str(out), "--expressions", "10", *preset,
                      cwd=tmp_path, separator=separator)
    assert done.returncode == 0, done.stderr
    assert "largest deviation from FLAME" in done.stdout and out.stat().st_size > 0
    if separator:
        assert bpy.ops.import_scene.fbx(filepath=str(out)) == {"FINISHED"}
    else:
        assert bpy.ops.import_scene.gltf(filepath=str(out)) == {"FINISHED"}
    mesh = next(o for o in bpy.data.objects if o.type == "MESH" and o.data.shape_keys is not None)
    assert len(mesh.data.shape_keys.key_blocks) == 1 + 10 + 36
