"""Files crafted to hurt the readers: each ends in a FlameError naming the file, quickly and in little memory.

The pickle attacks are read in a child process with its address space capped (see ``hostile.py``), so
a segfault, a hang or a memory bomb fails the test instead of killing pytest.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import threading
import zipfile

import numpy as np
import pytest
import synthetic as syn
from hostile import MEMORY_CAP, attack_pickles, deep_json, oxigaf_json, run_isolated, write_json

import flame_core
from flame_core import FlameError, FlameParams, ModelFileError, SequenceFileError, load_model, load_sequence
from flame_core.io import safe_pickle, safetensors_io
from flame_core.io.safe_arrays import read_npy_stream

ATTACKS = attack_pickles(syn.flame_arrays(n_shape=4, n_expr=3))


@pytest.mark.parametrize("name", sorted(ATTACKS))
@pytest.mark.parametrize("reader", ["model", "sequence"])
def test_pickle_attack_is_refused_in_a_capped_process(tmp_path, name, reader):
    path = tmp_path / f"{name}.pkl"
    path.write_bytes(ATTACKS[name])
    outcome, peak_kb = run_isolated(reader, path)
    assert outcome.startswith("FlameError"), outcome
    assert str(path) in outcome
    assert "out of memory" not in outcome
    assert peak_kb * 1024 < MEMORY_CAP


@pytest.mark.parametrize("name", ["dtype_object_flags", "field_offset_past_item", "subarray_larger_than_item",
                                  "zero_stride_view", "bytearray_bomb", "quadratic_codec", "complex_array"])
def test_pickle_attack_names_what_was_refused(tmp_path, name):
    path = tmp_path / "model.pkl"
    path.write_bytes(ATTACKS[name])
    with pytest.raises(ModelFileError) as info:
        safe_pickle.load(path) if name != "complex_array" else load_model(path)
    words = {"dtype_object_flags": "flags", "field_offset_past_item": "structured", "subarray_larger_than_item":
             "subarray", "zero_stride_view": "ndarray", "bytearray_bomb": "bytearray", "quadratic_codec": "codec",
             "complex_array": "complex"}
    assert words[name] in str(info.value)


def test_memo_index_beyond_the_stream_is_refused_before_unpickling():
    # LONG_BINPUT 2**31: the C unpickler would grow its memo to 2**31 entries (16 GB) for 7 bytes
    data = b"\x80\x02]r\x00\x00\x00\x80."
    with pytest.raises(ModelFileError, match="memo index"):
        safe_pickle.loads(data, "m.pkl")


@pytest.mark.parametrize("data, word", [
    (b"\x80\x02" + b"]" * 5000 + b"a" * 4999 + b".", "nested too deeply"),
    (b"\x80\x02]" + b"K\x01" * 1_000_001 + b".", "operations"),
])
def test_deep_or_long_pickles_are_refused(data, word):
    with pytest.raises(ModelFileError, match=word):
        safe_pickle.loads(data, "m.pkl")


def test_protocol_2_pickle_with_empty_bytes_is_read(tmp_path):
    value = {"empty": b"", "text": b"abc", "array": np.arange(3.0), "buffer": bytearray(b"xy")}
    for protocol in (2, 3, 4, 5):
        got = safe_pickle.loads(pickle.dumps(value, protocol=protocol), "x.pkl")
        assert got["empty"] == b"" and got["text"] == b"abc" and got["buffer"] == bytearray(b"xy")
        np.testing.assert_array_equal(got["array"], value["array"])


def test_arrays_from_pickles_own_their_memory():
    array = np.arange(12, dtype=">i4").reshape(3, 4)[:, ::2]
    got = safe_pickle.loads(pickle.dumps(array, protocol=5), None)
    assert got.flags.owndata or (got.base is not None and got.base.flags.owndata)
    assert got.base is None or isinstance(got.base, np.ndarray)
    np.testing.assert_array_equal(got, array)


# --------------------------------------------------------------------------- sparse, npy, npz, safetensors
def _sparse_pickle(indices, indptr=(0, 2), shape=(3, 1), fmt="csc"):
    matrix = syn.CscMatrix(data=np.ones(len(indices)), indices=np.asarray(indices, np.int32),
                           indptr=np.asarray(indptr, np.int32), _shape=shape, format=fmt)
    return syn.py2_pickle({"m": matrix})


@pytest.mark.parametrize("indices, indptr, shape, word", [
    ([0, -1], (0, 2), (3, 1), "out of range"),            # would wrap to the last row
    ([0, 5], (0, 2), (3, 1), "out of range"),
    ([0, 1], (0, 3), (3, 1), "out of range"),             # indptr beyond the data
    ([0, 1], (0, 2), (1 << 20, 1 << 20), "too large"),    # 2**40 dense values from a few bytes
])
def test_sparse_matrices_are_checked_before_densifying(indices, indptr, shape, word):
    data = safe_pickle.loads(_sparse_pickle(indices, indptr, shape), "m.pkl")
    with pytest.raises(ModelFileError, match=word):
        safe_pickle.to_array(data["m"], "m.pkl", "m")


def _npy_bytes(header: str, data: bytes = b"") -> bytes:
    text = header.encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


@pytest.mark.parametrize("header, data, word", [
    ("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", b"\0" * 16, "dtype"),
    ("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", b"\0" * 8, "structured"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }", b"\0" * 8, "does not match"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", b"", "shape"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 500 + ")" * 500 + ", }", b"", "header"),
    ("{'descr': '|V8', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8, "dtype"),
    ("{'descr': '<M8[s]', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8, "dtype"),
])
def test_npy_headers_are_validated(tmp_path, header, data, word):
    path = tmp_path / "v_template.npy"
    path.write_bytes(_npy_bytes(header, data))
    with open(path, "rb") as fh, pytest.raises(ModelFileError, match=word):
        read_npy_stream(fh, path.stat().st_size, (path, "v_template"))


def test_strided_copy_stays_inside_its_storage():
    from flame_core.io.safe_arrays import strided_copy

    storage = np.arange(12.0)
    np.testing.assert_array_equal(strided_copy(storage, 1, (2, 3), (4, 1), ("t", "k")), [[1, 2, 3], [5, 6, 7]])
    np.testing.assert_array_equal(strided_copy(storage, 0, (3,), (0,), ("t", "k")), [0, 0, 0])
    for offset, shape, strides, word in [(0, (4, 4), (4, 1), "past its storage"), (-1, (2,), (1,), "offset"),
                                         (0, (2,), (-1,), "strides"), (0, (10**9,), (0,), "too large")]:
        with pytest.raises(ModelFileError, match=word):
            strided_copy(storage, offset, shape, strides, ("t", "k"))


def _patch_member_size(path, member: str, size: int) -> None:
    """Make the zip directory claim ``member`` holds ``size`` bytes (local and central headers)."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                data[start + offset : start + offset + 4] = struct.pack("<I", size)
            start += 4
    path.write_bytes(bytes(data))


