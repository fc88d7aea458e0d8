"""VHAP / GaussianAvatars' FLAME variant: eyelids, teeth, static and dynamic offsets, their files."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import reference_vhap
from conftest import random_arrays

import flame_core
from flame_core import FlameModel, FlameParams, FlameSequence, ParamsError, load_sequence, save_sequence
from flame_core.binding import flame_param_arrays
from flame_core.errors import FlameError, ModelFileError
from flame_core.io import attach, load_model, save_model
from flame_core.teeth import LOWER_LIP_RING, UPPER_LIP_RING, add_teeth, teeth_faces, teeth_uvs

T = 3


def flame_like_arrays(seed: int = 5) -> dict:
    """Random full-size arrays whose triangles make FLAME's lip rings paths of edges (as FLAME's mesh does)."""
    arrays = random_arrays(n_verts=5023, n_faces=9976, seed=seed)
    faces = arrays["faces"].copy()
    k = 0
    for ring in (UPPER_LIP_RING, LOWER_LIP_RING):
        for a, b in itertools.pairwise(ring):
            faces[k] = [a, b, 0]
            k += 1
    arrays["faces"] = faces
    return arrays


@pytest.fixture(scope="module")
def arrays() -> dict:
    return flame_like_arrays()


@pytest.fixture(scope="module")
def eyelid_dirs() -> np.ndarray:
    rng = np.random.default_rng(9)
    dirs = np.zeros((5023, 3, 2))
    dirs[100:140, :, 0] = rng.normal(size=(40, 3)) * 1e-3
    dirs[200:240, :, 1] = rng.normal(size=(40, 3)) * 1e-3
    return dirs


def random_frames(rng: np.random.Generator, n_shape: int = 300, n_expr: int = 100) -> FlameParams:
    return FlameParams(
        shape=rng.normal(size=n_shape), expression=rng.normal(size=(T, n_expr)),
        rotation=rng.normal(size=(T, 3)) * 0.3, neck=rng.normal(size=(T, 3)) * 0.2,
        jaw=np.abs(rng.normal(size=(T, 3))) * 0.2, eyes=rng.normal(size=(T, 6)) * 0.1,
        translation=rng.normal(size=(T, 3)) * 0.05, eyelids=rng.uniform(0, 1, size=(T, 2)),
    )


def test_forward_with_teeth_offsets_and_eyelids_matches_vhap_reference(arrays, eyelid_dirs):
    model = add_teeth(FlameModel(**arrays, eyelid_dirs=eyelid_dirs, dtype=np.float64))
    assert model.n_vertices == 5143 and model.n_faces == 9976 + 168 and model.n_base_vertices == 5023
    rng = np.random.default_rng(1)
    params = random_frames(rng)
    static = rng.normal(size=(1, 5143, 3)) * 1e-3
    dynamic = rng.normal(size=(T, 5143, 3)) * 1e-3
    out = model.forward(params, static_offset=static, dynamic_offset=dynamic)
    teeth = reference_vhap.with_teeth(arrays)
    for t in range(T):
        expected = reference_vhap.forward(
            teeth, params.shape, params.expression[t], params.pose[t], params.translation[t],
            static_offset=static[0], dynamic_offset=dynamic[t], eyelids=params.eyelids[t], eyelid_dirs=eyelid_dirs,
        )
        np.testing.assert_allclose(out.vertices[t], expected, rtol=0, atol=1e-6)
    assert np.abs(out.vertices[:, 5023:] - out.vertices[:, :1]).max() > 0  # the teeth are there and move


def test_teeth_arrays_follow_vhap(arrays):
    model = add_teeth(FlameModel(**arrays, dtype=np.float64))
    reference = reference_vhap.with_teeth(arrays)
    for key in ("v_template", "shapedirs", "exprdirs", "posedirs", "j_regressor", "weights"):
        np.testing.assert_allclose(model.arrays()[key], reference[key], rtol=0, atol=1e-12, err_msg=key)
    faces = model.faces[9976:] - 5023
    np.testing.assert_array_equal(faces, teeth_faces())
    # VHAP's own triangle list at the first face and where the diagonals turn at the middle of each jaw
    assert faces[0].tolist() == [0, 31, 30] and faces[14].tolist() == [7, 8, 37]
    assert faces[84].tolist() == [45, 46, 15] and faces[98].tolist() == [52, 23, 22]
    assert sorted(np.unique(faces).tolist()) == list(range(120))
    assert np.array_equal(model.masks["teeth"], np.r_[model.masks["teeth_upper"], model.masks["teeth_lower"]])
    assert len(model.masks["teeth_upper"]) == len(model.masks["teeth_lower"]) == 60


def test_teeth_uvs_and_metadata_survive_saving(tmp_path, arrays, eyelid_dirs):
    uv = np.random.default_rng(2).random((5023, 2))
    base = FlameModel(**arrays, uv_coords=uv, uv_faces=arrays["faces"], eyelid_dirs=eyelid_dirs)
    model = add_teeth(base)
    assert model.uv_coords.shape == (5143, 2) and model.uv_faces.shape == (10144, 3)
    np.testing.assert_allclose(model.uv_coords[5023:], teeth_uvs().astype(np.float32))
    np.testing.assert_array_equal(model.uv_faces[9976:], teeth_faces() + 5023)
    for name in ("m.npz", "m.safetensors", "m_folder"):
        back = load_model(save_model(model, tmp_path / name))
        assert back.n_added_vertices == 120 and back.has_eyelids
        np.testing.assert_array_equal(back.eyelid_dirs, model.eyelid_dirs)
        np.testing.assert_array_equal(back.faces, model.faces)
        assert back.masks.keys() == model.masks.keys()
    with pytest.raises(FlameError, match="already has 120 added vertices"):
        add_teeth(model)


def test_teeth_refused_on_the_demo_head():
    with pytest.raises(FlameError, match=r"teeth need FLAME's mesh: \d+ of 14 steps of FLAME's upper lip ring"):
        add_teeth(flame_core.demo_model())


def test_offsets_on_either_mesh(arrays):
    base = FlameModel(**arrays, dtype=np.float64)
    teeth = add_teeth(base)
    rng = np.random.default_rng(3)
    params = random_frames(rng).replace(eyelids=None)
    small = rng.normal(size=(T, 5023, 3)) * 1e-3
    padded = np.concatenate([small, np.zeros((T, 120, 3))], axis=1)
    a = teeth.forward(params, dynamic_offset=small).vertices
    b = teeth.forward(params, dynamic_offset=padded).vertices
    np.testing.assert_array_equal(a, b)
    c = base.forward(params, dynamic_offset=small).vertices
    np.testing.assert_allclose(a[:, :5023], c, rtol=0, atol=1e-12)
    with pytest.raises(ParamsError, match="plus 120 teeth; load the model with teeth=True"):
        base.forward(params, static_offset=padded[:1])
    with pytest.raises(ParamsError, match="frame axes"):
        base.forward(params, dynamic_offset=small[:2])
    with pytest.raises(ParamsError, match="has 10 vertices"):
        base.forward(params, static_offset=np.zeros((10, 3)))


def test_static_offset_moves_joints_and_equals_a_template_change(arrays):
    model = FlameModel(**arrays, dtype=np.float64)
    offset = np.random.default_rng(4).normal(size=(5023, 3)) * 1e-2
    moved = FlameModel(**dict(arrays, v_template=arrays["v_template"] + offset), dtype=np.float64)
    params = random_frames(np.random.default_rng(5)).replace(eyelids=None)
    a = model.forward(params, static_offset=offset[None])
    b = moved.forward(params)
    np.testing.assert_allclose(a.vertices, b.vertices, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.joints, b.joints, rtol=0, atol=1e-12)


def test_eyelids_need_eyelid_shapes(arrays):
    model = FlameModel(**arrays)
    assert not model.has_eyelids
    model.forward(FlameParams(eyelids=[0.0, 0.0]))  # zero weights need nothing
    with pytest.raises(ParamsError, match="no eyelid blend shapes"):
        model.forward(FlameParams(eyelids=[0.5, 0.0]))


def test_demo_head_blinks_with_its_eyelid_shapes():
    model = flame_core.demo_model()
    assert model.has_eyelids
    rest = model.forward().vertices
    for side, region in ((0, "left_eye_region"), (1, "right_eye_region")):
        lids = np.zeros(2)
        lids[side] = 1.0
        moved = np.linalg.norm(model.forward(eyelids=lids).vertices - rest, axis=1)
        assert moved.max() > 2e-3
        assert moved[model.masks[region]].sum() > 0.9 * moved.sum()


def write_eyelid_files(folder: Path, dirs: np.ndarray) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    left, right = folder / "l_eyelid.npy", folder / "r_eyelid.npy"
    np.save(left, dirs[:, :, 0])
    np.save(right, dirs[:, :, 1])
    return left, right


def mesh_patch_dirs(model: FlameModel, seeds: tuple[int, int]) -> np.ndarray:
    """Eyelid-like shapes moving one patch of the mesh each (a vertex and its neighbours)."""
    dirs = np.zeros((model.n_vertices, 3, 2))
    for side, seed in enumerate(seeds):
        patch = np.unique(model.faces[np.isin(model.faces, seed).any(axis=1)])
        dirs[patch, 1, side] = -1e-3 * (side + 1)
    return dirs


def test_eyelid_files_attach_from_pair_folder_or_one_file(tmp_path, arrays):
    demo = flame_core.demo_model()
    dirs = mesh_patch_dirs(demo, (100, 200))
    left, right = write_eyelid_files(tmp_path / "lids", dirs)
    bare = FlameModel(**{k: v for k, v in flame_core.demo.demo_arrays().items() if k != "eyelid_dirs"})
    for source in ((left, right), tmp_path / "lids", left, right):
        model = attach(bare, eyelids=source)
        np.testing.assert_array_equal(model.eyelid_dirs, dirs.astype(np.float32))
        assert model.metadata["eyelids_file"] == "l_eyelid.npy + r_eyelid.npy"
    np.save(tmp_path / "lids" / "r_eyelid.npy", np.zeros((10, 3)))
    with pytest.raises(ModelFileError, match=r"r_eyelid\.npy.*differ in size"):
        attach(bare, eyelids=left)


def test_eyelid_files_made_for_another_mesh_are_refused(tmp_path, arrays):
    flame_like = FlameModel(**arrays)
    dirs = mesh_patch_dirs(flame_like, (1000, 2000))
    left, _ = write_eyelid_files(tmp_path, dirs)
    assert attach(flame_like, eyelids=left).has_eyelids
    with pytest.raises(ModelFileError, match="eyelid shapes were not made for this model's mesh"):
        attach(flame_core.demo_model(), eyelids=left)


def test_load_model_with_teeth_and_eyelids(tmp_path, arrays, eyelid_dirs):
    path = save_model(FlameModel(**arrays), tmp_path / "flame.npz")
    dirs = mesh_patch_dirs(FlameModel(**arrays), (1000, 2000))
    left, right = write_eyelid_files(tmp_path / "lids", dirs)
    model = load_model(path, eyelids=(left, right), teeth=True)
    assert model.n_vertices == 5143 and model.has_eyelids
    np.testing.assert_array_equal(model.eyelid_dirs[5023:], 0.0)
    np.testing.assert_array_equal(model.eyelid_dirs[:5023], dirs.astype(np.float32))


# ---------------------------------------------------------------------- files
def vhap_arrays(rng: np.random.Generator, vertices: int = 5143) -> dict[str, np.ndarray]:
    f32 = np.float32
    return {
        "shape": rng.normal(size=300).astype(f32), "expr": rng.normal(size=(T, 100)).astype(f32),
        "rotation": rng.normal(size=(T, 3)).astype(f32), "neck_pose": rng.normal(size=(T, 3)).astype(f32),
        "jaw_pose": rng.normal(size=(T, 3)).astype(f32), "eyes_pose": rng.normal(size=(T, 6)).astype(f32),
        "translation": rng.normal(size=(T, 3)).astype(f32), "eyelid_params": rng.uniform(size=(T, 2)).astype(f32),
        "static_offset": (rng.normal(size=(1, vertices, 3)) * 1e-3).astype(f32),
        "dynamic_offset": (rng.normal(size=(T, vertices, 3)) * 1e-3).astype(f32),
    }


def test_vhap_file_eyelids_and_offsets(tmp_path, arrays):
    a = vhap_arrays(np.random.default_rng(6))
    np.savez(tmp_path / "tracked_flame_params.npz", **a)
    seq = load_sequence(tmp_path / "tracked_flame_params.npz")
    np.testing.assert_array_equal(seq.params.eyelids, a["eyelid_params"])
    assert set(seq.offsets) == {"static_offset", "dynamic_offset"} and seq.frame_keys == {"dynamic_offset"}
    np.testing.assert_array_equal(seq.offsets["dynamic_offset"], a["dynamic_offset"])
    part = seq[1:]
    np.testing.assert_array_equal(part.offsets["dynamic_offset"], a["dynamic_offset"][1:])
    np.testing.assert_array_equal(part.offsets["static_offset"], a["static_offset"])
    # written back: eyelid_params and the offsets, bit for bit
    with np.load(save_sequence(seq, tmp_path / "out.npz")) as back:
        for key in ("eyelid_params", "static_offset", "dynamic_offset", "expr"):
            np.testing.assert_array_equal(back[key], a[key], err_msg=key)
    # applied: a model with teeth takes the 5143-vertex offsets
    model = add_teeth(FlameModel(**arrays, eyelid_dirs=np.zeros((5023, 3, 2)), dtype=np.float64))
    out = model.forward(seq.params, **seq.offsets)
    plain = model.forward(seq.params)
    assert out.vertices.shape == (T, 5143, 3) and not np.allclose(out.vertices, plain.vertices)


def test_sequence_without_eyelids_writes_no_eyelid_key(tmp_path):
    seq = FlameSequence(FlameParams(expression=np.zeros((T, 10)), jaw=np.zeros((T, 3))))
    with np.load(save_sequence(seq, tmp_path / "out.npz")) as back:
        assert "eyelid_params" not in back.files


def test_json_round_trip_keeps_eyelids(tmp_path):
    lids = np.random.default_rng(7).uniform(size=(T, 2))
    seq = FlameSequence(FlameParams(expression=np.zeros((T, 10)), eyelids=lids), fps=25.0)
    back = load_sequence(save_sequence(seq, tmp_path / "out.json"))
    np.testing.assert_array_equal(back.params.eyelids, lids)


def test_flame_param_npz_holds_eyelids_and_the_offsets(tmp_path):
    a = vhap_arrays(np.random.default_rng(8), vertices=5023)
    np.savez(tmp_path / "flame_param.npz", **a)
    seq = load_sequence(tmp_path / "flame_param.npz")
    out = flame_param_arrays(seq.params, offsets=seq.offsets)
    np.testing.assert_array_equal(out["eyelid_params"], a["eyelid_params"])
    assert out["static_offset"].shape == (1, 5143, 3) and out["dynamic_offset"].shape == (T, 5143, 3)
    np.testing.assert_array_equal(out["dynamic_offset"][:, :5023], a["dynamic_offset"])
    np.testing.assert_array_equal(out["dynamic_offset"][:, 5023:], 0.0)
    zeros = flame_param_arrays(FlameParams(jaw=[0.1, 0, 0]))
    assert zeros["eyelid_params"].shape == (1, 2) and not zeros["static_offset"].any()


# ---------------------------------------------------------------------- command line
def test_cli_applies_offsets_and_eyelids_and_refuses_teeth_on_the_demo(tmp_path, capsys, arrays):
    from flame_core.cli import main

    model_path = save_model(FlameModel(**arrays), tmp_path / "flame.npz")
    a = vhap_arrays(np.random.default_rng(10), vertices=5143)
    a["eyelid_params"][:] = 0.0  # the model has no eyelid shapes
    np.savez(tmp_path / "seq.npz", **a)
    assert main(["sample", str(model_path), str(tmp_path / "p.ply"), "-n", "50", "--teeth",
                 "--sequence", str(tmp_path / "seq.npz"), "--frame", "-1", "--bound"]) == 0
    with np.load(tmp_path / "flame_param.npz") as npz:
        np.testing.assert_array_equal(npz["dynamic_offset"], a["dynamic_offset"][-1:])
        np.testing.assert_array_equal(npz["static_offset"], a["static_offset"])
        assert npz["eyelid_params"].shape == (1, 2)
    capsys.readouterr()
    assert main(["sample", str(model_path), str(tmp_path / "q.ply"), "-n", "50",
                 "--sequence", str(tmp_path / "seq.npz")]) == 1
    assert "load the model with teeth=True" in capsys.readouterr().err
    assert main(["info", "--teeth"]) == 2  # info takes no loading options
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "r.ply"), "--teeth"]) == 1
    assert "teeth need FLAME's mesh" in capsys.readouterr().err


def test_added_vertex_count_is_checked(arrays):
    with pytest.raises(ModelFileError, match=r"teeth_vertices.*not a count of added vertices"):
        FlameModel(**arrays, metadata={"teeth_vertices": "99999"})
    assert FlameModel(**arrays, metadata={"teeth_vertices": "120"}).n_base_vertices == 5023 - 120
