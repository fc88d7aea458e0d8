"""Mutation fuzzing of every reader: each mutated file must load or raise FlameError, quickly and in bounded memory.

:data:`TARGETS` is the table of ``(name, write, read)``: ``write(folder)`` writes a small valid file (or
folder) and returns its path, ``read(path)`` reads it with the project's reader. Add a format by adding
a row. Cases run in a worker process (address space capped, a per-case timeout), so a crash or a hang
is reported as a failure of the case that caused it instead of taking the runner down.

Run directly as a worker: ``python fuzz_readers.py --worker SEED TARGET START COUNT``; the test and
``scripts/fuzz_readers.py`` drive it through :func:`run_campaign`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
#: The worker's address-space cap and the time one case may take.
MEMORY_CAP = 1 << 30
CASE_SECONDS = 10


@dataclass(frozen=True)
class Target:
    name: str
    write: Callable[[Path], Path]
    read: Callable[[Path], Any]


def _targets() -> list[Target]:
    import synthetic as syn
    import torch_writer as tw

    import flame_core
    from flame_core.io import load_landmarks, load_masks, load_uvs, save_model
    from flame_core.ply import read_ply, write_ply
    from flame_core.sequence import FlameSequence, load_sequence, save_sequence

    def small_model() -> Any:
        return flame_core.demo_model(n_shape=3, n_expression=2)

    raw = syn.flame_arrays(n_verts=30, n_faces=40, n_shape=3, n_expr=2)

    def pkl(folder: Path) -> Path:
        return syn.write_flame_pkl(folder / "generic_model.pkl", raw)

    def modern_pkl(folder: Path) -> Path:
        import pickle

        path = folder / "model.pkl"
        path.write_bytes(pickle.dumps(raw, protocol=4))
        return path

    def saved(suffix: str) -> Callable[[Path], Path]:
        return lambda folder: save_model(small_model(), folder / f"model{suffix}")

    def sequence(suffix: str) -> Callable[[Path], Path]:
        def write(folder: Path) -> Path:
            rng = np.random.default_rng(0)
            params = flame_core.FlameParams(expression=rng.normal(size=(3, 5)), jaw=rng.normal(size=(3, 3)) * 0.1,
                                            shape=rng.normal(size=4))
            return save_sequence(FlameSequence(params, fps=25.0), folder / f"seq{suffix}")
        return write

    def frames(folder: Path) -> Path:
        out = folder / "frames"
        out.mkdir()
        for i in range(3):
            np.savez(out / f"{i:05d}.npz", expr=np.full(5, i / 10), rotation=np.zeros(3), fps=np.array(25.0))
        return out

    def ply(folder: Path) -> Path:
        rng = np.random.default_rng(0)
        path = folder / "points.ply"
        write_ply(path, rng.normal(size=(20, 3)), rng.normal(size=(20, 3)))
        return path

    def image(suffix: str) -> Callable[[Path], Path]:
        def write(folder: Path) -> Path:
            rng = np.random.default_rng(0)
            path = folder / f"image{suffix}"
            pixels = rng.random((6, 5, 4)).astype(np.float32)
            flame_core.write_png(path, (pixels * 255).astype(np.uint8)) if suffix == ".png" else \
                flame_core.write_exr(path, pixels)
            return path
        return write

    def torch_file(legacy: bool) -> Callable[[Path], Path]:
        def write(folder: Path) -> Path:
            rng = np.random.default_rng(0)
            values = {"expr": tw.Tensor.of(rng.normal(size=(3, 5)).astype(np.float32)),
                      "jaw_pose": tw.Tensor.of(rng.normal(size=(3, 3)) * 0.1), "shape": rng.normal(size=(4,))}
            path = folder / ("codes.tar" if legacy else "codes.pt")
            path.write_bytes(tw.legacy_bytes(values) if legacy else tw.zip_bytes(values, "codes"))
            return path
        return write

    def metrical(folder: Path) -> Path:
        out = folder / "checkpoint"
        out.mkdir()
        d6 = np.array([[1.0, 0, 0, 0, 1, 0]], np.float32)
        frame = {"flame": {"exp": tw.Tensor.of(np.full((1, 5), 0.1, np.float32)), "jaw": d6,
                           "eyes": np.tile(d6, 2), "eyelids": np.zeros((1, 2), np.float32)},
                 "opencv": {"R": np.eye(3)[None], "t": np.array([[0.0, 0.0, 1.0]]),
                            "K": np.array([[[500.0, 0, 256], [0, 500, 256], [0, 0, 1]]])},
                 "img_size": np.array([512, 512]), "frame_id": "00000"}
        (out / "00000.frame").write_bytes(tw.zip_bytes(frame, "00000"))
        return out

    def imavatar(folder: Path) -> Path:
        rng = np.random.default_rng(0)
        frames = [{"file_path": f"./image/{i}", "expression": rng.normal(size=50).round(3).tolist(),
                   "pose": [0.0] * 15, "world_mat": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, -4.0]]} for i in range(2)]
        path = folder / "flame_params.json"
        path.write_text(json.dumps({"frames": frames, "shape_params": [0.1] * 100,
                                    "intrinsics": [-2.2, 2.2, 0.5, 0.5]}))
        return path

    def deca_torch(folder: Path) -> Path:
        rng = np.random.default_rng(0)
        path = folder / "landmark_embedding.npy"
        faces = rng.integers(0, 40, (79, 17))
        path.write_bytes(tw.object_npy_bytes({
            "static_lmk_faces_idx": rng.integers(0, 40, 51), "static_lmk_bary_coords": rng.dirichlet(np.ones(3), 51),
            "dynamic_lmk_faces_idx": tw.embedded(faces),
            "dynamic_lmk_bary_coords": tw.embedded(rng.dirichlet(np.ones(3), (79, 17)).astype(np.float32)),
            "full_lmk_faces_idx": tw.embedded(rng.integers(0, 40, (1, 68))),
            "full_lmk_bary_coords": tw.embedded(rng.dirichlet(np.ones(3), (1, 68)).astype(np.float32)),
        }))
        return path

    return [
        Target("model-pkl-py2", pkl, flame_core.load_model),
        Target("model-pkl-protocol4", modern_pkl, flame_core.load_model),
        Target("model-npz", saved(".npz"), flame_core.load_model),
        Target("model-safetensors", saved(".safetensors"), flame_core.load_model),
        Target("model-npy-folder", saved(""), flame_core.load_model),
        Target("landmarks-static-pkl", lambda f: syn.write_static_embedding(f / "static.pkl", 40), load_landmarks),
        Target("landmarks-dynamic-npy", lambda f: syn.write_dynamic_embedding(f / "dynamic.npy", 40), load_landmarks),
        Target("landmarks-deca-npy", lambda f: syn.write_deca_embedding(f / "deca.npy", 40), load_landmarks),
        Target("masks-pkl", lambda f: syn.write_masks(f / "masks.pkl", 30), load_masks),
        Target("uvs-obj", _obj_writer(syn), load_uvs),
        Target("sequence-npz", sequence(".npz"), load_sequence),
        Target("sequence-json", sequence(".json"), load_sequence),
        Target("sequence-frames", frames, load_sequence),
        Target("points-ply", ply, read_ply),
        Target("image-png", image(".png"), flame_core.read_png),
        Target("image-exr", image(".exr"), flame_core.read_exr),
        Target("torch-zip", torch_file(False), load_sequence),
        Target("torch-legacy", torch_file(True), load_sequence),
        Target("sequence-metrical-tracker", metrical, load_sequence),
        Target("sequence-imavatar-json", imavatar, load_sequence),
        Target("landmarks-deca-torch-npy", deca_torch, load_landmarks),
    ]


def _obj_writer(syn: Any) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        rng = np.random.default_rng(0)
        faces = syn.random_faces(rng, 12, 10)
        uv, uv_faces = syn.uv_layout(faces)
        return syn.write_obj(folder / "head.obj", rng.normal(size=(12, 3)), faces, uv, uv_faces)
    return write


def _write_digits(folder: Path) -> Path:
    path = folder / "number.txt"
    path.write_text("12345678")
    return path


#: Not a reader: a target whose every mutation that breaks the number fails (checks the harness finds).
SELF_CHECK = Target("self-check", _write_digits, lambda path: int(path.read_text()))


# --------------------------------------------------------------------------- mutations
_INTERESTING = [0, 1, 0x7F, 0x80, 0xFF]
_INTERESTING_WIDE = [0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**63 - 1, 2**64 - 1, 3 << 30]


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """``data`` with one to four random mutations (bit flips, interesting values, splices, cuts, digits)."""
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        kind = int(rng.integers(0, 8))
        n = len(out)
        at = int(rng.integers(0, n)) if n else 0
        if kind == 0 and n:  # flip a bit
            out[at] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1 and n:  # an interesting byte
            out[at] = _INTERESTING[int(rng.integers(0, len(_INTERESTING)))]
        elif kind == 2 and n >= 8:  # an interesting 32- or 64-bit integer
            width = 8 if rng.random() < 0.5 else 4
            value = _INTERESTING_WIDE[int(rng.integers(0, len(_INTERESTING_WIDE)))] % (1 << (8 * width))
            at = min(at, n - width)
            out[at : at + width] = value.to_bytes(width, "little")
        elif kind == 3:  # insert random bytes
            out[at:at] = rng.integers(0, 256, int(rng.integers(1, 16)), dtype=np.uint8).tobytes()
        elif kind == 4 and n:  # delete a run
            del out[at : at + int(rng.integers(1, 64))]
        elif kind == 5 and n:  # duplicate a run
            size = int(rng.integers(1, 256))
            out[at:at] = out[at : at + size]
        elif kind == 6 and n:  # truncate
            del out[at:]
        elif kind == 7:  # a digit becomes a huge or negative number (text formats, npy headers)
            digits = [i for i in range(max(0, at - 4096), min(n, at + 4096)) if 48 <= out[i] <= 57]
            if digits:
                i = digits[int(rng.integers(0, len(digits)))]
                out[i : i + 1] = [b"-1", b"9" * 30, b"99999999999", b"1e308", b"-0"][int(rng.integers(0, 5))]
    return bytes(out)


def mutate_target(path: Path, rng: np.random.Generator) -> None:
    """Mutate the file at ``path`` in place (for a folder: one of its files, chosen at random).

    A zip archive (``.npz``) has, more often than not, one member mutated and the archive rewritten
    with valid checksums, so the mutation reaches the reader behind the zip layer.
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        path = files[int(rng.integers(0, len(files)))]
    data = path.read_bytes()
    if data.startswith(b"PK") and rng.random() < 0.7:
        path.write_bytes(_mutate_member(data, rng))
    else:
        path.write_bytes(mutate(_header_biased(data, rng), rng) if rng.random() < 0.3 else mutate(data, rng))


