"""A head's rig: an armature whose evaluated pose bones drive the head's pose parameters.

A rig is an armature object, child of its head (so armature space is the head's object space),
with one bone per FLAME joint (``flame_core.rig.BONE_NAMES``) whose heads sit at the joints of the
head's current identity. ``head.flame_rig.armature`` and ``rig.flame_rig.head`` link the two.

While a head has a rig (in a scene), :func:`rig_pose` is what the evaluation reads for the pose
(a parameter source, ``evaluate.add_param_source``, depending on the armature): global rotation and
translation from the root bone, neck, jaw and eyes from theirs, from the *evaluated* pose bones: keys,
constraints, drivers and NLA on the armature all count. The mapping is the core's (``flame_core.rig``):
exact, so a pose set on the bones gives the same mesh as the same pose set as parameters. Shape and
expression stay parameters.

``evaluate``'s depsgraph handler evaluates a head whose rig changed (a bone moved, a constraint
target moved); this module's own ``depsgraph_update_post`` handler only moves the bones' rest
positions when the head's identity changed (bones are edited in Edit Mode, outside evaluation).
"""

from __future__ import annotations

import hashlib
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import bpy
import numpy as np
from bpy.app.handlers import persistent

from ..flame_core import FlameError, FlameParams
from ..flame_core import rig as core_rig
from ..flame_core.params import FIELD_BY_NAME, PARENTS, POSE_FIELDS
from . import bridge, evaluate, heads

#: Parameter fields the rig drives (the rotations and the translation).
RIG_FIELDS: tuple[str, ...] = (*POSE_FIELDS, "translation")
ROOT = core_rig.BONE_NAMES[0]
#: Name of the rig's parameter source (``evaluate.add_param_source``).
SOURCE = "rig"
#: (field, first joint, joints) of each rotation field in the 15-value pose vector.
POSE_SLICES = tuple((name, FIELD_BY_NAME[name].joints[0], len(FIELD_BY_NAME[name].joints)) for name in POSE_FIELDS)
#: Bone colour sets (Blender's theme palettes) per bone.
BONE_COLORS = ("THEME09", "THEME04", "THEME03", "THEME01", "THEME01")
#: Custom property marking the bone-shape objects a rig created (removed with it).
WIDGET_KEY = "flame_rig_widget"
#: Where the bone heads belong, per identity (runtime cache; see :func:`ensure_rest`).
_rest_heads: dict[bytes, np.ndarray] = {}
REST_CACHE = 16
_busy: list[bool] = []
_reported: set[tuple[int, str]] = set()


class FlameRigSettings(bpy.types.PropertyGroup):
    """The link between a head and its rig (set on both)."""

    armature: bpy.props.PointerProperty(  # type: ignore[valid-type]
        type=bpy.types.Object, name="Rig", description="The armature driving this head's pose",
        poll=lambda self, obj: obj.type == "ARMATURE",
    )
    head: bpy.props.PointerProperty(  # type: ignore[valid-type]
        type=bpy.types.Object, name="Head", description="The FLAME head this armature drives",
    )


# ---------------------------------------------------------------------------------------------- lookup
def is_rig(obj: Any) -> bool:
    """True for an armature made by ``flame.add_rig`` that still names its head."""
    return obj is not None and obj.type == "ARMATURE" and obj.flame_rig.head is not None


def rig_of(head: Any) -> Any | None:
    """The head's rig: an armature in a scene whose ``flame_rig.head`` is this head (else None).

    An armature deleted from every scene no longer drives; nor does the rig of another head (a
    duplicated head keeps pointing to the original's rig).
    """
    settings = getattr(head, "flame_rig", None)
    arm = settings.armature if settings is not None else None
    if arm is None or arm.type != "ARMATURE":
        return None
    original = arm.original
    if original.flame_rig.head != head.original or not original.users_scene:
        return None
    return arm


def head_of(arm: Any) -> Any | None:
    """The head a rig drives (None for other objects)."""
    return arm.flame_rig.head if is_rig(arm) else None


# ---------------------------------------------------------------------------------------------- reading
def bone_matrices(arm: Any) -> tuple[np.ndarray, np.ndarray]:
    """(pose, rest): armature-space matrices (J, 4, 4) of the rig's bones, in joint order (float64)."""
    pose = np.empty((len(core_rig.BONE_NAMES), 4, 4))
    rest = np.empty_like(pose)
    bones = arm.pose.bones
    for j, name in enumerate(core_rig.BONE_NAMES):
        bone = bones.get(name)
        if bone is None:
            raise FlameError(f"the rig {arm.name!r} has no bone {name!r}; remove the rig and add it again")
        pose[j] = np.array(bone.matrix)
        rest[j] = np.array(bone.bone.matrix_local)
    return pose, rest


