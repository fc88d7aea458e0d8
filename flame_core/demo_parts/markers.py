"""Vertex masks with FLAME's region names and the 68-point landmark embedding of the demo head."""

from __future__ import annotations

import numpy as np

from ..landmarks import MAX_YAW_DEGREES, N_CONTOUR, N_DYNAMIC_ROWS, LandmarkEmbedding
from .assemble import Template
from .field import EYE_CENTRE, MOUTH, NECK_Z
from .regions import Regions, bump


def masks(template: Template, reg: Regions) -> dict[str, np.ndarray]:
    """Vertex indices per region: face, lips, nose, eyes, ears, neck, scalp, forehead, boundary."""
    p = template.vertices
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    skin = reg.skin
    eye_l = skin & (np.linalg.norm(p - EYE_CENTRE, axis=1) < 0.024)
    eye_r = skin & (np.linalg.norm(p - EYE_CENTRE * [-1.0, 1.0, 1.0], axis=1) < 0.024)
    ear_l, ear_r = np.zeros(len(p), bool), np.zeros(len(p), bool)
    ear_l[template.skin.ears[0]] = True
    ear_r[template.skin.ears[1]] = True
    theta = np.degrees(np.arctan2(x, z - NECK_Z))
    neck = skin & ((y < -0.105) | ((y < -0.06) & (np.hypot(x / 0.06, (z - NECK_Z) / 0.065) < 1.0)))
    face = skin & (np.abs(theta) < 62.0) & (y < 0.07) & ~neck
    forehead = skin & (np.abs(theta) < 55.0) & (y > 0.05) & (y < 0.1)
    scalp = skin & ~face & ~neck & ~ear_l & ~ear_r
    lips = skin & (bump(p, MOUTH, [0.03, 0.0125, 0.03], mirror=False) > 0.37) & (z > 0.06)
    lips[template.skin_slice] &= ~template.skin.cavity
    lips[template.skin.mouth_corners] = True
    nose = skin & (np.abs(x) < 0.022) & (y > -0.024) & (y < 0.034) & (z > 0.068)
    boundary = np.zeros(len(p), bool)
    boundary[template.skin.boundary] = True
    chosen = {
        "face": face, "lips": lips, "nose": nose, "eye_region": eye_l | eye_r,
        "left_eye_region": eye_l, "right_eye_region": eye_r, "forehead": forehead, "scalp": scalp,
        "left_ear": ear_l, "right_ear": ear_r, "neck": neck, "boundary": boundary,
    }
    out = {name: np.nonzero(mask)[0] for name, mask in chosen.items()}
    out["left_eyeball"] = template.left_eye.copy()
    out["right_eyeball"] = template.right_eye.copy()
    return out


def static_targets() -> tuple[np.ndarray, np.ndarray]:
    """Points of iBUG landmarks 17..67 near the template surface, and whether each is on the lower lip."""
    ex, ey, ez = EYE_CENTRE
    mx, my, mz = MOUTH
    brow = [[0.05, 0.044, 0.058], [0.041, 0.051, 0.068], [0.031, 0.053, 0.075], [0.021, 0.051, 0.08],
            [0.011, 0.047, 0.083]]  # outer to inner, left side
    brows = [[-b[0], b[1], b[2]] for b in brow] + brow[::-1]
    nose = [[0.0, 0.032, 0.08], [0.0, 0.018, 0.087], [0.0, 0.004, 0.097], [0.0, -0.011, 0.109]]
    nostrils = [[-0.012, -0.018, 0.089], [-0.006, -0.021, 0.093], [0.0, -0.022, 0.094], [0.006, -0.021, 0.093],
                [0.012, -0.018, 0.089]]
    hw, hh, fz = 0.0112, 0.0052, ez + 0.0135
    eye = np.array([[-hw, 0.0], [-0.45 * hw, hh], [0.45 * hw, hh], [hw, 0.0], [0.45 * hw, -hh], [-0.45 * hw, -hh]])
    right_eye = [[-ex + u, ey + v, fz] for u, v in eye]
    left_eye = [[ex + u, ey + v, fz] for u, v in eye]
    w = 0.025
    outer = [[-w, my, mz - 0.01], [-0.016, my + 0.006, mz], [-0.006, my + 0.008, mz + 0.002],
             [0.0, my + 0.007, mz + 0.002], [0.006, my + 0.008, mz + 0.002], [0.016, my + 0.006, mz],
             [w, my, mz - 0.01], [0.015, my - 0.009, mz], [0.007, my - 0.011, mz + 0.001],
             [0.0, my - 0.011, mz + 0.001], [-0.007, my - 0.011, mz + 0.001], [-0.015, my - 0.009, mz]]
    inner = [[-0.02, my, mz - 0.006], [-0.008, my, mz], [0.0, my, mz], [0.008, my, mz], [0.02, my, mz - 0.006],
             [0.008, my, mz], [0.0, my, mz], [-0.008, my, mz]]
    points = np.array(brows + nose + nostrils + right_eye + left_eye + outer + inner, dtype=float)
    points[:, 0] += mx
    lower = np.zeros(len(points), bool)
    lower[-3:] = True  # inner lower lip (65..67)
    return points, lower


