"""The demo head's skin: rings of rays cast onto the implicit head, with loop patches round the eyes and mouth.

Ring k is a fan of rays from the vertical axis (:mod:`.rays`) at one elevation; the rays of a ring
are spread around the head, denser at the front, and consecutive rings are stitched into strips.
A pole closes the top and the last ring is the neck opening. Round each eye and the mouth an
elliptical piece of the ring grid is replaced by a patch of concentric loops (:mod:`.patches`),
and on each side of the head by an ear (:mod:`.ear`), each stitched to the hole's edge. The mouth
patch's innermost loop is the slit between the lips: its lower-lip vertices are copies of the
upper-lip ones, and a pocket (:mod:`.mouth`) closes the slit from behind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import mouth
from .ear import ear_patch
from .field import MOUTH
from .loops import boundary_cycle, orient_like, stitch, stitch_closest
from .patches import LIP_EDGE, Patch, eye_opening, eye_patch, mirrored, mouth_patch
from .rays import CENTRE, SPLIT, cast, directions, fan_s, hits, sweep

SWEEP_SAMPLES = 240
#: Rings from the crown to the neck.
N_ROWS = 54
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
    origins: np.ndarray  # (V, 3) ray origin of each vertex
    directions: np.ndarray  # (V, 3) ray direction of each vertex
    lower_lip: np.ndarray  # (V,) bool: the slit duplicates that belong to the lower lip
    slit: np.ndarray  # (k,) upper-lip vertices of the slit, paired with ``slit_lower``
    slit_lower: np.ndarray  # (k,) their lower-lip duplicates
    mouth_corners: np.ndarray  # (2,) the slit's ends
    mouth_loops: list[np.ndarray]  # the loops round the mouth, the slit first (corner, upper edge, corner, lower)
    eye_loops: tuple[list[np.ndarray], list[np.ndarray]]  # left, right: loops from the middle out
    eye_margin: int  # which of the eye loops is the lid margin
    ears: tuple[np.ndarray, ...]  # left, right: the ears' vertices (their patches but the skirt on the head)
    cavity: np.ndarray  # (V,) bool: vertices of the mouth pocket behind the slit
    cavity_source: np.ndarray  # (V, 2) the slit-loop vertices a cavity vertex continues as their mean (else itself)
    boundary: np.ndarray  # (n,) vertices of the neck opening, in ring order
    spacing: np.ndarray  # (V,) angle between a vertex and its ring neighbours (mirror-symmetric weights)


def choose_rows(n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Sweep parameters of the rings (denser over the face) and the ring perimeters."""
    s = np.linspace(0.0, 1.0, SWEEP_SAMPLES)
    meridians = hits(s, np.array([0.0, 0.5 * np.pi, np.pi]))
    step = np.linalg.norm(np.diff(meridians, axis=0), axis=-1)  # (S-1, 3)
    # Where a ray skips a hidden step (under the nose) the meridian jumps: that length is not surface
    # to spread rings over, or two rings would bunch up into a line across the whole face.
    step = np.minimum(step, 2.0 * np.median(step, axis=0))
    front_y = meridians[:, 0, 1]
    face = np.exp(-(((front_y - 0.0) / 0.07) ** 4)) * (meridians[:, 0, 2] > 0.0)
    eyes_mouth = np.exp(-(((front_y - 0.027) / 0.014) ** 2)) + np.exp(-(((front_y - MOUTH[1]) / 0.012) ** 2))
    density = 0.5 + 1.3 * face + 1.0 * eyes_mouth
    weighted = np.concatenate([[0.0], np.cumsum((step @ [0.5, 0.3, 0.2]) * 0.5 * (density[1:] + density[:-1]))])
    first = weighted[1] * 6.0  # the first ring stays clear of the pole
    rows = np.interp(np.linspace(first, weighted[-1], n_rows), weighted, s)
    ring_pts = hits(rows, np.linspace(-np.pi, np.pi, 32, endpoint=False))
    perimeter = np.linalg.norm(ring_pts - np.roll(ring_pts, 1, axis=1), axis=-1).sum(axis=1)
    return rows, perimeter


