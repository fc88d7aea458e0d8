"""The demo head's geometry under every control: no folds, no self-intersections, closing lids, human proportions."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from mesh_checks import crossings_along_z, flipped, near_moved, self_intersections

from flame_core import FlameModel, FlameParams
from flame_core.demo import EXPRESSION_NAMES, demo_model
from flame_core.demo_parts.assemble import Template, build_template

CM = 0.01


@pytest.fixture(scope="module")
def model() -> FlameModel:
    return demo_model(dtype=np.float64)


@pytest.fixture(scope="module")
def parts(model) -> dict[str, np.ndarray]:
    """Face sets: all but the mouth cavity, the outer skin (no cavity, no eyeballs), the skin; the lips' weld."""
    faces, masks = model.faces, model.masks
    eyes = np.zeros(model.n_vertices, bool)
    eyes[np.concatenate([masks["left_eyeball"], masks["right_eyeball"]])] = True
    cavity = np.zeros(model.n_vertices, bool)
    cavity[cavity_vertices()] = True
    # The lips share positions along the closed slit: each lower-lip vertex welded to its upper twin.
    skin = template().skin
    weld = np.arange(model.n_vertices)
    weld[skin.slit_lower] = skin.slit
    return {
        "no_cavity": faces[~cavity[faces].any(1)],
        "outer": faces[~(cavity | eyes)[faces].any(1)],
        "skin": faces[~eyes[faces].any(1)],  # with the cavity
        "weld": weld,
    }


@cache
def template() -> Template:
    return build_template()


def cavity_vertices() -> np.ndarray:
    """Vertices of the mouth pocket behind the lips."""
    return np.nonzero(template().skin.cavity)[0]


def poses() -> dict[str, FlameParams]:
    out = {f"jaw {a:.1f}": FlameParams(jaw=[a, 0.0, 0.0]) for a in np.linspace(0.1, 0.5, 5)}
    for axis in range(3):
        for s in (-0.5, 0.5):
            out[f"neck axis {axis} {s:+}"] = FlameParams(neck=np.eye(3)[axis] * s)
    for axis in range(2):
        for s in (-0.4, 0.4):
            out[f"eyes axis {axis} {s:+}"] = FlameParams(eyes=np.tile(np.eye(3)[axis] * s, 2))
    for k in range(20):
        for s in (-2.0, 2.0):
            out[f"expression {k} ({EXPRESSION_NAMES[k]}) {s:+}"] = FlameParams(expression=np.eye(100)[k] * s)
    for k in range(20):
        for s in (-3.0, 3.0):
            out[f"shape {k} {s:+}"] = FlameParams(shape=np.eye(300)[k] * s)
    return out


def test_cavity_is_the_pocket_behind_the_lips(model, parts):
    cavity = cavity_vertices()
    assert 100 < len(cavity) < 400
    lips = model.v_template[model.masks["lips"]]
    assert np.all(model.v_template[cavity, 2] < lips[:, 2].max())
    assert np.all(np.abs(model.v_template[cavity, 0]) <= np.abs(lips[:, 0]).max())


def test_neutral_head_does_not_intersect_itself(model, parts):
    assert len(self_intersections(model.v_template, parts["outer"], parts["weld"])) == 0


GROUPS = ("jaw", "neck", "eyes", "expression", "shape")


@pytest.mark.parametrize("group", GROUPS)
def test_no_folds_or_self_intersections(model, parts, group):
    """Over the whole tested range no face outside the mouth cavity turns over, and the skin never crosses itself.

    Only faces that moved (or lie within 1 cm of one that did) are tested for intersections; the
    others keep the neutral head's state, tested above.
    """
    rest = model.v_template
    bad = {}
    for name, params in poses().items():
        if not name.startswith(group):
            continue
        v = model.forward(params).vertices
        flips = flipped(rest, v, parts["no_cavity"])
        near = parts["outer"][near_moved(rest, v, parts["outer"])]
        crossings = self_intersections(v, near, parts["weld"]) if len(near) else ()
        if len(flips) or len(crossings):
            bad[name] = (len(flips), len(crossings))
    assert not bad, f"(flipped faces, intersecting face pairs) per pose: {bad}"


def test_mouth_cavity_stays_behind_the_lips(model, parts):
    """As the jaw opens, no face of the mouth cavity pokes through the skin around the mouth (no slivers)."""
    skin = parts["skin"]
    cavity = np.isin(skin, cavity_vertices()).any(axis=1)
    for angle in np.linspace(0.1, 0.5, 5):
        v = model.forward(FlameParams(jaw=[angle, 0.0, 0.0])).vertices
        pairs = self_intersections(v, skin, parts["weld"])
        assert not np.any(cavity[pairs[:, 0]] != cavity[pairs[:, 1]]), angle


def test_checks_catch_folds_and_intersections(model, parts):
    """The checks above are not vacuous: far past their range, the jaw folds the skin and a nod crosses it."""
    rest = model.v_template
    v = model.forward(FlameParams(jaw=[1.2, 0.0, 0.0])).vertices
    assert len(flipped(rest, v, parts["no_cavity"])) > 0
    assert len(self_intersections(v, parts["outer"], parts["weld"])) > 0
    nod = model.forward(FlameParams(neck=[1.2, 0.0, 0.0])).vertices
    assert len(self_intersections(nod, parts["outer"], parts["weld"])) > 0


