"""UV coordinates from a Wavefront OBJ (FLAME's ``head_template.obj``: ``f v/vt`` triangles)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from .files import MAX_TEXT_BYTES, read_limited

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_VT = re.compile(rf"^vt[ \t]+({_NUM})[ \t]+({_NUM})", re.MULTILINE)
_V = re.compile(rf"^v[ \t]+{_NUM}[ \t]+{_NUM}[ \t]+{_NUM}", re.MULTILINE)
_CORNER = r"(-?\d+)/(-?\d+)(?:/-?\d*)?"
_F = re.compile(rf"^f[ \t]+{_CORNER}[ \t]+{_CORNER}[ \t]+{_CORNER}[ \t]*\r?$", re.MULTILINE)
_ANY_F = re.compile(r"^f[ \t]", re.MULTILINE)
_ANY_VT = re.compile(r"^vt[ \t]", re.MULTILINE)
_VT_LINE = re.compile(rf"^vt[ \t]+{_NUM}[ \t]+{_NUM}(?:[ \t]+{_NUM})?[ \t]*\r?$", re.MULTILINE)
#: OBJ indices beyond this are refused (they could not index a list held in a file of MAX_TEXT_BYTES).
_MAX_INDEX = 1 << 31


def read_obj_uvs(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``(uv_coords (Vt, 2) float64, uv_faces (F, 3) int64, faces (F, 3) int64, n_vertices)`` of an OBJ.

    Every face must be a triangle with vertex/UV indices (``f 1/1 2/2 3/3`` or ``f 1/1/1 ...``).
    """
    data = read_limited(path, MAX_TEXT_BYTES, "an OBJ file")
    text = data.decode("utf-8", errors="replace")
    if not text.strip():
        raise ModelFileError(path, "empty file")
    n_vertices = len(_V.findall(text))
    uv_rows = _VT.findall(text)
    n_vt_lines = len(_ANY_VT.findall(text))
    if len(_VT_LINE.findall(text)) != n_vt_lines:
        bad = next(m for m in _ANY_VT.finditer(text) if not _VT_LINE.match(text, m.start()))
        line = text.count("\n", 0, bad.start()) + 1
        raise ModelFileError(path, f"unreadable UV coordinate on line {line}", key="vt", expected="'vt u v [w]'",
                             found=repr(text[bad.start() : bad.start() + 60].splitlines()[0]))
    face_rows = _F.findall(text)
    n_face_lines = len(_ANY_F.findall(text))
    if not uv_rows:
        raise ModelFileError(path, "no UV coordinates", key="vt", expected="'vt u v' lines")
    if not n_face_lines:
        raise ModelFileError(path, "no faces", key="f", expected="'f v/vt v/vt v/vt' lines")
    if len(face_rows) != n_face_lines:
        raise ModelFileError(
            path, "faces must all be triangles with UV indices", key="f",
            expected="'f v/vt v/vt v/vt' lines", found=f"{len(face_rows)} of {n_face_lines} face lines readable",
        )
    uv = np.array(uv_rows, dtype=np.float64)
    longest = max((n for row in face_rows for n in row), key=len)
    if len(longest) > 11 or abs(int(longest)) >= _MAX_INDEX:
        raise ModelFileError(path, "index out of range", key="f", expected=f"below {_MAX_INDEX}",
                             found=longest if len(longest) <= 20 else f"a {len(longest)}-digit number")
    numbers = [int(n) for row in face_rows for n in row]
    corners = np.array(numbers, dtype=np.int64).reshape(-1, 3, 2)
    faces = _zero_based(corners[:, :, 0], n_vertices)
    uv_faces = _zero_based(corners[:, :, 1], len(uv))
    for key, idx, n in (("f", faces, n_vertices), ("f/vt", uv_faces, len(uv))):
        if idx.min() < 0 or idx.max() >= n:
            raise ModelFileError(path, "index out of range", key=key, expected=f"1..{n}",
                                 found=f"{idx.min() + 1}..{idx.max() + 1}")
    if not np.all(np.isfinite(uv)):
        raise ModelFileError(path, "non-finite UV coordinates", key="vt")
    return uv, uv_faces, faces, n_vertices


def _zero_based(idx: np.ndarray, count: int) -> np.ndarray:
    """OBJ indices are 1-based; negative ones count back from the end of the list."""
    return np.where(idx < 0, count + idx, idx - 1)