def _header_biased(data: bytes, rng: np.random.Generator) -> bytes:
    """Mutations near the start of the file, where headers live."""
    head = min(len(data), 256)
    return mutate(data[:head], rng) + data[head:]


def _mutate_member(data: bytes, rng: np.random.Generator) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        infos = zin.infolist()
        contents = [zin.read(info) for info in infos]
    chosen = int(rng.integers(0, len(infos)))
    member = contents[chosen]
    contents[chosen] = _header_biased(member, rng) if rng.random() < 0.6 else mutate(member, rng)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for info, content in zip(infos, contents):
            zout.writestr(info, content)
    return buf.getvalue()


# --------------------------------------------------------------------------- worker
def _alarm(signum: int, frame: Any) -> None:
    raise TimeoutError(f"case took more than {CASE_SECONDS} s")


def worker(seed: int, target_name: str, start: int, count: int) -> None:
    """Run cases ``start .. start+count-1`` of one target, printing ``START i`` and ``OK i`` / ``BAD i ...``."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    sys.path[:0] = [str(HERE), str(ROOT)]
    from flame_core import FlameError

    targets = [*_targets(), SELF_CHECK]
    target = next(t for t in targets if t.name == target_name)
    index = [t.name for t in targets].index(target_name)
    with tempfile.TemporaryDirectory() as tmp:
        base = target.write(Path(tmp))
        signal.signal(signal.SIGALRM, _alarm)
        for case in range(start, start + count):
            rng = np.random.default_rng([seed, index, case])
            work = Path(tmp) / "case"
            if work.exists():
                shutil.rmtree(work)
            work.mkdir()
            path = work / base.name
            if base.is_dir():
                shutil.copytree(base, path)
            else:
                shutil.copy(base, path)
            mutate_target(path, rng)
            print(f"START {case}", flush=True)
            signal.alarm(CASE_SECONDS)
            try:
                target.read(path)
                outcome = "OK"
            except FlameError as exc:
                text = str(exc)
                outcome = "BAD out of memory: " + text if "out of memory" in text else "OK"
            except BaseException as exc:  # the finding: any other exception
                outcome = "BAD " + "".join(traceback.format_exception_only(type(exc), exc)).strip()
                outcome += " | " + " < ".join(
                    f"{Path(f.filename).name}:{f.lineno}" for f in traceback.extract_tb(exc.__traceback__)[-4:])
            finally:
                signal.alarm(0)
            print(f"{outcome.split(' ', 1)[0]} {case} {outcome[3:].strip()}".replace("\n", " "), flush=True)


# --------------------------------------------------------------------------- driver
@dataclass
class Finding:
    target: str
    case: int
    problem: str


def run_target(seed: int, target: str, count: int, timeout: float = CASE_SECONDS + 20) -> tuple[int, list[Finding]]:
    """Run ``count`` cases of ``target`` in workers (restarted after a crash or hang); ``(cases run, findings)``."""
    findings: list[Finding] = []
    done = 0
    start = 0
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONPATH=f"{HERE}{os.pathsep}{ROOT}")
    while start < count:
        command = [sys.executable, str(Path(__file__)), "--worker", str(seed), target, str(start), str(count - start)]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        current = None
        try:
            out, err = proc.communicate(timeout=timeout + CASE_SECONDS * (count - start) / 4)
            lines = out.splitlines()
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            lines = out.splitlines()
            err = f"worker timed out: {err[-500:]}"
        for line in lines:
            word, _, rest = line.partition(" ")
            number, _, detail = rest.partition(" ")
            if word == "START":
                current = int(number)
            elif word in ("OK", "BAD"):
                done += 1
                current = None
                if word == "BAD":
                    findings.append(Finding(target, int(number), detail))
                start = int(number) + 1
        if current is not None:  # the worker died or hung inside this case
            done += 1
            problem = f"crashed or hung (exit {proc.returncode}): {err.strip()[-500:]}"
            findings.append(Finding(target, current, problem))
            start = current + 1
        elif proc.returncode != 0 and start < count:
            findings.append(Finding(target, start, f"worker failed (exit {proc.returncode}): {err.strip()[-800:]}"))
            break
    return done, findings


def run_campaign(seed: int, count: int, targets: list[str] | None = None, jobs: int = 2) -> tuple[int, list[Finding]]:
    """``count`` cases of every target (or of ``targets``), ``jobs`` targets at a time."""
    from concurrent.futures import ThreadPoolExecutor

    names = targets or target_names()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda name: run_target(seed, name, count), names))
    return sum(r[0] for r in results), [f for r in results for f in r[1]]


def target_names() -> list[str]:
    sys.path[:0] = [str(HERE), str(ROOT)]
    return [t.name for t in _targets()]


def replay(seed: int, target_name: str, case: int, folder: Path) -> Path:
    """Write the mutated file of one case into ``folder`` (to look at it, or to debug the reader)."""
    sys.path[:0] = [str(HERE), str(ROOT)]
    targets = _targets()
    target = next(t for t in targets if t.name == target_name)
    index = [t.name for t in targets].index(target_name)
    base = target.write(folder)
    mutate_target(base, np.random.default_rng([seed, index, case]))
    return base


if __name__ == "__main__" and len(sys.argv) == 6 and sys.argv[1] == "--worker":
    worker(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
elif __name__ == "__main__":
    print(json.dumps({"usage": "python fuzz_readers.py --worker SEED TARGET START COUNT"}))
