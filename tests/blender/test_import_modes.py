"""Importing a sequence is non-destructive and explicit: a new action by default, or only the imported range
replaced, or whole channels; fields the file lacks are left alone; constant channels get one key (or none);
negative start frames export whole."""

from __future__ import annotations

import importlib

import bpy
import numpy as np
import pytest
from conftest import MODULE
from helpers import add_head


def _sequence(fc, frames, *, seed=0, shape=True, fps=24.0):
    rng = np.random.default_rng(seed)
    fields = dict(
        expression=rng.normal(scale=0.5, size=(frames, 4)),
        jaw=np.abs(rng.normal(scale=0.1, size=(frames, 3))),
        eyes=np.zeros((frames, 6)),  # constant: one key
    )
    if shape:
        fields["shape"] = rng.normal(scale=0.5, size=10)
    return fc.FlameSequence(fc.FlameParams(**fields), fps=fps)


def _save(fc, seq, path):
    """A VHAP-layout npz with exactly the fields ``seq`` holds (the core's writer fills in the others)."""
    keys = {"shape": "shape", "expression": "expr", "jaw": "jaw_pose", "eyes": "eyes_pose"}
    arrays = {keys[name]: value for name, value in seq.params.to_dict().items()}
    np.savez(path, fps=seq.fps, **arrays)
    assert set(fc.load_sequence(path).params.to_dict()) == set(seq.params.to_dict())
    return path


def _import(fc, tmp_path, seq, name, **kwargs):
    path = _save(fc, seq, tmp_path / f"{name}.npz")
    assert bpy.ops.flame.import_sequence(filepath=str(path), **kwargs) == {"FINISHED"}
    return path


def _keys(addon, head, path, index=0):
    return addon.animation.read_keyframes(head).get((path, index))


def test_replace_range_keeps_keys_outside_and_fields_the_file_lacks(fc, addon, model_file, tmp_path):
    model_path, _ = model_file
    head = add_head(model_path=model_path)
    _import(fc, tmp_path, _sequence(fc, 120), "first", frame_start=1, mode="REPLACE")
    head.flame.jaw[0] = 0.9
    head.keyframe_insert("flame.jaw", index=0, frame=500)  # a hand-placed key
    head.flame.shape[0].value = 1.25  # the artist's identity, not keyed ...
    addon.animation.find_fcurve(head, "flame.shape_values", 0).keyframe_points[0].co.y = 1.25
    action_name = head.animation_data.action.name
    clip = _sequence(fc, 30, seed=1, shape=False)  # ... and a file without shape
    _import(fc, tmp_path, clip, "clip", frame_start=200, mode="REPLACE_RANGE")
    assert head.animation_data.action.name == action_name and len(bpy.data.actions) == 1
    frames, values = _keys(addon, head, "flame.jaw")
    expected_frames = np.r_[np.arange(1, 121), np.arange(200, 230), 500.0]
    np.testing.assert_array_equal(frames, expected_frames)
    np.testing.assert_allclose(values[120:150], clip.params.jaw[:, 0], atol=1e-6)
    assert values[-1] == pytest.approx(0.9)
    frames, _ = _keys(addon, head, "flame.eyes", 3)  # constant: keyed at the range's two ends, old key kept
    np.testing.assert_array_equal(frames, [1.0, 200.0, 229.0])
    frames, values = _keys(addon, head, "flame.shape_values", 0)
    np.testing.assert_array_equal(frames, [1.0])
    assert values[0] == pytest.approx(1.25)
    bpy.context.scene.frame_set(210)
    assert head.flame.shape[0].value == pytest.approx(1.25)


