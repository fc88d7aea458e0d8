"""Render the demo head's contact sheet and a strip of its normal maps into docs/.

    PYTHONPATH=. .venv/bin/python scripts/contact_sheet.py [--out docs] [--tile 200]

The sheet shows the head from the front, at three-quarter and in profile (columns) in six states
(rows): neutral, smile, jaw open, blink and two identities. The strip shows camera-space normal maps
of frames of the generated performance. Both are palette PNGs, well under 1 MB.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy
import numpy as np
from look_demo import VIEWS, colours, make_object, setup_scene
from mathutils import Euler
from PIL import Image, ImageDraw

from flame_core import Camera, FlameParams, demo_model, demo_sequence, render_normal_map
from flame_core.demo import EXPRESSION_NAMES


def states(n_shape: int, n_expression: int) -> dict[str, FlameParams]:
    """The rows of the sheet."""

    def expression(**values: float) -> np.ndarray:
        out = np.zeros(n_expression)
        for name, value in values.items():
            out[EXPRESSION_NAMES.index(name)] = value
        return out

    rng = np.random.default_rng(11)
    return {
        "neutral": FlameParams(),
        "smile": FlameParams(expression=expression(smile=2.0)),
        "jaw open": FlameParams(jaw=[0.35, 0.0, 0.0]),
        "blink": FlameParams(expression=expression(blink_left=1.0, blink_right=1.0)),
        "identity A": FlameParams(shape=rng.normal(size=n_shape) * 1.5),
        "identity B": FlameParams(shape=rng.normal(size=n_shape) * 1.5),
    }


def render_sheet(tile: int) -> Image.Image:
    model = demo_model()
    rgba = colours(model)
    camera, pivot = setup_scene(tile)
    camera.location = (0.0, -0.7, 0.0)  # closer than look_demo's full-head framing: the face fills the tile
    pivot.location.z = 0.0
    scene = bpy.context.scene
    scene.world = scene.world or bpy.data.worlds.new("World")
    label_w = 90
    rows = states(model.n_shape, model.n_expression)
    sheet = Image.new("RGB", (label_w + tile * len(VIEWS), tile * len(rows)), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    tmp = Path(bpy.app.tempdir or "/tmp") / "flame_contact_tile.png"
    for r, (name, params) in enumerate(rows.items()):
        obj = make_object(name, model.forward(params).vertices, model.faces, rgba)
        for c, angle in enumerate(VIEWS.values()):
            pivot.rotation_euler = Euler((0.0, 0.0, np.radians(angle)))
            scene.render.filepath = str(tmp)
            bpy.ops.render.render(write_still=True)
            sheet.paste(Image.open(tmp).convert("RGB"), (label_w + c * tile, r * tile))
        bpy.data.objects.remove(obj)
        draw.text((8, r * tile + tile // 2 - 6), name, fill=(230, 230, 230))
    tmp.unlink(missing_ok=True)
    return sheet


def normal_strip(count: int, size: int) -> Image.Image:
    """Camera-space normal maps of ``count`` frames of the generated performance, side by side."""
    model = demo_model()
    sequence = demo_sequence(frames=90, fps=30.0)
    frames = np.linspace(0, len(sequence) - 1, count).round().astype(int)
    vertices = model.forward(sequence.params).vertices
    camera = Camera.front(vertices[0], (size, size))
    strip = Image.new("RGB", (size * count, size), (128, 128, 255))
    for i, frame in enumerate(frames):
        image = render_normal_map(vertices[frame], model.faces, camera, convention="opengl", samples=4).image
        rgb = image[..., :3] * image[..., 3:] + np.array([0.5, 0.5, 1.0]) * (1.0 - image[..., 3:])
        strip.paste(Image.fromarray(np.round(rgb * 255).astype(np.uint8)), (i * size, 0))
    return strip


def save_small(image: Image.Image, path: Path) -> None:
    """A 256-colour PNG (shaded renders quantise well), so the docs stay small."""
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--tile", type=int, default=200, help="tile size in pixels (default 200)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    save_small(render_sheet(args.tile), args.out / "contact_sheet.png")
    save_small(normal_strip(6, args.tile), args.out / "normal_maps.png")


if __name__ == "__main__":
    main()
