"""A FLAME performance as an engine rig: skinned mesh, blend shapes, bone and weight animation.

Engines skin with fixed bind joints: ``v = sum_j w_j M_j (rest + sum_k e_k E_k + sum_c p_c P_c)`` with
``M_j`` a bone's world transform times its inverse bind matrix. FLAME has the same structure, except
that its joints move with the expression. This module turns FLAME parameters into that form:

- each vertex keeps its 4 largest skinning weights (what glTF viewers blend), renormalised, unless asked
  to keep all five;
- the rest mesh is the identity (shape) with no expression; the bind joints are the identity's joints
  at the range's mean expression, so bone offsets stay small;
- every bone's frame is FLAME's axes (an export armature whose bones all share the rest orientation
  FLAME -> Blender), so a bone's local rotation is FLAME's joint rotation itself, kept as a unit
  quaternion (w, x, y, z);
- per-frame bone translations absorb the joints' motion with expression: the bone's world position is
  chosen so that its skinning transform equals FLAME's exactly (``joint_translations=False`` keeps only
  the root's translation, leaving the rest joints fixed as a plain engine rig would);
- the 36 pose correctives are blend shapes whose weights are ``R_j - I`` (row-major), quadratic
  polynomials of the quaternion (:data:`CORRECTIVE_EXPRESSIONS`), so Blender drivers can compute them
  as simple expressions from the bones' quaternion channels.

:func:`engine_vertices` evaluates the rig the way an engine does; :func:`deviation` compares it with
the exact forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import lbs
from .errors import FlameError
from .model import FlameModel
from .params import JOINT_NAMES, N_JOINTS, FlameParams

#: ``R - I`` of a unit quaternion (w, x, y, z), row-major: simple expressions over w, x, y, z.
CORRECTIVE_EXPRESSIONS: tuple[str, ...] = (
    "-2*(y*y+z*z)", "2*(x*y-w*z)", "2*(x*z+w*y)",
    "2*(x*y+w*z)", "-2*(x*x+z*z)", "2*(y*z-w*x)",
    "2*(x*z-w*y)", "2*(y*z+w*x)", "-2*(x*x+y*y)",
)

#: Joints an engine blends per vertex (glTF's JOINTS_0, three.js, Unity's default quality).
MAX_INFLUENCES = 4

#: Frames evaluated together by :func:`engine_vertices` and :func:`deviation` (bounds memory).
CHUNK_FRAMES = 64


def corrective_names() -> tuple[str, ...]:
    """Names of the 36 corrective blend shapes: ``pose_<joint>_<row><column>`` (rows of R - I)."""
    return tuple(f"pose_{joint}_{r}{c}" for joint in JOINT_NAMES[1:] for r in range(3) for c in range(3))


@dataclass(frozen=True)
class RigAnimation:
    """Everything an engine rig needs for one performance (FLAME axes, metres, float64).

    Static: ``shape`` (n_shape,) the identity used, ``rest_vertices`` (V, 3), ``rest_joints`` (J, 3)
    (the bind positions), ``weights`` (V, J), ``expression_shapes`` (N, V, 3) and
    ``corrective_shapes`` (36, V, 3) as offsets from the rest. Per frame (T): ``rotations`` (T, J, 4)
    local unit quaternions (w, x, y, z), sign-continuous over time; ``locations`` (T, J, 3) bone
    translations in the parent's bone frame, relative to the bind offset; ``expression`` (T, N) and
    ``correctives`` (T, 36) blend-shape weights. ``identity_change`` is the largest change of any
    shape coefficient over the frames (0 for a uniform identity; the rig keeps the first frame's).
    """

    shape: np.ndarray
    rest_vertices: np.ndarray
    rest_joints: np.ndarray
    weights: np.ndarray
    parents: tuple[int, ...]
    expression_shapes: np.ndarray
    corrective_shapes: np.ndarray
    rotations: np.ndarray
    locations: np.ndarray
    expression: np.ndarray
    correctives: np.ndarray
    identity_change: float

    @property
    def n_frames(self) -> int:
        return len(self.rotations)


def quaternions(rotvecs: np.ndarray) -> np.ndarray:
    """Axis-angle vectors (..., 3) to unit quaternions (..., 4) as (w, x, y, z)."""
    r = np.asarray(rotvecs, dtype=np.float64)
    angle = np.linalg.norm(r, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(a/2)/a, with its limit 1/2 at a = 0.
    scale = np.where(angle > 1e-12, np.sin(half) / np.where(angle > 1e-12, angle, 1.0), 0.5)
    return np.concatenate([np.cos(half), r * scale], axis=-1)


def quaternion_matrices(quats: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) (w, x, y, z) to rotation matrices (..., 3, 3)."""
    return np.eye(3) + corrective_weights(quats).reshape(quats.shape[:-1] + (3, 3))


def corrective_weights(quats: np.ndarray) -> np.ndarray:
    """``R - I`` row-major for unit quaternions (..., 4): (..., 9), by :data:`CORRECTIVE_EXPRESSIONS`."""
    q = np.asarray(quats, dtype=np.float64)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack([
        -2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), -2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), -2 * (x * x + y * y),
    ], axis=-1)


