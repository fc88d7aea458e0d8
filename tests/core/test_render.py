"""Rasterizer and normal-map renderer: analytic spheres and cubes, occlusion, clipping, conventions."""

from __future__ import annotations

import numpy as np
import pytest

import flame_core
from flame_core.camera import Camera
from flame_core.errors import FlameError
from flame_core.raster import rasterize
from flame_core.render import iter_normal_maps, render_normal_map, render_normal_maps


def uv_sphere(n_lat: int = 96, n_lon: int = 192, radius: float = 1.0, centre=(0.0, 0.0, 0.0)):
    """A closed UV sphere with outward (counter-clockwise seen from outside) faces."""
    lat = np.linspace(0, np.pi, n_lat + 1)[1:-1]
    lon = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    ring = np.stack([np.sin(la) * np.cos(lo), np.cos(la), -np.sin(la) * np.sin(lo)], -1).reshape(-1, 3)
    verts = np.concatenate([[[0, 1, 0]], ring, [[0, -1, 0]]]) * radius + centre
    j = np.arange(n_lon)
    jn = (j + 1) % n_lon
    top = np.stack([np.zeros(n_lon, int), 1 + j, 1 + jn], 1)
    i = np.arange(n_lat - 2)[:, None]
    a, b = 1 + i * n_lon + j, 1 + i * n_lon + jn
    quads = np.concatenate([np.stack([a, a + n_lon, b + n_lon], -1), np.stack([a, b + n_lon, b], -1)]).reshape(-1, 3)
    last, base = len(verts) - 1, 1 + (n_lat - 2) * n_lon
    bottom = np.stack([np.full(n_lon, last), base + jn, base + j], 1)
    return verts, np.concatenate([top, quads, bottom])


