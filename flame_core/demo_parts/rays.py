"""Rays onto the implicit head: every skin vertex is where a ray from the head's vertical axis meets the surface.

A ray is named by its sweep parameter s (0 at the crown, 1 at the neck opening) and its angle theta
around the head (0 at the front, positive towards +X). Above ``SPLIT`` the rays fan out from
``CENTRE`` (s is then proportional to the elevation); below, their origin slides down the neck.
The face lies in the fan, so (elevation, theta) is a chart of it: the eye and mouth patches are
laid out in it.
"""

from __future__ import annotations

import numpy as np

from .field import NECK_BOTTOM, NECK_Z, head_field

#: Origin of the upper rays (near the middle of the head).
CENTRE = np.array([0.0, 0.012, NECK_Z])
#: Lowest elevation (degrees) of rays from CENTRE; below it the origin slides down the neck.
LOW_ELEVATION = -66.0
SPLIT = 0.72


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


def elevation(s: np.ndarray) -> np.ndarray:
    """Elevation (radians) of the rays of sweep parameters s."""
    upper = np.clip(s / SPLIT, 0.0, 1.0)
    lower = np.clip((s - SPLIT) / (1.0 - SPLIT), 0.0, 1.0)
    low = np.radians(LOW_ELEVATION)
    return np.where(lower > 0.0, low * (1.0 - lower), np.radians(90.0) + (low - np.radians(90.0)) * upper)


def fan_s(elev: np.ndarray) -> np.ndarray:
    """Sweep parameter of rays from CENTRE at elevations ``elev`` (the inverse of :func:`elevation` above SPLIT)."""
    return SPLIT * (elev - np.radians(90.0)) / (np.radians(LOW_ELEVATION) - np.radians(90.0))


def sweep(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ray origin (N, 3) and elevation (N,) radians for sweep parameters s in [0, 1].

    Up to ``SPLIT`` the rays fan out from CENTRE; below, the origin slides down the neck axis while
    the rays level out, so that their hits on the neck descend evenly to the opening.
    """
    lower = np.clip((s - SPLIT) / (1.0 - SPLIT), 0.0, 1.0)
    elev = elevation(s)
    radius = 0.052
    low = np.radians(LOW_ELEVATION)
    start = CENTRE[1] + np.tan(low) * radius
    hit_y = start + (NECK_BOTTOM - start) * lower
    origins = np.tile(CENTRE, (len(s), 1))
    origins[:, 1] = np.where(lower > 0.0, hit_y - np.tan(elev) * radius, CENTRE[1])
    return origins, elev


def directions(elev: np.ndarray, theta: np.ndarray) -> np.ndarray:
    ce = np.cos(elev)
    return np.stack([ce * np.sin(theta), np.sin(elev) * np.ones_like(theta), ce * np.cos(theta)], axis=-1)


def hits(s: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Surface points (len(s), len(theta), 3) of the rays of sweep parameters s at angles theta."""
    origins, elev = sweep(s)
    o = np.repeat(origins, len(theta), axis=0)
    d = directions(np.repeat(elev, len(theta)), np.tile(theta, len(s)))
    t = cast(o, d)
    return (o + t[:, None] * d).reshape(len(s), len(theta), 3)


def fan_points(elev: np.ndarray, theta: np.ndarray, eyes_open: bool = True) -> np.ndarray:
    """Surface points (N, 3) hit by rays from CENTRE at elevations and angles (N,)."""
    d = directions(elev, theta)
    o = np.broadcast_to(CENTRE, d.shape)
    return o + cast(o, d, eyes_open)[:, None] * d


def fan_angles(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elevation and angle (N,) of points (N, 3) seen from CENTRE."""
    q = points - CENTRE
    return np.arctan2(q[:, 1], np.hypot(q[:, 0], q[:, 2])), np.arctan2(q[:, 0], q[:, 2])
