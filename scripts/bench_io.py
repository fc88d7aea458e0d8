"""Load times of a full-size synthetic FLAME model: official pickle vs npz vs safetensors vs npy folder.

    .venv/bin/python scripts/bench_io.py [--repeat 7]

Prints the best and median of several loads per format (float32, all 300 + 100 components) and,
for the pickle, with --n-shape 100 --n-expression 50.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic
from timing import Timing, measure

import flame_core
from flame_core.io import safetensors_io


def row(label: str, size: str, timing: Timing) -> str:
    return f"{label:34s} {size:>8s} {timing.best_ms:8.1f} {timing.median_ms:9.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw = synthetic.flame_arrays(n_verts=5023, n_faces=9976, seed=0)
        pkl = synthetic.write_flame_pkl(folder / "generic_model.pkl", raw)
        model = flame_core.load_model(pkl)
        paths = {
            "pkl (official layout)": pkl,
            "npz": flame_core.save_model(model, folder / "model.npz"),
            "safetensors": flame_core.save_model(model, folder / "model.safetensors"),
            "npy folder": flame_core.save_model(model, folder / "model_folder"),
        }
        print(f"numpy {np.__version__}; safetensors package: {'yes' if safetensors_io.library() else 'no'}")
        print(f"{'format':34s} {'size MB':>8s} {'best ms':>8s} {'median ms':>9s}")
        for name, path in paths.items():
            size = sum(p.stat().st_size for p in Path(path).rglob("*")) if Path(path).is_dir() else path.stat().st_size
            load = measure(lambda p=path: flame_core.load_model(p), args.repeat, warmup=0)
            print(row(name, f"{size / 1e6:.1f}", load))
        truncated = measure(lambda: flame_core.load_model(pkl, n_shape=100, n_expression=50), args.repeat, warmup=0)
        print(row("pkl, n_shape=100 n_expression=50", "", truncated))
        st = paths["safetensors"]
        for backend in ("numpy", "library"):
            if backend == "library" and safetensors_io.library() is None:
                continue
            read = measure(lambda b=backend: safetensors_io.read_safetensors(st, backend=b), args.repeat, warmup=0)
            print(row("safetensors read only, " + backend, "", read))


if __name__ == "__main__":
    main()
