"""flame.export_rigged: a skinned, blend-shaped engine asset, read back through Blender's importers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import bpy
import numpy as np
import pytest
from helpers import add_head, blender_axes, evaluated_world

FRAMES = 40
CHECK = (1, 7, 23, 40)


def performance_head(fc, tmp_path, frames: int = FRAMES):
    """The demo head keyed with a generated performance of ``frames`` frames from frame 1."""
    head = add_head()
    bpy.context.scene.render.fps = 30
    path = fc.save_sequence(fc.demo_sequence(frames, fps=30.0, seed=2), tmp_path / "performance.npz")
    assert bpy.ops.flame.import_sequence(filepath=str(path), frame_start=1) == {"FINISHED"}
    bpy.context.scene.frame_start, bpy.context.scene.frame_end = 1, frames
    return head


KEYS = (0, 1, 2, 3)  # shape keys whose positions identify a vertex (some coincide at rest: the lips)


def import_gltf(path):
    """Import a .glb; returns its mesh with shape keys. Blender's importer limits each key's slider to
    [its lowest weight, 1], which clamps weights above 1: widen the sliders as an artist would."""
    names = {o.name for o in bpy.data.objects}
    assert bpy.ops.import_scene.gltf(filepath=str(path)) == {"FINISHED"}
    meshes = [o for o in bpy.data.objects if o.name not in names and o.type == "MESH" and o.data.shape_keys]
    assert len(meshes) == 1
    for block in meshes[0].data.shape_keys.key_blocks:
        block.slider_min, block.slider_max = -10.0, 10.0
    return meshes[0]


def mesh_rest(obj):
    """Basis and the first expression keys of a re-imported mesh, world space, side by side (V, 3 * len(KEYS))."""
    blocks = obj.data.shape_keys.key_blocks
    matrix = np.array(obj.matrix_world)
    out = []
    for k in KEYS:
        co = np.empty(3 * len(obj.data.vertices), dtype=np.float32)
        blocks[k].data.foreach_get("co", co)
        out.append(co.reshape(-1, 3).astype(np.float64) @ matrix[:3, :3].T + matrix[:3, 3])
    return np.concatenate(out, axis=1)


def split_index(split, original):
    """For each vertex of ``split`` (a mesh re-imported with seams split), the original vertex at its place."""
    distance = np.linalg.norm(split[:, None, :] - original[None, :, :], axis=-1) if len(split) < 1000 else None
    if distance is not None:
        return distance.argmin(axis=1)
    index = np.empty(len(split), dtype=np.int64)
    for start in range(0, len(split), 256):
        block = split[start : start + 256]
        d = np.linalg.norm(block[:, None, :] - original[None, :, :], axis=-1)
        index[start : start + 256] = d.argmin(axis=1)
        assert d.min(axis=1).max() < 1e-5
    return index


def rest_of(fc, head):
    """What :func:`mesh_rest` reads, computed from the model for the head's identity."""
    shape = np.array([c.value for c in head.flame.shape])
    matrix = np.array(head.matrix_world)
    out = []
    for k in KEYS:
        expression = np.eye(50)[k - 1] if k else np.zeros(50)
        rest = blender_axes(fc.demo_model().forward(shape=shape, expression=expression).vertices).astype(np.float64)
        out.append(rest @ matrix[:3, :3].T + matrix[:3, 3])
    return np.concatenate(out, axis=1)


def snapshot():
    return {name: sorted(x.name for x in getattr(bpy.data, name))
            for name in ("objects", "meshes", "armatures", "actions", "collections", "shape_keys", "scenes")}


