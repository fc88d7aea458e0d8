"""Identity and expression blend shapes of the demo head: named smooth fields first, then finer random ones."""

from __future__ import annotations

import numpy as np

from .assemble import Template
from .ear import EAR_CENTRE as EAR
from .field import EYE_CENTRE, MOUTH, NECK_Z
from .rays import cast
from .regions import Regions, bump, smoothstep

#: Named identity fields (as built by :func:`shape_fields`) and their largest displacement at coefficient 1.
SHAPE_PEAKS: dict[str, float] = {
    "head size": 0.0045, "head width": 0.0027, "head depth": 0.0035, "face length": 0.004, "jaw width": 0.004,
    "nose length": 0.003, "nose width": 0.002, "cheek fullness": 0.003, "forehead slope": 0.003,
    "chin projection": 0.003, "eye spacing": 0.0015, "brow ridge": 0.0025, "lip fullness": 0.0015,
    "ear size": 0.003, "neck thickness": 0.004, "skull height": 0.003,
}
#: The first shape components, in order of decreasing variance.
SHAPE_NAMES: tuple[str, ...] = (
    "head size", "head depth", "head width", "face length", "jaw width", "ear size", "neck thickness",
    "cheek fullness", "eye spacing", "skull height", "forehead slope", "nose length", "chin projection",
    "brow ridge", "lip fullness", "nose width",
)
EXPRESSION_NAMES: tuple[str, ...] = (
    "smile", "mouth_open", "frown", "pucker", "lip_stretch", "upper_lip_raise", "lower_lip_depress",
    "brows_raise", "brows_lower", "brows_inner_raise", "cheek_puff", "blink_left", "blink_right",
    "nose_wrinkle", "smile_left", "smile_right", "jaw_sideways", "lips_press", "mouth_sideways", "squint",
)
SEED = 20240917
#: Neighbour-averaging passes over the blink move, and how far past the smoothed closed lid a blink of 1 goes.
BLINK_SMOOTHING = 12
BLINK_REACH = 1.0

def _unit_x(p: np.ndarray) -> np.ndarray:
    return np.stack([p[:, 0], np.zeros(len(p)), np.zeros(len(p))], 1)


def shape_fields(p: np.ndarray, n: np.ndarray, reg: Regions) -> list[np.ndarray]:
    """Displacements (V, 3) of the named identity components, before scaling."""
    eye = EYE_CENTRE
    zero = np.zeros(len(p))
    face = bump(p, [0.0, -0.01, 0.09], [0.07, 0.08, 0.07], mirror=False)
    lower = smoothstep((0.02 - p[:, 1]) / 0.06) * smoothstep((p[:, 2] + 0.02) / 0.05)
    nose = bump(p, [0.0, -0.005, 0.1], [0.014, 0.022, 0.02], mirror=False)
    top = smoothstep((p[:, 1] - 0.03) / 0.08)
    neck = smoothstep((-0.06 - p[:, 1]) / 0.04)
    out = [
        p - [0.0, -0.02, -0.01],
        _unit_x(p) * (1.0 - 0.5 * neck[:, None]),
        np.stack([zero, zero, p[:, 2] + 0.01], 1) * (1.0 - neck)[:, None],
        np.stack([zero, np.minimum(p[:, 1] - 0.03, 0.0), zero], 1) * (face * (1.0 - neck))[:, None],
        _unit_x(p) * (lower * (1.0 - neck))[:, None],
        nose[:, None] * [0.0, -0.25, 1.0],
        _unit_x(p) * (nose * smoothstep((0.01 - p[:, 1]) / 0.02))[:, None],
        n * bump(p, [0.045, -0.03, 0.05], [0.022, 0.025, 0.03])[:, None],
        n * bump(p, [0.0, 0.075, 0.07], [0.06, 0.03, 0.05], mirror=False)[:, None],
        bump(p, [0.0, -0.075, 0.065], [0.025, 0.02, 0.025], mirror=False)[:, None] * [0.0, -0.3, 1.0],
        reg.side[:, None] * [1.0, 0.0, 0.0] * bump(p, eye, [0.02, 0.018, 0.04])[:, None],
        n * bump(p, [0.028, 0.046, 0.065], [0.025, 0.01, 0.02])[:, None],
        n * bump(p, MOUTH, [0.022, 0.01, 0.02], mirror=False)[:, None],
        (p - np.where(p[:, :1] >= 0.0, EAR, EAR * [-1.0, 1.0, 1.0])) * bump(p, EAR, [0.02, 0.035, 0.025])[:, None],
        np.stack([p[:, 0], zero, p[:, 2] - NECK_Z], 1) * neck[:, None],
        np.stack([zero, p[:, 1] - 0.03, zero], 1) * top[:, None],
    ]
    return out


