"""The mouth cavity: a short pocket behind the lips, from the slit's loop back to a rounded end.

The loop runs around the slit: one mouth corner, the upper-lip edge, the other corner and the
lower-lip edge back. Each cavity ring copies the loop, moved back into the head, narrowed, and
opened up and down (upper edge up, lower edge down) so that the lips curl inwards into a pocket;
a fan to one deeper vertex on the midline closes the last ring. With the mouth shut the pocket is
hidden; when the jaw drops it shows as a recessed tube that narrows into a rounded end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RINGS = 4
DEPTH = 0.028
#: Half-height of the pocket at its widest (with the mouth shut), and its share at each ring.
HEIGHT = 0.008
OPENING = np.array([0.1, 0.35, 0.85, 0.8])
#: How much narrower the last ring is than the mouth.
TAPER = 0.5
#: How far the end of the pocket lies behind its last ring.
END_DEPTH = 0.02


@dataclass(frozen=True)
class Cavity:
    """Cavity vertices and faces; face and UV indices below ``first`` refer to the loop's own vertices."""

    vertices: np.ndarray  # (RINGS * m + 1, 3): the rings, then the end of the pocket
    source: np.ndarray  # (RINGS * m + 1, 2) the loop vertices each cavity vertex continues (mean of two)
    faces: np.ndarray  # (2 * RINGS * m + m, 3)
    uv_coords: np.ndarray  # (Vt, 2) in the unit square (for an island 7 times taller than wide): tube, end above
    uv_faces: np.ndarray  # (F, 3) into uv_coords


def n_vertices(n_slit: int) -> int:
    """Vertices of the pocket behind a slit of ``n_slit`` vertex pairs."""
    return RINGS * (2 * n_slit + 2) + 1


def loop_order(corner_a: int, upper: np.ndarray, corner_b: int, lower: np.ndarray) -> np.ndarray:
    """Vertex indices around the slit: corner, upper edge, corner, lower edge reversed."""
    return np.concatenate([[corner_a], upper, [corner_b], lower[::-1]])


def build_cavity(points: np.ndarray, loop: np.ndarray, first: int) -> Cavity:
    """The pocket behind the loop ``loop`` (indices into ``points``, as from :func:`loop_order`).

    Cavity vertices are numbered from ``first``; the faces are wound to face into the pocket.
    """
    m = len(loop)
    n = (m - 2) // 2
    p = points[loop]
    side = np.concatenate([[0.0], np.ones(n), [0.0], -np.ones(n)])  # +1 upper, -1 lower, 0 corners
    half_width = 0.5 * (abs(p[0, 0]) + abs(p[n + 1, 0]))
    profile = np.sqrt(np.clip(1.0 - (p[:, 0] / half_width) ** 2, 0.0, 1.0))
    t = (np.arange(1, RINGS + 1) / RINGS)[:, None]  # (RINGS, 1)
    opening = OPENING[:, None]  # the lips close over a thin slit; the pocket widens behind them
    corner_y = 0.5 * (p[1, 1] + p[n, 1])  # the corners slide to the height of the lip edges
    y_line = np.where(side == 0.0, p[:, 1] + (corner_y - p[:, 1]) * np.minimum(1.0, 1.5 * t), p[:, 1])
    rings = np.empty((RINGS, m, 3))
    rings[..., 0] = p[:, 0] * (1.0 - TAPER * t**0.5)
    rings[..., 1] = y_line + side * HEIGHT * profile * opening
    rings[..., 2] = p[:, 2] - DEPTH * t
    # Quad strips between consecutive loops (the slit loop first), then the end.
    ids = np.concatenate([loop[None], first + np.arange(RINGS * m).reshape(RINGS, m)])
    i = np.arange(m)
    a, b = ids[:-1, i], ids[:-1, (i + 1) % m]
    c, d = ids[1:, (i + 1) % m], ids[1:, i]
    strips = np.concatenate([np.stack([a, c, b], -1), np.stack([a, d, c], -1)], axis=1).reshape(-1, 3)
    # The end: a fan to a vertex behind the middle of the last ring, halfway between the lips.
    k = (n - 1) // 2
    mid = np.array([1 + k, m - 1 - (n - 1 - k)])  # a middle upper-edge vertex and the mirror of its twin
    end = np.array([0.0, rings[-1, mid, 1].mean(), rings[-1, mid, 2].mean() - END_DEPTH])
    centre = first + RINGS * m
    faces = np.concatenate([strips, np.stack([ids[-1, i], np.full(m, centre), ids[-1, (i + 1) % m]], 1)])
    # UVs: the tube unrolled (depth across, around the loop along v, one seam copy), the end as a disc above.
    u = np.repeat(np.arange(RINGS + 1) / RINGS, m + 1)
    v = np.tile(np.arange(m + 1) / m, RINGS + 1) * 0.7
    uv_ids = np.arange((RINGS + 1) * (m + 1)).reshape(RINGS + 1, m + 1)
    ua, ub = uv_ids[:-1, i], uv_ids[:-1, i + 1]
    uc, ud = uv_ids[1:, i + 1], uv_ids[1:, i]
    uv_strips = np.concatenate([np.stack([ua, uc, ub], -1), np.stack([ua, ud, uc], -1)], axis=1).reshape(-1, 3)
    angle = 2.0 * np.pi * i / m
    disc = [0.5, 0.86] + [0.42, 0.06] * np.stack([np.cos(angle), -np.sin(angle)], 1)
    uv_coords = np.concatenate([np.stack([u, v], 1), disc, [[0.5, 0.86]]])
    uv_end = np.stack([len(u) + i, np.full(m, len(u) + m), len(u) + (i + 1) % m], 1)
    uv_faces = np.concatenate([uv_strips, uv_end])
    source = np.concatenate([np.repeat(np.tile(loop, RINGS)[:, None], 2, axis=1), loop[mid][None]])
    return Cavity(
        vertices=np.concatenate([rings.reshape(-1, 3), end[None]]), source=source, faces=faces,
        uv_coords=uv_coords, uv_faces=uv_faces,
    )
