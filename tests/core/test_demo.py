"""The procedural demo head: sizes, determinism, mesh sanity, rig behaviour, blend shapes, masks, landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core import FlameModel, FlameParams, demo
from flame_core.demo import EXPRESSION_NAMES, SHAPE_NAMES, demo_arrays, demo_landmarks, demo_masks, demo_model
from flame_core.mesh import face_cross, face_normals
from flame_core.params import JOINT_NAMES, PARENTS

LEFT_EYE, RIGHT_EYE = JOINT_NAMES.index("left_eye"), JOINT_NAMES.index("right_eye")


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return demo_arrays()


@pytest.fixture(scope="module")
def model() -> FlameModel:
    return demo_model(dtype=np.float64)


@pytest.fixture(scope="module")
def masks() -> dict[str, np.ndarray]:
    return demo_masks()


def eyeballs(masks: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([masks["left_eyeball"], masks["right_eyeball"]])


def skin_faces(arrays: dict[str, np.ndarray], masks: dict[str, np.ndarray]) -> np.ndarray:
    on_eye = np.isin(arrays["faces"], eyeballs(masks)).any(axis=1)
    return arrays["faces"][~on_eye]


def mirror_index(v: np.ndarray) -> np.ndarray:
    """Index of the vertex nearest to each vertex's mirror image across x = 0."""
    out = np.empty(len(v), dtype=np.int64)
    for start in range(0, len(v), 1000):
        d = np.linalg.norm(v[start : start + 1000, None] * [-1.0, 1.0, 1.0] - v[None], axis=-1)
        out[start : start + 1000] = d.argmin(axis=1)
    return out


def edge_counts(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    return np.unique(edges, axis=0, return_counts=True)


# ---------------------------------------------------------------- sizes and layout
def test_sizes_dtypes_and_parents(arrays):
    assert arrays["v_template"].shape == (5023, 3)
    assert arrays["faces"].shape == (9976, 3)
    assert arrays["shapedirs"].shape == (5023, 3, 300)
    assert arrays["exprdirs"].shape == (5023, 3, 100)
    assert arrays["posedirs"].shape == (5023, 3, 36)
    assert arrays["j_regressor"].shape == (5, 5023)
    assert arrays["weights"].shape == (5023, 5)
    assert tuple(arrays["parents"]) == PARENTS == (-1, 0, 1, 1, 1)
    assert np.issubdtype(arrays["faces"].dtype, np.integer)
    for key in ("v_template", "shapedirs", "exprdirs", "posedirs", "j_regressor", "weights", "uv_coords"):
        assert arrays[key].dtype == np.float64, key
        assert np.all(np.isfinite(arrays[key])), key


def test_metric_extent_and_axes(arrays):
    v = arrays["v_template"]
    lo, hi = v.min(axis=0), v.max(axis=0)
    assert 0.07 < hi[0] < 0.1 and np.isclose(lo[0], -hi[0])
    assert 0.11 < hi[1] < 0.15 and -0.16 < lo[1] < -0.13
    assert 0.09 < hi[2] < 0.125 and -0.12 < lo[2] < -0.08
    # The nose (front-most point) is on the midline, above the chin.
    tip = v[np.argmax(v[:, 2])]
    assert abs(tip[0]) < 0.005 and -0.03 < tip[1] < 0.02


def test_model_from_demo(model):
    assert (model.n_vertices, model.n_faces, model.n_shape, model.n_expression) == (5023, 9976, 300, 100)
    assert model.metadata["source"] == "demo" and model.metadata["version"] == "demo-4"
    assert model.has_uvs and model.landmarks is not None and "face" in model.masks
    small = demo_model(10, 5)
    assert (small.n_shape, small.n_expression, small.dtype) == (10, 5, np.float32)
    with pytest.raises(ValueError):
        demo_model(n_shape=301)


def test_fresh_copies():
    a, b = demo_arrays(), demo_arrays()
    a["v_template"][:] = 0.0
    assert np.any(b["v_template"] != 0.0)
    assert np.any(demo_arrays()["v_template"] != 0.0)
    m1, m2 = demo_model(), demo_model()
    assert m1 is not m2
    np.testing.assert_array_equal(m1.v_template, m2.v_template)


def test_deterministic(arrays):
    demo._build.cache_clear()
    again = demo_arrays()
    assert set(again) == set(arrays)
    for key, value in arrays.items():
        np.testing.assert_array_equal(again[key], value, err_msg=key)


# ---------------------------------------------------------------- mesh sanity
def test_no_unused_degenerate_or_duplicate_faces(arrays):
    v, f = arrays["v_template"], arrays["faces"]
    assert np.array_equal(np.unique(f), np.arange(len(v)))
    assert np.all(0.5 * np.linalg.norm(face_cross(v, f), axis=1) > 1e-10)
    assert np.all((f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2]))
    assert len(np.unique(np.sort(f, axis=1), axis=0)) == len(f)