def _evaluated_rig(arm: Any, source: Any) -> Any:
    """The rig as evaluated in ``source``'s depsgraph (an evaluated head points to its evaluated rig)."""
    if source is not None and source.is_evaluated:
        evaluated = source.flame_rig.armature
        if evaluated is not None and evaluated.is_evaluated:
            return evaluated
    return arm  # the original's pose bones hold the active depsgraph's last evaluated pose


def params_from_rig(arm: Any) -> FlameParams:
    """Pose and translation of the rig's (evaluated) bones as parameters."""
    pose, rest = bone_matrices(arm)
    return core_rig.params_from_pose_matrices(pose, rest)


def rig_pose(head: Any, source: Any = None) -> dict[str, np.ndarray] | None:
    """The pose parameters of a rigged head from its rig's evaluated pose bones; None without a rig.

    ``source`` is the head's evaluated copy when evaluating from a depsgraph (frame change,
    render, rig change); its rig is then read from the same depsgraph. Raises ``FlameError`` for a
    rig whose bones were removed or renamed.
    """
    arm = rig_of(head)
    if arm is None:
        return None
    rotvecs, translation = core_rig.pose_from_bone_matrices(*bone_matrices(_evaluated_rig(arm, source)))
    fields = {name: rotvecs[3 * start : 3 * start + 3 * size].astype(np.float32)
              for name, start, size in POSE_SLICES}
    fields["translation"] = translation.astype(np.float32)
    return fields


def sample_pose(context: Any, head: Any, frames: np.ndarray) -> FlameParams | None:
    """The rig's evaluated pose and translation at each of ``frames`` (None without a rig).

    The scene is stepped frame by frame (keys, constraints, drivers and NLA all evaluated) and its
    current frame restored.
    """
    arm = rig_of(head)
    if arm is None:
        return None
    frames = np.asarray(frames, dtype=np.float64).reshape(-1)
    scene = context.scene
    frame, subframe = scene.frame_current, scene.frame_subframe
    poses = np.empty((len(frames), len(core_rig.BONE_NAMES), 4, 4))
    rests = np.empty_like(poses)
    try:
        for k, f in enumerate(frames):
            whole = int(np.floor(f))
            scene.frame_set(whole, subframe=float(f - whole))
            poses[k], rests[k] = bone_matrices(arm.evaluated_get(context.evaluated_depsgraph_get()))
    finally:
        scene.frame_set(frame, subframe=subframe)
    if np.array_equal(rests, np.broadcast_to(rests[:1], rests.shape)):
        return core_rig.params_from_pose_matrices(poses, rests[0])
    return FlameParams.stack([core_rig.params_from_pose_matrices(p, r) for p, r in zip(poses, rests, strict=True)])


# ---------------------------------------------------------------------------------------------- building
def rest_joints(head: Any) -> tuple[np.ndarray, float]:
    """The head's rest joints (J, 3) for its identity (no expression, no pose), FLAME axes, and its height."""
    model = heads.model_for(head)
    shape = bridge.read_fields(head.flame)["shape"]
    out = model.forward(evaluate.model_params(model, FlameParams(shape=shape)))
    vertices = np.asarray(out.vertices, dtype=np.float64)
    height = float(np.ptp(vertices[:, 1])) if len(vertices) else 0.0
    return np.asarray(out.joints, dtype=np.float64), height


def _circle(radius: float, y: float, n: int = 24) -> tuple[list[tuple[float, float, float]], list[tuple[int, int]]]:
    angles = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    verts = [(float(radius * np.cos(a)), y, float(radius * np.sin(a))) for a in angles]
    return verts, [(i, (i + 1) % n) for i in range(n)]


#: Bone shapes in bone space (units of bone length): rings easy to click around each joint.
WIDGETS = {
    "root": (1.0, 0.0),  # a wide ring around the neck's base
    "neck": (0.55, 0.35),
    "jaw": (0.3, 1.0),  # a ring at the chin
    "eye": (0.45, 1.0),  # a ring in front of the eye
}


def _widget(name: str, key: str) -> Any:
    radius, y = WIDGETS[key]
    verts, edges = _circle(radius, y)
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, edges, [])
    obj = bpy.data.objects.new(name, mesh)
    obj[WIDGET_KEY] = True
    return obj


