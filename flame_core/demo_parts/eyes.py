"""Eyeballs: closed UV spheres looking along +Z (the front pole is the pupil), FLAME's 546 vertices each."""

from __future__ import annotations

import numpy as np

RINGS = 17
SEGMENTS = 32
#: Vertices of one eyeball: the rings plus the two poles.
N_EYE_VERTICES = RINGS * SEGMENTS + 2
N_EYE_FACES = 2 * RINGS * SEGMENTS


def sphere(centre: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (546, 3) and outward faces (1088, 3): front pole, rings from front to back, back pole."""
    polar = np.pi * np.arange(1, RINGS + 1) / (RINGS + 1)
    azimuth = 2.0 * np.pi * np.arange(SEGMENTS) / SEGMENTS
    p, a = np.meshgrid(polar, azimuth, indexing="ij")
    ring = np.stack([np.sin(p) * np.cos(a), np.sin(p) * np.sin(a), np.cos(p)], -1).reshape(-1, 3)
    unit = np.concatenate([[[0.0, 0.0, 1.0]], ring, [[0.0, 0.0, -1.0]]])
    faces, _ = topology()
    return centre + radius * unit, faces


def topology() -> tuple[np.ndarray, np.ndarray]:
    """Faces (1088, 3) and UV faces (1088, 3) of one eyeball (UVs from :func:`uv_layout`)."""
    s = np.arange(SEGMENTS)
    s1 = (s + 1) % SEGMENTS
    back = N_EYE_VERTICES - 1
    front_fan = np.stack([np.zeros(SEGMENTS, int), 1 + s, 1 + s1], 1)
    r = np.arange(RINGS - 1)[:, None]
    a, b = 1 + r * SEGMENTS + s, 1 + r * SEGMENTS + s1
    c, d = a + SEGMENTS, b + SEGMENTS
    quads = np.concatenate([np.stack([a, c, d], -1).reshape(-1, 3), np.stack([a, d, b], -1).reshape(-1, 3)])
    last = 1 + (RINGS - 1) * SEGMENTS
    back_fan = np.stack([np.full(SEGMENTS, back), last + s1, last + s], 1)
    faces = np.concatenate([front_fan, quads, back_fan])
    # UV vertices: SEGMENTS front-pole copies, RINGS rows of SEGMENTS + 1, SEGMENTS back-pole copies.
    width = SEGMENTS + 1
    ua, ub = SEGMENTS + r * width + s, SEGMENTS + r * width + s + 1
    uc, ud = ua + width, ub + width
    uv_last = SEGMENTS + (RINGS - 1) * width
    uv_back = SEGMENTS + RINGS * width
    uv_faces = np.concatenate([
        np.stack([s, SEGMENTS + s, SEGMENTS + s + 1], 1),
        np.stack([ua, uc, ud], -1).reshape(-1, 3),
        np.stack([ua, ud, ub], -1).reshape(-1, 3),
        np.stack([uv_back + s, uv_last + s + 1, uv_last + s], 1),
    ])
    return faces, uv_faces


def uv_layout(corner: tuple[float, float], size: float) -> np.ndarray:
    """UV coordinates of one eyeball: a latitude-longitude square at ``corner`` (front pole at the top)."""
    s = np.arange(SEGMENTS)
    u = (np.arange(SEGMENTS + 1) / SEGMENTS)[None, :].repeat(RINGS, 0)
    v = (1.0 - np.arange(1, RINGS + 1) / (RINGS + 1))[:, None].repeat(SEGMENTS + 1, 1)
    grid = np.stack([u, v], -1).reshape(-1, 2)
    front = np.stack([(s + 0.5) / SEGMENTS, np.ones(SEGMENTS)], 1)
    back = np.stack([(s + 0.5) / SEGMENTS, np.zeros(SEGMENTS)], 1)
    return np.asarray(corner) + size * np.concatenate([front, grid, back])