def box(size=1.0):
    """A cube with separate vertices per face (so vertex normals are the face normals)."""
    verts, faces = [], []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            n = np.zeros(3)
            n[axis] = sign
            u = np.roll(n, 1) if sign > 0 else np.roll(n, 2)
            v = np.cross(n, u)
            base = len(verts)
            verts += [size * (n + su * u + sv * v) for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
            faces += [[base, base + 1, base + 2], [base, base + 2, base + 3]]
    return np.array(verts), np.array(faces)


def _analytic_sphere_normals(cam: Camera, centre, radius):
    """Unit world normals where each pixel centre's ray hits the sphere (NaN where it misses)."""
    j, i = np.meshgrid(np.arange(cam.width) + 0.5, np.arange(cam.height) + 0.5)
    d = cam.pixel_rays(np.stack([j, i], -1))
    o = cam.position - np.asarray(centre)
    b = d @ o
    disc = b * b - (o @ o - radius**2)
    s = -b - np.sqrt(np.where(disc > 0, disc, np.nan))
    hit = o + s[..., None] * d
    return hit / radius


@pytest.fixture(scope="module")
def sphere():
    return uv_sphere()


def test_sphere_normals_match_analytic(sphere):
    verts, faces = sphere
    cam = Camera.look_at((0.8, 0.5, 4.0), (0, 0, 0), fov_y_degrees=35, size=(160, 120))
    nm = render_normal_map(verts, faces, cam, space="world")
    expected = _analytic_sphere_normals(cam, (0, 0, 0), 1.0)
    inner = np.isfinite(expected[..., 0])
    # Pixels clear of the silhouette (where tessellation moves the edge) agree closely.
    rim = np.abs(np.einsum("hwc,hwc->hw", np.nan_to_num(expected), cam.pixel_rays(_centres(cam)))) > 0.15
    assert np.array_equal(nm.mask[inner & rim], np.ones((inner & rim).sum(), bool))
    err = np.linalg.norm(nm.normals[inner & rim] - expected[inner & rim], axis=-1)
    assert err.max() < 5e-3
    # Depth buffer is the hit distance along the optical axis.
    d_exp = cam.world_to_camera(expected)[..., 2] + cam.t[2] * 0  # centre at origin, radius 1: hit == normal
    assert np.allclose(nm.depth[inner & rim], d_exp[inner & rim], atol=2e-3)


def _centres(cam):
    j, i = np.meshgrid(np.arange(cam.width) + 0.5, np.arange(cam.height) + 0.5)
    return np.stack([j, i], -1)


@pytest.mark.parametrize(
    "convention, centre, right, top",
    [
        ("opengl", (0.5, 0.5, 1.0), (1.0, 0.5, 0.5), (0.5, 1.0, 0.5)),
        ("opencv", (0.5, 0.5, 0.0), (1.0, 0.5, 0.5), (0.5, 0.0, 0.5)),
        ("scannet", (0.5, 0.5, 1.0), (0.0, 0.5, 0.5), (0.5, 1.0, 0.5)),
        ("controlnet", (0.5, 0.5, 1.0), (0.0, 0.5, 0.5), (0.5, 1.0, 0.5)),
    ],
)
def test_sphere_conventions(sphere, convention, centre, right, top):
    verts, faces = sphere
    cam = Camera.look_at((0, 0, 6.0), (0, 0, 0), fov_y_degrees=25, size=(201, 201))
    img = render_normal_map(verts, faces, cam, convention=convention).image
    assert np.allclose(img[100, 100, :3], centre, atol=1e-3)
    # Rim pixels: the normal is nearly perpendicular to the view there (within the tolerance).
    cols = np.flatnonzero(img[100, :, 3] > 0)
    rows = np.flatnonzero(img[:, 100, 3] > 0)
    left = 1.0 - np.array(right)
    left[1:] = right[1:]
    rims = ((img[100, cols[-1], :3], right), (img[rows[0], 100, :3], top), (img[100, cols[0], :3], left))
    for pixel, expected in rims:
        # X and Y exact to the rim's tilt; Z (the rim is seen at a slant) only on the camera's side.
        assert np.allclose(pixel[:2], expected[:2], atol=0.03)
        assert abs(pixel[2] - 0.5) < 0.2 and (pixel[2] - 0.5) * (centre[2] - 0.5) > 0


def test_mask_area_matches_projected_disk(sphere):
    verts, faces = sphere
    dist = 5.0
    cam = Camera.look_at((0, 0, dist), (0, 0, 0), fov_y_degrees=30, size=(300, 300))
    radius_px = cam.fy * np.tan(np.arcsin(1.0 / dist))
    area = np.pi * radius_px**2
    assert abs(render_normal_map(verts, faces, cam).mask.sum() / area - 1) < 4e-3
    alpha = render_normal_map(verts, faces, cam, samples=16).alpha
    assert abs(alpha.sum() / area - 1) < 2e-3
    edge = (alpha > 0) & (alpha < 1)
    assert edge.sum() > 2 * np.pi * radius_px * 0.8  # fractional coverage all along the rim


def test_cube_faces_are_flat_and_world_vs_camera_rotation():
    verts, faces = box(0.5)
    cam = Camera.look_at((2.0, 1.5, 2.5), (0, 0, 0), fov_y_degrees=40, size=(128, 128))
    world = render_normal_map(verts, faces, cam, space="world")
    normals = world.normals[world.mask]
    # Exactly three visible faces, each a flat axis-aligned normal facing the camera side.
    axes = np.unique(np.round(normals, 4), axis=0)
    assert axes.tolist() == [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    face_of_normal = world.face_index[world.mask] // 2
    assert np.all(normals[np.arange(len(normals)), face_of_normal // 2] == 1.0)
    camera_cv = render_normal_map(verts, faces, cam, space="camera", convention="opencv")
    assert np.array_equal(camera_cv.mask, world.mask)
    assert np.allclose(camera_cv.normals[world.mask], normals @ cam.R.T, atol=1e-6)
    gl = render_normal_map(verts, faces, cam, convention="opengl").normals[world.mask]
    assert np.allclose(gl, camera_cv.normals[world.mask] * [1, -1, -1], atol=1e-6)
    blender = render_normal_map(verts, faces, cam, space="world", convention="blender").normals[world.mask]
    assert np.allclose(blender, np.stack([normals[:, 0], -normals[:, 2], normals[:, 1]], 1), atol=1e-6)


def _quad(z, x0, x1, y0, y1):
    verts = np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]], float)
    return verts, np.array([[0, 1, 2], [0, 2, 3]])


def test_occlusion_independent_of_order():
    cam = Camera(100.0, 100.0, 32.0, 32.0, 64, 64)  # identity pose: world = OpenCV camera space
    near_v, near_f = _quad(2.0, -0.2, 0.2, -0.2, 0.2)
    far_v, far_f = _quad(3.0, -0.5, 0.5, -0.5, 0.5)
    verts = np.concatenate([near_v, far_v])
    for faces in (np.concatenate([near_f, far_f + 4]), np.concatenate([far_f + 4, near_f])):
        frags = rasterize(verts, faces, cam)
        face_img, depth = frags.face_image(), frags.depth_image()
        near_ids = [i for i, f in enumerate(faces) if f.min() < 4]
        assert np.isin(face_img[32, 32], near_ids)
        assert np.isclose(depth[32, 32], 2.0, rtol=1e-6) and np.isclose(depth[20, 20], 3.0, rtol=1e-6)
        # The near quad covers pixels whose centres project inside +-0.2 at z = 2: columns 22..41.
        assert np.array_equal(np.flatnonzero(np.isclose(depth[32], 2.0)), np.arange(22, 42))


def test_resolve_methods_agree_with_brute_force():
    rng = np.random.default_rng(7)
    cam = Camera(40.0, 40.0, 24.0, 20.0, 48, 40)
    verts = np.c_[rng.uniform(-0.8, 0.8, (60, 2)), rng.uniform(1.0, 3.0, 60)]
    faces = rng.integers(0, 60, (40, 3))
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    a = rasterize(verts, faces, cam, resolve="scatter")
    b = rasterize(verts, faces, cam, resolve="minimum_at")
    assert np.array_equal(a.face_image(), b.face_image()) and np.array_equal(a.bary, b.bary)
    # Brute force over all (pixel, triangle) pairs: inside test on the projected triangle, depth from the plane.
    uv, _ = cam.project(verts)
    tri = uv[faces]  # (F, 3, 2)
    p = _centres(cam).reshape(-1, 1, 2)
    def cross2(a, b):
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]

    e = [cross2(tri[:, (k + 1) % 3] - tri[:, k], p - tri[:, k]) for k in range(3)]
    e = np.stack(e, -1)  # (P, F, 3)
    inside = np.all(e > 1e-9, -1) | np.all(e < -1e-9, -1)
    near_edge = np.any(np.abs(e) < 1e-6, -1).any(-1)
    rays = np.c_[(p[:, 0, 0] - cam.cx) / cam.fx, (p[:, 0, 1] - cam.cy) / cam.fy, np.ones(len(p))]
    v3 = verts[faces]
    n = np.cross(v3[:, 1] - v3[:, 0], v3[:, 2] - v3[:, 0])
    z = np.einsum("fc,fc->f", n, v3[:, 0])[None] / (rays @ n.T)
    z = np.where(inside, z, np.inf)
    expected = np.where(np.isfinite(z.min(1)), z.argmin(1), -1)
    second = np.sort(z, axis=1)[:, :2]
    with np.errstate(invalid="ignore"):
        clear = ~near_edge & ~(np.abs(second[:, 0] - second[:, 1]) < 1e-6)
    got = a.face_image().ravel()
    assert clear.sum() > 0.8 * len(clear)
    assert np.array_equal(got[clear], expected[clear])
    zbuf = a.depth_image().ravel()
    fin = clear & (expected >= 0)
    assert np.allclose(zbuf[fin], z.min(1)[fin], rtol=1e-5)


