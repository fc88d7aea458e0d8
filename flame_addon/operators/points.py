"""``flame.sample_points`` and ``flame.export_points``: points on the head's surface, bound to its faces.

``sample_points`` draws points uniformly by area (optionally within a mask region, optionally blue-noise spaced)
on the head as it is now and creates ``"<head> Points"``, a child of the head (so it follows the head's object
transform) in the head's local Blender axes, with point attributes ``normal`` (FLOAT_VECTOR), ``face_index``
(INT), ``barycentric`` (FLOAT_VECTOR, weights of the face's corners) and, derived from them, ``face_vertex_0`` …
``face_vertex_2`` (INT, the face's corner vertices) and ``face_weight_0`` … ``face_weight_2`` (FLOAT). With
Blender 5.0+ it is a PointCloud object (5.0: made as a vertices-only mesh and converted); before that a
vertices-only mesh shown as points by a Geometry Nodes "Mesh to Points" modifier. A bound cloud (custom property
``flame_bound``) follows the head: its "FLAME Bound" Geometry Nodes modifier (see ``bound_points``) places every
point on the head's evaluated mesh by corner vertices + barycentrics, so Blender re-evaluates it with the head
(parameter edits, playback, drivers, renders); its data keeps the positions it was sampled at.

``export_points`` writes a PLY:

- ``3DGS``: a plain point cloud (x y z, nx ny nz, grey red green blue) for 3D Gaussian Splatting
  initialisation, in FLAME's axes (the model's own Y-up space, object transforms ignored) or in Blender
  world space (Z up, every object transform applied);
- ``BOUND``: GaussianAvatars' triangle-bound ``point_cloud.ply`` (positions local to each point's face,
  ``binding_0`` = face index), always in FLAME's axes, with the head's FLAME parameters in
  ``flame_param.npz`` beside it.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import bpy
import numpy as np
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ExportHelper

from ...flame_core import FlameError
from ...flame_core.axes import from_blender_axes, normals_to_world, to_blender_axes, to_world
from ...flame_core.binding import GAUSSIAN_AVATARS_VERTICES, save_bound_points
from ...flame_core.ply import write_ply
from ...flame_core.sampling import SurfaceSamples, evaluate_samples, sample_surface
from .. import bound_points, bridge, evaluate, followers, heads, objects, offsets, point_display
from ..results import OperatorResult

KIND = "POINTS"
BOUND_KEY = "flame_bound"
#: Vertex count of FLAME itself; its GaussianAvatars parameter files carry offsets for 5143 (with teeth).
FLAME_VERTICES = 5023
GREY = 128

_region_items: list[tuple[str, str, str]] = []  # kept alive for Blender (dynamic enum strings)


# ---------------------------------------------------------------------------------------------------- data
def point_cloud_route() -> str | None:
    """How this Blender makes a PointCloud from Python: ``"RESIZE"`` (``PointCloud.resize``, 5.1+), ``"CONVERT"``
    (a vertices-only mesh converted in place by ``object.convert``, 5.0), or None (a mesh drawn as points)."""
    rna: Any = bpy.types.PointCloud.bl_rna
    if "resize" in rna.functions:
        return "RESIZE"
    convert: Any = bpy.ops.object.convert
    targets = convert.get_rna_type().properties["target"].enum_items
    return "CONVERT" if "POINTCLOUD" in targets else None


def uses_point_cloud() -> bool:
    """Whether this Blender's point objects are PointClouds (else vertices-only meshes drawn as points)."""
    return point_cloud_route() is not None


def point_count(data: Any) -> int:
    return len(data.attributes["position"].data)


def new_point_data(name: str, count: int, point_cloud: bool = True) -> Any:
    """A PointCloud (when ``point_cloud`` and it can be filled) or a vertices-only mesh with ``count`` points."""
    if point_cloud and point_cloud_route() == "RESIZE":
        data = bpy.data.pointclouds.new(name)
        data.resize(count)
        return data
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(count)
    return mesh


def to_point_cloud(context: Any, obj: Any) -> None:
    """Turn a vertices-only mesh object into a PointCloud object in place (attributes kept); nothing changes
    when Blender cannot (e.g. the object is not in the view layer)."""
    mesh = obj.data
    override = context.temp_override(active_object=obj, object=obj, selected_objects=[obj],
                                     selected_editable_objects=[obj])
    with override, contextlib.suppress(RuntimeError):
        bpy.ops.object.convert(target="POINTCLOUD", keep_original=False)
    if obj.type != "POINTCLOUD":
        return
    obj.data.name = mesh.name
    for name in [a.name for a in obj.data.attributes if a.name.startswith(".select")]:
        obj.data.attributes.remove(obj.data.attributes[name])  # the mesh's vertex selection
    if mesh.users == 0:
        bpy.data.meshes.remove(mesh)


