"""An armature for FLAME's joints: bone placement and the exact bone pose <-> parameter mapping.

Conventions (the Blender side and the engine export both build on these):

- Armature space is the head's object space in Blender's axes: FLAME ``(x, y, z)`` is Blender
  ``(x, -z, y)`` (:data:`FLAME_TO_BLENDER`).
- One bone per joint, named :data:`BONE_NAMES` in FLAME's joint order, parented like FLAME's
  kinematic tree. A bone's head sits at its rest joint (the identity's joints with no expression);
  its rest orientation is :data:`BONE_AXES` (the bone's x, y, z axes as columns, in FLAME axes):
  root and neck keep FLAME's axes (bone Y up), jaw and eyes point their Y axis forward (FLAME +Z)
  so that a Damped Track on Y aims an eye.
- A bone's local rotation (its ``matrix_basis``) is FLAME's joint rotation seen in the bone's
  rest axes: ``basis_j = C_jᵀ R_j C_j``. The root bone's location is FLAME's ``translation`` in its
  rest axes (``C_0ᵀ t``). Only rotations of the other bones count; their location and scale, and
  the root's scale, are not part of FLAME.
- The armature-space pose matrix of bone j is then ``M · T(t) · G_j · Mᵀ · Q_j`` (4x4), where
  ``G_j`` is FLAME's world transform of joint j, ``M`` the axis change and ``Q_j = M C_j`` the
  bone's rest rotation; so ``pose_j · rest_j⁻¹ = M · T(t) · A_j · Mᵀ`` with ``A_j`` FLAME's skinning
  transform, and a mesh skinned to these bones with FLAME's weights moves exactly as FLAME's
  skinning does (before pose correctives, which stay blend shapes). Reading a posed
  armature back (:func:`params_from_pose_matrices`) takes each bone's world rotation relative to
  its rest, so constraints, drivers and parenting tricks that change the evaluated pose all count.

Everything is batched over leading axes and works in float64.
"""

from __future__ import annotations

import numpy as np

from .axes import FLAME_TO_BLENDER
from .errors import FlameError
from .lbs import rodrigues
from .params import JOINT_NAMES, N_JOINTS, PARENTS, FlameParams

#: Bone names in FLAME's joint order (Blender's .L/.R: the subject's left is +X).
BONE_NAMES: tuple[str, ...] = ("root", "neck", "jaw", "eye.L", "eye.R")
_UP = np.eye(3)
_FORWARD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # bone Y = FLAME +Z, bone Z = FLAME -Y
#: Rest orientation of each bone in FLAME axes (columns: the bone's x, y, z axes), joint order.
BONE_AXES = np.stack([_UP, _UP, _FORWARD, _FORWARD, _FORWARD])
#: Bone lengths as fractions of the head's height (they do not change the mapping, only the display).
BONE_LENGTHS = (0.45, 0.35, 0.45, 0.12, 0.12)

assert len(BONE_NAMES) == len(JOINT_NAMES) == N_JOINTS


# ---------------------------------------------------------------------------------------------- rotations
def orthonormalize(matrices: np.ndarray) -> np.ndarray:
    """The nearest rotation matrix (..., 3, 3) to each (possibly scaled or sheared) 3x3 matrix.

    Matrices that already are rotations (to float32 precision, as Blender's are) come back as they are.
    """
    m = np.asarray(matrices, dtype=np.float64)
    gram = np.swapaxes(m, -1, -2) @ m
    if np.all(np.abs(gram - np.eye(3)) < 1e-6) and np.all(np.linalg.det(m) > 0):
        return m
    u, _, vt = np.linalg.svd(m)
    rot = u @ vt
    flip = np.linalg.det(rot) < 0
    if np.any(flip):
        u = u.copy()
        u[flip, :, -1] *= -1.0
        rot = u @ vt
    return rot