def expression_fields(p: np.ndarray, n: np.ndarray, reg: Regions, template: Template) -> list[np.ndarray]:
    """Displacements (V, 3) of the named expression components, before scaling."""
    below = reg.below_mouth
    upper_lip = bump(p, [0.0, -0.04, 0.085], [0.024, 0.009, 0.02], mirror=False) * (1.0 - below)
    lower_lip = bump(p, [0.0, -0.05, 0.083], [0.022, 0.012, 0.02], mirror=False) * below
    lips = bump(p, MOUTH, [0.026, 0.013, 0.02], mirror=False)
    corners = bump(p, [0.025, -0.044, 0.076], [0.013, 0.012, 0.02])
    chin = bump(p, [0.0, -0.07, 0.06], [0.04, 0.035, 0.05], mirror=False) * below
    cheeks = bump(p, [0.035, -0.008, 0.065], [0.02, 0.016, 0.025])
    brows = bump(p, [0.03, 0.047, 0.068], [0.03, 0.018, 0.03])
    inner_brows = bump(p, [0.012, 0.046, 0.075], [0.013, 0.014, 0.03])
    side = reg.side[:, None]
    left = smoothstep(p[:, 0] / 0.02 + 0.5)[:, None]
    smile = corners[:, None] * (side * [0.35, 0.0, 0.0] + [0.0, 0.55, -0.4]) + cheeks[:, None] * [0.0, 0.35, 0.1]
    blink_l, blink_r = blinks(template)
    return [
        smile,
        lower_lip[:, None] * [0.0, -0.45, 0.6] + chin[:, None] * [0.0, -0.45, -0.05]
        + upper_lip[:, None] * [0.0, 0.06, -0.3],
        corners[:, None] * (side * [0.1, 0.0, 0.0] + [0.0, -0.6, 0.0]) + chin[:, None] * [0.0, 0.12, 0.05],
        lips[:, None] * (-side * [0.45, 0.0, 0.0] + [0.0, 0.0, 0.6]),
        corners[:, None] * (side * [0.7, 0.0, 0.0] + [0.0, 0.0, -0.3]),
        upper_lip[:, None] * [0.0, 0.6, -0.5],
        lower_lip[:, None] * [0.0, -0.6, 0.6],
        brows[:, None] * [0.0, 1.0, 0.1],
        brows[:, None] * (-side * [0.25, 0.0, 0.0] + [0.0, -0.7, 0.1]),
        inner_brows[:, None] * [0.0, 0.9, 0.0],
        n * bump(p, [0.042, -0.032, 0.055], [0.02, 0.022, 0.03])[:, None],
        blink_l,
        blink_r,
        bump(p, [0.011, 0.008, 0.088], [0.01, 0.014, 0.02])[:, None] * [0.0, 0.6, 0.2]
        + bump(p, [0.014, -0.014, 0.085], [0.008, 0.008, 0.012])[:, None] * [0.0, 0.5, 0.0],
        smile * left,
        smile * (1.0 - left),
        chin[:, None] * [0.7, 0.0, 0.0] - lower_lip[:, None] * [0.3, 0.0, 0.0],
        upper_lip[:, None] * [0.0, -0.2, 0.05] + lower_lip[:, None] * [0.0, 0.25, -0.35],
        lips[:, None] * [0.7, 0.0, 0.0],
        bump(p, EYE_CENTRE + [0.0, -0.013, 0.012], [0.016, 0.01, 0.02])[:, None] * [0.0, 0.5, 0.15],
    ]


def blinks(template: Template) -> tuple[np.ndarray, np.ndarray]:
    """Lids closing over the left and the right eye: the skin moved to where it lies with the eyes shut.

    The move along each vertex's ray is smoothed over the mesh, so that the lid margin stretches
    rather than folds when the component is pushed past a full blink.
    """
    skin = template.skin
    p = skin.vertices
    mirrored = p.copy()
    mirrored[:, 0] = np.abs(p[:, 0])
    near = (np.linalg.norm(mirrored - EYE_CENTRE, axis=1) < 0.03) & ~skin.lower_lip
    idx = np.nonzero(near)[0]
    t_closed = cast(skin.origins[idx], skin.directions[idx], eyes_open=False)
    t_open = np.linalg.norm(p[idx] - skin.origins[idx], axis=1)
    along = np.zeros(len(p))
    along[idx] = t_closed - t_open
    along = smooth(along, skin.faces, near, BLINK_SMOOTHING)
    delta = np.zeros((len(template.vertices), 3))
    delta[: len(p)] = (along * BLINK_REACH)[:, None] * skin.directions
    x = template.vertices[:, :1]
    return delta * (x > 0.0), delta * (x < 0.0)


