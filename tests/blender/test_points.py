"""flame.sample_points and flame.export_points in Blender: attributes, determinism, surface, regions, following
the head, PLY layouts and errors."""

from __future__ import annotations

import importlib

import bpy
import numpy as np
import pytest
from helpers import add_head, key_jaw_opening, mesh_positions
from mathutils import Vector
from mathutils.bvhtree import BVHTree

#: Point objects are PointClouds where Blender can fill one (PointCloud.resize, 5.1+) or convert a mesh to one
#: (object.convert to POINTCLOUD, 5.0).
POINT_CLOUDS = ("resize" in bpy.types.PointCloud.bl_rna.functions
                or "POINTCLOUD" in bpy.ops.object.convert.get_rna_type().properties["target"].enum_items)

POINTS = "FLAME Head Points"


def _flame(points):
    """Blender (x, y, z) -> FLAME (x, z, -y), written out independently of the add-on."""
    points = np.asarray(points)
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)


def _vectors(data, name):
    attr = data.attributes[name]
    out = np.empty(3 * len(attr.data), dtype=np.float32)
    attr.data.foreach_get("vector", out)
    return out.reshape(-1, 3)


def _ints(data, name):
    attr = data.attributes[name]
    out = np.empty(len(attr.data), dtype=np.int32)
    attr.data.foreach_get("value", out)
    return out


def _evaluated(obj, name):
    """A point attribute as Blender evaluated it (bound points are placed by their Geometry Nodes modifier)."""
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    if hasattr(evaluated, "evaluated_geometry"):
        geometry = evaluated.evaluated_geometry()
        return _vectors(geometry.pointcloud or geometry.mesh, name)
    # Blender 4.2 cannot read an evaluated point cloud: read the points before the display modifier.
    display = [m for m in obj.modifiers if m.name != "FLAME Bound"]
    for modifier in display:
        modifier.show_viewport = False
    try:
        return _vectors(obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).data, name).copy()
    finally:
        for modifier in display:
            modifier.show_viewport = True


def _positions(obj):
    return _evaluated(obj, "position")


def _surface_distance(head, points) -> np.ndarray:
    """Distances of head-local points to the head's current mesh (Blender's own BVH tree)."""
    co = mesh_positions(head)
    polys = [tuple(p.vertices) for p in head.data.polygons]
    tree = BVHTree.FromPolygons([Vector(v) for v in co], polys)
    return np.array([tree.find_nearest(Vector(p))[3] for p in points])


def _sample(**kwargs):
    assert bpy.ops.flame.sample_points(**kwargs) == {"FINISHED"}
    return bpy.context.view_layer.objects.active


def _core(fc, name):
    return importlib.import_module(f"{fc.__name__}.{name}")


def test_sample_points_creates_a_point_object_with_attributes():
    head = add_head()
    obj = _sample(count=3000, seed=1)
    assert obj.name == POINTS and obj.parent is head
    assert obj.type == ("POINTCLOUD" if POINT_CLOUDS else "MESH")
    data = obj.data
    kinds = {name: (data.attributes[name].data_type, data.attributes[name].domain)
             for name in ("normal", "face_index", "barycentric")}
    assert kinds == {"normal": ("FLOAT_VECTOR", "POINT"), "face_index": ("INT", "POINT"),
                     "barycentric": ("FLOAT_VECTOR", "POINT")}
    assert len(_positions(obj)) == 3000
    bary = _vectors(data, "barycentric")
    assert np.all(bary >= -1e-6) and np.allclose(bary.sum(axis=1), 1.0, atol=1e-5)
    faces = _ints(data, "face_index")
    assert faces.min() >= 0 and faces.max() < len(head.data.polygons)
    normals = _vectors(data, "normal")
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    # Positions are the barycentric blend of the face corners (head-local Blender axes).
    corners = mesh_positions(head)[np.array([tuple(p.vertices) for p in head.data.polygons])[faces]]
    np.testing.assert_allclose(np.einsum("nk,nkc->nc", bary, corners), _positions(obj), atol=1e-5)
    # Normals agree with the faces' orientation.
    face_n = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    assert np.mean(np.einsum("ij,ij->i", face_n, normals) > 0) > 0.95
    # Drawn as points: a Geometry Nodes modifier turning the vertices into points (or a native point cloud).
    if obj.type == "MESH":
        assert len(obj.data.polygons) == 0 and len(obj.data.edges) == 0
        assert any(m.type == "NODES" and m.node_group is not None for m in obj.modifiers)
        evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        if hasattr(evaluated, "evaluated_geometry"):
            assert len(evaluated.evaluated_geometry().pointcloud.points) == 3000