def test_gltf_export_reimports_to_the_performance(fc, addon, tmp_path):
    head = performance_head(fc, tmp_path)
    expected = {f: evaluated_world(head, f) for f in CHECK}
    before = snapshot()
    scene = bpy.context.scene
    scene.frame_set(5)
    path = tmp_path / "head.glb"
    assert bpy.ops.flame.export_rigged(filepath=str(path), preset="GLTF", expressions=50, correctives=True,
                                       frame_start=1, frame_end=FRAMES) == {"FINISHED"}
    report = addon.operators.export_rigged.last_report
    assert report.frames == FRAMES and report.expressions == 50 and report.identity_change == 0.0
    assert 0.0 <= report.deviation <= 1e-3
    assert snapshot() == before and scene.frame_current == 5 and bpy.context.active_object == head
    assert path.stat().st_size > 0

    mesh = import_gltf(path)
    names = [b.name for b in mesh.data.shape_keys.key_blocks]
    assert len(names) == 1 + 50 + 36 and names[1].startswith("expression_001_smile")
    assert [g.name for g in mesh.vertex_groups] == list(fc.JOINT_NAMES)
    index = split_index(mesh_rest(mesh), rest_of(fc, head))  # glTF splits vertices along UV seams
    for f in CHECK:
        got = evaluated_world(mesh, f)
        assert np.abs(got - expected[f][index]).max() <= report.deviation + 2e-5, f


def test_kept_rig_is_driven_by_simple_expressions(fc, addon, tmp_path):
    head = performance_head(fc, tmp_path)
    expected = {f: evaluated_world(head, f) for f in CHECK}
    assert bpy.ops.flame.export_rigged(filepath=str(tmp_path / "head.glb"), frame_start=1, frame_end=FRAMES,
                                       keep=True) == {"FINISHED"}
    rig = bpy.context.active_object
    assert rig.type == "ARMATURE" and [b.name for b in rig.data.bones] == list(fc.JOINT_NAMES)
    for bone in rig.data.bones:  # every bone's rest frame is FLAME's axes
        np.testing.assert_allclose(np.array(bone.matrix_local)[:3, :3], blender_axes(np.eye(3)).T, atol=1e-6)
    mesh = next(o for o in bpy.data.objects if o.parent == rig)
    drivers = mesh.data.shape_keys.animation_data.drivers
    assert len(drivers) == 36 and all(d.driver.is_simple_expression for d in drivers)
    for f in CHECK:
        assert np.abs(evaluated_world(mesh, f) - expected[f]).max() <= 2e-5, f


ENGINE = Path(__file__).resolve().parents[1] / "engine"
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "engine"


def run_engine_check(glb: Path, times: list[float], screenshot: Path) -> dict:
    """The validator's report and three.js's vertex positions at ``times`` (tests/engine/check_gltf.mjs)."""
    out = glb.with_suffix(".json")
    subprocess.run(["node", str(ENGINE / "check_gltf.mjs"), str(glb), str(out), str(screenshot),
                    *map(str, times)], check=True, timeout=600)
    return json.loads(out.read_text())


def test_threejs_plays_the_export_like_blender(fc, addon, tmp_path):
    """The Khronos validator passes the .glb; three.js's skinned + morphed vertices match Blender's."""
    head = performance_head(fc, tmp_path)
    fps = bpy.context.scene.render.fps
    expected = {f: evaluated_world(head, f) for f in CHECK}
    glb = tmp_path / "head.glb"
    assert bpy.ops.flame.export_rigged(filepath=str(glb), frame_start=1, frame_end=FRAMES) == {"FINISHED"}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / f"threejs_blender_{bpy.app.version[0]}.{bpy.app.version[1]}.png"
    result = run_engine_check(glb, [(f - 1) / fps for f in CHECK], screenshot)
    print(f"three.js screenshot: {screenshot}")
    validation = result["validation"]
    assert validation["errors"] == 0, validation["messages"]
    three = result["three"]
    assert result["errors"] == [] and three["morphTargets"] == 50 + 36
    assert sorted(three["bones"]) == sorted(fc.JOINT_NAMES)

    def blender(points):  # glTF is Y-up: (x, y, z) -> Blender (x, -z, y)
        return blender_axes(np.asarray(points, dtype=np.float64).reshape(-1, 3))

    rest = blender(three["rest"])
    keys = [rest] + [rest + blender(m) if three["relative"] else blender(m) for m in three["morphs"]]
    index = split_index(np.concatenate(keys, axis=1), rest_of(fc, head))
    for f, positions in zip(CHECK, three["frames"], strict=True):
        assert np.abs(blender(positions) - expected[f][index]).max() <= 1e-4, f
    assert screenshot.stat().st_size > 1000