@pytest.mark.parametrize("resolve", ["scatter", "minimum_at"])
def test_fragment_chunks_do_not_change_the_result(monkeypatch, sphere, resolve):
    """Fragments are made and depth-tested in chunks; chunk boundaries (here every 37 fragments, cutting
    spans and pixels covered by several faces) give exactly the single-chunk result."""
    from flame_core import raster

    verts, faces = sphere
    cam = Camera.look_at([0.4, 0.3, 3.0], [0.0, 0.0, 0.0], focal=60.0, size=(64, 48))
    monkeypatch.setattr(raster, "_CHUNK", 1 << 30)
    whole = rasterize(verts, faces, cam, resolve=resolve)
    monkeypatch.setattr(raster, "_CHUNK", 37)
    chunked = rasterize(verts, faces, cam, resolve=resolve)
    assert whole.pixels.size > 1000
    for name in ("pixels", "face", "depth", "bary", "backfacing"):
        assert np.array_equal(getattr(whole, name), getattr(chunked, name)), name


def test_expand_runs_with_empty_ones():
    from flame_core.raster import _expand

    for counts in ([0, 3, 0, 0, 2, 1, 0], [4], [0, 0], []):
        c = np.array(counts, dtype=np.int64)
        owner, shift = _expand(c)
        assert np.array_equal(owner, np.repeat(np.arange(c.size), c))
        rank = np.arange(owner.size) + shift[owner]
        assert np.array_equal(rank, np.concatenate([np.arange(n) for n in counts] + [np.zeros(0, int)]))


