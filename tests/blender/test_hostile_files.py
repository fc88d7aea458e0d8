"""Hostile files reach Blender only through the core readers: the operator reports the error, is cancelled,
and the scene is left as it was (no head added, no keys changed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import bpy
import numpy as np
import pytest
from conftest import MODULE
from helpers import add_head

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
import hostile  # the crafted files the core tests use
import synthetic

ATTACKS = hostile.attack_pickles(synthetic.flame_arrays(n_shape=4, n_expr=3))
MODEL_ATTACKS = ["dtype_object_flags", "zero_stride_model", "quadratic_codec", "bytearray_bomb", "complex_array"]


def _scene_state():
    scene = bpy.context.scene
    return (sorted(bpy.data.objects.keys()), sorted(bpy.data.meshes.keys()), sorted(bpy.data.actions.keys()),
            scene.frame_start, scene.frame_end, scene.render.fps)


def _keys(addon, head):
    return {k: (list(f), list(v)) for k, (f, v) in addon.animation.read_keyframes(head).items()}


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "generic_model.pkl"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("name", [*MODEL_ATTACKS, "fifo"])
def test_hostile_model_in_preferences_cancels_add_head(tmp_path, name, request):
    if name == "fifo":
        path = request.getfixturevalue("fifo")
    else:
        path = tmp_path / f"{name}.pkl"
        path.write_bytes(ATTACKS[name])
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.model_path = str(path)
    before = _scene_state()
    with pytest.raises(RuntimeError, match=path.name):
        bpy.ops.flame.add_head()
    assert _scene_state() == before


@pytest.mark.parametrize("name", ["pickle", "deep_json", "huge_numbers", "fifo", "absurd_values"])
def test_hostile_sequence_cancels_import_and_keeps_the_head(addon, model_file, tmp_path, name):
    head = add_head(model_path=model_file[0], n_expression=2)
    head.flame.jaw = (0.1, 0.0, 0.0)
    head.keyframe_insert("flame.jaw", frame=2)
    keys = _keys(addon, head)
    if name == "pickle":
        path = tmp_path / "seq.pkl"
        path.write_bytes(ATTACKS["dtype_object_flags"])
    elif name == "fifo":
        path = tmp_path / "seq.npz"
        os.mkfifo(path)
    elif name == "deep_json":
        path = hostile.write_json(tmp_path / "seq.json", hostile.deep_json(100_000))
    elif name == "huge_numbers":
        path = hostile.write_json(tmp_path / "seq.json", '{"frames": [{"expression": [' + "9" * 5000 + "]}]}")
    else:
        path = hostile.write_json(tmp_path / "seq.json", hostile.oxigaf_json(expression=[1e200] * 10))
    before = _scene_state()
    with pytest.raises(RuntimeError, match=path.name):
        bpy.ops.flame.import_sequence(filepath=str(path))
    assert _scene_state() == before
    assert _keys(addon, head) == keys
    assert tuple(head.flame.jaw) == pytest.approx((0.1, 0.0, 0.0))


def test_frames_with_gaps_are_keyed_at_their_own_numbers(addon, model_file, tmp_path):
    for number in (0, 1, 5, 9):
        np.savez(tmp_path / f"{number:05d}.npz", expr=np.full(4, number / 10), rotation=np.zeros(3))
    head = add_head(model_path=model_file[0], n_expression=4)
    assert bpy.ops.flame.import_sequence(directory=str(tmp_path), use_folder=True, frame_start=1,
                                         fps_mode="FILE") == {"FINISHED"}
    frames, values = addon.animation.read_keyframes(head)[("flame.expression_values", 0)]
    np.testing.assert_array_equal(frames, [1, 2, 6, 10])
    np.testing.assert_allclose(values, [0.0, 0.1, 0.5, 0.9], atol=1e-6)
