"""Skin plus eyeballs: the demo template mesh, its UVs and per-vertex facts for the later stages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import eyes
from .field import EYE_CENTRE, EYE_RADIUS
from .surface import Skin, build_skin

N_VERTICES = 5023
N_FACES = 9976
#: The head island of the UV layout spans u in [0, HEAD_U]; the eyes sit to its right.
HEAD_U = 0.78
#: The mouth cavity's island: a narrow strip (u0, v0, width, height) between the head and the eyes.
CAVITY_UV = (HEAD_U + 0.003, 0.05, 0.014, 0.1)


@dataclass(frozen=True)
class Template:
    """The template mesh: skin vertices first, then the left and the right eyeball."""

    vertices: np.ndarray
    faces: np.ndarray
    uv_coords: np.ndarray
    uv_faces: np.ndarray
    skin: Skin
    n_skin: int
    left_eye: np.ndarray  # vertex indices of the left eyeball (+X)
    right_eye: np.ndarray
    eye_centres: np.ndarray  # (2, 3): left, right

    @property
    def skin_slice(self) -> slice:
        return slice(0, self.n_skin)


def build_template() -> Template:
    n_skin = N_VERTICES - 2 * eyes.N_EYE_VERTICES
    skin = build_skin(n_skin)
    centres = np.array([EYE_CENTRE, EYE_CENTRE * [-1.0, 1.0, 1.0]])
    left_v, eye_faces = eyes.sphere(centres[0], EYE_RADIUS)
    right_v, _ = eyes.sphere(centres[1], EYE_RADIUS)
    _, eye_uv_faces = eyes.topology()
    vertices = np.concatenate([skin.vertices, left_v, right_v])
    left = n_skin + np.arange(eyes.N_EYE_VERTICES)
    right = left + eyes.N_EYE_VERTICES
    faces = np.concatenate([skin.faces, eye_faces + left[0], eye_faces + right[0]])
    # UVs: the head squeezed into [0, HEAD_U] x [0, 1], the cavity beside it, one square per eye to its right.
    u0, v0, width, height = CAVITY_UV
    head_uv = np.where(
        skin.uv_cavity[:, None], [u0, v0] + skin.uv_coords * [width, height], skin.uv_coords * [HEAD_U, 1.0]
    )
    size = 0.98 - HEAD_U - 0.02
    left_uv = eyes.uv_layout((HEAD_U + 0.02, 0.52), size)
    right_uv = eyes.uv_layout((HEAD_U + 0.02, 0.52 - size - 0.04), size)
    uv_coords = np.concatenate([head_uv, left_uv, right_uv])
    n_eye_uv = len(left_uv)
    uv_faces = np.concatenate([
        skin.uv_faces, eye_uv_faces + len(head_uv), eye_uv_faces + len(head_uv) + n_eye_uv,
    ])
    assert len(vertices) == N_VERTICES and len(faces) == N_FACES, (len(vertices), len(faces))
    return Template(
        vertices=vertices, faces=faces, uv_coords=uv_coords, uv_faces=uv_faces, skin=skin, n_skin=n_skin,
        left_eye=left, right_eye=right, eye_centres=centres,
    )
