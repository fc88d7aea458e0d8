"""``flame.bake_normal_map``: the active head's normals rendered by the core renderer into an Image (and files).

Cameras: the scene camera converted exactly (``Camera.from_blender``: lens, sensor size and fit, shift, clip
range, render resolution and percentage, pixel aspect), or the core's front camera framing the head, placed
with the head (its FLAME +Z, face direction, towards the camera and FLAME +Y up). Vertices are the head's
current mesh positions moved to world space by ``matrix_world``, so the object transform is honoured.

The result goes into a float, non-colour Image named ``"<head> Normals"`` (``"<head> UV Normals"`` for the UV
bake) holding the encoded normals ``n * 0.5 + 0.5`` with straight (not premultiplied) colour and coverage in
alpha (``alpha_mode`` ``CHANNEL_PACKED``). Files are written with Blender's image saving (``save_render``
with a temporary scene's output settings): 8- or 16-bit PNG (straight RGBA) or 32-bit float EXR.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import bpy
import numpy as np
from bpy.props import EnumProperty, IntProperty, StringProperty

from ...flame_core import FlameError
from ...flame_core.axes import FLAME_TO_BLENDER, flame_frame, from_blender_axes, to_world
from ...flame_core.camera import Camera
from ...flame_core.render import NormalMap, convention_matrix, render_normal_map
from ...flame_core.uv_bake import render_uv_normal_map
from .. import bridge, evaluate, heads
from ..results import OperatorResult

CAMERA_ITEMS = [
    ("AUTO", "Auto", "The scene camera when the scene has one, else a front camera framing the head"),
    ("SCENE", "Scene Camera", "The scene's active camera with the scene's render resolution"),
    ("FRONT", "Front", "A camera in front of the face framing the whole head (Width x Height), placed with the head"),
]
SPACE_ITEMS = [
    ("CAMERA", "Camera", "Normals relative to the camera (see Convention)"),
    ("WORLD", "World", "Normals in world space, object rotation applied (see Convention)"),
    ("UV_OBJECT", "UV (Object Space)",
     "Object-space normals baked into the model's UV layout (Width x Height texture); needs a model with UVs"),
]
#: Enum id -> (core convention name or None for the default, spaces it applies to).
CONVENTIONS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "AUTO": (None, ("CAMERA", "WORLD", "UV_OBJECT")),
    "OPENGL": ("opengl", ("CAMERA",)),
    "OPENCV": ("opencv", ("CAMERA",)),
    "SCANNET": ("scannet", ("CAMERA",)),
    "BLENDER": ("blender", ("WORLD", "UV_OBJECT")),
    "FLAME": ("flame", ("WORLD", "UV_OBJECT")),
}
CONVENTION_ITEMS = [
    ("AUTO", "Auto", "OpenGL for camera space, Blender axes for world and UV object space"),
    ("OPENGL", "OpenGL", "Camera space: red = image right, green = image up, blue = towards the viewer"),
    ("OPENCV", "OpenCV", "Camera space: red = image right, green = image down, blue = away from the viewer"),
    ("SCANNET", "ControlNet (ScanNet)",
     "Camera space as ControlNet's normal model expects: red = image LEFT, green = up, blue = towards the viewer"),
    ("BLENDER", "Blender (Z Up)",
     "World: Blender world axes (X, Y, Z = red, green, blue; Z up); UV: the object's own Blender axes"),
    ("FLAME", "FLAME (Y Up)",
     "World/UV: FLAME's axes (X = subject's left, Y up, Z out of the face), i.e. Blender's (x, z, -y)"),
]
BACKGROUND_ITEMS = [
    ("TRANSPARENT", "Transparent", "Alpha is the head's coverage; colour 0 outside"),
    ("NEUTRAL", "Neutral", "Opaque: the colour of a normal facing the camera (flat normal-map blue)"),
    ("BLACK", "Black", "Opaque black outside the head"),
]
FORMAT_ITEMS = [
    ("PNG8", "PNG 8-bit", "8-bit RGBA PNG (straight alpha)"),
    ("PNG16", "PNG 16-bit", "16-bit RGBA PNG (straight alpha)"),
    ("EXR", "OpenEXR Float", "32-bit float RGBA OpenEXR (ZIP), exact values"),
]
#: file_format enum id -> (Blender file format, colour depth, file extension).
FORMATS = {"PNG8": ("PNG", "8", ".png"), "PNG16": ("PNG", "16", ".png"), "EXR": ("OPEN_EXR", "32", ".exr")}
IMAGE_SUFFIX = {"CAMERA": "Normals", "WORLD": "Normals", "UV_OBJECT": "UV Normals"}


# ---------------------------------------------------------------------------------------------------- cameras
def scene_camera(scene: Any, camera_obj: Any) -> Camera:
    """The core camera equal to Blender's render camera ``camera_obj`` with ``scene``'s output size."""
    data = camera_obj.data
    if getattr(data, "type", None) != "PERSP":
        raise FlameError(f"camera {camera_obj.name!r} is not a perspective camera (only those are supported)")
    render = scene.render
    return Camera.from_blender(
        np.array(camera_obj.matrix_world, dtype=np.float64), data.lens,
        sensor_width=data.sensor_width, sensor_height=data.sensor_height, sensor_fit=data.sensor_fit,
        resolution=(render.resolution_x, render.resolution_y),
        pixel_aspect=(render.pixel_aspect_x, render.pixel_aspect_y),
        shift_x=data.shift_x, shift_y=data.shift_y, clip_start=data.clip_start, clip_end=data.clip_end,
        resolution_percentage=render.resolution_percentage,
    )  # fmt: skip


def front_camera(local_vertices: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> Camera:
    """The core's front camera around the head (object-space Blender-axes vertices), placed with the head."""
    rotation, origin = flame_frame(matrix)
    world = to_world(local_vertices, matrix)
    in_frame = (world - origin) @ rotation  # the head in its placed FLAME axes
    camera = Camera.front(in_frame, size)
    R = camera.R @ rotation.T
    return replace(camera, R=R, t=camera.t - R @ origin)


