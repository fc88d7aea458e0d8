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


def stitch_closest(a: np.ndarray, pa: np.ndarray, b: np.ndarray, pb: np.ndarray, flat_a: np.ndarray,
                   flat_b: np.ndarray) -> np.ndarray:
    """Triangles (len(a) + len(b), 3) between two closed loops running the same way round a common centre.

    The strip starts at the closest pair and each step advances along the loop that makes the
    shorter new edge (the classic way to loft between two contours; ``pa``, ``pb`` are the
    positions), unless that triangle would lie the wrong way round in the flat layout (``flat_a``,
    ``flat_b``: 2D coordinates round the centre, the inner loop ``b`` inside ``a``).
    """
    na, nb = len(a), len(b)
    j0 = int(np.argmin(np.linalg.norm(pb - pa[0], axis=1)))

    def turn(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> float:
        return float((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    way = np.sign(turn(flat_a[0], flat_a[1 % na], np.zeros(2)))  # how a triangle towards the centre turns
    i = j = 0
    out = []
    while i < na or j < nb:
        ai, bj = i % na, (j0 + j) % nb
        ai1, bj1 = (i + 1) % na, (j0 + j + 1) % nb
        if j >= nb:
            advance_a = True
        elif i >= na:
            advance_a = False
        else:
            advance_a = bool(np.linalg.norm(pa[ai1] - pb[bj]) <= np.linalg.norm(pb[bj1] - pa[ai]))
            fits_a = np.sign(turn(flat_a[ai], flat_a[ai1], flat_b[bj])) == way
            fits_b = np.sign(turn(flat_a[ai], flat_b[bj1], flat_b[bj])) == way
            if advance_a and not fits_a and fits_b:
                advance_a = False
            elif not advance_a and not fits_b and fits_a:
                advance_a = True
        if advance_a:
            out.append([a[ai], a[ai1], b[bj]])
            i += 1
        else:
            out.append([a[ai], b[bj1], b[bj]])
            j += 1
    return np.array(out)


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


def fan(loop: np.ndarray, centre: int) -> np.ndarray:
    """Triangles closing a loop with a vertex in its middle."""
    return np.stack([loop, np.roll(loop, -1), np.full(len(loop), centre)], 1)


def boundary_cycle(faces: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """The closed boundary of a face set passing through the given vertices, in the faces' edge direction."""
    directed = faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    key = directed.min(axis=1) * (int(directed.max()) + 1) + directed.max(axis=1)  # one number per edge
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    edges = directed[counts[inverse] == 1]
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
    existing = existing[np.isin(existing, new).any(axis=1)]
    have = {(int(a), int(b)) for a, b in existing[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)}
    for a, b in new[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2):
        if (int(b), int(a)) in have:
            return new
        if (int(a), int(b)) in have:
            return new[:, ::-1]
    raise ValueError("the faces share no edge")
