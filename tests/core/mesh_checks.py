"""Vectorised geometry checks for the demo head's tests: flipped triangles, self-intersections, inside tests."""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def face_normals(v: np.ndarray, faces: np.ndarray) -> np.ndarray:
    a, b, c = (v[faces[:, i]] for i in range(3))
    n = np.cross(b - a, c - a)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), EPS)


def flipped(rest: np.ndarray, posed: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Indices of faces whose normal points against their rest normal."""
    return np.nonzero((face_normals(rest, faces) * face_normals(posed, faces)).sum(1) < 0.0)[0]


def _cells(lo: np.ndarray, hi: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """(cell key, item) pairs of every grid cell an item's box [lo, hi] touches."""
    c0 = np.floor(lo / size).astype(np.int64)
    c1 = np.floor(hi / size).astype(np.int64)
    span = int((c1 - c0).max()) + 1
    keys, items = [], []
    for offset in np.ndindex(span, span, span):
        c = c0 + offset
        ok = np.nonzero(np.all(c <= c1, axis=1))[0]
        c = c[ok]
        keys.append((c[:, 0] * 1_000_003 + c[:, 1]) * 1_000_003 + c[:, 2])
        items.append(ok)
    return np.concatenate(keys), np.concatenate(items)


def candidate_pairs(lo_a, hi_a, lo_b, hi_b, size: float) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) pairs of items whose boxes overlap, found through shared grid cells (a pair may repeat)."""
    ka, ia = _cells(lo_a, hi_a, size)
    kb, ib = _cells(lo_b, hi_b, size)
    order = np.argsort(kb)
    kb, ib = kb[order], ib[order]
    start = np.searchsorted(kb, ka, "left")
    count = np.searchsorted(kb, ka, "right") - start
    a = np.repeat(ia, count)
    b = ib[np.arange(count.sum()) + np.repeat(start - (np.cumsum(count) - count), count)]
    overlap = np.all((lo_a[a] <= hi_b[b]) & (lo_b[b] <= hi_a[a]), axis=1)
    return a[overlap], b[overlap]


def segments_cross_triangles(p0, p1, tri, tol: float = 1e-9) -> np.ndarray:
    """Whether each segment p0-p1 crosses the interior of the paired triangle (Moller-Trumbore), (N,) bool."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    d = p1 - p0
    e1, e2 = b - a, c - a
    h = np.cross(d, e2)
    det = (e1 * h).sum(1)
    ok = np.abs(det) > EPS * 1e-6
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = p0 - a
    u = (s * h).sum(1) * inv
    q = np.cross(s, e1)
    w = (d * q).sum(1) * inv
    t = (e2 * q).sum(1) * inv
    return ok & (u > tol) & (w > tol) & (u + w < 1.0 - tol) & (t > tol) & (t < 1.0 - tol)


def self_intersections(v: np.ndarray, faces: np.ndarray, weld: np.ndarray | None = None) -> np.ndarray:
    """(k, 2) pairs (edge's face, crossed face) where an edge of the mesh passes through another face.

    Two triangles of a closed-up surface intersect exactly when an edge of one crosses the other, so
    testing every edge against every nearby face it shares no vertex with finds every intersection.
    ``weld`` maps vertex indices to a representative (vertices at the same place, e.g. both lips' edges).
    """
    weld = np.arange(len(v)) if weld is None else weld
    wf = weld[faces]
    edges, first = np.unique(np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1),
                             axis=0, return_index=True)
    edge_face = np.tile(np.arange(len(faces)), 3)[first]
    tri = v[faces].astype(np.float32)
    e0, e1 = v[edges[:, 0]].astype(np.float32), v[edges[:, 1]].astype(np.float32)
    size = 2.0 * max(float(np.median(np.ptp(tri, axis=1).max(1))), 1e-6)
    ei, fi = candidate_pairs(np.minimum(e0, e1), np.maximum(e0, e1), tri.min(1), tri.max(1), size)
    we = weld[edges[ei]]
    shares = (wf[fi][:, :, None] == we[:, None, :]).any(axis=(1, 2))
    ei, fi = ei[~shares], fi[~shares]
    hit = segments_cross_triangles(v[edges[ei, 0]], v[edges[ei, 1]], v[faces[fi]])
    return np.unique(np.stack([edge_face[ei[hit]], fi[hit]], 1), axis=0)


def near_moved(rest: np.ndarray, posed: np.ndarray, faces: np.ndarray, margin: float = 0.01) -> np.ndarray:
    """Faces that moved from ``rest`` or lie within ``margin`` of those that did (the rest keep their neutral state)."""
    moved = np.abs(posed - rest).max(axis=1) > 2e-5  # 20 micrometres: far below any gap between faces
    moving = moved[faces].any(axis=1)
    if not moving.any():
        return np.zeros(len(faces), bool)
    box = posed[faces[moving]].reshape(-1, 3)
    lo, hi = box.min(0) - margin, box.max(0) + margin
    tri = posed[faces]
    return np.all((tri.max(1) >= lo) & (tri.min(1) <= hi), axis=1)


def crossings_along_z(points: np.ndarray, v: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """How many faces the ray from each point towards +Z passes through, (N,) ints."""
    tri = v[faces]
    lo, hi = tri.min(1)[:, :2], tri.max(1)[:, :2]
    inside_box = np.all((points[:, None, :2] >= lo[None]) & (points[:, None, :2] <= hi[None]), axis=2)
    pi, fi = np.nonzero(inside_box)
    a, b, c = tri[fi, 0], tri[fi, 1], tri[fi, 2]
    p = points[pi]

    def edge(q0, q1):
        return (q1[:, 0] - q0[:, 0]) * (p[:, 1] - q0[:, 1]) - (q1[:, 1] - q0[:, 1]) * (p[:, 0] - q0[:, 0])

    ea, eb, ec = edge(a, b), edge(b, c), edge(c, a)
    inside = ((ea > 0) & (eb > 0) & (ec > 0)) | ((ea < 0) & (eb < 0) & (ec < 0))
    area = ea + eb + ec
    z = np.where(inside, (eb * a[:, 2] + ec * b[:, 2] + ea * c[:, 2]) / np.where(inside, area, 1.0), -np.inf)
    hit = inside & (z > p[:, 2])
    return np.bincount(pi[hit], minlength=len(points))
