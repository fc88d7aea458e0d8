"""The torch-free reader of ``torch.save`` files: both formats, embedded streams, and broken or hostile files."""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest
import torch_writer as tw

from flame_core.errors import FlameError, ModelFileError, UnsafePickleError
from flame_core.io import torch_files
from flame_core.io.landmark_files import load_landmarks

BASE = np.arange(24, dtype=np.float32) * 0.5 - 3.0


def sample() -> tuple[dict, dict]:
    """A dict of tensors (views of one storage, every dtype) and the arrays it must read as."""
    shared = tw.Storage.of(BASE)
    full = BASE.reshape(4, 6)
    halves = np.array([1.5, -2.25, 65504.0], np.float16)
    bf = np.array([1.5, -2.25, 2.0**120, 0.0078125], np.float32)  # exact in bfloat16
    obj = {
        "full": tw.Tensor(shared, 0, (4, 6), (6, 1)),
        "view": tw.Tensor(shared, 8, (3, 3), (6, 1)),
        "transposed": tw.Tensor(shared, 0, (6, 4), (1, 6)),
        "strided": tw.Tensor(shared, 1, (2, 3), (12, 2)),
        "expanded": tw.Tensor(shared, 5, (3, 2), (0, 1)),
        "scalar": tw.Tensor(shared, 23, (), ()),
        "empty": tw.Tensor(shared, 0, (0, 3), (3, 1)),
        "half": tw.Tensor.of(halves),
        "bfloat16": tw.Tensor.of(bf, "BFloat16Storage"),
        "long": tw.Tensor.of(np.arange(-3, 4, dtype=np.int64).reshape(7, 1)),
        "int": tw.Tensor.of(np.array([2**31 - 1, -(2**31)], np.int32)),
        "byte": tw.Tensor.of(np.array([0, 255], np.uint8)),
        "bool": tw.Tensor.of(np.array([True, False, True])),
        "double": tw.Tensor.of(np.linspace(0, 1, 5)),
        "nested": {"array": np.arange(3.0), "text": "00007", "number": 7},
        "list": [tw.Tensor.of(np.ones(2, np.float32)), 2],
    }
    expected = {
        "full": full, "view": full[1:, 2:5], "transposed": full.T,
        "strided": BASE[[1, 3, 5, 13, 15, 17]].reshape(2, 3), "expanded": np.broadcast_to(BASE[5:7], (3, 2)),
        "scalar": np.float32(BASE[23]), "empty": np.zeros((0, 3), np.float32),
        "half": halves, "bfloat16": bf, "long": np.arange(-3, 4).reshape(7, 1),
        "int": np.array([2**31 - 1, -(2**31)], np.int32), "byte": np.array([0, 255], np.uint8),
        "bool": np.array([True, False, True]), "double": np.linspace(0, 1, 5),
    }
    return obj, expected


def check(out: dict, expected: dict) -> None:
    for key, value in expected.items():
        got = out[key]
        assert isinstance(got, np.ndarray), key
        assert got.dtype == np.asarray(value).dtype and got.shape == np.shape(value), key
        assert np.array_equal(got, value), key
        assert got.flags.owndata or got.base is None or got.flags.writeable, key  # a copy, not a file view
    assert np.array_equal(out["nested"]["array"], np.arange(3.0)) and out["nested"]["text"] == "00007"
    assert np.array_equal(out["list"][0], np.ones(2, np.float32)) and out["list"][1] == 2


@pytest.mark.parametrize("folder", ["archive", "checkpoint_00012"])
def test_zip_archive(tmp_path, folder):
    obj, expected = sample()
    path = tmp_path / "x.pt"
    path.write_bytes(tw.zip_bytes(obj, folder))
    check(torch_files.load(path), expected)


@pytest.mark.parametrize(("little_endian", "protocol"), [(True, 2), (False, 2), (True, 4)])
def test_legacy_stream(tmp_path, little_endian, protocol):
    obj, expected = sample()
    path = tmp_path / "x.pth"
    path.write_bytes(tw.legacy_bytes(obj, little_endian=little_endian, protocol=protocol))
    assert torch_files.is_torch_bytes(path.read_bytes()[:512])
    check(torch_files.load(path), expected)


