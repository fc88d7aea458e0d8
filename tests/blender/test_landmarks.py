"""flame.add_landmarks and the follower hook: points that follow the head's landmarks."""

from __future__ import annotations

import bpy
import numpy as np
import pytest
from helpers import add_head, blender_axes, mesh_positions


@pytest.fixture(scope="module")
def demo(fc):
    return fc.demo_model()


def _landmarks(demo, **fields):
    return blender_axes(demo.forward(**fields).landmarks)


def test_landmarks_follow_property_edits_and_frames(demo):
    assert demo.landmarks is not None
    head = add_head(n_expression=10)
    head.flame.jaw[0] = 0.2
    assert bpy.ops.flame.add_landmarks() == {"FINISHED"}
    points = bpy.data.objects[f"{head.name} Landmarks"]
    assert points.parent == head and points.type == "MESH"
    assert len(points.data.vertices) == demo.landmarks.count and len(points.data.polygons) == 0
    np.testing.assert_allclose(mesh_positions(points), _landmarks(demo, jaw=[0.2, 0, 0]), atol=2e-6)
    assert bpy.context.view_layer.objects.active == head  # the head stays active

    head.flame.rotation = (0.0, 0.5, 0.0)  # a yaw: the contour landmarks switch rows
    np.testing.assert_allclose(mesh_positions(points), _landmarks(demo, jaw=[0.2, 0, 0], rotation=[0, 0.5, 0]),
                               atol=2e-6)

    head.flame.expression[3].value = 0.0
    head.keyframe_insert("flame.expression_values", index=3, frame=1)
    head.flame.expression[3].value = 2.0
    head.keyframe_insert("flame.expression_values", index=3, frame=10)
    scene = bpy.context.scene
    scene.frame_set(10)
    expression = np.zeros(10)
    expression[3] = 2.0
    expected = _landmarks(demo, jaw=[0.2, 0, 0], rotation=[0, 0.5, 0], expression=expression)
    np.testing.assert_allclose(mesh_positions(points), expected, atol=2e-6)
    scene.frame_set(1)
    expected = _landmarks(demo, jaw=[0.2, 0, 0], rotation=[0, 0.5, 0])
    np.testing.assert_allclose(mesh_positions(points), expected, atol=2e-6)

    head.location = (1.0, 2.0, 3.0)  # children follow the head's transform too
    bpy.context.view_layer.update()
    world = np.array(points.matrix_world)
    np.testing.assert_allclose(world[:3, 3], [1.0, 2.0, 3.0])

    assert bpy.ops.flame.add_landmarks() == {"FINISHED"}  # a second call keeps the one object
    assert sum(o.name.startswith(f"{head.name} Landmarks") for o in bpy.data.objects) == 1


def test_points_are_drawn_by_geometry_nodes():
    add_head()
    assert bpy.ops.flame.add_landmarks(show_points=True, radius=0.003) == {"FINISHED"}
    points = bpy.data.objects["FLAME Head Landmarks"]
    modifier = points.modifiers[0]
    assert modifier.type == "NODES" and modifier.node_group is not None
    evaluated = points.evaluated_get(bpy.context.evaluated_depsgraph_get())
    geometry = evaluated.evaluated_geometry() if hasattr(evaluated, "evaluated_geometry") else None
    if geometry is not None and geometry.pointcloud is not None:
        assert len(geometry.pointcloud.points) == len(points.data.vertices)


def test_model_without_landmarks_is_a_clear_error(model_file):
    path, model = model_file
    assert model.landmarks is None
    add_head(model_path=path)
    before = set(bpy.data.objects.keys())
    with pytest.raises(RuntimeError, match="no landmark embedding"):
        bpy.ops.flame.add_landmarks()
    assert set(bpy.data.objects.keys()) == before


def test_follower_hook_for_other_kinds(addon, model_file):
    path, model = model_file
    followers = addon.followers
    calls = []

    def update(obj, context):
        calls.append((obj.name, context.head.name, context.output.vertices.shape))
        if obj.name == "broken":
            raise RuntimeError("follower bug")

    followers.register_follower("TEST_KIND", update)
    try:
        head = add_head(model_path=path)
        child = bpy.data.objects.new("child", None)
        broken = bpy.data.objects.new("broken", None)
        bpy.context.scene.collection.objects.link(child)
        followers.mark(child, head, "TEST_KIND")
        followers.mark(broken, head, "TEST_KIND")
        other = bpy.data.objects.new("not a follower", None)
        other.parent = head
        head.flame.jaw[0] = 0.3
        assert sorted(c[0] for c in calls) == ["broken", "child"]
        assert all(c[1] == head.name and c[2] == (model.n_vertices, 3) for c in calls)
        assert followers.error(broken) and followers.error(child) is None
        assert set(followers.followers_of(head)) == {child, broken}
        np.testing.assert_allclose(  # a failing follower does not stop the head
            mesh_positions(head), blender_axes(model.forward(jaw=[0.3, 0, 0]).vertices), atol=2e-6
        )
    finally:
        followers.unregister_follower("TEST_KIND")
    calls.clear()
    head.flame.jaw[0] = 0.1
    assert calls == []
