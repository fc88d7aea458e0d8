"""``flame.export_rigged``: the head as an engine asset (skinned mesh, blend shapes, animation) in glTF or FBX.

A temporary armature (bones at FLAME's joints, all with the rest orientation FLAME -> Blender, so a
bone's local rotation is FLAME's own) and a plain mesh (the current identity, FLAME's skinning
weights as vertex groups, the first N expressions and optionally the 36 pose correctives as shape
keys) are built from ``flame_core.engine_export``, keyed over the range (bone quaternions and
translations, shape-key weights), written with Blender's own exporter using the preset's settings,
then removed. With ``keep`` they stay in the scene instead, the correctives driven by simple-expression
drivers from the bones' quaternions (no Python runs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import bpy
import numpy as np
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ExportHelper

from ...flame_core import JOINT_NAMES, FlameError
from ...flame_core import engine_export as ee
from ...flame_core.axes import to_blender_axes
from .. import animation, evaluate, heads, objects, param_channels
from ..results import OperatorResult
from . import frame_range

BONE_LENGTH = 0.02
EXPRESSION_RANGE = 10.0  # the widest slider range Blender allows for a shape key
CORRECTIVE_RANGE = 2.0  # entries of R - I lie in [-2, 2]

#: Exporter settings per preset. glTF: Y-up metres, skins, morph targets without normals (the
#: expression shapes are smooth; normals would double the file), the scene's range as one animation.
#: FBX: no leaf bones, deform bones only, baked animation with shape-key curves; Unity wants Y-up
#: with the scale applied, Unreal Z-up (its importer converts), both in the FBX unit of centimetres.
GLTF_SETTINGS: dict[str, Any] = dict(
    export_format="GLB", use_selection=True, use_active_scene=True, export_yup=True, export_apply=False,
    export_skins=True, export_morph=True, export_morph_normal=False, export_animations=True,
    export_animation_mode="SCENE", export_force_sampling=True, export_frame_range=True,
    export_def_bones=True, export_current_frame=False, export_anim_scene_split_object=False,
    export_influence_nb=4, export_all_influences=False,
)
FBX_COMMON: dict[str, Any] = dict(
    use_selection=True, object_types={"ARMATURE", "MESH"}, add_leaf_bones=False, use_armature_deform_only=True,
    bake_anim=True, bake_anim_use_all_bones=True, bake_anim_use_nla_strips=False, bake_anim_use_all_actions=False,
    bake_anim_force_startend_keying=True, bake_anim_step=1.0, bake_anim_simplify_factor=0.0,
    use_mesh_modifiers=False, mesh_smooth_type="FACE", primary_bone_axis="Y", secondary_bone_axis="X",
    apply_unit_scale=True, global_scale=1.0,
)
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "GLTF": (".glb", GLTF_SETTINGS),
    "UNITY": (".fbx", dict(FBX_COMMON, axis_forward="-Z", axis_up="Y", apply_scale_options="FBX_SCALE_ALL",
                           bake_space_transform=False)),
    "UNREAL": (".fbx", dict(FBX_COMMON, axis_forward="-Y", axis_up="Z", apply_scale_options="FBX_SCALE_NONE")),
}


#: Joints blended per vertex by default: glTF viewers (three.js) blend four; FBX carries all five (Unreal
#: blends eight, Unity as many as its quality settings allow). The deviation measures what a cut costs;
#: ``influences='ALL'`` keeps all five in glTF too (a second JOINTS/WEIGHTS set, for engines that read it).
MAX_INFLUENCES: dict[str, int | None] = {"GLTF": 4, "UNITY": None, "UNREAL": None}


def max_influences(preset: str, influences: str) -> int | None:
    """Joints kept per vertex for ``influences`` ('PRESET', 'FOUR' or 'ALL'; None: all five)."""
    return {"FOUR": 4, "ALL": None}.get(influences, MAX_INFLUENCES[preset])


@dataclass
class ExportReport:
    """What the last export did (read by scripts and tests)."""

    filepath: str
    frames: int
    expressions: int
    correctives: bool
    deviation: float  # largest vertex distance from exact FLAME over the frames, metres
    identity_change: float
    seconds: float


last_report: ExportReport | None = None


def expression_key_names(model: Any, count: int) -> list[str]:
    """``expression_001`` ... with the model's component name appended where it has one."""
    names = model.component_names("expression")
    out = []
    for k in range(count):
        label = names[k] if k < len(names) else ""
        slug = "".join(c if c.isalnum() else "_" for c in label).strip("_")
        out.append(f"expression_{k + 1:03d}" + (f"_{slug}" if slug else ""))
    return out


