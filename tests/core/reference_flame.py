"""A deliberately plain float64 FLAME forward pass written from the published equations.

Used only to check ``FlameModel.forward``: one frame at a time, explicit loops over joints,
no shared code with flame_core.
"""

from __future__ import annotations

import numpy as np


def rotation_matrix(axis_angle: np.ndarray) -> np.ndarray:
    """Rodrigues' formula R = I + sin(a) K + (1 - cos(a)) K^2 for the unit axis."""
    angle = float(np.sqrt(np.sum(np.square(axis_angle))))
    if angle < 1e-12:
        return np.eye(3)
    kx, ky, kz = np.asarray(axis_angle, dtype=np.float64) / angle
    k = np.array([[0.0, -kz, ky], [kz, 0.0, -kx], [-ky, kx, 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * k.dot(k)


def forward(arrays: dict, shape, expression, pose15, translation) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) and posed joints (J, 3) of one frame, all in float64."""
    v_template = np.asarray(arrays["v_template"], np.float64)
    shapedirs = np.asarray(arrays["shapedirs"], np.float64)
    exprdirs = np.asarray(arrays["exprdirs"], np.float64)
    posedirs = np.asarray(arrays["posedirs"], np.float64)
    regressor = np.asarray(arrays["j_regressor"], np.float64)
    weights = np.asarray(arrays["weights"], np.float64)
    parents = [int(p) for p in arrays["parents"]]
    n_verts = v_template.shape[0]
    n_joints = len(parents)

    betas = np.zeros(shapedirs.shape[2])
    betas[: len(shape)] = shape
    psi = np.zeros(exprdirs.shape[2])
    psi[: len(expression)] = expression
    v_shaped = v_template + np.tensordot(shapedirs, betas, axes=([2], [0]))
    v_shaped = v_shaped + np.tensordot(exprdirs, psi, axes=([2], [0]))
    rest_joints = regressor.dot(v_shaped)

    rotations = [rotation_matrix(np.asarray(pose15[3 * j : 3 * j + 3], np.float64)) for j in range(n_joints)]
    feature = np.concatenate([(rotations[j] - np.eye(3)).reshape(9) for j in range(1, n_joints)])
    v_posed = v_shaped + posedirs.reshape(n_verts * 3, -1).dot(feature).reshape(n_verts, 3)

    world = []
    for j in range(n_joints):
        local = np.eye(4)
        local[:3, :3] = rotations[j]
        if parents[j] < 0:
            local[:3, 3] = rest_joints[j]
            world.append(local)
        else:
            local[:3, 3] = rest_joints[j] - rest_joints[parents[j]]
            world.append(world[parents[j]].dot(local))
    posed_joints = np.array([g[:3, 3] for g in world])
    skinning = []
    for j in range(n_joints):
        remove_rest = np.eye(4)
        remove_rest[:3, 3] = -rest_joints[j]
        skinning.append(world[j].dot(remove_rest))

    homogeneous = np.concatenate([v_posed, np.ones((n_verts, 1))], axis=1)
    out = np.zeros((n_verts, 3))
    for j in range(n_joints):
        moved = homogeneous.dot(skinning[j].T)[:, :3]
        out += weights[:, j : j + 1] * moved
    t = np.asarray(translation, np.float64)
    return out + t, posed_joints + t