@pytest.mark.parametrize(("preset", "axes"), [("UNITY", ("-Z", "Y")), ("UNREAL", ("-Y", "Z"))])
def test_fbx_presets_reimport_to_the_performance(fc, addon, tmp_path, preset, axes):
    head = performance_head(fc, tmp_path)
    expected = {f: evaluated_world(head, f) for f in CHECK}
    path = tmp_path / f"{preset.lower()}.fbx"
    before = snapshot()
    assert bpy.ops.flame.export_rigged(filepath=str(path), preset=preset, expressions=20,
                                       frame_start=1, frame_end=FRAMES) == {"FINISHED"}
    assert snapshot() == before
    report = addon.operators.export_rigged.last_report
    names = set(bpy.data.objects.keys())
    assert bpy.ops.import_scene.fbx(filepath=str(path), axis_forward=axes[0], axis_up=axes[1],
                                    anim_offset=0.0) == {"FINISHED"}
    new = [o for o in bpy.data.objects if o.name not in names]
    armature = next(o for o in new if o.type == "ARMATURE")
    assert {b.name for b in armature.data.bones} == set(fc.JOINT_NAMES)  # no leaf bones
    mesh = next(o for o in new if o.type == "MESH")
    assert len(mesh.data.shape_keys.key_blocks) == 1 + 20 + 36
    for f in CHECK:
        got = evaluated_world(mesh, f)
        assert got.shape == expected[f].shape  # FBX keeps FLAME's vertices
        assert np.abs(got - expected[f]).max() <= report.deviation + 2e-5, (preset, f)


def test_changing_identity_is_reported(fc, addon, tmp_path):
    head = performance_head(fc, tmp_path, frames=10)
    head.flame.shape[0].value = 0.0
    head.keyframe_insert("flame.shape_values", index=0, frame=1)
    head.flame.shape[0].value = 2.0
    head.keyframe_insert("flame.shape_values", index=0, frame=10)
    assert bpy.ops.flame.export_rigged(filepath=str(tmp_path / "h.glb"), frame_start=1, frame_end=10) == {"FINISHED"}
    report = addon.operators.export_rigged.last_report
    assert report.identity_change == pytest.approx(2.0)
    assert report.deviation > 1e-4  # the first frame's identity is kept; the cost is measured


def test_errors_leave_the_scene_as_it_was(fc, addon, tmp_path):
    head = performance_head(fc, tmp_path, frames=10)
    before = snapshot()
    (tmp_path / "taken.glb").mkdir()
    for kwargs, message in ((dict(filepath=str(tmp_path / "a.glb"), frame_start=5, frame_end=2), "before start"),
                            (dict(filepath=str(tmp_path / "missing" / "a.glb")), "does not exist"),
                            (dict(filepath=str(tmp_path / "taken.glb")), "Cannot export")):
        with pytest.raises(RuntimeError, match=message):
            bpy.ops.flame.export_rigged(**kwargs)
        assert snapshot() == before and bpy.context.active_object == head
    bpy.context.view_layer.objects.active = None
    with pytest.raises(RuntimeError, match="poll"):
        bpy.ops.flame.export_rigged(filepath=str(tmp_path / "a.glb"))


