"""A plain float64 forward pass of VHAP / GaussianAvatars' FLAME variant, from their published equations.

Used only to check flame_core's teeth, offsets and eyelids: one frame at a time, explicit loops, no
code shared with flame_core. The variant, as VHAP's ``FlameHead`` computes it:

1. teeth: 8 rows of 15 vertices placed from the template's outer lip rings (``add_teeth``), with the
   rings' mean identity blend shapes, no expression or pose correctives, no joint regression, and
   skinning on the neck (upper rows) or the jaw (lower rows);
2. ``v_shaped = template + shape/expression blend + static_offset + dynamic_offset``;
3. joints regressed from ``v_shaped``, pose correctives, skinning, then the translation;
4. eyelids (metrical-tracker / SMIRK): ``vertices += l_eyelid * eyelids[0] + r_eyelid * eyelids[1]``
   after skinning.
"""

from __future__ import annotations

import numpy as np
from reference_flame import rotation_matrix

UPPER_RING = [1713, 1715, 1716, 1735, 1696, 1694, 1657, 3543, 2774, 2811, 2813, 2850, 2833, 2832, 2830]
LOWER_RING = [1576, 1577, 1773, 1774, 1795, 1802, 1865, 3503, 2948, 2905, 2898, 2881, 2880, 2713, 2712]


def with_teeth(arrays: dict) -> dict:
    """The arrays of the model with VHAP's 120 teeth vertices appended (float64)."""
    v = np.asarray(arrays["v_template"], np.float64)
    lip_up, lip_low = v[UPPER_RING], v[LOWER_RING]
    mean_dist = np.mean([np.linalg.norm(a - b) for a, b in zip(lip_up, lip_low)])
    middle = (lip_up + lip_low) / 2
    middle[:, 1] = np.mean(middle[:, 1])
    middle[:, 2] = middle[:, 2] - mean_dist * 1.5
    upper_edge = middle + np.array([0, mean_dist, 0]) * 0.1
    upper_root = upper_edge + np.array([0, mean_dist, 0]) * 2
    lower_edge = middle - np.array([0, mean_dist, 0]) * 0.1
    lower_edge = lower_edge - np.array([0, 0, mean_dist]) * 0.4
    lower_root = lower_edge - np.array([0, mean_dist, 0]) * 2
    thickness = np.array([0, 0, mean_dist])
    rows = [upper_root, lower_root, upper_edge, lower_edge,
            upper_root - thickness, upper_edge - thickness, lower_root - thickness, lower_edge - thickness]
    is_upper = [True, False, True, False, True, True, False, False]
    teeth = np.concatenate(rows)
    n = len(v)
    out = dict(arrays)
    out["v_template"] = np.concatenate([v, teeth])
    shape = np.asarray(arrays["shapedirs"], np.float64)
    teeth_shape = np.zeros((120,) + shape.shape[1:])
    for r in range(8):
        for i in range(15):
            teeth_shape[15 * r + i] = (shape[UPPER_RING[i]] + shape[LOWER_RING[i]]) / 2
    out["shapedirs"] = np.concatenate([shape, teeth_shape])
    expr = np.asarray(arrays["exprdirs"], np.float64)
    out["exprdirs"] = np.concatenate([expr, np.zeros((120,) + expr.shape[1:])])
    pose = np.asarray(arrays["posedirs"], np.float64)
    out["posedirs"] = np.concatenate([pose, np.zeros((120,) + pose.shape[1:])])
    regressor = np.asarray(arrays["j_regressor"], np.float64)
    out["j_regressor"] = np.concatenate([regressor, np.zeros((regressor.shape[0], 120))], axis=1)
    weights = np.zeros((n + 120, 5))
    weights[:n] = arrays["weights"]
    for r in range(8):
        weights[n + 15 * r : n + 15 * r + 15, 1 if is_upper[r] else 2] = 1.0
    out["weights"] = weights
    return out


def forward(arrays: dict, shape, expression, pose15, translation, *, static_offset=None, dynamic_offset=None,
            eyelids=None, eyelid_dirs=None) -> np.ndarray:
    """Vertices (V, 3) of one frame. Offsets are (V', 3) with V' <= V (zero beyond); ``eyelid_dirs`` (V', 3, 2)."""
    v_template = np.asarray(arrays["v_template"], np.float64)
    n_verts = len(v_template)
    parents = [int(p) for p in arrays["parents"]]

    def padded(value):
        out = np.zeros((n_verts,) + np.shape(value)[1:])
        out[: len(value)] = value
        return out

    v_shaped = v_template + np.tensordot(np.asarray(arrays["shapedirs"], np.float64),
                                         padded_vec(shape, arrays, "shapedirs"), axes=([2], [0]))
    v_shaped = v_shaped + np.tensordot(np.asarray(arrays["exprdirs"], np.float64),
                                       padded_vec(expression, arrays, "exprdirs"), axes=([2], [0]))
    if static_offset is not None:
        v_shaped = v_shaped + padded(np.asarray(static_offset, np.float64))
    if dynamic_offset is not None:
        v_shaped = v_shaped + padded(np.asarray(dynamic_offset, np.float64))
    joints = np.asarray(arrays["j_regressor"], np.float64).dot(v_shaped)

    rotations = [rotation_matrix(np.asarray(pose15[3 * j : 3 * j + 3], np.float64)) for j in range(5)]
    feature = np.concatenate([(rotations[j] - np.eye(3)).reshape(9) for j in range(1, 5)])
    posedirs = np.asarray(arrays["posedirs"], np.float64)
    v_posed = v_shaped + posedirs.reshape(n_verts * 3, -1).dot(feature).reshape(n_verts, 3)
    world = []
    for j in range(5):
        local = np.eye(4)
        local[:3, :3] = rotations[j]
        local[:3, 3] = joints[j] if parents[j] < 0 else joints[j] - joints[parents[j]]
        world.append(local if parents[j] < 0 else world[parents[j]].dot(local))
    weights = np.asarray(arrays["weights"], np.float64)
    out = np.zeros((n_verts, 3))
    for i in range(n_verts):
        blended = np.zeros((4, 4))
        for j in range(5):
            remove_rest = np.eye(4)
            remove_rest[:3, 3] = -joints[j]
            blended += weights[i, j] * world[j].dot(remove_rest)
        out[i] = blended.dot(np.append(v_posed[i], 1.0))[:3]
    if eyelids is not None:
        dirs = padded(np.asarray(eyelid_dirs, np.float64))
        out = out + dirs[:, :, 1] * eyelids[1]
        out = out + dirs[:, :, 0] * eyelids[0]
    return out + np.asarray(translation, np.float64)


def padded_vec(values, arrays: dict, key: str) -> np.ndarray:
    out = np.zeros(np.shape(arrays[key])[2])
    out[: len(values)] = values
    return out
