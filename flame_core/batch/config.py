"""What a batch job does: :class:`BatchJob`, read from a TOML file and/or given directly.

A TOML file holds the same names as the fields (``outputs = ["normals", "mask"]``, ``size = 512`` or
``[640, 480]``, ``format = "png16"``...); :func:`load_job` reads it and applies overrides on top.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import FlameError

#: The outputs a job can ask for.
OUTPUTS = ("normals", "mask", "depth", "landmarks", "points")
FORMATS = {"png8": (".png", 8), "png16": (".png", 16), "exr": (".exr", 32)}


@dataclass(frozen=True)
class BatchJob:
    """A batch job: inputs, model, camera, outputs and how to run it.

    ``inputs``: sequence files or folders, glob patterns, or list files (``@list.txt``: one path per line,
    relative to the list). ``out``: the output folder (``OUT/<sequence>/...`` and ``OUT/manifest.jsonl``).
    ``model``: a model file, or None for the demo head. ``camera``: ``auto``, ``sequence``, ``front`` or a
    camera JSON (see :mod:`flame_core.batch.cameras`). ``outputs``: a subset of :data:`OUTPUTS`.
    ``format``: normal maps as ``png8``, ``png16`` or ``exr``; ``space``, ``convention``, ``samples``,
    ``background`` as in :func:`flame_core.render_normal_map`. ``points``/``seed``: bound point cloud size
    and seed. ``chunk``: frames per task. ``workers``: local processes (None: every core); ``dask``:
    ``"local"`` or a scheduler address (``tcp://host:8786``).
    """

    inputs: tuple[str, ...]
    out: str
    model: str | None = None
    n_shape: int | None = None
    n_expression: int | None = None
    camera: str = "auto"
    size: tuple[int, int] = (512, 512)
    outputs: tuple[str, ...] = ("normals",)
    format: str = "png16"
    space: str = "camera"
    convention: str | None = None
    samples: int = 1
    background: str = "transparent"
    points: int = 100_000
    seed: int = 0
    chunk: int = 32
    workers: int | None = None
    dask: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(str(p) for p in self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        object.__setattr__(self, "size", _size(self.size))
        if not self.inputs:
            raise FlameError("batch: no inputs; expected sequence files, folders, globs or @list files")
        unknown = sorted(set(self.outputs) - set(OUTPUTS))
        if unknown or not self.outputs:
            raise FlameError(f"batch outputs: expected some of {', '.join(OUTPUTS)}, found {list(self.outputs)}")
        if self.format not in FORMATS:
            raise FlameError(f"batch format: expected one of {', '.join(FORMATS)}, found {self.format!r}")
        for name in ("chunk", "samples", "points"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise FlameError(f"batch {name}: expected a positive integer, found {getattr(self, name)!r}")
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise FlameError(f"batch workers: expected a positive integer, found {self.workers!r}")
        if self.background not in ("transparent", "black", "neutral"):
            raise FlameError(f"batch background: expected transparent, black or neutral, found {self.background!r}")

    @property
    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1


def _size(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        value = (value, value)
    if isinstance(value, str):
        w, _, h = value.lower().partition("x")
        try:
            value = (int(w), int(h or w))
        except ValueError:
            raise FlameError(f"batch size: expected W or WxH in pixels, found {value!r}") from None
    try:
        size = (int(value[0]), int(value[1]))
    except (TypeError, ValueError, IndexError):
        raise FlameError(f"batch size: expected W, WxH or [W, H], found {value!r}") from None
    if min(size) < 1 or len(value) != 2:
        raise FlameError(f"batch size: expected two positive numbers, found {value!r}")
    return size


def load_job(config: str | Path | None = None, **overrides: Any) -> BatchJob:
    """A :class:`BatchJob` from a TOML file (optional) with ``overrides`` (those that are not None) on top.

    Relative paths in the file (inputs, out, model, a camera JSON) are taken relative to the file.
    """
    values: dict[str, Any] = {}
    if config is not None:
        path = Path(config)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise FlameError(f"{path}: not a readable TOML file ({exc})") from None
        known = {f.name for f in fields(BatchJob)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FlameError(f"{path}: unknown keys {unknown}; expected some of {sorted(known)}")
        base = path.parent
        for key in ("out", "model"):
            if isinstance(data.get(key), str):
                data[key] = str(base / data[key])
        if isinstance(data.get("camera"), str) and data["camera"].endswith(".json"):
            data["camera"] = str(base / data["camera"])
        if "inputs" in data:
            items = [data["inputs"]] if isinstance(data["inputs"], str) else list(data["inputs"])
            data["inputs"] = [_relative(str(p), base) for p in items]
        values.update(data)
    values.update({k: v for k, v in overrides.items() if v is not None})
    missing = [name for name in ("inputs", "out") if not values.get(name)]
    if missing:
        raise FlameError(f"batch: no {' or '.join(missing)} given (on the command line or in the config file)")
    try:
        return BatchJob(**values)
    except TypeError as exc:
        raise FlameError(f"batch: {exc}") from None


def _relative(item: str, base: Path) -> str:
    if item.startswith("@"):
        return "@" + str(base / item[1:])
    return str(base / item)


__all__ = ["FORMATS", "OUTPUTS", "BatchJob", "load_job"]