def test_eyeballs_closed_outward_and_546_vertices(arrays, masks):
    v, f = arrays["v_template"], arrays["faces"]
    for name in ("left_eyeball", "right_eyeball"):
        idx = masks[name]
        assert len(idx) == 546
        faces = f[np.isin(f, idx).all(axis=1)]
        assert not np.isin(f[~np.isin(f, idx).all(axis=1)], idx).any()  # a separate part
        _, counts = edge_counts(faces)
        assert np.all(counts == 2)
        centre = v[idx].mean(axis=0)
        out = (face_normals(v, faces) * (v[faces].mean(axis=1) - centre)).sum(axis=1)
        assert np.all(out > 0)


def test_skin_outward_closed_but_for_the_neck(arrays, masks):
    v = arrays["v_template"]
    faces = skin_faces(arrays, masks)
    centre = np.array([0.0, 0.0, -0.01])
    out = (face_normals(v, faces) * (v[faces].mean(axis=1) - centre)).sum(axis=1)
    assert np.mean(out > 0) > 0.95
    edges, counts = edge_counts(faces)
    assert counts.max() == 2  # manifold
    # The only opening is the neck: the mouth slit is closed from behind by the mouth pocket.
    open_vertices = np.unique(edges[counts == 1])
    np.testing.assert_array_equal(open_vertices, np.sort(masks["boundary"]))
    assert np.allclose(v[masks["boundary"], 1], v[:, 1].min())
    # Consistent winding: each inner edge is walked once in each direction, and capping the neck
    # gives a positive volume, so the whole skin (the pocket too) faces outwards.
    directed = faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    assert len(np.unique(directed, axis=0)) == len(directed)
    ring = masks["boundary"]
    cap = np.stack([np.roll(ring, -1), ring, np.full(len(ring), len(v))], 1)
    closed_v = np.concatenate([v, v[ring].mean(axis=0, keepdims=True)])
    for cap_faces in (cap, cap[:, ::-1]):
        closed = np.concatenate([faces, cap_faces])
        if len(np.unique(closed[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=0)) == 3 * len(closed):
            break
    else:
        raise AssertionError("the neck cap fits neither way")
    a, b, c = (closed_v[closed[:, i]] for i in range(3))
    assert np.einsum("ij,ij->i", a, np.cross(b, c)).sum() > 0.0
    # At rest the lips meet in a closed slit: pairs of coincident vertices on the lips.
    lips = masks["lips"]
    d = np.linalg.norm(v[lips][:, None] - v[lips][None], axis=-1) + np.eye(len(lips))
    assert np.sum(d.min(axis=1) < 1e-9) > 10


def first_hits(v: np.ndarray, faces: np.ndarray, origins: np.ndarray, direction: np.ndarray):
    """Distance along ``direction`` to the nearest triangle hit by each ray, and that triangle (or inf, -1)."""
    a, b, c = (v[faces[:, i]] for i in range(3))
    e1, e2 = b - a, c - a
    p = np.cross(direction, e2)
    det = (e1 * p).sum(axis=1)
    s = origins[:, None] - a[None]
    u = (s * p[None]).sum(-1) / det
    q = np.cross(s, e1[None])
    w = (q * direction).sum(-1) / det
    t = (q * e2[None]).sum(-1) / det
    hit = (np.abs(det) > 1e-15) & (u >= 0) & (w >= 0) & (u + w <= 1) & (t > 0)
    t = np.where(hit, t, np.inf)
    return t.min(axis=1), np.where(np.isfinite(t.min(axis=1)), t.argmin(axis=1), -1)


def test_open_mouth_shows_a_recessed_cavity(model, masks):
    """Looking into the open mouth, the eye meets the pocket's back well behind the lips, facing out."""
    opened = model.forward(FlameParams(jaw=[0.3, 0.0, 0.0])).vertices
    faces = skin_faces({"faces": model.faces}, masks)
    lips = masks["lips"]
    middle = lips[np.abs(opened[lips, 0]) < 0.006]
    top, bottom = opened[middle, 1].max(), opened[middle, 1].min()
    rows = np.linspace(bottom, top, 9)[2:-2]
    origins = np.stack([np.full(len(rows), 0.0013), rows, np.full(len(rows), 0.3)], 1)
    direction = np.array([0.0, 0.0, -1.0])
    t, face = first_hits(opened, faces, origins, direction)
    assert np.all(face >= 0)
    depth = 0.3 - t
    assert np.all(depth < opened[lips, 2].max() - 0.015)  # well behind the lips ...
    assert np.all(depth > 0.02)  # ... but inside the mouth, not the back of the head seen from inside
    assert np.all(face_normals(opened, faces[face]) @ -direction > 0.0)  # front faces, towards the viewer


def test_uv_layout(arrays, masks):
    uv, uvf = arrays["uv_coords"], arrays["uv_faces"]
    assert uvf.shape == (9976, 3) and uv.shape[1] == 2
    assert uv.min() >= 0.0 and uv.max() <= 1.0
    assert np.array_equal(np.unique(uvf), np.arange(len(uv)))
    on_eye = np.isin(arrays["faces"], eyeballs(masks)).any(axis=1)
    eye_u, head_u = uv[uvf[on_eye]][..., 0], uv[uvf[~on_eye]][..., 0]
    assert eye_u.min() > head_u.max()  # separate islands
    # Every UV triangle has area and they are all wound the same way (no flipped islands).
    a, b, c = (uv[uvf[:, i]] for i in range(3))
    signed = (b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]
    assert np.all(np.abs(signed) > 0)
    assert max(np.mean(signed > 0), np.mean(signed < 0)) > 0.99


def test_symmetric(arrays):
    v = arrays["v_template"]
    mirror = mirror_index(v)
    assert np.abs(v[mirror] * [-1.0, 1.0, 1.0] - v).max() < 1e-9
    assert np.mean(mirror != np.arange(len(v))) > 0.9


# ---------------------------------------------------------------- rig
def test_rows_sum_to_one(arrays):
    assert np.allclose(arrays["weights"].sum(axis=1), 1.0)
    assert np.allclose(arrays["j_regressor"].sum(axis=1), 1.0)
    assert arrays["weights"].min() >= 0.0 and arrays["j_regressor"].min() >= 0.0


def test_eyes_rigged_to_eye_joints(arrays, masks):
    w, v = arrays["weights"], arrays["v_template"]
    joints = arrays["j_regressor"] @ v
    for name, joint in (("left_eyeball", LEFT_EYE), ("right_eyeball", RIGHT_EYE)):
        idx = masks[name]
        assert np.all(w[idx, joint] == 1.0)
        np.testing.assert_allclose(joints[joint], v[idx].mean(axis=0), atol=1e-9)
    assert joints[LEFT_EYE, 0] > 0.0 > joints[RIGHT_EYE, 0]  # +X is the subject's left
    assert np.all(w[: masks["left_eyeball"].min(), LEFT_EYE:] == 0.0)  # skin does not follow the eyes


def test_joint_positions(arrays):
    j = arrays["j_regressor"] @ arrays["v_template"]
    assert np.allclose(j[:3, 0], 0.0, atol=1e-12)  # global, neck and jaw on the midline
    assert j[0, 1] < j[1, 1] < j[2, 1] < j[3, 1]  # root low in the neck, then neck, jaw hinge, eyes
    assert -0.03 < j[2, 2] < 0.0 and -0.02 < j[2, 1] < 0.02  # jaw hinge near the ears


def test_rest_pose_is_template(model):
    out = model.forward(FlameParams())
    np.testing.assert_allclose(out.vertices, model.v_template, atol=1e-12)


def test_jaw_opens_mouth_and_keeps_skull(model, masks, arrays):
    rest = model.v_template
    opened = model.forward(FlameParams(jaw=[0.3, 0.0, 0.0])).vertices
    front = rest[:, 2] > 0.05
    chin = np.argmin(np.where(front & (np.abs(rest[:, 0]) < 0.005), rest[:, 1], np.inf))
    assert opened[chin, 1] < rest[chin, 1] - 0.01
    skull = rest[:, 1] > 0.045
    assert np.abs(opened[skull] - rest[skull]).max() < 1e-6
    # The slit opens: lower-lip vertices leave their upper-lip twins.
    w_jaw = arrays["weights"][:, JOINT_NAMES.index("jaw")]
    lips = masks["lips"]
    lower = lips[w_jaw[lips] > 0.99]
    upper = lips[w_jaw[lips] < 0.01]
    d_rest = np.linalg.norm(rest[lower][:, None] - rest[upper][None], axis=-1).min(axis=1)
    d_open = np.linalg.norm(opened[lower][:, None] - opened[upper][None], axis=-1).min(axis=1)
    assert np.sum(d_rest < 1e-9) > 5 and d_open.min() > 0.002
    # A soft falloff: many vertices partly follow the jaw, and it barely moves the back of the neck.
    assert np.sum((w_jaw > 0.05) & (w_jaw < 0.95)) > 100
    back = rest[:, 2] < -0.04
    assert np.abs(opened[back] - rest[back]).max() < 0.002


def test_eye_rotation_spins_eyeballs_in_place(model, masks):
    rest = model.v_template
    out = model.forward(FlameParams(eyes=[0.0, 0.4, 0.0, 0.3, 0.0, 0.0])).vertices
    for name in ("left_eyeball", "right_eyeball"):
        idx = masks[name]
        np.testing.assert_allclose(out[idx].mean(axis=0), rest[idx].mean(axis=0), atol=1e-9)
        assert np.abs(out[idx] - rest[idx]).max() > 0.003
    skin = np.ones(len(rest), bool)
    skin[eyeballs(masks)] = False
    np.testing.assert_allclose(out[skin], rest[skin], atol=1e-12)


def test_neck_turn_moves_head_not_neck_base(model, masks):
    rest = model.v_template
    out = model.forward(FlameParams(neck=[0.0, 0.5, 0.0])).vertices
    base = masks["boundary"]
    assert np.abs(out[base] - rest[base]).max() < 1e-3
    nose = np.argmax(rest[:, 2])
    assert out[nose, 0] > rest[nose, 0] + 0.03  # positive Y rotation turns the face towards +X


def test_pose_correctives(arrays):
    pd = arrays["posedirs"]
    jaw = pd[:, :, 9:18]
    eyes = pd[:, :, 18:]
    assert np.abs(jaw).max() > 1e-3 and np.abs(pd[:, :, :9]).max() > 1e-3
    assert np.all(eyes == 0.0)
    assert np.abs(pd).max() < 0.05


# ---------------------------------------------------------------- blend shapes
def rms(dirs: np.ndarray) -> np.ndarray:
    return np.sqrt((dirs**2).sum(axis=1).mean(axis=0))


def test_shape_variance_decreases(arrays):
    r = rms(arrays["shapedirs"])
    assert np.all(np.diff(r) <= 1e-12)
    assert r[0] > 10 * r[-1] > 0.0
    assert len(SHAPE_NAMES) >= 10 and len(EXPRESSION_NAMES) >= 10


def test_shapes_are_symmetric_smooth_and_keep_eyes_in_sockets(arrays, masks):
    v, f, sd = arrays["v_template"], arrays["faces"], arrays["shapedirs"]
    # Symmetry: mirroring the template maps each component's field onto its mirror image.
    mirror = mirror_index(v)
    for k in (0, 1, 5, 40, 250):
        field = sd[:, :, k]
        np.testing.assert_allclose(field[mirror] * [-1, 1, 1], field, atol=1e-6 * np.abs(field).max())
    # Smoothness: neighbouring vertices move alike.
    edges, _ = edge_counts(f)
    length = np.linalg.norm(v[edges[:, 0]] - v[edges[:, 1]], axis=1)
    for k in (0, 10, 100, 299):
        jump = np.linalg.norm(sd[edges[:, 0], :, k] - sd[edges[:, 1], :, k], axis=1)
        strain = jump / length / np.linalg.norm(sd[:, :, k], axis=1).max()  # per metre of peak displacement
        assert np.percentile(strain, 99) < 45.0
    # Eyeballs move rigidly with the shape.
    for name in ("left_eyeball", "right_eyeball"):
        idx = masks[name]
        assert np.abs(sd[idx] - sd[idx[:1]]).max() < 1e-12


def test_shape_extremes_still_a_head(model, masks):
    faces = skin_faces({"faces": model.faces}, masks)
    rest_normals = face_normals(model.v_template, faces)
    rng = np.random.default_rng(3)
    shapes = [np.eye(300)[k] * s for k in range(0, 20) for s in (-3.0, 3.0)] + [rng.normal(size=300) * 2.0]
    for shape in shapes:
        v = model.forward(FlameParams(shape=shape)).vertices
        # No face flips over (that would be a fold), and the proportions stay those of a head.
        assert np.mean((face_normals(v, faces) * rest_normals).sum(axis=1) > 0.0) > 0.995
        extent = v.max(axis=0) - v.min(axis=0)
        assert np.all(extent > [0.12, 0.22, 0.16]) and np.all(extent < [0.24, 0.38, 0.3])


def localized(dirs: np.ndarray, region: np.ndarray) -> float:
    """Share of the squared displacement that falls inside ``region``."""
    energy = (dirs**2).sum(axis=1)
    return float(energy[region].sum() / energy.sum())


def test_expressions_are_localized(arrays, masks):
    ed, v = arrays["exprdirs"], arrays["v_template"]
    names = {name: i for i, name in enumerate(EXPRESSION_NAMES)}
    mouth_area = np.nonzero(np.linalg.norm(v - [0.0, -0.04, 0.07], axis=1) < 0.06)[0]
    for name in ("smile", "mouth_open", "frown", "pucker", "upper_lip_raise", "lower_lip_depress"):
        assert localized(ed[:, :, names[name]], mouth_area) > 0.9, name
    brows = np.nonzero((v[:, 1] > 0.02) & (v[:, 2] > 0.03))[0]
    for name in ("brows_raise", "brows_lower", "brows_inner_raise"):
        assert localized(ed[:, :, names[name]], brows) > 0.9, name
    assert localized(ed[:, :, names["blink_left"]], masks["left_eye_region"]) > 0.95
    assert localized(ed[:, :, names["blink_right"]], masks["right_eye_region"]) > 0.95
    # Every unnamed component: most of its motion within a 4.5 cm ball around its strongest point.
    for k in range(len(EXPRESSION_NAMES), ed.shape[2]):
        peak = v[np.argmax(np.linalg.norm(ed[:, :, k], axis=1))]
        ball = np.nonzero(np.linalg.norm(v - peak, axis=1) < 0.045)[0]
        assert localized(ed[:, :, k], ball) > 0.6, k
    assert np.all(ed[eyeballs(masks)] == 0.0)


def test_smile_raises_mouth_corners(model, masks):
    v = model.v_template
    k = EXPRESSION_NAMES.index("smile")
    out = model.forward(FlameParams(expression=np.eye(100)[k] * 2.0)).vertices
    lips = masks["lips"]
    corner = lips[np.argmax(np.abs(v[lips, 0]))]
    middle = lips[np.abs(v[lips, 0]) < 0.003]
    assert out[corner, 1] - v[corner, 1] > 0.003 + (out[middle, 1] - v[middle, 1]).max()


def test_blink_covers_the_eyeball(model, masks):
    k = EXPRESSION_NAMES.index("blink_left")
    out = model.forward(FlameParams(expression=np.eye(100)[k])).vertices
    idx = masks["left_eyeball"]
    centre = out[idx].mean(axis=0)
    pupil = idx[np.argmax(out[idx, 2])]
    region = masks["left_eye_region"]
    # Right in front of the pupil, the skin now lies in front of the eyeball.
    ahead = region[np.linalg.norm(out[region, :2] - out[pupil, :2], axis=1) < 0.004]
    assert len(ahead) and out[ahead, 2].max() > out[pupil, 2]
    assert np.linalg.norm(out[pupil] - centre) > 0.01
    rest = model.v_template
    ahead_rest = region[np.linalg.norm(rest[region, :2] - rest[pupil, :2], axis=1) < 0.004]
    assert np.all(rest[ahead_rest, 2] < rest[pupil, 2])  # open at rest: nothing covers the pupil


# ---------------------------------------------------------------- masks and landmarks
def test_masks_valid(masks, arrays):
    n = len(arrays["v_template"])
    expected = {"face", "lips", "nose", "eye_region", "left_eyeball", "right_eyeball", "neck", "scalp",
                "left_ear", "right_ear", "forehead", "boundary"}
    assert expected <= set(masks)
    v = arrays["v_template"]
    for name, idx in masks.items():
        assert idx.ndim == 1 and len(idx) > 0, name
        assert len(np.unique(idx)) == len(idx) and idx.min() >= 0 and idx.max() < n, name
    assert np.all(v[masks["left_ear"], 0] > 0.05) and np.all(v[masks["right_ear"], 0] < -0.05)
    assert np.all(v[masks["nose"], 2] > 0.06) and np.all(v[masks["forehead"], 1] > v[masks["nose"], 1].max())
    assert np.isin(masks["lips"], masks["face"]).all() and np.isin(masks["nose"], masks["face"]).all()
    assert not np.isin(masks["scalp"], masks["face"]).any()
    assert np.all(v[masks["neck"], 1] < -0.05)


def test_landmarks_on_face(model, masks):
    emb = demo_landmarks()
    assert emb.name == "demo" and emb.face_index.shape == (51,) and emb.has_contour
    assert np.allclose(emb.barycentric.sum(axis=1), 1.0) and emb.barycentric.min() >= 0.0
    face_like = np.concatenate([masks["face"], masks["lips"], masks["nose"], masks["eye_region"]])
    assert np.isin(model.faces[emb.face_index], face_like).all()
    lmk = model.forward(FlameParams()).landmarks
    assert lmk.shape == (68, 3)
    # iBUG order: right side (-X) first; nose tip in front; eyes above the nose above the mouth.
    assert lmk[36, 0] < lmk[39, 0] < 0.0 < lmk[42, 0] < lmk[45, 0]
    assert lmk[0, 0] < 0.0 < lmk[16, 0] and lmk[8, 1] < lmk[57, 1]
    assert np.argmax(lmk[:, 2]) == 30
    assert lmk[36:48, 1].min() > lmk[30, 1] > lmk[48:68, 1].max()
    # The mouth landmarks follow the jaw.
    opened = model.forward(FlameParams(jaw=[0.3, 0.0, 0.0])).landmarks
    assert opened[57, 1] < lmk[57, 1] - 0.005 and abs(opened[51, 1] - lmk[51, 1]) < 0.002
    assert np.linalg.norm(opened[66] - opened[62]) > 0.005


def test_dynamic_contour_follows_yaw(model):
    emb = demo_landmarks()
    assert emb.contour_face_index.shape == (79, 17)
    straight = model.forward(FlameParams()).landmarks[:17]
    turned = model.forward(FlameParams(rotation=[0.0, -0.5, 0.0])).landmarks[:17]
    assert not np.allclose(emb.contour_face_index[0], emb.contour_face_index[39])
    # Turned, the contour is still ordered from one side of the face to the other.
    assert np.all(np.diff(straight[:, 0]) > 0)
    assert np.isfinite(turned).all()
