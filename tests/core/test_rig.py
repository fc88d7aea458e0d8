"""The rig mapping: bone rotations and locations <-> FLAME pose and translation, bone placement."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core import FlameError, FlameModel, FlameParams, rig
from flame_core.lbs import rigid_transforms, rodrigues
from flame_core.params import PARENTS

M = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # FLAME -> Blender, written out independently


def random_rotvecs(rng: np.random.Generator, n: int, max_angle: float) -> np.ndarray:
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    return axis * rng.uniform(0, max_angle, size=(n, 1))


def random_params(rng: np.random.Generator, n: int, max_angle: float = 3 * np.pi) -> FlameParams:
    pose = random_rotvecs(rng, n * 5, max_angle).reshape(n, 15)
    return FlameParams.from_pose(pose, translation=rng.normal(scale=0.3, size=(n, 3)),
                                 expression=rng.normal(size=(n, 10)), shape=rng.normal(size=20))


def homogeneous(rot: np.ndarray, trans: np.ndarray) -> np.ndarray:
    out = np.zeros(rot.shape[:-2] + (4, 4))
    out[..., :3, :3] = rot
    out[..., :3, 3] = trans
    out[..., 3, 3] = 1.0
    return out


def test_axis_angle_inverts_rodrigues_including_near_zero_and_pi():
    rng = np.random.default_rng(0)
    near_pi = random_rotvecs(rng, 20, 1.0)
    near_pi *= (np.pi - 1e-7) / np.linalg.norm(near_pi, axis=1, keepdims=True)
    vecs = np.concatenate([
        random_rotvecs(rng, 200, np.pi - 1e-6), random_rotvecs(rng, 20, 1e-9), np.zeros((1, 3)), near_pi,
    ])
    got = rig.axis_angle(rodrigues(vecs))
    np.testing.assert_allclose(got, vecs, atol=1e-9)
    assert np.all(got[-21] == 0.0)
    # Exactly pi and beyond: a vector of the same rotation, with an angle in [0, pi].
    big = random_rotvecs(rng, 200, 4 * np.pi)
    back = rig.axis_angle(rodrigues(big))
    assert np.all(np.linalg.norm(back, axis=1) <= np.pi + 1e-12)
    np.testing.assert_allclose(rodrigues(back), rodrigues(big), atol=1e-12)
    half_turn = np.array([0.0, 0.0, np.pi])
    np.testing.assert_allclose(rodrigues(rig.axis_angle(rodrigues(half_turn))), rodrigues(half_turn), atol=1e-12)


def test_quaternions_round_trip_and_match_blender_convention():
    rng = np.random.default_rng(1)
    rot = rodrigues(random_rotvecs(rng, 300, 4 * np.pi))
    q = rig.quaternion_from_matrix(rot)
    assert np.all(q[:, 0] >= 0)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(rig.matrix_from_quaternion(q), rot, atol=1e-12)
    np.testing.assert_allclose(rig.matrix_from_quaternion(-3.0 * q), rot, atol=1e-12)  # any sign, any length
    # (w, x, y, z): a quarter turn about Z is (cos 45, 0, 0, sin 45).
    quarter = rig.quaternion_from_matrix(rodrigues(np.array([0.0, 0.0, np.pi / 2])))
    np.testing.assert_allclose(quarter, [np.sqrt(0.5), 0, 0, np.sqrt(0.5)], atol=1e-12)
    with pytest.raises(FlameError):
        rig.matrix_from_quaternion(np.zeros(4))


def test_local_rotations_are_flame_rotations_in_bone_axes_and_round_trip():
    rng = np.random.default_rng(2)
    params = random_params(rng, 50)
    local = rig.local_rotations(params.pose)
    assert local.shape == (50, 5, 3, 3)
    flame = rodrigues(params.pose.reshape(50, 5, 3))
    # Root and neck bones keep FLAME's axes: their local rotation is FLAME's matrix itself.
    np.testing.assert_allclose(local[:, :2], flame[:, :2], atol=1e-12)
    # Jaw and eyes point forward: opening the jaw (FLAME +X) is still a turn about the bone's X.
    jaw = rig.local_rotations(FlameParams(jaw=[0.4, 0, 0]).pose)[2]
    np.testing.assert_allclose(jaw, rodrigues(np.array([0.4, 0, 0])), atol=1e-12)
    back = rig.params_from_local(local, rig.root_location(params.translation))
    np.testing.assert_allclose(rodrigues(back.pose.reshape(50, 5, 3)), flame, atol=1e-12)
    np.testing.assert_allclose(back.translation, params.translation, atol=1e-12)
    np.testing.assert_allclose(rig.root_location(params.translation), params.translation, atol=0)


def test_rest_matrices_put_bone_heads_at_the_joints_in_blender_axes():
    joints = np.arange(15.0).reshape(5, 3)
    rest = rig.rest_matrices(joints)
    np.testing.assert_allclose(rest[:, :3, 3], joints @ M.T)
    for j in range(5):
        q = rest[j, :3, :3]
        np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-15)
        assert np.linalg.det(q) == pytest.approx(1.0)
    # Bone Y: up (Blender +Z) for root and neck, forward (Blender -Y, out of the face) for jaw and eyes.
    np.testing.assert_allclose(rest[:2, :3, 1], [[0, 0, 1]] * 2, atol=1e-15)
    np.testing.assert_allclose(rest[2:, :3, 1], [[0, -1, 0]] * 3, atol=1e-15)
    with pytest.raises(FlameError, match="rest joints"):
        rig.rest_matrices(np.zeros((4, 3)))
    np.testing.assert_allclose(rig.bone_lengths(0.3), np.asarray(rig.BONE_LENGTHS) * 0.3)
    with pytest.raises(FlameError, match="height"):
        rig.bone_lengths(0.0)


def _skinning_model(small_arrays: dict) -> FlameModel:
    return FlameModel(**small_arrays, dtype=np.float64)


def test_pose_matrices_skin_exactly_like_flame(small_arrays):
    """Bones posed from the parameters carry FLAME's skinning transforms (what an armature deform computes)."""
    model = _skinning_model(small_arrays)
    rng = np.random.default_rng(3)
    params = random_params(rng, 8)
    out = model.forward(params)
    for f in range(8):
        p = params[f]
        j_rest = model.forward(FlameParams(shape=p.shape, expression=p.expression)).joints
        rest = rig.rest_matrices(j_rest)
        pose = rig.pose_matrices(p, rest)
        rot = rodrigues(p.pose.reshape(5, 3))
        _, transforms = rigid_transforms(rot, j_rest, PARENTS)
        np.testing.assert_allclose(pose[:, :3, 3], (out.joints[f]) @ M.T, atol=1e-12)
        flame_a = homogeneous(transforms[:, :, :3], transforms[:, :, 3] + p.translation)
        mh = homogeneous(M, np.zeros(3))
        expected = mh @ flame_a @ mh.T
        np.testing.assert_allclose(pose @ np.linalg.inv(rest), expected, atol=1e-12)
        # The bones' local transforms (parent-relative, from rest) are the rig's local rotations.
        local = np.linalg.inv(rest[0]) @ pose[0]
        np.testing.assert_allclose(local[:3, :3], rig.local_rotations(p.pose)[0], atol=1e-12)
        np.testing.assert_allclose(local[:3, 3], rig.root_location(p.translation), atol=1e-12)
        for j in range(1, 5):
            par = PARENTS[j]
            local = np.linalg.inv(rest[j]) @ rest[par] @ np.linalg.inv(pose[par]) @ pose[j]
            np.testing.assert_allclose(local[:3, :3], rig.local_rotations(p.pose)[j], atol=1e-12)
            np.testing.assert_allclose(local[:3, 3], 0.0, atol=1e-12)


