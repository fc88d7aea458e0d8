"""Broken files of every format: truncated, empty, of another format, with wrong shapes or keys.

Each must raise a FlameError subclass whose message names the file, never a raw numpy/zip/pickle error.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import synthetic as syn

import flame_core
from flame_core import FlameError, ModelFileError
from flame_core.io import load_landmarks, load_masks, load_uvs


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    files = syn.write_all(folder, n_verts=40, n_faces=60, seed=31)
    model = flame_core.load_model(files["pkl"])
    files["npz_model"] = flame_core.save_model(model, folder / "model.npz")
    files["st_model"] = flame_core.save_model(model, folder / "model.safetensors")
    files["folder_model"] = flame_core.save_model(model, folder / "model_folder")
    return files


def expect_error(call, path, match: str | None = None) -> FlameError:
    with pytest.raises(FlameError) as info:
        call(path)
    assert isinstance(info.value, ModelFileError)
    assert str(path) in str(info.value), str(info.value)
    if match:
        assert match in str(info.value), str(info.value)
    return info.value


def truncated_copy(src: Path, dst: Path, fraction: float = 0.5) -> Path:
    data = Path(src).read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


LOADERS = {
    "pkl": ("generic_model.pkl", "pkl", flame_core.load_model),
    "npz": ("model.npz", "npz_model", flame_core.load_model),
    "safetensors": ("model.safetensors", "st_model", flame_core.load_model),
    "obj": ("head_template.obj", "obj", load_uvs),
    "texture": ("FLAME_texture.npz", "texture", load_uvs),
    "masks": ("FLAME_masks.pkl", "masks", load_masks),
    "static": ("flame_static_embedding.pkl", "static", load_landmarks),
    "dynamic": ("flame_dynamic_embedding.npy", "dynamic", load_landmarks),
    "mediapipe": ("mediapipe_landmark_embedding.npz", "mediapipe", load_landmarks),
}


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_empty_file(tmp_path, kind):
    name, _, loader = LOADERS[kind]
    path = tmp_path / name
    path.write_bytes(b"")
    expect_error(loader, path)


@pytest.mark.parametrize("kind", sorted(LOADERS))
@pytest.mark.parametrize("fraction", [0.03, 0.5, 0.97])
def test_truncated_file(tmp_path, good, kind, fraction):
    name, key, loader = LOADERS[kind]
    path = truncated_copy(good[key], tmp_path / name, fraction)
    expect_error(loader, path)


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_file_of_another_format(tmp_path, good, kind):
    name, _, loader = LOADERS[kind]
    path = tmp_path / name
    path.write_bytes(b"This is a text file, not a FLAME file.\n" * 5)
    expect_error(loader, path)
    # A valid file of the wrong kind: a mask pickle as a model, a model as UVs, ...
    wrong = {"pkl": "masks", "npz": "texture", "safetensors": "obj", "obj": "pkl", "texture": "npz_model",
             "masks": "mediapipe", "static": "masks", "dynamic": "obj", "mediapipe": "texture"}[kind]
    path.write_bytes(Path(good[wrong]).read_bytes())
    expect_error(loader, path)


def test_missing_file_and_folder(tmp_path):
    for loader in (flame_core.load_model, load_uvs, load_masks, load_landmarks):
        expect_error(loader, tmp_path / "nothing.pkl")


# --------------------------------------------------------------------------- wrong shapes and keys


def _pkl_with(tmp_path, **changes):
    raw = syn.flame_arrays(n_verts=40, n_faces=60, seed=32)
    raw.update(changes)
    return syn.write_flame_pkl(tmp_path / "generic_model.pkl", raw)


def test_pkl_wrong_shapes(tmp_path):
    expect_error(flame_core.load_model, _pkl_with(tmp_path, posedirs=np.zeros((40, 3, 35))), "posedirs")
    expect_error(flame_core.load_model, _pkl_with(tmp_path, shapedirs=np.zeros((41, 3, 400))), "shapedirs")
    expect_error(flame_core.load_model, _pkl_with(tmp_path, weights=np.zeros((40, 4))), "weights")
    nan = syn.flame_arrays(n_verts=40, n_faces=60)["v_template"]
    nan[3, 1] = np.nan
    expect_error(flame_core.load_model, _pkl_with(tmp_path, v_template=nan), "non-finite")
    expect_error(flame_core.load_model, _pkl_with(tmp_path, f=np.full((60, 3), 99, np.uint32)), "out of range")


def test_pkl_missing_key_and_not_a_dict(tmp_path):
    raw = syn.flame_arrays(n_verts=40, n_faces=60)
    data = {k: v for k, v in raw.items() if k != "posedirs"}
    path = syn.write_py2_pickle(tmp_path / "model.pkl", data)
    expect_error(flame_core.load_model, path, "posedirs")
    syn.write_py2_pickle(path, [np.zeros(3)])
    expect_error(flame_core.load_model, path, "dict")
    syn.write_py2_pickle(path, dict(raw, posedirs="text"))
    expect_error(flame_core.load_model, path, "posedirs")


def test_npz_wrong_shape_missing_key_and_object_array(tmp_path, good):
    raw = syn.flame_arrays(n_verts=40, n_faces=60)
    path = tmp_path / "model.npz"
    np.savez(path, **dict(raw, J_regressor=np.zeros((4, 40))))
    expect_error(flame_core.load_model, path, "j_regressor")
    np.savez(path, **{k: v for k, v in raw.items() if k != "weights"})
    expect_error(flame_core.load_model, path, "lbs_weights")
    np.savez(path, **dict(raw, posedirs=np.array([{"a": 1}], dtype=object)))
    expect_error(flame_core.load_model, path, "posedirs")


def test_safetensors_wrong_header_and_shape(tmp_path, good):
    data = Path(good["st_model"]).read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    path = tmp_path / "model.safetensors"

    def write(hdr, body=data[8 + n :]):
        text = json.dumps(hdr).encode()
        path.write_bytes(struct.pack("<Q", len(text)) + text + body)

    bad = json.loads(json.dumps(header))
    bad["posedirs"]["shape"] = [40, 3, 35]
    write(bad)
    expect_error(flame_core.load_model, path)
    bad = json.loads(json.dumps(header))
    bad["posedirs"]["dtype"] = "Q99"
    write(bad)
    expect_error(flame_core.load_model, path)
    path.write_bytes(struct.pack("<Q", 10**12) + data[8:])
    expect_error(flame_core.load_model, path, "header")
    # A valid file whose v_template is (N, 2).
    arrays, meta = flame_core.io.layout.model_to_arrays(flame_core.load_model(good["npz_model"]))
    arrays["v_template"] = arrays["v_template"][:, :2].copy()
    path.write_bytes(flame_core.io.safetensors_io.encode(arrays, meta))
    expect_error(flame_core.load_model, path, "v_template")


def test_npy_folder_errors(tmp_path, good):
    folder = tmp_path / "model"
    folder.mkdir()
    expect_error(flame_core.load_model, folder, "no .npy")
    for file in Path(good["folder_model"]).rglob("*"):
        target = folder / file.relative_to(good["folder_model"])
        if file.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.write_bytes(file.read_bytes())
    (folder / "lbs_weights.npy").unlink()
    expect_error(flame_core.load_model, folder, "lbs_weights")
    np.save(folder / "lbs_weights.npy", np.zeros((40, 3), np.float32))
    expect_error(flame_core.load_model, folder, "weights")
    truncated_copy(Path(good["folder_model"]) / "shapedirs.npy", folder / "shapedirs.npy")
    expect_error(flame_core.load_model, folder, "shapedirs")
    (folder / "metadata.json").write_text("{not json")
    expect_error(flame_core.load_model, folder)


def test_obj_errors(tmp_path):
    path = tmp_path / "head_template.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nvt 0 0\nvt 1 0\nf 1/1 2/2 3/3 4/1\n")
    expect_error(load_uvs, path, "triangles")
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2/2 3/3\n")
    expect_error(load_uvs, path, "out of range")
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    expect_error(load_uvs, path, "UV")


def test_masks_and_landmarks_wrong_content(tmp_path):
    path = syn.write_py2_pickle(tmp_path / "FLAME_masks.pkl", {"face": np.zeros((3, 2), np.int64)})
    expect_error(load_masks, path, "face")
    path = syn.write_py2_pickle(tmp_path / "FLAME_masks.pkl", {"face": np.array([0.5, 1.0])})
    expect_error(load_masks, path, "face")
    path = syn.write_py2_pickle(tmp_path / "flame_static_embedding.pkl",
                                {"lmk_face_idx": np.arange(51), "lmk_b_coords": np.ones((50, 3))})
    expect_error(load_landmarks, path)
    path = syn.write_py2_pickle(tmp_path / "flame_static_embedding.pkl",
                                {"lmk_face_idx": np.linspace(0, 1, 51), "lmk_b_coords": np.ones((51, 3))})
    expect_error(load_landmarks, path, "lmk_face_idx")
    path = syn.write_object_npy(tmp_path / "flame_dynamic_embedding.npy",
                                {"lmk_face_idx": np.zeros((78, 17), np.int64), "lmk_b_coords": np.ones((78, 17, 3))})
    expect_error(load_landmarks, path, "lmk_face_idx")
    path = syn.write_texture_npz(tmp_path / "FLAME_texture.npz", np.zeros((5, 2)), np.full((4, 3), 9))
    expect_error(load_uvs, path, "ft")