def smooth(values: np.ndarray, faces: np.ndarray, free: np.ndarray, iterations: int) -> np.ndarray:
    """Values averaged with their mesh neighbours ``iterations`` times, only where ``free``."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges = np.concatenate([edges, edges[:, ::-1]])
    degree = np.bincount(edges[:, 0], minlength=len(values))
    out = values.copy()
    for _ in range(iterations):
        mean = np.bincount(edges[:, 0], weights=out[edges[:, 1]], minlength=len(values)) / np.maximum(degree, 1)
        out = np.where(free, 0.5 * out + 0.5 * mean, out)
    return out


def random_shape_fields(p: np.ndarray, n: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, V, 3) smooth symmetric fields along the normals, coarse to fine."""
    x = p[:, 0] / 0.09
    y = (p[:, 1] + 0.01) / 0.14
    z = p[:, 2] / 0.11
    a, b, c = (g.ravel() for g in np.meshgrid(np.arange(5), np.arange(7), np.arange(7), indexing="ij"))
    basis = (
        np.cos(np.pi * a[None] * x[:, None])
        * np.cos(0.5 * np.pi * b[None] * (y[:, None] + 1.0))
        * np.cos(0.5 * np.pi * c[None] * (z[:, None] + 1.0))
    )  # (V, K)
    freq = np.sqrt(a * a + 0.25 * b * b + 0.25 * c * c)
    level = 0.8 + 3.2 * np.linspace(0.0, 1.0, count)
    coeff = rng.normal(size=(len(freq), count)) * np.exp(-(((freq[:, None] - level[None]) / 0.7) ** 2))
    magnitude = basis @ coeff  # (V, count)
    return magnitude.T[:, :, None] * n[None]


def random_expression_fields(p: np.ndarray, n: np.ndarray, reg: Regions, count: int, rng: np.random.Generator):
    """(count, V, 3) localized smooth bumps on the face, along the normal and sideways."""
    face = np.nonzero(reg.skin & ~reg.cavity & (p[:, 2] > 0.03) & (p[:, 1] > -0.095) & (p[:, 1] < 0.07))[0]
    centres = p[rng.choice(face, size=count)]
    radius = rng.uniform(0.008, 0.02, size=count)
    d2 = ((p[None, :, :] - centres[:, None, :]) ** 2).sum(-1)
    weight = np.exp(-d2 / radius[:, None] ** 2) * reg.skin[None]
    direction = rng.normal(size=(count, 3)) * [0.6, 0.6, 0.3]
    along = rng.normal(size=(count, 1))
    return weight[:, :, None] * (along[:, :, None] * n[None] + direction[:, None, :])


def attach_eyes(fields: np.ndarray, template: Template) -> np.ndarray:
    """Move each eyeball rigidly with the skin around its socket (fields (K, V, 3))."""
    skin = template.vertices[: template.n_skin]
    for idx, centre in ((template.left_eye, template.eye_centres[0]), (template.right_eye, template.eye_centres[1])):
        w = np.exp(-(((skin - centre) / 0.015) ** 2).sum(1))
        w /= w.sum()
        fields[:, idx, :] = np.einsum("v,kvc->kc", w, fields[:, : template.n_skin, :])[:, None, :]
    return fields


def rms(fields: np.ndarray) -> np.ndarray:
    return np.sqrt((fields**2).sum(-1).mean(-1))


def shapedirs(template: Template, reg: Regions, n_shape: int) -> np.ndarray:
    """(V, 3, n_shape): RMS displacement per unit coefficient decreasing with the index."""
    rng = np.random.default_rng(SEED)
    p = reg.points
    named = np.stack(shape_fields(p, reg.rays, reg)) * reg.skin[None, :, None]
    named *= (np.asarray(list(SHAPE_PEAKS.values())) / np.linalg.norm(named, axis=-1).max(axis=1))[:, None, None]
    named = named[[list(SHAPE_PEAKS).index(name) for name in SHAPE_NAMES]]
    rest = random_shape_fields(p, reg.rays, n_shape - len(named), rng) * reg.skin[None, :, None]
    fields = attach_eyes(np.concatenate([named, rest]), template)
    k = len(named)
    # Named components in order of decreasing variance: one that would exceed its predecessor is scaled down.
    r = rms(fields[:k])
    fields[:k] *= (np.minimum.accumulate(r / (0.99 ** np.arange(k))) * 0.99 ** np.arange(k) / r)[:, None, None]
    decay = np.linspace(1.0, (n_shape / k) ** -0.8, n_shape - k)
    fields[k:] *= (0.9 * rms(fields[:k]).min() * decay / rms(fields[k:]))[:, None, None]
    return np.ascontiguousarray(fields.transpose(1, 2, 0))


def exprdirs(template: Template, reg: Regions, n_expression: int) -> np.ndarray:
    """(V, 3, n_expression): named expressions peaking near 5 mm, then smaller local bumps."""
    rng = np.random.default_rng(SEED + 1)
    p = reg.points
    named = np.stack(expression_fields(p, reg.rays, reg, template))
    rest = random_expression_fields(p, reg.rays, reg, n_expression - len(named), rng)
    fields = np.concatenate([named, rest]) * reg.skin[None, :, None]
    peak = np.linalg.norm(fields, axis=-1).max(axis=1)
    target = np.concatenate([
        np.full(len(named), 0.005), 0.0025 * np.linspace(1.0, 0.3, n_expression - len(named)),
    ])
    names = {name: i for i, name in enumerate(EXPRESSION_NAMES)}
    for name in ("blink_left", "blink_right"):
        target[names[name]] = peak[names[name]]  # the lids close exactly at 1
    fields *= (target / peak)[:, None, None]
    return np.ascontiguousarray(fields.transpose(1, 2, 0))