def test_near_plane_clipping_keeps_crossing_triangles():
    cam = Camera(100.0, 100.0, 50.0, 50.0, 100, 100, near=0.1)
    # A floor 0.5 below the camera (OpenCV +Y is down) running from behind the camera to far in front.
    verts = np.array([[-20.0, 0.5, -5.0], [20.0, 0.5, -5.0], [0.0, 0.5, 30.0]])
    frags = rasterize(verts, np.array([[0, 1, 2]]), cam)
    depth = frags.depth_image()
    rows = np.arange(100) + 0.5
    below = rows > 50 + 100 * 0.5 / 30.0  # floor visible between the far vertex's horizon and the image bottom
    assert np.all(np.isfinite(depth[below, 50])) and not np.any(np.isfinite(depth[rows < 50, 50]))
    expected = 100 * 0.5 / (rows[below] - 50)
    assert np.allclose(depth[below, 50], expected, rtol=1e-5)
    # Two vertices behind the near plane.
    verts2 = np.array([[-20.0, 0.5, -5.0], [20.0, 0.5, -5.0], [0.0, 0.5, 30.0]])[[2, 0, 1]] * [1, 1, 1]
    assert np.array_equal(rasterize(verts2, np.array([[0, 1, 2]]), cam).mask(), frags.mask())
    wall = np.array([[-1.0, -1, -1], [1, -1, -1], [0, 1, -1]])  # entirely behind the camera
    assert rasterize(wall, np.array([[0, 1, 2]]), cam).pixels.size == 0


def test_both_windings_render_and_backface_flip(sphere):
    verts, faces = sphere
    cam = Camera.look_at((0, 0, 5.0), (0, 0, 0), size=(64, 64))
    a = render_normal_map(verts, faces, cam)
    b = render_normal_map(verts, faces[:, ::-1], cam)
    assert np.array_equal(a.mask, b.mask) and np.allclose(a.depth, b.depth)
    # Reversed winding: vertex normals point inwards; flipping back faces restores the outward ones.
    assert np.allclose(b.normals[a.mask], -a.normals[a.mask], atol=1e-5)
    c = render_normal_map(verts, faces[:, ::-1], cam, flip_backfaces=True)
    assert np.allclose(c.normals[a.mask], a.normals[a.mask], atol=1e-5)


def test_supersampled_edge_alpha_is_fractional():
    cam = Camera(100.0, 100.0, 50.0, 50.0, 100, 100)
    x_edge = (100.3 - 50.0 - 50.0) / 100.0 * 2.0  # u = 50.3 at depth 2
    verts, faces = _quad(2.0, -1.0, x_edge, -1.0, 1.0)
    nm = render_normal_map(verts, faces, cam, samples=16)
    # Samples at u = 50 + (0.125, 0.375, 0.625, 0.875): one column of four lies left of 50.3.
    assert np.allclose(nm.alpha[10:90, 50], 0.25) and np.all(nm.alpha[10:90, 49] == 1)
    assert np.all(nm.alpha[:, 51] == 0)
    assert np.allclose(nm.image[50, 50, :3], [0.5, 0.5, 0.0], atol=1e-6)  # straight colour: -Z faces camera
    nm4 = render_normal_map(verts, faces, cam, samples=4)
    assert np.allclose(nm4.alpha[10:90, 50], 0.5)
    with pytest.raises(FlameError):
        render_normal_map(verts, faces, cam, samples=5)


