"""The demo head's rig: joint regressor, skinning weights and pose correctives."""

from __future__ import annotations

import numpy as np

from ..params import N_JOINTS, N_POSE_FEATURES
from .assemble import Template
from .field import NECK_Z
from .regions import TMJ, Regions, bump, mouth_angle, smoothstep

GLOBAL, NECK, JAW, LEFT_EYE, RIGHT_EYE = range(N_JOINTS)


def j_regressor(template: Template, reg: Regions) -> np.ndarray:
    """(5, V): each joint an area-weighted average of the vertices around where it belongs."""
    p = template.vertices
    area = np.zeros(len(p))
    area[template.skin_slice] = template.skin.spacing * np.linalg.norm(p[template.skin_slice] - [0, 0, NECK_Z], axis=1)
    on_neck = np.hypot(p[:, 0] / 0.065, (p[:, 2] - NECK_Z) / 0.07) < 1.0
    rows = np.zeros((N_JOINTS, len(p)))
    rows[GLOBAL] = area * on_neck * np.exp(-(((p[:, 1] + 0.125) / 0.01) ** 2))
    rows[NECK] = area * on_neck * np.exp(-(((p[:, 1] + 0.08) / 0.008) ** 2))
    rows[JAW] = area * bump(p, TMJ + [0.004, 0.0, 0.0], 0.012)
    rows[LEFT_EYE, template.left_eye] = 1.0
    rows[RIGHT_EYE, template.right_eye] = 1.0
    rows[rows < 1e-6 * rows.max(axis=1, keepdims=True)] = 0.0
    return rows / rows.sum(axis=1, keepdims=True)


def jaw_weight(p: np.ndarray, reg: Regions, jaw: np.ndarray) -> np.ndarray:
    """How much each vertex follows the jaw: below the mouth line, fading behind the hinge and down the throat."""
    behind = smoothstep((p[:, 2] - jaw[2] + 0.015) / 0.06)
    throat = 1.0 - smoothstep((mouth_angle(p) - np.radians(35.0)) / np.radians(75.0))
    return reg.below_mouth * behind * throat * reg.skin


def weights(template: Template, reg: Regions, joints: np.ndarray) -> np.ndarray:
    """(V, 5) skinning weights, rows summing to 1."""
    p = template.vertices
    w = np.zeros((len(p), N_JOINTS))
    root = smoothstep((-0.095 - p[:, 1]) / 0.05) * reg.skin
    jaw = jaw_weight(p, reg, joints[JAW]) * (1.0 - root)
    w[:, GLOBAL] = root
    w[:, JAW] = jaw
    w[:, NECK] = (1.0 - root - jaw) * reg.skin
    w[template.left_eye, LEFT_EYE] = 1.0
    w[template.right_eye, RIGHT_EYE] = 1.0
    return w


def feature(joint: int, row: int, col: int) -> int:
    """Column of posedirs driven by entry (row, col) of joint's rotation minus identity."""
    return 9 * (joint - 1) + 3 * row + col


def posedirs(template: Template, reg: Regions) -> np.ndarray:
    """(V, 3, 36) correctives: jaw opening stretches the cheeks, the neck bulges when turning or nodding."""
    p, n = template.vertices, reg.normals
    out = np.zeros((len(p), 3, N_POSE_FEATURES))
    skin = reg.skin[:, None]
    # Jaw about X: entries (1, 2) = -sin and (2, 1) = sin; half of the shape on each gives sin * shape.
    cheeks = bump(p, [0.04, -0.035, 0.05], [0.02, 0.022, 0.025]) * (1.0 - 0.7 * reg.below_mouth)
    chin = bump(p, [0.0, -0.075, 0.06], [0.03, 0.02, 0.025], mirror=False) * reg.below_mouth
    jaw_open = skin * (
        cheeks[:, None] * (-0.012 * n + [0.0, -0.006, 0.0]) + chin[:, None] * np.array([0.0, 0.0, -0.006])
    )
    out[:, :, feature(JAW, 2, 1)] = 0.5 * jaw_open
    out[:, :, feature(JAW, 1, 2)] = -0.5 * jaw_open
    # Neck about Y: the far-side neck muscle stands out. Entries (0, 2) = sin and (2, 0) = -sin.
    neck_band = np.exp(-(((p[:, 1] + 0.1) / 0.025) ** 2)) * reg.skin
    sternum = bump(p, [0.03, -0.105, 0.02], [0.02, 0.035, 0.025])
    turn = (-reg.side * sternum * neck_band)[:, None] * 0.012 * n
    out[:, :, feature(NECK, 0, 2)] = 0.5 * turn
    out[:, :, feature(NECK, 2, 0)] = -0.5 * turn
    # Any neck rotation thins the neck under linear blending: push it out by (1 - cos).
    radial = np.stack([p[:, 0], np.zeros(len(p)), p[:, 2] - NECK_Z], 1)
    keep = (-0.15 * neck_band)[:, None] * radial
    for diag in range(3):
        out[:, :, feature(NECK, diag, diag)] = keep / 2.0
    # Neck about X (nodding down): a double chin under the jaw. Entries (1, 2) = -sin, (2, 1) = sin.
    under = bump(p, [0.0, -0.09, 0.035], [0.035, 0.015, 0.025], mirror=False) * reg.skin
    nod = under[:, None] * 0.012 * n
    out[:, :, feature(NECK, 2, 1)] = 0.5 * nod
    out[:, :, feature(NECK, 1, 2)] = -0.5 * nod
    return out