# ---------------------------------------------------------------------------------------------------- files
def frame_path(filepath: str, frame: int, numbered: bool, extension: str) -> str:
    """The file for one frame: the last run of ``#`` becomes the zero-padded frame number; without ``#`` and
    with several frames, ``_0001``-style numbers are appended to the name. The extension is added (or a
    .png/.exr one replaced) to match the format."""
    path = bpy.path.abspath(filepath)
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    if ext.lower() not in (".png", ".exr"):
        stem, ext = name, ""
    runs = list(re.finditer(r"#+", stem))
    if runs:
        run = runs[-1]
        stem = f"{stem[: run.start()]}{frame:0{len(run.group())}d}{stem[run.end():]}"
    elif numbered:
        stem = f"{stem}_{frame:04d}"
    return os.path.join(folder, stem + extension)


def check_path(path: str) -> None:
    """Raise OSError unless ``path`` names a file that can be written (its folder is created)."""
    folder, name = os.path.split(path)
    if not name or os.path.isdir(path):
        raise OSError(f"{path!r} is a folder, not a file name")
    os.makedirs(folder or ".", exist_ok=True)
    if not os.access(folder or ".", os.W_OK):
        raise OSError(f"cannot write into {folder!r}")


@contextmanager
def image_writer(file_format: str) -> Iterator[Any]:
    """A function ``write(rgba_top_down, path)`` saving through Blender with a temporary scene's settings.

    Blender treats float buffers as premultiplied and divides by alpha when writing PNG, so the colour is
    premultiplied first to get the straight values into the file; EXR stores the buffer as is.
    """
    blender_format, depth, _ = FORMATS[file_format]
    scene = bpy.data.scenes.new(".FLAME Image Output")
    images: list[Any] = []
    try:
        settings: Any = scene.render.image_settings
        settings.file_format = blender_format
        settings.color_mode = "RGBA"
        settings.color_depth = depth
        if blender_format == "OPEN_EXR":
            settings.exr_codec = "ZIP"

        def write(rgba: np.ndarray, path: str) -> None:
            h, w = rgba.shape[:2]
            if not images or tuple(images[0].size) != (w, h):
                while images:
                    bpy.data.images.remove(images.pop())
                images.append(bpy.data.images.new(".FLAME Image Output", w, h, alpha=True, float_buffer=True,
                                                  is_data=True))
            pixels = np.array(rgba[::-1], dtype=np.float32)
            if blender_format == "PNG":
                pixels[..., :3] *= pixels[..., 3:]
            images[0].pixels.foreach_set(pixels.reshape(-1))
            try:
                images[0].save_render(path, scene=scene)
            except RuntimeError as exc:
                raise OSError(f"cannot write {path!r}: {exc}") from None

        yield write
    finally:
        for image in images:
            bpy.data.images.remove(image)
        bpy.data.scenes.remove(scene)


