"""flame.import_sequence / flame.export_sequence: bulk keyframes, frame range, frame rates, rollback, round trip."""

from __future__ import annotations

import json

import bpy
import numpy as np
import pytest
from helpers import add_head, blender_axes, mesh_positions


def make_sequence(fc, frames=6, *, n_shape=10, n_expression=8, fps=24.0, shape_varies=False, seed=0):
    rng = np.random.default_rng(seed)
    shape = rng.normal(scale=0.5, size=(frames, n_shape) if shape_varies else n_shape)
    params = fc.FlameParams(
        shape=shape,
        expression=rng.normal(scale=0.8, size=(frames, n_expression)),
        rotation=rng.normal(scale=0.1, size=(frames, 3)),
        neck=rng.normal(scale=0.1, size=(frames, 3)),
        jaw=np.abs(rng.normal(scale=0.1, size=(frames, 3))),
        eyes=rng.normal(scale=0.1, size=(frames, 6)),
        translation=rng.normal(scale=0.01, size=(frames, 3)),
    )
    return fc.FlameSequence(params, fps=fps)


def f32(values):
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def keyed(addon, obj):
    return addon.animation.read_keyframes(obj)


def check_keys(addon, obj, params, frames, names=("expression", "rotation", "neck", "jaw", "eyes", "translation")):
    """Every exposed channel of ``names`` keyed at ``frames`` with the (float32) values of ``params``."""
    keys = keyed(addon, obj)
    for name in names:
        value = params.values(name, broadcast=True) if name != "expression" else params.expression
        if name in ("shape", "expression"):
            count = len(getattr(obj.flame, name))
            padded = np.zeros((len(frames), count))
            padded[:, : min(count, value.shape[-1])] = value[:, :count]
            for i in range(count):
                got_frames, got = keys[(f"flame.{name}_values", i)]
                np.testing.assert_array_equal(got_frames, frames)
                np.testing.assert_array_equal(got, f32(padded[:, i]))
        else:
            for i in range(value.shape[-1]):
                got_frames, got = keys[(f"flame.{name}", i)]
                np.testing.assert_array_equal(got_frames, frames)
                np.testing.assert_array_equal(got, f32(value[:, i]))


def import_file(path, **kwargs):
    assert bpy.ops.flame.import_sequence(filepath=str(path), **kwargs) == {"FINISHED"}
    return bpy.context.view_layer.objects.active


def test_import_npz_keys_every_channel_and_drives_the_mesh(fc, addon, model_file, tmp_path):
    model_path, model = model_file
    head = add_head(model_path=model_path, n_shape=4, n_expression=3)
    seq = make_sequence(fc, 7, fps=24.0)
    path = fc.save_sequence(seq, tmp_path / "tracked_flame_params.npz")
    scene = bpy.context.scene
    assert scene.render.fps / scene.render.fps_base == 24
    obj = import_file(path, frame_start=5)
    assert obj == head
    assert (scene.frame_start, scene.frame_end) == (5, 11)
    assert len(obj.flame.shape) == 10 and len(obj.flame.expression) == 8  # grown to hold the file
    frames = np.arange(5, 12, dtype=np.float64)
    check_keys(addon, obj, seq.params, frames)
    keys = keyed(addon, obj)
    for i in range(10):  # a shared shape: one key at the start frame
        got_frames, got = keys[("flame.shape_values", i)]
        np.testing.assert_array_equal(got_frames, [5.0])
        assert got[0] == pytest.approx(seq.params.shape[i], abs=1e-6)
    assert len(keys) == 10 + 8 + 18  # shape, expression, pose and translation (the file has no eyelids)
    for k in (0, 3, 6):
        scene.frame_set(5 + k)
        frame = seq.params[k]
        expected = model.forward(fc.FlameParams(**{n: f32(v) for n, v in frame.to_dict().items()})).vertices
        np.testing.assert_allclose(mesh_positions(obj), blender_axes(expected), atol=3e-6)