def write_points(data: Any, positions: np.ndarray, normals: np.ndarray | None = None) -> None:
    """Set positions (n, 3) and optionally the ``normal`` attribute (FLAME axes, head-local), in bulk."""
    if normals is not None:
        bridge.write_attribute(data, "normal", "FLOAT_VECTOR", to_blender_axes(normals))
    bridge.write_positions(data, positions)


def write_binding(data: Any, face_index: np.ndarray, barycentric: np.ndarray, faces: np.ndarray) -> None:
    """Store each point's triangle of ``faces`` (the head's) and barycentric weights, and the corners derived."""
    bridge.write_attribute(data, bound_points.FACE_INDEX, "INT", face_index)
    bridge.write_attribute(data, bound_points.BARYCENTRIC, "FLOAT_VECTOR", barycentric)
    bound_points.write_corners(data, faces)


def read_binding(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """(face_index (n,) int32, barycentric (n, 3) float32) of a point object's data."""
    return (bridge.read_attribute(data, bound_points.FACE_INDEX, "INT"),
            bridge.read_attribute(data, bound_points.BARYCENTRIC, "FLOAT_VECTOR"))


def update_points(obj: Any, context: followers.FollowerContext) -> None:
    """Follower update: bound points are evaluated by their Geometry Nodes modifier (no Python per change);
    a bound cloud from an older file gets that modifier, the current group and its corner vertices here, once."""
    if obj.get(BOUND_KEY, False) and not bound_points.is_current(obj) and heads.is_editable(obj):
        bound_points.bind(obj, context.head, context.model.faces)


# ---------------------------------------------------------------------------------------------------- objects
def _show_points(obj: Any, radius: float) -> None:
    if obj.type == "POINTCLOUD":
        bridge.write_attribute(obj.data, "radius", "FLOAT", np.full(point_count(obj.data), radius))
        return
    point_display.show_as_points(obj, radius, "Surface Points")


def head_of(obj: Any) -> Any | None:
    """The head an object belongs to: itself when it is a head, else its parent head (followers)."""
    if heads.is_head(obj):
        return obj
    parent = getattr(obj, "parent", None)
    return parent if heads.is_head(parent) else None


def points_object(obj: Any) -> Any | None:
    """The point object to export: ``obj`` itself, or the first point object of the head ``obj``."""
    if obj is None:
        return None
    if followers.kind_of(obj) == KIND and heads.is_head(obj.parent):
        return obj
    if heads.is_head(obj):
        return next(followers.followers_of(obj, KIND), None)
    return None


def sample_head(head: Any, count: int, seed: int, region: str = "ALL", min_distance: float = 0.0) -> SurfaceSamples:
    """Points on the head as it is now (FLAME axes, head-local)."""
    model = heads.checked_model(head)
    indices = None
    if region != "ALL":
        if region not in model.region_names:
            known = ", ".join(model.region_names) or "none"
            raise FlameError(f"the head's model has no region {region!r} (it has: {known})")
        indices = model.region(region)
    return sample_surface(
        bridge.read_positions(head.data), model.faces, count, seed, region=indices,
        min_distance=min_distance if min_distance > 0 else None,
    )  # fmt: skip


def add_points(context: Any, head: Any, samples: SurfaceSamples, *, bind: bool = True, radius: float = 0.001,
               point_cloud: bool | None = None) -> Any:
    """Create the point object for ``samples`` as a follower of ``head``; nothing is left behind on error."""
    n = len(samples)
    if n == 0:
        raise FlameError("no points were drawn")
    point_cloud = uses_point_cloud() if point_cloud is None else point_cloud
    data = new_point_data(f"{head.name} Points", n, point_cloud)
    obj = bpy.data.objects.new(data.name, data)
    try:
        faces = heads.checked_model(head).faces
        write_binding(data, samples.face_index, samples.barycentric, faces)
        write_points(data, samples.positions, samples.normals)
        objects.link_beside(context, obj, head)
        if point_cloud and obj.type == "MESH":
            to_point_cloud(context, obj)
        followers.mark(obj, head, KIND)
        obj[BOUND_KEY] = bool(bind)
        if bind:
            bound_points.bind(obj, head, faces)
        _show_points(obj, radius)
    except BaseException:
        data = obj.data  # a PointCloud once converted
        bpy.data.objects.remove(obj)
        blocks: Any = bpy.data.meshes if hasattr(data, "vertices") else bpy.data.pointclouds
        blocks.remove(data)
        raise
    return obj


def _regions(self: Any, context: Any) -> list[tuple[str, str, str]]:
    items = [("ALL", "Whole Head", "Sample the whole surface")]
    head = head_of(getattr(context, "active_object", None)) if context is not None else None
    if head is not None:
        try:
            names = list(heads.model_for(head).region_names)
        except (FlameError, OSError):
            names = []
        items += [(name, name.replace("_", " ").title(), f"Only the faces of the model's {name!r} region")
                  for name in names]
    _region_items[:] = items
    return _region_items


class FLAME_OT_sample_points(bpy.types.Operator):
    """Scatter points on the active head's surface (a point object parented to the head); bound points follow
    the head's expressions, pose and animation"""

    bl_idname = "flame.sample_points"
    bl_label = "Sample Surface Points"
    bl_options = {"REGISTER", "UNDO"}

    count: IntProperty(name="Count", description="Number of points (at most, with a minimum distance)",  # type: ignore[valid-type]
                       default=10000, min=1, soft_max=1000000)
    seed: IntProperty(name="Seed", description="Random seed: the same seed gives the same points", default=0,  # type: ignore[valid-type]
                      min=0)
    region: EnumProperty(name="Region", description="Part of the head to sample (the model's mask regions)",  # type: ignore[valid-type]
                         items=_regions, default=0)
    bind: BoolProperty(name="Follow the Head", default=True,  # type: ignore[valid-type]
                       description="Keep the points on the surface when the head's parameters or animation change")
    min_distance: FloatProperty(  # type: ignore[valid-type]
        name="Minimum Distance", description="Blue-noise spacing: no two points closer than this (0: off); "
        "fewer points may fit", default=0.0, min=0.0, soft_max=0.01, unit="LENGTH", precision=4,
    )
    radius: FloatProperty(name="Radius", description="Drawn point radius", default=0.001, min=0.0,  # type: ignore[valid-type]
                          soft_max=0.01, unit="LENGTH", precision=4)

    @classmethod
    def poll(cls, context: Any) -> bool:
        return context.scene is not None and context.mode == "OBJECT"

    @classmethod
    def register(cls) -> None:
        followers.register_follower(KIND, update_points)

    @classmethod
    def unregister(cls) -> None:
        followers.unregister_follower(KIND)

    def execute(self, context: Any) -> OperatorResult:
        head = head_of(context.active_object)
        if head is None:
            self.report({"ERROR"}, "Select a FLAME head (the active object is not one)")
            return {"CANCELLED"}
        try:
            samples = sample_head(head, self.count, self.seed, self.region, self.min_distance)
            obj = add_points(context, head, samples, bind=self.bind, radius=self.radius)
        except (FlameError, OSError) as exc:
            self.report({"ERROR"}, f"Cannot sample points on {head.name}: {exc}")
            return {"CANCELLED"}
        objects.select_only(context, obj)
        self.report({"INFO"}, f"{obj.name}: {len(samples)} points{' following ' + head.name if self.bind else ''}")
        return {"FINISHED"}


# ---------------------------------------------------------------------------------------------------- export
def current_samples(obj: Any, head: Any, faces: np.ndarray) -> SurfaceSamples:
    """The points as they are on the head now, in FLAME axes (head-local): re-evaluated when bound."""
    face_index, barycentric = read_binding(obj.data)
    if obj.get(BOUND_KEY, False):
        positions, normals = evaluate_samples(bridge.read_positions(head.data), faces, face_index, barycentric)
    else:
        positions = bridge.read_positions(obj.data)
        normals = from_blender_axes(bridge.read_attribute(obj.data, "normal", "FLOAT_VECTOR"))
    return SurfaceSamples(np.asarray(positions), np.asarray(normals), face_index, barycentric)


def export_points(obj: Any, path: str, layout: str = "3DGS", axes: str = "FLAME") -> list[str]:
    """Write the point object's PLY (and flame_param.npz for BOUND); returns the files written."""
    head = obj.parent
    model = heads.checked_model(head)
    samples = current_samples(obj, head, model.faces)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    if layout == "BOUND":
        params = evaluate.model_params(model, evaluate.head_params(head))  # a rig's pose included
        n_offsets = GAUSSIAN_AVATARS_VERTICES if model.n_vertices == FLAME_VERTICES else model.n_vertices
        ply, npz = save_bound_points(path, samples, bridge.read_positions(head.data), model.faces, params,
                                     offset_vertices=n_offsets, offsets=offsets.forward_options(head))
        return [str(ply)] + ([str(npz)] if npz is not None else [])
    positions, normals = samples.positions, samples.normals
    if axes == "BLENDER_WORLD":
        matrix = np.array(obj.matrix_world, dtype=np.float64)
        positions = to_world(to_blender_axes(positions), matrix)
        normals = normals_to_world(to_blender_axes(normals), matrix)
    colors = np.full((len(samples), 3), GREY, dtype=np.uint8)
    frame = "FLAME axes (Y up)" if axes == "FLAME" else "Blender world (Z up)"
    write_ply(path, positions, normals, colors, comments=[f"FLAME head surface points, {frame}"])
    return [path]


class FLAME_OT_export_points(bpy.types.Operator, ExportHelper):
    """Export the active head's surface points as PLY: a plain cloud for 3D Gaussian Splatting (FLAME axes or
    Blender world), or GaussianAvatars' triangle-bound layout in FLAME axes with flame_param.npz beside it"""

    bl_idname = "flame.export_points"
    bl_label = "Export Surface Points"
    bl_options = {"REGISTER"}

    filename_ext = ".ply"
    filepath: StringProperty(name="File Path", subtype="FILE_PATH", options={"SKIP_SAVE"})  # type: ignore[valid-type]
    filter_glob: StringProperty(default="*.ply", options={"HIDDEN"})  # type: ignore[valid-type]
    layout: EnumProperty(  # type: ignore[valid-type]
        name="Layout",
        items=[
            ("3DGS", "3D Gaussian Splatting",
             "Positions, normals and grey colour (x y z nx ny nz red green blue) for 3DGS initialisation"),
            ("BOUND", "Bound to Faces (GaussianAvatars)",
             "GaussianAvatars point_cloud.ply: positions in each face's frame plus binding_0 (face index), FLAME "
             "axes; the head's FLAME parameters go to flame_param.npz in the same folder"),
        ],
        default="3DGS",
    )
    axes: EnumProperty(  # type: ignore[valid-type]
        name="Axes", description="Coordinate frame of the 3DGS layout (the bound layout always uses FLAME axes)",
        items=[
            ("FLAME", "FLAME (Y Up)", "The model's own space: Y up, face along +Z, object transforms ignored"),
            ("BLENDER_WORLD", "Blender World (Z Up)", "World positions with every object transform applied"),
        ],
        default="FLAME",
    )
    frame: IntProperty(name="Frame", description="Frame to export (not set: the current frame)", default=1)  # type: ignore[valid-type]

    @classmethod
    def poll(cls, context: Any) -> bool:
        return context.scene is not None

    def invoke(self, context: Any, event: Any) -> OperatorResult:  # type: ignore[override]
        if not self.properties.is_property_set("frame"):
            self.frame = context.scene.frame_current
        return ExportHelper.invoke(self, context, event)  # type: ignore[return-value]

    def execute(self, context: Any) -> OperatorResult:
        obj = points_object(context.active_object)
        if obj is None:
            self.report({"ERROR"}, "Select a head's surface points (or the head): run Sample Surface Points first")
            return {"CANCELLED"}
        scene = context.scene
        original = scene.frame_current
        path = bpy.path.ensure_ext(bpy.path.abspath(self.filepath), ".ply")
        if not self.filepath or os.path.isdir(path) or os.path.basename(path) == ".ply":
            self.report({"ERROR"}, f"Cannot export points: {self.filepath!r} is not a file name")
            return {"CANCELLED"}
        existed = {p: os.path.exists(p) for p in (path, os.path.join(os.path.dirname(path), "flame_param.npz"))}
        try:
            if self.properties.is_property_set("frame") and self.frame != original:
                scene.frame_set(self.frame)
            message = evaluate.error(obj.parent)
            if message:
                raise FlameError(message)
            written = export_points(obj, path, self.layout, self.axes)
        except (FlameError, OSError) as exc:
            for p, was_there in existed.items():
                if not was_there and os.path.isfile(p):
                    os.remove(p)
            self.report({"ERROR"}, f"Cannot export points: {exc}")
            return {"CANCELLED"}
        finally:
            if scene.frame_current != original:
                scene.frame_set(original)
        self.report({"INFO"}, f"Wrote {', '.join(os.path.basename(p) for p in written)}")
        return {"FINISHED"}


CLASSES = (FLAME_OT_sample_points, FLAME_OT_export_points)
register, unregister = bpy.utils.register_classes_factory(CLASSES)