def axis_angle(matrices: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) to axis-angle vectors (..., 3) with angles in [0, pi].

    Exact inverse of :func:`flame_core.lbs.rodrigues` for angles below pi (and a valid choice at
    pi): the angle from ``atan2(sin, cos)``, the axis from the skew part, and from the quaternion
    (Shepperd's method) beyond 150 degrees where the skew part vanishes.
    """
    r = np.asarray(matrices, dtype=np.float64)
    skew = np.stack([r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0], r[..., 1, 0] - r[..., 0, 1]], axis=-1)
    sin = 0.5 * np.linalg.norm(skew, axis=-1)
    cos = 0.5 * (r[..., 0, 0] + r[..., 1, 1] + r[..., 2, 2] - 1.0)
    angle = np.arctan2(sin, cos)
    out = skew * np.where(sin > 1e-12, angle / np.where(sin > 1e-12, 2.0 * sin, 1.0), 0.5)[..., None]
    far = (cos < 0.0) & (sin < 0.5)
    if np.any(far):
        q = quaternion_from_matrix(r[far])
        v = q[..., 1:]
        half = np.linalg.norm(v, axis=-1, keepdims=True)
        out[far] = v / half * (2.0 * np.arctan2(half, q[..., :1]))
    return out


def quaternion_from_matrix(matrices: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) to unit quaternions (..., 4) as (w, x, y, z), w >= 0.

    Shepperd's method: each quaternion comes from the largest of its four components.
    """
    m = np.asarray(matrices, dtype=np.float64)
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    candidates = np.stack([trace, m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]], axis=-1)
    best = np.argmax(candidates, axis=-1)
    q = np.empty(m.shape[:-2] + (4,))
    # w largest
    d = np.sqrt(np.maximum(1.0 + trace, 1e-300)) * 2.0
    qw = np.stack([0.25 * d, (m[..., 2, 1] - m[..., 1, 2]) / d, (m[..., 0, 2] - m[..., 2, 0]) / d,
                   (m[..., 1, 0] - m[..., 0, 1]) / d], axis=-1)
    d = np.sqrt(np.maximum(1.0 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2], 1e-300)) * 2.0
    qx = np.stack([(m[..., 2, 1] - m[..., 1, 2]) / d, 0.25 * d, (m[..., 0, 1] + m[..., 1, 0]) / d,
                   (m[..., 0, 2] + m[..., 2, 0]) / d], axis=-1)
    d = np.sqrt(np.maximum(1.0 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2], 1e-300)) * 2.0
    qy = np.stack([(m[..., 0, 2] - m[..., 2, 0]) / d, (m[..., 0, 1] + m[..., 1, 0]) / d, 0.25 * d,
                   (m[..., 1, 2] + m[..., 2, 1]) / d], axis=-1)
    d = np.sqrt(np.maximum(1.0 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2], 1e-300)) * 2.0
    qz = np.stack([(m[..., 1, 0] - m[..., 0, 1]) / d, (m[..., 0, 2] + m[..., 2, 0]) / d,
                   (m[..., 1, 2] + m[..., 2, 1]) / d, 0.25 * d], axis=-1)
    for k, qk in enumerate((qw, qx, qy, qz)):
        sel = best == k
        q[sel] = qk[sel]
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return q * np.where(q[..., :1] < 0, -1.0, 1.0)


def matrix_from_quaternion(quaternions: np.ndarray) -> np.ndarray:
    """Quaternions (..., 4) as (w, x, y, z), any length, to rotation matrices (..., 3, 3)."""
    q = np.asarray(quaternions, dtype=np.float64)
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(n == 0):
        raise FlameError("a zero quaternion is not a rotation")
    w, x, y, z = np.moveaxis(q / n, -1, 0)
    rows = [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]
    return np.stack(rows, axis=-1).reshape(q.shape[:-1] + (3, 3))


