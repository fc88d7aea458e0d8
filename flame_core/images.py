"""Image files without extra dependencies: PNG (8/16 bit, write and read) and OpenEXR (half/float, write and read).

Arrays are (H, W) or (H, W, C) with row 0 at the top. Float input to the PNG writer is taken as [0, 1] and
quantised (rounded, clipped); integer input is written as is. Channels: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.
Pixel values are written as data: no gamma or colour-space chunk, so normal maps stay linear-coded.

EXR files are single-part scanline images (channels stored in alphabetical order, as the format requires),
uncompressed, ZIPS (1 line per block) or ZIP (16 lines per block) compressed, with HALF or FLOAT channels.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import FileFormatError, FlameError

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
_PNG_CHANNELS = {v: k for k, v in _PNG_COLOR_TYPES.items()}
_EXR_MAGIC = 20000630
_EXR_COMPRESSION = {"NONE": 0, "ZIPS": 2, "ZIP": 3}
_EXR_LINES = {0: 1, 2: 1, 3: 16}
_EXR_PIXEL_TYPES: dict[int, np.dtype] = {1: np.dtype("<f2"), 2: np.dtype("<f4"), 0: np.dtype("<u4")}
#: Largest image read: 2**28 values (e.g. 8192 x 8192 RGBA), checked before anything is decompressed.
MAX_IMAGE_VALUES = 1 << 28


def _inflate(data: bytes, size: int) -> bytes:
    """zlib data that must decompress to exactly ``size`` bytes (never more is produced)."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, size + 1)
    if len(out) != size:
        raise ValueError(f"decompresses to {'more than ' if len(out) > size else ''}{len(out)} bytes, expected {size}")
    return out


def _read_image_file(path: str | Path) -> bytes:
    from .io.files import open_regular

    with open_regular(path, FileFormatError) as fh:
        try:
            return fh.read()
        except OSError as exc:
            raise FileFormatError(path, f"cannot read the file ({exc.strerror or exc})") from None


def _as_hwc(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4) or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise FlameError(f"image: expected (H, W) or (H, W, 1..4), found shape {np.shape(image)}")
    return arr


# ---------------------------------------------------------------------------------------------------- PNG
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


_PNG_FILTERS = {"none": 0, "sub": 1, "up": 2}
_ZLIB_STRATEGIES = {"default": zlib.Z_DEFAULT_STRATEGY, "rle": zlib.Z_RLE}


def encode_png(
    image: np.ndarray, bit_depth: int = 8, compression: int = 6, *, row_filter: str = "up", strategy: str = "default"
) -> bytes:
    """PNG file bytes for an image (see the module docstring); ``bit_depth`` 8 or 16.

    ``compression`` is the zlib level (0-9); ``row_filter`` the PNG filter of every row: ``"up"`` (the byte
    above), ``"sub"`` (the same channel of the pixel to the left) or ``"none"``; ``strategy`` ``"default"``
    or ``"rle"`` (zlib's run-length matching: with ``sub`` and level 1 about 1.5x faster than the default
    for rendered maps, files a few per cent larger). The decoded pixels are the same whatever the choice.
    """
    if row_filter not in _PNG_FILTERS or strategy not in _ZLIB_STRATEGIES:
        raise FlameError(f"png: row_filter must be one of {sorted(_PNG_FILTERS)} and strategy one of "
                         f"{sorted(_ZLIB_STRATEGIES)}, found {row_filter!r}, {strategy!r}")
    arr = _as_hwc(image)
    if bit_depth not in (8, 16):
        raise FlameError(f"bit_depth: PNG supports 8 or 16, found {bit_depth}")
    top = (1 << bit_depth) - 1
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise FlameError("image: PNG needs finite values")
        values = np.clip(arr, 0.0, 1.0)
        values *= top  # in place: no further full-size temporaries
        np.round(values, out=values)
    elif np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
        values = arr.astype(np.int64)
        if values.min() < 0 or values.max() > top:
            raise FlameError(f"image: integer values must lie in [0, {top}] for {bit_depth}-bit PNG")
    else:
        raise FlameError(f"image: expected a float or integer array, found {arr.dtype}")
    h, w, c = arr.shape
    raw = values.astype(">u2" if bit_depth == 16 else np.uint8).view(np.uint8).reshape(h, -1)
    # Each row: its filter type byte, then the filtered bytes (differences modulo 256).
    data = np.empty((h, raw.shape[1] + 1), dtype=np.uint8)
    data[:, 0] = _PNG_FILTERS[row_filter]
    data[:, 1:] = raw
    if row_filter == "up":
        data[1:, 1:] -= raw[:-1]
    elif row_filter == "sub":
        bpp = c * bit_depth // 8
        data[:, 1 + bpp :] -= raw[:, :-bpp]
    deflate = zlib.compressobj(compression, zlib.DEFLATED, 15, 8, _ZLIB_STRATEGIES[strategy])
    idat = deflate.compress(data.data) + deflate.flush()
    header = struct.pack(">IIBBBBB", w, h, bit_depth, _PNG_COLOR_TYPES[c], 0, 0, 0)
    return _PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def write_png(path: str | Path, image: np.ndarray, bit_depth: int = 8, compression: int = 6, **options: str) -> None:
    """Write a PNG file (see :func:`encode_png`; ``options``: ``row_filter``, ``strategy``)."""
    Path(path).write_bytes(encode_png(image, bit_depth, compression, **options))