@pytest.mark.parametrize("side", ["left", "right"])
def test_full_blink_covers_the_eyeball(model, parts, side):
    """Open, the eyeball shows through the lids; at blink 1 every eyeball vertex is behind the skin."""
    eyeball = model.masks[f"{side}_eyeball"]
    k = EXPRESSION_NAMES.index(f"blink_{side}")
    for value, visible in ((0.0, True), (1.0, False)):
        v = model.forward(FlameParams(expression=np.eye(100)[k] * value)).vertices
        outside = crossings_along_z(v[eyeball], v, parts["skin"]) % 2 == 0
        assert (outside.sum() > 40) if visible else (outside.sum() == 0), (value, outside.sum())
    # The other eye stays open.
    other = model.masks[f"{'right' if side == 'left' else 'left'}_eyeball"]
    v = model.forward(FlameParams(expression=np.eye(100)[k])).vertices
    assert np.sum(crossings_along_z(v[other], v, parts["skin"]) % 2 == 0) > 40


def figures(model: FlameModel, v: np.ndarray) -> dict[str, float]:
    """Anthropometric measurements (cm) of a head: head length and breadth, bizygomatic width, heights."""
    masks = model.masks
    skin = np.setdiff1d(np.arange(model.n_vertices), np.concatenate([
        masks["left_eyeball"], masks["right_eyeball"], cavity_vertices()]))
    s = v[skin]
    midline = np.abs(s[:, 0]) < 0.004
    ears = np.isin(skin, np.concatenate([masks["left_ear"], masks["right_ear"]]))
    eyes = np.array([v[masks["left_eyeball"]].mean(0), v[masks["right_eyeball"]].mean(0)])
    eye_y = eyes[:, 1].mean()
    brow = midline & (s[:, 1] > eye_y) & (s[:, 1] < eye_y + 0.03)
    neck_front = s[midline & (s[:, 1] < eye_y - 0.16), 2].max()
    menton = s[midline & (s[:, 2] > neck_front + 0.012), 1].min()
    top = s[:, 1].max()
    cheeks = ~ears & (np.abs(s[:, 1] - (eye_y - 0.02)) < 0.012) & (s[:, 2] > 0.0)
    return {
        "length": (s[brow, 2].max() - s[midline & (s[:, 1] > eye_y - 0.02), 2].min()) / CM,
        "breadth": 2.0 * np.abs(s[~ears & (s[:, 1] > eye_y), 0]).max() / CM,
        "bizygomatic": 2.0 * np.abs(s[cheeks, 0]).max() / CM,
        "interpupillary": np.linalg.norm(eyes[0] - eyes[1]) / CM,
        "vertex_to_menton": (top - menton) / CM,
        "eye_height_share": (top - eye_y) / (top - menton),
    }


def test_neutral_proportions(model):
    """Adult figures (Farkas): length ~19.5 cm, breadth ~15, bizygomatic ~13.5, pupils ~6.3, eyes mid-height."""
    f = figures(model, model.v_template)
    assert 18.5 < f["length"] < 20.5, f
    assert 14.0 < f["breadth"] < 16.0, f
    assert 12.5 < f["bizygomatic"] < 14.8, f
    assert 6.0 < f["interpupillary"] < 6.6, f
    assert 21.0 < f["vertex_to_menton"] < 25.0, f
    assert 0.42 < f["eye_height_share"] < 0.55, f
    # Ears about 6 cm long, between the brow line (above the eyes) and the nose base (below them).
    eye_y = model.v_template[model.masks["left_eyeball"], 1].mean()
    ear = model.v_template[model.masks["left_ear"], 1]
    assert 0.05 < np.ptp(ear) < 0.07 and eye_y - 0.05 < ear.min() and ear.max() < eye_y + 0.025


def test_identities_stay_human(model):
    """At +-3 on each of the first 20 shape components the head keeps adult ranges, not an egg."""
    rng = np.random.default_rng(5)
    shapes = [np.eye(300)[k] * s for k in range(20) for s in (-3.0, 3.0)] + list(rng.normal(size=(4, 300)))
    lengths = []
    for shape in shapes:
        f = figures(model, model.forward(FlameParams(shape=shape)).vertices)
        lengths.append(f["length"])
        assert 16.5 < f["length"] < 22.5, f
        assert 13.0 < f["breadth"] < 17.5, f
        assert 70.0 < 100.0 * f["breadth"] / f["length"] < 90.0, f  # cephalic index
        assert 19.0 < f["vertex_to_menton"] < 27.0, f
    assert np.ptp(lengths) > 2.0  # identities do differ


def test_mesh_checks_on_known_cases():
    """The helpers themselves: two crossing triangles, two apart, a flipped face, points inside a box."""
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0.2, 0.2, -0.5], [0.2, 0.2, 0.5], [0.9, 0.9, 0.0]], float)
    faces = np.array([[0, 1, 2], [3, 4, 5]])
    assert {tuple(pair) for pair in self_intersections(v, faces)} == {(0, 1), (1, 0)}  # each's edge crosses the other
    apart = v.copy()
    apart[3:, 0] += 2.0
    assert len(self_intersections(apart, faces)) == 0
    assert list(flipped(v, v[[0, 2, 1, 3, 4, 5]], faces)) == [0]
    # A closed cube: a ray from inside crosses it once, from outside twice or not at all.
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)
    quads = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
    cube = np.array([[q[0], q[1], q[2]] for q in quads] + [[q[0], q[2], q[3]] for q in quads])
    points = np.array([[0.3, 0.4, 0.5], [0.3, 0.4, -1.0], [2.0, 0.4, 0.5]])
    assert list(crossings_along_z(points, corners, cube)) == [1, 2, 0]