def continuous_quaternions(quaternions: np.ndarray) -> np.ndarray:
    """Quaternions (T, ..., 4) with signs flipped so that each is on the side of the previous frame's.

    Both signs are the same rotation; keys that agree in sign interpolate along the short way.
    """
    q = np.array(quaternions, dtype=np.float64)
    for t in range(1, len(q)):
        flip = np.sum(q[t] * q[t - 1], axis=-1) < 0
        q[t][flip] *= -1.0
    return q


def unwrap_axis_angle(rotvecs: np.ndarray) -> np.ndarray:
    """Axis-angles (T, ..., 3) re-expressed, frame by frame, as the equivalent vector nearest the previous one.

    ``axis * (angle + 2 pi k)`` is the same rotation for every integer k; choosing k per frame keeps
    keyed values continuous where :func:`axis_angle` would jump (angles crossing pi).
    """
    r = np.array(rotvecs, dtype=np.float64)
    for t in range(1, len(r)):
        angle = np.linalg.norm(r[t], axis=-1, keepdims=True)
        axis = np.where(angle > 0, r[t] / np.where(angle > 0, angle, 1.0), 0.0)
        # The candidate along the axis nearest the previous vector's projection onto it.
        along = np.sum(r[t - 1] * axis, axis=-1, keepdims=True)
        k = np.round((along - angle) / (2 * np.pi))
        candidate = axis * (angle + 2 * np.pi * k)
        better = np.linalg.norm(candidate - r[t - 1], axis=-1) < np.linalg.norm(r[t] - r[t - 1], axis=-1)
        r[t] = np.where(better[..., None], candidate, r[t])
    return r


