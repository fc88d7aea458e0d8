"""Planning a batch into tasks, and running one task (in whichever process the engine chose).

A sequence gives ``ceil(T / chunk)`` *frames* tasks (per-frame images, per-chunk point positions) and, when
landmarks or point clouds are asked for, one *sequence* task (files written once per sequence). A task
carries only names and numbers; the worker loads the model and the sequence itself and keeps them for the
next task of the same sequence, so no image of a whole sequence is ever held.
"""

from __future__ import annotations

import glob
import shutil
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass
from os import getpid
from pathlib import Path
from typing import Any

import numpy as np

from ..camera import Camera
from ..errors import FlameError
from ..model import FlameModel
from ..sampling import SurfaceSamples
from ..sequence import FlameSequence
from .cameras import framing_camera, sequence_cameras
from .config import FORMATS, BatchJob
from .outputs import TMP_MARK, npy_bytes, npz_bytes, write_atomic

_SEQUENCE_SUFFIXES = (".npz", ".npy", ".json", ".pkl", ".pt", ".pth")
_FORWARD_CHUNK = 256


@dataclass(frozen=True)
class Task:
    """One unit of work: frames ``start..stop-1`` of a sequence, or (``kind="sequence"``) its per-sequence files."""

    sequence: str
    source: str
    kind: str
    start: int
    stop: int

    @property
    def id(self) -> str:
        if self.kind == "sequence":
            return f"{self.sequence}:sequence"
        return f"{self.sequence}:frames:{self.start:05d}-{self.stop:05d}"

    @property
    def frames(self) -> int:
        return self.stop - self.start if self.kind == "frames" else 0


@dataclass(frozen=True)
class SequenceFailure:
    """A sequence that could not be planned (unreadable, empty, not for this model)."""

    sequence: str
    source: str
    error: str


# ------------------------------------------------------------------------------------------ discovery
def discover(inputs: tuple[str, ...]) -> list[tuple[str, Path]]:
    """(name, path) of every sequence the inputs name; names are paths relative to the inputs' common folder,
    without suffix, so ``OUT/<name>/`` is unique per sequence."""
    paths: list[Path] = []
    for item in inputs:
        if item.startswith("@"):
            listing = Path(item[1:])
            try:
                lines = listing.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise FlameError(f"{listing}: cannot read the list of sequences ({exc.strerror})") from None
            entries = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
            paths += [p if p.is_absolute() else listing.parent / p for p in map(Path, entries)]
        elif glob.has_magic(item):
            paths += [Path(p) for p in sorted(glob.glob(item, recursive=True))]
        elif Path(item).is_dir() and not _is_sequence_folder(Path(item)):
            paths += sorted(p for p in Path(item).iterdir()
                            if (p.is_dir() or p.suffix.lower() in _SEQUENCE_SUFFIXES) and not p.name.startswith("."))
        else:
            paths.append(Path(item))
    unique = list(dict.fromkeys(p.resolve() for p in paths))
    if not unique:
        raise FlameError(f"batch: the inputs {list(inputs)} name no sequence files")
    root = Path(_common_folder(unique))
    named = []
    for path in unique:
        rel = path.relative_to(root) if path != root else Path(path.name)
        name = rel.with_suffix("").as_posix() if path.is_file() else rel.as_posix()
        named.append((name or path.stem, path))
    return named


def _is_sequence_folder(folder: Path) -> bool:
    """A per-frame folder (``0.npz``, ``00001.npz``...), a VHAP export or a tracker output folder."""
    if (folder / "flame_param").is_dir() or any(folder.glob("tracked_flame_params*.npz")):
        return True
    return any(p.stem.isdigit() for p in folder.iterdir() if p.suffix in (".npz", ".npy"))


def _common_folder(paths: list[Path]) -> str:
    import os.path

    parents = [str(p.parent) for p in paths]
    return os.path.commonpath(parents) if len(paths) > 1 else parents[0]


# ------------------------------------------------------------------------------------------ planning
def plan(job: BatchJob, model: FlameModel) -> tuple[list[Task], list[SequenceFailure], dict[str, int]]:
    """Tasks for every readable sequence, failures for the others, and frames per sequence."""
    tasks: list[Task] = []
    failures: list[SequenceFailure] = []
    lengths: dict[str, int] = {}
    per_sequence = any(o in job.outputs for o in ("landmarks", "points"))
    per_frame = any(o in job.outputs for o in ("normals", "mask", "depth", "points"))
    for name, path in discover(job.inputs):
        try:
            seq = check_sequence(path, model)
        except Exception as exc:  # any failure of one sequence is reported, the rest goes on
            text = describe_error(exc)
            failures.append(SequenceFailure(name, str(path), text if str(path) in text else f"{path}: {text}"))
            continue
        lengths[name] = len(seq)
        if per_sequence:
            tasks.append(Task(name, str(path), "sequence", 0, len(seq)))
        if per_frame:
            tasks += [Task(name, str(path), "frames", a, min(a + job.chunk, len(seq)))
                      for a in range(0, len(seq), job.chunk)]
    return tasks, failures, lengths