def test_sequence_npz_unused_huge_member_is_not_read(tmp_path):
    path = tmp_path / "tracked.npz"
    rng = np.random.default_rng(0)
    np.savez(path, expr=rng.normal(size=(4, 10)), rotation=np.zeros((4, 3)), huge=np.zeros(16))
    _patch_member_size(path, "huge.npy", 3 << 30)  # the directory says 3 GB; reading it would fail
    seq = load_sequence(path)
    assert len(seq) == 4 and "huge" in seq.skipped and "huge" not in seq.extras


def test_sequence_npz_huge_parameter_member_is_refused(tmp_path):
    path = tmp_path / "tracked.npz"
    np.savez(path, expr=np.zeros((4, 10)), rotation=np.zeros((4, 3)))
    _patch_member_size(path, "expr.npy", 3 << 30)
    with pytest.raises(SequenceFileError, match="too large") as info:
        load_sequence(path)
    assert "expr" in str(info.value)


def test_model_npz_member_larger_than_declared_data_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("v_template.npy", _npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4096, 4096), }"))
    with pytest.raises(ModelFileError, match="does not match"):
        load_model(path)


@pytest.mark.parametrize("entry, word", [
    ({"dtype": "F32", "shape": [2**62 - 1, 2**62 - 1, 0], "data_offsets": [0, 0]}, "invalid"),
    ({"dtype": "F32", "shape": [2**64], "data_offsets": [0, 4]}, "invalid tensor entry"),
    ({"dtype": "F32", "shape": [1], "data_offsets": [0, 2**64 + 4]}, "invalid tensor entry"),
    ({"dtype": "F32", "shape": [1e300], "data_offsets": [0, 4]}, "invalid tensor entry"),
    ({"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}, "invalid tensor entry"),
    ({"dtype": "C64", "shape": [1], "data_offsets": [0, 4]}, "invalid tensor entry"),
])
def test_safetensors_entries_past_int64_are_refused(tmp_path, entry, word):
    header = json.dumps({"v_template": entry}).encode()
    header += b" " * (-len(header) % 8)
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 4)
    with pytest.raises(ModelFileError, match=word):
        safetensors_io.read_safetensors(path, backend="numpy")
    with pytest.raises(ModelFileError):
        load_model(path)


@pytest.mark.parametrize("header", [deep_json(100_000).encode(), b'{"a": ' + b"9" * 5000 + b"}",
                                    b'{"__metadata__": ' + deep_json(50_000).encode() + b"}"])
def test_safetensors_hostile_headers(tmp_path, header):
    header += b" " * (-len(header) % 8)
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    for backend in ("numpy", "auto"):
        with pytest.raises(ModelFileError):
            safetensors_io.read_safetensors(path, backend=backend)


# --------------------------------------------------------------------------- non-regular files and links
@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "model.pkl"
    os.mkfifo(path)
    return path


def _finishes(call, seconds: float = 10.0):
    """Run ``call`` in a thread; the test fails (instead of hanging) when it blocks."""
    box: dict = {}

    def target():
        try:
            box["value"] = call()
        except BaseException as exc:  # reported below
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the reader blocked"
    return box


@pytest.mark.parametrize("reader", [load_model, flame_core.io.load_landmarks, flame_core.io.load_masks,
                                    flame_core.io.load_uvs, load_sequence])
def test_fifo_is_refused_without_blocking(fifo, reader):
    box = _finishes(lambda: reader(fifo))
    assert isinstance(box.get("error"), FlameError), box
    assert "not a regular file" in str(box["error"]) and str(fifo) in str(box["error"])


def test_fifo_in_a_model_folder_or_sequence_folder_is_refused(tmp_path):
    model = demo_small()
    folder = flame_core.io.save_model(model, tmp_path / "model")
    os.mkfifo(folder / "extra.npy")
    box = _finishes(lambda: load_model(folder))
    assert isinstance(box.get("error"), ModelFileError) and "FIFO" in str(box["error"])
    frames = tmp_path / "frames"
    frames.mkdir()
    np.savez(frames / "00000.npz", expr=np.zeros(10), rotation=np.zeros(3))
    os.mkfifo(frames / "00001.npz")
    box = _finishes(lambda: load_sequence(frames))
    assert isinstance(box.get("error"), SequenceFileError) and "00001.npz" in str(box["error"])


def test_link_out_of_a_model_folder_is_refused(tmp_path):
    folder = flame_core.io.save_model(demo_small(), tmp_path / "model")
    secret = tmp_path / "secret.npy"
    np.save(secret, np.zeros(3))
    (folder / "stolen.npy").symlink_to(secret)
    with pytest.raises(ModelFileError, match="outside the folder") as info:
        load_model(folder)
    assert "stolen.npy" in str(info.value)


def demo_small():
    return flame_core.demo_model(n_shape=4, n_expression=3)


# --------------------------------------------------------------------------- JSON, OBJ
@pytest.mark.parametrize("doc, word", [
    (deep_json(200_000), "nested too deeply"),
    ('{"fps": 30, "frames": [{"expression": [' + "9" * 5000 + '], "pose": [0]}]}', "digits"),
    (json.dumps(oxigaf_json(expression=[1e200] * 10)), "magnitude"),
    ('{"fps": NaN, "frames": []}', "NaN"),
    (json.dumps(oxigaf_json(pose=[[0.0]] * 15)), "shape"),
    (json.dumps(oxigaf_json(pose=[{}] * 15)), "not numbers"),
])
def test_hostile_json_sequences(tmp_path, doc, word):
    path = write_json(tmp_path / "seq.json", doc)
    with pytest.raises(SequenceFileError, match=word) as info:
        load_sequence(path)
    assert str(path) in str(info.value)


def test_obj_with_an_unreadable_uv_line_is_an_error(tmp_path):
    rng = np.random.default_rng(0)
    faces = syn.random_faces(rng, 10, 6)
    uv, uv_faces = syn.uv_layout(faces)
    path = syn.write_obj(tmp_path / "head.obj", rng.normal(size=(10, 3)), faces, uv, uv_faces)
    lines = path.read_text().splitlines()
    first_vt = next(i for i, line in enumerate(lines) if line.startswith("vt "))
    lines[first_vt] = "vt 0.5 oops"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ModelFileError, match=f"line {first_vt + 1}"):
        flame_core.io.load_uvs(path)