def test_writer_layouts_follow_the_specification():
    obj, _ = sample()
    data = tw.zip_bytes(obj, "frame")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names[:4] == ["frame/data.pkl", "frame/.format_version", "frame/.storage_alignment", "frame/byteorder"]
        assert names[-2:] == ["frame/version", "frame/.data/serialization_id"]
        for info in archive.infolist():  # storages start at multiples of 64, as torch aligns them
            start = info.header_offset + 30 + len(info.filename) + len(info.extra)
            assert start % 64 == 0 and info.compress_type == zipfile.ZIP_STORED
    assert torch_files.is_torch_bytes(data[:512])
    legacy = tw.legacy_bytes(obj)
    assert legacy.startswith(torch_files.LEGACY_PREFIX) and torch_files.is_torch_bytes(legacy[:64])


def test_load_from_bytes_inside_an_npy_pickle(tmp_path):
    idx = np.arange(79 * 17).reshape(79, 17) % 97
    bary = np.random.default_rng(0).random((79, 17, 3)).astype(np.float32)
    payload = tw.object_npy_bytes({"a": tw.embedded(idx), "b": tw.embedded(bary), "c": np.eye(2)})
    path = tmp_path / "x.npy"
    path.write_bytes(payload)
    from flame_core.io.npy_folder import read_npy

    out = read_npy(path)
    assert np.array_equal(out["a"], idx) and out["a"].dtype == np.int64
    assert np.array_equal(out["b"], bary) and out["b"].dtype == np.float32
    assert np.array_equal(out["c"], np.eye(2))


def embedding_file(tmp_path, n_static: int, n_faces: int = 100):
    rng = np.random.default_rng(n_static)
    static_idx = rng.integers(0, n_faces, n_static)
    static_bary = rng.dirichlet(np.ones(3), n_static)
    dyn_idx = rng.integers(0, n_faces, (79, 17))
    dyn_bary = rng.dirichlet(np.ones(3), (79, 17)).astype(np.float32)
    n_full = n_static + 17
    data = {
        "static_lmk_faces_idx": static_idx, "static_lmk_bary_coords": static_bary,
        "dynamic_lmk_faces_idx": tw.embedded(dyn_idx), "dynamic_lmk_bary_coords": tw.embedded(dyn_bary),
        "full_lmk_faces_idx": rng.integers(0, n_faces, (1, n_full)),
        "full_lmk_bary_coords": rng.dirichlet(np.ones(3), (1, n_full)).astype(np.float32),
    }
    path = tmp_path / f"embedding_{n_static}.npy"
    path.write_bytes(tw.object_npy_bytes(data))
    return path, static_idx, static_bary, dyn_idx, dyn_bary


@pytest.mark.parametrize(("n_static", "name", "count"), [(51, "deca", 68), (53, "vhap", 70)])
def test_deca_and_vhap_landmark_embeddings(tmp_path, n_static, name, count):
    path, static_idx, static_bary, dyn_idx, dyn_bary = embedding_file(tmp_path, n_static)
    lmk = load_landmarks(path)
    assert lmk.name == name and lmk.count == count
    assert np.array_equal(lmk.face_index, static_idx) and np.array_equal(lmk.barycentric, static_bary)
    assert np.array_equal(lmk.contour_face_index, dyn_idx)
    assert np.array_equal(lmk.contour_barycentric, dyn_bary.astype(np.float64))
    assert lmk.extra["full_face_index"].shape == (count,)


def test_landmarks_saved_with_torch_save(tmp_path):
    rng = np.random.default_rng(1)
    idx, bary = rng.integers(0, 100, 51), rng.dirichlet(np.ones(3), 51)
    path = tmp_path / "static.pt"
    path.write_bytes(tw.zip_bytes({"lmk_face_idx": tw.Tensor.of(idx), "lmk_b_coords": tw.Tensor.of(bary)}))
    lmk = load_landmarks(path)
    assert np.array_equal(lmk.face_index, idx) and np.array_equal(lmk.barycentric, bary)


# ------------------------------------------------------------------ broken and hostile files