def check_sequence(path: Path, model: FlameModel) -> FlameSequence:
    """Load a sequence and check that it has frames and fits ``model``; raises :class:`FlameError` if not."""
    from ..sequence import load_sequence

    seq = load_sequence(path)
    if len(seq) == 0:
        raise FlameError(f"{path}: the sequence has no frames")
    sizes = {"shape": model.n_shape, "expression": model.n_expression}
    for field, limit in sizes.items():
        value = getattr(seq.params, field)
        if value is not None and value.shape[-1] > limit and np.any(value[..., limit:] != 0):
            raise FlameError(f"{path}: {field} has {value.shape[-1]} coefficients but the model has {limit} "
                             f"(a sequence for another model size)")
    for key in ("static_offset", "dynamic_offset"):
        offset = seq.extras.get(key)
        if offset is not None and offset.ndim >= 2 and offset.shape[-2] != model.n_vertices:
            raise FlameError(f"{path}: key {key!r} has {offset.shape[-2]} vertices; expected {model.n_vertices} "
                             f"as in the model (a sequence for another model)")
    try:
        model.forward(seq.params[:1])
    except FlameError as exc:
        raise FlameError(f"{path}: does not fit the model: {exc}") from None
    return seq


def describe_error(exc: BaseException) -> str:
    """One readable line for an error (the type name only when it is not a FlameError or OSError)."""
    if isinstance(exc, OSError) and exc.filename:
        text = f"{exc.filename}: {exc.strerror}"
    elif isinstance(exc, (FlameError, OSError)):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


# ------------------------------------------------------------------------------------------ worker side
def load_job_model(job: BatchJob) -> FlameModel:
    """The job's model (the demo head when ``job.model`` is None), truncated as asked."""
    if job.model is None:
        from ..demo import demo_model

        model = demo_model()
        if job.n_shape is not None or job.n_expression is not None:
            model = model.truncated(job.n_shape, job.n_expression)
        return model
    from ..io import load_model

    return load_model(job.model, n_shape=job.n_shape, n_expression=job.n_expression)


@dataclass
class _SequenceState:
    seq: FlameSequence
    cameras: list[Camera] | None
    framing: Camera | None = None
    samples: SurfaceSamples | None = None


_MODELS: dict[tuple[Any, ...], FlameModel] = {}
_SEQUENCES: OrderedDict[tuple[Any, ...], _SequenceState] = OrderedDict()
_KEEP_SEQUENCES = 2


def _model(job: BatchJob) -> FlameModel:
    key = (job.model, job.n_shape, job.n_expression)
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = load_job_model(job)
    return _MODELS[key]


def _state(job: BatchJob, task: Task, model: FlameModel) -> _SequenceState:
    key = (task.source, job.camera, job.size)
    if key in _SEQUENCES:
        _SEQUENCES.move_to_end(key)
        return _SEQUENCES[key]
    from ..sequence import load_sequence

    seq = load_sequence(task.source)
    state = _SequenceState(seq, sequence_cameras(job.camera, seq, job.size))
    _SEQUENCES[key] = state
    while len(_SEQUENCES) > _KEEP_SEQUENCES:
        _SEQUENCES.popitem(last=False)
    return state


def _camera(state: _SequenceState, model: FlameModel, frame: int, size: tuple[int, int]) -> Camera:
    if state.cameras is not None:
        return state.cameras[frame]
    if state.framing is None:  # one framing camera for the whole sequence, from its bounding box
        lower, upper = np.full(3, np.inf), np.full(3, -np.inf)
        for a in range(0, len(state.seq), _FORWARD_CHUNK):
            verts = model.forward(state.seq.params[a : a + _FORWARD_CHUNK]).vertices
            lower = np.minimum(lower, verts.min(axis=(0, 1)))
            upper = np.maximum(upper, verts.max(axis=(0, 1)))
        state.framing = framing_camera(lower, upper, size)
    return state.framing


def _samples(state: _SequenceState, job: BatchJob, model: FlameModel) -> SurfaceSamples:
    """The bound points of the sequence: drawn on its first frame, the same in every task."""
    if state.samples is None:
        from ..sampling import sample_surface

        verts = model.forward(state.seq.params[:1]).vertices[0]
        state.samples = sample_surface(verts, model.faces, job.points, seed=job.seed)
    return state.samples


