"""Crafted files that attack the readers, and a sandbox to read them in.

:func:`run_isolated` reads a file in a child Python with its address space capped, so a segfault,
a hang or a memory bomb fails the calling test instead of killing pytest or the machine.
"""

from __future__ import annotations

import codecs
import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
#: The child's address-space cap: numpy and the reader fit in a few hundred MB.
MEMORY_CAP = 1 << 30


class Forged:
    """Pickles as ``func(*args)`` followed by ``BUILD state``: any reduce a hostile file can hold."""

    def __init__(self, func: Any, args: tuple, state: Any = None) -> None:
        self.func, self.args, self.state = func, args, state

    def __reduce__(self) -> tuple:
        if self.state is None:
            return self.func, self.args
        return self.func, self.args, self.state


def _reconstruct() -> Any:
    return np.zeros(0).__reduce__()[0]


def forged_dtype(spec: str, state: tuple) -> Forged:
    return Forged(np.dtype, (spec, False, True), state)


def forged_array(dtype: Any, shape: tuple, data: bytes) -> Forged:
    return Forged(_reconstruct(), (np.ndarray, (0,), b"b"), (1, shape, dtype, False, data))


def _zero_stride(shape: tuple) -> Forged:
    return Forged(np.ndarray, (shape, np.dtype("f8"), b"\0" * 8, 0, (0,) * len(shape)))


def attack_pickles(base: dict[str, Any] | None = None) -> dict[str, bytes]:
    """name -> a model pickle (``base`` arrays, the attack under ``v_template``) crafted to hurt a reader."""
    f8 = np.dtype("f8")
    base = dict(base or {})
    attacks: dict[str, Any] = {
        # object-holding flags on a float dtype: the data would be read as PyObject pointers
        "dtype_object_flags": forged_array(forged_dtype("f8", (3, "|", None, None, None, -1, -1, 63)), (60, 3),
                                           b"\x41" * 1440),
        # a structured dtype whose field lies past the item
        "field_offset_past_item": forged_array(
            forged_dtype("V8", (3, "|", None, ("a",), {"a": (f8, 4096)}, 8, 1, 16)), (60, 3), b"\0" * 1440),
        # a subarray larger than the item it is part of
        "subarray_larger_than_item": forged_array(
            forged_dtype("V8", (3, "|", (f8, (4096,)), None, None, 8, 1, 0)), (60, 3), b"\0" * 1440),
        # numpy.ndarray called with a foreign buffer and zero strides: 8 bytes seen as 10**9 floats
        "zero_stride_view": _zero_stride((10**9,)),
        # an item size of zero: any number of items in no bytes
        "zero_itemsize": forged_array(forged_dtype("S0", (3, "|", None, None, None, 0, 1, 0)), (10**12,), b""),
        # data shorter than the shape needs
        "short_data": forged_array(f8, (10**6,), b"\0" * 8),
        # a few bytes asking for 16 GB
        "bytearray_bomb": Forged(bytearray, (1 << 34,)),
        "bytes_bomb": Forged(bytes, (1 << 34,)),
        # a codec that takes quadratic time on long text
        "quadratic_codec": Forged(codecs.encode, ("".join(chr(0x100 + i) for i in range(10_000)), "punycode")),
        # a scalar whose bytes do not match its dtype
        "scalar_wrong_size": Forged(np.float64(0).__reduce__()[0], (f8, b"\0" * 3)),
        # complex numbers would lose their imaginary part
        "complex_array": np.array([1 + 2j, 3 - 1j]),
    }
    out = {name: pickle.dumps({**base, "v_template": value}, protocol=2) for name, value in attacks.items()}
    # a whole model of zero-stride arrays: a few hundred bytes that convert to gigabytes
    n = 10**7
    views = {"v_template": (n, 3), "shapedirs": (n, 3, 10), "posedirs": (n, 3, 36), "weights": (n, 5),
             "J_regressor": (5, n)}
    out["zero_stride_model"] = pickle.dumps({**base, **{k: _zero_stride(v) for k, v in views.items()}}, protocol=2)
    return out


_CHILD = textwrap.dedent(
    """
    import resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
    sys.setrecursionlimit(10000)
    import flame_core
    from flame_core.sequence import load_sequence
    reader = {{"model": flame_core.load_model, "sequence": load_sequence,
              "landmarks": flame_core.io.load_landmarks, "masks": flame_core.io.load_masks,
              "uvs": flame_core.io.load_uvs}}[sys.argv[1]]
    start = time.perf_counter()
    try:
        reader(sys.argv[2])
        outcome = "loaded"
    except flame_core.FlameError as exc:
        outcome = "FlameError " + type(exc).__name__ + ": " + str(exc)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(outcome.replace("\\n", " ") + "\\n" + str(peak) + " " + str(time.perf_counter() - start))
    """
)


def run_isolated(reader: str, path: Path, timeout: float = 60.0) -> tuple[str, int]:
    """``(outcome, peak RSS in kB)`` of reading ``path`` with ``reader`` in a capped child process.

    ``outcome`` is ``"loaded"`` or ``"FlameError <class>: <message>"``; anything else (another
    exception, a crash, a hang past ``timeout``) raises ``AssertionError`` with the child's output.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD.format(cap=MEMORY_CAP), reader, str(path)],
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"reading {path.name} with {reader} hung for {timeout} s") from None
    if done.returncode != 0:
        raise AssertionError(f"reading {path.name} with {reader} failed (exit {done.returncode}):\n"
                             f"{done.stdout}\n{done.stderr[-3000:]}")
    outcome, figures = done.stdout.strip().rsplit("\n", 1)
    return outcome, int(figures.split()[0])


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def oxigaf_json(frames: int = 2, **override: Any) -> dict[str, Any]:
    frame = {"shape": [0.1] * 10, "expression": [0.2] * 10, "pose": [0.0] * 15, "translation": [0.0] * 3}
    frame.update(override)
    return {"fps": 30, "frames": [dict(frame) for _ in range(frames)]}


def write_json(path: Path, doc: Any) -> Path:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path