def test_points_lie_on_the_surface():
    head = add_head()
    head.flame.jaw = (0.2, 0.0, 0.0)
    obj = _sample(count=2000, seed=5)
    assert np.max(_surface_distance(head, _positions(obj))) < 1e-5


def test_same_seed_same_points():
    add_head()
    a = _positions(_sample(count=500, seed=7)).copy()
    bpy.context.view_layer.objects.active = bpy.data.objects["FLAME Head"]
    b = _positions(_sample(count=500, seed=7)).copy()
    c = _positions(_sample(count=500, seed=8)).copy()  # run with the points object active: same head
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    assert len([o for o in bpy.data.objects if o.parent is not None]) == 3


def test_region_limits_the_faces():
    head = add_head()
    group = head.vertex_groups["nose"]
    in_group = np.zeros(len(head.data.vertices), bool)
    for v in head.data.vertices:
        if any(g.group == group.index for g in v.groups):
            in_group[v.index] = True
    obj = _sample(count=800, seed=2, region="nose")
    faces = np.array([tuple(p.vertices) for p in head.data.polygons])[_ints(obj.data, "face_index")]
    assert len(faces) == 800 and np.all(in_group[faces])
    with pytest.raises(TypeError):
        bpy.ops.flame.sample_points(region="no_such_region")


def test_min_distance_spaces_the_points():
    add_head()
    obj = _sample(count=5000, seed=0, min_distance=0.01)
    pos = _positions(obj).astype(np.float64)
    assert 50 < len(pos) <= 5000
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert d.min() >= 0.01 * (1 - 1e-5)


def test_bound_points_follow_the_animation_and_object():
    head = add_head()
    scene = bpy.context.scene
    key_jaw_opening(head, last_frame=10)
    scene.frame_set(1)
    bpy.context.view_layer.objects.active = head
    bound = _sample(count=1500, seed=3, region="face")
    bpy.context.view_layer.objects.active = head
    fixed = _sample(count=1500, seed=3, region="face", bind=False)
    start = _positions(fixed).copy()
    np.testing.assert_allclose(_positions(bound), start, atol=1e-7)  # Blender blends in another order
    scene.frame_set(10)
    moved = _positions(bound)
    assert np.abs(moved - start).max() > 0.005  # the chin went down
    np.testing.assert_array_equal(_vectors(bound.data, "position"), start)  # Blender moved them, not Python
    assert np.max(_surface_distance(head, moved)) < 1e-5
    np.testing.assert_array_equal(_positions(fixed), start)  # not bound: stays
    # Normals follow too: they equal the blend of the new mesh's vertex normals.
    assert not np.allclose(_evaluated(bound, "normal"), _evaluated(fixed, "normal"), atol=1e-3)
    co = mesh_positions(head).astype(np.float64)  # they are the normals of their triangles on the new mesh
    corners = co[np.array([tuple(p.vertices) for p in head.data.polygons])[_ints(bound.data, "face_index")]]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    face_normals /= np.linalg.norm(face_normals, axis=1, keepdims=True)
    np.testing.assert_allclose(_evaluated(bound, "normal"), face_normals, atol=1e-4)
    assert bound.modifiers[0].name == "FLAME Bound" and not any(m.name == "FLAME Bound" for m in fixed.modifiers)
    # Parameter edits (not only frame changes) move bound points.
    head.flame.jaw = (0.1, 0.0, 0.0)
    assert np.max(_surface_distance(head, _positions(bound))) < 1e-5
    # The object transform is inherited (children of the head).
    head.location = (0.5, 0.0, 0.2)
    bpy.context.view_layer.update()
    world = np.array(bound.matrix_world)
    np.testing.assert_allclose(world, np.array(head.matrix_world), atol=1e-6)


