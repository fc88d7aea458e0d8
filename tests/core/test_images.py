"""PNG and EXR files written without dependencies, checked with Pillow / pypng and by parsing."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from flame_core.errors import FileFormatError, FlameError
from flame_core.images import encode_exr, read_exr, read_png, save_image, write_exr, write_png

Image = pytest.importorskip("PIL.Image")
png = pytest.importorskip("png")


@pytest.mark.parametrize("channels, mode", [(1, "L"), (2, "LA"), (3, "RGB"), (4, "RGBA")])
def test_png_8bit_read_by_pillow(tmp_path, channels, mode):
    rng = np.random.default_rng(channels)
    img = rng.integers(0, 256, (23, 41, channels)).astype(np.uint8)
    write_png(tmp_path / "a.png", img)
    with Image.open(tmp_path / "a.png") as im:
        assert im.mode == mode and im.size == (41, 23)
        assert np.array_equal(np.asarray(im).reshape(23, 41, channels), img)
    assert np.array_equal(read_png(tmp_path / "a.png"), img)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png_16bit_read_by_pypng(tmp_path, channels):
    rng = np.random.default_rng(10 + channels)
    img = rng.integers(0, 65536, (17, 29, channels)).astype(np.uint16)
    write_png(tmp_path / "a.png", img, bit_depth=16)
    width, height, rows, info = png.Reader(filename=str(tmp_path / "a.png")).read()
    assert (width, height, info["bitdepth"], info["planes"]) == (29, 17, 16, channels)
    assert np.array_equal(np.array(list(rows)).reshape(17, 29, channels), img)
    assert np.array_equal(read_png(tmp_path / "a.png"), img)


def test_png_float_quantisation(tmp_path):
    img = np.array([[[0.0, 0.5, 1.0, 1.2], [-0.1, 0.25, 0.75, 1.0]]], dtype=np.float32)
    write_png(tmp_path / "a.png", img)
    assert read_png(tmp_path / "a.png").tolist() == [[[0, 128, 255, 255], [0, 64, 191, 255]]]
    write_png(tmp_path / "b.png", img, bit_depth=16)
    assert read_png(tmp_path / "b.png")[0, 0].tolist() == [0, 32768, 65535, 65535]
    with pytest.raises(FlameError):
        write_png(tmp_path / "c.png", np.full((2, 2), np.nan))
    with pytest.raises(FlameError):
        write_png(tmp_path / "c.png", np.full((2, 2), 300))


def test_read_png_written_by_pillow_with_all_filters(tmp_path):
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 24)
    smooth = (np.stack(np.meshgrid(x, x[:18]), -1).sum(-1) * 100).astype(np.uint8)
    img = np.stack([smooth, rng.integers(0, 256, smooth.shape), smooth[::-1], np.full_like(smooth, 200)], -1)
    Image.fromarray(img.astype(np.uint8), "RGBA").save(tmp_path / "p.png", optimize=True)
    raw = zlib.decompress(_idat(tmp_path / "p.png"))
    assert {3, 4} <= {raw[r * (24 * 4 + 1)] for r in range(18)}  # Average and Paeth rows present
    assert np.array_equal(read_png(tmp_path / "p.png"), img)
    (tmp_path / "bad.png").write_bytes(b"not a png at all")
    with pytest.raises(FileFormatError):
        read_png(tmp_path / "bad.png")


def _idat(path: Path) -> bytes:
    blob, pos, data = path.read_bytes(), 8, b""
    while pos < len(blob):
        (length,) = struct.unpack(">I", blob[pos : pos + 4])
        if blob[pos + 4 : pos + 8] == b"IDAT":
            data += blob[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return data


def _exr_header(blob: bytes) -> tuple[dict[str, tuple[str, bytes]], int]:
    pos, attrs = 8, {}
    while blob[pos] != 0:
        name_end = blob.index(b"\0", pos)
        type_end = blob.index(b"\0", name_end + 1)
        (size,) = struct.unpack("<i", blob[type_end + 1 : type_end + 5])
        value = blob[type_end + 5 : type_end + 5 + size]
        attrs[blob[pos:name_end].decode()] = (blob[name_end + 1 : type_end].decode(), value)
        pos = type_end + 5 + size
    return attrs, pos + 1


@pytest.mark.parametrize("compression, lines", [("NONE", 1), ("ZIPS", 1), ("ZIP", 16)])
@pytest.mark.parametrize("half", [False, True])
def test_exr_layout_and_round_trip(tmp_path, compression, lines, half):
    rng = np.random.default_rng(1)
    img = (rng.random((37, 21, 4)) * 4 - 1).astype(np.float32)
    img[:10] = 0.5  # compressible rows
    blob = encode_exr(img, half=half, compression=compression)
    assert struct.unpack("<ii", blob[:8]) == (20000630, 2)
    attrs, pos = _exr_header(blob)
    required = {"channels", "compression", "dataWindow", "displayWindow", "lineOrder", "pixelAspectRatio"}
    assert required | {"screenWindowCenter", "screenWindowWidth"} <= set(attrs)
    chlist = attrs["channels"][1]
    names, types, i = [], [], 0
    while chlist[i] != 0:
        end = chlist.index(b"\0", i)
        names.append(chlist[i:end].decode())
        types.append(struct.unpack("<i", chlist[end + 1 : end + 5])[0])
        i = end + 17
    assert names == ["A", "B", "G", "R"]  # alphabetical order in the file
    assert types == [1 if half else 2] * 4  # HALF = 1, FLOAT = 2
    assert struct.unpack("<iiii", attrs["dataWindow"][1]) == (0, 0, 20, 36)
    n_blocks = -(-37 // lines)
    offsets = struct.unpack(f"<{n_blocks}Q", blob[pos : pos + 8 * n_blocks])
    ys = [struct.unpack("<i", blob[o : o + 4])[0] for o in offsets]
    assert ys == list(range(0, 37, lines)) and offsets[0] == pos + 8 * n_blocks
    path = tmp_path / "a.exr"
    write_exr(path, img, half=half, compression=compression)
    back = read_exr(path)
    expected = img.astype(np.float16) if half else img
    assert np.array_equal(np.stack([back[c] for c in "RGBA"], -1), expected)
    if compression != "NONE":
        assert len(blob) < len(encode_exr(img, half=half, compression="NONE"))


def test_save_image_by_suffix(tmp_path):
    img = np.random.default_rng(2).random((8, 9, 4)).astype(np.float32)
    save_image(tmp_path / "a.png", img)
    save_image(tmp_path / "b.png", img, bit_depth=16)
    save_image(tmp_path / "c.exr", img)
    save_image(tmp_path / "d.exr", img[..., :3], bit_depth=16)
    assert read_png(tmp_path / "a.png").dtype == np.uint8 and read_png(tmp_path / "b.png").dtype == np.uint16
    assert np.array_equal(read_exr(tmp_path / "c.exr")["G"], img[..., 1])
    assert set(read_exr(tmp_path / "d.exr")) == {"R", "G", "B"}
    with pytest.raises(FlameError):
        save_image(tmp_path / "e.jpg", img)
    with pytest.raises(FlameError):
        save_image(tmp_path / "e.png", img, bit_depth=32)


def test_normal_map_save(tmp_path):
    from flame_core.camera import Camera
    from flame_core.render import render_normal_map

    verts = np.array([[-1.0, -1, 3], [1, -1, 3], [0, 1, 3]])
    nm = render_normal_map(verts, np.array([[0, 1, 2]]), Camera(20.0, 20.0, 16.0, 16.0, 32, 32))
    nm.save(tmp_path / "n.png")
    with Image.open(tmp_path / "n.png") as im:
        assert np.array_equal(np.asarray(im), nm.to_uint8())


@pytest.mark.parametrize("row_filter", ["up", "sub", "none"])
@pytest.mark.parametrize("strategy", ["default", "rle"])
@pytest.mark.parametrize("bit_depth, channels", [(8, 1), (8, 4), (16, 4)])
def test_png_filters_and_strategies_decode_to_the_same_pixels(tmp_path, row_filter, strategy, bit_depth, channels):
    rng = np.random.default_rng(bit_depth + channels)
    img = rng.integers(0, 1 << bit_depth, (13, 21, channels)).astype(np.uint16 if bit_depth == 16 else np.uint8)
    img[4:9] = 0  # runs for the RLE strategy
    path = tmp_path / "a.png"
    write_png(path, img, bit_depth=bit_depth, compression=1, row_filter=row_filter, strategy=strategy)
    kinds = {zlib.decompress(_idat(path))[r * (21 * channels * bit_depth // 8 + 1)] for r in range(13)}
    assert kinds == {{"none": 0, "sub": 1, "up": 2}[row_filter]}
    assert np.array_equal(read_png(path), img)
    _, _, rows, _ = png.Reader(filename=str(path)).read()
    assert np.array_equal(np.array(list(rows)).reshape(13, 21, channels), img)
    with pytest.raises(FlameError, match="row_filter"):
        write_png(path, img, bit_depth=bit_depth, row_filter="paeth")