def test_keyframes_are_linear_and_readable_on_this_action_api(fc, addon, model_file, tmp_path):
    model_path, _ = model_file
    add_head(model_path=model_path)
    path = fc.save_sequence(make_sequence(fc, 4), tmp_path / "seq.npz")
    obj = import_file(path)
    curves = list(addon.animation.curves_by_path(obj, "flame.jaw"))
    assert len(curves) == 3
    assert all(k.interpolation == "LINEAR" for c in curves for k in c.keyframe_points)
    if hasattr(bpy.types, "ActionSlot"):
        assert obj.animation_data.action_slot is not None
        assert not hasattr(obj.animation_data.action, "fcurves") or bpy.app.version < (5, 0, 0)
    groups = {c.group.name for c in addon.animation.curves_by_path(obj, "flame.") if c.group is not None}
    assert {"Expression", "Jaw", "Translation", "Shape"} <= groups


def test_new_head_when_none_is_active(fc, addon, tmp_path):
    seq = make_sequence(fc, 3, n_shape=5, n_expression=6)
    path = fc.save_sequence(seq, tmp_path / "seq.npz")
    obj = import_file(path, frame_start=1)
    assert addon.heads.is_head(obj)
    assert len(obj.flame.expression) == 6 and len(obj.flame.shape) == 5
    check_keys(addon, obj, seq.params, np.arange(1, 4, dtype=np.float64))
    head = obj
    obj2 = import_file(path, target="NEW")
    assert obj2 != head and addon.heads.is_head(obj2)


def test_counts_clamped_to_the_model_with_a_warning(fc, addon, model_file, tmp_path):
    model_path, model = model_file
    head = add_head(model_path=model_path, n_expression=2)
    seq = make_sequence(fc, 3, n_expression=model.n_expression + 4, n_shape=model.n_shape + 2)
    path = fc.save_sequence(seq, tmp_path / "seq.npz")
    import_file(path)
    assert len(head.flame.expression) == model.n_expression
    assert len(head.flame.shape) == model.n_shape
    check_keys(addon, head, seq.params, np.arange(1, 4, dtype=np.float64), names=("expression",))


def test_json_and_per_frame_folder(fc, addon, model_file, tmp_path):
    model_path, _ = model_file
    seq = make_sequence(fc, 5)
    json_path = fc.save_sequence(seq, tmp_path / "seq.json")
    assert json.loads(json_path.read_text())["fps"] == 24
    head = add_head(model_path=model_path)
    import_file(json_path, frame_start=2)
    check_keys(addon, head, seq.params, np.arange(2, 7, dtype=np.float64))

    folder = tmp_path / "export" / "flame_param"
    folder.mkdir(parents=True)
    keys = {"expression": "expr", "rotation": "rotation", "neck": "neck_pose", "jaw": "jaw_pose",
            "eyes": "eyes_pose", "translation": "translation"}
    for k in range(len(seq)):
        arrays = {key: seq.params.values(name, broadcast=True)[k : k + 1].astype(np.float32)
                  if name != "expression" else seq.params.expression[k : k + 1].astype(np.float32)
                  for name, key in keys.items()}
        np.savez(folder / f"{k:05d}.npz", shape=seq.params.shape.astype(np.float32), **arrays)
    head2 = add_head(model_path=model_path)
    assert bpy.ops.flame.import_sequence(directory=str(tmp_path / "export"), use_folder=True) == {"FINISHED"}
    check_keys(addon, head2, seq.params, np.arange(1, 6, dtype=np.float64))  # no fps: one key per frame
    assert bpy.context.scene.frame_end == 5


