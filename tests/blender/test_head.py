"""flame.add_head: topology, UVs, vertex groups, placement, exposed counts and failures."""

from __future__ import annotations

import bpy
import numpy as np
import pytest
from helpers import add_head, blender_axes, mesh_positions


def test_demo_head_has_flame_topology(fc):
    demo = fc.demo_model()
    obj = add_head()
    assert obj.name == "FLAME Head"
    assert obj.flame.is_head and obj.flame.model_path == ""
    assert len(obj.data.vertices) == demo.n_vertices == 5023
    assert len(obj.data.polygons) == demo.n_faces == 9976
    assert ("UVMap" in obj.data.uv_layers) == demo.has_uvs
    assert sorted(g.name for g in obj.vertex_groups) == sorted(demo.masks)
    np.testing.assert_allclose(mesh_positions(obj), blender_axes(demo.v_template), atol=1e-6)


def test_head_from_file(model_file):
    path, model = model_file
    bpy.context.scene.cursor.location = (1.0, 2.0, 3.0)
    obj = add_head(model_path=path, n_shape=4, n_expression=100)
    mesh = obj.data
    assert len(mesh.vertices) == model.n_vertices
    assert len(mesh.polygons) == model.n_faces
    assert all(len(p.vertices) == 3 for p in mesh.polygons[:10])
    faces = np.empty(3 * model.n_faces, dtype=np.int32)
    mesh.polygons.foreach_get("vertices", faces)
    np.testing.assert_array_equal(faces.reshape(-1, 3), model.faces)
    assert tuple(obj.location) == pytest.approx((1.0, 2.0, 3.0))
    assert all(p.use_smooth for p in mesh.polygons)
    # UVs: loop order follows the faces.
    uv = np.empty(2 * len(mesh.loops), dtype=np.float32)
    mesh.uv_layers["UVMap"].data.foreach_get("uv", uv)
    np.testing.assert_allclose(uv.reshape(-1, 2), model.uv_coords[model.uv_faces].reshape(-1, 2), atol=1e-6)
    # Vertex groups from the masks, weight 1.
    for name, indices in model.masks.items():
        group = obj.vertex_groups[name]
        members = [v.index for v in mesh.vertices if any(g.group == group.index for g in v.groups)]
        assert members == sorted(indices.tolist())
    # Counts: 4 shape as asked, expression clamped to what the file holds.
    assert obj.flame.n_shape == len(obj.flame.shape) == 4
    assert obj.flame.n_expression == len(obj.flame.expression) == model.n_expression
    assert obj.flame.shape[0].name == "Shape 001" and obj.flame.expression[1].name == "Expression 002"
    # Head stands upright: FLAME +Y (up) is Blender +Z, the face (FLAME +Z) looks along -Y.
    np.testing.assert_allclose(mesh_positions(obj), blender_axes(model.v_template), atol=1e-6)


def test_missing_model_file_cancels_and_adds_nothing(tmp_path):
    before = (len(bpy.data.objects), len(bpy.data.meshes))
    with pytest.raises(RuntimeError, match="not found"):
        bpy.ops.flame.add_head(model_path=str(tmp_path / "nope.npz"))
    assert (len(bpy.data.objects), len(bpy.data.meshes)) == before


def test_broken_model_file_cancels(tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"not a zip file at all")
    before = (len(bpy.data.objects), len(bpy.data.meshes))
    with pytest.raises(RuntimeError, match=r"broken\.npz"):
        bpy.ops.flame.add_head(model_path=str(bad))
    assert (len(bpy.data.objects), len(bpy.data.meshes)) == before


def test_every_operator_is_undoable_and_documented():
    names = [name for name in dir(bpy.ops.flame) if not name.startswith("_")]
    assert {"add_head", "import_sequence", "bake_normal_map", "sample_points", "bake_shape_keys"} <= set(names)
    read_only = {"copy_params", "export_sequence", "export_points"}  # change nothing in the file
    for name in names:
        op = getattr(bpy.ops.flame, name)
        if name in read_only:
            assert op.get_rna_type().description, name
            continue
        rna = op.get_rna_type()
        assert "UNDO" in op.bl_options and "REGISTER" in op.bl_options, name
        assert rna.description, name


def test_demo_components_show_their_names():
    obj = add_head(n_shape=2, n_expression=3)
    names = [item.name for item in obj.flame.expression]
    assert names == ["Expression 001: smile", "Expression 002: mouth open", "Expression 003: frown"]
    assert obj.flame.shape[0].name == "Shape 001: head size"
    obj.flame.n_expression = 25
    assert obj.flame.expression[19].name == "Expression 020: squint"
    assert obj.flame.expression[20].name == "Expression 021"
