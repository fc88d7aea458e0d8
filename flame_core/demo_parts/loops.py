"""Mesh topology helpers: stitching closed loops of vertices, carving holes, filling loops."""

from __future__ import annotations

from itertools import pairwise

import numpy as np


def stitch(a0: int, na: int, pa: np.ndarray, b0: int, nb: int, pb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triangles between two closed rings (first index, count, parameters in [0, 1) sorted).

    Returns vertex triangles and "unwrapped" triangles whose indices run to na / nb for the
    closing point (used for UVs across the seam), both as (na + nb, 3) ring-local pairs.
    """
    nxt = np.concatenate([np.append(pa[1:], 1.0), np.append(pb[1:], 1.0)])
    is_a = np.concatenate([np.ones(na, bool), np.zeros(nb, bool)])
    order = np.argsort(nxt, kind="stable")
    step_a = is_a[order]
    ia = np.concatenate([[0], np.cumsum(step_a)[:-1]])
    ib = np.concatenate([[0], np.cumsum(~step_a)[:-1]])
    # Unwrapped corner indices: ("a", i) -> i, ("b", j) -> j, flagged by ring.
    tri_ring = np.where(step_a[:, None], [[0, 0, 1]], [[0, 1, 1]])
    tri_idx = np.where(
        step_a[:, None], np.stack([ia, ia + 1, ib], 1), np.stack([ia, ib + 1, ib], 1)
    )
    wrapped = np.where(tri_ring == 0, a0 + tri_idx % na, b0 + tri_idx % nb)
    return wrapped, np.stack([tri_ring, tri_idx], -1)


def stitch_loops(a: np.ndarray, angle_a: np.ndarray, b: np.ndarray, angle_b: np.ndarray) -> np.ndarray:
    """Triangles (len(a) + len(b), 3) between two closed loops of vertex indices around a common centre.

    ``angle_a`` / ``angle_b`` are the loops' angles around the centre, increasing along each loop
    (any start); both loops must be star-shaped around the centre.
    """
    ra, pa = _from_zero(angle_a)
    rb, pb = _from_zero(angle_b)
    local, _ = stitch(0, len(a), pa, len(a), len(b), pb)
    return np.concatenate([a[ra], b[rb]])[local]


def _from_zero(angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order starting at the smallest angle in [0, 2 pi) and the parameters in [0, 1) along it."""
    p = np.mod(angle, 2.0 * np.pi) / (2.0 * np.pi)
    start = int(np.argmin(p))
    order = np.roll(np.arange(len(p)), -start)
    q = p[order]
    if np.any(np.diff(q) <= 0.0):
        raise ValueError("loop angles must increase along the loop")
    return order, q


def bands(loops: list[np.ndarray], points: np.ndarray) -> np.ndarray:
    """Quad strips between consecutive loops of equal length, each quad split along its shorter diagonal.

    Quad i joins vertices i and i + 1 of both loops; ``points`` (any dimension) measure the diagonals.
    """
    out = []
    for a, b in pairwise(loops):
        i = np.arange(len(a))
        j = (i + 1) % len(a)
        turn = (np.linalg.norm(points[a[i]] - points[b[j]], axis=1)
                < np.linalg.norm(points[b[i]] - points[a[j]], axis=1))[:, None]
        first = np.where(turn, np.stack([a[i], b[i], b[j]], 1), np.stack([a[i], b[i], a[j]], 1))
        second = np.where(turn, np.stack([a[i], b[j], a[j]], 1), np.stack([a[j], b[i], b[j]], 1))
        out.append(np.concatenate([first, second]))
    return np.concatenate(out)


def zipper(loop: np.ndarray) -> np.ndarray:
    """Triangles filling a loop of 2n + 2 vertices (corner, n along one side, corner, n back) across its width."""
    m = len(loop)
    n = (m - 2) // 2
    upper = loop[1 : n + 1]
    lower = loop[m - 1 : n + 1 : -1]  # the opposite side, in the same direction as ``upper``
    faces = [[loop[0], upper[0], lower[0]]]
    for k in range(n - 1):
        faces += [[upper[k], upper[k + 1], lower[k]], [lower[k], upper[k + 1], lower[k + 1]]]
    faces.append([upper[-1], loop[n + 1], lower[-1]])
    return np.array(faces)


def boundary_cycle(faces: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """The closed boundary of a face set passing through the given vertices, in the faces' edge direction."""
    directed = faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    key = np.sort(directed, axis=1)
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    edges = directed[counts[inverse.ravel()] == 1]
    edges = edges[np.isin(edges[:, 0], vertices) & np.isin(edges[:, 1], vertices)]
    following = dict(zip(edges[:, 0].tolist(), edges[:, 1].tolist()))
    if len(following) != len(edges):
        raise ValueError("the hole's boundary touches itself")
    start = int(edges[0, 0])
    cycle = [start]
    while following[cycle[-1]] != start:
        cycle.append(following[cycle[-1]])
        if len(cycle) > len(edges):
            raise ValueError("the hole's boundary is not one loop")
    if len(cycle) != len(edges):
        raise ValueError("the hole's boundary is not one loop")
    return np.array(cycle)


def orient_like(new: np.ndarray, existing: np.ndarray) -> np.ndarray:
    """``new`` faces wound so that an edge they share with ``existing`` runs the other way in each."""
    have = {(int(a), int(b)) for a, b in existing[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)}
    for a, b in new[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2):
        if (int(b), int(a)) in have:
            return new
        if (int(a), int(b)) in have:
            return new[:, ::-1]
    raise ValueError("the faces share no edge")