def test_params_from_pose_matrices_give_the_same_vertices(small_arrays):
    model = _skinning_model(small_arrays)
    rng = np.random.default_rng(4)
    params = random_params(rng, 64)
    joints = model.forward(FlameParams(shape=params.shape)).joints
    rest = rig.rest_matrices(joints)
    pose = rig.pose_matrices(params, rest)
    back = rig.params_from_pose_matrices(pose, rest)
    assert back.batch_shape == (64,)
    assert np.all(np.linalg.norm(back.pose.reshape(64, 5, 3), axis=-1) <= np.pi + 1e-9)
    full = back.replace(shape=params.shape, expression=params.expression)
    np.testing.assert_allclose(model.forward(full).vertices, model.forward(params).vertices, atol=1e-10)
    np.testing.assert_allclose(back.translation, params.translation, atol=1e-12)
    # Scaled bones (a uniformly scaled armature, a stretched parent): the rotations are what counts.
    scaled = pose.copy()
    scaled[..., :3, :3] *= 1.7
    again = rig.params_from_pose_matrices(scaled, rest)
    np.testing.assert_allclose(rodrigues(again.pose.reshape(64, 5, 3)), rodrigues(params.pose.reshape(64, 5, 3)),
                               atol=1e-10)


def test_rest_orientation_other_than_the_default_still_maps_exactly(small_arrays):
    """A bone re-oriented in edit mode: world rotations from rest stay FLAME's rotations."""
    rng = np.random.default_rng(5)
    params = random_params(rng, 10)
    rest = rig.rest_matrices(rng.normal(scale=0.1, size=(5, 3)))
    rest[:, :3, :3] = rodrigues(random_rotvecs(rng, 5, np.pi))
    back = rig.params_from_pose_matrices(rig.pose_matrices(params, rest), rest)
    np.testing.assert_allclose(rodrigues(back.pose.reshape(10, 5, 3)), rodrigues(params.pose.reshape(10, 5, 3)),
                               atol=1e-12)