# ---------------------------------------------------------------------------------------------- placement
def rest_matrices(joints: np.ndarray) -> np.ndarray:
    """Rest matrices (J, 4, 4) of the bones in armature space (Blender axes) for rest joints (J, 3) in FLAME axes."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.shape != (N_JOINTS, 3):
        raise FlameError(f"rest joints must have shape ({N_JOINTS}, 3), got {joints.shape}")
    out = np.zeros((N_JOINTS, 4, 4))
    out[:, :3, :3] = FLAME_TO_BLENDER @ BONE_AXES
    out[:, :3, 3] = joints @ FLAME_TO_BLENDER.T
    out[:, 3, 3] = 1.0
    return out


def bone_lengths(height: float) -> np.ndarray:
    """Bone lengths (J,) for a head ``height`` metres tall (FLAME's Y extent of the mesh)."""
    if not np.isfinite(height) or height <= 0:
        raise FlameError(f"the head's height must be a positive number of metres, got {height}")
    return np.asarray(BONE_LENGTHS) * float(height)


# ---------------------------------------------------------------------------------------------- local pose
def local_rotations(pose: np.ndarray) -> np.ndarray:
    """Bones' local rotations (..., J, 3, 3) (``matrix_basis``) for a (..., 15) FLAME pose vector."""
    pose = np.asarray(pose, dtype=np.float64)
    rot = rodrigues(pose.reshape(pose.shape[:-1] + (N_JOINTS, 3)))
    return np.swapaxes(BONE_AXES, -1, -2) @ rot @ BONE_AXES


def root_location(translation: np.ndarray) -> np.ndarray:
    """The root bone's location (..., 3) for FLAME ``translation`` (..., 3)."""
    return np.asarray(translation, dtype=np.float64) @ BONE_AXES[0]


def params_from_local(rotations: np.ndarray, location: np.ndarray | None = None) -> FlameParams:
    """Pose and translation from the bones' local rotations (..., J, 3, 3) and the root's location (..., 3).

    The inverse of :func:`local_rotations` / :func:`root_location` (rotations are orthonormalized first).
    """
    rot = orthonormalize(rotations)
    flame = BONE_AXES @ rot @ np.swapaxes(BONE_AXES, -1, -2)
    pose = axis_angle(flame).reshape(rot.shape[:-3] + (3 * N_JOINTS,))
    translation = None if location is None else np.asarray(location, dtype=np.float64) @ BONE_AXES[0].T
    return FlameParams.from_pose(pose, translation=translation)


# ---------------------------------------------------------------------------------------------- evaluated pose
def world_rotations(params: FlameParams) -> np.ndarray:
    """FLAME's world rotations (..., J, 3, 3) of the joints (``G_j``'s rotation), FLAME axes."""
    local = rodrigues(np.asarray(params.pose).reshape(params.pose.shape[:-1] + (N_JOINTS, 3)))
    world = np.empty_like(local)
    for j, parent in enumerate(PARENTS):
        world[..., j, :, :] = local[..., j, :, :] if parent < 0 else world[..., parent, :, :] @ local[..., j, :, :]
    return world


def pose_matrices(params: FlameParams, rest: np.ndarray) -> np.ndarray:
    """Armature-space pose matrices (..., J, 4, 4) of bones with ``rest`` matrices (J, 4, 4) posed by ``params``.

    What Blender computes for bones whose local transforms are :func:`local_rotations` and
    :func:`root_location`: each bone turns about its head by FLAME's world rotation of its joint.
    """
    rest = np.asarray(rest, dtype=np.float64)
    world = FLAME_TO_BLENDER @ world_rotations(params) @ FLAME_TO_BLENDER.T  # Blender axes
    heads = rest[:, :3, 3]
    out = np.zeros(world.shape[:-3] + (N_JOINTS, 4, 4))
    out[..., :3, :3] = world @ rest[:, :3, :3]
    out[..., 3, 3] = 1.0
    trans = params.values("translation", broadcast=True) @ FLAME_TO_BLENDER.T
    for j, parent in enumerate(PARENTS):
        if parent < 0:
            out[..., j, :3, 3] = heads[j] + trans
        else:
            offset = heads[j] - heads[parent]
            out[..., j, :3, 3] = out[..., parent, :3, 3] + np.einsum(
                "...ik,k->...i", world[..., parent, :, :], offset
            )
    return out


def pose_from_bone_matrices(pose: np.ndarray, rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FLAME's pose (..., 15) and translation (..., 3) from armature-space pose matrices (..., J, 4, 4)
    and rest matrices (J, 4, 4).

    Each joint's rotation is its bone's world rotation from rest relative to its parent's, in FLAME
    axes; the translation is how far the root bone's head moved. Scale and shear are dropped.
    """
    pose = np.asarray(pose, dtype=np.float64)
    rest = np.asarray(rest, dtype=np.float64)
    if pose.shape[-3:] != (N_JOINTS, 4, 4) or rest.shape != (N_JOINTS, 4, 4):
        raise FlameError(f"pose and rest matrices must be ({N_JOINTS}, 4, 4), got {pose.shape} and {rest.shape}")
    if not (np.all(np.isfinite(pose)) and np.all(np.isfinite(rest))):
        raise FlameError("bone matrices must be finite")
    rest_rot = orthonormalize(rest[:, :3, :3])
    world = FLAME_TO_BLENDER.T @ orthonormalize(pose[..., :3, :3]) @ np.swapaxes(rest_rot, -1, -2) @ FLAME_TO_BLENDER
    local = np.empty_like(world)
    for j, parent in enumerate(PARENTS):
        local[..., j, :, :] = world[..., j, :, :] if parent < 0 else (
            np.swapaxes(world[..., parent, :, :], -1, -2) @ world[..., j, :, :])
    rotvecs = axis_angle(local).reshape(pose.shape[:-3] + (3 * N_JOINTS,))
    translation = (pose[..., 0, :3, 3] - rest[0, :3, 3]) @ FLAME_TO_BLENDER
    return rotvecs, translation


def params_from_pose_matrices(pose: np.ndarray, rest: np.ndarray) -> FlameParams:
    """:func:`pose_from_bone_matrices` as :class:`FlameParams` (pose and translation)."""
    rotvecs, translation = pose_from_bone_matrices(pose, rest)
    return FlameParams.from_pose(rotvecs, translation=translation)
