"""npz, safetensors and npy-folder files: round trips, detection, the two safetensors backends."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import synthetic as syn

import flame_core
from flame_core import FlameModel
from flame_core.io import detect_format, safetensors_io

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def files(tmp_path):
    return syn.write_all(tmp_path / "flame", n_verts=60, n_faces=100, seed=11)


@pytest.fixture
def full_model(files) -> FlameModel:
    return flame_core.load_model(
        files["pkl"], landmarks=[files["static"], files["dynamic"]], uvs=files["obj"], masks=files["masks"]
    )


def assert_same_model(a: FlameModel, b: FlameModel) -> None:
    """Bit-identical arrays, dtypes, attachments and forward pass."""
    arrays_a, arrays_b = a.arrays(), b.arrays()
    assert arrays_a.keys() == arrays_b.keys()
    for key in arrays_a:
        assert arrays_a[key].dtype == arrays_b[key].dtype, key
        assert np.array_equal(arrays_a[key], arrays_b[key]), key
    assert a.parents == b.parents and a.dtype == b.dtype
    assert a.masks.keys() == b.masks.keys()
    assert all(np.array_equal(a.masks[k], b.masks[k]) for k in a.masks)
    assert (a.landmarks is None) == (b.landmarks is None)
    if a.landmarks is not None:
        for field in ("face_index", "barycentric", "contour_face_index", "contour_barycentric"):
            fa, fb = getattr(a.landmarks, field), getattr(b.landmarks, field)
            assert (fa is None and fb is None) or np.array_equal(fa, fb), field
        assert a.landmarks.extra.keys() == b.landmarks.extra.keys()
    params = flame_core.FlameParams(expression=np.linspace(-1, 1, 10), jaw=[0.2, 0, 0], rotation=[0, 0.4, 0])
    out_a, out_b = a.forward(params), b.forward(params)
    assert np.array_equal(out_a.vertices, out_b.vertices)
    assert np.array_equal(out_a.landmarks, out_b.landmarks)


@pytest.mark.parametrize("target", ["model.npz", "model.safetensors", "model_folder"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_exact(tmp_path, files, target, dtype):
    original = flame_core.load_model(files["pkl"], dtype=dtype, landmarks=files["deca"], uvs=files["texture"],
                                     masks=files["masks"])
    out = flame_core.save_model(original, tmp_path / target)
    loaded = flame_core.load_model(out, dtype=dtype)
    assert_same_model(original, loaded)
    assert loaded.metadata["source"] == "generic_model.pkl"
    assert loaded.metadata["version"] == original.metadata["version"]
    assert loaded.metadata["format"] == detect_format(out)
    # Again from the copy: nothing drifts.
    again = flame_core.save_model(loaded, tmp_path / ("2" + target))
    assert_same_model(loaded, flame_core.load_model(again, dtype=dtype))


def test_round_trip_keeps_truncation(tmp_path, files):
    model = flame_core.load_model(files["pkl"], n_shape=20, n_expression=7)
    loaded = flame_core.load_model(flame_core.save_model(model, tmp_path / "m.safetensors"))
    assert (loaded.n_shape, loaded.n_expression) == (20, 7)
    assert loaded.metadata["n_shape_file"] == "300"
    smaller = flame_core.load_model(tmp_path / "m.safetensors", n_shape=5)
    assert np.array_equal(smaller.shapedirs, model.shapedirs[:, :, :5])
    with pytest.raises(flame_core.FlameError, match="only 20"):
        flame_core.load_model(tmp_path / "m.safetensors", n_shape=21)


def test_saving_is_deterministic(tmp_path, full_model):
    for name in ("a.npz", "a.safetensors"):
        first = flame_core.save_model(full_model, tmp_path / name).read_bytes()
        second = flame_core.save_model(full_model, tmp_path / ("b" + name[1:])).read_bytes()
        assert first == second


def test_safetensors_backends_agree(tmp_path, full_model):
    path = flame_core.save_model(full_model, tmp_path / "m.safetensors")
    by_numpy, meta_numpy = safetensors_io.read_safetensors(path, backend="numpy")
    lib = safetensors_io.library()
    assert lib is not None, "the test environments install safetensors"
    by_lib, meta_lib = safetensors_io.read_safetensors(path, backend="library")
    assert meta_numpy == meta_lib and by_numpy.keys() == by_lib.keys()
    for key in by_numpy:
        assert by_numpy[key].dtype == by_lib[key].dtype and np.array_equal(by_numpy[key], by_lib[key]), key
    # The package writes the same layout: same tensor order and bytes; only its metadata order may differ.
    arrays, meta = flame_core.io.layout.model_to_arrays(full_model)
    ours = safetensors_io.encode(arrays, meta)
    theirs = lib.save(arrays, metadata=meta)
    n_ours, n_theirs = struct.unpack("<Q", ours[:8])[0], struct.unpack("<Q", theirs[:8])[0]
    assert n_ours == n_theirs and ours[8 + n_ours:] == theirs[8 + n_theirs:]
    assert json.loads(ours[8:8 + n_ours]) == json.loads(theirs[8:8 + n_theirs])
    header_ours = list(json.loads(ours[8:8 + n_ours]))
    header_theirs = list(json.loads(theirs[8:8 + n_theirs]))
    assert header_ours == header_theirs
    theirs_path = tmp_path / "theirs.safetensors"
    theirs_path.write_bytes(theirs)
    assert_same_model(full_model, flame_core.load_model(theirs_path))


def test_without_safetensors_package(tmp_path, full_model):
    """With the package hidden, saving and loading .safetensors still works (numpy reader/writer)."""
    path = flame_core.save_model(full_model, tmp_path / "m.safetensors")
    code = (
        "import sys; sys.modules['safetensors'] = None; sys.modules['safetensors.numpy'] = None\n"
        "import numpy as np, flame_core\n"
        "from flame_core.io import safetensors_io\n"
        "assert safetensors_io.library() is None\n"
        f"m = flame_core.load_model({str(path)!r})\n"
        f"flame_core.save_model(m, {str(tmp_path / 'copy.safetensors')!r})\n"
        "print(m.n_vertices)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(full_model.n_vertices)
    assert (tmp_path / "copy.safetensors").read_bytes() == path.read_bytes()


def test_reads_official_npz_and_npy_folder(tmp_path, files):
    raw = files["raw"]
    reference = flame_core.load_model(files["pkl"])
    from_npz = flame_core.load_model(syn.write_official_npz(tmp_path / "generic_model.npz", raw))
    from_folder = flame_core.load_model(syn.write_npy_folder(tmp_path / "oxigaf", raw))
    for model in (from_npz, from_folder):
        for key in ("v_template", "shapedirs", "exprdirs", "posedirs", "j_regressor", "weights"):
            assert np.array_equal(getattr(model, key), getattr(reference, key)), key
        assert np.array_equal(model.faces, reference.faces) and model.parents == reference.parents
    assert from_folder.metadata["format"] == "npy-folder"


def test_npy_folder_matches_oxigaf_layout(tmp_path, full_model):
    folder = flame_core.save_model(full_model, tmp_path / "out")
    shapes = {p.stem: np.load(p).shape for p in folder.glob("*.npy")}
    v, f = full_model.n_vertices, full_model.n_faces
    assert shapes["v_template"] == (v, 3) and shapes["faces"] == (f, 3)
    assert shapes["shapedirs"] == (v, 3, 300) and shapes["expressiondirs"] == (v, 3, 100)
    assert shapes["posedirs"] == (v, 3, 36) and shapes["j_regressor"] == (5, v)
    assert shapes["kintree_table"] == (2, 5) and shapes["lbs_weights"] == (v, 5)
    assert np.load(folder / "faces.npy").dtype == np.int32
    assert np.load(folder / "kintree_table.npy")[0, 0] == -1
    assert (folder / "masks" / "lips.npy").exists() and (folder / "metadata.json").exists()


def test_content_beats_suffix(tmp_path, files, full_model):
    disguised = tmp_path / "model.pkl"
    flame_core.save_model(full_model, tmp_path / "real.npz").rename(disguised)
    assert detect_format(disguised) == "npz"
    assert_same_model(full_model, flame_core.load_model(disguised))
    pickled = tmp_path / "model.npz"
    pickled.write_bytes(Path(files["pkl"]).read_bytes())
    assert detect_format(pickled) == "pkl"
    st = tmp_path / "model.bin"
    flame_core.save_model(full_model, tmp_path / "x.safetensors").rename(st)
    assert detect_format(st) == "safetensors"


def test_save_refuses_unknown_suffix_and_foreign_folder(tmp_path, full_model):
    with pytest.raises(flame_core.ModelFileError, match=r"model\.pkl"):
        flame_core.save_model(full_model, tmp_path / "model.pkl")
    folder = tmp_path / "busy"
    folder.mkdir()
    np.save(folder / "unrelated.npy", np.zeros(3))
    with pytest.raises(flame_core.ModelFileError, match="unrelated"):
        flame_core.save_model(full_model, folder)


def test_full_size_round_trip(tmp_path):
    raw = syn.flame_arrays(n_verts=5023, n_faces=9976, seed=12)
    model = flame_core.load_model(syn.write_flame_pkl(tmp_path / "generic_model.pkl", raw))
    for name in ("m.npz", "m.safetensors", "folder"):
        loaded = flame_core.load_model(flame_core.save_model(model, tmp_path / name))
        assert np.array_equal(loaded.shapedirs, model.shapedirs) and np.array_equal(loaded.posedirs, model.posedirs)
