"""Render the demo head with Blender's Workbench engine to look at it.

    PYTHONPATH=. .venv/bin/python scripts/look_demo.py OUTDIR [--size 360] [--only neutral,smile]

Writes one PNG per pose into OUTDIR (front, three-quarter and profile views side by side).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import bpy
import numpy as np
from mathutils import Euler, Vector
from PIL import Image

from flame_core import FlameParams, demo_model
from flame_core.demo import EXPRESSION_NAMES
from flame_core.demo_parts.assemble import build_template

VIEWS = {"front": 0.0, "three_quarter": 35.0, "profile": 90.0}


def poses(model) -> dict[str, FlameParams]:
    """Named parameter sets to look at."""
    expr = {name: i for i, name in enumerate(EXPRESSION_NAMES)}

    def e(**values: float) -> np.ndarray:
        out = np.zeros(model.n_expression)
        for name, value in values.items():
            out[expr[name]] = value
        return out

    def s(index: int, value: float) -> np.ndarray:
        out = np.zeros(model.n_shape)
        out[index] = value
        return out

    rng = np.random.default_rng(7)
    return {
        "neutral": FlameParams(),
        "jaw_open": FlameParams(jaw=[0.3, 0.0, 0.0]),
        "smile": FlameParams(expression=e(smile=2.0)),
        "expressions": FlameParams(expression=e(brows_raise=2.0, mouth_open=1.5, pucker=1.0)),
        "frown": FlameParams(expression=e(frown=2.0, brows_lower=2.0)),
        "eyes_closed": FlameParams(expression=e(blink_left=1.0, blink_right=1.0)),
        "eyes_look": FlameParams(eyes=[0.0, 0.4, 0.0, 0.0, 0.4, 0.0]),
        "shape_plus2": FlameParams(shape=np.full(10, 2.0)),
        "shape_minus2": FlameParams(shape=np.full(10, -2.0)),
        "shape_random": FlameParams(shape=rng.normal(size=300) * 1.5, expression=rng.normal(size=100)),
        "head_turned": FlameParams(neck=[0.15, 0.6, 0.0], jaw=[0.2, 0.0, 0.0]),
    }


def colours(model) -> np.ndarray:
    """Per-vertex RGBA: skin, lips, a dark mouth cavity, white eyeballs with a dark iris at the front pole."""
    rgba = np.tile([0.8, 0.62, 0.52, 1.0], (model.n_vertices, 1))
    masks = model.masks
    cavity = build_template().skin.cavity
    rgba[: len(cavity)][cavity] = [0.3, 0.08, 0.08, 1.0]
    rgba[masks.get("lips", [])] = [0.7, 0.35, 0.35, 1.0]
    for side in ("left_eyeball", "right_eyeball"):
        idx = masks.get(side, np.zeros(0, int))
        rgba[idx] = [0.95, 0.95, 0.95, 1.0]
        if len(idx):
            v = model.v_template[idx]
            centre = v.mean(axis=0)
            front = (v - centre)[:, 2] / np.linalg.norm(v - centre, axis=1)
            rgba[idx[front > 0.8]] = [0.25, 0.35, 0.55, 1.0]
            rgba[idx[front > 0.95]] = [0.02, 0.02, 0.02, 1.0]
    return rgba


def make_object(name: str, vertices: np.ndarray, faces: np.ndarray, rgba: np.ndarray) -> bpy.types.Object:
    mesh = bpy.data.meshes.new(name)
    # FLAME is Y-up, Blender is Z-up: (x, y, z) -> (x, -z, y).
    verts = np.stack([vertices[:, 0], -vertices[:, 2], vertices[:, 1]], 1)
    mesh.vertices.add(len(verts))
    mesh.vertices.foreach_set("co", verts.astype(np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.astype(np.int32).ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(len(faces), 3, dtype=np.int32))
    mesh.update()
    mesh.validate()
    mesh.polygons.foreach_set("use_smooth", np.ones(len(faces), dtype=bool))
    attr = mesh.color_attributes.new("colour", "FLOAT_COLOR", "POINT")
    attr.data.foreach_set("color", rgba.astype(np.float32).ravel())
    mesh.color_attributes.active_color = attr
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def setup_scene(size: int) -> tuple[bpy.types.Object, bpy.types.Object]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.film_transparent = False
    shading = scene.display.shading
    shading.light = "STUDIO"
    shading.color_type = "VERTEX"
    shading.show_cavity = True
    shading.show_specular_highlight = True
    shading.show_backface_culling = False
    cam_data = bpy.data.cameras.new("cam")
    cam_data.lens = 85.0
    cam = bpy.data.objects.new("cam", cam_data)
    scene.collection.objects.link(cam)
    scene.camera = cam
    pivot = bpy.data.objects.new("pivot", None)
    scene.collection.objects.link(pivot)
    cam.parent = pivot
    cam.location = (0.0, -0.95, 0.0)
    cam.rotation_euler = Euler((np.pi / 2, 0.0, 0.0))
    pivot.location = Vector((0.0, 0.0, -0.005))
    return cam, pivot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--size", type=int, default=360)
    parser.add_argument("--only", default="", help="comma-separated pose names")
    args = parser.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    model = demo_model()
    rgba = colours(model)
    _, pivot = setup_scene(args.size)
    scene = bpy.context.scene
    wanted = [n for n in args.only.split(",") if n]
    for name, params in poses(model).items():
        if wanted and name not in wanted:
            continue
        vertices = model.forward(params).vertices
        obj = make_object(name, vertices, model.faces, rgba)
        tiles = []
        for view, angle in VIEWS.items():
            pivot.rotation_euler = Euler((0.0, 0.0, np.radians(angle)))
            path = args.outdir / f"_{name}_{view}.png"
            scene.render.filepath = str(path)
            bpy.ops.render.render(write_still=True)
            tiles.append(Image.open(path).convert("RGB"))
            path.unlink()
        sheet = Image.new("RGB", (args.size * len(tiles), args.size))
        for i, tile in enumerate(tiles):
            sheet.paste(tile, (i * args.size, 0))
        sheet.save(args.outdir / f"{name}.png")
        bpy.data.objects.remove(obj)
        print("wrote", args.outdir / f"{name}.png")


if __name__ == "__main__":
    main()
