"""Concentric edge loops round the eye openings and the mouth, laid out in the ray chart (:mod:`.rays`).

Each patch replaces an elliptical piece of the ring grid. An eye patch is a stack of loops
around the eye opening: the innermost skin loop is the lid margin (where the lid turns in under
the eyeball), loops further out ring the lids, loops further in line the socket beneath the
eyeball (hidden by it) and a zip of triangles closes the middle. The mouth patch is a stack of
loops round the slit between the lips: the slit itself is the innermost loop (corner, upper-lip
edge, corner, lower-lip edge, the lower edge a copy of the upper one), and the mouth pocket is
attached to it from behind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .field import EYE_CENTRE, EYE_RADIUS, MOUTH, MOUTH_HALF_WIDTH
from .loops import bands, orient_like, zipper
from .rays import CENTRE, directions, fan_angles, fan_points

#: Vertices per eye loop, and the loops: lining (inside the margin, from a circle of EYE_CORE times the
#: lining's smallest radius out to the lining's edge), margin, lid loops outside it.
EYE_LOOP = 24
EYE_LINING = (0.0, 0.5)
EYE_CORE = 0.5
EYE_LIDS = 4
#: Where the lid margin and the first lining loop lie: distance from the eyeball's surface.
MARGIN_GAP = 0.002
LINING_GAP = -0.0005
#: Half-width and half-height (m, in the chart) of the ellipse of ring grid an eye patch replaces.
EYE_HOLE = (0.021, 0.0165)
EYE_HOLE_MARGIN = 0.0028
#: How far inside the hole's edge the outermost eye loop keeps.
EYE_EDGE_GAP = 0.0022
#: Vertices along each lip edge, and how far the mouth loops reach out beside and above/below the slit.
LIP_EDGE = 15
MOUTH_REACH = (np.array([0.003, 0.0055, 0.0082, 0.011]), np.array([0.0035, 0.006, 0.0085, 0.0115]))
MOUTH_HOLE_MARGIN = 0.002


@dataclass(frozen=True)
class Patch:
    """Loops of one patch: vertices, chart angles, and the loops as index arrays into them."""

    points: np.ndarray  # (n, 3)
    elevation: np.ndarray  # (n,) ray elevation from CENTRE
    theta: np.ndarray  # (n,) ray angle around the head
    loops: list[np.ndarray]  # innermost first; indices into points
    faces: np.ndarray  # (f, 3) inside the outermost loop, indices into points
    centre: tuple[float, float]  # chart angles (elevation, theta) of the patch centre
    radius: float  # distance from CENTRE to the surface at the centre (chart metres per radian)
    hole: tuple[float, float]  # half-axes (m) of the piece of ring grid to carve
    margin: int = 0  # which loop is the lid margin (eyes) or the slit (mouth)
    rays: np.ndarray | None = None  # (n, 3) where the points do not lie on the rays of their chart angles
    tilt: float = 0.0  # the hole's second axis leans this far (radians) from up towards +x

    def directions(self) -> np.ndarray:
        """Unit directions (n, 3) from CENTRE that stand for the points (their rays)."""
        return directions(self.elevation, self.theta) if self.rays is None else self.rays

    def local(self, elevation: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chart coordinates (m) around the patch centre: x along theta, y up."""
        e0, t0 = self.centre
        return (theta - t0) * np.cos(e0) * self.radius, (elevation - e0) * self.radius

    def angle(self, elevation: np.ndarray, theta: np.ndarray) -> np.ndarray:
        x, y = self.local(elevation, theta)
        return np.arctan2(y, x)

    def inside_hole(self, elevation: np.ndarray, theta: np.ndarray, scale: float = 1.0) -> np.ndarray:
        x, y = self.local(elevation, theta)
        c, s = np.cos(self.tilt), np.sin(self.tilt)
        return ((x * c - y * s) / self.hole[0]) ** 2 + ((x * s + y * c) / self.hole[1]) ** 2 < scale**2


def _chart(centre: np.ndarray) -> tuple[tuple[float, float], float]:
    e, t = fan_angles(centre[None])
    return (float(e[0]), float(t[0])), float(np.linalg.norm(fan_points(e, t)[0] - CENTRE))


def _to_angles(centre: tuple[float, float], radius: float, x: np.ndarray, y: np.ndarray):
    e0, t0 = centre
    return e0 + y / radius, t0 + x / (np.cos(e0) * radius)


def _crossings(centre, radius, psi: np.ndarray, levels: list[float], reach: tuple[float, float] = (0.003, 0.015)
               ) -> list[np.ndarray]:
    """For each level, chart distances along directions ``psi`` from the eye patch centre just inside and
    just outside where the skin first leaves the eyeball's surface by that much (the lining inside the
    opening, the lid outside it; where the lid overhangs the lining the skin jumps there)."""
    def off(r: np.ndarray, directions: np.ndarray) -> np.ndarray:
        e, t = _to_angles(centre, radius, r * np.cos(directions), r * np.sin(directions))
        return np.linalg.norm(fan_points(e, t) - EYE_CENTRE, axis=1) - EYE_RADIUS

    steps = np.linspace(*reach, 49)  # the opening's edge lies between these distances
    r, directions = np.meshgrid(steps, psi)
    grid = off(r.ravel(), directions.ravel()).reshape(r.shape)
    level = np.repeat(levels, len(psi))
    first = np.argmax(grid[np.tile(np.arange(len(psi)), len(levels))] >= level[:, None], axis=1)
    lo, hi = steps[first - 1], steps[first]  # then halve the step, all levels at once
    every = np.tile(psi, len(levels))
    for _ in range(6):
        mid = 0.5 * (lo + hi)
        below = off(mid, every) < level
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return [b for k in range(len(levels)) for b in (lo[k * len(psi):(k + 1) * len(psi)],
                                                     hi[k * len(psi):(k + 1) * len(psi)])]


