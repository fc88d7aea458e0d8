"""Soft regions of the demo head: smooth weights over the template used by the rig, blend shapes and masks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..mesh import vertex_normals
from .assemble import Template
from .field import MOUTH, MOUTH_HALF_WIDTH

#: Where the jaw hinges (temporomandibular joints, both sides).
TMJ = np.array([0.062, 0.002, -0.016])


def smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def bump(p: np.ndarray, centre: np.ndarray | list[float], radii: float | list[float], mirror: bool = True
         ) -> np.ndarray:
    """Smooth bump exp(-|(p - c) / r|^2), on both sides when ``mirror`` (|x|)."""
    q = p.copy()
    if mirror:
        q[:, 0] = np.abs(q[:, 0])
    d = (q - np.asarray(centre)) / np.asarray(radii)
    return np.exp(-(d * d).sum(axis=1))


@dataclass(frozen=True)
class Regions:
    """Per-vertex facts about the template (all arrays over every vertex)."""

    points: np.ndarray  # (V, 3)
    normals: np.ndarray  # (V, 3) skin normals with the mouth slit welded (the pocket's: its lips'); eyeballs radial
    rays: np.ndarray  # (V, 3) smooth outward directions: the skin's ray directions; eyeballs radial
    skin: np.ndarray  # (V,) bool
    cavity: np.ndarray  # (V,) bool: the mouth pocket behind the lips
    below_mouth: np.ndarray  # (V,) 0 above the mouth line, 1 below (the lower lip's twins are 1)
    side: np.ndarray  # (V,) smooth sign of x: -1 right .. +1 left


def regions(template: Template) -> Regions:
    p = template.vertices
    skin = np.zeros(len(p), bool)
    skin[template.skin_slice] = True
    # Normals on the welded skin without the mouth pocket (both lips share one normal; the pocket's
    # vertices take the normal of the lip vertex they continue), radial on the eyeballs.
    weld = np.arange(len(p))
    weld[template.skin.slit_lower] = template.skin.slit
    cavity = np.zeros(len(p), bool)
    cavity[template.skin_slice] = template.skin.cavity
    normals = vertex_normals(p, weld[template.faces[~cavity[template.faces].any(axis=1)]])
    normals[template.skin.slit_lower] = normals[template.skin.slit]
    normals[template.skin_slice] = normals[template.skin.cavity_source].mean(axis=1)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    for idx, centre in ((template.left_eye, template.eye_centres[0]), (template.right_eye, template.eye_centres[1])):
        radial = p[idx] - centre
        normals[idx] = radial / np.linalg.norm(radial, axis=1, keepdims=True)
    rays = normals.copy()
    rays[template.skin_slice] = template.skin.directions
    below = below_mouth_line(p, template)
    side = np.tanh(p[:, 0] / 0.012)
    return Regions(points=p, normals=normals, rays=rays, skin=skin, cavity=cavity, below_mouth=below, side=side)


def mouth_angle(p: np.ndarray) -> np.ndarray:
    """Angle (radians) of points below the horizontal, seen from the jaw hinge axis in the side view."""
    return np.arctan2(TMJ[1] - p[:, 1], p[:, 2] - TMJ[2])


def below_mouth_line(p: np.ndarray, template: Template) -> np.ndarray:
    """0 above the line through the mouth slit, 1 below: sharp at the lips, soft towards the ears."""
    beta = mouth_angle(p) - mouth_angle(MOUTH[None])[0]
    lateral = smoothstep((np.abs(p[:, 0]) - 0.8 * MOUTH_HALF_WIDTH) / (0.8 * MOUTH_HALF_WIDTH))
    width = np.radians(0.6 + 16.0 * lateral)
    out = smoothstep(beta / (2.0 * width) + 0.5)
    out[template.skin.slit] = 0.0
    out[template.skin.slit_lower] = 1.0
    out[template.skin_slice] = out[template.skin.cavity_source].mean(axis=1)  # the pocket follows its lip edge
    return out