def test_export_3dgs_in_flame_axes_and_blender_world(fc, tmp_path):
    head = add_head()
    head.flame.expression[0].value = 1.0
    obj = _sample(count=400, seed=11)
    local = _positions(obj).astype(np.float64)
    normals = _vectors(obj.data, "normal").astype(np.float64)
    ply = _core(fc, "ply")
    assert bpy.ops.flame.export_points(filepath=str(tmp_path / "flame.ply")) == {"FINISHED"}
    cols = ply.read_ply(tmp_path / "flame.ply")
    got = np.stack([cols["x"], cols["y"], cols["z"]], -1)
    np.testing.assert_allclose(got, _flame(local), atol=1e-6)
    np.testing.assert_allclose(np.stack([cols["nx"], cols["ny"], cols["nz"]], -1), _flame(normals), atol=1e-6)
    assert np.all(cols["red"] == 128) and np.all(cols["green"] == 128) and np.all(cols["blue"] == 128)
    head.location = (1.0, 2.0, 3.0)
    head.rotation_euler = (0.0, 0.0, np.pi / 2)
    bpy.context.view_layer.update()
    assert bpy.ops.flame.export_points(filepath=str(tmp_path / "world"), axes="BLENDER_WORLD") == {"FINISHED"}
    cols = ply.read_ply(tmp_path / "world.ply")
    m = np.array(obj.matrix_world)
    np.testing.assert_allclose(np.stack([cols["x"], cols["y"], cols["z"]], -1), local @ m[:3, :3].T + m[:3, 3],
                               atol=1e-5)
    np.testing.assert_allclose(np.stack([cols["nx"], cols["ny"], cols["nz"]], -1), normals @ m[:3, :3].T, atol=1e-5)


def test_export_bound_layout_unbinds_to_the_sampled_points(fc, tmp_path):
    head = add_head()
    head.flame.jaw = (0.25, 0.0, 0.0)
    head.flame.expression[1].value = -0.8
    obj = _sample(count=600, seed=4)
    sampled = _flame(_positions(obj).astype(np.float64))
    bpy.context.view_layer.objects.active = head  # the head selects its points too
    assert bpy.ops.flame.export_points(filepath=str(tmp_path / "avatar" / "point_cloud.ply"),
                                       layout="BOUND") == {"FINISHED"}
    binding = _core(fc, "binding")
    local, face_index, columns = binding.read_bound_ply(tmp_path / "avatar" / "point_cloud.ply")
    np.testing.assert_array_equal(face_index, _ints(obj.data, "face_index"))
    vertices = _flame(mesh_positions(head).astype(np.float64))
    faces = fc.demo_model().faces
    np.testing.assert_allclose(binding.unbind_points(vertices, faces, face_index, local), sampled, atol=1e-5)
    assert {"opacity", "scale_0", "rot_0"} <= set(columns)
    with np.load(tmp_path / "avatar" / "flame_param.npz") as npz:
        assert npz["jaw_pose"].shape == (1, 3)
        np.testing.assert_allclose(npz["jaw_pose"][0], [0.25, 0.0, 0.0], atol=1e-6)
        np.testing.assert_allclose(npz["expr"][0, 1], -0.8, atol=1e-6)
        assert npz["shape"].ndim == 1


