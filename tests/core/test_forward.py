"""FlameModel.forward against an independent float64 implementation of the equations."""

from __future__ import annotations

import numpy as np
import pytest
import reference_flame
from conftest import random_arrays

from flame_core import FlameModel, FlameParams, ParamsError
from flame_core.lbs import rodrigues


def random_params(rng: np.random.Generator, batch: tuple[int, ...] = (), scale: float = 0.4) -> FlameParams:
    return FlameParams(
        shape=rng.normal(size=(300,)),
        expression=rng.normal(size=batch + (100,)),
        rotation=rng.normal(size=batch + (3,)) * scale,
        neck=rng.normal(size=batch + (3,)) * scale,
        jaw=rng.normal(size=batch + (3,)) * scale,
        eyes=rng.normal(size=batch + (6,)) * scale,
        translation=rng.normal(size=batch + (3,)),
    )


def reference(arrays: dict, p: FlameParams) -> tuple[np.ndarray, np.ndarray]:
    n_shape, n_expr = arrays["shapedirs"].shape[2], arrays["exprdirs"].shape[2]
    return reference_flame.forward(
        arrays, p.values("shape", n_shape), p.values("expression", n_expr), p.pose, p.values("translation")
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_float64_matches_reference(small_arrays: dict, seed: int) -> None:
    model = FlameModel(**small_arrays, dtype=np.float64)
    p = random_params(np.random.default_rng(seed))
    out = model.forward(p)
    ref_v, ref_j = reference(small_arrays, p)
    np.testing.assert_allclose(out.vertices, ref_v, rtol=0, atol=1e-7)
    np.testing.assert_allclose(out.joints, ref_j, rtol=0, atol=1e-7)
    assert out.vertices.dtype == np.float64


def test_float32_default_matches_reference_full_size(full_arrays: dict) -> None:
    model = FlameModel(**full_arrays)
    p = random_params(np.random.default_rng(3))
    out = model.forward(p)
    ref_v, ref_j = reference(full_arrays, p)
    assert out.vertices.dtype == np.float32 and out.vertices.shape == (5023, 3)
    assert out.joints.shape == (5, 3)
    np.testing.assert_allclose(out.vertices, ref_v, rtol=0, atol=2e-5)
    np.testing.assert_allclose(out.joints, ref_j, rtol=0, atol=2e-5)


def test_each_pose_corrective_is_used(small_arrays: dict) -> None:
    """Perturbing each of the 36 corrective columns changes the result for a posed frame."""
    p = random_params(np.random.default_rng(4))
    base = FlameModel(**small_arrays, dtype=np.float64).forward(p).vertices
    for k in range(36):
        arrays = dict(small_arrays, posedirs=small_arrays["posedirs"].copy())
        arrays["posedirs"][:, :, k] += 0.05
        moved = FlameModel(**arrays, dtype=np.float64).forward(p).vertices
        ref_v, _ = reference(arrays, p)
        assert np.abs(moved - base).max() > 1e-6, f"corrective {k} has no effect"
        np.testing.assert_allclose(moved, ref_v, atol=1e-7)


def test_joints_follow_expression(small_arrays: dict) -> None:
    """Joints are regressed from the shaped mesh including expression."""
    model = FlameModel(**small_arrays, dtype=np.float64)
    a = model.forward(FlameParams()).joints
    b = model.forward(FlameParams(expression=[3.0])).joints
    expected = small_arrays["j_regressor"] @ (small_arrays["v_template"] + 3.0 * small_arrays["exprdirs"][:, :, 0])
    np.testing.assert_allclose(b, expected, atol=1e-12)
    assert not np.allclose(a, b)


def test_zero_params_give_template(small_arrays: dict) -> None:
    out = FlameModel(**small_arrays, dtype=np.float64).forward(FlameParams())
    np.testing.assert_allclose(out.vertices, small_arrays["v_template"], rtol=0, atol=1e-14)
    assert np.all(np.isfinite(out.vertices))


def test_translation_is_added_last(small_model: FlameModel) -> None:
    p = random_params(np.random.default_rng(5))
    a = small_model.forward(p.replace(translation=[0, 0, 0]))
    b = small_model.forward(p.replace(translation=[1.0, -2.0, 0.5]))
    np.testing.assert_allclose(b.vertices - a.vertices, np.broadcast_to([1.0, -2.0, 0.5], a.vertices.shape), atol=1e-12)
    np.testing.assert_allclose(b.joints - a.joints, np.broadcast_to([1.0, -2.0, 0.5], a.joints.shape), atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_equals_loop_of_singles(small_arrays: dict, dtype: type) -> None:
    model = FlameModel(**small_arrays, dtype=dtype)
    p = random_params(np.random.default_rng(6), batch=(150,))  # more than one chunk and sub-chunk
    out = model.forward(p)
    assert out.vertices.shape == (150, 60, 3) and out.joints.shape == (150, 5, 3)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for i in range(150):
        single = model.forward(p[i])
        np.testing.assert_allclose(out.vertices[i], single.vertices, atol=tol)
        np.testing.assert_allclose(out.joints[i], single.joints, atol=tol)


def test_two_batch_axes_and_batched_shape(small_arrays: dict) -> None:
    model = FlameModel(**small_arrays, dtype=np.float64)
    rng = np.random.default_rng(7)
    p = random_params(rng, batch=(2, 3)).replace(shape=rng.normal(size=(2, 3, 300)))
    out = model.forward(p)
    assert out.vertices.shape == (2, 3, 60, 3)
    for i in range(2):
        for j in range(3):
            ref_v, ref_j = reference(small_arrays, p[i, j])
            np.testing.assert_allclose(out.vertices[i, j], ref_v, atol=1e-7)
            np.testing.assert_allclose(out.joints[i, j], ref_j, atol=1e-7)


def test_identity_cache_gives_identical_results(full_arrays: dict) -> None:
    model = FlameModel(**full_arrays)
    rng = np.random.default_rng(8)
    shape = rng.normal(size=300)
    frames = [random_params(rng).replace(shape=shape) for _ in range(3)]
    warm = [model.forward(p).vertices for p in frames]  # the cache is reused after the first
    for p, v in zip(frames, warm):
        fresh = FlameModel(**full_arrays)
        np.testing.assert_array_equal(fresh.forward(p).vertices, v)
    other = frames[0].replace(shape=rng.normal(size=300))
    np.testing.assert_array_equal(model.forward(other).vertices, FlameModel(**full_arrays).forward(other).vertices)
    # And back: the cache follows the shape, never returns a stale identity.
    np.testing.assert_array_equal(model.forward(frames[1]).vertices, warm[1])


def test_identity_cache_skips_identity_work(full_arrays: dict) -> None:
    model = FlameModel(**full_arrays)
    p = random_params(np.random.default_rng(9))
    model.forward(p)
    cached = model.identity(p.values("shape", model.n_shape))
    model.forward(p.replace(jaw=[0.3, 0, 0]))
    assert model.identity(p.values("shape", model.n_shape))[0] is cached[0]


def test_short_coefficients_are_zero_padded(small_model: FlameModel) -> None:
    a = small_model.forward(FlameParams(shape=[0.5, -1.0], expression=[2.0]))
    b = small_model.forward(FlameParams(shape=np.r_[0.5, -1.0, np.zeros(298)], expression=np.r_[2.0, np.zeros(99)]))
    np.testing.assert_array_equal(a.vertices, b.vertices)


def test_truncated_model(small_arrays: dict) -> None:
    model = FlameModel(**small_arrays, dtype=np.float64)
    small = model.truncated(n_shape=10, n_expression=5)
    assert (small.n_shape, small.n_expression) == (10, 5)
    p = FlameParams(shape=np.arange(10) * 0.1, expression=np.ones(5))
    np.testing.assert_allclose(small.forward(p).vertices, model.forward(p).vertices, atol=1e-12)
    with pytest.raises(ParamsError, match="shape"):
        small.forward(FlameParams(shape=np.ones(20)))


def test_rodrigues_zero_is_exact_identity() -> None:
    r = rodrigues(np.zeros((4, 3)))
    assert np.all(np.isfinite(r))
    np.testing.assert_array_equal(r, np.broadcast_to(np.eye(3), (4, 3, 3)))


def test_rodrigues_is_a_rotation() -> None:
    rng = np.random.default_rng(10)
    vecs = rng.normal(size=(50, 3)) * 2
    r = rodrigues(vecs)
    np.testing.assert_allclose(r @ np.swapaxes(r, -1, -2), np.broadcast_to(np.eye(3), r.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-12)
    for v, m in zip(vecs, r):
        np.testing.assert_allclose(m, reference_flame.rotation_matrix(v), atol=1e-7)
        np.testing.assert_allclose(m @ v, v, atol=1e-7)  # the axis is fixed


def test_odd_sizes_follow_the_layout() -> None:
    arrays = random_arrays(n_verts=30, n_faces=20, n_shape=7, n_expr=3, seed=11)
    model = FlameModel(**arrays, dtype=np.float64)
    p = FlameParams(shape=np.ones(7), expression=np.ones(3), jaw=[0.2, 0.1, 0])
    ref_v, _ = reference(arrays, p)
    np.testing.assert_allclose(model.forward(p).vertices, ref_v, atol=1e-9)


def test_model_without_expression_components(small_arrays: dict) -> None:
    arrays = dict(
        small_arrays, exprdirs=small_arrays["exprdirs"][:, :, :0], shapedirs=small_arrays["shapedirs"][:, :, :0]
    )
    model = FlameModel(**arrays, dtype=np.float64)
    assert (model.n_shape, model.n_expression) == (0, 0)
    assert model.exprdirs.shape == (60, 3, 0)
    p = FlameParams(jaw=[0.3, 0, 0])
    np.testing.assert_allclose(model.forward(p).vertices, reference(arrays, p)[0], atol=1e-9)


def test_results_do_not_depend_on_input_memory_layout(small_arrays: dict) -> None:
    model = FlameModel(**small_arrays, dtype=np.float64)
    again = FlameModel(**model.arrays(), dtype=np.float64)  # views in other layouts
    transposed = {k: np.asfortranarray(v) for k, v in small_arrays.items()}
    p = random_params(np.random.default_rng(12))
    for other in (again, FlameModel(**transposed, dtype=np.float64)):
        out, ref = other.forward(p), model.forward(p)
        np.testing.assert_array_equal(out.vertices, ref.vertices)
        np.testing.assert_array_equal(out.joints, ref.joints)