def test_new_action_is_the_default_and_keeps_the_previous_one(fc, addon, model_file, tmp_path):
    model_path, _ = model_file
    head = add_head(model_path=model_path)
    head.keyframe_insert("location", index=2, frame=3)
    head.flame.shape[1].value = -0.5
    previous = head.animation_data.action
    sequence_ops = importlib.import_module(f"{MODULE}.flame_addon.operators.sequence")
    clip = _sequence(fc, 30, seed=2, shape=False)
    result = sequence_ops.import_sequence(bpy.context, clip, head=head, frame_start=200, name="clip")
    anim = head.animation_data
    assert anim.action.name == "clip" and anim.action != previous
    assert [s.action for t in anim.nla_tracks for s in t.strips] == [previous]
    assert previous.name in bpy.data.actions
    assert "expression, jaw, eyes at frames 200-229 in the action 'clip'" in result.keyed
    assert "(7 channels per frame, 10 constant ones keyed once)" in result.keyed  # 4 padded expressions, 6 eyes
    assert any(previous.name in text and "NLA strip" in text for text in result.kept)
    assert not any(p.startswith("flame.shape") for p, _ in addon.animation.read_keyframes(head))
    assert head.flame.shape[1].value == pytest.approx(-0.5)  # not reset, not keyed
    assert _keys(addon, head, "flame.jaw")[0][0] == 200.0
    _import(fc, tmp_path, clip, "take_2")
    assert head.animation_data.action.name == "take_2" and len(head.animation_data.nla_tracks) == 2


def test_replace_replaces_whole_channels_of_the_file_only(fc, addon, model_file, tmp_path):
    model_path, _ = model_file
    head = add_head(model_path=model_path)
    head.keyframe_insert("flame.jaw", index=0, frame=500)
    head.keyframe_insert("flame.neck", index=1, frame=7)
    _import(fc, tmp_path, _sequence(fc, 5, shape=False), "clip", frame_start=1, mode="REPLACE")
    np.testing.assert_array_equal(_keys(addon, head, "flame.jaw")[0], np.arange(1, 6))
    np.testing.assert_array_equal(_keys(addon, head, "flame.neck", 1)[0], [7.0])  # not in the file: kept


def test_constant_channels_get_one_key_or_none(fc, addon, model_file, tmp_path):
    model_path, _ = model_file
    head = add_head(model_path=model_path)
    seq = _sequence(fc, 50)
    _import(fc, tmp_path, seq, "one", frame_start=1)
    keys = addon.animation.read_keyframes(head)
    assert all(len(keys[("flame.eyes", i)][0]) == 1 for i in range(6))
    assert all(len(keys[("flame.shape_values", i)][0]) == 1 for i in range(10))
    assert len(keys[("flame.jaw", 0)][0]) == 50
    # Every channel is an element of an array property: Blender resolves it without walking a list.
    assert all(path.startswith("flame.") and "[" not in path for path, _ in keys)
    assert {path for path, _ in keys} >= {"flame.shape_values", "flame.expression_values"}
    head2 = add_head(model_path=model_path)
    _import(fc, tmp_path, seq, "none", frame_start=1, constant_keys="NONE")
    keys = addon.animation.read_keyframes(head2)
    assert not any(p.startswith(("flame.eyes", "flame.shape")) for p, _ in keys)
    np.testing.assert_allclose([item.value for item in head2.flame.shape], seq.params.shape, atol=1e-6)
    bpy.context.scene.frame_set(20)
    np.testing.assert_allclose([item.value for item in head2.flame.shape], seq.params.shape, atol=1e-6)


def test_negative_start_frame_exports_every_keyed_frame(fc, addon, model_file, tmp_path):
    model_path, _ = model_file
    head = add_head(model_path=model_path)
    seq = _sequence(fc, 20)
    _import(fc, tmp_path, seq, "early", frame_start=-10)
    frames, _ = _keys(addon, head, "flame.jaw")
    np.testing.assert_array_equal(frames, np.arange(-10, 10))
    out = tmp_path / "out.npz"
    assert bpy.ops.flame.export_sequence(filepath=str(out)) == {"FINISHED"}
    back = fc.load_sequence(out)
    assert len(back) == 20
    np.testing.assert_allclose(back.params.jaw, seq.params.jaw, atol=1e-6)
    np.testing.assert_allclose(back.params.expression[:, :4], seq.params.expression, atol=1e-6)