def test_export_at_another_frame(fc, tmp_path):
    head = add_head()
    scene = bpy.context.scene
    key_jaw_opening(head, last_frame=10)
    scene.frame_set(1)
    obj = _sample(count=300, seed=9)
    at_one = _flame(_positions(obj).astype(np.float64))
    assert bpy.ops.flame.export_points(filepath=str(tmp_path / "f10.ply"), frame=10) == {"FINISHED"}
    assert scene.frame_current == 1
    np.testing.assert_allclose(_flame(_positions(obj)), at_one, atol=1e-6)  # back at frame 1
    cols = _core(fc, "ply").read_ply(tmp_path / "f10.ply")
    at_ten = np.stack([cols["x"], cols["y"], cols["z"]], -1)
    assert np.abs(at_ten - at_one).max() > 0.005
    scene.frame_set(10)
    np.testing.assert_allclose(at_ten, _flame(_positions(obj)), atol=1e-6)


def test_bad_inputs_are_reported_and_leave_nothing_behind(tmp_path):
    objects = len(bpy.data.objects)
    with pytest.raises(RuntimeError, match="not one"):
        bpy.ops.flame.sample_points()
    with pytest.raises(RuntimeError, match="Sample Surface Points first"):
        bpy.ops.flame.export_points(filepath=str(tmp_path / "x.ply"))
    head = add_head()
    objects += 1
    meshes = len(bpy.data.meshes)
    with pytest.raises(RuntimeError, match="Sample Surface Points first"):
        bpy.ops.flame.export_points(filepath=str(tmp_path / "x.ply"))
    # A region without faces of its own (a single ring of vertices) cannot be sampled.
    with pytest.raises(RuntimeError, match="nothing to sample"):
        bpy.ops.flame.sample_points(region="boundary")
    assert len(bpy.data.objects) == objects and len(bpy.data.meshes) == meshes
    _sample(count=10)
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(RuntimeError, match="Cannot export"):
        bpy.ops.flame.export_points(filepath=str(blocker / "p.ply"), layout="BOUND")
    with pytest.raises(RuntimeError, match="not a file name"):
        bpy.ops.flame.export_points(filepath=str(tmp_path) + "/")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
    assert head.name in bpy.data.objects


def test_point_object_kind_follows_the_running_blender():
    """A PointCloud where Blender can make one (5.0+), else a mesh drawn as points."""
    head = add_head()
    obj = _sample(count=200, seed=1)
    if POINT_CLOUDS:
        assert obj.type == "POINTCLOUD" and len(obj.data.points) == 200
    else:
        assert obj.type == "MESH" and len(obj.data.vertices) == 200 and len(obj.data.polygons) == 0
        assert any(m.type == "NODES" and m.node_group is not None for m in obj.modifiers)
    head.flame.jaw = (0.3, 0.0, 0.0)
    assert np.max(_surface_distance(head, _positions(obj))) < 1e-5


def _corner_vertices(head, obj) -> np.ndarray:
    faces = np.array([tuple(p.vertices) for p in head.data.polygons])
    return faces[_ints(obj.data, "face_index")]


def _floats(data, name):
    attr = data.attributes[name]
    out = np.empty(len(attr.data), dtype=np.float32)
    attr.data.foreach_get("value", out)
    return out


def _stored_corners(obj) -> tuple[np.ndarray, np.ndarray]:
    """(corner vertices (n, 3), corner weights (n, 3)) as stored on the points."""
    return (np.stack([_ints(obj.data, f"face_vertex_{k}") for k in range(3)], axis=1),
            np.stack([_floats(obj.data, f"face_weight_{k}") for k in range(3)], axis=1))


def test_bound_points_store_their_corner_vertices_and_weights():
    head = add_head()
    obj = _sample(count=700, seed=12)
    vertices, weights = _stored_corners(obj)
    np.testing.assert_array_equal(vertices, _corner_vertices(head, obj))
    np.testing.assert_array_equal(weights, _vectors(obj.data, "barycentric"))
    group = obj.modifiers["FLAME Bound"].node_group
    samples = [n for n in group.nodes if n.bl_idname == "GeometryNodeSampleIndex"]
    assert sorted(n.domain for n in samples) == ["FACE", "POINT", "POINT", "POINT"]  # no face-corner sampling


