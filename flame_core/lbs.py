"""Linear blend skinning: Rodrigues, pose features, the kinematic chain and skinning (batched)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def rodrigues(rotvecs: np.ndarray) -> np.ndarray:
    """Axis-angle vectors (..., 3) to rotation matrices (..., 3, 3).

    Exact orthonormal rotations; a zero vector gives exactly the identity, never NaN. (The
    reference implementations divide by ``|r + 1e-8|`` instead, which differs by at most ~1e-8.)
    """
    r = np.asarray(rotvecs)
    angle = np.sqrt(np.einsum("...i,...i->...", r, r))[..., None]
    axis = r / np.where(angle > 0.0, angle, 1.0)
    sin = np.sin(angle)[..., None]
    cos = np.cos(angle)[..., None]
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    k = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(r.shape[:-1] + (3, 3))
    eye = np.eye(3, dtype=r.dtype)
    return eye + sin * k + (1.0 - cos) * (k @ k)


def pose_features(rotations: np.ndarray) -> np.ndarray:
    """(..., J, 3, 3) joint rotations to (..., 9*(J-1)) corrective features.

    ``R_j - I`` for every non-root joint, each matrix flattened row-major, joint-major.
    """
    eye = np.eye(3, dtype=rotations.dtype)
    feats = rotations[..., 1:, :, :] - eye
    return feats.reshape(rotations.shape[:-3] + (-1,))


def rigid_transforms(
    rotations: np.ndarray, joints: np.ndarray, parents: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Walk the kinematic chain.

    ``rotations`` (..., J, 3, 3) and rest ``joints`` (..., J, 3). Returns the posed joint positions
    (..., J, 3) and the skinning transforms (..., J, 3, 4): each joint's world transform with its
    rest position removed, so that ``A_j @ [v, 1]`` moves a rest vertex rigidly with joint j.
    Parents must precede their children.
    """
    n_joints = rotations.shape[-3]
    world_rot = np.empty_like(rotations)
    world_pos = np.empty(rotations.shape[:-1], dtype=rotations.dtype)
    for j in range(n_joints):
        parent = parents[j]
        if parent < 0:
            world_rot[..., j, :, :] = rotations[..., j, :, :]
            world_pos[..., j, :] = joints[..., j, :]
        else:
            offset = joints[..., j, :] - joints[..., parent, :]
            world_rot[..., j, :, :] = world_rot[..., parent, :, :] @ rotations[..., j, :, :]
            world_pos[..., j, :] = world_pos[..., parent, :] + np.einsum(
                "...ij,...j->...i", world_rot[..., parent, :, :], offset
            )
    transforms = np.empty(rotations.shape[:-1] + (4,), dtype=rotations.dtype)
    transforms[..., :3] = world_rot
    transforms[..., 3] = world_pos - np.einsum("...ij,...j->...i", world_rot, joints)
    return world_pos, transforms


def skin(planes: np.ndarray, weights_t: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """Linear blend skinning of B frames in planar layout.

    ``planes`` (B, 3, V) holds the x, y and z rows of the rest-posed vertices, ``weights_t``
    (J, V) the skinning weights and ``transforms`` (B, J, 3, 4) the per-joint skinning transforms.
    Returns the skinned coordinates in the same planar layout (3, B, V): the blended 3x4 matrix of
    every vertex comes from one matrix product, the rest is elementwise over contiguous rows.
    """
    n_frames, n_joints = transforms.shape[:2]
    # (3, 4, B, J) @ (J, V) -> (3, 4, B, V): entry (i, k) of every vertex's blended transform.
    rows = np.ascontiguousarray(transforms.transpose(2, 3, 0, 1)).reshape(-1, n_joints)
    blended = (rows @ weights_t).reshape(3, 4, n_frames, -1)
    out = blended[:, 3].copy()
    for k in range(3):
        out += blended[:, k] * planes[:, k]
    return out