def test_scene_rate_resamples_and_file_rate_sets_the_scene(fc, addon, model_file, tmp_path):
    model_path, _ = model_file
    seq = make_sequence(fc, 31, fps=30.0)
    path = fc.save_sequence(seq, tmp_path / "seq.npz")
    scene = bpy.context.scene
    head = add_head(model_path=model_path)
    import_file(path, fps_mode="SCENE")
    assert scene.render.fps == 24 and scene.render.fps_base == 1.0
    expected = fc.FlameSequence(fc.FlameParams(**{n: f32(v) for n, v in seq.params.to_dict().items()}),
                                fps=30.0).resample(24.0)
    assert len(expected) < len(seq)
    assert scene.frame_end == len(expected)
    check_keys(addon, head, expected.params, np.arange(1, len(expected) + 1, dtype=np.float64))

    head2 = add_head(model_path=model_path)
    import_file(path, fps_mode="FILE", frame_start=0)
    assert scene.render.fps / scene.render.fps_base == pytest.approx(30.0)
    assert (scene.frame_start, scene.frame_end) == (0, 30)
    check_keys(addon, head2, seq.params, np.arange(0, 31, dtype=np.float64))

    odd = fc.save_sequence(make_sequence(fc, 4, fps=29.97), tmp_path / "ntsc.npz")
    import_file(odd, fps_mode="FILE")
    assert scene.render.fps == 30 and scene.render.fps_base == pytest.approx(1.001)


def test_varying_shape_is_keyed_per_frame_and_shape_keying_optional(fc, addon, model_file, tmp_path):
    model_path, _ = model_file
    varying = make_sequence(fc, 4, shape_varies=True)
    head = add_head(model_path=model_path)
    import_file(fc.save_sequence(varying, tmp_path / "a.npz"))
    check_keys(addon, head, varying.params, np.arange(1, 5, dtype=np.float64), names=("shape",))

    constant = make_sequence(fc, 4, seed=3)
    import_file(fc.save_sequence(constant, tmp_path / "b.npz"), keyframe_shape=False, mode="REPLACE")
    keys = keyed(addon, head)
    assert not any(path.startswith("flame.shape") for path, _ in keys)
    values = np.array([item.value for item in head.flame.shape])
    np.testing.assert_allclose(values, f32(constant.params.shape), atol=1e-6)
    bpy.context.scene.frame_set(3)  # no F-Curve overrides the set values
    np.testing.assert_allclose([item.value for item in head.flame.shape], values)


def _state():
    scene = bpy.context.scene
    return (sorted(bpy.data.objects.keys()), sorted(bpy.data.meshes.keys()), sorted(bpy.data.actions.keys()),
            scene.frame_start, scene.frame_end, scene.render.fps)


def test_bad_file_changes_nothing_and_names_the_file(fc, addon, model_file, tmp_path):
    bad = tmp_path / "not_a_sequence.npz"
    np.savez(bad, something=np.zeros(3))
    before = _state()
    with pytest.raises(RuntimeError, match=r"not_a_sequence\.npz"):
        bpy.ops.flame.import_sequence(filepath=str(bad))
    assert _state() == before
    nan = make_sequence(fc, 3)
    arrays = dict(np.load(fc.save_sequence(nan, tmp_path / "nan.npz")))
    arrays["expr"][1, 2] = np.nan
    np.savez(tmp_path / "nan.npz", **arrays)
    model_path, _ = model_file
    head = add_head(model_path=model_path)
    before = _state()
    with pytest.raises(RuntimeError, match=r"nan\.npz.*expr"):
        bpy.ops.flame.import_sequence(filepath=str(tmp_path / "nan.npz"))
    assert _state() == before and head.animation_data is None