def read_png(path: str | Path) -> np.ndarray:
    """Read a non-interlaced grey/RGB(A) PNG of bit depth 8 or 16 -> (H, W, C) uint8 or uint16.

    Rows using the Average or Paeth filters (not written by :func:`write_png`) are decoded byte by byte,
    which is slow for large images.
    """
    blob = _read_image_file(path)
    if not blob.startswith(_PNG_SIGNATURE):
        raise FileFormatError(path, "not a PNG file", expected="PNG signature", found=repr(blob[:8]))
    pos, header, idat = 8, None, []
    while pos + 8 <= len(blob):
        (length,) = struct.unpack(">I", blob[pos : pos + 4])
        kind = blob[pos + 4 : pos + 8]
        data = blob[pos + 8 : pos + 8 + length]
        if len(data) != length:
            raise FileFormatError(path, "truncated chunk", key=kind.decode("latin-1"))
        if kind == b"IHDR":
            if length != 13:
                raise FileFormatError(path, "bad IHDR chunk", key="IHDR", expected="13 bytes", found=str(length))
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat.append(data)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise FileFormatError(path, "no IHDR chunk")
    w, h, depth, color, _, _, interlace = header
    if depth not in (8, 16) or color not in _PNG_CHANNELS or interlace:
        found = f"bit depth {depth}, colour type {color}, interlace {interlace}"
        raise FileFormatError(path, "unsupported PNG", expected="8/16-bit grey/RGB(A), not interlaced", found=found)
    c = _PNG_CHANNELS[color]
    if w * h * c > MAX_IMAGE_VALUES:
        raise FileFormatError(path, "image too large", expected=f"at most {MAX_IMAGE_VALUES} values", found=f"{w}x{h}")
    bpp = c * depth // 8
    stride = w * bpp
    try:
        pixels = np.frombuffer(_inflate(b"".join(idat), h * (stride + 1)), dtype=np.uint8)
    except (zlib.error, ValueError) as exc:
        raise FileFormatError(path, f"corrupt or wrong amount of image data ({exc})") from None
    rows = pixels.reshape(h, stride + 1)
    kinds = rows[:, 0]
    out = rows[:, 1:].copy()
    if np.all(kinds == 2):
        np.cumsum(out, axis=0, dtype=np.uint8, out=out)
    elif np.all(kinds == 1):
        pixels_of_rows = out.reshape(h, w, bpp)
        np.cumsum(pixels_of_rows, axis=1, dtype=np.uint8, out=pixels_of_rows)
    elif np.any(kinds != 0):
        _unfilter_rows(out, kinds, bpp, path)
    pixels = out.view(">u2").astype(np.uint16) if depth == 16 else out
    return pixels.reshape(h, w, c)


def _unfilter_rows(out: np.ndarray, kinds: np.ndarray, bpp: int, path: str | Path) -> None:
    """Undo PNG filters row by row, in place (rows depend on the row above)."""
    prior = np.zeros(out.shape[1], dtype=np.uint8)
    for r, kind in enumerate(kinds.tolist()):
        line = out[r]
        if kind == 1:
            pix = line.reshape(-1, bpp)
            np.cumsum(pix, axis=0, dtype=np.uint8, out=pix)
        elif kind == 2:
            line += prior
        elif kind in (3, 4):
            buf = bytearray(line.tobytes())
            up = prior.tobytes()
            for i in range(len(buf)):
                a = buf[i - bpp] if i >= bpp else 0
                if kind == 3:
                    buf[i] = (buf[i] + ((a + up[i]) >> 1)) & 0xFF
                else:
                    c = up[i - bpp] if i >= bpp else 0
                    p = a + up[i] - c
                    pa, pb, pc = abs(p - a), abs(p - up[i]), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (up[i] if pb <= pc else c)
                    buf[i] = (buf[i] + pred) & 0xFF
            line[:] = np.frombuffer(bytes(buf), dtype=np.uint8)
        elif kind != 0:
            raise FileFormatError(path, f"unknown filter type {kind} in row {r}")
        prior = line


