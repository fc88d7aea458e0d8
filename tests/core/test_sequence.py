"""Sequence readers: every format written here in its real layout, read back and checked key by key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from flame_core.errors import FlameError, SequenceFileError
from flame_core.params import FlameParams
from flame_core.sequence import FlameSequence, load_sequence, save_sequence, vhap_keys

T = 12
V = 40  # vertices of the offsets (a real file has 5023 or 5143)


def f32(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Random values exactly representable in float32 (the trackers write float32)."""
    return (rng.normal(size=shape) * 0.3).astype(np.float32)


def vhap_arrays(rng: np.random.Generator, frames: int = T) -> dict[str, np.ndarray]:
    return {
        "shape": f32(rng, 300),
        "expr": f32(rng, frames, 100),
        "rotation": f32(rng, frames, 3),
        "neck_pose": f32(rng, frames, 3),
        "jaw_pose": f32(rng, frames, 3),
        "eyes_pose": f32(rng, frames, 6),
        "translation": f32(rng, frames, 3),
        "static_offset": f32(rng, 1, V, 3),
    }


def check_vhap(seq: FlameSequence, a: dict[str, np.ndarray]) -> None:
    p = seq.params
    assert len(seq) == len(a["expr"])
    np.testing.assert_array_equal(p.shape, a["shape"].reshape(-1))
    np.testing.assert_array_equal(p.expression, a["expr"])
    np.testing.assert_array_equal(p.rotation, a["rotation"])
    np.testing.assert_array_equal(p.neck, a["neck_pose"])
    np.testing.assert_array_equal(p.jaw, a["jaw_pose"])
    np.testing.assert_array_equal(p.eyes, a["eyes_pose"])
    np.testing.assert_array_equal(p.translation, a["translation"])
    # pose vector order: global, neck, jaw, left eye (first 3 of eyes_pose), right eye
    np.testing.assert_array_equal(p.pose[:, 9:12], a["eyes_pose"][:, :3])
    np.testing.assert_array_equal(p.pose[:, 12:15], a["eyes_pose"][:, 3:])