def zip_with_pickle(pickled: bytes, storages: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("archive/data.pkl", pickled)
        archive.writestr("archive/byteorder", b"little")
        for key, data in (storages or {}).items():
            archive.writestr(f"archive/data/{key}", data)
    return buf.getvalue()


def pid_pickle(storage_type: str, key: str, numel: int, offset: int, size: tuple, stride: tuple) -> bytes:
    """A data.pkl of one tensor, written opcode by opcode."""
    storage = tw.Storage(b"", storage_type, numel)
    keys = {id(storage): (key, storage)}
    return tw._dump(tw.Tensor(storage, offset, size, stride), keys, legacy=False)


def test_truncated_zip(tmp_path):
    data = tw.zip_bytes(sample()[0])
    for cut in (len(data) // 3, len(data) - 30, 100):
        path = tmp_path / "cut.pt"
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match=r"cut\.pt"):
            torch_files.load(path)


def test_truncated_legacy_stream(tmp_path):
    data = tw.legacy_bytes(sample()[0])
    for cut in (30, len(data) // 2, len(data) - 1):
        path = tmp_path / "cut.pt"
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match=r"cut\.pt"):
            torch_files.load(path)


@pytest.mark.parametrize(
    ("pickled", "storages", "message"),
    [
        (pid_pickle("FloatStorage", "7", 4, 0, (4,), (1,)), {"0": b"\0" * 16}, "missing storage"),
        (pid_pickle("FloatStorage", "../0", 4, 0, (4,), (1,)), {"0": b"\0" * 16}, "bad storage key"),
        (pid_pickle("FloatStorage", "0", 4, 0, (4,), (1,)), {"0": b"\0" * 12}, "storage size differs"),
        (pid_pickle("FloatStorage", "0", 4, 2, (4,), (1,)), {"0": b"\0" * 16}, "past its storage"),
        (pid_pickle("FloatStorage", "0", 4, 0, (2, 2), (3, 1)), {"0": b"\0" * 16}, "past its storage"),
        (pid_pickle("FloatStorage", "0", 4, -1, (1,), (1,)), {"0": b"\0" * 16}, "bad storage offset"),
        (pid_pickle("FloatStorage", "0", 4, 0, (2,), (-1,)), {"0": b"\0" * 16}, "bad tensor size"),
        (pid_pickle("FloatStorage", "0", 4, 0, (2, 2), (1,)), {"0": b"\0" * 16}, "bad tensor size"),
        (pid_pickle("ComplexFloatStorage", "0", 4, 0, (4,), (1,)), {"0": b"\0" * 32}, "allow-list"),
        (pid_pickle("FloatStorage", "0", 1, 0, (10**6, 10**6), (0, 0)), {"0": b"\0" * 4}, "larger than the file"),
    ],
)
def test_malformed_tensors(tmp_path, pickled, storages, message):
    path = tmp_path / "bad.pt"
    path.write_bytes(zip_with_pickle(pickled, storages))
    with pytest.raises(FlameError, match=message) as err:
        torch_files.load(path)
    assert "bad.pt" in str(err.value)


def test_wrong_storage_dtype_is_refused(tmp_path):
    pickled = pid_pickle("FloatStorage", "0", 4, 0, (4,), (1,)).replace(b"FloatStorage", b"QInt8Storage")
    path = tmp_path / "bad.pt"
    path.write_bytes(zip_with_pickle(pickled, {"0": b"\0" * 16}))
    with pytest.raises(UnsafePickleError, match=r"torch\.QInt8Storage"):
        torch_files.load(path)


@pytest.mark.parametrize(
    "global_name",
    [b"torch._utils\n_rebuild_parameter", b"torch\nload", b"os\nsystem", b"builtins\neval", b"torch.nn\nLinear"],
)
def test_globals_outside_the_allow_list(tmp_path, global_name):
    pickled = b"\x80\x02c" + global_name + b"\n)R."
    path = tmp_path / "evil.pt"
    path.write_bytes(zip_with_pickle(pickled))
    with pytest.raises(UnsafePickleError, match=r"evil\.pt"):
        torch_files.load(path)
    head = tw._dump(tw.MAGIC_NUMBER) + tw._dump(1001) + tw._dump(tw.SYS_INFO)  # the legacy stream's records
    path.write_bytes(head + pickled + tw._dump([]))
    with pytest.raises(UnsafePickleError, match=r"evil\.pt"):
        torch_files.load(path)
    path.write_bytes(tw.object_npy_bytes({"a": 1})[:128] + pickled)  # inside a pickled .npy
    from flame_core.io.npy_folder import read_npy

    with pytest.raises(UnsafePickleError, match=r"evil\.pt"):
        read_npy(path)


def test_compressed_and_foreign_members_are_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02K\x01.")
    path = tmp_path / "deflated.pt"
    path.write_bytes(buf.getvalue())
    with pytest.raises(ModelFileError, match="compressed"):
        torch_files.load(path)
    path.write_bytes(tw.zip_bytes({"a": 1}, records={"byteorder": b"middle"}))
    with pytest.raises(ModelFileError, match="byte order"):
        torch_files.load(path)
    path.write_bytes(tw.zip_bytes({"a": 1}, records={"version": b"99\n"}))
    with pytest.raises(ModelFileError, match="version"):
        torch_files.load(path)


def test_legacy_storage_count_mismatch(tmp_path):
    data = bytearray(tw.legacy_bytes({"a": tw.Tensor.of(np.arange(4, dtype=np.int64))}))
    tail = 8 + 4 * 8
    struct.pack_into("<q", data, len(data) - tail, 5)
    path = tmp_path / "count.pt"
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="storage size differs"):
        torch_files.load(path)