def test_obj_with_huge_indices_is_an_error(tmp_path):
    path = tmp_path / "head.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2/1 99999999999999999999999/1\n")
    with pytest.raises(ModelFileError, match="index out of range"):
        flame_core.io.load_uvs(path)


# --------------------------------------------------------------------------- silently wrong
def test_per_frame_folder_with_gaps_keeps_frame_numbers(tmp_path):
    for number in (0, 1, 5, 9):
        np.savez(tmp_path / f"{number:05d}.npz", expr=np.full(10, number / 10), rotation=np.zeros(3),
                 fps=np.array(25.0))
    seq = load_sequence(tmp_path)
    np.testing.assert_array_equal(seq.extras["frame_id"], [0, 1, 5, 9])
    np.testing.assert_allclose(seq.timestamps, np.array([0, 1, 5, 9]) / 25.0)
    np.testing.assert_allclose(seq.params.expression[:, 0], [0.0, 0.1, 0.5, 0.9])
    assert "frame_id" in seq.frame_keys and len(seq[1:3].extras["frame_id"]) == 2


def test_consecutive_frames_have_no_frame_id(tmp_path):
    for number in (3, 4, 5):
        np.savez(tmp_path / f"{number}.npz", expr=np.zeros(10), rotation=np.zeros(3))
    assert "frame_id" not in load_sequence(tmp_path).extras


