"""A head's rig: bones at the joints, the evaluated pose drives the head exactly, baking both ways, removal."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import bpy
import numpy as np
import pytest
from helpers import add_head, blender_axes, image_pixels, mesh_positions, render_animation_setup
from mathutils import Quaternion

BONES = ("root", "neck", "jaw", "eye.L", "eye.R")
TOL = 1e-5  # metres


def _rigged(model_file, **kwargs):
    path, model = model_file
    head = add_head(model_path=path)
    head.flame.shape[1].value = 1.2
    head.flame.expression[0].value = 0.8
    assert bpy.ops.flame.add_rig(**kwargs) == {"FINISHED"}
    arm = head.flame_rig.armature
    assert arm is not None and arm.type == "ARMATURE"
    return head, arm, model


def _shape(head, model):
    shape = np.zeros(model.n_shape)
    values = [item.value for item in head.flame.shape]
    shape[: len(values)] = values
    return shape


def _expected(head, model, **pose):
    """The head's vertices (Blender axes) for its shape and expression with ``pose`` as parameters."""
    expression = np.array([item.value for item in head.flame.expression])
    return blender_axes(model.forward(shape=_shape(head, model), expression=expression, **pose).vertices)


def _random_pose(rng, max_angle=3 * np.pi):
    axis = rng.normal(size=(5, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    pose = (axis * rng.uniform(0, max_angle, size=(5, 1))).reshape(15)
    return {"rotation": pose[0:3], "neck": pose[3:6], "jaw": pose[6:9], "eyes": pose[9:15],
            "translation": rng.normal(scale=0.2, size=3)}


def _set_bones(addon, fc, arm, pose):
    addon.rig.set_bone_pose(arm, fc.FlameParams(**pose))
    bpy.context.view_layer.update()


def test_add_rig_puts_bones_at_the_identity_joints_and_follows_identity_changes(model_file, addon):
    head, arm, model = _rigged(model_file)
    assert arm.parent == head and arm.flame_rig.head == head
    assert [b.name for b in arm.data.bones] == list(BONES)
    assert [b.parent.name if b.parent else None for b in arm.data.bones] == [None, "root", "neck", "neck", "neck"]
    joints = blender_axes(model.forward(shape=_shape(head, model)).joints)  # identity joints, no expression
    heads = np.array([b.head_local for b in arm.data.bones])
    np.testing.assert_allclose(heads, joints, atol=1e-6)
    for bone in arm.pose.bones:
        assert bone.custom_shape is not None and len(bone.custom_shape.data.edges) > 0
    # Eyes and jaw point forward (-Y, out of the face): a Damped Track on Y aims them.
    assert np.array(arm.data.bones["eye.L"].matrix_local)[:3, 1] == pytest.approx([0, -1, 0], abs=1e-6)
    assert np.array(arm.data.bones["neck"].matrix_local)[:3, 1] == pytest.approx([0, 0, 1], abs=1e-6)
    # Adding the rig keeps the look; a new identity moves the bones with the joints.
    np.testing.assert_allclose(mesh_positions(head), _expected(head, model), atol=TOL)
    head.flame.shape[0].value = -2.0
    bpy.context.view_layer.update()
    moved = blender_axes(model.forward(shape=_shape(head, model)).joints)
    assert np.abs(moved - joints).max() > 1e-4
    np.testing.assert_allclose(np.array([b.head_local for b in arm.data.bones]), moved, atol=1e-6)
    assert arm.mode == "OBJECT" and bpy.context.view_layer.objects.active == head
    np.testing.assert_allclose(mesh_positions(head), _expected(head, model), atol=TOL)


def test_add_rig_keeps_the_current_pose_and_refuses_a_second_rig(model_file):
    path, _model = model_file
    head = add_head(model_path=path)
    head.flame.jaw = (0.4, 0.1, 0.0)
    head.flame.translation = (0.01, 0.02, 0.03)
    before = mesh_positions(head).copy()
    assert bpy.ops.flame.add_rig() == {"FINISHED"}
    np.testing.assert_allclose(mesh_positions(head), before, atol=TOL)
    assert not bpy.ops.flame.add_rig.poll()
    assert len([o for o in bpy.data.objects if o.type == "ARMATURE"]) == 1


def test_bone_pose_gives_the_same_vertices_as_parameters(model_file, addon, fc):
    head, arm, model = _rigged(model_file)
    rng = np.random.default_rng(0)
    for _ in range(12):
        pose = _random_pose(rng)
        _set_bones(addon, fc, arm, pose)
        np.testing.assert_allclose(mesh_positions(head), _expected(head, model, **pose), atol=TOL)


def test_bone_rotations_in_blender_terms(model_file):
    """Rotating bones about their own axes, as an animator does, means the documented FLAME parameters."""
    head, arm, model = _rigged(model_file)
    arm.pose.bones["jaw"].rotation_quaternion = Quaternion((1, 0, 0), 0.3)  # about the jaw bone's X: opens
    arm.pose.bones["root"].rotation_quaternion = Quaternion((0, 1, 0), 0.5)  # about the root's Y (up): turns
    arm.pose.bones["root"].location = (0.0, 0.1, 0.0)  # along the root's Y (up) = FLAME +Y
    arm.pose.bones["eye.R"].rotation_mode = "XYZ"
    arm.pose.bones["eye.R"].rotation_euler = (0.2, 0.0, 0.0)  # any rotation mode works
    bpy.context.view_layer.update()
    expected = _expected(head, model, jaw=[0.3, 0, 0], rotation=[0, 0.5, 0], translation=[0, 0.1, 0],
                         eyes=[0, 0, 0, 0.2, 0, 0])
    np.testing.assert_allclose(mesh_positions(head), expected, atol=TOL)
    assert tuple(head.flame.jaw) == (0.0, 0.0, 0.0)  # the parameters themselves are left alone


def _evaluated_params(addon, arm):
    depsgraph = bpy.context.evaluated_depsgraph_get()
    return addon.rig.params_from_rig(arm.evaluated_get(depsgraph))


def _pose_of(params):
    return {name: params.values(name) for name in ("rotation", "neck", "jaw", "eyes", "translation")}


def test_damped_track_aims_the_eyes_like_eyes_look_at(model_file, addon, fc):
    head, arm, model = _rigged(model_file, eye_target=True)
    target = next(o for o in bpy.data.objects if o.type == "EMPTY")
    assert all(arm.pose.bones[n].constraints[0].type == "DAMPED_TRACK" for n in ("eye.L", "eye.R"))
    head.location = (0.3, 0.2, 0.1)
    target.location = (0.15, 0.4, 0.05)  # head-local: in front (-Y is forward), to the side, above
    arm.pose.bones["neck"].rotation_quaternion = Quaternion((0, 1, 0), 0.3)
    bpy.context.view_layer.update()
    params = _evaluated_params(addon, arm)
    assert np.abs(params.values("eyes")).max() > 0.05
    np.testing.assert_allclose(mesh_positions(head), _expected(head, model, **_pose_of(params)), atol=TOL)
    # Independently: the eye rotations the parameter-side look-at computes for the same target. The
    # rig's eye bones sit at the identity's joints; FLAME's eyes move a little with expression, so
    # compare with the joints the bones are at.
    look_at = addon.operators.look_at
    rest_joints = model.forward(shape=_shape(head, model), rotation=params.values("rotation"),
                                neck=params.values("neck")).joints
    local = np.array(head.matrix_world.inverted() @ target.matrix_world.translation)
    flame_target = np.array([local[0], local[2], -local[1]])
    expected = look_at.eye_rotations(params, np.asarray(rest_joints, dtype=np.float64), flame_target)
    # Damped Track turns the bone's Y onto the target along the shortest arc, as eyes_look_at does.
    np.testing.assert_allclose(params.values("eyes"), expected, atol=1e-5)


def test_constraints_drivers_keys_and_nla_drive_the_head(model_file, addon):
    head, arm, model = _rigged(model_file)
    scene = bpy.context.scene
    # Copy Rotation on the neck from an empty, Child Of on the jaw from another.
    driver_empty = bpy.data.objects.new("Turner", None)
    scene.collection.objects.link(driver_empty)
    driver_empty.rotation_euler = (0.0, 0.0, 0.4)
    copy = arm.pose.bones["neck"].constraints.new("COPY_ROTATION")
    copy.target = driver_empty
    copy.influence = 0.5
    parent_empty = bpy.data.objects.new("Parent", None)
    scene.collection.objects.link(parent_empty)
    child = arm.pose.bones["jaw"].constraints.new("CHILD_OF")
    child.target = parent_empty
    child.set_inverse_pending = False
    parent_empty.rotation_euler = (0.2, 0.0, 0.0)
    # A driver on the left eye from a custom property; keys on the root bone, then moved into an NLA strip.
    arm["look"] = 0.25
    side = bpy.data.objects.new("Side", None)
    scene.collection.objects.link(side)
    side.parent = head
    side.location = (0.5, -0.4, 0.3)  # head-local: to the left, in front, above
    locked = arm.pose.bones["eye.R"].constraints.new("LOCKED_TRACK")
    locked.target = side
    locked.track_axis, locked.lock_axis = "TRACK_Y", "LOCK_Z"
    fcurve = arm.pose.bones["eye.L"].driver_add("rotation_quaternion", 3)
    fcurve.driver.type = "SCRIPTED"
    var = fcurve.driver.variables.new()
    var.name = "look"
    var.targets[0].id = arm
    var.targets[0].data_path = '["look"]'
    fcurve.driver.expression = "look"
    root = arm.pose.bones["root"]
    root.rotation_quaternion = (1, 0, 0, 0)
    root.keyframe_insert("rotation_quaternion", frame=1)
    root.rotation_quaternion = Quaternion((0, 0, 1), 0.6)
    root.keyframe_insert("rotation_quaternion", frame=5)
    action = arm.animation_data.action
    track = arm.animation_data.nla_tracks.new()
    track.strips.new("motion", 1, action)
    arm.animation_data.action = None
    seen = []
    for frame in (1, 3, 5):
        scene.frame_set(frame)
        params = _evaluated_params(addon, arm)
        seen.append(params.values("rotation").copy())
        np.testing.assert_allclose(mesh_positions(head), _expected(head, model, **_pose_of(params)), atol=TOL)
        assert np.abs(params.values("neck")).max() > 0.1  # Copy Rotation
        assert np.abs(params.values("jaw")).max() > 0.1  # Child Of
        assert np.abs(params.values("eyes")[:3]).max() > 0.1  # driver
        right = params.values("eyes")[3:]  # Locked Track, Lock Z: a turn about the eye's vertical only
        assert abs(right[1]) > 0.2 and abs(right[0]) < 1e-5 and abs(right[2]) < 1e-5
    assert np.abs(seen[0]).max() < 1e-6 and np.abs(seen[2][2] - 0.6) < 1e-5  # NLA: about FLAME Z (root Z)
    assert 0.05 < np.abs(seen[1]).max() < 0.55
    # Moving a constraint target updates the head at once (no frame change).
    before = mesh_positions(head).copy()
    driver_empty.rotation_euler = (0.0, 0.0, -0.5)
    bpy.context.view_layer.update()
    assert np.abs(mesh_positions(head) - before).max() > 1e-4
    np.testing.assert_allclose(mesh_positions(head),
                               _expected(head, model, **_pose_of(_evaluated_params(addon, arm))), atol=TOL)


def test_renders_see_the_rig_pose_of_each_frame(model_file, tmp_path):
    _head, arm, _model = _rigged(model_file)
    jaw = arm.pose.bones["root"]
    jaw.rotation_quaternion = (1, 0, 0, 0)
    jaw.keyframe_insert("rotation_quaternion", frame=1)
    jaw.rotation_quaternion = Quaternion((0, 1, 0), 0.9)
    jaw.keyframe_insert("rotation_quaternion", frame=2)
    scene = render_animation_setup(tmp_path)
    scene.frame_set(2)
    bpy.ops.render.render(animation=True)
    frames = [image_pixels(tmp_path / f"anim_{f:04d}.png") for f in (1, 2)]
    assert np.abs(frames[0] - frames[1]).max() > 0.2
    scene.frame_set(1)
    scene.render.filepath = str(tmp_path / "still_1.png")
    bpy.ops.render.render(write_still=True)
    np.testing.assert_allclose(frames[0], image_pixels(tmp_path / "still_1.png"), atol=2 / 255)


def _key_random_params(addon, fc, head, frames, seed):
    rng = np.random.default_rng(seed)
    poses = [_random_pose(rng, max_angle=2.5 * np.pi) for _ in frames]
    params = fc.FlameParams(**{k: np.stack([p[k] for p in poses]) for k in poses[0]})
    names = ("rotation", "neck", "jaw", "eyes", "translation")
    sizes = {name: len(addon.param_channels.field_keys(head.flame, name)) for name in names}
    channels_module = importlib.import_module(f"{fc.__name__}.channels")
    built = channels_module.sequence_channels(params, sizes, np.asarray(frames, float))
    channels = [addon.param_channels.to_channel(head.flame, c) for c in built.keyed]
    addon.animation.write_keyframes(head, channels)
    return params


def test_parameters_to_bones_is_exact_at_every_frame(model_file, addon, fc):
    path, model = model_file
    head = add_head(model_path=path)
    head.flame.shape[2].value = 0.7
    frames = list(range(1, 13))
    params = _key_random_params(addon, fc, head, frames, seed=5)
    assert bpy.ops.flame.add_rig() == {"FINISHED"}
    arm = head.flame_rig.armature
    assert bpy.ops.flame.rig_from_params(frame_start=1, frame_end=12) == {"FINISHED"}
    assert arm.animation_data.action is not None
    for f in frames:
        bpy.context.scene.frame_set(f)
        expected = _expected(head, model, **_pose_of(params[f - 1]))
        np.testing.assert_allclose(mesh_positions(head), expected, atol=TOL)


def test_bones_to_parameters_is_exact_and_one_undo_step(model_file, addon, fc):
    head, arm, _model = _rigged(model_file, eye_target=True)
    target = next(o for o in bpy.data.objects if o.type == "EMPTY")
    scene = bpy.context.scene
    rng = np.random.default_rng(7)
    for f in (1, 4, 8):
        addon.rig.set_bone_pose(arm, fc.FlameParams(**_random_pose(rng, max_angle=2.0)))
        for bone in arm.pose.bones:
            bone.keyframe_insert("rotation_quaternion", frame=f)
        arm.pose.bones["root"].keyframe_insert("location", frame=f)
        target.location = tuple(rng.normal(scale=0.3, size=3) + [0, -0.6, 0])
        target.keyframe_insert("location", frame=f)
    rigged = {}
    for f in range(1, 9):
        scene.frame_set(f)
        rigged[f] = mesh_positions(head).copy()
    bpy.ops.ed.undo_push(message="before bake")
    assert bpy.ops.flame.bake_rig("EXEC_DEFAULT", True, frame_start=1, frame_end=8) == {"FINISHED"}
    assert addon.animation.find_fcurve(head, "flame.jaw", 0) is not None
    head = bpy.data.objects[head.name]
    assert bpy.ops.flame.remove_rig("EXEC_DEFAULT", True) == {"FINISHED"}
    assert head.flame_rig.armature is None and not any(o.type == "ARMATURE" for o in bpy.data.objects)
    for f in range(1, 9):
        scene.frame_set(f)
        np.testing.assert_allclose(mesh_positions(head), rigged[f], atol=TOL)
    # Undo twice: the removal, then the bake as one step (no pose keys on the head, the rig back).
    name = head.name
    bpy.ops.ed.undo()
    bpy.ops.ed.undo()
    head = bpy.data.objects[name]
    assert addon.animation.find_fcurve(head, "flame.jaw", 0) is None
    assert head.flame_rig.armature is not None


def test_a_failing_bake_leaves_nothing(model_file, addon):
    head, arm, _model = _rigged(model_file)
    arm.pose.bones["jaw"].name = "chin"
    assert head.animation_data is None or head.animation_data.action is None
    with pytest.raises(RuntimeError, match="no bone 'jaw'"):
        bpy.ops.flame.bake_rig(frame_start=1, frame_end=5)
    assert head.animation_data is None or head.animation_data.action is None
    with pytest.raises(RuntimeError, match="no bone 'jaw'"):
        bpy.ops.flame.rig_from_params(frame_start=1, frame_end=5)
    assert arm.animation_data is None or arm.animation_data.action is None
    assert "no bone 'jaw'" in (addon.evaluate.error(head) or "")


def test_remove_rig_keeps_the_pose_as_parameters(model_file, addon, fc):
    head, arm, model = _rigged(model_file)
    pose = _random_pose(np.random.default_rng(3), max_angle=1.0)
    _set_bones(addon, fc, arm, pose)
    before = mesh_positions(head).copy()
    widgets = [b.custom_shape.name for b in arm.pose.bones]
    assert bpy.ops.flame.remove_rig() == {"FINISHED"}
    assert not any(name in bpy.data.objects for name in widgets)
    assert not bpy.data.armatures
    np.testing.assert_allclose(np.array(head.flame.jaw), pose["jaw"], atol=1e-6)
    np.testing.assert_allclose(np.array(head.flame.translation), pose["translation"], atol=1e-6)
    np.testing.assert_allclose(mesh_positions(head), before, atol=TOL)
    head.flame.neck = (0.3, 0.0, 0.0)  # parameters drive the head again
    np.testing.assert_allclose(mesh_positions(head), _expected(head, model, **{**pose, "neck": [0.3, 0, 0]}),
                               atol=TOL)


def test_saved_and_reloaded_rig_still_drives_the_head(model_file, addon, tmp_path):
    head, arm, model = _rigged(model_file)
    path = str(tmp_path / "rigged.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.open_mainfile(filepath=path)
    head = next(o for o in bpy.data.objects if o.type == "MESH" and o.flame.is_head)
    arm = head.flame_rig.armature
    assert arm is not None and arm.flame_rig.head == head
    arm.pose.bones["jaw"].rotation_quaternion = Quaternion((1, 0, 0), 0.35)
    bpy.context.view_layer.update()
    np.testing.assert_allclose(mesh_positions(head), _expected(head, model, jaw=[0.35, 0, 0]), atol=TOL)


def test_rig_panels_are_registered():
    for editor in ("view3d", "object"):
        panel = getattr(bpy.types, f"FLAME_PT_{editor}_rig")
        assert panel.bl_parent_id == f"FLAME_PT_{editor}_head"
    assert bpy.types.FLAME_PT_view3d_rig_tools.poll  # the panel shown while the rig itself is active


def test_only_its_own_head_follows_a_rig(model_file):
    """A duplicated head (pointing to the same rig) stays on its parameters; a rig unlinked from the scene stops."""
    head, arm, model = _rigged(model_file)
    copy = head.copy()
    copy.data = head.data.copy()
    bpy.context.scene.collection.objects.link(copy)
    assert copy.flame_rig.armature == arm
    arm.pose.bones["jaw"].rotation_quaternion = Quaternion((1, 0, 0), 0.4)
    bpy.context.view_layer.update()
    copy.flame.neck = (0.1, 0.0, 0.0)  # evaluates the copy: its own parameters, not the rig's jaw
    np.testing.assert_allclose(mesh_positions(copy), _expected(copy, model, neck=[0.1, 0, 0]), atol=TOL)
    np.testing.assert_allclose(mesh_positions(head), _expected(head, model, jaw=[0.4, 0, 0]), atol=TOL)
    for collection in list(arm.users_collection):
        collection.objects.unlink(arm)
    head.flame.jaw = (0.1, 0.0, 0.0)
    np.testing.assert_allclose(mesh_positions(head), _expected(head, model, jaw=[0.1, 0, 0]), atol=TOL)


def test_bones_wait_for_edit_mode_to_end_before_moving(model_file):
    head, arm, model = _rigged(model_file)
    other = bpy.data.objects.new("Other", bpy.data.meshes.new("Other"))
    bpy.context.scene.collection.objects.link(other)
    bpy.context.view_layer.objects.active = other
    bpy.ops.object.mode_set(mode="EDIT")
    before = np.array([b.head_local for b in arm.data.bones])
    head.flame.shape[0].value = 2.0
    bpy.context.view_layer.update()
    np.testing.assert_array_equal(np.array([b.head_local for b in arm.data.bones]), before)
    assert other.mode == "EDIT"
    bpy.ops.object.mode_set(mode="OBJECT")
    head.update_tag()
    bpy.context.view_layer.update()
    moved = blender_axes(model.forward(shape=_shape(head, model)).joints)
    np.testing.assert_allclose(np.array([b.head_local for b in arm.data.bones]), moved, atol=1e-6)


def test_bakes_and_exports_of_a_rigged_head_use_the_rig(model_file, fc, tmp_path):
    """Shape-key bakes and sequence exports sample the rig's pose, not the head's own pose parameters."""
    head, arm, _model = _rigged(model_file)
    root = arm.pose.bones["root"]
    for frame, angle in ((1, 0.0), (3, 0.8)):
        root.rotation_quaternion = Quaternion((0, 1, 0), angle)
        root.keyframe_insert("rotation_quaternion", frame=frame)
    rigged = {}
    for frame in (1, 2, 3):
        bpy.context.scene.frame_set(frame)
        rigged[frame] = mesh_positions(head).copy()
    bpy.context.view_layer.objects.active = head
    assert bpy.ops.flame.bake_shape_keys(frame_start=1, frame_end=3) == {"FINISHED"}
    baked = bpy.context.view_layer.objects.active
    for frame in (1, 2, 3):
        block = baked.data.shape_keys.key_blocks[f"Frame {frame:04d}"]
        co = np.empty(3 * len(block.data), dtype=np.float32)
        block.data.foreach_get("co", co)
        np.testing.assert_allclose(co.reshape(-1, 3), rigged[frame], atol=TOL)
    bpy.context.view_layer.objects.active = head
    path = tmp_path / "rigged.npz"
    assert bpy.ops.flame.export_sequence(filepath=str(path), frame_start=1, frame_end=3) == {"FINISHED"}
    rotation = fc.load_sequence(path).params.values("rotation")
    assert rotation[0] == pytest.approx([0, 0, 0], abs=1e-6)
    assert rotation[2] == pytest.approx([0, 0.8, 0], abs=1e-5)


def test_bound_points_and_eye_aiming_of_a_rigged_head(model_file, addon, tmp_path):
    """The bound export's flame_param.npz holds the rig's pose; aiming the eyes of a rigged head says to
    aim its eye bones and changes nothing."""
    head, arm, _model = _rigged(model_file)
    arm.pose.bones["jaw"].rotation_mode = "XYZ"
    arm.pose.bones["jaw"].rotation_euler = (0.3, 0.0, 0.0)
    bpy.context.view_layer.update()
    jaw = np.asarray(head.flame.jaw)  # the head's own parameter, not the rig's
    bpy.context.view_layer.objects.active = head
    assert bpy.ops.flame.sample_points(count=500, seed=0, bind=True) == {"FINISHED"}
    assert bpy.ops.flame.export_points(filepath=str(tmp_path / "points.ply"), layout="BOUND") == {"FINISHED"}
    saved = np.load(tmp_path / "flame_param.npz")
    rig_jaw = _evaluated_params(addon, arm).values("jaw").reshape(3)
    assert np.abs(rig_jaw).max() > 0.1 and not np.allclose(rig_jaw, jaw)
    np.testing.assert_allclose(saved["jaw_pose"].reshape(3), rig_jaw, atol=1e-6)
    bpy.context.view_layer.objects.active = head
    eyes = list(head.flame.eyes)
    with pytest.raises(RuntimeError, match=r"eye\.L and eye\.R bones"):
        bpy.ops.flame.eyes_look_at()
    assert list(head.flame.eyes) == eyes


def test_add_rig_and_parameters_to_bones_undo_in_one_step_each(model_file, addon, fc):
    path, _ = model_file
    head = add_head(model_path=path)
    _key_random_params(addon, fc, head, [1, 2, 3], seed=2)
    bpy.ops.ed.undo_push(message="start")
    assert bpy.ops.flame.add_rig("EXEC_DEFAULT", True) == {"FINISHED"}
    assert bpy.ops.flame.rig_from_params("EXEC_DEFAULT", True, frame_start=1, frame_end=3) == {"FINISHED"}
    name = head.name
    bpy.ops.ed.undo()
    arm = bpy.data.objects[name].flame_rig.armature
    assert arm is not None and (arm.animation_data is None or arm.animation_data.action is None)
    bpy.ops.ed.undo()
    assert bpy.data.objects[name].flame_rig.armature is None
    assert not any(o.type == "ARMATURE" for o in bpy.data.objects)


def test_add_rig_fails_cleanly_without_its_model(model_file):
    path, _ = model_file
    head = add_head(model_path=path)
    before = (len(bpy.data.objects), len(bpy.data.meshes), len(bpy.data.armatures))
    os.remove(path)
    with pytest.raises(RuntimeError, match="Cannot add a rig"):
        bpy.ops.flame.add_rig()
    assert (len(bpy.data.objects), len(bpy.data.meshes), len(bpy.data.armatures)) == before
    assert head.flame_rig.armature is None


def test_a_hidden_rig_still_follows_identity_changes(model_file):
    head, arm, model = _rigged(model_file)
    arm.hide_set(True)
    head.flame.shape[0].value = -1.5
    bpy.context.view_layer.update()
    moved = blender_axes(model.forward(shape=_shape(head, model)).joints)
    np.testing.assert_allclose(np.array([b.head_local for b in arm.data.bones]), moved, atol=1e-6)
    assert arm.hide_get() and arm.mode == "OBJECT"


@pytest.mark.parametrize("separator", [False, True])
def test_rig_example_script_keys_the_bones(tmp_path, fc, addon, separator):
    """``scripts/example_rig.py`` as a user runs it: the saved rig reproduces the sequence's pose."""
    sequence = fc.save_sequence(fc.demo_sequence(frames=6, fps=25.0), tmp_path / "seq.npz")
    blend = tmp_path / "rigged.blend"
    script = Path(__file__).resolve().parents[2] / "scripts" / "example_rig.py"
    command = [sys.executable, str(script), *(["--"] if separator else []), str(sequence), str(blend)]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    head = next(o for o in bpy.data.objects if o.type == "MESH" and o.flame.is_head)
    arm = head.flame_rig.armature
    assert arm is not None and arm.animation_data.action is not None
    expected = fc.load_sequence(sequence)[3]
    bpy.context.scene.frame_set(4)
    params = _evaluated_params(addon, arm)
    for name in ("rotation", "neck", "jaw", "eyes", "translation"):
        np.testing.assert_allclose(params.values(name), expected.values(name), atol=1e-5)
    model = addon.heads.model_for(head)
    own = addon.bridge.read_params(head.flame)  # the head's own keys at this frame: the same pose
    np.testing.assert_allclose(mesh_positions(head),
                               blender_axes(model.forward(addon.evaluate.model_params(model, own)).vertices),
                               atol=TOL)


def test_a_bone_change_evaluates_its_head_once_through_the_param_source(model_file, addon, fc):
    head, arm, model = _rigged(model_file)
    assert arm in addon.evaluate.dependencies(head)  # the rig is the head's parameter source
    calls = []
    original = addon.evaluate.evaluate

    def counted(obj, **kwargs):
        changed = original(obj, **kwargs)
        calls.append((obj.name, changed))
        return changed

    addon.evaluate.evaluate = counted
    try:
        pose = _random_pose(np.random.default_rng(11), max_angle=1.0)
        _set_bones(addon, fc, arm, pose)
    finally:
        addon.evaluate.evaluate = original
    assert [c for c in calls if c[1]] == [(head.name, True)], calls
    np.testing.assert_allclose(mesh_positions(head), _expected(head, model, **pose), atol=TOL)