# ---------------------------------------------------------------------------------------------------- EXR
def _attr(name: str, kind: str, value: bytes) -> bytes:
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value


def _exr_channel_names(channels: int) -> list[str]:
    return {1: ["Y"], 2: ["Y", "A"], 3: ["R", "G", "B"], 4: ["R", "G", "B", "A"]}[channels]


def encode_exr(
    image: np.ndarray, half: bool = False, compression: str = "ZIP", channel_names: list[str] | None = None
) -> bytes:
    """OpenEXR file bytes for a float image (H, W, C); channels default to Y, YA, RGB or RGBA."""
    arr = _as_hwc(np.asarray(image, dtype=np.float32))
    h, w, c = arr.shape
    names = channel_names or _exr_channel_names(c)
    if len(names) != c or len(set(names)) != c:
        raise FlameError(f"channel_names: expected {c} distinct names, found {names}")
    if compression not in _EXR_COMPRESSION:
        raise FlameError(f"compression: expected one of {sorted(_EXR_COMPRESSION)}, found {compression!r}")
    code = _EXR_COMPRESSION[compression]
    pixel_type, dtype = (1, np.dtype("<f2")) if half else (2, np.dtype("<f4"))
    order = sorted(range(c), key=lambda i: names[i])
    chlist = b"".join(
        names[i].encode() + b"\0" + struct.pack("<iB3xii", pixel_type, 0, 1, 1) for i in order
    ) + b"\0"
    box = struct.pack("<iiii", 0, 0, w - 1, h - 1)
    header = (
        struct.pack("<ii", _EXR_MAGIC, 2)
        + _attr("channels", "chlist", chlist)
        + _attr("compression", "compression", bytes([code]))
        + _attr("dataWindow", "box2i", box)
        + _attr("displayWindow", "box2i", box)
        + _attr("lineOrder", "lineOrder", b"\0")
        + _attr("pixelAspectRatio", "float", struct.pack("<f", 1.0))
        + _attr("screenWindowCenter", "v2f", struct.pack("<ff", 0.0, 0.0))
        + _attr("screenWindowWidth", "float", struct.pack("<f", 1.0))
        + b"\0"
    )
    # Per scanline: each channel's row in turn (alphabetical channel order).
    planar = arr[:, :, order].astype(dtype).transpose(0, 2, 1)  # (H, C, W)
    lines = _EXR_LINES[code]
    n_blocks = -(-h // lines)
    table_size = 8 * n_blocks
    blocks, offsets = [], []
    position = len(header) + table_size
    for b in range(n_blocks):
        raw = planar[b * lines : (b + 1) * lines].tobytes()
        data = _exr_zip(raw) if code else raw
        if len(data) >= len(raw):
            data = raw
        block = struct.pack("<ii", b * lines, len(data)) + data
        offsets.append(position)
        blocks.append(block)
        position += len(block)
    return header + struct.pack(f"<{n_blocks}Q", *offsets) + b"".join(blocks)


def _exr_zip(raw: bytes) -> bytes:
    """EXR's ZIP block coding: split even/odd bytes, delta-code them (+128), deflate."""
    data = np.frombuffer(raw, dtype=np.uint8)
    split = np.concatenate([data[0::2], data[1::2]])
    delta = split.copy()
    delta[1:] = split[1:] - split[:-1] + np.uint8(128)
    return zlib.compress(delta.tobytes(), 6)


def _exr_unzip(data: bytes, size: int) -> bytes:
    delta = np.frombuffer(_inflate(data, size), dtype=np.uint8).copy()
    delta[1:] -= np.uint8(128)
    split = np.cumsum(delta, dtype=np.uint8)
    out = np.empty_like(split)
    half = (size + 1) // 2
    out[0::2] = split[:half]
    out[1::2] = split[half:]
    return out.tobytes()


def write_exr(
    path: str | Path,
    image: np.ndarray,
    half: bool = False,
    compression: str = "ZIP",
    channel_names: list[str] | None = None,
) -> None:
    """Write an OpenEXR file (see :func:`encode_exr`)."""
    Path(path).write_bytes(encode_exr(image, half, compression, channel_names))


def read_exr(path: str | Path) -> dict[str, np.ndarray]:
    """Read a single-part scanline EXR (NONE/ZIPS/ZIP; HALF/FLOAT/UINT) -> {channel name: (H, W) array}."""
    blob = _read_image_file(path)
    try:
        return _parse_exr(path, blob)
    except FileFormatError:
        raise
    except (IndexError, KeyError, ValueError, TypeError, struct.error, OverflowError) as exc:
        raise FileFormatError(path, f"corrupt EXR ({type(exc).__name__}: {exc})") from None


def _parse_exr(path: str | Path, blob: bytes) -> dict[str, np.ndarray]:
    if len(blob) < 8 or struct.unpack("<i", blob[:4])[0] != _EXR_MAGIC:
        raise FileFormatError(path, "not an OpenEXR file", expected="magic 20000630")
    if blob[5] & 0x1A:  # tiled, deep or multi-part flags (bits 9, 11, 12)
        raise FileFormatError(path, "unsupported EXR", expected="single-part scanline", found=f"flags {blob[5]:#x}")
    pos, attrs = 8, {}
    while blob[pos] != 0:
        end = blob.index(b"\0", pos)
        name = blob[pos:end].decode()
        kind_end = blob.index(b"\0", end + 1)
        (size,) = struct.unpack("<i", blob[kind_end + 1 : kind_end + 5])
        attrs[name] = blob[kind_end + 5 : kind_end + 5 + size]
        pos = kind_end + 5 + size
    pos += 1
    for key in ("channels", "compression", "dataWindow"):
        if key not in attrs:
            raise FileFormatError(path, "missing header attribute", key=key)
    channels: list[tuple[str, np.dtype]] = []
    cl = attrs["channels"]
    i = 0
    while cl[i] != 0:
        end = cl.index(b"\0", i)
        pixel_type, _, _xs, _ys = struct.unpack("<iB3xii", cl[end + 1 : end + 17])
        channels.append((cl[i:end].decode(), _EXR_PIXEL_TYPES[pixel_type]))
        i = end + 17
    code = attrs["compression"][0]
    if code not in _EXR_LINES:
        expected = "NONE/ZIPS/ZIP"
        raise FileFormatError(path, "unsupported compression", key="compression", expected=expected, found=str(code))
    x0, y0, x1, y1 = struct.unpack("<iiii", attrs["dataWindow"])
    w, h = x1 - x0 + 1, y1 - y0 + 1
    if w < 1 or h < 1 or w * h * max(len(channels), 1) > MAX_IMAGE_VALUES:
        raise FileFormatError(path, "invalid or too large data window", key="dataWindow", found=f"{w}x{h}")
    lines = _EXR_LINES[code]
    n_blocks = -(-h // lines)
    offsets = struct.unpack(f"<{n_blocks}Q", blob[pos : pos + 8 * n_blocks])
    line = np.dtype([(name, dt, (w,)) for name, dt in channels])  # one scanline: each channel's row in turn
    out = {name: np.empty((h, w), dtype=dt.newbyteorder("=")) for name, dt in channels}
    for off in offsets:
        y, size = struct.unpack("<ii", blob[off : off + 8])
        if not y0 <= y <= y1 or size < 0:
            raise FileFormatError(path, "invalid scanline block", found=f"line {y}, {size} bytes")
        n_lines = min(lines, y1 - y + 1)
        data = blob[off + 8 : off + 8 + size]
        if size < n_lines * line.itemsize:
            try:
                data = _exr_unzip(data, n_lines * line.itemsize)
            except (zlib.error, ValueError) as exc:
                raise FileFormatError(path, f"corrupt block at line {y} ({exc})") from None
        records = np.frombuffer(data, dtype=line, count=n_lines)
        for name, _ in channels:
            out[name][y - y0 : y - y0 + n_lines] = records[name]
    return out


# ---------------------------------------------------------------------------------------------------- any
def save_image(path: str | Path, image: np.ndarray, bit_depth: int | None = None) -> None:
    """Write an image choosing the format from the suffix: ``.png`` (8 or 16 bit; default 8) or ``.exr``
    (16 = HALF, 32 = FLOAT; default 32, ZIP compressed)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".png":
        write_png(path, image, bit_depth=8 if bit_depth is None else bit_depth)
    elif suffix == ".exr":
        if bit_depth not in (None, 16, 32):
            raise FlameError(f"bit_depth: EXR supports 16 (half) or 32 (float), found {bit_depth}")
        write_exr(path, image, half=bit_depth == 16)
    else:
        raise FlameError(f"{path}: unknown image format {suffix!r}; expected .png or .exr")
