"""Model loading and the in-memory model cache shared by every head.

A head names its model file in ``obj.flame.model_path``; empty means the file set in the
preferences, and when that is empty too, the built-in demo head. Loaded models are kept per
(file, modification time, shape count, expression count) so that several heads share one model and
an edited file is picked up again. A file that fails to load is remembered the same way (per
modification time), so panels and frame changes do not read a broken file again and again.
A companion file set in the preferences (landmarks, UVs, masks) that cannot be read is left out: the model
loads without it and :func:`companion_problems` tells what went wrong, for the preferences and the panel.
:func:`clear_cache` empties the cache (done on unregister).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

import numpy as np

from .. import flame_core
from ..flame_core import FlameError, FlameModel
from ..flame_core.io.model_files import attach

#: Cache key of the built-in demo head (no file).
DEMO = "<demo>"
#: Models kept in memory at once (full-size FLAME in float32 is about 25 MB).
CACHE_SIZE = 8

_cache: OrderedDict[tuple[Any, ...], FlameModel] = OrderedDict()
_failures: OrderedDict[tuple[Any, ...], FlameError | OSError] = OrderedDict()
#: Companion file -> why it was left out of the last model loaded with it.
_companion_problems: dict[str, str] = {}


class ModelNotFoundError(FlameError):
    """The model file a head or the preferences name does not exist."""


def resolve_path(path: str, preferences: Any | None = None) -> str:
    """The absolute model file for a head's ``model_path`` ('' = the preferences' file; '' again = demo).

    Paths relative to the .blend file (``//``) are made absolute."""
    if not path and preferences is not None:
        path = getattr(preferences, "model_path", "") or ""
    if not path:
        return ""
    import bpy  # deferred: keeps this module importable for type checks

    return os.path.normpath(bpy.path.abspath(path))


def _stamp(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        raise ModelNotFoundError(f"file not found: {path}") from None


#: Preference properties naming extra files, and the ``load_model`` keywords they feed.
EXTRA_FILES = (
    ("landmarks_path", "landmarks"), ("uv_path", "uvs"), ("masks_path", "masks"), ("eyelids_path", "eyelids"),
)


def extra_files(preferences: Any | None) -> dict[str, str]:
    """The landmark, UV, mask and eyelid files set in the preferences, as ``load_model`` keywords."""
    extras: dict[str, str] = {}
    if preferences is None:
        return extras
    for prop, keyword in EXTRA_FILES:
        value = getattr(preferences, prop, "") or ""
        if value:
            extras[keyword] = resolve_path(value)
    return extras


def _load(path: str, extras: dict[str, str], teeth: bool) -> FlameModel:
    """The whole model in a file (or the demo), float32, with the extra files that can be read attached
    (and VHAP's teeth when asked for)."""
    if not path:
        return flame_core.demo_model()
    model = flame_core.load_model(path, dtype=np.float32)
    for keyword, file in extras.items():
        try:
            if not os.path.exists(file):
                raise ModelNotFoundError(f"file not found: {file}")
            model = attach(model, **{keyword: file})  # type: ignore[arg-type]
        except (FlameError, OSError) as exc:
            _companion_problems[file] = str(exc) or type(exc).__name__
        else:
            _companion_problems.pop(file, None)
    if teeth:
        from ..flame_core.teeth import add_teeth

        model = add_teeth(model)
    return model


def companion_problems(preferences: Any | None) -> dict[str, str]:
    """Preference property -> why its companion file was left out of the model (only files with a problem)."""
    files = extra_files(preferences)
    return {prop: _companion_problems[files[keyword]] for prop, keyword in EXTRA_FILES
            if keyword in files and files[keyword] in _companion_problems}


def _companion_stamp(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def get_model(path: str, n_shape: int | None = None, n_expression: int | None = None,
              preferences: Any | None = None) -> FlameModel:
    """The model in ``path`` ('' = demo) truncated to at most ``n_shape``/``n_expression`` components.

    Counts above what the file holds are clamped to it. Raises :class:`ModelNotFoundError` for a
    missing file, :class:`FlameError` for a file that cannot be used and ``OSError`` for I/O errors.
    """
    extras = extra_files(preferences) if path else {}
    teeth = bool(path) and bool(getattr(preferences, "teeth", False))
    source = (path or DEMO, *sorted(extras.items()), teeth)
    stamp = (_stamp(path), *(_companion_stamp(p) for p in sorted(extras.values()))) if path else ()
    full_key = (source, stamp, None, None)
    full = _cache.get(full_key)
    if full is None:
        failure = _failures.get(full_key)
        if failure is not None:
            raise failure.with_traceback(None)
        try:
            full = _load(path, extras, teeth)
        except (FlameError, OSError) as exc:
            _failures[full_key] = exc
            while len(_failures) > CACHE_SIZE:
                _failures.popitem(last=False)
            raise
        _remember(full_key, full)
    n_s = full.n_shape if n_shape is None else max(0, min(int(n_shape), full.n_shape))
    n_e = full.n_expression if n_expression is None else max(0, min(int(n_expression), full.n_expression))
    if (n_s, n_e) == (full.n_shape, full.n_expression):
        _cache.move_to_end(full_key)
        return full
    key = (source, stamp, n_s, n_e)
    model = _cache.get(key)
    if model is None:
        model = full.truncated(n_s, n_e)
        _remember(key, model)
    else:
        _cache.move_to_end(key)
    return model


def _remember(key: tuple[Any, ...], model: FlameModel) -> None:
    _cache[key] = model
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)


def clear_cache() -> None:
    """Forget every loaded model and load failure (the next evaluation loads again)."""
    _cache.clear()
    _failures.clear()
    _companion_problems.clear()


def forget_failures() -> None:
    """Forget remembered load failures (the user picked a file or opened a .blend: try again)."""
    _failures.clear()


def cached_models() -> int:
    """How many models are in memory (full and truncated)."""
    return len(_cache)


def version_guess(model: FlameModel) -> str:
    """A short description of which FLAME release (or the demo) a model looks like."""
    meta = model.metadata
    for key in ("version", "flame_version", "release"):
        if meta.get(key):
            return meta[key]
    if model.source is None:
        return "built-in demo head (not FLAME)"
    return "unknown"
