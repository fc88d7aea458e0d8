"""PLY point clouds: byte layout checked by an independent parser, reading all three formats, errors."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core import FileFormatError, FlameError
from flame_core.ply import read_ply, write_ply

TYPES = {"float": "f4", "double": "f8", "uchar": "u1", "char": "i1", "short": "i2", "ushort": "u2", "int": "i4",
         "uint": "u4"}


def parse_binary_le(data: bytes):
    """A minimal independent reader: header lines, then the vertex table via np.frombuffer."""
    end = data.index(b"end_header\n") + len(b"end_header\n")
    lines = data[:end].decode("ascii").splitlines()
    assert lines[0] == "ply" and lines[1] == "format binary_little_endian 1.0"
    elements = [line.split() for line in lines if line.startswith("element")]
    assert len(elements) == 1 and elements[0][1] == "vertex"
    props = [line.split()[1:] for line in lines if line.startswith("property")]
    dtype = np.dtype([(name, "<" + TYPES[kind]) for kind, name in props])
    count = int(elements[0][2])
    assert len(data) == end + count * dtype.itemsize
    return props, np.frombuffer(data, dtype=dtype, offset=end)


def test_layout_for_gaussian_splatting(tmp_path):
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(50, 3))
    nrm = rng.normal(size=(50, 3))
    col = rng.random((50, 3))
    path = write_ply(tmp_path / "points.ply", pos, nrm, col)
    props, table = parse_binary_le(path.read_bytes())
    assert props == [["float", "x"], ["float", "y"], ["float", "z"], ["float", "nx"], ["float", "ny"],
                     ["float", "nz"], ["uchar", "red"], ["uchar", "green"], ["uchar", "blue"]]
    np.testing.assert_array_equal(np.stack([table["x"], table["y"], table["z"]], 1), pos.astype(np.float32))
    np.testing.assert_array_equal(np.stack([table["nx"], table["ny"], table["nz"]], 1), nrm.astype(np.float32))
    np.testing.assert_array_equal(table["red"], np.round(col[:, 0] * 255).astype(np.uint8))


def test_round_trip_with_extra_columns(tmp_path):
    rng = np.random.default_rng(1)
    pos = rng.normal(size=(20, 3)).astype(np.float32)
    colors = rng.integers(0, 256, size=(20, 3), dtype=np.uint8)
    extra = {"opacity": rng.random(20), "label": np.arange(20, dtype=np.int64), "f_dc": rng.random((20, 3))}
    path = write_ply(tmp_path / "e.ply", pos, colors=colors, extra=extra)
    cols = read_ply(path)
    assert list(cols) == ["x", "y", "z", "red", "green", "blue", "opacity", "label", "f_dc_0", "f_dc_1", "f_dc_2"]
    np.testing.assert_array_equal(cols["x"], pos[:, 0])
    np.testing.assert_array_equal(cols["green"], colors[:, 1])
    assert cols["opacity"].dtype == np.float64 and cols["label"].dtype == np.int32
    np.testing.assert_array_equal(cols["opacity"], extra["opacity"])
    np.testing.assert_array_equal(cols["label"], np.arange(20))
    np.testing.assert_array_equal(cols["f_dc_2"], extra["f_dc"][:, 2])
    props, _ = parse_binary_le(path.read_bytes())
    assert ["double", "opacity"] in props and ["int", "label"] in props


def test_empty_cloud(tmp_path):
    path = write_ply(tmp_path / "empty.ply", np.zeros((0, 3)))
    assert read_ply(path)["x"].shape == (0,)


def test_reads_ascii_with_other_elements(tmp_path):
    text = (
        "ply\r\nformat ascii 1.0\r\ncomment made by hand\r\nelement camera 1\r\nproperty float fov\r\n"
        "element vertex 3\r\nproperty float x\r\nproperty float y\r\nproperty float z\r\nproperty uchar red\r\n"
        "element face 1\r\nproperty list uchar int vertex_indices\r\nend_header\r\n"
        "0.5\r\n0 0 0 10\r\n1 0 0 20\r\n0 1.5 -2e-1 255\r\n3 0 1 2\r\n"
    )
    path = tmp_path / "a.ply"
    path.write_bytes(text.encode("ascii"))
    cols = read_ply(path)
    np.testing.assert_allclose(np.stack([cols["x"], cols["y"], cols["z"]], 1), [[0, 0, 0], [1, 0, 0], [0, 1.5, -0.2]],
                               rtol=1e-6)
    assert cols["red"].dtype == np.uint8 and list(cols["red"]) == [10, 20, 255]


def binary_file(path, order: str, values: np.ndarray, before: bytes = b"", before_header: str = "", after=b""):
    fmt = {"<": "binary_little_endian", ">": "binary_big_endian"}[order]
    header = f"ply\nformat {fmt} 1.0\n{before_header}element vertex {len(values)}\nproperty double x\n"
    header += "property short s\nelement face 2\nproperty list uchar int vertex_indices\nend_header\n"
    table = np.empty(len(values), dtype=[("x", order + "f8"), ("s", order + "i2")])
    table["x"] = values
    table["s"] = np.arange(len(values)) - 2
    path.write_bytes(header.encode() + before + table.tobytes() + after)
    return path


@pytest.mark.parametrize("order", ["<", ">"])
def test_reads_both_byte_orders(tmp_path, order):
    values = np.array([1.5, -2.25, 3e10, 0.0])
    before = np.array([7, 8], dtype=order + "i4").tobytes()
    path = binary_file(tmp_path / "b.ply", order, values, before, "element extra 2\nproperty int k\n", b"\x03junk")
    cols = read_ply(path)
    np.testing.assert_array_equal(cols["x"], values)
    np.testing.assert_array_equal(cols["s"], [-2, -1, 0, 1])
    assert cols["x"].dtype.isnative and cols["s"].dtype == np.int16


@pytest.mark.parametrize(
    "content, words",
    [
        (b"PLY\nformat ascii 1.0\nend_header\n", "not a PLY"),
        (b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\n", "truncated"),
        (b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nend_header\n" + bytes(8),
         "truncated"),
        (b"ply\nformat binary_middle_endian 1.0\nelement vertex 1\nproperty float x\nend_header\n", "format"),
        (b"ply\nformat ascii 1.0\nelement vertex 1\nproperty quad x\nend_header\n1\n", "property"),
        (b"ply\nformat ascii 1.0\nelement face 1\nproperty float x\nend_header\n1\n", "vertex"),
        (b"ply\nelement vertex 1\nproperty float x\nend_header\n1\n", "format"),
        (b"ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nend_header\n1\n", "truncated"),
        (b"ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nend_header\n1\nabc\n", "non-numeric"),
        (b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nend_header\n1\n", "number"),
        (b"ply\nformat binary_little_endian 1.0\nelement face 1\nproperty list uchar int i\n"
         b"element vertex 1\nproperty float x\nend_header\n\x01\x00\x00\x00\x00\x00\x00\x00\x00", "list"),
    ],
)
def test_bad_files_raise_file_format_error(tmp_path, content, words):
    path = tmp_path / "bad.ply"
    path.write_bytes(content)
    with pytest.raises(FileFormatError) as info:
        read_ply(path)
    assert str(path) in str(info.value)
    assert words.lower() in str(info.value).lower()


def test_missing_file_and_bad_arguments(tmp_path):
    with pytest.raises(FileFormatError):
        read_ply(tmp_path / "nope.ply")
    with pytest.raises(FlameError):
        write_ply(tmp_path / "x.ply", np.zeros((4, 2)))
    with pytest.raises(FlameError):
        write_ply(tmp_path / "x.ply", np.zeros((4, 3)), normals=np.zeros((3, 3)))
    with pytest.raises(FlameError):
        write_ply(tmp_path / "x.ply", np.zeros((4, 3)), extra={"x": np.zeros(4)})
    with pytest.raises(FlameError):
        write_ply(tmp_path / "x.ply", np.zeros((4, 3)), extra={"big": np.array([2**40, 0, 0, 0])})