def warp(n: int, strength: float) -> np.ndarray:
    """n angles around the head, mirror-symmetric, from the back seam (-pi), denser at the front."""
    w = -np.pi + 2.0 * np.pi * np.arange(n) / n
    return w - strength * np.sin(w)


@dataclass(frozen=True)
class Grid:
    """The ring grid: a pole, then the rings' vertices in order, with their rays and faces."""

    elevation: np.ndarray  # (V,)
    theta: np.ndarray  # (V,)
    s: np.ndarray  # (V,) sweep parameter
    origins: np.ndarray
    directions: np.ndarray
    spacing: np.ndarray
    faces: np.ndarray
    starts: np.ndarray  # first vertex of each ring


def ring_grid(rows: np.ndarray, counts: np.ndarray, strength: np.ndarray) -> Grid:
    starts = np.concatenate([[1], 1 + np.cumsum(counts)[:-1]])
    w = np.concatenate([-np.pi + 2.0 * np.pi * np.arange(n) / n for n in counts])
    spacing = 2.0 * np.pi / np.repeat(counts, counts) * (1.0 - np.repeat(strength, counts) * np.cos(w))
    origins_r, elevation_r = sweep(rows)
    theta = np.concatenate([[0.0]] + [warp(n, a) for n, a in zip(counts, strength)])
    elev = np.concatenate([[np.pi / 2], np.repeat(elevation_r, counts)])
    param = [(warp(n, a) + np.pi) / (2 * np.pi) for n, a in zip(counts, strength)]
    n0 = counts[0]
    faces = [np.stack([np.zeros(n0, int), 1 + np.arange(n0), 1 + (np.arange(n0) + 1) % n0], 1)]
    for k in range(len(rows) - 1):
        tri, _ = stitch(starts[k], counts[k], param[k], starts[k + 1], counts[k + 1], param[k + 1])
        faces.append(tri[:, [0, 2, 1]])
    return Grid(
        elevation=elev, theta=theta, s=np.concatenate([[0.0], np.repeat(rows, counts)]),
        origins=np.concatenate([[CENTRE], np.repeat(origins_r, counts, axis=0)]),
        directions=directions(elev, theta), spacing=np.concatenate([[0.0], spacing]),
        faces=np.concatenate(faces), starts=starts,
    )


def carved(grid: Grid, patches: list[Patch]) -> np.ndarray:
    """Grid vertices inside any patch's hole (only rings of the fan from CENTRE)."""
    fan = grid.s <= SPLIT
    out = np.zeros(len(grid.s), bool)
    for patch in patches:
        out |= fan & patch.inside_hole(grid.elevation, grid.theta)
    return out


