"""``flame.import_sequence`` / ``flame.export_sequence``: FLAME parameter sequences as keyframes.

Import reads any format ``flame_core.load_sequence`` knows (VHAP/GaussianAvatars npz, per-frame
folders, oxigaf JSON, DECA/EMOCA, SMIRK, flame-head-tracker, metrical-tracker, IMavatar, torch files) and
keys every parameter channel of a head in bulk, in one undo step. A tracked camera motion (metrical-tracker,
IMavatar) is keyed as the head's rotation and translation, or as an animated camera parented to the head.
It either completes or leaves the file as it was: no action, no F-Curves, no new head or camera, the same
counts, values, frame range, frame rate, render size and scene camera.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import bpy
import numpy as np
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ...flame_core import FIELDS, FlameError, FlameParams, FlameSequence, load_sequence, save_sequence
from ...flame_core.channels import sequence_channels, used_count, varies
from ...flame_core.sequence import FRAME_ID_KEY, has_cameras, head_motion, sequence_cameras
from .. import animation, bridge, evaluate, heads, objects, offsets, param_channels
from ..properties import resize_components
from ..results import OperatorResult
from . import frame_range
from .head import create_head
from .sequence_camera import add_tracked_camera, remove_camera

SEQUENCE_FILTER = "*.npz;*.json;*.npy;*.pkl;*.pickle;*.pt;*.pth;*.tar;*.frame"
COEFFICIENT_NAMES = param_channels.COEFFICIENT_NAMES


# ---------------------------------------------------------------------------------------------- time
def scene_fps(scene: Any) -> float:
    return scene.render.fps / scene.render.fps_base


def set_scene_fps(scene: Any, fps: float) -> None:
    """Set ``fps``/``fps_base`` so that their ratio is ``fps`` (29.97 -> 30 / 1.001)."""
    whole = max(1, round(fps))
    scene.render.fps = whole
    scene.render.fps_base = whole / fps


def timed_for_scene(seq: FlameSequence, scene: Any, fps_mode: str) -> tuple[FlameSequence, float | None, str]:
    """The sequence to key one frame per scene frame, the scene rate to set (or None), and a note."""
    rate = scene_fps(scene)
    if fps_mode == "FILE":
        if seq.fps is None:
            return seq, None, "the file has no frame rate: one key per scene frame"
        return seq, seq.fps, ""
    if seq.fps is None and seq.timestamps is None:
        return seq, None, "the file has no frame rate: one key per scene frame"
    if seq.timestamps is None and seq.fps is not None and math.isclose(seq.fps, rate, rel_tol=1e-6):
        return seq, None, ""
    resampled = seq.resample(rate)
    source = f"{seq.fps:g} fps" if seq.fps is not None else "its timestamps"
    return resampled, None, f"resampled from {source} to the scene's {rate:g} fps ({len(resampled)} frames)"


# ---------------------------------------------------------------------------------------------- import
@dataclass
class _HeadState:
    """What an import may change on an existing head, to put it back on failure."""

    counts: dict[str, int]
    params: FlameParams

    @classmethod
    def of(cls, obj: Any) -> _HeadState:
        settings = obj.flame
        return cls({n: getattr(settings, f"n_{n}") for n in COEFFICIENT_NAMES}, bridge.read_params(settings))

    def restore(self, obj: Any) -> None:
        settings = obj.flame
        for name, count in self.counts.items():
            setattr(settings, f"n_{name}", count)
            resize_components(settings, name, count)
        bridge.write_params(settings, self.params)


@dataclass
class _SceneState:
    frame_start: int
    frame_end: int
    fps: int
    fps_base: float
    resolution: tuple[int, int]
    camera: Any

    @classmethod
    def of(cls, scene: Any) -> _SceneState:
        render = scene.render
        return cls(scene.frame_start, scene.frame_end, render.fps, render.fps_base,
                   (render.resolution_x, render.resolution_y), scene.camera)

    def restore(self, scene: Any) -> None:
        scene.frame_start, scene.frame_end = self.frame_start, self.frame_end
        scene.render.fps, scene.render.fps_base = self.fps, self.fps_base
        scene.render.resolution_x, scene.render.resolution_y = self.resolution
        scene.camera = self.camera


@dataclass
class ImportResult:
    head: Any
    frames: int
    frame_start: int
    notes: list[str] = field(default_factory=list)
    action: Any = None
    keyed: str = ""
    kept: list[str] = field(default_factory=list)
    camera: Any = None


def _file_counts(params: FlameParams) -> dict[str, int]:
    out = {}
    for name in COEFFICIENT_NAMES:
        value = getattr(params, name)
        out[name] = 0 if value is None else int(value.shape[-1])
    return out


def _grow_counts(obj: Any, params: FlameParams, model_counts: dict[str, int], notes: list[str]) -> None:
    """Expose enough components for every coefficient in the file (at most the model's)."""
    settings = obj.flame
    for name, have in _file_counts(params).items():
        available = model_counts[name]
        if have > available:
            lost = used_count(getattr(params, name)) > available
            notes.append(
                f"the file has {have} {name} coefficients, the model {available}"
                + (": the rest are dropped" if lost else " (the rest are zero)")
            )
        need = min(have, available)
        if getattr(settings, f"n_{name}") < need:
            setattr(settings, f"n_{name}", need)
            resize_components(settings, name, need)


def _frame_span(frames: np.ndarray) -> str:
    return f"frame {frames[0]:g}" if len(frames) == 1 else f"frames {frames[0]:g}-{frames[-1]:g}"


def import_sequence(
    context: Any,
    seq: FlameSequence,
    *,
    head: Any | None,
    frame_start: int = 1,
    fps_mode: str = "SCENE",
    keyframe_shape: bool = True,
    mode: str = "NEW_ACTION",
    constant_keys: str = "ONE",
    name: str | None = None,
    interpolation: str = "LINEAR",
    progress: Any = None,
    camera_motion: str = "HEAD",
) -> ImportResult:
    """Key ``seq`` onto ``head`` (a new head when None); all or nothing (raises, changing nothing).

    ``mode`` (see ``animation.write_keyframes``): a new action named ``name`` (the previous one kept on the
    NLA), only the keys inside the imported range replaced, or whole F-Curves replaced. Fields the sequence
    lacks are not touched. A channel that is the same in every frame gets one key (``constant_keys="ONE"``;
    at both ends of the range in ``REPLACE_RANGE``) or none (``"NONE"``: its value is set on the head and
    its F-Curve in the keyed action removed); ``keyframe_shape=False`` does that for the shape alone.

    A sequence with cameras (metrical-tracker, IMavatar) has its camera motion keyed as the head's rotation
    and translation (``camera_motion='HEAD'``) or as a new camera parented to the head (``'CAMERA'``).
    """
    scene = context.scene
    created = head is None
    scene_before = _SceneState.of(scene)
    head_before = None if head is None else _HeadState.of(head)
    offset_before = None if head is None else offsets.read(head)
    if head is None:
        head = create_head(context, "", 0, 0)
    camera = None
    try:
        full = heads.full_model(head)
        cameras = None
        if has_cameras(seq):
            if camera_motion == "HEAD":
                seq = head_motion(seq, full)
            elif camera_motion == "CAMERA":
                cameras = sequence_cameras(seq)
            else:
                raise FlameError(f"camera_motion must be 'HEAD' or 'CAMERA', not {camera_motion!r}")
        source_times = seq.times
        timed, new_fps, note = timed_for_scene(seq, scene, fps_mode)
        notes = [note] if note else []
        n = len(timed)
        frames = frame_start + np.arange(n, dtype=np.float64)
        ids = timed.extras.get(FRAME_ID_KEY) if timed is seq else None
        if ids is not None and ids.shape == (n,):  # a per-frame folder with gaps: each frame at its own number
            frames = frame_start + (ids - ids[0]).astype(np.float64)
            notes.append(f"frame numbers have gaps: {n} frames keyed over {int(ids[-1] - ids[0]) + 1} scene frames")
        params = timed.params
        _grow_counts(head, params, {c: getattr(full, f"n_{c}") for c in COEFFICIENT_NAMES}, notes)
        notes += _apply_offsets(head, seq)
        if params.eyelids is not None and np.any(params.eyelids) and not full.has_eyelids:
            notes.append("the eyelid weights are keyed, but the model has no eyelid shapes: set them in the "
                         "add-on's preferences to see them")
        settings = head.flame
        sizes = {f.name: len(param_channels.field_keys(settings, f.name)) for f in FIELDS}
        built = sequence_channels(params, sizes, frames, constant=constant_keys, range_ends=mode == "REPLACE_RANGE")
        keyed, constants = built.keyed, dict(built.constants)
        if not keyframe_shape and "shape" in built.fields:
            for channel in [c for c in keyed if c.field == "shape" and len(c.frames) < max(n, 2)]:
                constants[(channel.field, channel.index)] = float(channel.values[0])
            keyed = [c for c in keyed if (c.field, c.index) not in constants]
        channels = [param_channels.to_channel(settings, c) for c in keyed]
        remove = [param_channels.value_key(settings, name, j) for name, j in constants]
        if cameras is not None:
            if timed is seq or source_times is None:
                camera_frames = frames
            else:  # resampled: each tracked frame at its own time on the scene's frame grid
                camera_frames = frame_start + (source_times - source_times[0]) * scene_fps(scene)
            camera = add_tracked_camera(context, head, cameras, camera_frames, f"{head.name} Camera")
            scene.render.resolution_x, scene.render.resolution_y = cameras[0].size
            if scene.camera is None:
                scene.camera = camera
            notes.append(f"the camera motion is on {camera.name}; render size set to "
                         f"{cameras[0].width}x{cameras[0].height}")
        report = animation.write_keyframes(head, channels, mode=mode, interpolation=interpolation, remove=remove,
                                           action_name=name or f"{head.name} Sequence", progress=progress)
        if constants:
            current = bridge.read_fields(settings)
            values: dict[str, np.ndarray] = {}
            for (field_name, j), value in constants.items():
                values.setdefault(field_name, current[field_name].copy())[j] = value
            bridge.write_fields(settings, values)
        if frames[-1] < 0:
            notes.append(f"the keys ({_frame_span(frames)}) are before frame 0, where the scene range cannot go")
        else:
            if frames[0] < 0:
                notes.append(f"the scene range starts at 0, the keys at {frames[0]:g}: export uses the keyed range")
            scene.frame_start = max(0, int(frames[0]))
            scene.frame_end = int(frames[-1])
        if new_fps is not None:
            set_scene_fps(scene, new_fps)
    except BaseException:
        if camera is not None:
            remove_camera(camera)
        scene_before.restore(scene)
        if created:
            mesh = head.data
            bpy.data.objects.remove(head)
            bpy.data.meshes.remove(mesh)
        elif head_before is not None:
            head_before.restore(head)
            offsets.write(head, offset_before)
            evaluate.safe_evaluate(head, force=True)
        raise
    scene.frame_set(scene.frame_current)
    evaluate.safe_evaluate(head, force=True)
    once = f", {built.n_constant} constant ones keyed once" if constant_keys == "ONE" else (
        f", {built.n_constant} constant ones set without keys" if built.n_constant else "")
    keyed_text = (f"{', '.join(built.fields)} at {_frame_span(frames)} in the action {report.action.name!r} "
                  f"({built.n_varying} channels per frame{once})")
    return ImportResult(head, n, frame_start, notes, report.action, keyed_text, report.kept, camera)


def _action_name(path: str) -> str:
    """A new action's name: the file's name without its extension (the folder's for per-frame folders)."""
    base = os.path.basename(path.rstrip(os.sep))
    return os.path.splitext(base)[0] or base


def _apply_offsets(head: Any, seq: FlameSequence) -> list[str]:
    """Put the file's static offset on the head; notes on what could not be applied."""
    notes = []
    static = seq.offsets.get("static_offset")
    if static is not None:
        values = np.asarray(static, dtype=np.float32)
        if values.ndim == 3 and values.shape[0] == 1:
            values = values[0]
        if values.ndim != 2 or values.shape[1] != 3 or not np.all(np.isfinite(values)):
            raise FlameError(f"static_offset must be (1, V, 3) finite values, got {np.shape(static)}")
        fitted, note = offsets.fit(values, len(head.data.vertices))
        offsets.write(head, fitted)
        notes += [note] if note else []
    if "dynamic_offset" in seq.offsets:
        notes.append("the per-frame dynamic offsets are not applied in Blender (only the static offset is); "
                     "flame-core's render and sample commands apply them")
    return notes


def _selected_path(operator: Any) -> str:
    """The file, or the folder when only a folder is chosen (per-frame sequences)."""
    path = bpy.path.abspath(operator.filepath) if operator.filepath else ""
    if path and os.path.isfile(path):
        return path
    directory = bpy.path.abspath(operator.directory) if operator.directory else ""
    if path and os.path.isdir(path):
        return path
    return directory or path


class _Progress:
    """Window-manager progress (nothing in background mode)."""

    def __init__(self, context: Any) -> None:
        self.wm = None if bpy.app.background else context.window_manager

    def __enter__(self) -> _Progress:
        if self.wm is not None:
            self.wm.progress_begin(0, 100)
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.wm is not None and total:
            self.wm.progress_update(int(100 * done / total))

    def __exit__(self, *_: Any) -> None:
        if self.wm is not None:
            self.wm.progress_end()


class FLAME_OT_import_sequence(bpy.types.Operator, ImportHelper):  # type: ignore[misc]
    """Import a FLAME parameter sequence (VHAP, GaussianAvatars, oxigaf, DECA/EMOCA, SMIRK, metrical-tracker, \
IMavatar, torch files, per-frame folders) as keyframes on a head"""

    bl_idname = "flame.import_sequence"
    bl_label = "Import FLAME Sequence"
    bl_options = {"REGISTER", "UNDO"}

    filter_glob: StringProperty(default=SEQUENCE_FILTER, options={"HIDDEN"})  # type: ignore[valid-type]
    directory: StringProperty(subtype="DIR_PATH", options={"HIDDEN", "SKIP_SAVE"})  # type: ignore[valid-type]
    use_folder: BoolProperty(  # type: ignore[valid-type]
        name="Per-Frame Folder",
        description="Read the folder shown in the browser (one file per frame) instead of one file",
        default=False,
    )
    frame_start: IntProperty(  # type: ignore[valid-type]
        name="Start Frame", description="Scene frame of the sequence's first frame", default=1,
    )
    fps_mode: EnumProperty(  # type: ignore[valid-type]
        name="Frame Rate", description="Whose frame rate the keys follow",
        items=[
            ("SCENE", "Scene", "Keep the scene's frame rate; resample the sequence to it when the file has a rate"),
            ("FILE", "File", "Set the scene's frame rate to the file's (when it has one); one key per file frame"),
        ],
        default="SCENE",
    )
    keyframe_shape: BoolProperty(  # type: ignore[valid-type]
        name="Key Shape",
        description="Key the shape once at the start frame when it is the same in every frame "
        "(it is always keyed per frame when it changes); off: set it without keys",
        default=True,
    )
    camera_motion: EnumProperty(  # type: ignore[valid-type]
        name="Camera Motion",
        description="How a tracked camera motion (metrical-tracker, IMavatar) is imported",
        items=[
            ("HEAD", "Head", "Key the head's rotation and translation so a still camera sees it as tracked"),
            ("CAMERA", "Camera", "Keep the head still and key a new camera, parented to the head, as tracked"),
        ],
        default="HEAD",
    )
    mode: EnumProperty(  # type: ignore[valid-type]
        name="Mode", description="Where the keys go, and what happens to the animation already there",
        items=[
            ("NEW_ACTION", "New Action",
             "Key a new action named after the file; the head's previous action is kept as an NLA strip"),
            ("REPLACE_RANGE", "Replace Range",
             "Key the head's action, replacing only keys inside the imported frame range (keys before and after "
             "stay)"),
            ("REPLACE", "Replace Channels",
             "Key the head's action, replacing the whole F-Curves of the channels the file holds"),
        ],
        default="NEW_ACTION",
    )
    constant_keys: EnumProperty(  # type: ignore[valid-type]
        name="Constant Channels", description="Channels that are the same in every frame (e.g. the identity)",
        items=[
            ("ONE", "One Key", "One key at the start frame (Replace Range: one at each end of the range)"),
            ("NONE", "No Key", "Set the value on the head without a key (its F-Curve in the keyed action goes)"),
        ],
        default="ONE",
    )
    target: EnumProperty(  # type: ignore[valid-type]
        name="Head", description="Head the sequence is keyed on",
        items=[
            ("ACTIVE", "Active Head", "Key the active head (a new head when none is active)"),
            ("NEW", "New Head", "Add a new head for the sequence"),
        ],
        default="ACTIVE",
    )

    @classmethod
    def poll(cls, context: Any) -> bool:
        return context.scene is not None and context.mode == "OBJECT"

    def execute(self, context: Any) -> OperatorResult:
        path = bpy.path.abspath(self.directory) if self.use_folder and self.directory else _selected_path(self)
        if not path:
            self.report({"ERROR"}, "Choose a sequence file or folder")
            return {"CANCELLED"}
        head = heads.active_head(context) if self.target == "ACTIVE" else None
        if head is not None and not heads.is_editable(head):
            self.report({"ERROR"}, f"{head.name} is linked from a library: make a library override to key it")
            return {"CANCELLED"}
        try:
            seq = load_sequence(path)
            with _Progress(context) as progress:
                result = import_sequence(
                    context, seq, head=head, frame_start=self.frame_start, fps_mode=self.fps_mode,
                    keyframe_shape=self.keyframe_shape, mode=self.mode, constant_keys=self.constant_keys,
                    name=_action_name(path), progress=progress, camera_motion=self.camera_motion,
                )
        except (FlameError, OSError) as exc:
            message = str(exc)
            if os.path.basename(path.rstrip(os.sep)) not in message:
                message = f"{path}: {message}"
            self.report({"ERROR"}, f"Cannot import the sequence: {message}")
            return {"CANCELLED"}
        obj = result.head
        objects.select_only(context, obj)
        for note in result.notes:
            self.report({"WARNING"}, f"{os.path.basename(path)}: {note}")
        kept = f"; kept {' and '.join(result.kept)}" if result.kept else ""
        self.report({"INFO"}, f"Keyed {result.frames} frames of {os.path.basename(path)} on {obj.name}: "
                              f"{result.keyed}{kept}")
        return {"FINISHED"}


# ---------------------------------------------------------------------------------------------- export
def head_sequence(context: Any, obj: Any, frame_start: int, frame_end: int) -> FlameSequence:
    """The head's evaluated parameters at each scene frame, with the scene's frame rate.

    Eyelid weights that are zero (open) in every frame are left out, as in files of trackers without them
    (importing such a file leaves a head's eyelids untouched).
    """
    frames = np.arange(frame_start, frame_end + 1, dtype=np.float64)
    params = param_channels.sample_params(context, obj, frames)
    fields = params.to_dict()
    eyelids = fields.get("eyelids")
    if eyelids is not None and not np.any(eyelids):
        del fields["eyelids"]
    shape = fields.get("shape")
    if shape is not None and shape.ndim == 2 and not varies(shape):
        fields["shape"] = shape[0]  # one identity for the whole sequence, as trackers write it
    static = offsets.read(obj)
    extras = {} if static is None else {"static_offset": static[None]}
    return FlameSequence(FlameParams(**fields), fps=scene_fps(context.scene), extras=extras, source=obj.name,
                         format="blender")


class FLAME_OT_export_sequence(bpy.types.Operator, ExportHelper):
    """Write the active head's parameters at every frame of a range (.npz: VHAP/GaussianAvatars keys; \
.json: oxigaf)"""

    bl_idname = "flame.export_sequence"
    bl_label = "Export FLAME Sequence"
    bl_options = {"REGISTER"}

    filename_ext = ".npz"
    filepath: StringProperty(name="File Path", subtype="FILE_PATH", options={"SKIP_SAVE"})  # type: ignore[valid-type]
    filter_glob: StringProperty(default="*.npz;*.json", options={"HIDDEN"})  # type: ignore[valid-type]
    frame_start: IntProperty(  # type: ignore[valid-type]
        name="Start Frame", description="First frame (default: the first keyed frame, else the scene's start)")
    frame_end: IntProperty(  # type: ignore[valid-type]
        name="End Frame", description="Last frame (default: the last keyed frame, else the scene's end)")

    def check(self, context: Any) -> bool:
        """Keep a .json extension the user typed (ExportHelper would append .npz)."""
        if self.filepath.lower().endswith(".json"):
            return False
        return bool(super().check(context))

    @classmethod
    def poll(cls, context: Any) -> bool:
        return heads.active_head(context) is not None

    def invoke(self, context: Any, event: Any) -> OperatorResult:  # type: ignore[override]
        self._default_range(context)
        return ExportHelper.invoke(self, context, event)  # type: ignore[return-value]

    def _default_range(self, context: Any) -> str | None:
        """Unset ends: the head's keyed range (never dropping keyed frames), else the scene's range."""
        obj = heads.active_head(context)
        keyed = param_channels.keyed_range(obj) if obj is not None else None
        start, end = keyed if keyed is not None else (context.scene.frame_start, context.scene.frame_end)
        return frame_range.settle(self, start, end)

    def execute(self, context: Any) -> OperatorResult:
        problem = self._default_range(context)
        obj = heads.active_head(context)
        if obj is None:
            self.report({"ERROR"}, "Select a FLAME head")
            return {"CANCELLED"}
        if problem:
            self.report({"ERROR"}, problem)
            return {"CANCELLED"}
        path = bpy.path.abspath(self.filepath)
        try:
            seq = head_sequence(context, obj, self.frame_start, self.frame_end)
            save_sequence(seq, path)
        except (FlameError, OSError) as exc:
            self.report({"ERROR"}, f"Cannot export to {path}: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Wrote {len(seq)} frames to {os.path.basename(path)}")
        return {"FINISHED"}


def menu_import(self: Any, context: Any) -> None:
    self.layout.operator(FLAME_OT_import_sequence.bl_idname, text="FLAME Sequence (.npz, .json, folder)")


def menu_export(self: Any, context: Any) -> None:
    self.layout.operator(FLAME_OT_export_sequence.bl_idname, text="FLAME Sequence (.npz, .json)")


CLASSES = (FLAME_OT_import_sequence, FLAME_OT_export_sequence)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register() -> None:
    _register_classes()
    bpy.types.TOPBAR_MT_file_import.append(menu_import)  # type: ignore[arg-type]
    bpy.types.TOPBAR_MT_file_export.append(menu_export)  # type: ignore[arg-type]


def unregister() -> None:
    bpy.types.TOPBAR_MT_file_export.remove(menu_export)  # type: ignore[arg-type]
    bpy.types.TOPBAR_MT_file_import.remove(menu_import)  # type: ignore[arg-type]
    _unregister_classes()