def contour_curve() -> np.ndarray:
    """Jaw line from the chin (row 0) up to the left ear (last row); the right side mirrors it."""
    return np.array([
        [0.0, -0.088, 0.07], [0.018, -0.085, 0.064], [0.034, -0.078, 0.05], [0.046, -0.066, 0.032],
        [0.054, -0.05, 0.016], [0.06, -0.032, 0.004], [0.064, -0.013, -0.004], [0.066, 0.004, -0.008],
        [0.067, 0.022, -0.01],
    ])


def contour_targets() -> np.ndarray:
    """(79, 17, 3): the jaw line per yaw row; the side turning away slides towards the chin."""
    curve = contour_curve()
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))])
    arc /= arc[-1]
    yaw = np.concatenate([np.arange(MAX_YAW_DEGREES + 1), -np.arange(1, MAX_YAW_DEGREES + 1)])
    u = np.abs(np.linspace(-1.0, 1.0, N_CONTOUR))  # 0 at the chin, 1 at either ear
    sign = np.sign(np.linspace(-1.0, 1.0, N_CONTOUR))  # -1: right side (points 0..7)
    away = (sign[None] * np.sign(yaw)[:, None]) < 0  # rows of positive yaw: face turned to -X
    squeeze = 1.0 - 0.45 * np.abs(yaw)[:, None] / MAX_YAW_DEGREES
    u = np.where(away, u[None] * squeeze, u[None])  # (79, 17)
    pts = np.stack([np.interp(u, arc, curve[:, k]) for k in range(3)], -1)
    pts[..., 0] *= sign[None]
    assert pts.shape == (N_DYNAMIC_ROWS, N_CONTOUR, 3)
    return pts


def embed(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, candidates: np.ndarray):
    """Face index and barycentric coordinates of the closest point of each point among candidate faces."""
    tri = vertices[faces[candidates]]  # (C, 3, 3)
    centroid = tri.mean(axis=1)
    d2 = (points**2).sum(1)[:, None] + (centroid**2).sum(1)[None] - 2.0 * points @ centroid.T
    best = candidates[np.argmin(d2, axis=1)]
    a, b, c = (vertices[faces[best, i]] for i in range(3))
    v0, v1, v2 = b - a, c - a, points - a
    d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
    d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
    den = d00 * d11 - d01 * d01
    wb = (d11 * d20 - d01 * d21) / den
    wc = (d00 * d21 - d01 * d20) / den
    bary = np.clip(np.stack([1.0 - wb - wc, wb, wc], 1), 0.0, None)
    return best, bary / bary.sum(1, keepdims=True)


def landmarks(template: Template) -> LandmarkEmbedding:
    """51 static iBUG points (17..67) and the 79 x 17 yaw-dependent jaw contour."""
    v, f = template.vertices, template.faces
    n_skin_faces = len(template.skin.faces)
    on_lower = template.skin.lower_lip[f[:n_skin_faces]].any(axis=1)
    skin_faces = np.arange(n_skin_faces)[~template.skin.cavity[f[:n_skin_faces]].any(axis=1)]
    on_lower = on_lower[skin_faces]
    points, lower = static_targets()
    face_index = np.empty(len(points), np.int64)
    bary = np.empty((len(points), 3))
    for flag in (False, True):
        rows = np.nonzero(lower == flag)[0]
        cand = skin_faces[on_lower] if flag else skin_faces[~on_lower]
        face_index[rows], bary[rows] = embed(points[rows], v, f, cand)
    contour = contour_targets().reshape(-1, 3)
    low_faces = skin_faces[(v[f[skin_faces]].mean(1)[:, 1] < 0.04) & ~on_lower]
    c_index, c_bary = embed(contour, v, f, low_faces)
    return LandmarkEmbedding(
        face_index=face_index, barycentric=bary,
        contour_face_index=c_index.reshape(N_DYNAMIC_ROWS, N_CONTOUR),
        contour_barycentric=c_bary.reshape(N_DYNAMIC_ROWS, N_CONTOUR, 3), name="demo",
    )
