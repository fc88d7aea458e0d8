"""Command line: ``python -m flame_core <command> ...`` (``--help`` on any command).

Each command is a function that parses nothing itself: :data:`COMMANDS` lists ``(name, help,
add_arguments, run)``; ``run(args)`` calls the public API and prints. Errors are reported as one
line on stderr with a non-zero exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

from .errors import FlameError
from .model import FlameModel

PROG = "python -m flame_core"


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _load(args: argparse.Namespace) -> FlameModel:
    """The model named by ``args.model`` (the demo model when absent), with the optional attachments."""
    from .io import attach, load_model

    extras: dict[str, Any] = {name: getattr(args, name, None) for name in ("landmarks", "uvs", "masks")}
    options: dict[str, Any] = {name: getattr(args, name, None) for name in ("n_shape", "n_expression")}
    options["dtype"] = np.dtype(getattr(args, "dtype", None) or "float32")
    if args.model is None:
        from .demo import demo_model

        model = demo_model()
        if options["n_shape"] is not None or options["n_expression"] is not None:
            model = model.truncated(options["n_shape"], options["n_expression"])
        if model.dtype != options["dtype"]:
            model = model.astype(options["dtype"])
        return attach(model, **extras)
    return load_model(args.model, **options, **extras)


def _add_model_options(parser: argparse.ArgumentParser, optional_model: bool) -> None:
    if optional_model:
        parser.add_argument("model", nargs="?", help="model file or folder (default: the embedded demo model)")
    else:
        parser.add_argument("model", help="model file (.pkl, .npz, .safetensors) or npy folder")
    parser.add_argument("--landmarks", nargs="+", metavar="FILE",
                        help="landmark embedding file(s) to attach (static .pkl and/or dynamic .npy, ...)")
    parser.add_argument("--uvs", metavar="FILE", help="UV layout to attach (head_template.obj or FLAME_texture.npz)")
    parser.add_argument("--masks", metavar="FILE", help="vertex masks to attach (FLAME_masks.pkl)")


def _add_loading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-shape", type=int, metavar="N", help="keep only the first N shape components")
    parser.add_argument("--n-expression", type=int, metavar="N", help="keep only the first N expression components")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="storage precision")


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


Command = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]

#: The subcommands: (name, one-line help, add_arguments(parser), run(args) -> exit status).
COMMANDS: list[Command] = [
    ("info", "print a model's sizes, dtype, version and attachments", _info_arguments, _info),
    ("convert", "convert a model to .npz, .safetensors or an npy folder", _convert_arguments, _convert),
    ("demo-model", "save the embedded demo model", _demo_arguments, _demo),
]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="The FLAME head model in numpy: inspect and convert model files.")
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
        print(f"{PROG} {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except NotImplementedError as exc:
        print(f"{PROG} {args.command}: error: not available yet ({exc or 'not implemented'})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    text = str(exc) if not isinstance(exc, OSError) or not exc.filename else f"{exc.filename}: {exc.strerror}"
    return " ".join(text.split())


__all__ = ["COMMANDS", "build_parser", "describe", "main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