def limit_influences(weights: np.ndarray, count: int = MAX_INFLUENCES) -> np.ndarray:
    """Skinning weights (V, J) keeping each vertex's ``count`` largest, renormalised to sum to 1."""
    w = np.asarray(weights, dtype=np.float64)
    if w.shape[1] <= count:
        return w.copy()
    order = np.argsort(-w, axis=1, kind="stable")
    out = np.zeros_like(w)
    rows = np.arange(len(w))[:, None]
    out[rows, order[:, :count]] = w[rows, order[:, :count]]
    total = out.sum(axis=1, keepdims=True)
    return out / np.where(total > 0, total, 1.0)


def _continuous(quats: np.ndarray) -> np.ndarray:
    """Flip quaternions (T, J, 4) so consecutive frames are on the same side (shortest interpolation)."""
    out = quats.copy()
    for t in range(1, len(out)):
        flip = np.sum(out[t] * out[t - 1], axis=-1) < 0.0
        out[t, flip] *= -1.0
    return out


def _frames(params: FlameParams) -> int:
    batch = params.batch_shape
    if len(batch) != 1:
        raise FlameError(f"an export needs parameters with one frame axis, got batch shape {batch}")
    return batch[0]


def expression_joints(model: FlameModel) -> np.ndarray:
    """(n_expression, J, 3): how each expression component moves the joints (regressed, float64)."""
    return np.einsum("jv,vck->kjc", model.j_regressor.astype(np.float64), model.exprdirs.astype(np.float64))


def rig_animation(
    model: FlameModel, params: FlameParams, n_expression: int, *, joint_translations: bool = True,
    max_influences: int | None = MAX_INFLUENCES,
) -> RigAnimation:
    """The engine rig and its animation for ``params`` with a leading frame axis (T frames).

    ``n_expression`` blend shapes are kept (at most the model's); coefficients past them are dropped.
    ``max_influences`` joints are kept per vertex (None: all five, for formats and engines that blend
    more than four). :func:`deviation` measures what both cost.
    """
    n_frames = _frames(params)
    if isinstance(n_expression, bool) or not isinstance(n_expression, int | np.integer) or n_expression < 0:
        raise FlameError(f"the number of expressions must be a non-negative integer, got {n_expression!r}")
    n_expr = min(int(n_expression), model.n_expression)
    shapes = params.values("shape", model.n_shape, broadcast=True).reshape(n_frames, model.n_shape)
    identity_change = float(np.max(np.abs(shapes - shapes[:1]))) if n_frames else 0.0
    shape = shapes[0].copy()
    expr = params.values("expression", model.n_expression, broadcast=True).reshape(n_frames, model.n_expression)
    pose = params.pose.reshape(n_frames, N_JOINTS, 3).astype(np.float64)
    trans = params.values("translation", broadcast=True).reshape(n_frames, 3).astype(np.float64)

    v_id, j_id = model.identity(shape)
    rest_vertices = np.asarray(v_id, dtype=np.float64).reshape(3, -1).T.copy()
    j_expr = expression_joints(model)
    joints = j_id[None] + np.einsum("tk,kjc->tjc", expr, j_expr)  # FLAME's joints per frame
    rest_joints = j_id + np.einsum("k,kjc->jc", expr.mean(axis=0), j_expr)

    rotations = lbs.rodrigues(pose)
    posed, transforms = lbs.rigid_transforms(rotations, joints, model.parents)
    world_rot = transforms[..., :3]
    if joint_translations:
        # Bone world positions that make each skinning transform [Rw | g - Rw rest] equal FLAME's.
        g = posed + trans[:, None] - np.einsum("tjab,tjb->tja", world_rot, joints - rest_joints)
        locations = np.empty_like(g)
        locations[:, 0] = g[:, 0] - rest_joints[0]
        for j, parent in enumerate(model.parents):
            if parent >= 0:
                offset = np.einsum("tba,tb->ta", world_rot[:, parent], g[:, j] - g[:, parent])
                locations[:, j] = offset - (rest_joints[j] - rest_joints[parent])
    else:
        locations = np.zeros((n_frames, N_JOINTS, 3))
        locations[:, 0] = trans

    quats = _continuous(quaternions(pose)) if n_frames else np.zeros((0, N_JOINTS, 4))
    return RigAnimation(
        shape=shape,
        rest_vertices=rest_vertices,
        rest_joints=rest_joints,
        weights=limit_influences(model.weights, max_influences or N_JOINTS),
        parents=tuple(model.parents),
        expression_shapes=np.ascontiguousarray(model.exprdirs[:, :, :n_expr].transpose(2, 0, 1), dtype=np.float64),
        corrective_shapes=np.ascontiguousarray(model.posedirs.transpose(2, 0, 1), dtype=np.float64),
        rotations=quats,
        locations=locations,
        expression=expr[:, :n_expr].copy(),
        correctives=corrective_weights(quats[:, 1:]).reshape(n_frames, -1),
        identity_change=identity_change,
    )


