"""The demo head's edge flow: concentric edge loops round the eye openings and the mouth, rings elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core.demo import demo_model
from flame_core.demo_parts.assemble import build_template
from flame_core.demo_parts.field import EYE_RADIUS
from flame_core.demo_parts.rays import hits
from flame_core.demo_parts.surface import N_ROWS, choose_rows


@pytest.fixture(scope="module")
def model():
    return demo_model(dtype=np.float64)


def neighbours(faces: np.ndarray, n: int) -> list[set[int]]:
    out: list[set[int]] = [set() for _ in range(n)]
    for a, b in faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2):
        out[a].add(int(b))
        out[b].add(int(a))
    return out


def layers(adjacent: list[set[int]], seed: set[int], count: int, allowed: np.ndarray) -> list[list[int]]:
    """Rings of vertices at edge distance 1, 2, ... ``count`` from the seed vertices (only ``allowed`` ones)."""
    reached = set(seed)
    front = set(seed)
    out = []
    for _ in range(count):
        front = {b for a in front for b in adjacent[a] if allowed[b]} - reached
        reached |= front
        out.append(sorted(front))
    return out


def cycle_order(vertices: list[int], adjacent: list[set[int]]) -> list[int] | None:
    """The vertices in order round a simple closed edge loop, or None when they do not form exactly one."""
    members = set(vertices)
    if len(members) < 3 or any(len(adjacent[v] & members) != 2 for v in members):
        return None
    order = [vertices[0]]
    previous = None
    while True:
        step = [v for v in adjacent[order[-1]] & members if v != previous]
        previous = order[-1]
        if step[0] == order[0]:
            break
        order.append(step[0])
        if len(order) > len(members):
            return None
    return order if len(order) == len(members) else None


def winding(points: np.ndarray, centre: np.ndarray) -> int:
    """How many times a closed polygon (N, 2) turns round a point."""
    angle = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    return round(np.angle(np.exp(1j * (np.roll(angle, -1) - angle))).sum() / (2.0 * np.pi))


def loops_round(model, seed: set[int], centre: np.ndarray, count: int, slit: bool = False) -> list[np.ndarray]:
    """The ``count`` edge loops round a set of seed vertices, checked to be simple cycles round ``centre``
    (seen from the front) in the outer skin, each inside the next; with ``slit`` the first one is closed
    flat (its two sides on each other), which only the loops round it are checked to encircle."""
    v = model.v_template
    eyes = np.concatenate([model.masks["left_eyeball"], model.masks["right_eyeball"]])
    allowed = np.ones(model.n_vertices, bool)
    allowed[eyes] = False
    adjacent = neighbours(model.faces, model.n_vertices)
    out = []
    for k, ring in enumerate(layers(adjacent, seed, count, allowed)):
        order = cycle_order(ring, adjacent)
        assert order is not None, f"layer {k + 1} round the opening is not one simple edge loop"
        assert (slit and k == 0) or abs(winding(v[order, :2], centre[:2])) == 1, k
        reach = np.linalg.norm(v[order, :2] - centre[:2], axis=1)
        if out:
            inner = np.linalg.norm(v[out[-1], :2] - centre[:2], axis=1)
            assert reach.min() > 0.5 * inner.min() and reach.mean() > inner.mean(), k  # nested, growing
            assert len(order) == len(out[-1]), k  # spokes between the loops: a strip of quads
        out.append(np.array(order))
    return out


@pytest.mark.parametrize("side", ["left", "right"])
def test_edge_loops_round_the_eyes(model, side):
    """The lid margin (the skin next to the socket's lining) and four loops round it are clean edge loops."""
    eyeball = model.masks[f"{side}_eyeball"]
    centre = model.v_template[eyeball].mean(axis=0)
    skin = np.setdiff1d(np.arange(model.n_vertices), np.concatenate([
        model.masks["left_eyeball"], model.masks["right_eyeball"]]))
    lining = skin[np.linalg.norm(model.v_template[skin] - centre, axis=1) < EYE_RADIUS]
    assert len(lining) > 20
    loops = loops_round(model, set(lining.tolist()), centre, 5)
    margin = model.v_template[loops[0]]
    off = np.linalg.norm(margin - centre, axis=1) - EYE_RADIUS
    assert np.all((off > 0.001) & (off < 0.005))  # the margin rests on the eyeball, at the lid's thickness
    for loop in loops:  # each loop a band round the opening: no ring of the grid cuts across it
        reach = np.linalg.norm(model.v_template[loop, :2] - centre[:2], axis=1)
        assert reach.max() < 2.2 * reach.min()
        assert len(loop) >= 20


def test_edge_loops_round_the_mouth(model):
    """The slit between the lips and four loops round it, over the lips, are clean edge loops."""
    template = build_template()
    cavity = set(np.nonzero(template.skin.cavity)[0].tolist())
    lips = model.v_template[model.masks["lips"]]
    centre = np.array([0.0, lips[:, 1].mean(), lips[:, 2].max()])
    loops = loops_round(model, cavity, centre, 5, slit=True)
    slit = model.v_template[loops[0]]
    # The slit is closed at rest: the upper edge's vertices lie on the lower edge's.
    gaps = np.linalg.norm(slit[:, None] - slit[None], axis=-1) + np.eye(len(slit))
    assert np.sum(gaps.min(axis=1) < 1e-9) >= len(slit) - 2
    on_lips = np.isin(loops[1], model.masks["lips"]).mean()
    assert on_lips > 0.9
    for loop in loops[1:]:  # round the mouth, wider than tall, each loop a smooth band
        p = model.v_template[loop]
        assert np.ptp(p[:, 0]) > 2.0 * np.ptp(p[:, 1])
        assert len(loop) >= 24


def test_rings_run_evenly_down_the_face():
    """No two rings bunch up into a line across the face: down each side meridian the gaps change gradually."""
    rows, _ = choose_rows(N_ROWS)
    for theta in np.linspace(0.6, 1.4, 5):  # the cheeks, beside the eye patches
        points = hits(rows, np.array([theta, -theta]))
        gaps = np.linalg.norm(np.diff(points, axis=0), axis=-1)  # (rings - 1, 2)
        ratio = gaps[1:] / gaps[:-1]
        assert np.all((ratio < 2.0) & (ratio > 0.5)), (theta, ratio.min(), ratio.max())
        assert gaps.min() > 0.0012


def ear_frame(model, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """An ear's vertices in its own frame: forward (towards the face), up, out from the head (metres),
    and the same for the skin round the ear (within 1.5 cm of it, not on it)."""
    v = model.v_template
    ear = model.masks[f"{side}_ear"]
    centre = v[ear].mean(axis=0)
    out = np.array([centre[0], 0.0, centre[2] + 0.012])
    out /= np.linalg.norm(out)
    up = np.array([0.0, 1.0, 0.0])
    forward = np.cross(out, up) * np.sign(centre[0])
    frame = np.stack([forward, up, out], 1)
    skin = np.setdiff1d(np.arange(model.n_vertices), np.concatenate([ear, model.masks["left_eyeball"],
                                                                     model.masks["right_eyeball"]]))
    near = skin[np.linalg.norm(v[skin] - centre, axis=1) < 0.045]
    around = (v[near] - centre) @ frame
    around = around[np.hypot(around[:, 0], around[:, 1] / 1.6) < 0.028]
    return (v[ear] - centre) @ frame, around, centre, frame


@pytest.mark.parametrize("side", ["left", "right"])
def test_ears_have_a_helix_and_a_concha(model, side):
    """Ears of adult size (Farkas: ~6 cm long, ~3.3 cm wide) standing out from the head, with a rim (helix)
    curling over a groove, and a deep bowl (concha)."""
    ear, around, _, _ = ear_frame(model, side)
    forward, up, out = ear.T
    head = np.median(around[:, 2])  # the head's surface round the ear
    assert 0.055 < np.ptp(up) < 0.065 and 0.03 < np.ptp(forward) < 0.04, (np.ptp(up), np.ptp(forward))
    assert out.max() - head > 0.013  # it stands out from the head
    # The bowl: inside the ear its floor lies down at the head's surface, well below the rim.
    floor = out[np.hypot(forward, up) < 0.012].min()
    assert floor < head + 0.003 and out.max() - floor > 0.012
    # The rim curls over: at the top, points lie right over others of the ear with a gap under them.
    top = np.nonzero(up > 0.015)[0]
    across = np.linalg.norm(ear[top, None, :2] - ear[None, top, :2], axis=-1)
    below = (across < 0.0015) & (out[top, None] - out[None, top] > 0.002)
    assert below.sum() >= 5


def test_no_face_folds_against_its_neighbours(model):
    """Where the patches are stitched into the ring grid no sliver lies folded over: every face turns the
    same way as the vertex normals round it (the mean normal of the faces at its corners)."""
    v, faces = model.v_template, model.faces
    normals = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    at_vertex = np.zeros_like(v)
    for k in range(3):
        np.add.at(at_vertex, faces[:, k], normals)
    around = at_vertex[faces].sum(axis=1)
    assert np.all((normals * around).sum(axis=1) > 0.0)
