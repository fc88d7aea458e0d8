"""EXR files written by flame_core.images load in Blender with the same pixel values."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import bpy
import numpy as np
import pytest


@pytest.mark.parametrize("compression", ["NONE", "ZIPS", "ZIP"])
@pytest.mark.parametrize("half", [False, True])
def test_exr_loads_in_blender(fc: ModuleType, tmp_path: Path, compression: str, half: bool):
    images = importlib.import_module(f"{fc.__name__}.images")
    rng = np.random.default_rng(3)
    img = (rng.random((37, 21, 4)) * 3 - 1).astype(np.float32)
    img[..., 3] = rng.random((37, 21))
    path = tmp_path / f"{compression}_{half}.exr"
    images.write_exr(path, img, half=half, compression=compression)
    loaded = bpy.data.images.load(str(path))
    assert tuple(loaded.size) == (21, 37) and loaded.is_float
    # Blender's rows run bottom to top; values are returned as stored.
    pixels = np.array(loaded.pixels[:], dtype=np.float32).reshape(37, 21, 4)[::-1]
    expected = img.astype(np.float16).astype(np.float32) if half else img
    assert np.array_equal(pixels, expected)


def test_normal_map_exr_in_blender(fc: ModuleType, tmp_path: Path):
    render = importlib.import_module(f"{fc.__name__}.render")
    camera = importlib.import_module(f"{fc.__name__}.camera")
    verts = np.array([[-1.0, -1, 3], [1, -1, 3], [0, 1, 3]])
    nm = render.render_normal_map(verts, np.array([[0, 1, 2]]), camera.Camera(20.0, 20.0, 16.0, 16.0, 32, 24))
    nm.save(tmp_path / "n.exr")
    loaded = bpy.data.images.load(str(tmp_path / "n.exr"))
    pixels = np.array(loaded.pixels[:], dtype=np.float32).reshape(24, 32, 4)[::-1]
    assert np.array_equal(pixels, nm.image)