def synthetic_head(model_file, frames: int = 10):
    """A head on the synthetic test model (joints move with expression, five joints per vertex), animated."""
    path, _ = model_file
    head = add_head(model_path=path)
    for k, value in enumerate((0.8, -0.5, 0.3)):
        head.flame.shape[k].value = value
    for frame, (e0, e1, jaw, neck) in ((1, (-1.0, 0.5, 0.0, 0.0)), (frames, (1.5, -0.8, 0.3, -0.2))):
        head.flame.expression[0].value, head.flame.expression[1].value = e0, e1
        head.flame.jaw = (jaw, 0.05, 0.0)
        head.flame.neck = (0.1, neck, 0.0)
        head.keyframe_insert("flame.expression_values", index=0, frame=frame)
        head.keyframe_insert("flame.expression_values", index=1, frame=frame)
        head.keyframe_insert("flame.jaw", frame=frame)
        head.keyframe_insert("flame.neck", frame=frame)
    bpy.context.scene.frame_start, bpy.context.scene.frame_end = 1, frames
    return head


def test_synthetic_model_with_moving_joints(addon, model_file, tmp_path):
    """FBX keeps every influence: exact. glTF keeps four: the re-import equals the rig, and the rig differs
    from FLAME by the deviation the export reports."""
    head = synthetic_head(model_file)
    frames = range(1, 11)
    expected = {f: evaluated_world(head, f) for f in frames}
    fbx = tmp_path / "head.fbx"
    assert bpy.ops.flame.export_rigged(filepath=str(fbx), preset="UNREAL", frame_start=1, frame_end=10) == {"FINISHED"}
    assert addon.operators.export_rigged.last_report.deviation <= 1e-5
    names = {o.name for o in bpy.data.objects}
    assert bpy.ops.import_scene.fbx(filepath=str(fbx), axis_forward="-Y", axis_up="Z", anim_offset=0.0) == {"FINISHED"}
    mesh = next(o for o in bpy.data.objects if o.name not in names and o.type == "MESH")
    for f in (1, 4, 10):
        assert np.abs(evaluated_world(mesh, f) - expected[f]).max() <= 2e-5, f
    bpy.data.objects.remove(mesh)

    bpy.context.view_layer.objects.active = head
    glb = tmp_path / "head.glb"
    assert bpy.ops.flame.export_rigged(filepath=str(glb), frame_start=1, frame_end=10, keep=True) == {"FINISHED"}
    report = addon.operators.export_rigged.last_report
    rig = bpy.context.active_object
    kept = next(o for o in bpy.data.objects if o.parent == rig and o.type == "MESH")
    assert all(len(v.groups) <= 4 for v in kept.data.vertices)
    ours = {f: evaluated_world(kept, f) for f in frames}
    measured = max(np.linalg.norm(ours[f] - expected[f], axis=1).max() for f in frames)
    assert report.deviation > 1e-4  # five joints blended as four
    assert measured == pytest.approx(report.deviation, abs=2e-5)
    imported = import_gltf(glb)
    assert len(imported.data.vertices) == len(kept.data.vertices)  # the grid has no UV seams
    for f in (1, 4, 10):
        assert np.abs(evaluated_world(imported, f) - ours[f]).max() <= 2e-5, f


def test_gltf_with_every_joint_is_exact(addon, model_file, tmp_path):
    """influences='ALL' writes all five joints (a second JOINTS/WEIGHTS set): the re-import is FLAME."""
    head = synthetic_head(model_file)
    expected = {f: evaluated_world(head, f) for f in range(1, 11)}
    glb = tmp_path / "all.glb"
    assert bpy.ops.flame.export_rigged(filepath=str(glb), frame_start=1, frame_end=10, influences="ALL") == {
        "FINISHED"}
    assert addon.operators.export_rigged.last_report.deviation <= 1e-5
    imported = import_gltf(glb)
    assert max(len(v.groups) for v in imported.data.vertices) == 5
    for f in (1, 4, 10):
        assert np.abs(evaluated_world(imported, f) - expected[f]).max() <= 2e-5, f