@pytest.mark.parametrize("field, value", [("expression", 1e200), ("rotation", -1e200), ("translation", 1e9),
                                          ("shape", 5e3)])
def test_absurd_parameters_are_refused_before_the_forward(field, value):
    size = {"expression": 10, "rotation": 3, "translation": 3, "shape": 10}[field]
    with pytest.raises(flame_core.ParamsError, match="magnitude"):
        FlameParams(**{field: np.full(size, value)})


def test_forward_refuses_non_finite_output():
    model = demo_small()
    arrays = {k: np.array(v) for k, v in model.arrays().items()}
    arrays["shapedirs"] = arrays["shapedirs"] * 1e38
    huge = type(model)(**arrays)
    with pytest.raises(FlameError, match="non-finite"):
        huge.forward(shape=np.full(4, 900.0))


# --------------------------------------------------------------------------- command line
def _cli(argv, tmp_path, monkeypatch, capsys):
    from flame_core.cli import main

    monkeypatch.chdir(tmp_path)
    status = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    return status, err


@pytest.fixture
def sequence_file(tmp_path):
    return flame_core.save_sequence(flame_core.FlameSequence(FlameParams(expression=np.zeros((2, 5))), fps=25.0),
                                    tmp_path / "seq.npz")


@pytest.mark.parametrize("extra, word", [
    (["--size", "100000"], "--size"),
    (["--size", "8000x8000"], "samples in all"),
    (["--size", "9" * 5000], "--size"),
    (["--samples", "1000000"], "--samples"),
    (["--samples", "5"], "--samples"),
    (["--camera", "cam.json"], "width, height"),
])
def test_cli_refuses_absurd_render_arguments_in_one_line(tmp_path, monkeypatch, capsys, sequence_file, extra, word):
    write_json(tmp_path / "cam.json", {"K": [[500, 0, 50], [0, 500, 50], [0, 0, 1]], "R": np.eye(3).tolist(),
                                       "t": [0, 0, 1], "width": 10**9, "height": 10**9})
    status, err = _cli(["render", sequence_file, tmp_path / "out", *extra], tmp_path, monkeypatch, capsys)
    assert status == 1 and word in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("extra, word", [(["-n", str(10**12)], "-n"), (["--seed", "-5"], "--seed"),
                                         (["--min-distance", "-1"], "--min-distance")])
def test_cli_refuses_absurd_sample_arguments_in_one_line(tmp_path, monkeypatch, capsys, extra, word):
    status, err = _cli(["sample", "out.ply", *extra], tmp_path, monkeypatch, capsys)
    assert status == 1 and word in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("name", ["dtype_object_flags", "zero_stride_model", "quadratic_codec", "bytearray_bomb"])
def test_cli_reports_a_hostile_model_in_one_line(tmp_path, monkeypatch, capsys, name):
    (tmp_path / "model.pkl").write_bytes(ATTACKS[name])
    status, err = _cli(["info", "model.pkl"], tmp_path, monkeypatch, capsys)
    assert status == 1 and "model.pkl" in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_cli_reports_a_fifo_in_one_line(tmp_path, monkeypatch, capsys):
    os.mkfifo(tmp_path / "seq.npz")
    box = _finishes(lambda: _cli(["render", "seq.npz", "out"], tmp_path, monkeypatch, capsys))
    status, err = box["value"]
    assert status == 1 and "not a regular file" in err and len(err.splitlines()) == 1
