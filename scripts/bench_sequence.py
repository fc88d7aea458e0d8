"""Sequence benchmarks: loading a 1000-frame VHAP npz and resampling it (best and median of repeats).

    .venv/bin/python scripts/bench_sequence.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import measure

from flame_core.sequence import load_sequence, save_sequence

FRAMES = 1000
VERTICES = 5143  # FLAME with GaussianAvatars' teeth


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
        load = measure(lambda: load_sequence(path), 30)
        print(f"load VHAP npz, {FRAMES} frames (+ static_offset {VERTICES}x3): {load}")
        seq = load_sequence(path, fps=30)
        for fps in (24, 60):
            resample = measure(lambda fps=fps: seq.resample(fps), 30)
            print(f"resample {FRAMES} frames 30 -> {fps} fps ({len(seq.resample(fps))} frames): {resample}")
        out = folder / "out.npz"
        print(f"save npz: {measure(lambda: save_sequence(seq, out), 10)}")
        out_json = folder / "out.json"
        print(f"save JSON: {measure(lambda: save_sequence(seq, out_json), 5):.1f}")
        load_json = measure(lambda: load_sequence(out_json), 5)
        print(f"load JSON ({out_json.stat().st_size / 1e6:.1f} MB): {load_json:.1f}")
        frames = frame_folder(folder, FRAMES)
        print(f"load VHAP per-frame folder ({FRAMES} files): {measure(lambda: load_sequence(frames), 5):.1f}")


if __name__ == "__main__":
    main()
