"""The restricted unpickler and the official model pickles (FLAME 2020, 2023, 2023 no jaw, 2023 Open)."""

from __future__ import annotations

import os
import pickle
import subprocess

import numpy as np
import pytest
import reference_flame
import synthetic as syn

import flame_core
from flame_core import FlameParams, ModelFileError, UnsafePickleError
from flame_core.io import safe_pickle

# --------------------------------------------------------------------------- allow-list


class _Exploit:
    """Pickles as a call to a dangerous global that would create ``marker``."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _malicious(marker, kind: str) -> bytes:
    command = f"touch {marker}"
    if kind == "os.system":
        return pickle.dumps({"v_template": _Exploit(os.system, (command,))}, protocol=2)
    if kind == "eval":
        code = f"open({str(marker)!r}, 'w').close()"
        return pickle.dumps(_Exploit(eval, (code,)), protocol=2)
    if kind == "subprocess":
        return pickle.dumps([_Exploit(subprocess.Popen, (["touch", str(marker)],))], protocol=2)
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["os.system", "eval", "subprocess"])
def test_refuses_code_execution_and_runs_nothing(tmp_path, kind):
    marker = tmp_path / "marker"
    path = tmp_path / "generic_model.pkl"
    path.write_bytes(_malicious(marker, kind))
    with pytest.raises(UnsafePickleError) as info:
        flame_core.load_model(path)
    assert str(path) in str(info.value)
    refused = {"os.system": ("system",), "eval": ("eval",), "subprocess": ("Popen",)}[kind]
    assert any(name in str(info.value) for name in refused)
    assert not marker.exists()
    # Every reader that unpickles goes through the same allow-list.
    for reader in (flame_core.io.load_masks, flame_core.io.load_landmarks):
        with pytest.raises(UnsafePickleError):
            reader(path)
    assert not marker.exists()


def test_refuses_reconstructor_on_other_classes(tmp_path):
    # copyreg._reconstructor is admitted, but only to create placeholder objects.
    stream = b"\x80\x02ccopy_reg\n_reconstructor\nq\x00cbuiltins\nobject\nq\x01h\x01N\x87q\x02Rq\x03."
    with pytest.raises(UnsafePickleError):
        safe_pickle.loads(stream, tmp_path / "x.pkl")


def test_malicious_pickle_inside_npy_is_refused(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "flame_dynamic_embedding.npy"
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "|O", "fortran_order": False, "shape": ()})
        fh.write(_malicious(marker, "os.system"))
    with pytest.raises(UnsafePickleError):
        flame_core.io.load_landmarks(path)
    assert not marker.exists()


def test_numpy_paths_old_and_new_and_protocols(tmp_path):
    arrays = {"a": np.arange(6.0).reshape(2, 3), "b": np.array([1, 2], np.uint32), "s": np.float64(2.5)}
    for protocol in (2, 3, 4, 5):
        back = safe_pickle.loads(pickle.dumps(arrays, protocol=protocol), tmp_path / "x.pkl")
        assert np.array_equal(back["a"], arrays["a"]) and back["b"].dtype == np.uint32 and back["s"] == 2.5
    old = syn.py2_pickle(arrays)
    assert b"numpy.core.multiarray" in old and b"numpy._core" not in old
    back = safe_pickle.loads(old, tmp_path / "x.pkl")
    assert np.array_equal(back["a"], arrays["a"])


def test_chumpy_reordering_and_sparse_placeholders(tmp_path):
    rng = np.random.default_rng(3)
    value = rng.normal(size=(7, 3))
    dense = rng.random((5, 9)) * (rng.random((5, 9)) < 0.4)
    data = syn.py2_pickle({"sel": syn.chumpy_select(value, rng), "ch": syn.chumpy(value), "sp": syn.csc(dense)})
    back = safe_pickle.loads(data, tmp_path / "x.pkl")
    assert np.array_equal(safe_pickle.to_array(back["sel"]), value)
    assert np.array_equal(safe_pickle.to_array(back["ch"]), value)
    assert np.array_equal(safe_pickle.to_array(back["sp"]), dense)
    broken = syn.py2_pickle({"v": syn.Select(idxs=np.arange(3))})
    with pytest.raises(ModelFileError, match="without an array"):
        safe_pickle.to_array(safe_pickle.loads(broken, "x.pkl")["v"], "x.pkl", "v")


# --------------------------------------------------------------------------- model pickles


@pytest.mark.parametrize("variant", syn.VARIANTS)
def test_variants_load_exactly(tmp_path, variant):
    raw = syn.flame_arrays(seed=4)
    name = {"2020": "generic_model.pkl", "2023": "flame2023.pkl", "2023_no_jaw": "flame2023_no_jaw.pkl",
            "2023_open": "flame2023_Open.pkl"}[variant]
    path = syn.write_flame_pkl(tmp_path / name, raw, variant, reordering=variant == "2023")
    model = flame_core.load_model(path, dtype=np.float64)
    expected = syn.split_arrays(raw)
    for key in ("v_template", "shapedirs", "exprdirs", "posedirs", "j_regressor", "weights"):
        assert np.array_equal(getattr(model, key), expected[key]), key
    assert np.array_equal(model.faces, expected["faces"]) and model.faces.dtype == np.int32
    assert model.parents == syn.PARENTS
    version = {"2020": "FLAME 2020", "2023": "FLAME 2023", "2023_no_jaw": "FLAME 2023 (no jaw)",
               "2023_open": "FLAME 2023 Open"}[variant]
    assert model.metadata["version"].startswith(version)
    assert model.metadata["format"] == "pkl" and model.metadata["source"] == name


def test_open_model_expression_columns_come_from_metadata(tmp_path):
    # 50 expression columns declared 'last_50': the split must follow the metadata, not 300/100.
    raw = syn.flame_arrays(n_shape=120, n_expr=50, seed=5)
    data = {"v_template": raw["v_template"], "f": raw["f"], "shapedirs": syn.chumpy(raw["shapedirs"]),
            "posedirs": raw["posedirs"], "J_regressor": syn.csc(raw["J_regressor"]), "weights": raw["weights"],
            "kintree_table": raw["kintree_table"], "bs_type": "lrotmin",
            "supr_expression_metadata": {"n_expr": 50, "expr_components": "last_50"}}
    path = syn.write_py2_pickle(tmp_path / "open.pkl", data)
    model = flame_core.load_model(path, dtype=np.float64)
    assert (model.n_shape, model.n_expression) == (120, 50)
    assert np.array_equal(model.exprdirs, raw["shapedirs"][:, :, 120:])
    data["supr_expression_metadata"] = {"n_expr": 50, "expr_components": "middle"}
    syn.write_py2_pickle(path, data)
    with pytest.raises(ModelFileError, match="supr_expression_metadata"):
        flame_core.load_model(path)


def test_fewer_columns_split_shape_first(tmp_path):
    raw = syn.flame_arrays(n_shape=300, n_expr=20, seed=6)
    model = flame_core.load_model(syn.write_flame_pkl(tmp_path / "m.pkl", raw), dtype=np.float64)
    assert (model.n_shape, model.n_expression) == (300, 20)
    assert np.array_equal(model.exprdirs, raw["shapedirs"][:, :, 300:])


def test_shape_only_file(tmp_path):
    raw = syn.flame_arrays(n_shape=200, n_expr=0, seed=6)
    model = flame_core.load_model(syn.write_flame_pkl(tmp_path / "m.pkl", raw))
    assert (model.n_shape, model.n_expression) == (200, 0)


def test_bs_type_must_be_lrotmin(tmp_path):
    raw = syn.flame_arrays()
    data = pickle.loads(syn.py2_pickle({"x": 1}))  # sanity: plain dicts round-trip
    assert data == {"x": 1}
    path = syn.write_flame_pkl(tmp_path / "m.pkl", raw)
    content = path.read_bytes().replace(b"lrotmin", b"lrotmax")
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=r"bs_type.*lrotmin"):
        flame_core.load_model(path)


def test_truncation_and_dtype(tmp_path):
    raw = syn.flame_arrays(seed=7)
    path = syn.write_flame_pkl(tmp_path / "generic_model.pkl", raw)
    model = flame_core.load_model(path, n_shape=10, n_expression=5)
    assert (model.n_shape, model.n_expression) == (10, 5) and model.dtype == np.float32
    assert model.metadata["n_shape"] == "10" and model.metadata["n_shape_file"] == "300"
    assert np.array_equal(model.shapedirs, raw["shapedirs"][:, :, :10].astype(np.float32))
    assert np.array_equal(model.exprdirs, raw["shapedirs"][:, :, 300:305].astype(np.float32))
    full = flame_core.load_model(path, dtype=np.float64)
    assert full.dtype == np.float64 and full.metadata["dtype"] == "float64"
    with pytest.raises(flame_core.FlameError, match="n_shape=301"):
        flame_core.load_model(path, n_shape=301)


def test_forward_matches_reference_from_raw_arrays(tmp_path):
    raw = syn.flame_arrays(seed=8)
    model = flame_core.load_model(syn.write_flame_pkl(tmp_path / "generic_model.pkl", raw), dtype=np.float64)
    rng = np.random.default_rng(0)
    params = FlameParams(shape=rng.normal(size=300), expression=rng.normal(size=100),
                         rotation=[0.1, -0.3, 0.05], neck=[0.2, 0.1, 0.0], jaw=[0.3, 0.0, 0.02],
                         eyes=[0.1, 0.2, 0.0, -0.1, 0.2, 0.0], translation=[0.01, -0.02, 0.3])
    out = model.forward(params)
    arrays = syn.split_arrays(raw)
    verts, joints = reference_flame.forward(arrays, params.shape, params.expression, params.pose, params.translation)
    np.testing.assert_allclose(out.vertices, verts, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out.joints, joints, rtol=0, atol=1e-12)


def test_full_size_pickle(tmp_path):
    raw = syn.flame_arrays(n_verts=5023, n_faces=9976, seed=9)
    path = syn.write_flame_pkl(tmp_path / "generic_model.pkl", raw)
    model = flame_core.load_model(path)
    assert (model.n_vertices, model.n_faces, model.n_shape, model.n_expression) == (5023, 9976, 300, 100)
    assert np.array_equal(model.j_regressor, raw["J_regressor"].astype(np.float32))