# ---------------------------------------------------------------------- VHAP / GaussianAvatars
def test_vhap_tracked_params(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a = vhap_arrays(rng)
    a["dynamic_offset"] = f32(rng, T, V, 3)
    a["timestep_id"] = np.array([f"{i:05d}" for i in range(T)])
    a["lights"] = f32(rng, 9, 3)
    path = tmp_path / "tracked_flame_params_30.npz"
    np.savez(path, **a)
    seq = load_sequence(path)
    check_vhap(seq, a)
    assert seq.format == "vhap" and seq.fps is None and seq.duration is None
    assert set(seq.extras) == {"static_offset", "dynamic_offset", "timestep_id", "lights"}
    assert seq.frame_keys == {"dynamic_offset", "timestep_id"}
    np.testing.assert_array_equal(seq.extras["static_offset"], a["static_offset"])
    assert seq.source == str(path)


def test_gaussian_avatars_flame_param(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    a = vhap_arrays(rng)
    a["static_offset"] = f32(rng, V, 3)
    a["dynamic_offset"] = np.zeros((T, V, 3), np.float32)
    path = tmp_path / "flame_param.npz"
    np.savez(path, **a)
    seq = load_sequence(path, fps=25)
    check_vhap(seq, a)
    assert seq.fps == 25.0 and seq.duration == pytest.approx(T / 25)
    assert seq.frame_keys == {"dynamic_offset"}


@pytest.mark.parametrize("name", ["foo.dat", "motion", "codes.json", "params.pkl"])
def test_detection_ignores_file_name(tmp_path: Path, name: str) -> None:
    a = vhap_arrays(np.random.default_rng(2))
    np.savez(tmp_path / "x.npz", **a)
    (tmp_path / "x.npz").rename(tmp_path / name)
    seq = load_sequence(tmp_path / name)
    assert seq.format == "vhap"
    check_vhap(seq, a)


def write_vhap_export(root: Path, a: dict[str, np.ndarray], dynamic: np.ndarray) -> None:
    """VHAP's NeRF-dataset export: flame_param/{ti:05d}.npz with leading axis 1, shape unsliced."""
    (root / "flame_param").mkdir(parents=True)
    (root / "transforms.json").write_text(json.dumps({"frames": []}))
    np.savez(root / "canonical_flame_param.npz", **{k: v[:1] if v.ndim == 2 else v for k, v in a.items()})
    for ti in range(len(a["expr"])):
        frame = {k: a[k][[ti]] for k in ("translation", "rotation", "neck_pose", "jaw_pose", "eyes_pose", "expr")}
        frame["shape"] = a["shape"]
        frame["static_offset"] = a["static_offset"]
        frame["dynamic_offset"] = dynamic[[ti]]
        np.savez(root / "flame_param" / f"{ti:05d}.npz", **frame)


def test_vhap_per_frame_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    a = vhap_arrays(rng)
    dynamic = f32(rng, T, V, 3)
    write_vhap_export(tmp_path / "export", a, dynamic)
    for folder in (tmp_path / "export", tmp_path / "export" / "flame_param"):
        seq = load_sequence(folder)
        assert seq.format == "vhap"
        check_vhap(seq, a)
        assert seq.params.shape.shape == (300,)  # the identity is stored once
        np.testing.assert_array_equal(seq.extras["static_offset"], a["static_offset"])  # same in every frame
        np.testing.assert_array_equal(seq.extras["dynamic_offset"], dynamic)
        assert seq.frame_keys == {"dynamic_offset"}


def test_vhap_output_folder_uses_latest_epoch(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    old, new = vhap_arrays(rng), vhap_arrays(rng)
    np.savez(tmp_path / "tracked_flame_params_10.npz", **old)
    np.savez(tmp_path / "tracked_flame_params_30.npz", **new)
    check_vhap(load_sequence(tmp_path), new)


# ---------------------------------------------------------------------- flame-head-tracker
def write_tracker_folder(folder: Path, rng: np.random.Generator, frames: int = T) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "shape": np.repeat(f32(rng, 1, 300), frames, axis=0),
        "exp": f32(rng, frames, 100),
        "head_pose": f32(rng, frames, 3),
        "neck_pose": f32(rng, frames, 3),
        "jaw_pose": f32(rng, frames, 3),
        "eye_pose": f32(rng, frames, 6),
        "cam": f32(rng, frames, 6),
        "fov": f32(rng, frames),
    }
    for fid in range(frames):  # {fid}.npz, not zero-padded: 10.npz must follow 9.npz
        frame = {k: v[[fid]] for k, v in data.items()}
        frame["img_rendered"] = np.zeros((1, 64, 64, 3), np.uint8)
        np.savez_compressed(folder / f"{fid}.npz", **frame)
        (folder / f"{fid}_compare.jpg").write_bytes(b"\xff\xd8\xff")
    return data


def test_flame_head_tracker_folder(tmp_path: Path) -> None:
    data = write_tracker_folder(tmp_path / "video", np.random.default_rng(5))
    seq = load_sequence(tmp_path / "video")
    p = seq.params
    assert seq.format == "flame-head-tracker" and len(seq) == T
    np.testing.assert_array_equal(p.rotation, data["head_pose"])  # head_pose is the global rotation
    np.testing.assert_array_equal(p.neck, data["neck_pose"])
    np.testing.assert_array_equal(p.jaw, data["jaw_pose"])
    np.testing.assert_array_equal(p.eyes, data["eye_pose"])
    np.testing.assert_array_equal(p.expression, data["exp"])
    np.testing.assert_array_equal(p.shape, data["shape"][0])
    assert p.translation is None
    np.testing.assert_array_equal(seq.extras["cam"], data["cam"])
    assert seq.frame_keys == {"cam", "fov"}
    assert "img_rendered" in seq.skipped


# ---------------------------------------------------------------------- oxigaf
def oxigaf_frames(rng: np.random.Generator, frames: int = T, expr_key: str = "expression") -> list[dict]:
    shape = rng.normal(size=300).tolist()
    return [
        {
            "shape": shape,
            expr_key: rng.normal(size=50).tolist(),
            "pose": rng.normal(size=15).tolist(),
            "translation": rng.normal(size=3).tolist(),
        }
        for _ in range(frames)
    ]


@pytest.mark.parametrize("expr_key", ["expression", "expr"])
def test_oxigaf_json(tmp_path: Path, expr_key: str) -> None:
    frames = oxigaf_frames(np.random.default_rng(6), expr_key=expr_key)
    path = tmp_path / "seq.json"
    path.write_text(json.dumps({"fps": 25.0, "frames": frames}))
    seq = load_sequence(path)
    pose = np.array([f["pose"] for f in frames])
    p = seq.params
    assert seq.format == "oxigaf" and seq.fps == 25.0
    np.testing.assert_array_equal(p.pose, pose)
    np.testing.assert_array_equal(p.rotation, pose[:, 0:3])
    np.testing.assert_array_equal(p.neck, pose[:, 3:6])
    np.testing.assert_array_equal(p.jaw, pose[:, 6:9])
    np.testing.assert_array_equal(p.eyes, pose[:, 9:15])
    np.testing.assert_array_equal(p.expression, [f[expr_key] for f in frames])
    np.testing.assert_array_equal(p.translation, [f["translation"] for f in frames])
    np.testing.assert_array_equal(p.shape, frames[0]["shape"])
    assert seq.extras == {}


def test_oxigaf_npz(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    a = {
        "shape": np.repeat(f32(rng, 1, 300), T, axis=0),
        "expr": f32(rng, T, 50),
        "pose": f32(rng, T, 15),
        "translation": f32(rng, T, 3),
        "fps": np.float32(24),
    }
    np.savez(tmp_path / "seq.npz", **a)
    seq = load_sequence(tmp_path / "seq.npz")
    assert seq.format == "oxigaf" and seq.fps == 24.0
    np.testing.assert_array_equal(seq.params.pose, a["pose"])
    np.testing.assert_array_equal(seq.params.expression, a["expr"])
    assert load_sequence(tmp_path / "seq.npz", fps=60).fps == 60.0  # fps= overrides the file


# ---------------------------------------------------------------------- DECA / EMOCA
def test_deca_stacked_codes(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    a = {"shape": f32(rng, T, 100), "exp": f32(rng, T, 50), "pose": f32(rng, T, 6), "cam": f32(rng, T, 3)}
    np.savez(tmp_path / "codes.npz", **a)
    seq = load_sequence(tmp_path / "codes.npz")
    assert seq.format == "deca"
    np.testing.assert_array_equal(seq.params.rotation, a["pose"][:, :3])  # pose = global + jaw
    np.testing.assert_array_equal(seq.params.jaw, a["pose"][:, 3:])
    np.testing.assert_array_equal(seq.params.shape, a["shape"])  # per-frame identities stay per frame
    np.testing.assert_array_equal(seq.params.expression, a["exp"])
    assert seq.params.neck is None and seq.params.eyes is None
    assert seq.frame_keys == {"cam"}


def test_deca_single_frame_dict_with_code_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    a = {"shapecode": f32(rng, 100), "expcode": f32(rng, 50), "posecode": f32(rng, 6), "cam": f32(rng, 3)}
    np.savez(tmp_path / "frame.npz", **a)
    seq = load_sequence(tmp_path / "frame.npz")
    assert len(seq) == 1 and seq.format == "deca"
    np.testing.assert_array_equal(seq.frame(0).jaw, a["posecode"][3:])
    np.testing.assert_array_equal(seq.extras["cam"], a["cam"])


def test_emoca_code_folders(tmp_path: Path) -> None:
    rng = np.random.default_rng(10)
    names = ["000010_000", "000002_000", "000001_000"]
    poses = {}
    for name in names:  # gdl_apps/EMOCA save_codes: <out>/<name>/{shape,exp,tex,pose,detail}.npy
        d = tmp_path / "emoca" / name
        d.mkdir(parents=True)
        poses[name] = f32(rng, 6)
        for key, size in (("shape", 100), ("exp", 50), ("tex", 50), ("detail", 128)):
            np.save(d / f"{key}.npy", f32(rng, size))
        np.save(d / "pose.npy", poses[name])
    seq = load_sequence(tmp_path / "emoca")
    assert len(seq) == 3
    order = sorted(names, key=lambda s: int(s.split("_")[0]))
    np.testing.assert_array_equal(seq.params.jaw, [poses[n][3:] for n in order])
    assert {"tex", "detail"} <= set(seq.extras)


def test_pickled_codes_dict_is_read_safely(tmp_path: Path) -> None:
    """np.save(dict) writes a pickle inside an .npy: read through the restricted unpickler, never plain pickle."""
    rng = np.random.default_rng(26)
    codes = {"shape": f32(rng, 1, 100), "exp": f32(rng, 1, 50), "pose": f32(rng, 1, 6), "cam": f32(rng, 1, 3)}
    np.save(tmp_path / "000001.npy", codes, allow_pickle=True)
    seq = load_sequence(tmp_path / "000001.npy")
    assert seq.format == "deca" and len(seq) == 1
    np.testing.assert_array_equal(seq.params.expression, codes["exp"])
    np.testing.assert_array_equal(seq.params.jaw, codes["pose"][:, 3:])
    np.save(tmp_path / "000002.npy", codes, allow_pickle=True)
    assert len(load_sequence(tmp_path)) == 2  # a folder of per-frame dicts


def test_pickle_with_foreign_global_is_refused(tmp_path: Path) -> None:
    import pickle

    class Evil:
        def __reduce__(self):  # would run os.system on a plain unpickler
            import os

            return (os.system, ("true",))

    path = tmp_path / "codes.pkl"
    path.write_bytes(pickle.dumps({"exp": np.zeros(50), "pose": np.zeros(6), "x": Evil()}))
    with pytest.raises(SequenceFileError, match=r"codes\.pkl.*cannot be read safely"):
        load_sequence(path)


# ---------------------------------------------------------------------- SMIRK
def smirk_arrays(rng: np.random.Generator, frames: int = T) -> dict[str, np.ndarray]:
    return {
        "shape_params": f32(rng, frames, 300),
        "expression_params": f32(rng, frames, 50),
        "pose_params": f32(rng, frames, 3),
        "jaw_params": f32(rng, frames, 3),
        "eyelid_params": f32(rng, frames, 2),
        "cam": f32(rng, frames, 3),
    }


def check_smirk(seq: FlameSequence, a: dict[str, np.ndarray]) -> None:
    assert seq.format == "smirk"
    np.testing.assert_array_equal(seq.params.rotation, a["pose_params"])
    np.testing.assert_array_equal(seq.params.jaw, a["jaw_params"])
    np.testing.assert_array_equal(seq.params.expression, a["expression_params"])
    np.testing.assert_array_equal(seq.params.eyelids, a["eyelid_params"])
    assert seq.frame_keys == {"cam"}


def test_smirk_stacked(tmp_path: Path) -> None:
    a = smirk_arrays(np.random.default_rng(11))
    np.savez(tmp_path / "smirk.npz", **a)
    check_smirk(load_sequence(tmp_path / "smirk.npz"), a)


def test_smirk_per_frame(tmp_path: Path) -> None:
    a = smirk_arrays(np.random.default_rng(12))
    for i in range(T):
        np.savez(tmp_path / f"{i:04d}.npz", **{k: v[i] for k, v in a.items()})  # unbatched per frame
    check_smirk(load_sequence(tmp_path), a)


# ---------------------------------------------------------------------- round trips
def random_sequence(rng: np.random.Generator, dtype: type = np.float64, **kw: object) -> FlameSequence:
    params = FlameParams(
        shape=rng.normal(size=300).astype(dtype),
        expression=rng.normal(size=(T, 80)).astype(dtype),
        rotation=rng.normal(size=(T, 3)).astype(dtype),
        neck=rng.normal(size=(T, 3)).astype(dtype),
        jaw=rng.normal(size=(T, 3)).astype(dtype),
        eyes=rng.normal(size=(T, 6)).astype(dtype),
        translation=rng.normal(size=(T, 3)).astype(dtype),
        eyelids=rng.uniform(0, 1, size=(T, 2)).astype(dtype),
    )
    return FlameSequence(params, **kw)  # type: ignore[arg-type]


def test_npz_round_trip_float32_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(13)
    extras = {
        "static_offset": f32(rng, 1, V, 3),
        "dynamic_offset": f32(rng, T, V, 3),
        "timestep_id": np.array([f"{i:05d}" for i in range(T)]),
    }
    seq = random_sequence(rng, np.float32, fps=30.0, extras=extras)
    back = load_sequence(save_sequence(seq, tmp_path / "out.npz"))
    assert back == seq
    assert back.params.allclose(seq.params) and back.fps == 30.0
    assert back.params.expression.shape == (T, 80)  # coefficient count kept
    with np.load(tmp_path / "out.npz") as f:  # VHAP layout: shape (300,), float32 parameters
        assert f["shape"].shape == (300,) and f["expr"].dtype == np.float32
        assert set(vhap_keys().values()) <= set(f.files)


def test_npz_round_trip_float64_and_timestamps(tmp_path: Path) -> None:
    rng = np.random.default_rng(14)
    times = np.cumsum(rng.uniform(0.01, 0.05, T))
    seq = random_sequence(rng, timestamps=times)
    back = load_sequence(save_sequence(seq, tmp_path / "out.npz", dtype=np.float64))
    assert back == seq and back.fps is None
    np.testing.assert_array_equal(back.timestamps, times)


def test_npz_round_trip_sparse_params(tmp_path: Path) -> None:
    seq = FlameSequence(FlameParams(jaw=np.linspace(0, 0.3, 3 * T).reshape(T, 3)), fps=24)
    back = load_sequence(save_sequence(seq, tmp_path / "jaw.npz", dtype=np.float64))
    assert back == seq  # unset fields are written as zeros and compare equal


@pytest.mark.parametrize("fps", [29.97, None])
def test_json_round_trip(tmp_path: Path, fps: float | None) -> None:
    rng = np.random.default_rng(15)
    seq = random_sequence(rng, fps=fps)
    path = save_sequence(seq, tmp_path / "out.json")
    back = load_sequence(path)
    assert back == seq and back.fps == fps and back.format == "oxigaf"
    doc = json.loads(path.read_text())
    assert len(doc["frames"]) == T and len(doc["frames"][0]["pose"]) == 15


def test_json_round_trip_timestamps(tmp_path: Path) -> None:
    seq = random_sequence(np.random.default_rng(16), timestamps=np.arange(T) * 0.04 + 1.0)
    assert load_sequence(save_sequence(seq, tmp_path / "t.json")) == seq


def test_save_refuses_unknown_suffix_and_clashing_extras(tmp_path: Path) -> None:
    seq = random_sequence(np.random.default_rng(17))
    with pytest.raises(FlameError, match="unknown sequence file type"):
        save_sequence(seq, tmp_path / "out.txt")
    with pytest.raises(FlameError, match="expr"):
        save_sequence(seq.replace(extras={"expr": np.zeros((T, 3))}), tmp_path / "out.npz")


# ---------------------------------------------------------------------- slicing
def test_slicing_and_frames() -> None:
    rng = np.random.default_rng(18)
    extras = {"dynamic_offset": rng.normal(size=(T, V, 3)), "static_offset": rng.normal(size=(1, V, 3))}
    seq = random_sequence(rng, fps=30.0, timestamps=np.arange(T) / 30.0 + 2.0, extras=extras)
    part = seq[3:7]
    assert isinstance(part, FlameSequence) and len(part) == 4
    np.testing.assert_array_equal(part.params.jaw, seq.params.jaw[3:7])
    np.testing.assert_array_equal(part.params.shape, seq.params.shape)  # shared field untouched
    np.testing.assert_array_equal(part.timestamps, seq.timestamps[3:7])
    np.testing.assert_array_equal(part.extras["dynamic_offset"], extras["dynamic_offset"][3:7])
    np.testing.assert_array_equal(part.extras["static_offset"], extras["static_offset"])
    assert seq[::2].fps == 15.0 and len(seq[::2]) == T // 2
    one = seq[5]
    assert isinstance(one, FlameParams) and one.batch_shape == ()
    np.testing.assert_array_equal(one.eyes, seq.params.eyes[5])
    np.testing.assert_array_equal(seq.frame(-1).jaw, seq.params.jaw[-1])
    assert sum(1 for _ in seq) == T
    picked = seq[np.array([1, 4, 9])]
    np.testing.assert_array_equal(picked.timestamps, seq.timestamps[[1, 4, 9]])
    with pytest.raises(IndexError):
        seq.frame(T)
    with pytest.raises(ValueError, match="forward"):
        seq[::-1]


def test_sequence_validation() -> None:
    params = FlameParams(jaw=np.zeros((4, 3)))
    with pytest.raises(FlameError, match="fps"):
        FlameSequence(params, fps=0)
    with pytest.raises(FlameError, match="timestamps"):
        FlameSequence(params, timestamps=[0, 1, 1, 2])
    with pytest.raises(FlameError, match="frame axis"):
        FlameSequence(FlameParams(jaw=np.zeros(3)))
    assert FlameSequence(params, fps=8).duration == 0.5


# ---------------------------------------------------------------------- errors
def write_format(kind: str, folder: Path) -> Path:
    """A valid file (or folder) of each format; returns what to pass to load_sequence."""
    rng = np.random.default_rng(19)
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "vhap":
        np.savez(folder / "tracked_flame_params_30.npz", **vhap_arrays(rng))
        return folder / "tracked_flame_params_30.npz"
    if kind == "vhap-frames":
        a = vhap_arrays(rng)
        write_vhap_export(folder, a, f32(rng, T, V, 3))
        return folder
    if kind == "tracker":
        write_tracker_folder(folder, rng)
        return folder
    if kind == "oxigaf-json":
        (folder / "s.json").write_text(json.dumps({"fps": 30, "frames": oxigaf_frames(rng)}))
        return folder / "s.json"
    if kind == "oxigaf-npz":
        np.savez(folder / "s.npz", shape=f32(rng, T, 300), expression=f32(rng, T, 50), pose=f32(rng, T, 15))
        return folder / "s.npz"
    if kind == "deca":
        np.savez(folder / "d.npz", shape=f32(rng, T, 100), exp=f32(rng, T, 50), pose=f32(rng, T, 6))
        return folder / "d.npz"
    if kind == "smirk":
        np.savez(folder / "s.npz", **smirk_arrays(rng))
        return folder / "s.npz"
    raise AssertionError(kind)


FORMAT_KINDS = ["vhap", "vhap-frames", "tracker", "oxigaf-json", "oxigaf-npz", "deca", "smirk"]


def victim(target: Path) -> Path:
    """The file to damage: the file itself, or one frame file in the middle of a folder."""
    if target.is_file():
        return target
    frames = sorted((target / "flame_param").glob("*.npz")) or sorted(target.glob("*.npz"))
    return frames[len(frames) // 2]


@pytest.mark.parametrize("kind", FORMAT_KINDS)
def test_valid_files_load(tmp_path: Path, kind: str) -> None:
    assert len(load_sequence(write_format(kind, tmp_path / kind))) == T


@pytest.mark.parametrize("kind", FORMAT_KINDS)
def test_empty_file(tmp_path: Path, kind: str) -> None:
    bad = victim(write_format(kind, tmp_path / kind))
    bad.write_bytes(b"")
    with pytest.raises(SequenceFileError, match="empty") as info:
        load_sequence(tmp_path / kind if kind in ("vhap-frames", "tracker") else bad)
    assert bad.name in str(info.value)


@pytest.mark.parametrize("kind", FORMAT_KINDS)
def test_truncated_file(tmp_path: Path, kind: str) -> None:
    target = write_format(kind, tmp_path / kind)
    bad = victim(target)
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(SequenceFileError, match="truncated") as info:
        load_sequence(target)
    assert bad.name in str(info.value)


WRONG_SHAPES = {
    "vhap": ("rotation", (T, 2)),
    "oxigaf-npz": ("pose", (T, 14)),
    "deca": ("pose", (T, 5)),
    "smirk": ("jaw_params", (T, 4)),
}


@pytest.mark.parametrize("kind", sorted(WRONG_SHAPES))
def test_wrong_shape_names_key(tmp_path: Path, kind: str) -> None:
    path = write_format(kind, tmp_path / kind)
    key, shape = WRONG_SHAPES[kind]
    with np.load(path) as f:
        arrays = dict(f)
    arrays[key] = np.zeros(shape, np.float32)
    np.savez(path, **arrays)
    with pytest.raises(SequenceFileError, match=rf"key '{key}'.*expected \(T, .*found \({T}, {shape[1]}\)"):
        load_sequence(path)


def test_tracker_wrong_shape_in_frame_files(tmp_path: Path) -> None:
    folder = tmp_path / "video"
    write_tracker_folder(folder, np.random.default_rng(20), frames=3)
    for fid in range(3):
        with np.load(folder / f"{fid}.npz") as f:
            arrays = dict(f)
        arrays["head_pose"] = np.zeros((1, 2), np.float32)
        np.savez(folder / f"{fid}.npz", **arrays)
    with pytest.raises(SequenceFileError, match=r"key 'head_pose'.*found \(3, 2\)"):
        load_sequence(folder)


def test_frame_file_with_other_shape(tmp_path: Path) -> None:
    folder = tmp_path / "video"
    write_tracker_folder(folder, np.random.default_rng(21), frames=4)
    with np.load(folder / "2.npz") as f:
        arrays = dict(f)
    arrays["exp"] = np.zeros((1, 50), np.float32)
    np.savez(folder / "2.npz", **arrays)
    with pytest.raises(SequenceFileError, match=r"2\.npz.*'exp'.*expected \(1, 100\), found \(1, 50\)"):
        load_sequence(folder)


@pytest.mark.parametrize("kind", ["vhap", "oxigaf-npz", "deca", "smirk", "oxigaf-json"])
def test_wrong_format(tmp_path: Path, kind: str) -> None:
    """A file of the same container type whose keys are not a sequence: the message lists what was tried."""
    path = write_format(kind, tmp_path / kind)
    if kind == "oxigaf-json":
        path.write_text(json.dumps({"vertices": [[0, 0, 0]], "faces": []}))
        expect = r"not a known FLAME sequence JSON.*found keys \['faces', 'vertices'\]"
    else:
        np.savez(path, a=np.zeros(3), b=np.ones((2, 2)))
        expect = (
            r"not a known FLAME sequence; tried metrical-tracker, flame-head-tracker, SMIRK, VHAP/GaussianAvatars, "
            r"oxigaf, DECA/EMOCA, IMavatar/PointAvatar; found keys \['a', 'b'\]"
        )
    with pytest.raises(SequenceFileError, match=expect) as info:
        load_sequence(path)
    assert path.name in str(info.value)


@pytest.mark.parametrize("kind", ["vhap-frames", "tracker"])
def test_wrong_format_frame_folder(tmp_path: Path, kind: str) -> None:
    folder = write_format(kind, tmp_path / kind)
    for p in list(folder.rglob("*.npz")):
        np.savez(p, a=np.zeros(3))
    with pytest.raises(SequenceFileError, match=r"not a known FLAME sequence.*\['a'\]"):
        load_sequence(folder)


def test_not_a_sequence_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.npz"
    path.write_text("hello")
    with pytest.raises(SequenceFileError, match="not a known FLAME sequence file"):
        load_sequence(path)


def test_mismatched_frame_counts(tmp_path: Path) -> None:
    a = vhap_arrays(np.random.default_rng(22))
    a["jaw_pose"] = a["jaw_pose"][:-1]
    np.savez(tmp_path / "x.npz", **a)
    with pytest.raises(SequenceFileError, match=rf"key 'jaw_pose'.*expected {T} frames, found {T - 1} frames"):
        load_sequence(tmp_path / "x.npz")


def test_nan_names_key_and_frame(tmp_path: Path) -> None:
    a = vhap_arrays(np.random.default_rng(23))
    a["expr"][5, 7] = np.nan
    np.savez(tmp_path / "x.npz", **a)
    with pytest.raises(SequenceFileError, match=r"key 'expr'.*frame 5"):
        load_sequence(tmp_path / "x.npz")


def test_short_coefficients_are_fine_long_are_not(tmp_path: Path) -> None:
    a = vhap_arrays(np.random.default_rng(24))
    a["expr"] = a["expr"][:, :99]
    np.savez(tmp_path / "x.npz", **a)
    assert load_sequence(tmp_path / "x.npz").params.expression.shape == (T, 99)
    a["expr"] = np.zeros((T, 101), np.float32)
    np.savez(tmp_path / "x.npz", **a)
    with pytest.raises(SequenceFileError, match=r"key 'expr'.*<=100"):
        load_sequence(tmp_path / "x.npz")


def test_non_numeric_parameter(tmp_path: Path) -> None:
    a = vhap_arrays(np.random.default_rng(25))
    a["rotation"] = np.array([["a", "b", "c"]] * T)
    np.savez(tmp_path / "x.npz", **a)
    with pytest.raises(SequenceFileError, match=r"key 'rotation'.*not numeric"):
        load_sequence(tmp_path / "x.npz")


def test_pickle_file_with_dict_of_lists(tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "codes.pkl"
    path.write_bytes(pickle.dumps({"exp": [0.5] * 50, "pose": [0.0, 0.1, 0.0, 0.2, 0.0, 0.0], "tag": "x"}, protocol=2))
    seq = load_sequence(path)
    assert seq.params.jaw.tolist() == [[0.2, 0.0, 0.0]]
    assert "tag" not in seq.extras or seq.extras["tag"].dtype.kind == "U"


def test_missing_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_sequence(tmp_path / "nope.npz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SequenceFileError, match="no sequence files"):
        load_sequence(tmp_path / "empty")


def test_bad_fps(tmp_path: Path) -> None:
    path = write_format("vhap", tmp_path / "v")
    with pytest.raises(SequenceFileError, match="fps"):
        load_sequence(path, fps=-1)
    shutil.rmtree(tmp_path / "v")
