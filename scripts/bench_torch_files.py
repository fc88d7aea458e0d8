"""torch.save files read without torch: a large tensor archive, a DECA-style landmark file, a metrical-tracker
checkpoint folder (files written by the tests' torch-format writer).

    .venv/bin/python scripts/bench_torch_files.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))

import torch_writer as tw
from timing import measure

from flame_core.io import torch_files
from flame_core.io.landmark_files import load_landmarks
from flame_core.sequence import load_sequence

FRAMES = 300


def big_archive(folder: Path) -> tuple[Path, Path, int]:
    """64 MB of float32 tensors (two views of one storage, one transposed), zip and legacy."""
    values = np.random.default_rng(0).normal(size=(4096, 4096)).astype(np.float32)
    storage = tw.Storage.of(values)
    obj = {"full": tw.Tensor(storage, 0, (4096, 4096), (4096, 1)), "t": tw.Tensor(storage, 0, (64, 4096), (1, 4096))}
    zipped, legacy = folder / "big.pt", folder / "big_legacy.pt"
    zipped.write_bytes(tw.zip_bytes(obj, "big"))
    legacy.write_bytes(tw.legacy_bytes(obj))
    return zipped, legacy, values.nbytes


def deca_file(folder: Path) -> Path:
    rng = np.random.default_rng(1)
    data = {
        "static_lmk_faces_idx": rng.integers(0, 9976, 51), "static_lmk_bary_coords": rng.dirichlet(np.ones(3), 51),
        "dynamic_lmk_faces_idx": tw.embedded(rng.integers(0, 9976, (79, 17))),
        "dynamic_lmk_bary_coords": tw.embedded(rng.dirichlet(np.ones(3), (79, 17)).astype(np.float32)),
    }
    path = folder / "landmark_embedding.npy"
    path.write_bytes(tw.object_npy_bytes(data))
    return path


def checkpoints(folder: Path) -> Path:
    rng = np.random.default_rng(2)
    out = folder / "checkpoint"
    out.mkdir()
    six = np.array([[1.0, 0, 0, 0, 1, 0]], np.float32)
    for i in range(FRAMES):
        frame = {
            "flame": {"exp": rng.normal(size=(1, 100)).astype(np.float32), "shape": np.zeros((1, 300), np.float32),
                      "eyes": np.tile(six, (1, 2)), "jaw": six, "eyelids": np.zeros((1, 2), np.float32),
                      "tex": np.zeros((1, 140), np.float32), "sh": np.zeros((1, 9, 3), np.float32)},
            "opencv": {"R": np.diag([1.0, -1.0, -1.0])[None], "t": np.array([[0.0, 0.0, 1.0]]),
                       "K": np.array([[[2500.0, 0, 256], [0, 2500, 256], [0, 0, 1]]])},
            "img_size": np.array([512, 512]), "frame_id": f"{i:05d}", "global_step": i,
        }
        (out / f"{i:05d}.frame").write_bytes(tw.zip_bytes(frame, f"{i:05d}"))
    return out


def main() -> None:
    print(f"numpy {np.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        zipped, legacy, nbytes = big_archive(folder)
        for name, path in (("zip", zipped), ("legacy", legacy)):
            t = measure(lambda path=path: torch_files.load(path), 5)
            print(f"{name} archive, {nbytes / 2**20:.0f} MB of tensors: {t:.1f} "
                  f"({nbytes / 2**30 / (t.median_ms / 1e3):.2f} GB/s)")
        deca = deca_file(folder)
        print(f"DECA-layout landmark_embedding.npy: {measure(lambda: load_landmarks(deca), 30)}")
        frames = checkpoints(folder)
        print(f"metrical-tracker checkpoint folder, {FRAMES} .frame files: "
              f"{measure(lambda: load_sequence(frames), 3):.1f}")


if __name__ == "__main__":
    main()
