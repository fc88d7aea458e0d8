"""The demo head's skin: rings of rays cast onto the implicit head, stitched into a triangle mesh.

Ring k is a fan of rays from an origin on the vertical axis at one elevation; the rays of a ring
are spread around the head, denser at the front. A pole closes the top, the last ring is the neck
opening, and the mouth is a slit along one ring: its vertices are duplicated for the lower lip, and
a pocket (:mod:`.mouth`) closes the slit from behind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import mouth
from .field import MOUTH, MOUTH_HALF_WIDTH, NECK_BOTTOM, NECK_Z, head_field

#: Origin of the upper rays (near the middle of the head).
CENTRE = np.array([0.0, 0.012, NECK_Z])
#: Lowest elevation (degrees) of rays from CENTRE; below it the origin slides down the neck.
LOW_ELEVATION = -66.0
SWEEP_SAMPLES = 240
SPLIT = 0.72
#: Rays per ring at the top pole ring and at the neck opening.
MIN_RING = 8


@dataclass(frozen=True)
class Skin:
    """The skin mesh and what later stages need to know about each vertex."""

    vertices: np.ndarray  # (V, 3)
    faces: np.ndarray  # (F, 3)
    uv_coords: np.ndarray  # (Vt, 2), the head island spans u in [0, 1]; the cavity's island the unit square
    uv_faces: np.ndarray  # (F, 3)
    uv_cavity: np.ndarray  # (Vt,) bool: UV vertices of the cavity's island
    ring: np.ndarray  # (V,) ring index, -1 for the pole
    theta: np.ndarray  # (V,) angle around the head, 0 at the front, positive towards +X
    origins: np.ndarray  # (V, 3) ray origin of each vertex
    directions: np.ndarray  # (V, 3) ray direction of each vertex
    lower_lip: np.ndarray  # (V,) bool: the slit duplicates that belong to the lower lip
    slit: np.ndarray  # (k,) upper-lip vertices of the slit, paired with ``slit_lower``
    slit_lower: np.ndarray  # (k,) their lower-lip duplicates
    cavity: np.ndarray  # (V,) bool: vertices of the mouth pocket behind the slit
    cavity_source: np.ndarray  # (V, 2) the slit-loop vertices a cavity vertex continues as their mean (else itself)
    boundary: np.ndarray  # (n,) vertices of the neck opening, in ring order
    spacing: np.ndarray  # (V,) angle between a vertex and its ring neighbours (mirror-symmetric weights)


def cast(origins: np.ndarray, directions: np.ndarray, eyes_open: bool = True, t_max: float = 0.16) -> np.ndarray:
    """Distance along each ray to the outermost crossing of the head surface."""
    steps = np.linspace(0.0, t_max, 45)
    o32, d32 = origins.astype(np.float32), directions.astype(np.float32)
    points = o32[:, None, :] + steps.astype(np.float32)[None, :, None] * d32[:, None, :]
    inside = head_field(points, eyes_open) < 0.0
    last = (inside.shape[1] - 1) - np.argmax(inside[:, ::-1], axis=1)
    lo = steps[last]
    hi = steps[np.minimum(last + 1, len(steps) - 1)]
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        ins = head_field(origins + mid[:, None] * directions, eyes_open) < 0.0
        lo = np.where(ins, mid, lo)
        hi = np.where(ins, hi, mid)
    return 0.5 * (lo + hi)


def sweep(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ray origin (N, 3) and elevation (N,) radians for sweep parameters s in [0, 1].

    Up to ``SPLIT`` the rays fan out from CENTRE; below, the origin slides down the neck axis while
    the rays level out, so that their hits on the neck descend evenly to the opening.
    """
    upper = np.clip(s / SPLIT, 0.0, 1.0)
    lower = np.clip((s - SPLIT) / (1.0 - SPLIT), 0.0, 1.0)
    low = np.radians(LOW_ELEVATION)
    elevation = np.where(lower > 0.0, low * (1.0 - lower), np.radians(90.0) + (low - np.radians(90.0)) * upper)
    radius = 0.052
    start = CENTRE[1] + np.tan(low) * radius
    hit_y = start + (NECK_BOTTOM - start) * lower
    origins = np.tile(CENTRE, (len(s), 1))
    origins[:, 1] = np.where(lower > 0.0, hit_y - np.tan(elevation) * radius, CENTRE[1])
    return origins, elevation


def directions(elevation: np.ndarray, theta: np.ndarray) -> np.ndarray:
    ce = np.cos(elevation)
    return np.stack([ce * np.sin(theta), np.sin(elevation) * np.ones_like(theta), ce * np.cos(theta)], axis=-1)