def eye_opening() -> tuple[tuple[float, float], float, np.ndarray, np.ndarray, np.ndarray]:
    """The eye patch's chart centre and radius, its loops' directions, and the margin's and the lining's reach."""
    centre, radius = _chart(EYE_CENTRE + [-0.0005, 0.0005, 0.012])
    # Directions spread like the points of an almond-shaped ellipse (wider than tall), corner first.
    t = 2.0 * np.pi * np.arange(EYE_LOOP) / EYE_LOOP
    psi = np.arctan2(0.6 * np.sin(t), np.cos(t))
    _, margin, lining, _ = _crossings(centre, radius, psi, [MARGIN_GAP, LINING_GAP])
    lining = np.minimum(lining, margin - 0.0006)
    return centre, radius, psi, margin, lining


def eye_patch(opening: tuple, edge: np.ndarray | None = None) -> Patch:
    """The patch round the subject's left eye (+X), for its :func:`eye_opening`; the right one mirrors it.

    ``edge`` (k, 2): chart coordinates round the patch centre of the hole's edge the patch fills; its
    outermost loop then keeps an even distance inside it (else it follows the hole's ellipse).
    """
    centre, radius, psi, margin, lining = opening
    a, b = EYE_HOLE[0] - EYE_HOLE_MARGIN, EYE_HOLE[1] - EYE_HOLE_MARGIN  # the outermost loop, inside the hole
    outer = a * b / np.hypot(b * np.cos(psi), a * np.sin(psi))
    if edge is not None:
        # The edge's nearest point between each loop direction's neighbours, so that no edge vertex
        # comes inside the loop's straight sides.
        angle = np.arctan2(edge[:, 1], edge[:, 0])
        dist = np.hypot(edge[:, 0], edge[:, 1])
        order = np.argsort(angle)
        reach = np.interp(psi, angle[order], dist[order], period=2.0 * np.pi)
        for k in range(len(psi)):
            lo, hi = psi[k - 1], psi[(k + 1) % len(psi)]
            between = np.mod(angle - lo, 2.0 * np.pi) < np.mod(hi - lo, 2.0 * np.pi)
            reach[k] = min(reach[k], dist[between].min(initial=reach[k]))
        outer = reach - EYE_EDGE_GAP
    core = EYE_CORE * lining.min()  # the middle of the lining: round, not almond-shaped
    lids = (np.arange(1, EYE_LIDS + 1) / EYE_LIDS) ** 1.25  # closer together near the margin
    radii = [core + k * (lining - core) for k in EYE_LINING] + [lining, margin]
    radii += [margin + k * (outer - margin) for k in lids]
    r = np.array(radii)
    x, y = r * np.cos(psi), r * np.sin(psi)
    e, th = _to_angles(centre, radius, x.ravel(), y.ravel())
    points = fan_points(e, th)
    loops = [k * EYE_LOOP + np.arange(EYE_LOOP) for k in range(len(radii))]
    ring_faces = bands(loops, np.stack([x.ravel(), y.ravel()], 1))
    faces = np.concatenate([orient_like(zipper(loops[0]), ring_faces), ring_faces])
    return Patch(points=points, elevation=e, theta=th, loops=loops, faces=faces, centre=centre, radius=radius,
                 hole=EYE_HOLE, margin=len(EYE_LINING) + 1)


def mirrored(patch: Patch) -> Patch:
    """The same patch on the other side of the face (x -> -x); its loops keep their order, reversed in angle."""
    flip = np.array([-1.0, 1.0, 1.0])
    return Patch(points=patch.points * flip, elevation=patch.elevation, theta=-patch.theta,
                 loops=patch.loops, faces=patch.faces, centre=(patch.centre[0], -patch.centre[1]),
                 radius=patch.radius, hole=patch.hole, margin=patch.margin,
                 rays=None if patch.rays is None else patch.rays * flip, tilt=-patch.tilt)


def mouth_patch() -> Patch:
    """Loops round the mouth slit; loop 0 is the slit (corner, upper edge, corner, lower edge) with the
    lower edge's vertices (indices ``LIP_EDGE + 2 ..``) at the same places as the upper edge's."""
    centre, radius = _chart(MOUTH)
    half = MOUTH_HALF_WIDTH
    m = 2 * LIP_EDGE + 2
    t = 2.0 * np.pi * np.arange(m) / m
    # Along the slit the vertices are spread mostly evenly in x, a little denser at the corners.
    step = 2.0 * np.arange(m) / (LIP_EDGE + 1)
    even = np.where(step <= 2.0, 1.0 - step, step - 3.0)
    unit_x = 0.2 * np.cos(t) + 0.8 * even
    unit_y = np.sign(np.sin(t)) * np.sqrt(np.clip(1.0 - unit_x**2, 0.0, 1.0))
    sides, heights = MOUTH_REACH
    x = np.concatenate([half * unit_x] + [(half + a) * unit_x for a in sides])
    y = np.concatenate([np.zeros(m)] + [b * unit_y for b in heights])
    e, th = _to_angles(centre, radius, x, y)
    points = fan_points(e, th)
    loops = [j * m + np.arange(m) for j in range(len(sides) + 1)]
    hole = (half + sides[-1] + MOUTH_HOLE_MARGIN, heights[-1] + MOUTH_HOLE_MARGIN)
    faces = bands(loops, np.stack([x, y], 1))
    return Patch(points=points, elevation=e, theta=th, loops=loops, faces=faces, centre=centre, radius=radius,
                 hole=hole)
