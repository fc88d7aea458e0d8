"""The headless demo on the built-in head: everything the extension makes, from one command.

    .venv/bin/python scripts/demo.py [--out out/demo] [--frames 90] [--size 512] [--points 100000]
    blender -b --python scripts/demo.py -- [same options]

A generated performance (talking, blinking, looking around) is keyframed onto a FLAME head in Blender;
the script then bakes normal maps, samples point clouds, renders a preview and saves the .blend. Every
step goes through the extension's operators, as a script of a user's would.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import blender_session


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    parser.add_argument("--frames", type=int, default=90, help="frames of animation (default 90, 30 fps)")
    parser.add_argument("--size", type=int, default=512, help="normal map size in pixels (default 512)")
    parser.add_argument("--points", type=int, default=100_000, help="points to sample (default 100000)")
    parser.add_argument("--preview", default=None, help="also copy the preview image here (e.g. docs/preview.png)")
    return parser.parse_args(argv)


def run(op, **kwargs) -> None:
    """Call an operator; stop with its report when it does not finish."""
    result = op(**kwargs)
    if result != {"FINISHED"}:
        raise SystemExit(f"{op.idname_py()} did not finish: {result}")


def main() -> None:
    argv, extension = blender_session.start()
    args = parse(argv)
    import bpy

    fc = extension.flame_core
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def step(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {text}", flush=True)

    sequence = fc.save_sequence(fc.demo_sequence(frames=args.frames, fps=30.0), out / "sequence.npz")
    step(f"generated a {args.frames}-frame performance: {sequence}")

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    run(bpy.ops.flame.add_head)
    head = bpy.context.object
    run(bpy.ops.flame.import_sequence, filepath=str(sequence), frame_start=1, fps_mode="SCENE")
    step(f"keyframed it onto {head.name!r}: frames {scene.frame_start}-{scene.frame_end}")

    run(bpy.ops.flame.bake_normal_map, camera="FRONT", space="CAMERA", convention="OPENGL",
        width=args.size, height=args.size, frame_start=scene.frame_start, frame_end=scene.frame_end,
        filepath=str(out / "normals" / "normal_####.png"), file_format="PNG8")
    step(f"baked {args.frames} normal maps into {out / 'normals'}")

    scene.frame_set(1)
    run(bpy.ops.flame.sample_points, count=args.points, seed=0, bind=True)
    points = bpy.context.object
    run(bpy.ops.flame.export_points, filepath=str(out / "points.ply"), layout="3DGS", axes="FLAME", frame=1)
    (out / "bound").mkdir(exist_ok=True)
    run(bpy.ops.flame.export_points, filepath=str(out / "bound" / "points.ply"), layout="BOUND", frame=1)
    step(f"sampled {args.points} bound points; wrote points.ply and bound/points.ply + flame_param.npz")

    frame = _smiling_frame(fc, sequence)
    preview = render_preview(bpy, fc, extension.flame_addon, head, points, out / "preview.png", frame)
    step(f"rendered the preview {preview}")
    if args.preview:
        Path(args.preview).parent.mkdir(parents=True, exist_ok=True)
        Path(args.preview).write_bytes(preview.read_bytes())

    scene.frame_set(1)
    bpy.context.view_layer.objects.active = head
    bpy.ops.wm.save_as_mainfile(filepath=str(out / "demo.blend"))
    step(f"saved {out / 'demo.blend'}")
    print(f"done: everything is in {out}")


def _smiling_frame(fc, sequence: Path) -> int:
    """The scene frame where the performance smiles most with its eyes open (a friendly preview)."""
    expression = fc.load_sequence(sequence).params.values("expression")
    names = fc.demo.EXPRESSION_NAMES
    score = expression[:, names.index("smile")] - 2.0 * expression[:, names.index("blink_left")]
    return int(score.argmax()) + 1


def render_preview(bpy, fc, addon, head, points, path: Path, frame: int) -> Path:
    """At ``frame``: a Workbench render of the head and its point cloud, beside the head's normal map."""
    import math

    import numpy as np

    scene = bpy.context.scene
    scene.frame_set(frame)
    height = 486
    points.location.x = 0.22  # beside the head (points are the head's child, in its space)
    camera_data = bpy.data.cameras.new("Preview Camera")
    camera = bpy.data.objects.new("Preview Camera", camera_data)
    scene.collection.objects.link(camera)
    camera.location = (0.11, -0.95, 0.0)
    camera.rotation_euler = (math.radians(90), 0.0, 0.0)
    scene.camera = camera
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "STUDIO"
    scene.display.shading.show_cavity = True
    scene.render.resolution_x, scene.render.resolution_y = 864, height
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = True
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    scene.render.filepath = str(path)
    try:
        bpy.ops.render.render(write_still=True)
    finally:
        points.location.x = 0.0
        bpy.data.objects.remove(camera)
        bpy.data.cameras.remove(camera_data)

    shaded = fc.read_png(path).astype(np.float32) / 255.0
    used = np.flatnonzero(shaded[..., 3].max(axis=0) > 0)  # crop the empty columns, keep a margin
    shaded = shaded[:, max(used[0] - 40, 0) : used[-1] + 40]
    model = addon.heads.model_for(head)
    vertices = model.forward(addon.evaluate.head_params(head)).vertices
    normals = fc.render_normal_map(vertices, model.faces, fc.Camera.front(vertices, (height, height)), samples=4)
    canvas = np.ones((height, shaded.shape[1] + height, 3), dtype=np.float32)
    for image, x in ((shaded, 0), (normals.image, shaded.shape[1])):
        alpha = image[..., 3:4]
        region = canvas[:, x : x + image.shape[1]]
        region[:] = image[..., :3] * alpha + region * (1.0 - alpha)
    fc.write_png(path, np.round(canvas * 255).astype(np.uint8))
    return path


if __name__ == "__main__":
    blender_session.run(main, "demo")
