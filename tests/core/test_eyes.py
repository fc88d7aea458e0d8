"""Aiming the eyes: after ``eye_rotations`` each eye's forward axis points at the target."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core import FlameError, FlameParams
from flame_core.eyes import EYE_FORWARD, EYE_JOINTS, aim_rotation, eye_rotations, joint_world_rotations
from flame_core.lbs import rodrigues
from flame_core.params import PARENTS


@pytest.mark.parametrize("direction", [[0.3, -0.2, 1.0], [0.0, 0.0, -1.0], [0.0, 0.0, 2.0], [1.0, 0.0, 0.0]])
def test_aim_rotation_takes_forward_onto_direction(direction: list[float]) -> None:
    rotation = rodrigues(aim_rotation(EYE_FORWARD, np.array(direction))[None])[0]
    d = np.array(direction) / np.linalg.norm(direction)
    np.testing.assert_allclose(rotation @ EYE_FORWARD, d, atol=1e-12)


def test_eyes_look_at_the_target_through_the_posed_chain() -> None:
    rng = np.random.default_rng(3)
    params = FlameParams(rotation=rng.normal(scale=0.3, size=3), neck=rng.normal(scale=0.3, size=3),
                         jaw=[0.2, 0.0, 0.0])
    joints = rng.normal(scale=0.05, size=(5, 3))
    target = np.array([0.2, 0.1, 0.8])
    eyes = eye_rotations(params, joints, target)
    posed = params.replace(eyes=eyes)
    world = joint_world_rotations(posed)
    for j in EYE_JOINTS:
        np.testing.assert_allclose(world[PARENTS[j]] @ rodrigues(eyes[None, 3 * (j - 3) : 3 * (j - 2)])[0], world[j])
        look = world[j] @ EYE_FORWARD
        direction = (target - joints[j]) / np.linalg.norm(target - joints[j])
        np.testing.assert_allclose(look, direction, atol=1e-9)


def test_target_at_the_eye_is_an_error() -> None:
    joints = np.zeros((5, 3))
    with pytest.raises(FlameError, match="eye's centre"):
        eye_rotations(FlameParams(), joints, np.zeros(3))
