"""Edge cases: empty batches, read-only shared arrays, and bad arguments that must raise FlameError."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core import (
    Camera,
    FlameError,
    FlameParams,
    FlameSequence,
    SequenceFileError,
    demo_model,
    demo_sequence,
    load_sequence,
    sample_surface,
    vertex_normals,
)


@pytest.fixture(scope="module")
def model():
    return demo_model(n_shape=20, n_expression=10)


def test_model_arrays_cannot_be_changed_in_place(model):
    before = model.forward(jaw=[0.2, 0.0, 0.0]).vertices.copy()
    v_id, j_id = model.identity(np.zeros(model.n_shape))
    arrays = [model.v_template, model.faces, model.shapedirs, model.exprdirs, model.posedirs, model.weights,
              model.j_regressor, model.uv_coords, model.uv_faces, v_id, j_id, *model.masks.values(),
              *(v for k, v in model.arrays().items() if k != "parents")]
    for array in arrays:
        with pytest.raises(ValueError):
            array[...] = 0
    np.testing.assert_array_equal(model.forward(jaw=[0.2, 0.0, 0.0]).vertices, before)


def test_landmark_embedding_is_not_shared_mutable_state():
    first = demo_model()
    with pytest.raises(ValueError):
        first.landmarks.barycentric[0] = 0.0
    with pytest.raises(ValueError):
        first.landmarks.contour_face_index[0, 0] = 0
    np.testing.assert_allclose(demo_model().landmarks.barycentric.sum(axis=1), 1.0, atol=1e-6)


def test_model_does_not_freeze_the_callers_arrays(model):
    arrays = {k: np.array(v) for k, v in model.arrays().items()}
    type(model)(**arrays)
    assert all(a.flags.writeable for a in arrays.values())


@pytest.mark.parametrize("batch", [(0,), (2, 0)])
def test_forward_of_an_empty_batch_is_empty(model, batch):
    out = model.forward(expression=np.zeros(batch + (10,)))
    assert out.vertices.shape == batch + (model.n_vertices, 3)
    assert out.joints.shape == batch + (5, 3)
    assert out.landmarks is not None and out.landmarks.shape == batch + (model.landmarks.count, 3)


def test_vertex_normals_without_faces_are_zero():
    normals = vertex_normals(np.ones((2, 4, 3)), np.zeros((0, 3), dtype=np.int64))
    assert normals.shape == (2, 4, 3) and not normals.any()


def test_a_sequence_file_without_frames_is_refused(tmp_path):
    path = tmp_path / "empty.npz"
    np.savez(path, expr=np.zeros((0, 100)), rotation=np.zeros((0, 3)))
    with pytest.raises(SequenceFileError, match="no frames") as info:
        load_sequence(path)
    assert info.value.path == str(path)


def test_resampling_a_sequence_without_frames_raises():
    seq = FlameSequence(FlameParams(expression=np.zeros((0, 10))), fps=30.0)
    with pytest.raises(FlameError):
        seq.resample(60.0)


@pytest.mark.parametrize("seed", [-1, 1.5, "x"])
def test_bad_seeds_raise_flame_error(model, seed):
    with pytest.raises(FlameError, match="seed"):
        sample_surface(model.v_template, model.faces, 10, seed=seed)
    with pytest.raises(FlameError, match="seed"):
        demo_sequence(5, seed=seed)


@pytest.mark.parametrize(("frames", "fps"), [(0, 30.0), (2.5, 30.0), (True, 30.0), (5, 0.0), (5, float("nan"))])
def test_demo_sequence_checks_its_arguments(frames, fps):
    with pytest.raises(FlameError):
        demo_sequence(frames, fps=fps)


@pytest.mark.parametrize(("n_shape", "n_expression"), [(-1, None), (2.5, None), (None, 11)])
def test_truncation_checks_its_arguments(model, n_shape, n_expression):
    with pytest.raises(FlameError):
        model.truncated(n_shape, n_expression)


def test_model_dtype_must_be_floating(model):
    with pytest.raises(FlameError, match="dtype"):
        model.astype(np.int32)


@pytest.mark.parametrize("name", ["fx", "fy", "cx", "cy", "near"])
def test_camera_refuses_non_finite_intrinsics(name):
    values = {"fx": 100.0, "fy": 100.0, "cx": 32.0, "cy": 32.0, "width": 64, "height": 64, "near": 0.01}
    Camera(**values)
    with pytest.raises(FlameError):
        Camera(**{**values, name: float("nan")})
    with pytest.raises(FlameError):
        Camera(**{**values, name: "wide"})