def run_task(job: BatchJob, task: Task) -> dict[str, Any]:
    """Run one task; returns its manifest record (``status`` ``done`` with the outputs, or ``failed``)."""
    began, cpu_began = time.perf_counter(), time.process_time()
    record: dict[str, Any] = {"task": task.id, "sequence": task.sequence, "kind": task.kind,
                              "frames": [task.start, task.stop]}
    try:
        model = _model(job)
        state = _state(job, task, model)
        out = Path(job.out)
        if task.kind == "sequence":
            outputs = _sequence_outputs(job, task, model, state, out)
        else:
            outputs = _frame_outputs(job, task, model, state, out)
        record.update(status="done", outputs=outputs)
    except Exception as exc:  # reported in the manifest, the batch goes on
        record.update(status="failed", error=describe_error(exc))
    record.update(seconds=round(time.perf_counter() - began, 4), cpu_seconds=round(time.process_time() - cpu_began, 4),
                  end=time.time(), pid=getpid(),
                  max_rss_mb=_peak_rss_mb())
    return record


def _peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far, in MB (None where the platform cannot tell)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)


def _frame_outputs(job: BatchJob, task: Task, model: FlameModel, state: _SequenceState,
                   out: Path) -> list[dict[str, Any]]:
    from ..images import encode_exr
    from ..render import render_normal_map

    params = state.seq.params[task.start : task.stop]
    vertices = model.forward(params).vertices
    outputs = []
    base = task.sequence
    if "points" in job.outputs:
        from ..sampling import evaluate_samples

        samples = _samples(state, job, model)
        positions, _ = evaluate_samples(vertices, model.faces, samples.face_index, samples.barycentric,
                                        normals=False)
        name = f"{base}/points/positions_{task.start:05d}-{task.stop:05d}.npy"
        outputs.append(write_atomic(out, name, npy_bytes(positions.astype(np.float32))))
    images = [o for o in ("normals", "mask", "depth") if o in job.outputs]
    if not images:
        return outputs
    suffix, depth_bits = FORMATS[job.format]
    for i, frame in enumerate(range(task.start, task.stop)):
        camera = _camera(state, model, frame, job.size)
        nm = render_normal_map(vertices[i], model.faces, camera, space=job.space, convention=job.convention,
                               samples=job.samples, background=job.background)
        if "normals" in images:
            data = encode_exr(nm.image) if suffix == ".exr" else _png(nm.image, depth_bits)
            outputs.append(write_atomic(out, f"{base}/normals/{frame:05d}{suffix}", data))
        if "mask" in images:
            alpha = np.round(nm.alpha * np.float32(255)).astype(np.uint8)
            outputs.append(write_atomic(out, f"{base}/mask/{frame:05d}.png", _png(alpha, 8)))
        if "depth" in images:
            data = encode_exr(nm.depth, channel_names=["Z"])
            outputs.append(write_atomic(out, f"{base}/depth/{frame:05d}.exr", data))
    return outputs


def _png(image: np.ndarray, bit_depth: int) -> bytes:
    """The batch's PNGs: zlib level 1, Sub rows, run-length matching (scripts/bench_batch.py: a 512x512 16-bit
    map encodes several times faster than at level 6 with Up rows; files ~10 % larger, the same pixels)."""
    from ..images import encode_png

    return encode_png(image, bit_depth, 1, row_filter="sub", strategy="rle")


def _sequence_outputs(job: BatchJob, task: Task, model: FlameModel, state: _SequenceState,
                      out: Path) -> list[dict[str, Any]]:
    seq = state.seq
    outputs = []
    if "landmarks" in job.outputs:
        if model.landmarks is None:
            raise FlameError("landmarks: the model has no landmark embedding (attach one or use the demo head)")
        l3d, l2d = [], []
        for a in range(0, len(seq), _FORWARD_CHUNK):
            chunk = model.forward(seq.params[a : a + _FORWARD_CHUNK]).landmarks
            assert chunk is not None
            for i, points in enumerate(chunk):
                uv, _ = _camera(state, model, a + i, job.size).project(points)
                l2d.append(uv.astype(np.float32))
            l3d.append(chunk.astype(np.float32))
        arrays = {"landmarks_3d": np.concatenate(l3d), "landmarks_2d": np.stack(l2d),
                  "image_size": np.array(job.size, dtype=np.int32)}
        outputs.append(write_atomic(out, f"{task.sequence}/landmarks.npz", npz_bytes(arrays)))
    if "points" in job.outputs:
        from ..binding import save_bound_points

        samples = _samples(state, job, model)
        verts = model.forward(seq.params[:1]).vertices[0]
        folder = out / task.sequence / "points"
        scratch = folder / f"bound{TMP_MARK}{getpid()}"
        try:
            ply, npz = save_bound_points(scratch / "points.ply", samples, verts, model.faces, seq.params,
                                         offset_vertices=model.n_vertices)
            for path in (ply, npz):
                if path is not None:
                    outputs.append(write_atomic(out, f"{task.sequence}/points/{path.name}", path.read_bytes()))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return outputs