def test_legacy_storage_key_not_in_the_object(tmp_path):
    obj = {"a": tw.Tensor.of(np.arange(4, dtype=np.int64))}
    data = tw.legacy_bytes(obj)
    key = b"140000000000000"
    forged = data.replace(tw._dump([key.decode()]), tw._dump(["999"]))
    path = tmp_path / "key.pt"
    path.write_bytes(forged)
    with pytest.raises(ModelFileError, match="storage not used"):
        torch_files.load(path)


def test_memo_index_bomb_is_refused(tmp_path):
    """A tiny pickle putting to memo slot 2**31 - 1 would make the C unpickler allocate gigabytes."""
    pickled = b"\x80\x02K\x01r\xff\xff\xff\x7f."
    path = tmp_path / "memo.pt"
    path.write_bytes(zip_with_pickle(pickled))
    with pytest.raises(ModelFileError, match="memo index out of range"):
        torch_files.load(path)
    head = tw._dump(tw.MAGIC_NUMBER) + tw._dump(1001) + tw._dump(tw.SYS_INFO)
    path.write_bytes(head + pickled + tw._dump([]))
    with pytest.raises(ModelFileError, match="memo index out of range"):
        torch_files.load(path)


def test_nested_load_from_bytes_is_bounded(tmp_path):
    inner = tw.FromBytes(tw.Storage.of(np.arange(3, dtype=np.int64)))
    level2 = tw.Global("torch.storage", "_load_from_bytes")

    class Nest:
        def __init__(self, stream: bytes) -> None:
            self.stream = stream

        def __reduce__(self):
            return level2, (self.stream,)

    stream = tw.legacy_bytes(0)
    for _ in range(4):
        stream = tw.legacy_bytes(Nest(stream))
    path = tmp_path / "nest.pkl"
    path.write_bytes(tw._dump({"x": Nest(stream), "y": inner}))
    with pytest.raises(ModelFileError, match="nested too deeply"):
        torch_files.load(path)


@pytest.mark.parametrize("container", ["zip", "legacy"])
def test_mutated_files_end_in_flame_errors(container):
    """Random byte flips, cuts and insertions (fixed seed): each read returns or raises a FlameError."""
    obj, _ = sample()
    del obj["nested"]  # tensors and containers only: the numpy arrays' own state is the pickle reader's concern
    data = tw.zip_bytes(obj) if container == "zip" else tw.legacy_bytes(obj)
    rng = np.random.default_rng(8)
    outcomes = {"read": 0, "refused": 0}
    for k in range(300):
        mutated = bytearray(data)
        for _ in range(int(rng.integers(1, 5))):
            pos = int(rng.integers(0, len(mutated)))
            op = int(rng.integers(0, 3))
            if op == 0:
                mutated[pos] = int(rng.integers(0, 256))
            elif op == 1:
                del mutated[pos : pos + int(rng.integers(1, 40))]
            else:
                mutated[pos:pos] = rng.integers(0, 256, int(rng.integers(1, 16)), dtype=np.uint8).tobytes()
        try:
            torch_files.loads(bytes(mutated), f"mutation-{k}")
            outcomes["read"] += 1
        except FlameError as exc:
            assert f"mutation-{k}" in str(exc)
            outcomes["refused"] += 1
    assert outcomes["refused"] > 100