def engine_vertices(rig: RigAnimation, frames: slice | None = None) -> np.ndarray:
    """The rig's skinned, blend-shaped vertices (T, V, 3) as an engine computes them (FLAME axes)."""
    sel = slice(None) if frames is None else frames
    quats, locs = rig.rotations[sel], rig.locations[sel]
    local = quaternion_matrices(quats)
    n, n_joints = local.shape[:2]
    world_rot = np.empty_like(local)
    world_pos = np.empty((n, n_joints, 3))
    rest = rig.rest_joints
    for j, parent in enumerate(rig.parents):
        if parent < 0:
            world_rot[:, j] = local[:, j]
            world_pos[:, j] = rest[j] + locs[:, j]
        else:
            world_rot[:, j] = world_rot[:, parent] @ local[:, j]
            offset = rest[j] - rest[parent] + locs[:, j]
            world_pos[:, j] = world_pos[:, parent] + np.einsum("tab,tb->ta", world_rot[:, parent], offset)
    transforms = np.empty((n, n_joints, 3, 4))
    transforms[..., :3] = world_rot
    transforms[..., 3] = world_pos - np.einsum("tjab,jb->tja", world_rot, rest)
    n_verts = len(rig.rest_vertices)
    coeffs = np.concatenate([rig.expression[sel], rig.correctives[sel]], axis=1)
    basis = np.concatenate([rig.expression_shapes, rig.corrective_shapes]).transpose(0, 2, 1).reshape(-1, 3 * n_verts)
    planes = (coeffs @ basis).reshape(n, 3, n_verts) + rig.rest_vertices.T
    skinned = lbs.skin(planes, np.ascontiguousarray(rig.weights.T), transforms)
    return skinned.transpose(1, 2, 0)


def deviation(model: FlameModel, params: FlameParams, rig: RigAnimation) -> np.ndarray:
    """Per frame, the largest distance (metres) between the rig's vertices and FLAME's exact ones."""
    n_frames = _frames(params)
    if n_frames != rig.n_frames:
        raise FlameError(f"the rig has {rig.n_frames} frames but the parameters have {n_frames}")
    out = np.empty(n_frames)
    for start in range(0, n_frames, CHUNK_FRAMES):
        s = slice(start, min(start + CHUNK_FRAMES, n_frames))
        exact = model.forward(params[s]).vertices.astype(np.float64)
        out[s] = np.linalg.norm(engine_vertices(rig, s) - exact, axis=-1).max(axis=-1)
    return out
