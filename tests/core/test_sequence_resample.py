"""Resampling: exact keys, linear coefficients, constant-speed slerp, the shortest arc."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core.errors import FlameError
from flame_core.lbs import rodrigues
from flame_core.params import FlameParams
from flame_core.sequence import FlameSequence, axis_angle_to_quaternion, quaternion_to_axis_angle, slerp


def random_sequence(frames: int = 20, fps: float | None = 30.0, seed: int = 0, **kw: object) -> FlameSequence:
    rng = np.random.default_rng(seed)
    params = FlameParams(
        shape=rng.normal(size=300),
        expression=rng.normal(size=(frames, 100)),
        rotation=rng.normal(size=(frames, 3)) * 0.5,
        neck=rng.normal(size=(frames, 3)) * 0.2,
        jaw=rng.normal(size=(frames, 3)) * 0.2,
        eyes=rng.normal(size=(frames, 6)) * 0.2,
        translation=rng.normal(size=(frames, 3)),
    )
    return FlameSequence(params, fps=fps, **kw)  # type: ignore[arg-type]


def test_identity_at_same_rate() -> None:
    seq = random_sequence()
    same = seq.resample(30)
    assert len(same) == len(seq) and same.fps == 30.0
    for name, value in seq.params.to_dict().items():
        np.testing.assert_array_equal(getattr(same.params, name), value)  # keys are reproduced bit for bit


def test_linear_coefficients_at_midpoints() -> None:
    seq = random_sequence(frames=10)
    up = seq.resample(60)
    assert len(up) == 19
    p, q = seq.params, up.params
    mid_expr = 0.5 * (p.expression[:-1] + p.expression[1:])
    np.testing.assert_allclose(q.expression[1::2], mid_expr, rtol=0, atol=1e-14)
    np.testing.assert_allclose(q.translation[1::2], 0.5 * (p.translation[:-1] + p.translation[1:]), atol=1e-14)
    np.testing.assert_array_equal(q.expression[::2], p.expression)
    np.testing.assert_array_equal(q.shape, p.shape)  # shared identity untouched


def test_slerp_constant_speed_gives_exact_angle() -> None:
    axis = np.array([1.0, -2.0, 0.5]) / np.linalg.norm([1.0, -2.0, 0.5])
    angles = 0.4 * np.arange(8)  # up to 2.8 rad, constant angular speed
    rot = angles[:, None] * axis
    eyes = np.concatenate([rot * 0.5, -rot * 0.25], axis=1)
    seq = FlameSequence(FlameParams(rotation=rot, eyes=eyes, jaw=rot * 0.1), fps=30)
    up = seq.resample(90)  # two new frames between keys: angles at thirds
    expected = 0.4 * np.arange(len(up)) / 3.0
    np.testing.assert_allclose(up.params.rotation, expected[:, None] * axis, atol=1e-12)
    np.testing.assert_allclose(up.params.eyes[:, :3], 0.5 * expected[:, None] * axis, atol=1e-12)
    np.testing.assert_allclose(up.params.eyes[:, 3:], -0.25 * expected[:, None] * axis, atol=1e-12)
    np.testing.assert_allclose(up.params.jaw, 0.1 * expected[:, None] * axis, atol=1e-12)


def test_linear_interpolation_of_rotation_vectors_would_differ() -> None:
    """Two rotations about different axes: slerp stays on the great arc, a naive lerp does not."""
    a, b = np.array([1.2, 0.0, 0.0]), np.array([0.0, 1.2, 0.0])
    seq = FlameSequence(FlameParams(rotation=np.stack([a, b])), fps=1)
    mid = seq.resample(2).params.rotation[1]
    qa, qb = axis_angle_to_quaternion(a), axis_angle_to_quaternion(b)
    half = np.arccos(np.dot(qa, qb))  # half-angle between the two keys on the quaternion sphere
    q_mid = (qa + qb) / np.linalg.norm(qa + qb)
    np.testing.assert_allclose(mid, quaternion_to_axis_angle(q_mid), atol=1e-12)
    angle_from_a = 2 * np.arccos(abs(np.dot(axis_angle_to_quaternion(mid), qa)))
    assert angle_from_a == pytest.approx(half, abs=1e-12)  # equal rotation angle from both keys
    assert not np.allclose(mid, 0.5 * (a + b))


@pytest.mark.parametrize("deg", [179.0, 170.0])
def test_shortest_arc_across_pi(deg: float) -> None:
    """Rotations of +deg and -deg about z are 360-2*deg apart through pi, not 2*deg through zero."""
    a = np.array([0.0, 0.0, np.radians(deg)])
    seq = FlameSequence(FlameParams(rotation=np.stack([a, -a])), fps=1)
    mid = seq.resample(2).params.rotation[1]
    np.testing.assert_allclose(rodrigues(mid), rodrigues(np.array([0.0, 0.0, np.pi])), atol=1e-12)
    quarter = seq.resample(4).params.rotation[1]  # a quarter of the way: deg + (180 - deg) / 2
    expected = np.radians(deg + (180.0 - deg) / 2)
    np.testing.assert_allclose(rodrigues(quarter), rodrigues(np.array([0.0, 0.0, expected])), atol=1e-12)


def test_sign_of_quaternion_does_not_matter() -> None:
    rng = np.random.default_rng(1)
    q0 = axis_angle_to_quaternion(rng.normal(size=(50, 3)))
    q1 = axis_angle_to_quaternion(rng.normal(size=(50, 3)))
    w = rng.random((50, 1))
    r1 = quaternion_to_axis_angle(slerp(q0, q1, w))
    r2 = quaternion_to_axis_angle(slerp(q0, -q1, w))
    np.testing.assert_allclose(rodrigues(r1), rodrigues(r2), atol=1e-12)


def test_quaternion_round_trip() -> None:
    rng = np.random.default_rng(2)
    axes = rng.normal(size=(200, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    rot = axes * rng.uniform(0, np.pi - 1e-6, (200, 1))
    rot[0] = 0.0
    rot[1] = [1e-15, 0, 0]
    q = axis_angle_to_quaternion(rot)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-15)
    np.testing.assert_allclose(quaternion_to_axis_angle(q), rot, atol=1e-12)
    np.testing.assert_allclose(quaternion_to_axis_angle(-q), rot, atol=1e-12)  # q and -q: same rotation


def test_downsample_frame_count_and_rate() -> None:
    seq = random_sequence(frames=1000, fps=30)
    down = seq.resample(24)
    assert len(down) == 800 and down.fps == 24.0  # t = 0 .. 33.3 s at 1/24 s
    up = seq.resample(60)
    assert len(up) == 1999
    np.testing.assert_array_equal(down.params.expression[::4], seq.params.expression[::5])  # common instants


def test_source_rate_needed() -> None:
    seq = random_sequence(fps=None)
    with pytest.raises(FlameError, match="source frame rate is unknown"):
        seq.resample(24)
    from_param = seq.resample(15, source_fps=30)
    assert len(from_param) == 10
    np.testing.assert_array_equal(from_param.params.jaw, seq.params.jaw[::2])
    with pytest.raises(FlameError, match="positive"):
        seq.resample(0, source_fps=30)


def test_timestamps_drive_the_grid() -> None:
    times = np.array([0.0, 0.1, 0.4, 0.5])
    expr = np.array([[0.0], [1.0], [4.0], [5.0]])  # linear in time
    seq = FlameSequence(FlameParams(expression=expr), timestamps=times + 2.0)
    out = seq.resample(10)
    np.testing.assert_allclose(out.timestamps, 2.0 + np.arange(6) / 10, atol=1e-12)
    np.testing.assert_allclose(out.params.expression[:, 0], np.arange(6), atol=1e-12)


def test_per_frame_extras_follow() -> None:
    cam = np.arange(10, dtype=np.float64)[:, None] * [1.0, 2.0]
    ids = np.array([f"{i:05d}" for i in range(10)])
    seq = random_sequence(frames=10, extras={"cam": cam, "timestep_id": ids, "static_offset": np.ones((1, 4, 3))})
    up = seq.resample(60)
    np.testing.assert_allclose(up.extras["cam"][1], [0.5, 1.0])
    assert up.extras["timestep_id"].shape == (19,)
    assert up.extras["timestep_id"][2] == "00001"
    np.testing.assert_array_equal(up.extras["static_offset"], np.ones((1, 4, 3)))
    assert up.frame_keys == {"cam", "timestep_id"}


def test_single_frame() -> None:
    seq = random_sequence(frames=1)
    out = seq.resample(60)
    assert len(out) == 1
    np.testing.assert_array_equal(out.params.jaw, seq.params.jaw)