def test_backgrounds(sphere):
    verts, faces = sphere
    cam = Camera.look_at((0, 0, 6.0), (0, 0, 0), fov_y_degrees=30, size=(40, 40))
    transparent = render_normal_map(verts, faces, cam).image
    assert np.all(transparent[0, 0] == 0)
    assert np.all(render_normal_map(verts, faces, cam, background="black").image[0, 0] == [0, 0, 0, 1])
    neutral = render_normal_map(verts, faces, cam, background="neutral").image
    assert np.allclose(neutral[0, 0], [0.5, 0.5, 1.0, 1.0])
    cv = render_normal_map(verts, faces, cam, background="neutral", convention="opencv").image
    assert np.allclose(cv[0, 0], [0.5, 0.5, 0.0, 1.0])
    world = render_normal_map(verts, faces, cam, background="neutral", space="world").image
    assert np.allclose(world[0, 0], [0.5, 0.5, 1.0, 1.0])  # the camera sits on +Z
    custom = render_normal_map(verts, faces, cam, background=(0.1, 0.2, 0.3)).image
    assert np.allclose(custom[0, 0], [0.1, 0.2, 0.3, 1.0])
    assert np.array_equal(custom[20, 20], transparent[20, 20])
    with pytest.raises(FlameError):
        render_normal_map(verts, faces, cam, background="grey")
    with pytest.raises(FlameError):
        render_normal_map(verts, faces, cam, convention="blender")  # a world convention in camera space


def test_batched_rendering_matches_single_frames(sphere):
    verts, faces = sphere
    frames = np.stack([verts, verts * 0.8 + [0.2, 0, 0], verts @ np.diag([1.0, 0.6, 1.0])])
    cam = Camera.look_at((0, 0, 5.0), (0, 0, 0), size=(48, 32))
    calls = []
    stack = render_normal_maps(frames, faces, cam, progress=lambda i, n: calls.append((i, n)), samples=4)
    assert stack.shape == (3, 32, 48, 4) and calls == [(1, 3), (2, 3), (3, 3)]
    for t in range(3):
        assert np.array_equal(stack[t], render_normal_map(frames[t], faces, cam, samples=4).image)
    maps = list(iter_normal_maps(frames, faces, [cam, cam.with_size((24, 16)), cam]))
    assert maps[1].image.shape == (16, 24, 4)


def test_demo_head_front_view_is_upright():
    model = flame_core.demo_model()
    verts = model.forward(flame_core.FlameParams()).vertices
    cam = Camera.front(verts, (256, 256))
    nm = render_normal_map(verts, model.faces, cam)
    rows = np.flatnonzero(nm.mask.any(axis=1))
    # The nearest visible point (the nose tip region) lies in the middle band of the head, above its lowest row.
    i, _ = np.unravel_index(np.argmin(nm.depth), nm.depth.shape)
    assert rows[0] + 0.3 * (rows[-1] - rows[0]) < i < rows[-1] - 0.2 * (rows[-1] - rows[0])
    # Seen from the front: the nearest vertex is the one with the largest z, and it projects near that pixel.
    uv, _ = cam.project(verts[np.argmax(verts[:, 2])])
    assert abs(uv[1] - (i + 0.5)) < 0.1 * (rows[-1] - rows[0])
    # The top of the head is up: the highest vertex projects to the top rows, and the crown faces up (green).
    uv_top, _ = cam.project(verts[np.argmax(verts[:, 1])])
    assert abs(uv_top[1] - rows[0]) < 3
    assert nm.image[rows[0] + 2, int(uv_top[0]), 1] > 0.8
    # Most visible normals face the camera (blue > 0.5 in OpenGL convention): not seen from behind.
    assert np.mean(nm.image[nm.mask][:, 2] > 0.5) > 0.95