def hits(s: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Surface points (len(s), len(theta), 3) of the rays of sweep parameters s at angles theta."""
    origins, elevation = sweep(s)
    o = np.repeat(origins, len(theta), axis=0)
    d = directions(np.repeat(elevation, len(theta)), np.tile(theta, len(s)))
    t = cast(o, d)
    return (o + t[:, None] * d).reshape(len(s), len(theta), 3)


def choose_rows(n_rows: int) -> tuple[np.ndarray, int, np.ndarray]:
    """Sweep parameters of the rings (denser over the face), the mouth ring's index, ring perimeters."""
    s = np.linspace(0.0, 1.0, SWEEP_SAMPLES)
    meridians = hits(s, np.array([0.0, 0.5 * np.pi, np.pi]))
    step = np.linalg.norm(np.diff(meridians, axis=0), axis=-1)  # (S-1, 3)
    front_y = meridians[:, 0, 1]
    face = np.exp(-(((front_y - 0.0) / 0.07) ** 4)) * (meridians[:, 0, 2] > 0.0)
    eyes_mouth = np.exp(-(((front_y - 0.027) / 0.014) ** 2)) + np.exp(-(((front_y - MOUTH[1]) / 0.012) ** 2))
    density = 0.5 + 1.3 * face + 1.0 * eyes_mouth
    weighted = np.concatenate([[0.0], np.cumsum((step @ [0.5, 0.3, 0.2]) * 0.5 * (density[1:] + density[:-1]))])
    # The mouth ring sits exactly where the front ray meets the mouth crease.
    below = np.nonzero((front_y[:-1] >= MOUTH[1]) & (front_y[1:] < MOUTH[1]))[0][0]
    f = (front_y[below] - MOUTH[1]) / (front_y[below] - front_y[below + 1])
    w_mouth = weighted[below] + f * (weighted[below + 1] - weighted[below])
    first = weighted[1] * 6.0  # the first ring stays clear of the pole
    k_mouth = round((w_mouth - first) / (weighted[-1] - first) * (n_rows - 1))
    targets = np.concatenate([
        np.linspace(first, w_mouth, k_mouth + 1),
        np.linspace(w_mouth, weighted[-1], n_rows - k_mouth)[1:],
    ])
    rows = np.interp(targets, weighted, s)
    ring_pts = hits(rows, np.linspace(-np.pi, np.pi, 32, endpoint=False))
    perimeter = np.linalg.norm(ring_pts - np.roll(ring_pts, 1, axis=1), axis=-1).sum(axis=1)
    return rows, k_mouth, perimeter


def warp(n: int, strength: float) -> np.ndarray:
    """n angles around the head, mirror-symmetric, from the back seam (-pi), denser at the front."""
    w = -np.pi + 2.0 * np.pi * np.arange(n) / n
    return w - strength * np.sin(w)


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


def build_skin(n_vertices: int, n_rows: int = 54, neck_ring: int = 60) -> Skin:
    """The skin mesh with exactly ``n_vertices`` vertices and ``2 * n_vertices - 2 - neck_ring`` faces.

    It is open only at the neck (``neck_ring`` vertices): the mouth pocket closes the slit.
    """
    rows, k_mouth, perimeter = choose_rows(n_rows)
    s_mouth = rows[k_mouth]
    strength = 0.55 * np.exp(-(((rows - s_mouth) / 0.45) ** 2))
    # Ring sizes follow their perimeters; the mouth ring's slit fixes the neck ring (Euler).
    counts = np.maximum(MIN_RING, np.round(perimeter / perimeter.max() * 100)).astype(int)
    theta_mouth = warp(counts[k_mouth], strength[k_mouth])
    n_slit = int(np.count_nonzero(np.abs(theta_mouth) < MOUTH_HALF_WIDTH / 0.098))
    n_cavity = mouth.n_vertices(n_slit)
    counts[-1] = neck_ring
    budget = n_vertices - 1 - n_slit - n_cavity
    free = np.arange(n_rows - 1) != k_mouth
    scale = (budget - counts[-1] - counts[k_mouth]) / counts[:-1][free].sum()
    counts[:-1][free] = np.maximum(MIN_RING, np.round(counts[:-1][free] * scale))
    counts[1] += budget - counts.sum()  # exact total: adjust a ring near the top
    starts = np.concatenate([[1], 1 + np.cumsum(counts)[:-1]])
    n_ring = int(counts.sum()) + 1

    theta = np.concatenate([warp(n, a) for n, a in zip(counts, strength)])
    w = np.concatenate([-np.pi + 2.0 * np.pi * np.arange(n) / n for n in counts])
    spacing = 2.0 * np.pi / np.repeat(counts, counts) * (1.0 - np.repeat(strength, counts) * np.cos(w))
    spacing = np.concatenate([[0.0], spacing])
    ring = np.concatenate([[-1], np.repeat(np.arange(n_rows), counts)])
    origins_r, elevation_r = sweep(rows)
    origins = np.concatenate([[CENTRE], np.repeat(origins_r, counts, axis=0)])
    elev = np.concatenate([[np.pi / 2], np.repeat(elevation_r, counts)])
    theta = np.concatenate([[0.0], theta])
    dirs = directions(elev, theta)
    t = cast(origins, dirs)
    verts = origins + t[:, None] * dirs

    # Faces: the pole fan, then ring-to-ring strips. UV corners are (ring, unwrapped index).
    param = [(warp(n, a) + np.pi) / (2 * np.pi) for n, a in zip(counts, strength)]
    n0 = counts[0]
    fan = np.stack([np.zeros(n0, int), 1 + np.arange(n0), 1 + (np.arange(n0) + 1) % n0], 1)
    faces = [fan]
    uv_ring = [np.stack([np.full(n0, -1), np.zeros(n0, int), np.zeros(n0, int)], 1)]
    uv_idx = [np.stack([np.arange(n0), np.arange(n0), np.arange(n0) + 1], 1)]
    strips_at = []
    for k in range(n_rows - 1):
        tri, unwrapped = stitch(starts[k], counts[k], param[k], starts[k + 1], counts[k + 1], param[k + 1])
        strips_at.append(sum(len(f) for f in faces))
        faces.append(tri[:, [0, 2, 1]])
        uv_ring.append(k + unwrapped[:, [0, 2, 1], 0])
        uv_idx.append(unwrapped[:, [0, 2, 1], 1])
    all_faces = np.concatenate(faces)
    ring_of_uv = np.concatenate(uv_ring)
    index_in_ring = np.concatenate(uv_idx)

    # The slit: interior mouth-ring vertices get lower-lip twins used by the strip below.
    m0 = starts[k_mouth]
    slit = m0 + np.nonzero(np.abs(warp(counts[k_mouth], strength[k_mouth])) < MOUTH_HALF_WIDTH / 0.098)[0]
    twins = n_ring + np.arange(len(slit))
    lookup = np.arange(n_ring + len(slit))
    lookup[slit] = twins
    below = slice(strips_at[k_mouth], strips_at[k_mouth] + counts[k_mouth] + counts[k_mouth + 1])
    all_faces[below] = lookup[all_faces[below]]
    verts = np.concatenate([verts, verts[slit]])
    # The pocket behind the slit: its vertices continue the loop's, copying their per-vertex facts.
    loop = mouth.loop_order(slit[0] - 1, slit, slit[-1] + 1, twins)
    pocket = mouth.build_cavity(verts, loop, len(verts))
    n_lips = len(verts)
    cavity_source = np.concatenate([np.repeat(np.arange(n_lips)[:, None], 2, axis=1), pocket.source])
    parent = np.concatenate([np.arange(n_ring), slit])[cavity_source]  # (V, 2) into the ring vertices
    verts = np.concatenate([verts, pocket.vertices])
    all_faces = np.concatenate([all_faces, pocket.faces])
    theta, ring = theta[parent].mean(axis=1), ring[parent[:, 0]]
    origins, dirs = origins[parent].mean(axis=1), dirs[parent].mean(axis=1)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    spacing = np.concatenate([spacing[parent[:n_lips, 0]], np.zeros(len(pocket.vertices))])
    lower = np.zeros(len(verts), bool)
    lower[twins] = True
    cavity = np.arange(len(verts)) >= n_lips

    # UVs: angle around the head across, arc length down the front meridian; seam copies at u = 1.
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(verts[starts], axis=0), axis=-1))])
    arc = np.concatenate([[0.0], arc + np.linalg.norm(verts[starts[0]] - verts[0])])
    v_of_ring = 1.0 - arc / arc[-1]
    uv_starts = np.concatenate([[n0], n0 + np.cumsum(counts + 1)[:-1]])
    u_rings = np.concatenate([np.append(p, 1.0) for p in param])
    v_rings = np.repeat(v_of_ring[1:], counts + 1)
    pole_uv = np.stack([(np.arange(n0) + 0.5) / n0, np.ones(n0)], 1)
    uv_coords = np.concatenate([pole_uv, np.stack([u_rings, v_rings], 1)])
    uv_faces = np.where(ring_of_uv < 0, index_in_ring, uv_starts[np.maximum(ring_of_uv, 0)] + index_in_ring)
    uv_faces = np.concatenate([uv_faces, len(uv_coords) + pocket.uv_faces])
    uv_cavity = np.concatenate([np.zeros(len(uv_coords), bool), np.ones(len(pocket.uv_coords), bool)])
    uv_coords = np.concatenate([uv_coords, pocket.uv_coords])
    boundary = starts[-1] + np.arange(counts[-1])
    return Skin(
        vertices=verts, faces=all_faces.astype(np.int64), uv_coords=uv_coords, uv_faces=uv_faces.astype(np.int64),
        uv_cavity=uv_cavity, ring=ring, theta=theta, origins=origins, directions=dirs, lower_lip=lower,
        slit=slit, slit_lower=twins, cavity=cavity, cavity_source=cavity_source, boundary=boundary,
        spacing=spacing,
    )
