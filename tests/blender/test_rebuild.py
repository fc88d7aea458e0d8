"""A head whose geometry was edited (a modifier applied) says so and offers Rebuild Mesh / Convert to Plain Mesh."""

from __future__ import annotations

import bpy
import numpy as np
from helpers import add_head, blender_axes, mesh_positions


def _apply_subdivision(head):
    head.modifiers.new("Subdivision", "SUBSURF")
    bpy.context.view_layer.objects.active = head
    assert bpy.ops.object.modifier_apply(modifier="Subdivision") == {"FINISHED"}


def test_applied_modifier_is_named_and_rebuild_mesh_restores_the_head(model_file, addon):
    path, model = model_file
    head = add_head(model_path=path)
    material = bpy.data.materials.new("Skin")
    head.data.materials.append(material)
    _apply_subdivision(head)
    assert len(head.data.vertices) > model.n_vertices
    head.flame.jaw[0] = 0.2
    message = addon.evaluate.error(head)
    assert f"no longer has the model's {model.n_vertices} vertices" in message
    assert "modifier applied" in message and "Rebuild Mesh" in message
    assert addon.evaluate.mesh_mismatch(head)
    assert bpy.ops.flame.rebuild_mesh() == {"FINISHED"}
    assert len(head.data.vertices) == model.n_vertices
    assert addon.evaluate.error(head) is None and not addon.evaluate.mesh_mismatch(head)
    np.testing.assert_allclose(mesh_positions(head), blender_axes(model.forward(jaw=[0.2, 0, 0]).vertices), atol=2e-6)
    assert head.data.materials[0] == material
    assert sorted(g.name for g in head.vertex_groups) == ["left", "right"]
    uv = np.empty(2 * len(head.data.loops), dtype=np.float32)
    head.data.uv_layers["UVMap"].data.foreach_get("uv", uv)
    np.testing.assert_allclose(uv.reshape(-1, 2), model.uv_coords[model.uv_faces].reshape(-1, 2), atol=1e-6)
    head.flame.expression[0].value = 0.5  # every edit works again
    assert addon.evaluate.error(head) is None


def test_convert_to_plain_mesh_keeps_the_edited_geometry(model_file, addon):
    path, _ = model_file
    head = add_head(model_path=path)
    _apply_subdivision(head)
    head.flame.jaw[0] = 0.2
    before = mesh_positions(head).copy()
    assert bpy.ops.flame.convert_to_mesh() == {"FINISHED"}
    assert not head.flame.is_head and not addon.heads.is_head(head)
    head.flame.jaw[0] = 0.4
    bpy.context.view_layer.update()
    np.testing.assert_array_equal(mesh_positions(head), before)
    assert not bpy.ops.flame.rebuild_mesh.poll()