# ---------------------------------------------------------------------------------------------------- images
def store_image(name: str, rgba: np.ndarray) -> Any:
    """Put a top-down RGBA float image into the float, non-colour Image ``name`` (replaced if incompatible)."""
    h, w = rgba.shape[:2]
    old: Any = bpy.data.images.get(name)
    image: Any
    ours = old is not None and (old.source == "GENERATED" or old.packed_file is not None)
    if ours and old.is_float and tuple(old.size) == (w, h):
        image = old
    else:
        image = bpy.data.images.new(name, w, h, alpha=True, float_buffer=True, is_data=True)
    image.colorspace_settings.is_data = True
    image.alpha_mode = "CHANNEL_PACKED"
    image.pixels.foreach_set(np.ascontiguousarray(rgba[::-1], dtype=np.float32).reshape(-1))
    image.update()
    image.use_fake_user = True  # kept in the .blend even when nothing else uses it
    image.pack()  # the pixels are saved inside the .blend (as float EXR)
    if image is not old and old is not None:
        old.user_remap(image)
        bpy.data.images.remove(old)
        image.name = name
    return image


def show_image(context: Any, image: Any) -> None:
    """Show ``image`` in the first open Image editor, if any."""
    wm = context.window_manager
    for window in getattr(wm, "windows", ()):
        for area in window.screen.areas:
            if area.type == "IMAGE_EDITOR":
                area.spaces.active.image = image
                return


# ---------------------------------------------------------------------------------------------------- rendering
def resolve_convention(space: str, convention: str) -> str | None:
    """The core convention name for an enum choice (None = the default), or FlameError when it does not apply."""
    name, spaces = CONVENTIONS[convention]
    if space not in spaces:
        label = dict((i[0], i[1]) for i in CONVENTION_ITEMS)[convention]
        raise FlameError(f"the {label} convention does not apply to {space.replace('_', ' ').lower()} space")
    if name is None:
        return "opengl" if space == "CAMERA" else "blender"
    return name


def render_head(
    obj: Any, scene: Any, *, camera: str, space: str, convention: str, background: str, samples: int,
    size: tuple[int, int], padding: int = 4,
) -> NormalMap:
    """One normal map of the head as it is now (see the operator for the options)."""
    model = heads.checked_model(obj)
    name = resolve_convention(space, convention)
    bg = None if background == "TRANSPARENT" else background.lower()
    local = bridge.read_local_positions(obj.data)
    if space == "UV_OBJECT":
        if model.uv_coords is None or model.uv_faces is None:
            raise FlameError("the head's model has no UV coordinates")
        return render_uv_normal_map(
            from_blender_axes(local), model.faces, model.uv_coords, model.uv_faces, size,
            convention=name, samples=samples, padding=padding, background=bg,
        )  # fmt: skip
    matrix = np.array(obj.matrix_world, dtype=np.float64)
    if camera == "SCENE" or (camera == "AUTO" and scene.camera is not None):
        if scene.camera is None:
            raise FlameError("the scene has no camera")
        cam = scene_camera(scene, scene.camera)
    else:
        cam = front_camera(local, matrix, size)
    world = to_world(local, matrix)
    if space == "WORLD":
        # The renderer's world conventions act on FLAME-axes normals; ours are Blender world normals.
        table, _ = convention_matrix("world", name)
        return render_normal_map(world, model.faces, cam, space="world", convention=table @ FLAME_TO_BLENDER.T,
                                 samples=samples, background=bg)
    return render_normal_map(world, model.faces, cam, space="camera", convention=name, samples=samples, background=bg)


