"""The ears: a patch of loops swept round the ear's outline, from where it joins the head to the ear canal.

Each loop is the ear's outline (an egg, 6 cm long and 3.3 cm wide, leaning back) scaled towards its
middle and lifted off the head. Read from the head inwards, the loops rise up the back of the helix
to its rim, curl over and under it into the scapha (the groove inside the rim), climb the antihelix,
drop into the concha (the bowl) and end at the ear canal. The ear stands out most at the back and
little at the front, where the tragus rises over the concha.
"""

from __future__ import annotations

import numpy as np

from .loops import bands, fan, orient_like
from .patches import Patch
from .rays import CENTRE, fan_angles, fan_points

#: Where the ear's middle lies on the side of the head (subject's left): the ear spans from the brow
#: line down to the nose base.
EAR_CENTRE = np.array([0.0735, 0.012, -0.024])
#: Half-length and half-width (m) of the ear's outline, and how far it leans back (radians).
HALF_LENGTH = 0.03
HALF_WIDTH = 0.0165
LEAN = 0.25
#: Points per loop.
EAR_LOOP = 24
#: The loops' profile, from the head inwards: share of the outline, and height (m) off the head at the back.
PROFILE = np.array([
    (1.22, 0.0), (1.0, 0.0), (1.03, 0.005), (1.02, 0.011), (0.96, 0.0155), (0.89, 0.016), (0.84, 0.0135),
    (0.855, 0.0085), (0.77, 0.0075), (0.67, 0.0125), (0.56, 0.0095), (0.43, 0.003), (0.29, 0.0),
])
#: The same at the bottom, the lobe (lobule): full and soft, no rim curling over.
LOBE = np.array([
    (1.22, 0.0), (1.0, 0.0), (1.03, 0.004), (1.02, 0.008), (0.97, 0.011), (0.91, 0.0115), (0.86, 0.011),
    (0.82, 0.0105), (0.76, 0.01), (0.68, 0.0105), (0.57, 0.0095), (0.44, 0.004), (0.3, 0.0005),
])
#: How far (m, back and up in the chart) the bowl's middle lies from the outline's.
CONCHA_SHIFT = np.array([-0.004, -0.008])
#: Depth of the ear canal (the middle) below the head's surface.
CANAL = 0.003
#: The share of the height the ear keeps at its front edge (it stands out fully at the back).
FRONT = 0.3
#: The tragus: the loop it rises on and how high.
TRAGUS_LOOP = 10
TRAGUS = 0.006
#: Half-axes (m, in the ray chart) of the piece of ring grid the ear replaces.
HOLE = (0.0235, 0.0385)


def ear_patch() -> Patch:
    """The left ear (+X); the right one mirrors it."""
    e0, t0 = (float(a[0]) for a in fan_angles(EAR_CENTRE[None]))
    centre_on_head = fan_points(np.array([e0]), np.array([t0]))[0]
    radius = float(np.linalg.norm(centre_on_head - CENTRE))
    normal = np.array([np.sin(t0), 0.0, np.cos(t0)])  # out from the head, level
    # The outline in the ray chart (x back along the head, y up), leaning back; 0 at the front.
    t = 2.0 * np.pi * np.arange(EAR_LOOP) / EAR_LOOP
    width = HALF_WIDTH * (1.0 + 0.12 * np.sin(t))  # wider at the top
    back, along = -width * np.cos(t), HALF_LENGTH * np.sin(t)
    outline = np.stack([back * np.cos(LEAN) + along * np.sin(LEAN), along * np.cos(LEAN) - back * np.sin(LEAN)], 1)
    stand = FRONT + (1.0 - FRONT) * 0.5 * (1.0 - np.cos(t))  # 1 at the back, FRONT at the front
    tragus = TRAGUS * np.exp(-((np.angle(np.exp(1j * t)) / 0.45) ** 2))
    lobe = np.clip((-np.sin(t) - 0.45) / 0.45, 0.0, 1.0)
    lobe = lobe * lobe * (3.0 - 2.0 * lobe)  # 1 round the bottom
    profile = PROFILE[:, None, :] + lobe[None, :, None] * (LOBE - PROFILE)[:, None, :]  # (loops, n, 2)
    share, height = profile[..., 0], profile[..., 1]  # loops from the skirt on the head in to the ear
    shift = CONCHA_SHIFT * np.clip(1.0 - share / 0.8, 0.0, 1.0)[..., None]  # the concha lies low, to the front
    e = e0 + (share * outline[:, 1] + shift[..., 1]) / radius  # (loops, n)
    th = t0 + (share * outline[:, 0] + shift[..., 0]) / (np.cos(e0) * radius)
    lift = height * stand + np.where(np.arange(len(PROFILE))[:, None] == TRAGUS_LOOP, tragus, 0.0)
    on_head = fan_points(e.ravel(), th.ravel()).reshape(len(PROFILE), EAR_LOOP, 3)
    rings = list(on_head + lift[..., None] * normal)
    charts = list(zip(e, th))
    canal = fan_points(np.array([e0 + CONCHA_SHIFT[1] / radius]),
                       np.array([t0 + CONCHA_SHIFT[0] / (np.cos(e0) * radius)]))[0] - CANAL * normal
    points = np.concatenate(rings[::-1] + [canal[None]])  # innermost loop first, the canal last
    n_loops = len(PROFILE)
    loops = [k * EAR_LOOP + np.arange(EAR_LOOP) for k in range(n_loops)]
    # Chart angles: the joining loop's own; the loops inside it shrink towards the middle (for the UVs).
    e_join, t_join = charts[0]
    shrink = np.repeat((np.arange(n_loops) + 1.0) / n_loops, EAR_LOOP)
    elevation = np.append(e0 + shrink * (np.tile(e_join, n_loops) - e0), e0)  # the canal's: the middle
    theta = np.append(t0 + shrink * (np.tile(t_join, n_loops) - t0), t0)
    flat = np.stack([theta * np.cos(e0), elevation], 1)
    ring_faces = bands(loops, flat)
    faces = np.concatenate([orient_like(fan(loops[0], len(points) - 1), ring_faces), ring_faces])
    rays = points - CENTRE
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    return Patch(points=points, elevation=elevation, theta=theta, loops=loops, faces=faces, centre=(e0, t0),
                 radius=radius, hole=HOLE, rays=rays, tilt=LEAN)
