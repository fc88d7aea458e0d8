"""Sequence benchmarks: loading a 1000-frame VHAP npz and resampling it (median and best of repeats).

    PYTHONPATH=. python scripts/bench_sequence.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from flame_core.sequence import load_sequence, save_sequence

FRAMES = 1000
VERTICES = 5143  # FLAME with GaussianAvatars' teeth


def timed(fn: Callable[[], object], repeat: int = 30) -> tuple[float, float]:
    fn()  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, min(times) * 1e3


def vhap_file(folder: Path) -> Path:
    rng = np.random.default_rng(0)

    def f32(*shape: int) -> np.ndarray:
        return (rng.normal(size=shape) * 0.2).astype(np.float32)

    path = folder / "tracked_flame_params_30.npz"
    np.savez(
        path,
        shape=f32(300),
        expr=f32(FRAMES, 100),
        rotation=f32(FRAMES, 3),
        neck_pose=f32(FRAMES, 3),
        jaw_pose=f32(FRAMES, 3),
        eyes_pose=f32(FRAMES, 6),
        translation=f32(FRAMES, 3),
        static_offset=f32(1, VERTICES, 3),
        timestep_id=np.array([f"{i:05d}" for i in range(FRAMES)]),
    )
    return path


def frame_folder(folder: Path, frames: int) -> Path:
    rng = np.random.default_rng(1)
    out = folder / "flame_param"
    out.mkdir()
    shape = rng.normal(size=300).astype(np.float32)
    for i in range(frames):
        np.savez(
            out / f"{i:05d}.npz",
            shape=shape,
            expr=rng.normal(size=(1, 100)).astype(np.float32),
            rotation=np.zeros((1, 3), np.float32),
            neck_pose=np.zeros((1, 3), np.float32),
            jaw_pose=rng.normal(size=(1, 3)).astype(np.float32),
            eyes_pose=np.zeros((1, 6), np.float32),
            translation=np.zeros((1, 3), np.float32),
        )
    return out


def main() -> None:
    print(f"numpy {np.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = vhap_file(folder)
        med, best = timed(lambda: load_sequence(path))
        print(f"load VHAP npz, {FRAMES} frames (+ static_offset {VERTICES}x3): median {med:.2f} ms, best {best:.2f} ms")
        seq = load_sequence(path, fps=30)
        for fps in (24, 60):
            med, best = timed(lambda fps=fps: seq.resample(fps))
            n = len(seq.resample(fps))
            print(f"resample {FRAMES} frames 30 -> {fps} fps ({n} frames): median {med:.2f} ms, best {best:.2f} ms")
        out = folder / "out.npz"
        med, best = timed(lambda: save_sequence(seq, out), repeat=10)
        print(f"save npz: median {med:.2f} ms, best {best:.2f} ms")
        out_json = folder / "out.json"
        med, best = timed(lambda: save_sequence(seq, out_json), repeat=5)
        print(f"save JSON: median {med:.1f} ms, best {best:.1f} ms")
        med, best = timed(lambda: load_sequence(out_json), repeat=5)
        print(f"load JSON ({out_json.stat().st_size / 1e6:.1f} MB): median {med:.1f} ms, best {best:.1f} ms")
        frames = frame_folder(folder, FRAMES)
        med, best = timed(lambda: load_sequence(frames), repeat=5)
        print(f"load VHAP per-frame folder ({FRAMES} files): median {med:.1f} ms, best {best:.1f} ms")


if __name__ == "__main__":
    main()
