"""flame.bake_shape_keys: a plain mesh with one shape key per frame, read back through Blender's exporters.

glTF and FBX are add-ons shipped with Blender (``io_scene_gltf2``, ``io_scene_fbx``); Alembic is built
in when ``bpy.app.build_options.alembic``. A build without one of them fails these tests loudly
rather than skipping them.
"""

from __future__ import annotations

import addon_utils
import bpy
import numpy as np
import pytest
from helpers import add_head, evaluated_world, mesh_positions

FRAMES = (2, 3, 4, 5)


def _animate(head):
    head.flame.expression[0].value = -1.0
    head.flame.jaw[0] = 0.0
    head.keyframe_insert("flame.expression_values", index=0, frame=FRAMES[0])
    head.keyframe_insert("flame.jaw", index=0, frame=FRAMES[0])
    head.flame.expression[0].value = 1.5
    head.flame.jaw[0] = 0.3
    head.keyframe_insert("flame.expression_values", index=0, frame=FRAMES[-1])
    head.keyframe_insert("flame.jaw", index=0, frame=FRAMES[-1])


def _expected(head, frames):
    """The head's own mesh at each frame (through the frame-change handler), object-local."""
    scene = bpy.context.scene
    out = []
    for f in frames:
        scene.frame_set(f)
        out.append(mesh_positions(head).copy())
    return np.stack(out)


def _bake(model_file):
    path, _ = model_file
    head = add_head(model_path=path)
    head.location = (0.5, 0.0, 0.0)
    _animate(head)
    expected = _expected(head, FRAMES)
    assert not np.allclose(expected[0], expected[-1], atol=1e-4)
    assert bpy.ops.flame.bake_shape_keys(frame_start=FRAMES[0], frame_end=FRAMES[-1]) == {"FINISHED"}
    baked = bpy.context.view_layer.objects.active
    return head, baked, expected


def test_bake_makes_a_plain_mesh_with_a_key_per_frame(addon, model_file):
    head, baked, expected = _bake(model_file)
    assert baked != head and not baked.flame.is_head and baked.type == "MESH"
    assert baked.data != head.data and baked.data.uv_layers.active is not None
    blocks = baked.data.shape_keys.key_blocks
    assert [b.name for b in blocks] == ["Basis"] + [f"Frame {f:04d}" for f in FRAMES]
    for k in range(len(FRAMES)):
        co = np.empty(3 * len(baked.data.vertices), dtype=np.float32)
        blocks[k + 1].data.foreach_get("co", co)
        np.testing.assert_allclose(co.reshape(-1, 3), expected[k], atol=2e-6)
    keys = addon.animation.read_keyframes(baked.data.shape_keys)
    assert len(keys) == len(FRAMES)
    for f in FRAMES:
        frames, values = keys[(f'key_blocks["Frame {f:04d}"].value', 0)]
        np.testing.assert_array_equal(values[frames == f], [1.0])
        assert np.all(values[frames != f] == 0.0)
    for k, f in enumerate(FRAMES):  # the baked object shows each frame, without the add-on's handler
        world = evaluated_world(baked, f)
        np.testing.assert_allclose(world - [0.5, 0, 0], expected[k], atol=2e-6)
        assert [round(b.value) for b in blocks[1:]] == [int(g == f) for g in FRAMES]


def test_bad_range_and_non_heads():
    head = add_head()
    before = set(bpy.data.objects.keys())
    with pytest.raises(RuntimeError, match="before start"):
        bpy.ops.flame.bake_shape_keys(frame_start=5, frame_end=2)
    assert set(bpy.data.objects.keys()) == before
    bpy.context.view_layer.objects.active = None
    assert not bpy.ops.flame.bake_shape_keys.poll()
    bpy.context.view_layer.objects.active = head


def _only(obj):
    for other in bpy.context.view_layer.objects:
        other.select_set(False)
    obj.select_set(True)
    bpy.context.view_layer.objects.active = obj


def _clear_scene():
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)


def _imported_mesh():
    meshes = [o for o in bpy.context.scene.objects if o.type == "MESH"]
    assert len(meshes) == 1, [o.name for o in bpy.context.scene.objects]
    return meshes[0]


def _sorted_rows(points):
    """Vertices in a canonical order (importers may reorder or split vertices): unique rows, sorted."""
    rounded = np.round(points, 5)
    return np.unique(rounded, axis=0)


def _check_frames(imported, expected, offset, *, atol=2e-5, order_free=False):
    for k, f in enumerate(FRAMES):
        world = evaluated_world(imported, f) - offset
        if order_free:
            got, want = _sorted_rows(world), _sorted_rows(expected[k])
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, atol=atol)
        else:
            np.testing.assert_allclose(world, expected[k], atol=atol)


def _enable(module):
    addon_utils.enable(module, default_set=True)
    assert module in bpy.context.preferences.addons, f"{module} is missing from this Blender build"


def test_gltf_round_trip(model_file, tmp_path):
    _enable("io_scene_gltf2")
    _head, baked, expected = _bake(model_file)
    _only(baked)
    path = str(tmp_path / "baked.glb")
    result = bpy.ops.export_scene.gltf(
        filepath=path, export_format="GLB", use_selection=True, export_morph=True, export_animations=True,
        export_apply=False,
    )
    assert result == {"FINISHED"}
    _clear_scene()
    assert bpy.ops.import_scene.gltf(filepath=path) == {"FINISHED"}
    imported = _imported_mesh()
    assert imported.data.shape_keys is not None and len(imported.data.shape_keys.key_blocks) == len(FRAMES) + 1
    _check_frames(imported, expected, [0.5, 0, 0], order_free=True)


def test_fbx_round_trip(model_file, tmp_path):
    _enable("io_scene_fbx")
    _head, baked, expected = _bake(model_file)
    _only(baked)
    path = str(tmp_path / "baked.fbx")
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = FRAMES[0], FRAMES[-1]
    # Shape-key-only animation is carried by the scene-wide take (per-action takes need object actions).
    result = bpy.ops.export_scene.fbx(
        filepath=path, use_selection=True, object_types={"MESH"}, bake_anim=True, use_mesh_modifiers=False,
        bake_anim_use_all_actions=False, bake_anim_use_nla_strips=False, bake_anim_simplify_factor=0.0,
        add_leaf_bones=False,
    )
    assert result == {"FINISHED"}
    _clear_scene()
    assert bpy.ops.import_scene.fbx(filepath=path, anim_offset=0.0) == {"FINISHED"}
    imported = _imported_mesh()
    assert imported.data.shape_keys is not None and len(imported.data.shape_keys.key_blocks) == len(FRAMES) + 1
    _check_frames(imported, expected, [0.5, 0, 0])


def test_alembic_round_trip(model_file, tmp_path):
    assert bpy.app.build_options.alembic, "this Blender build has no Alembic support"
    _head, baked, expected = _bake(model_file)
    _only(baked)
    path = str(tmp_path / "baked.abc")
    result = bpy.ops.wm.alembic_export(
        filepath=path, start=FRAMES[0], end=FRAMES[-1], selected=True, uvs=True, apply_subdiv=False,
        evaluation_mode="RENDER", as_background_job=False,
    )
    assert result == {"FINISHED"}
    _clear_scene()
    assert bpy.ops.wm.alembic_import(filepath=path, as_background_job=False) == {"FINISHED"}
    imported = _imported_mesh()
    assert any(m.type == "MESH_SEQUENCE_CACHE" for m in imported.modifiers)
    _check_frames(imported, expected, [0.5, 0, 0])
