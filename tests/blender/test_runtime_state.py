"""Runtime behaviour of the head evaluation: bulk writes, broken model files, linked duplicates."""

from __future__ import annotations

import os

import bpy
import numpy as np
import pytest
from helpers import add_head, make_model, mesh_positions


def test_write_params_does_not_evaluate_until_asked(addon, fc):
    obj = add_head()
    rest = mesh_positions(obj).copy()
    addon.bridge.write_params(obj.flame, fc.FlameParams(jaw=[0.3, 0.0, 0.0], neck=[0.1, 0.0, 0.0]))
    assert obj.flame.jaw[0] == pytest.approx(0.3)
    np.testing.assert_array_equal(mesh_positions(obj), rest)  # property updates were held back
    assert addon.evaluate.evaluate(obj)
    assert np.abs(mesh_positions(obj) - rest).max() > 1e-4
    obj.flame.jaw[0] = 0.0  # and a plain property change evaluates again afterwards
    assert not addon.bridge.is_writing(obj)


def _head_whose_model_file_breaks(addon, fc, tmp_path):
    """A head on a model file that is then overwritten with garbage (one second newer) and evaluated."""
    path = tmp_path / "model.npz"
    fc.save_model(make_model(fc, seed=2), path)
    obj = add_head(model_path=str(path))
    good = path.read_bytes()
    stat = os.stat(path)
    path.write_bytes(b"broken")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    addon.models.clear_cache()
    obj.flame.jaw[0] = 0.2
    return obj, path, good, stat


def test_a_broken_model_file_is_read_once_per_version(addon, fc, tmp_path):
    obj, path, good, stat = _head_whose_model_file_breaks(addon, fc, tmp_path)
    message = addon.evaluate.error(obj)
    assert message and "model.npz" in message
    # The same file version is not read again: a valid file with the same time stamp still fails.
    path.write_bytes(good)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    obj.flame.jaw[0] = 0.1
    assert addon.evaluate.error(obj) == message
    # A new version (or picking the file again) is read.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2 * 10**9))
    obj.flame.jaw[0] = 0.05
    assert addon.evaluate.error(obj) is None


def test_picking_the_model_file_again_retries_a_failed_load(addon, fc, tmp_path):
    obj, path, good, stat = _head_whose_model_file_breaks(addon, fc, tmp_path)
    assert addon.evaluate.error(obj)
    path.write_bytes(good)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    obj.flame.model_path = str(path)
    assert addon.evaluate.error(obj) is None


def test_linked_duplicates_are_reported(addon):
    head = add_head()
    assert addon.heads.shared_mesh_heads(head) == []
    copy = head.copy()  # what Alt+D makes: a new object on the same mesh
    bpy.context.scene.collection.objects.link(copy)
    assert copy.data == head.data
    assert addon.heads.shared_mesh_heads(head) == [copy]
    assert addon.heads.shared_mesh_heads(copy) == [head]