class FLAME_OT_bake_normal_map(bpy.types.Operator):
    """Render the active head's normals (scene or front camera, camera/world space, or baked into the UVs) into
    an image, and optionally save one file per frame"""

    bl_idname = "flame.bake_normal_map"
    bl_label = "Bake Normal Map"
    bl_options = {"REGISTER", "UNDO"}

    camera: EnumProperty(  # type: ignore[valid-type]
        name="Camera", description="Camera the normals are seen from (not used by the UV bake)",
        items=CAMERA_ITEMS, default="AUTO",
    )
    space: EnumProperty(  # type: ignore[valid-type]
        name="Space", description="Space of the normals: camera, world, or object space baked into the UVs",
        items=SPACE_ITEMS, default="CAMERA",
    )
    convention: EnumProperty(  # type: ignore[valid-type]
        name="Convention", items=CONVENTION_ITEMS, default="AUTO",
        description="Which axes the red, green and blue channels encode (n * 0.5 + 0.5)",
    )
    background: EnumProperty(  # type: ignore[valid-type]
        name="Background", description="What pixels outside the head hold", items=BACKGROUND_ITEMS,
        default="TRANSPARENT",
    )
    width: IntProperty(  # type: ignore[valid-type]
        name="Width", description="Image width for the front camera and the UV bake (the scene camera uses the "
        "scene's render resolution)", default=512, min=1, max=16384,
    )
    height: IntProperty(  # type: ignore[valid-type]
        name="Height", description="Image height for the front camera and the UV bake", default=512, min=1,
        max=16384,
    )
    samples: IntProperty(  # type: ignore[valid-type]
        name="Samples", description="Samples per pixel for anti-aliasing: a square number (1, 4, 9, 16 ...)",
        default=1, min=1, max=64,
    )
    padding: IntProperty(  # type: ignore[valid-type]
        name="Padding", description="UV bake: pixels filled around the UV islands so seams do not show",
        default=4, min=0, max=64,
    )
    frame_start: IntProperty(  # type: ignore[valid-type]
        name="Start Frame", description="First frame to render (not set: the current frame only)", default=1,
    )
    frame_end: IntProperty(  # type: ignore[valid-type]
        name="End Frame", description="Last frame to render (not set: the start frame)", default=1,
    )
    filepath: StringProperty(  # type: ignore[valid-type]
        name="File Path", subtype="FILE_PATH",
        description="Save each frame here (empty: no file). '#' characters become the frame number; without "
        "them several frames get _0001-style numbers. The extension follows the format",
    )
    file_format: EnumProperty(  # type: ignore[valid-type]
        name="File Format", description="Format of the saved files", items=FORMAT_ITEMS, default="PNG8",
    )

    @classmethod
    def poll(cls, context: Any) -> bool:
        return context.scene is not None

    def invoke(self, context: Any, event: Any) -> OperatorResult:
        for name in ("frame_start", "frame_end"):
            if not self.properties.is_property_set(name):
                setattr(self, name, context.scene.frame_current)
        return self.execute(context)

    def _frames(self, scene: Any) -> list[int]:
        props = self.properties
        has_start, has_end = props.is_property_set("frame_start"), props.is_property_set("frame_end")
        if not has_start and not has_end:
            return [scene.frame_current]
        start = self.frame_start if has_start else scene.frame_current
        end = self.frame_end if has_end else start
        if end < start:
            raise FlameError(f"the end frame ({end}) is before the start frame ({start})")
        return list(range(start, end + 1))

    def execute(self, context: Any) -> OperatorResult:
        obj = context.active_object
        if not heads.is_head(obj):
            self.report({"ERROR"}, "Select a FLAME head (the active object is not one)")
            return {"CANCELLED"}
        scene = context.scene
        try:
            frames = self._frames(scene)
            resolve_convention(self.space, self.convention)
            if self.space != "UV_OBJECT" and self.camera == "SCENE" and scene.camera is None:
                raise FlameError("the scene has no camera")
            paths: list[str] = []
            if self.filepath:
                given = bpy.path.abspath(self.filepath)
                if not os.path.basename(given) or os.path.isdir(given):
                    raise OSError(f"{self.filepath!r} is a folder, not a file name")
                extension = FORMATS[self.file_format][2]
                paths = [frame_path(self.filepath, f, len(frames) > 1, extension) for f in frames]
                for path in dict.fromkeys(paths):
                    check_path(path)
            result = self._render(context, frames, paths)
        except (FlameError, OSError) as exc:
            self.report({"ERROR"}, f"Cannot bake the normal map: {exc}")
            return {"CANCELLED"}
        image = store_image(f"{obj.name} {IMAGE_SUFFIX[self.space]}", result.image)
        show_image(context, image)
        where = f", saved {len(paths)} file(s)" if paths else ""
        self.report({"INFO"}, f"{image.name}: {image.size[0]} x {image.size[1]}{where}")
        return {"FINISHED"}

    def _render(self, context: Any, frames: list[int], paths: list[str]) -> NormalMap:
        scene = context.scene
        obj = context.active_object
        original = scene.frame_current
        wm = context.window_manager
        wm.progress_begin(0, len(frames))
        options = {
            "camera": self.camera, "space": self.space, "convention": self.convention,
            "background": self.background, "samples": self.samples, "size": (self.width, self.height),
            "padding": self.padding,
        }
        result = None
        try:
            with image_writer(self.file_format) if paths else _no_writer() as write:
                for i, frame in enumerate(frames):
                    if frame != scene.frame_current:
                        scene.frame_set(frame)
                    else:
                        evaluate.evaluate(obj)  # no-op unless the head is out of date
                    message = evaluate.error(obj)
                    if message:
                        raise FlameError(message)
                    result = render_head(obj, scene, **options)
                    if paths:
                        write(result.image, paths[i])
                    wm.progress_update(i + 1)
        finally:
            wm.progress_end()
            if scene.frame_current != original:
                scene.frame_set(original)
        assert result is not None
        return result


@contextmanager
def _no_writer() -> Iterator[Any]:
    yield None


CLASSES = (FLAME_OT_bake_normal_map,)
register, unregister = bpy.utils.register_classes_factory(CLASSES)