@contextmanager
def edit_bones(context: Any, arm: Any) -> Iterator[Any]:
    """The rig's edit bones: switches it to Edit Mode for the block, then back to its mode."""
    if arm.mode == "EDIT":
        yield arm.data.edit_bones
        return
    if not can_edit_bones(context, arm):
        raise FlameError(f"leave {context.mode.replace('_', ' ').title()} mode first")
    view_layer = context.view_layer
    if view_layer.objects.get(arm.name) is None:
        raise FlameError(f"the rig {arm.name!r} is not in the view layer")
    active, mode = view_layer.objects.active, arm.mode
    hidden, disabled = arm.hide_get(), arm.hide_viewport
    arm.hide_set(False)
    arm.hide_viewport = False
    view_layer.objects.active = arm
    override = {"active_object": arm, "object": arm, "selected_objects": [arm], "selected_editable_objects": [arm]}
    try:
        with context.temp_override(**override):
            bpy.ops.object.mode_set(mode="EDIT")
        if arm.mode != "EDIT":
            raise FlameError(f"Blender could not edit the bones of {arm.name!r}")
        yield arm.data.edit_bones
    finally:
        with context.temp_override(**override):
            bpy.ops.object.mode_set(mode=mode)
        view_layer.objects.active = active
        arm.hide_viewport = disabled
        arm.hide_set(hidden)


def _place(bones: Any, rest: np.ndarray, lengths: np.ndarray) -> None:
    from mathutils import Matrix  # deferred: after bpy

    for j, name in enumerate(core_rig.BONE_NAMES):
        bone = bones[name]
        head = rest[j, :3, 3]
        bone.head = head.tolist()
        bone.tail = (head + rest[j, :3, 1] * lengths[j]).tolist()
        bone.matrix = Matrix(rest[j].tolist())


def _identity_key(head: Any) -> bytes:
    fields = bridge.read_fields(head.flame)
    return hashlib.sha1(fields["shape"].tobytes() + head.flame.model_path.encode()).digest()


def _expected_heads(head: Any) -> np.ndarray:
    """Where the rig's bone heads belong (J, 3), armature space; cached per identity."""
    key = _identity_key(head)
    bone_heads = _rest_heads.get(key)
    if bone_heads is None:
        bone_heads = core_rig.rest_matrices(rest_joints(head)[0])[:, :3, 3]
        if len(_rest_heads) >= REST_CACHE:
            _rest_heads.clear()
        _rest_heads[key] = bone_heads
    return bone_heads


def fit_rest(context: Any, head: Any, arm: Any) -> None:
    """Move the rig's bones (their rest) to the head's current rest joints; the pose is kept."""
    joints, height = rest_joints(head)
    rest = core_rig.rest_matrices(joints)
    lengths = core_rig.bone_lengths(height if height > 0 else 0.3)
    with edit_bones(context, arm) as bones:
        _place(bones, rest, lengths)


def can_edit_bones(context: Any, arm: Any) -> bool:
    """Whether the rig's bones can be edited now: nothing else is in an edit or paint mode."""
    if arm.mode == "EDIT":
        return True
    return context.mode == "OBJECT" or (context.mode == "POSE" and context.view_layer.objects.active == arm)


def ensure_rest(context: Any, head: Any) -> bool:
    """Fit the rig's rest to the head's identity when its bones are elsewhere; True when they moved.

    Waits (returns False) while another object is in an edit or paint mode.
    """
    arm = rig_of(head)
    if arm is None or not heads.is_editable(arm) or not can_edit_bones(context, arm):
        return False
    expected = _expected_heads(head)
    bones = arm.data.bones
    current = np.array([bones[name].head_local if name in bones else (np.nan,) * 3 for name in core_rig.BONE_NAMES])
    if np.allclose(current, expected, atol=1e-6, rtol=0):
        return False
    fit_rest(context, head, arm)
    return True


def set_bone_pose(arm: Any, params: FlameParams) -> None:
    """Pose the rig's bones (their local transforms) to ``params``' pose and translation (one frame)."""
    rotations = core_rig.local_rotations(params.pose)
    quaternions = core_rig.quaternion_from_matrix(rotations)
    bones = arm.pose.bones
    for j, name in enumerate(core_rig.BONE_NAMES):
        bone = bones[name]
        bone.rotation_mode = "QUATERNION"
        bone.rotation_quaternion = quaternions[j].tolist()
    bones[ROOT].location = core_rig.root_location(params.values("translation")).tolist()


