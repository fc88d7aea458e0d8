"""The demo head as an implicit surface: approximate signed distances of ellipsoids and tubes, smoothly blended."""

from __future__ import annotations

import numpy as np

#: Eyeball centre of the subject's left eye (+X); the right eye mirrors it.
EYE_CENTRE = np.array([0.0315, 0.027, 0.052])
EYE_RADIUS = 0.0122
#: How far beneath the eyeball's surface the skin lines the eye opening.
LINING = 0.001
#: Midline point of the mouth slit (where the lips meet).
MOUTH = np.array([0.0, -0.044, 0.087])
MOUTH_HALF_WIDTH = 0.025
#: Axis of the neck cylinder (x = 0, z = NECK_Z) and its radii.
NECK_Z = -0.012
NECK_RADII = (0.05, 0.054)
NECK_BOTTOM = -0.15


def ellipsoid(p: np.ndarray, centre: np.ndarray | list[float], radii: np.ndarray | list[float]) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipsoid (exact on the surface, smooth)."""
    c, r = np.asarray(centre, dtype=p.dtype), np.asarray(radii, dtype=p.dtype)
    qx, qy, qz = ((p[..., i] - c[i]) / r[i] for i in range(3))
    k0 = np.sqrt(qx * qx + qy * qy + qz * qz)
    qx /= r[0]
    qy /= r[1]
    qz /= r[2]
    k1 = np.sqrt(qx * qx + qy * qy + qz * qz)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)


def tube(p: np.ndarray, a: list[float], b: list[float], ra: float, rb: float) -> np.ndarray:
    """Distance to a segment a-b with a radius varying linearly from ``ra`` to ``rb``."""
    a_, b_ = np.asarray(a, dtype=p.dtype), np.asarray(b, dtype=p.dtype)
    ab = b_ - a_
    dx, dy, dz = (p[..., i] - a_[i] for i in range(3))
    t = np.clip((dx * ab[0] + dy * ab[1] + dz * ab[2]) / (ab @ ab), 0.0, 1.0)
    dx -= t * ab[0]
    dy -= t * ab[1]
    dz -= t * ab[2]
    return np.sqrt(dx * dx + dy * dy + dz * dz) - (ra + t * (rb - ra))


def smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Smooth union of two distance fields (blend radius ``k``)."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def smax(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Smooth intersection of two distance fields."""
    return -smin(-a, -b, k)


def mirror(p: np.ndarray) -> np.ndarray:
    """Points with |x|: evaluates symmetric parts once."""
    q = p.copy()
    q[..., 0] = np.abs(q[..., 0])
    return q


def head_field(p: np.ndarray, eyes_open: bool = True) -> np.ndarray:
    """Signed distance-like field of the head (negative inside) at points (..., 3).

    With ``eyes_open`` the skin in front of the eyeballs is cut away in almond-shaped openings and
    lines the eyeball just beneath its surface; without, the lids cover the eyeballs.
    """
    m = mirror(p)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    eye = np.asarray(EYE_CENTRE, dtype=p.dtype)
    # Cranium, lower face and jaw, chin.
    # The cranium narrows below the eyes, so that the cheekbones (bizygomatic) are narrower than the skull.
    taper = p.copy()
    taper[..., 0] *= 1.0 + 0.07 * np.clip((0.035 - y) / 0.05, 0.0, 1.0)
    d = ellipsoid(taper, [0.0, 0.036, -0.012], [0.077, 0.095, 0.094])
    d = smin(d, ellipsoid(p, [0.0, -0.022, 0.012], [0.055, 0.056, 0.066]), 0.02)
    d = smin(d, tube(m, [0.048, -0.045, -0.014], [0.014, -0.074, 0.056], 0.011, 0.012), 0.018)
    d = smin(d, ellipsoid(p, [0.0, -0.075, 0.064], [0.022, 0.017, 0.02]), 0.012)
    # The muzzle the lips sit on (maxilla and teeth), and full cheeks down to the jaw.
    d = smin(d, ellipsoid(p, [0.0, -0.042, 0.058], [0.03, 0.028, 0.026]), 0.012)
    d = smin(d, ellipsoid(m, [0.036, -0.028, 0.052], [0.022, 0.028, 0.024]), 0.015)
    # The masseter over the jaw's ramus.
    d = smin(d, ellipsoid(m, [0.048, -0.03, 0.02], [0.017, 0.032, 0.032]), 0.02)
    # Neck: an elliptic cylinder ending inside the head.
    neck = (np.hypot(x / NECK_RADII[0], (z - NECK_Z) / NECK_RADII[1]) - 1.0) * min(NECK_RADII)
    neck = smax(neck, y + 0.02, 0.02)
    d = smin(d, neck, 0.025)
    # Brow ridge and cheekbones.
    d = smin(d, ellipsoid(m, [0.026, 0.047, 0.062], [0.028, 0.009, 0.014]), 0.012)
    d = smin(d, ellipsoid(m, [0.044, 0.0, 0.045], [0.02, 0.016, 0.02]), 0.014)
    # Eye sockets, then the eyeball bulge the lids wrap around.
    d = smax(d, -ellipsoid(m, EYE_CENTRE + [0.0, 0.0, 0.024], [0.021, 0.014, 0.014]), 0.01)
    d = smin(d, np.sqrt(((m - eye) ** 2).sum(-1)) - (EYE_RADIUS + 0.0022), 0.006)
    # Nose: bridge-to-tip tube, tip ball, wings (alae).
    d = smin(d, tube(p, [0.0, 0.03, 0.072], [0.0, -0.006, 0.1], 0.0055, 0.008), 0.02)
    d = smin(d, ellipsoid(p, [0.0, -0.009, 0.1], [0.0095, 0.0085, 0.0085]), 0.006)
    d = smin(d, ellipsoid(m, [0.0115, -0.015, 0.084], [0.0085, 0.007, 0.008]), 0.009)
    # Lips: the upper lip's two rolls (the cupid's bow between them), the rounder lower lip, the crease between.
    d = smin(d, tube(m, [0.0, -0.0395, 0.0845], [0.022, -0.042, 0.076], 0.005, 0.003), 0.006)
    d = smin(d, ellipsoid(p, [0.0, -0.0488, 0.079], [0.021, 0.0058, 0.0092]), 0.006)
    crease = ellipsoid(p, [0.0, MOUTH[1], MOUTH[2] + 0.006], [MOUTH_HALF_WIDTH, 0.0016, 0.011])
    d = smax(d, -crease, 0.002)
    if eyes_open:
        almond = ellipsoid(m, EYE_CENTRE + [-0.0005, 0.0005, 0.012], [0.0118, 0.0062, 0.014])
        d = smax(d, -almond, 0.0015)
        # Inside the opening the skin lines the eyeball just beneath its surface (hidden by it).
        d = smin(d, np.sqrt(((m - eye) ** 2).sum(-1)) - (EYE_RADIUS - LINING), 0.0008)
    return d