def test_bound_cloud_of_the_older_layout_is_upgraded_on_load_and_follows(tmp_path):
    """A cloud saved with only face_index + barycentric and an older group gets its corner vertices and weights
    and the current group when the file is opened, and follows the head."""
    head = add_head()
    key_jaw_opening(head, last_frame=10)
    bpy.context.scene.frame_set(1)
    obj = _sample(count=900, seed=13)
    for name in [f"face_{kind}_{k}" for kind in ("vertex", "weight") for k in range(3)]:
        obj.data.attributes.remove(obj.data.attributes[name])
    group = obj.modifiers["FLAME Bound"].node_group
    group.nodes.clear()  # an older group's nodes: replaced on load
    group["flame_version"] = 2
    path = str(tmp_path / "old_cloud.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=path)
    head, obj = bpy.data.objects["FLAME Head"], bpy.data.objects[POINTS]
    stored, weights = _stored_corners(obj)
    np.testing.assert_array_equal(stored, _corner_vertices(head, obj))
    np.testing.assert_array_equal(weights, _vectors(obj.data, "barycentric"))
    assert obj.modifiers["FLAME Bound"].node_group["flame_version"] > 2
    start = _positions(obj).copy()
    bpy.context.scene.frame_set(10)
    moved = _positions(obj)
    assert np.abs(moved - start).max() > 0.005
    assert np.max(_surface_distance(head, moved)) < 1e-5
    expected = np.einsum("nk,nkc->nc", _vectors(obj.data, "barycentric"), mesh_positions(head)[stored])
    np.testing.assert_allclose(moved, expected, atol=1e-6)
    corners = mesh_positions(head).astype(np.float64)[stored]  # normals on by default: the triangles' normals
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    face_normals /= np.linalg.norm(face_normals, axis=1, keepdims=True)
    np.testing.assert_allclose(_evaluated(obj, "normal"), face_normals, atol=1e-4)


def test_bound_normals_can_be_switched_off(addon):
    """The modifier's Normals input: off, the evaluated points still follow but carry no normal."""
    head = add_head()
    obj = _sample(count=400, seed=14)
    modifier = obj.modifiers["FLAME Bound"]
    normals = next(item for item in modifier.node_group.interface.items_tree
                   if getattr(item, "in_out", None) == "INPUT" and item.name == "Normals")
    assert _evaluated(obj, "normal").shape == (400, 3)
    addon.point_display.set_modifier_input(modifier, normals.identifier, False)
    obj.update_tag()
    head.flame.jaw = (0.25, 0.0, 0.0)
    assert np.max(_surface_distance(head, _positions(obj))) < 1e-5
    with pytest.raises(KeyError):
        _evaluated(obj, "normal")
    addon.point_display.set_modifier_input(modifier, normals.identifier, True)
    obj.update_tag()
    assert _evaluated(obj, "normal").shape == (400, 3)


def test_sampling_is_one_undo_step_that_leaves_no_data():
    """Undo removes the point object and its data (on 5.0 a mesh converted to a PointCloud in between)."""
    add_head()
    bpy.ops.ed.undo_push(message="before sampling")
    meshes, clouds = len(bpy.data.meshes), len(bpy.data.pointclouds)
    assert bpy.ops.flame.sample_points("EXEC_DEFAULT", True, count=300, seed=2) == {"FINISHED"}
    assert POINTS in bpy.data.objects
    assert (len(bpy.data.meshes), len(bpy.data.pointclouds)) == ((meshes, clouds + 1) if POINT_CLOUDS
                                                                  else (meshes + 1, clouds))
    bpy.ops.ed.undo()
    assert POINTS not in bpy.data.objects
    assert (len(bpy.data.meshes), len(bpy.data.pointclouds)) == (meshes, clouds)
    head = bpy.data.objects["FLAME Head"]
    bpy.context.view_layer.objects.active = head
    obj = _sample(count=300, seed=2)  # and sampling again works
    head.flame.jaw = (0.2, 0.0, 0.0)
    assert np.max(_surface_distance(head, _positions(obj))) < 1e-5