def test_bad_matrices_are_refused():
    rest = rig.rest_matrices(np.zeros((5, 3)))
    with pytest.raises(FlameError, match="must be"):
        rig.params_from_pose_matrices(np.zeros((4, 4, 4)), rest)
    pose = np.repeat(np.eye(4)[None], 5, 0)
    pose[2, 0, 0] = np.nan
    with pytest.raises(FlameError, match="finite"):
        rig.params_from_pose_matrices(pose, rest)


def test_unwrap_keeps_keyed_axis_angles_continuous():
    angles = np.linspace(0, 5 * np.pi, 200)
    axis = np.array([0.6, 0.0, 0.8])
    rotations = rodrigues(axis * angles[:, None])
    wrapped = rig.axis_angle(rotations)
    assert np.max(np.linalg.norm(np.diff(wrapped, axis=0), axis=1)) > 1.0  # jumps where the angle crosses pi
    unwrapped = rig.unwrap_axis_angle(wrapped)
    np.testing.assert_allclose(unwrapped, axis * angles[:, None], atol=1e-9)
    np.testing.assert_allclose(rodrigues(unwrapped), rotations, atol=1e-12)
    # Batched per joint: (T, J, 3).
    both = rig.unwrap_axis_angle(np.stack([wrapped, -wrapped], axis=1))
    np.testing.assert_allclose(both[:, 0], axis * angles[:, None], atol=1e-9)
    np.testing.assert_allclose(rodrigues(both[:, 1]), rodrigues(-wrapped), atol=1e-12)
    assert np.max(np.linalg.norm(np.diff(both[:, 1], axis=0), axis=1)) < 0.2


def test_continuous_quaternions_keep_one_side():
    rng = np.random.default_rng(6)
    q = rig.quaternion_from_matrix(rodrigues(np.linspace(0, 6 * np.pi, 100)[:, None] * [0, 1.0, 0]))
    q[::3] *= -1
    fixed = rig.continuous_quaternions(q)
    assert np.all(np.sum(fixed[1:] * fixed[:-1], axis=-1) > 0)
    np.testing.assert_allclose(rig.matrix_from_quaternion(fixed), rig.matrix_from_quaternion(q), atol=1e-12)
    batch = rig.quaternion_from_matrix(rodrigues(random_rotvecs(rng, 30, np.pi).reshape(10, 3, 3)))
    assert rig.continuous_quaternions(batch).shape == (10, 3, 4)
