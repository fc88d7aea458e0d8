"""Aiming the eyes: the eye rotations (FLAME pose parameters) that make both eyes look at a point."""

from __future__ import annotations

import numpy as np

from .errors import FlameError
from .lbs import rodrigues
from .params import JOINT_NAMES, PARENTS, FlameParams

#: An eye looks along +Z (FLAME axes) in the rest pose.
EYE_FORWARD = np.array([0.0, 0.0, 1.0])
EYE_JOINTS = (JOINT_NAMES.index("left_eye"), JOINT_NAMES.index("right_eye"))


def aim_rotation(forward: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The smallest axis-angle rotation (3,) taking unit ``forward`` onto ``direction``."""
    forward = np.asarray(forward, dtype=np.float64)
    direction = np.asarray(direction, dtype=np.float64)
    d = direction / np.linalg.norm(direction)
    axis = np.cross(forward, d)
    sin = float(np.linalg.norm(axis))
    cos = float(np.clip(np.dot(forward, d), -1.0, 1.0))
    angle = np.arctan2(sin, cos)
    if sin < 1e-12:
        if cos > 0:
            return np.zeros(3)
        # Opposite directions: any axis perpendicular to forward.
        helper = np.array([1.0, 0.0, 0.0]) if abs(forward[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        axis = np.cross(forward, helper)
        sin = float(np.linalg.norm(axis))
    return np.asarray(axis / sin * angle)


def joint_world_rotations(params: FlameParams) -> np.ndarray:
    """The world rotation (J, 3, 3) of every joint for one set of parameters (the kinematic chain)."""
    local = rodrigues(np.asarray(params.pose, dtype=np.float64).reshape(len(JOINT_NAMES), 3))
    world = np.empty_like(local)
    for j, parent in enumerate(PARENTS):
        world[j] = local[j] if parent < 0 else world[parent] @ local[j]
    return world


def eye_rotations(params: FlameParams, joints: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Eye axis-angles (6,) aiming both eyes (posed ``joints`` (J, 3), FLAME axes) at ``target`` (3,).

    Each eye's rotation is relative to its parent joint, so the parent chain's rotation is undone before
    aiming. Raises :class:`FlameError` when the target is at an eye's centre.
    """
    world = joint_world_rotations(params)
    joints = np.asarray(joints, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    out = []
    for j in EYE_JOINTS:
        direction = target - joints[j]
        if np.linalg.norm(direction) < 1e-9:
            raise FlameError("the target is at the eye's centre")
        out.append(aim_rotation(EYE_FORWARD, world[PARENTS[j]].T @ direction))
    return np.concatenate(out)