def _blender(points: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(to_blender_axes(points), dtype=np.float32).reshape(-1)


@dataclass
class Built:
    armature: Any
    mesh_object: Any
    rig: ee.RigAnimation
    deviation: float
    expression_names: list[str]


def _build_armature(context: Any, name: str, rig: ee.RigAnimation, export_scene: Any) -> Any:
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    export_scene.collection.objects.link(obj)
    view_layer = export_scene.view_layers[0]
    view_layer.objects.active = obj
    bone_heads = to_blender_axes(rig.rest_joints)
    with context.temp_override(scene=export_scene, view_layer=view_layer, active_object=obj, object=obj):
        bpy.ops.object.mode_set(mode="EDIT")
        bones: list[Any] = []
        for j, joint in enumerate(JOINT_NAMES):
            bone = data.edit_bones.new(joint)
            bone.head = bone_heads[j].tolist()
            bone.tail = (bone_heads[j] + (0.0, 0.0, BONE_LENGTH)).tolist()  # along FLAME's +Y: rest = FLAME axes
            bone.roll = 0.0
            bone.use_deform = True
            parent = rig.parents[j]
            if parent >= 0:
                bone.parent = bones[parent]
                bone.use_connect = False
            bones.append(bone)
        bpy.ops.object.mode_set(mode="OBJECT")
    for pose_bone in obj.pose.bones:  # type: ignore[union-attr]
        pose_bone.rotation_mode = "QUATERNION"
    return obj


def _build_mesh(head: Any, name: str, rig: ee.RigAnimation, expression_names: list[str], correctives: bool,
                armature: Any, export_scene: Any) -> Any:
    mesh = head.data.copy()
    mesh.name = name
    if mesh.shape_keys is not None:
        raise FlameError(f"{head.name!r} has shape keys; a FLAME head's mesh should have none")
    obj = bpy.data.objects.new(name, mesh)
    export_scene.collection.objects.link(obj)
    mesh.vertices.foreach_set("co", _blender(rig.rest_vertices))
    mesh.update()
    obj.parent = armature
    modifier: Any = obj.modifiers.new("Armature", "ARMATURE")
    modifier.object = armature
    obj.vertex_groups.clear()  # the head's region masks: only skinning weights go to engines
    for j, joint in enumerate(JOINT_NAMES):
        group = obj.vertex_groups.new(name=joint)
        column = rig.weights[:, j]
        for v in np.flatnonzero(column > 0.0).tolist():
            group.add([v], float(column[v]), "REPLACE")
    basis = obj.shape_key_add(name="Basis", from_mix=False)
    basis.value = 0.0
    shapes = [(n, s, EXPRESSION_RANGE) for n, s in zip(expression_names, rig.expression_shapes, strict=True)]
    if correctives:
        shapes += [(n, s, CORRECTIVE_RANGE) for n, s in zip(ee.corrective_names(), rig.corrective_shapes, strict=True)]
    for key_name, offsets, limit in shapes:
        block = obj.shape_key_add(name=key_name, from_mix=False)
        block.slider_min, block.slider_max = -limit, limit
        block.data.foreach_set("co", _blender(rig.rest_vertices + offsets))
        block.value = 0.0
    key: Any = mesh.shape_keys
    key.use_relative = True
    return obj


def _animate(built: Built, frames: np.ndarray, correctives: bool) -> None:
    rig = built.rig
    bone_channels = []
    for j, joint in enumerate(JOINT_NAMES):
        for i in range(4):
            bone_channels.append(animation.Channel(f'pose.bones["{joint}"].rotation_quaternion', i, frames,
                                                   rig.rotations[:, j, i], joint))
        for i in range(3):
            bone_channels.append(animation.Channel(f'pose.bones["{joint}"].location', i, frames,
                                                   rig.locations[:, j, i], joint))
    arm = built.armature
    animation.write_keyframes(arm, bone_channels, action_name=f"{arm.name} Action")
    weights = [(n, rig.expression[:, k]) for k, n in enumerate(built.expression_names)]
    if correctives:
        weights += [(n, rig.correctives[:, k]) for k, n in enumerate(ee.corrective_names())]
    key = built.mesh_object.data.shape_keys
    if weights:
        animation.write_keyframes(
            key, [animation.Channel(f'key_blocks["{n}"].value', 0, frames, v) for n, v in weights],
            action_name=f"{built.mesh_object.name} Shape Keys",
        )


def add_corrective_drivers(mesh_object: Any, armature: Any) -> None:
    """Drive each corrective shape key from its bone's local quaternion (simple expressions, no Python)."""
    key = mesh_object.data.shape_keys
    names = ee.corrective_names()
    for k, name in enumerate(names):
        joint = JOINT_NAMES[1 + k // 9]
        curve = key.key_blocks[name].driver_add("value")
        driver = curve.driver
        driver.type = "SCRIPTED"
        for channel in "wxyz":
            var = driver.variables.new()
            var.name = channel
            var.type = "TRANSFORMS"
            target = var.targets[0]
            target.id = armature
            target.bone_target = joint
            target.transform_type = f"ROT_{channel.upper()}"
            target.rotation_mode = "QUATERNION"
            target.transform_space = "LOCAL_SPACE"
        driver.expression = ee.CORRECTIVE_EXPRESSIONS[k % 9]


def remove_built(built: Built | None, export_scene: Any = None) -> None:
    """Remove the objects, data and actions an export made, and its scene."""
    if built is not None:
        _remove_objects([built.mesh_object, built.armature])
    if export_scene is not None:
        bpy.data.scenes.remove(export_scene)


def _remove_objects(objs: list[Any]) -> None:
    for obj in objs:
        if obj is None:
            continue
        data = obj.data
        ids = []
        if obj.animation_data is not None and obj.animation_data.action is not None:
            ids.append(obj.animation_data.action)
        key = getattr(data, "shape_keys", None)
        if key is not None and key.animation_data is not None and key.animation_data.action is not None:
            ids.append(key.animation_data.action)
        bpy.data.objects.remove(obj)
        if data is not None and data.users == 0:
            if isinstance(data, bpy.types.Mesh):
                bpy.data.meshes.remove(data)
            else:
                bpy.data.armatures.remove(data)
        for action in ids:
            if action.users == 0:
                bpy.data.actions.remove(action)


def build(context: Any, head: Any, frame_start: int, frame_end: int, n_expression: int, correctives: bool,
          export_scene: Any, preset: str = "GLTF", influences: str = "PRESET") -> Built:
    """The rig and mesh of ``head`` animated over the range, in ``export_scene`` (removed again on failure)."""
    frames = np.arange(frame_start, frame_end + 1, dtype=np.float64)
    model = heads.model_for(head)
    params = evaluate.model_params(model, param_channels.sample_params(context, head, frames))
    if len(head.data.vertices) != model.n_vertices:
        raise FlameError(f"the model has {model.n_vertices} vertices but {head.name!r} has {len(head.data.vertices)}")
    rig = ee.rig_animation(model, params, n_expression, max_influences=max_influences(preset, influences))
    worst = float(ee.deviation(model, params, rig).max())
    names = expression_key_names(model, rig.expression.shape[1])
    armature = mesh_object = None
    try:
        armature = _build_armature(context, f"{head.name} Rig", rig, export_scene)
        armature.matrix_world = head.matrix_world.copy()
        mesh_object = _build_mesh(head, f"{head.name} Export", rig, names, correctives, armature, export_scene)
        built = Built(armature, mesh_object, rig, worst, names)
        _animate(built, frames, correctives)
    except BaseException:
        _remove_objects([mesh_object, armature])
        raise
    return built


def export_scene_for(scene: Any, frame_start: int, frame_end: int) -> Any:
    """A new scene with ``scene``'s frame rate and the range: the exporters sample it, the user's scene stays
    untouched (no frame changes, no selection changes, no heads evaluated while sampling)."""
    export_scene = bpy.data.scenes.new("FLAME Export")
    export_scene.render.fps, export_scene.render.fps_base = scene.render.fps, scene.render.fps_base
    export_scene.frame_start, export_scene.frame_end = frame_start, frame_end
    export_scene.frame_current = frame_start
    return export_scene


def write(
    context: Any, built: Built, filepath: str, preset: str, export_scene: Any, influences: str = "PRESET"
) -> None:
    """Write the built objects (alone in ``export_scene``) with the preset's exporter."""
    view_layer = export_scene.view_layers[0]
    for obj in (built.armature, built.mesh_object):
        obj.select_set(True, view_layer=view_layer)
    view_layer.objects.active = built.armature
    _, settings = PRESETS[preset]
    if preset == "GLTF":
        fmt = "GLTF_SEPARATE" if filepath.lower().endswith(".gltf") else "GLB"
        every = max_influences(preset, influences) is None
        run = partial(bpy.ops.export_scene.gltf, filepath=filepath,
                      **dict(settings, export_format=fmt, export_all_influences=every))
    else:
        run = partial(bpy.ops.export_scene.fbx, filepath=filepath, **settings)
    window = context.window
    if window is None:
        with context.temp_override(scene=export_scene, view_layer=view_layer):
            result = run()
    else:  # the glTF exporter switches the window's scene itself: give it the export scene, then switch back
        previous = window.scene
        frame = (previous.frame_current, previous.frame_subframe)
        window.scene = export_scene
        try:
            result = run()
        finally:
            window.scene = previous
            if (previous.frame_current, previous.frame_subframe) != frame:
                previous.frame_set(frame[0], subframe=frame[1])
    if result != {"FINISHED"}:
        raise FlameError(f"Blender's exporter did not write {filepath}")


def _enable_exporter(preset: str) -> None:
    import addon_utils

    module = "io_scene_gltf2" if preset == "GLTF" else "io_scene_fbx"
    _loaded, enabled = addon_utils.check(module)
    if not enabled:
        addon_utils.enable(module, default_set=False)


class FLAME_OT_export_rigged(bpy.types.Operator, ExportHelper):
    """Export the active head as a rigged, blend-shaped asset for game engines and the web \
(glTF or FBX: skinned mesh, expression and corrective shape keys, bone and weight animation)"""

    bl_idname = "flame.export_rigged"
    bl_label = "Export Rigged Head"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".glb"
    filepath: StringProperty(name="File Path", subtype="FILE_PATH", options={"SKIP_SAVE"})  # type: ignore[valid-type]
    filter_glob: StringProperty(default="*.glb;*.gltf;*.fbx", options={"HIDDEN"})  # type: ignore[valid-type]
    preset: EnumProperty(  # type: ignore[valid-type]
        name="Preset",
        items=[
            ("GLTF", "glTF (web, three.js)", "Binary glTF, Y up, metres, morph targets and skin"),
            ("UNITY", "Unity (FBX)", "FBX, Y up, scale applied, no leaf bones"),
            ("UNREAL", "Unreal (FBX)", "FBX, Z up, no leaf bones"),
        ],
        default="GLTF",
    )
    expressions: IntProperty(name="Expressions", default=50, min=0, max=100,  # type: ignore[valid-type]
                             description="Expression components exported as shape keys")
    correctives: BoolProperty(name="Pose Correctives", default=True,  # type: ignore[valid-type]
                              description="The 36 pose-corrective shapes, their weights baked from the bones")
    frame_start: IntProperty(name="Start Frame", description="First frame (default: the scene's)")  # type: ignore[valid-type]
    frame_end: IntProperty(name="End Frame", description="Last frame (default: the scene's)")  # type: ignore[valid-type]
    influences: EnumProperty(  # type: ignore[valid-type]
        name="Joints per Vertex",
        items=[
            ("PRESET", "Preset", "4 for glTF (what three.js and most web viewers blend), all 5 for FBX"),
            ("FOUR", "4", "The 4 largest skinning weights per vertex, renormalised"),
            ("ALL", "All 5", "Every FLAME joint (glTF: a second JOINTS/WEIGHTS set; three.js reads only the first)"),
        ],
        default="PRESET",
    )
    keep: BoolProperty(name="Keep Rig in Scene", default=False,  # type: ignore[valid-type]
                       description="Leave the exported armature and mesh in the scene, correctives driven by the bones")

    @classmethod
    def poll(cls, context: Any) -> bool:
        return heads.is_head(context.active_object) and context.mode == "OBJECT"

    def invoke(self, context: Any, event: Any) -> OperatorResult:  # type: ignore[override]
        return ExportHelper.invoke(self, context, event)  # type: ignore[return-value]

    def check(self, context: Any) -> bool:
        ext = PRESETS[self.preset][0]
        self.filename_ext = ext
        path = self.filepath
        if path and not path.lower().endswith((ext, ".gltf") if ext == ".glb" else ext):
            self.filepath = str(Path(path).with_suffix(ext))
            return True
        return False

    def execute(self, context: Any) -> OperatorResult:
        global last_report
        scene = context.scene
        problem = frame_range.settle(self, scene.frame_start, scene.frame_end)
        if problem:
            self.report({"ERROR"}, problem)
            return {"CANCELLED"}
        if not self.filepath:
            self.report({"ERROR"}, "No file path given")
            return {"CANCELLED"}
        head = context.active_object
        filepath = bpy.path.abspath(self.filepath)
        if not Path(filepath).parent.is_dir():
            self.report({"ERROR"}, f"Cannot export to {filepath}: the folder does not exist")
            return {"CANCELLED"}
        started = time.perf_counter()
        export_scene = export_scene_for(scene, self.frame_start, self.frame_end)
        built = None
        try:
            _enable_exporter(self.preset)
            built = build(context, head, self.frame_start, self.frame_end, self.expressions, self.correctives,
                          export_scene, self.preset, self.influences)
            write(context, built, filepath, self.preset, export_scene, self.influences)
            if self.keep:
                self._keep(context, built, head, export_scene)
        except (FlameError, OSError, RuntimeError, ValueError) as exc:
            remove_built(built, export_scene)
            self.report({"ERROR"}, f"Cannot export {head.name}: {exc}")
            return {"CANCELLED"}
        remove_built(None if self.keep else built, export_scene)
        last_report = ExportReport(
            filepath=filepath, frames=self.frame_end - self.frame_start + 1, expressions=len(built.expression_names),
            correctives=bool(self.correctives), deviation=built.deviation,
            identity_change=built.rig.identity_change, seconds=time.perf_counter() - started,
        )
        if built.rig.identity_change > 0.0:
            self.report({"WARNING"}, f"The identity changes over frames {self.frame_start}-{self.frame_end} "
                        f"(shape coefficients differ by up to {built.rig.identity_change:.4g}); the export keeps "
                        f"frame {self.frame_start}'s, largest deviation {built.deviation * 1000:.3g} mm")
        self.report({"INFO"}, f"Exported {last_report.frames} frames of {head.name} to {filepath}; largest "
                    f"deviation from FLAME {built.deviation * 1000:.3g} mm")
        return {"FINISHED"}

    def _keep(self, context: Any, built: Built, head: Any, export_scene: Any) -> None:
        if self.correctives:
            key = built.mesh_object.data.shape_keys
            animation.write_keyframes(key, [], remove=[(f'key_blocks["{n}"].value', 0) for n in ee.corrective_names()])
            add_corrective_drivers(built.mesh_object, built.armature)
        for obj in (built.armature, built.mesh_object):
            objects.link_beside(context, obj, head)
            export_scene.collection.objects.unlink(obj)
        objects.select_only(context, built.armature)


def menu_export(self: Any, context: Any) -> None:
    self.layout.operator(FLAME_OT_export_rigged.bl_idname, text="FLAME Rigged Head (.glb, .fbx)")


CLASSES = (FLAME_OT_export_rigged,)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register() -> None:
    _register_classes()
    bpy.types.TOPBAR_MT_file_export.append(menu_export)  # type: ignore[arg-type]


def unregister() -> None:
    bpy.types.TOPBAR_MT_file_export.remove(menu_export)  # type: ignore[arg-type]
    _unregister_classes()
