"""Command line: ``python -m flame_core <command> ...`` (``--help`` on any command).

Each command is a function that parses nothing itself: :data:`COMMANDS` lists ``(name, help,
add_arguments, run)``; ``run(args)`` calls the public API and prints. Errors are reported as one
line on stderr with a non-zero exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from .camera import Camera
from .errors import FlameError
from .model import FlameModel

PROG = "python -m flame_core"
#: Argument limits, checked before any work: images up to 8192 pixels a side and 2**24 samples in all
#: (e.g. 4096 x 4096, or 2048 x 2048 with 4 samples per pixel); up to 10 million points; up to 256
#: samples per pixel.
MAX_IMAGE_SIDE = 8192
MAX_IMAGE_SAMPLES = 1 << 24
MAX_POINTS = 10_000_000
MAX_PIXEL_SAMPLES = 256


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _load(args: argparse.Namespace) -> FlameModel:
    """The model named by ``args.model`` (the demo model when absent), with the optional attachments."""
    from .io import attach, load_model

    extras: dict[str, Any] = {name: getattr(args, name, None) for name in ("landmarks", "uvs", "masks", "eyelids")}
    options: dict[str, Any] = {name: getattr(args, name, None) for name in ("n_shape", "n_expression")}
    options["dtype"] = np.dtype(getattr(args, "dtype", None) or "float32")
    if args.model is None:
        from .demo import demo_model

        model = demo_model()
        if options["n_shape"] is not None or options["n_expression"] is not None:
            model = model.truncated(options["n_shape"], options["n_expression"])
        if model.dtype != options["dtype"]:
            model = model.astype(options["dtype"])
        model = attach(model, **extras)
        if getattr(args, "teeth", False):
            from .teeth import add_teeth

            model = add_teeth(model)  # refused: the demo head's triangles are not FLAME's
        return model
    return load_model(args.model, **options, **extras, teeth=bool(getattr(args, "teeth", False)))


def _add_model_options(parser: argparse.ArgumentParser, optional_model: bool) -> None:
    if optional_model:
        parser.add_argument("model", nargs="?", help="model file or folder (default: the embedded demo model)")
    else:
        parser.add_argument("model", help="model file (.pkl, .npz, .safetensors) or npy folder")
    parser.add_argument("--landmarks", nargs="+", metavar="FILE",
                        help="landmark embedding file(s) to attach (static .pkl and/or dynamic .npy, ...)")
    parser.add_argument("--uvs", metavar="FILE", help="UV layout to attach (head_template.obj or FLAME_texture.npz)")
    parser.add_argument("--masks", metavar="FILE",
                        help="masks to attach (FLAME_masks.pkl, or per-triangle FLAME_masks_triangles.npy)")
    parser.add_argument("--eyelids", nargs="+", metavar="FILE",
                        help="eyelid blend shapes to attach (l_eyelid.npy [r_eyelid.npy], or their folder)")


def _add_loading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-shape", type=int, metavar="N", help="keep only the first N shape components")
    parser.add_argument("--n-expression", type=int, metavar="N", help="keep only the first N expression components")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="storage precision")
    parser.add_argument("--teeth", action="store_true", help="add VHAP's teeth (120 vertices; FLAME's mesh only)")


# --------------------------------------------------------------------------- info
def _info_arguments(parser: argparse.ArgumentParser) -> None:
    _add_model_options(parser, optional_model=True)


def describe(model: FlameModel) -> list[str]:
    """The lines ``info`` prints for ``model``."""
    meta = model.metadata
    lines = [
        f"source:      {model.source or meta.get('source', 'demo model')}",
        f"format:      {meta.get('format', 'in memory')}",
        f"version:     {meta.get('version', 'unknown')}",
        f"vertices:    {model.n_vertices}",
        f"faces:       {model.n_faces}",
        f"joints:      {model.n_joints}",
        f"shape:       {model.n_shape} components" + _of_file(meta, "n_shape_file", model.n_shape),
        f"expression:  {model.n_expression} components" + _of_file(meta, "n_expression_file", model.n_expression),
        f"dtype:       {model.dtype.name}",
    ]
    lmk = model.landmarks
    if lmk is None:
        lines.append("landmarks:   none")
    else:
        contour = f" (17 contour + {lmk.face_index.shape[0]} fixed)" if lmk.has_contour else ""
        lines.append(f"landmarks:   {lmk.count} {lmk.name}{contour}")
    uv_text = f"{len(model.uv_coords)} UV coordinates" if model.uv_coords is not None else "none"
    lines.append(f"uvs:         {uv_text}")
    lines.append("masks:       " + (", ".join(sorted(model.masks)) if model.masks else "none"))
    if model.face_masks:
        lines.append("face masks:  " + ", ".join(sorted(model.face_masks)))
    lines.append(f"eyelids:     {'yes' if model.has_eyelids else 'none'}")
    if model.n_added_vertices:
        lines.append(f"teeth:       {model.n_added_vertices} vertices")
    return lines


def _of_file(meta: dict[str, str], key: str, kept: int) -> str:
    stored = meta.get(key)
    return f" (of {stored} in the file)" if stored is not None and stored != str(kept) else ""


def _info(args: argparse.Namespace) -> int:
    print("\n".join(describe(_load(args))))
    return 0


# --------------------------------------------------------------------------- convert
def _convert_arguments(parser: argparse.ArgumentParser) -> None:
    _add_model_options(parser, optional_model=False)
    parser.add_argument("out", help="output: .npz, .safetensors, or a folder (no suffix) of .npy files")
    _add_loading_options(parser)


def _convert(args: argparse.Namespace) -> int:
    from .io import save_model

    model = _load(args)
    out = save_model(model, args.out)
    print(f"wrote {out} ({model.n_shape} shape, {model.n_expression} expression, {model.dtype.name})")
    return 0


# --------------------------------------------------------------------------- demo-model
def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="output: .npz, .safetensors, or a folder (no suffix) of .npy files")
    _add_loading_options(parser)


def _demo(args: argparse.Namespace) -> int:
    from .io import save_model

    args.model = None
    model = _load(args)
    out = save_model(model, args.out)
    print(f"wrote {out} (demo model, {model.n_vertices} vertices)")
    return 0


def _split_model(args: argparse.Namespace, names: tuple[str, ...]) -> None:
    """Positional ``[MODEL] A B ...``: the model is the optional first one."""
    paths = list(args.paths)
    if len(paths) not in (len(names), len(names) + 1):
        usage = " ".join(["[MODEL]", *(n.upper() for n in names)])
        raise FlameError(f"expected {usage}, got {len(paths)} paths")
    args.model = paths.pop(0) if len(paths) > len(names) else None
    for name, value in zip(names, paths):
        setattr(args, name, value)


def _progress(label: str) -> Callable[[int, int], None]:
    """A one-line progress bar on stderr."""

    def report(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        end = "\n" if done >= total else ""
        print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end, file=sys.stderr)

    return report


def _frames(spec: str | None, total: int) -> range:
    """``START:END[:STEP]`` (END exclusive, Python slice rules) over ``total`` frames; all by default."""
    if not spec:
        return range(total)
    try:
        parts = [int(p) if p else None for p in spec.split(":")]
        if len(parts) == 1:
            assert parts[0] is not None
            parts = [parts[0], parts[0] + 1]
        return range(total)[slice(*parts)]
    except (ValueError, AssertionError, TypeError):
        raise FlameError(f"--frames: expected START:END[:STEP] or a frame number, got {spec!r}") from None


# --------------------------------------------------------------------------- render
def _render_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="[MODEL] SEQUENCE OUTDIR",
                        help="model file (default: the embedded demo model), sequence file or folder, output folder")
    parser.add_argument("--size", default="512", metavar="W[xH]", help="image size in pixels (default 512)")
    parser.add_argument("--camera", default="front", metavar="front|FILE.json",
                        help="'front' frames every frame from the front; or a JSON file with OpenCV 'K' (3x3), "
                             "'R' (3x3), 't' (3) and optional 'width', 'height'")
    parser.add_argument("--space", choices=("camera", "world"), default="camera", help="normal space")
    parser.add_argument("--convention", default=None,
                        help="camera: opengl (default), opencv, scannet; world: flame (default), blender")
    parser.add_argument("--samples", type=int, default=1, help="samples per pixel (1, 4, 9, 16...)")
    parser.add_argument("--background", default="transparent", choices=("transparent", "black", "neutral"))
    parser.add_argument("--format", choices=("png8", "png16", "exr"), default="png8", help="image files to write")
    parser.add_argument("--frames", metavar="START:END[:STEP]", help="frames to render (default: all)")
    _add_loading_options(parser)
    parser.add_argument("--landmarks", nargs="+", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--uvs", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--masks", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--eyelids", nargs="+", metavar="FILE", help=argparse.SUPPRESS)


def _image_size(text: str, what: str = "--size") -> tuple[int, int]:
    try:
        w, _, h = text.lower().partition("x")
        if len(w) > 12 or len(h) > 12:
            raise ValueError
        size = (int(w), int(h or w))
    except ValueError:
        raise FlameError(f"{what}: expected W or WxH in pixels, got {text[:40]!r}") from None
    return _check_size(size, what)


def _check_size(size: tuple[int, int], what: str, samples: int = 1) -> tuple[int, int]:
    if min(size) < 1 or max(size) > MAX_IMAGE_SIDE:
        raise FlameError(f"{what}: each side must be 1..{MAX_IMAGE_SIDE} pixels, got {size[0]}x{size[1]}")
    if size[0] * size[1] * samples > MAX_IMAGE_SAMPLES:
        raise FlameError(f"{what}: {size[0]}x{size[1]} pixels with {samples} samples each is more than "
                         f"{MAX_IMAGE_SAMPLES} samples in all")
    return size


def _check_samples(samples: int) -> int:
    root = round(samples**0.5) if 0 < samples <= MAX_PIXEL_SAMPLES else 0
    if root * root != samples:
        raise FlameError(f"--samples: expected a square number of samples per pixel (1, 4, 9 ... "
                         f"{MAX_PIXEL_SAMPLES}), got {samples}")
    return samples


def _camera(spec: str, size: tuple[int, int], vertices: np.ndarray, samples: int = 1) -> Camera:
    import json

    from .io.files import MAX_JSON_BYTES, read_limited

    if spec == "front":
        return Camera.front(vertices, size)
    data = read_limited(spec, MAX_JSON_BYTES, "a camera file")
    try:
        doc = json.loads(data.decode("utf-8-sig"))
        if not isinstance(doc, dict):
            raise TypeError("not a JSON object")
        width, height = doc.get("width", size[0]), doc.get("height", size[1])
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (width, height)):
            raise TypeError(f"width and height must be integers, got {width!r} and {height!r}")
        size = _check_size((width, height), f"{spec}: width, height", samples)
        arrays = [np.asarray(doc[k], dtype=float) for k in ("K", "R", "t")]
        if arrays[0].shape != (3, 3) or arrays[1].shape != (3, 3) or arrays[2].size != 3:
            raise ValueError(f"K and R must be 3x3 and t 3 values, got {[a.shape for a in arrays]}")
        if not all(np.all(np.isfinite(a)) for a in arrays):
            raise ValueError("K, R and t must be finite numbers")
        return Camera.from_opencv(arrays[0], arrays[1], arrays[2].ravel().tolist(), size)
    except FlameError as exc:
        if spec in str(exc):
            raise
        raise FlameError(f"{spec}: {exc}") from None
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        raise FlameError(f"{spec}: not a camera file ('front' or JSON with K, R, t): "
                         f"{type(exc).__name__}: {_one_line(exc)[:200]}") from None


def _render(args: argparse.Namespace) -> int:
    from .render import render_normal_map
    from .sequence import load_sequence

    _split_model(args, ("sequence", "outdir"))
    samples = _check_samples(args.samples)
    size = _check_size(_image_size(args.size), "--size", samples)
    model = _load(args)
    seq = load_sequence(args.sequence)
    frames = _frames(args.frames, len(seq))
    if not frames:
        raise FlameError(f"--frames {args.frames!r} selects none of the {len(seq)} frames")
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    suffix, depth = {"png8": (".png", 8), "png16": (".png", 16), "exr": (".exr", 32)}[args.format]
    chunk = 64
    camera = None
    progress = _progress("rendering")
    for start in range(0, len(frames), chunk):
        batch = frames[start : start + chunk]
        part = seq[np.asarray(batch)]
        vertices = model.forward(part.params, **part.offsets).vertices
        if camera is None:  # one fixed camera for the whole sequence
            whole = seq[np.asarray(frames)]
            every = model.forward(whole.params, **whole.offsets).vertices if args.camera == "front" else vertices
            camera = _camera(args.camera, size, every, samples)
        for i, frame in enumerate(batch):
            image = render_normal_map(vertices[i], model.faces, camera, space=args.space, convention=args.convention,
                                      samples=args.samples, background=args.background)
            image.save(outdir / f"normal_{frame:05d}{suffix}", bit_depth=depth)
            progress(start + i + 1, len(frames))
    print(f"wrote {len(frames)} normal maps to {outdir}")
    return 0


# --------------------------------------------------------------------------- sample
def _sample_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="[MODEL] OUT.ply",
                        help="model file (default: the embedded demo model) and the PLY to write")
    parser.add_argument("-n", "--count", type=int, default=100_000, help="number of points (default 100000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--sequence", metavar="FILE", help="pose the head with a frame of this sequence")
    parser.add_argument("--frame", type=int, default=0, help="frame of --sequence to sample on (default 0)")
    parser.add_argument("--region", metavar="MASK", help="sample only this mask region (e.g. face)")
    parser.add_argument("--min-distance", type=float, metavar="M", help="even (blue-noise) spacing in metres")
    parser.add_argument("--bound", action="store_true",
                        help="write the triangle-bound GaussianAvatars layout with flame_param.npz beside it")
    _add_loading_options(parser)
    parser.add_argument("--landmarks", nargs="+", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--uvs", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--masks", metavar="FILE",
                        help="masks to attach (FLAME_masks.pkl, or per-triangle FLAME_masks_triangles.npy)")
    parser.add_argument("--eyelids", nargs="+", metavar="FILE", help=argparse.SUPPRESS)


def _sample(args: argparse.Namespace) -> int:
    from .binding import save_bound_points
    from .params import FlameParams
    from .ply import write_ply
    from .sampling import sample_surface
    from .sequence import load_sequence

    _split_model(args, ("out",))
    if not 1 <= args.count <= MAX_POINTS:
        raise FlameError(f"-n: expected a positive number of points (at most {MAX_POINTS}), got {args.count}")
    if not 0 <= args.seed < 2**63:
        raise FlameError(f"--seed: expected 0..2**63-1, got {args.seed}")
    if args.min_distance is not None and not (np.isfinite(args.min_distance) and args.min_distance > 0):
        raise FlameError(f"--min-distance: expected a positive distance in metres, got {args.min_distance}")
    model = _load(args)
    params = FlameParams()
    offsets: dict[str, np.ndarray] = {}
    if args.sequence:
        seq = load_sequence(args.sequence)
        if not -len(seq) <= args.frame < len(seq):
            raise FlameError(f"--frame {args.frame}: {args.sequence} has {len(seq)} frames")
        frame = seq[[args.frame % len(seq)]]
        params, offsets = frame.params[0], {k: v[0] if k == "dynamic_offset" else v for k, v in frame.offsets.items()}
    region = None
    if args.region:
        if args.region not in model.region_names:
            known = ", ".join(model.region_names) or "none"
            raise FlameError(f"--region {args.region!r}: the model has no such mask (masks: {known})")
        region = model.region(args.region)
    vertices = model.forward(params, static_offset=offsets.get("static_offset"),
                             dynamic_offset=offsets.get("dynamic_offset"), landmarks=False).vertices
    samples = sample_surface(vertices, model.faces, args.count, seed=args.seed, region=region,
                             min_distance=args.min_distance)
    if args.bound:
        ply, npz = save_bound_points(args.out, samples, vertices, model.faces, params, offsets=offsets)
        print(f"wrote {len(samples)} bound points to {ply} and parameters to {npz}")
    else:
        write_ply(args.out, samples.positions, samples.normals)
        print(f"wrote {len(samples)} points to {args.out}")
    return 0


# --------------------------------------------------------------------------- batch
def _batch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="SEQUENCE",
                        help="sequence files or folders, glob patterns, or @LIST files (one path per line)")
    parser.add_argument("-o", "--out", help="output folder: OUT/<sequence>/... and OUT/manifest.jsonl")
    parser.add_argument("--config", metavar="JOB.toml", help="a TOML file with any of these settings; flags override")
    parser.add_argument("--model", help="model file (default: the embedded demo head)")
    parser.add_argument("--n-shape", type=int, metavar="N", help="keep only the first N shape components")
    parser.add_argument("--n-expression", type=int, metavar="N", help="keep only the first N expression components")
    parser.add_argument("--camera", metavar="auto|sequence|front|FILE.json",
                        help="auto (default): the tracker's camera stored in the sequence, else a framing front "
                             "camera; sequence: the stored camera or an error; front; or a camera JSON")
    parser.add_argument("--outputs", metavar="LIST",
                        help="comma-separated: normals, mask, depth, landmarks, points (default: normals)")
    parser.add_argument("--size", metavar="W[xH]", help="image size in pixels (default 512)")
    parser.add_argument("--format", choices=("png8", "png16", "exr"), help="normal maps (default png16)")
    parser.add_argument("--space", choices=("camera", "world"), help="normal space (default camera)")
    parser.add_argument("--convention", help="camera: opengl (default), opencv, scannet; world: flame, blender")
    parser.add_argument("--samples", type=int, help="samples per pixel (1, 4, 9, 16...)")
    parser.add_argument("--background", choices=("transparent", "black", "neutral"))
    parser.add_argument("--points", type=int, metavar="N", help="bound points per sequence (default 100000)")
    parser.add_argument("--seed", type=int, help="seed of the point sampling (default 0)")
    parser.add_argument("--chunk", type=int, metavar="FRAMES", help="frames per task (default 32)")
    parser.add_argument("--workers", type=int, metavar="N", help="worker processes (default: every core)")
    parser.add_argument("--dask", metavar="local|tcp://HOST:PORT",
                        help="run on Dask: a LocalCluster of --workers processes, or a running scheduler")
    parser.add_argument("--quiet", action="store_true", help="no progress line (the summary is still printed)")


def _batch(args: argparse.Namespace) -> int:
    from .batch import load_job, run_batch

    overrides = {name: getattr(args, name) for name in (
        "out", "model", "n_shape", "n_expression", "camera", "size", "format", "space", "convention", "samples",
        "background", "points", "seed", "chunk", "workers", "dask")}
    overrides["inputs"] = args.inputs or None
    if args.outputs:
        overrides["outputs"] = [part.strip() for part in args.outputs.split(",") if part.strip()]
    job = load_job(args.config, **overrides)
    summary = run_batch(job, progress=not args.quiet)
    for where, error in summary.failures[:20]:
        print(f"  failed: {where}: {error}", file=sys.stderr)
    if len(summary.failures) > 20:
        print(f"  ... and {len(summary.failures) - 20} more (see {job.out}/manifest.jsonl)", file=sys.stderr)
    print(summary.line(), file=sys.stderr)
    return summary.exit_code


Command = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]

#: The subcommands: (name, one-line help, add_arguments(parser), run(args) -> exit status).
COMMANDS: list[Command] = [
    ("info", "print a model's sizes, dtype, version and attachments", _info_arguments, _info),
    ("convert", "convert a model to .npz, .safetensors or an npy folder", _convert_arguments, _convert),
    ("demo-model", "save the embedded demo model", _demo_arguments, _demo),
    ("render", "render a sequence to one normal map per frame", _render_arguments, _render),
    ("sample", "sample points on the head surface into a PLY point cloud", _sample_arguments, _sample),
    ("batch", "turn many sequences into per-frame maps, landmarks and bound points, in parallel",
     _batch_arguments, _batch),
]


def build_parser() -> argparse.ArgumentParser:
    description = "The FLAME head model in numpy: inspect and convert models, render normal maps, sample points."
    parser = _Parser(prog=PROG, description=description)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, help_text, add_arguments, run in COMMANDS:
        command = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        add_arguments(command)
        command.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 on success)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error (already printed)
        return int(exc.code or 0)
    try:
        return args.run(args)
    except (FlameError, OSError) as exc:
        message = _one_line(exc)
    except NotImplementedError as exc:
        message = f"not available yet ({exc or 'not implemented'})"
    except MemoryError:
        message = "out of memory (the input or the arguments ask for too much)"
    except RecursionError:
        message = "input nested too deeply"
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last resort: still one line, never a traceback
        message = f"internal error ({type(exc).__name__}: {_one_line(exc)})"
    print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
    return 1


def _one_line(exc: BaseException, most: int = 2000) -> str:
    try:
        text = str(exc) if not isinstance(exc, OSError) or not exc.filename else f"{exc.filename}: {exc.strerror}"
    except Exception:
        text = type(exc).__name__
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 3] + "..."


__all__ = ["COMMANDS", "build_parser", "describe", "main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