def test_failure_half_way_rolls_everything_back(fc, addon, model_file, tmp_path, monkeypatch):
    model_path, _ = model_file
    path = fc.save_sequence(make_sequence(fc, 5, n_expression=8), tmp_path / "seq.npz")
    real = addon.animation.fill_fcurve
    calls = []

    def failing(curve, frames, values, interpolation):
        calls.append(curve.data_path)
        if len(calls) == 12:
            raise addon.animation.FlameError("disk full (simulated)")
        real(curve, frames, values, interpolation)

    monkeypatch.setattr(addon.animation, "fill_fcurve", failing)

    # A new head: nothing at all is left behind.
    before = _state()
    with pytest.raises(RuntimeError, match=r"seq\.npz.*simulated"):
        bpy.ops.flame.import_sequence(filepath=str(path))
    assert len(calls) == 12
    assert _state() == before and not bpy.data.actions

    # An existing head with its own animation: it gets exactly that back.
    head = add_head(model_path=model_path, n_expression=2)
    head.flame.expression[1].value = 0.7
    head.keyframe_insert("location", index=2, frame=3)
    head.keyframe_insert("flame.expression_values", index=1, frame=4)
    action = head.animation_data.action
    action_name = action.name
    keys_before = keyed(addon, head)
    before = _state()
    calls.clear()
    for mode in ("NEW_ACTION", "REPLACE_RANGE", "REPLACE"):
        calls.clear()
        with pytest.raises(RuntimeError, match="simulated"):
            bpy.ops.flame.import_sequence(filepath=str(path), mode=mode)
        assert _state() == before and len(head.animation_data.nla_tracks) == 0
    assert head.animation_data.action == action
    after = keyed(addon, head)
    assert after.keys() == keys_before.keys()
    for key, (frames, values) in keys_before.items():
        np.testing.assert_array_equal(after[key][0], frames)
        np.testing.assert_array_equal(after[key][1], values)
    assert len(head.flame.expression) == 2 and head.flame.expression[1].value == pytest.approx(0.7)

    monkeypatch.setattr(addon.animation, "fill_fcurve", real)
    import_file(path, mode="REPLACE")  # the same import works once nothing fails, keeping the other channels
    keys = keyed(addon, head)
    assert ("location", 2) in keys and len(head.flame.expression) == 8
    assert bpy.data.actions.keys() == [action_name]  # the copy took the old action's place and name


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_export_round_trip(fc, addon, model_file, tmp_path, suffix):
    model_path, _ = model_file
    seq = make_sequence(fc, 6, shape_varies=(suffix == ".json"))
    head = add_head(model_path=model_path)
    import_file(fc.save_sequence(seq, tmp_path / "in.npz"), frame_start=3)
    out = tmp_path / f"out{suffix}"
    assert bpy.ops.flame.export_sequence(filepath=str(out), frame_start=3, frame_end=8) == {"FINISHED"}
    back = fc.load_sequence(out)
    assert len(back) == 6 and back.fps == 24
    expected = fc.FlameParams(**{n: f32(v) for n, v in seq.params.to_dict().items()})
    assert back.params.allclose(expected, atol=1e-7)
    if suffix == ".npz":
        assert back.params.shape.ndim == 1  # a constant identity is written once

    head2 = add_head(model_path=model_path)
    import_file(out, frame_start=3)
    first, second = keyed(addon, head), keyed(addon, head2)
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key][0], second[key][0])
        np.testing.assert_allclose(first[key][1], second[key][1], atol=1e-7)


def test_export_reads_nla_by_stepping_frames(fc, addon, model_file, tmp_path):
    model_path, _ = model_file
    head = add_head(model_path=model_path)
    head.flame.jaw[0] = 0.0
    head.keyframe_insert("flame.jaw", index=0, frame=1)
    head.flame.jaw[0] = 0.4
    head.keyframe_insert("flame.jaw", index=0, frame=5)
    anim = head.animation_data
    action = anim.action
    curve = addon.animation.find_fcurve(head, "flame.jaw", 0)
    expected = [curve.evaluate(f - 2.0) for f in range(1, 8)]  # the strip plays the action 2 frames later
    track = anim.nla_tracks.new()
    track.strips.new("moved", 3, action)
    anim.action = None
    bpy.context.scene.frame_set(2)
    out = tmp_path / "nla.npz"
    assert bpy.ops.flame.export_sequence(filepath=str(out), frame_start=1, frame_end=7) == {"FINISHED"}
    back = fc.load_sequence(out)
    np.testing.assert_allclose(back.params.jaw[:, 0], expected, atol=1e-6)
    assert bpy.context.scene.frame_current == 2
