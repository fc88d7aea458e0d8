"""Shared fixtures: small and full-size random models in the official array layout."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core import FlameModel


def random_arrays(n_verts: int = 60, n_faces: int = 100, n_shape: int = 300, n_expr: int = 100, seed: int = 0) -> dict:
    """Random but valid FLAME arrays (float64) with the official names and shapes."""
    rng = np.random.default_rng(seed)
    weights = rng.random((n_verts, 5)) ** 4
    weights /= weights.sum(axis=1, keepdims=True)
    regressor = rng.random((5, n_verts)) * (rng.random((5, n_verts)) < 0.2)
    regressor[:, 0] += 1e-3
    regressor /= regressor.sum(axis=1, keepdims=True)
    faces = np.stack([rng.permutation(n_verts)[:3] for _ in range(n_faces)])
    return {
        "v_template": rng.normal(size=(n_verts, 3)) * 0.1,
        "faces": faces,
        "shapedirs": rng.normal(size=(n_verts, 3, n_shape)) * 1e-3,
        "exprdirs": rng.normal(size=(n_verts, 3, n_expr)) * 1e-3,
        "posedirs": rng.normal(size=(n_verts, 3, 36)) * 1e-2,
        "j_regressor": regressor,
        "weights": weights,
        "parents": np.array([-1, 0, 1, 1, 1]),
    }


@pytest.fixture
def small_arrays() -> dict:
    return random_arrays()


@pytest.fixture
def small_model(small_arrays: dict) -> FlameModel:
    return FlameModel(**small_arrays, dtype=np.float64)


@pytest.fixture(scope="session")
def full_arrays() -> dict:
    return random_arrays(n_verts=5023, n_faces=9976, seed=1)