def _increasing(loop: np.ndarray, angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A loop and its angles, reversed if the angles run backwards."""
    turning = np.angle(np.exp(1j * (np.roll(angle, -1) - angle))).sum()
    return (loop, angle) if turning > 0 else (loop[::-1], angle[::-1])


def ring_counts(perimeter: np.ndarray, budget: int, neck_ring: int) -> np.ndarray:
    """Vertices per ring following the perimeters, ``budget`` in all, ``neck_ring`` at the neck."""
    counts = np.maximum(MIN_RING, np.round(perimeter / perimeter.max() * 100)).astype(int)
    counts[-1] = neck_ring
    scale = (budget - neck_ring) / counts[:-1].sum()
    counts[:-1] = np.maximum(MIN_RING, np.round(counts[:-1] * scale))
    counts[1] += budget - counts.sum()  # exact total: adjust a ring near the top
    return counts


def _hole_edge(faces: np.ndarray, elev: np.ndarray, theta: np.ndarray, s: np.ndarray, patch: Patch) -> np.ndarray:
    """The vertices round the edge of a patch's hole in the grid's faces, going round its centre."""
    edge = boundary_cycle(faces, np.nonzero((s <= SPLIT) & patch.inside_hole(elev, theta, scale=1.6))[0])
    return _increasing(edge, patch.angle(elev[edge], theta[edge]))[0]


def build_skin(n_vertices: int, n_rows: int = N_ROWS, neck_ring: int = 60) -> Skin:
    """The skin mesh with exactly ``n_vertices`` vertices and ``2 * n_vertices - 2 - neck_ring`` faces.

    It is open only at the neck (``neck_ring`` vertices): the mouth pocket closes the slit.
    """
    rows, perimeter = choose_rows(n_rows)
    strength = 0.55 * np.exp(-(((rows - fan_s(np.array(-0.5))) / 0.45) ** 2))
    opening = eye_opening()
    left = eye_patch(opening)
    ear = ear_patch()
    patches = [left, mirrored(left), mouth_patch(), ear, mirrored(ear)]
    n_cavity = mouth.n_vertices(LIP_EDGE)
    n_grid = n_vertices - sum(len(p.points) for p in patches) - n_cavity  # kept grid vertices, the pole included
    removed = 0
    for _ in range(3):  # the carved count depends (a little) on the ring sizes
        counts = ring_counts(perimeter, n_grid - 1 + removed, neck_ring)
        removed = int(carved(ring_grid(rows, counts, strength), patches).sum())
    counts = ring_counts(perimeter, n_grid - 1 + removed, neck_ring)
    cut = carved(ring_grid(rows, counts, strength), patches)
    counts[1] += n_grid - (len(cut) - int(cut.sum()))  # exact: ring 1 lies in no patch
    grid = ring_grid(rows, counts, strength)
    cut = carved(grid, patches)
    assert len(cut) - cut.sum() == n_grid, (len(cut) - cut.sum(), n_grid)

    # Keep the grid outside the holes, renumbered.
    keep = np.nonzero(~cut)[0]
    new_index = np.full(len(cut), -1)
    new_index[keep] = np.arange(len(keep))
    faces = new_index[grid.faces[~cut[grid.faces].any(axis=1)]]
    elev, theta = grid.elevation[keep], grid.theta[keep]
    verts = grid.origins[keep] + cast(grid.origins[keep], grid.directions[keep])[:, None] * grid.directions[keep]
    origins, dirs, s = grid.origins[keep], grid.directions[keep], grid.s[keep]
    spacing = grid.spacing[keep]
    patch_spacing = float(grid.spacing[cut].mean())
    # The eyes' outermost loops follow the edges of their holes (on the nose's side they lie further out).
    edge = _hole_edge(faces, elev, theta, s, patches[0])
    left = eye_patch(opening, np.stack(patches[0].local(elev[edge], theta[edge]), 1))
    patches[:2] = [left, mirrored(left)]

    # The patches: their own faces, and a band from their outermost loop to the hole's edge.
    all_faces = [faces]
    offsets = []
    for patch in patches:
        first = len(verts)
        offsets.append(first)
        edge = _hole_edge(faces, elev, theta, s, patch)
        outer = patch.loops[-1]
        outer, _ = _increasing(outer, patch.angle(patch.elevation[outer], patch.theta[outer]))
        flat_edge = np.stack(patch.local(elev[edge], theta[edge]), 1)
        flat_outer = np.stack(patch.local(patch.elevation[outer], patch.theta[outer]), 1)
        band = stitch_closest(edge, verts[edge], first + outer, patch.points[outer], flat_edge, flat_outer)
        band = orient_like(band, faces)
        all_faces += [band, orient_like(first + patch.faces, band)]
        verts = np.concatenate([verts, patch.points])
        elev, theta = np.concatenate([elev, patch.elevation]), np.concatenate([theta, patch.theta])
        origins = np.concatenate([origins, np.broadcast_to(CENTRE, patch.points.shape)])
        dirs = np.concatenate([dirs, patch.directions()])
        s = np.concatenate([s, fan_s(patch.elevation)])
        spacing = np.concatenate([spacing, np.full(len(patch.points), patch_spacing)])
    faces = np.concatenate(all_faces)
    left_loops, right_loops = ([offsets[i] + loop for loop in patches[i].loops] for i in range(2))
    slit_loop = offsets[2] + patches[2].loops[0]
    m = len(slit_loop)
    slit = slit_loop[1 : LIP_EDGE + 1]
    twins = slit_loop[m - 1 : LIP_EDGE + 1 : -1]  # paired with ``slit``: the lower edge, in the upper's order
    verts[twins] = verts[slit]

    # The pocket behind the slit: its vertices continue the loop's, copying their per-vertex facts.
    loop = mouth.loop_order(slit_loop[LIP_EDGE + 1], slit[::-1], slit_loop[0], twins[::-1])
    pocket = mouth.build_cavity(verts, loop, len(verts))
    assert orient_like(pocket.faces, faces) is pocket.faces  # wound like the skin
    n_lips = len(verts)
    cavity_source = np.concatenate([np.repeat(np.arange(n_lips)[:, None], 2, axis=1), pocket.source])
    ring_points = verts[np.concatenate([[0], new_index[grid.starts]])]
    uv_coords, uv_faces = skin_uvs(ring_points, np.concatenate([[0.0], rows]), theta, s, faces)
    verts = np.concatenate([verts, pocket.vertices])
    faces = np.concatenate([faces, pocket.faces])
    origins = origins[cavity_source].mean(axis=1)
    dirs = dirs[cavity_source].mean(axis=1)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    spacing = np.concatenate([spacing, np.zeros(len(pocket.vertices))])
    lower = np.zeros(len(verts), bool)
    lower[twins] = True
    cavity = np.arange(len(verts)) >= n_lips
    uv_faces = np.concatenate([uv_faces, len(uv_coords) + pocket.uv_faces])
    uv_cavity = np.concatenate([np.zeros(len(uv_coords), bool), np.ones(len(pocket.uv_coords), bool)])
    uv_coords = np.concatenate([uv_coords, pocket.uv_coords])
    boundary = new_index[grid.starts[-1] + np.arange(counts[-1])]
    return Skin(
        vertices=verts, faces=faces.astype(np.int64), uv_coords=uv_coords, uv_faces=uv_faces.astype(np.int64),
        uv_cavity=uv_cavity, origins=origins, directions=dirs, lower_lip=lower, slit=slit, slit_lower=twins,
        mouth_corners=slit_loop[[0, LIP_EDGE + 1]], mouth_loops=[offsets[2] + loop for loop in patches[2].loops],
        ears=tuple(offsets[i] + np.setdiff1d(np.arange(len(patches[i].points)), patches[i].loops[-1]) for i in (3, 4)),
        eye_loops=(left_loops, right_loops), eye_margin=patches[0].margin, cavity=cavity, cavity_source=cavity_source,
        boundary=boundary, spacing=spacing,
    )


def skin_uvs(ring_points: np.ndarray, ring_s: np.ndarray, theta: np.ndarray, s: np.ndarray, faces: np.ndarray):
    """UVs of the skin without the pocket: angle around the head across, arc length down the back seam.

    ``ring_points`` are the pole and each ring's first vertex (on the seam, theta = -pi, u = 0);
    those vertices get copies at u = 1 for the faces across the seam, and the pole one copy per face.
    """
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(ring_points, axis=0), axis=-1))])
    v = 1.0 - np.interp(s, ring_s, arc) / arc[-1]
    u = (theta + np.pi) / (2.0 * np.pi)
    corner_u = u[faces]
    seam = (corner_u == 0.0) & (corner_u.max(axis=1, keepdims=True) > 0.5)
    seam_vertices, seam_index = np.unique(faces[seam], return_inverse=True)
    uv_faces = faces.copy()
    uv_faces[seam] = len(u) + seam_index.ravel()
    pole = faces == 0
    fan = np.nonzero(pole.any(axis=1))[0]
    fan_u = np.where(seam, 1.0, corner_u)[fan]
    pole_u = (fan_u.sum(axis=1) - fan_u[pole[fan]]) / 2.0
    pole_copies = len(u) + len(seam_vertices) + np.arange(len(fan))
    uv_faces[fan[:, None], np.nonzero(pole[fan])[1][:, None]] = pole_copies[:, None]
    uv = np.concatenate([
        np.stack([u, v], 1), np.stack([np.ones(len(seam_vertices)), v[seam_vertices]], 1),
        np.stack([pole_u, np.ones(len(fan))], 1),
    ])
    used = np.unique(uv_faces)
    remap = np.full(len(uv), -1)
    remap[used] = np.arange(len(used))
    return uv[used], remap[uv_faces]