def build_rig(context: Any, head: Any, name: str | None = None) -> Any:
    """A new rig for ``head``, linked beside it, posed as the head is now; raises, adding nothing, on failure."""
    from . import objects  # deferred: keeps this module light for the evaluation path

    joints, height = rest_joints(head)
    rest = core_rig.rest_matrices(joints)
    lengths = core_rig.bone_lengths(height if height > 0 else 0.3)
    params = bridge.read_params(head.flame)
    data: Any = bpy.data.armatures.new(name or f"{head.name} Rig")
    arm: Any = bpy.data.objects.new(data.name, data)
    widgets: list[Any] = []
    try:
        objects.link_beside(context, arm, head)
        arm.parent = head
        arm.matrix_parent_inverse.identity()
        arm.show_in_front = True
        arm.lock_location = arm.lock_rotation = arm.lock_scale = (True, True, True)
        data.display_type = "OCTAHEDRAL"
        with edit_bones(context, arm) as bones:
            for j, bone_name in enumerate(core_rig.BONE_NAMES):
                bone = bones.new(bone_name)
                bone.use_deform = False
                if PARENTS[j] >= 0:
                    bone.parent = bones[core_rig.BONE_NAMES[PARENTS[j]]]
            _place(bones, rest, lengths)
        shapes = {}
        for key in WIDGETS:
            shapes[key] = _widget(f"WGT-{arm.name}-{key}", key)
            widgets.append(shapes[key])
        for j, bone_name in enumerate(core_rig.BONE_NAMES):
            bone = arm.pose.bones[bone_name]
            bone.custom_shape = shapes["eye" if bone_name.startswith("eye") else bone_name]
            bone.lock_scale = (True, True, True)
            if j > 0:
                bone.lock_location = (True, True, True)
            color = getattr(bone, "color", None)
            if color is not None:
                color.palette = BONE_COLORS[j]
        set_bone_pose(arm, params)
        arm.flame_rig.head = head
        head.flame_rig.armature = arm
    except BaseException:
        for obj in widgets:
            remove_object(obj)
        if arm.name in bpy.data.objects:
            remove_object(arm)
        raise
    return arm


def widgets_of(arm: Any) -> list[Any]:
    """The bone-shape objects a rig uses that it created."""
    found = {pb.custom_shape for pb in arm.pose.bones if pb.custom_shape is not None}
    return [obj for obj in found if obj.get(WIDGET_KEY)]


def remove_object(obj: Any) -> None:
    """Delete an object and its data when nothing else uses the data."""
    data = obj.data
    bpy.data.objects.remove(obj)
    if data is not None and data.users == 0:
        for collection in (bpy.data.meshes, bpy.data.armatures):
            if data.name in collection and collection[data.name] == data:
                collection.remove(data)
                break


def detach(head: Any) -> Any | None:
    """Unlink a head from its rig (pointer properties on both); returns the rig."""
    arm = head.flame_rig.armature
    head.flame_rig.armature = None
    if arm is not None:
        arm.flame_rig.head = None
    return arm


# ---------------------------------------------------------------------------------------------- handlers
def _report(obj: Any, exc: BaseException) -> None:
    """Print a handler's error once per object and message."""
    message = f"{type(exc).__name__}: {exc}"
    if (obj.session_uid, message) not in _reported:
        _reported.add((obj.session_uid, message))
        traceback.print_exc()
        print(f"FLAME Head: rig of {obj.name}: {message}", file=sys.stderr)


def _source_params(head: Any, evaluated: Any, fields: evaluate.Fields) -> evaluate.Fields:
    """The parameter source of rigged heads: their pose and translation from the rig."""
    pose = rig_pose(head, evaluated)
    if pose is not None:
        fields.update(pose)
    return fields


def _source_depends_on(head: Any) -> list[Any]:
    arm = rig_of(head)
    return [] if arm is None else [arm]


@persistent
def on_depsgraph_update(scene: Any, depsgraph: Any = None, *_: Any) -> None:
    """Re-fit the rests of rigs whose head's identity changed (evaluation itself is ``evaluate``'s handler)."""
    if _busy or depsgraph is None:
        return
    changed: dict[int, Any] = {}
    for update in depsgraph.updates:
        obj: Any = update.id
        if not isinstance(obj, bpy.types.Object):
            continue
        obj = obj.original
        if obj.type == "MESH" and heads.is_head(obj) and rig_of(obj) is not None:
            changed[obj.session_uid] = obj
    if not changed:
        return
    _busy.append(True)
    try:
        for head in changed.values():
            try:
                ensure_rest(bpy.context, head)
            except Exception as exc:  # a handler must never raise; the bones stay where they were
                _report(head, exc)
    finally:
        _busy.pop()


HANDLERS = (("depsgraph_update_post", on_depsgraph_update),)


def register() -> None:
    bpy.utils.register_class(FlameRigSettings)
    bpy.types.Object.flame_rig = bpy.props.PointerProperty(  # type: ignore[attr-defined]
        type=FlameRigSettings, name="FLAME Rig", description="A FLAME head's rig, or a rig's head",
    )
    for name, function in HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        if function not in handlers:
            handlers.append(function)
    evaluate.add_param_source(SOURCE, _source_params, _source_depends_on)


def unregister() -> None:
    evaluate.remove_param_source(SOURCE)
    for name, function in HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        while function in handlers:
            handlers.remove(function)
    del bpy.types.Object.flame_rig  # type: ignore[attr-defined]
    bpy.utils.unregister_class(FlameRigSettings)
    _rest_heads.clear()
    _reported.clear()
