"""FLAME <-> Blender axes, defined once in the core, and the world-placement helpers built on them."""

from __future__ import annotations

import numpy as np

from flame_core.axes import (
    FLAME_TO_BLENDER,
    flame_frame,
    from_blender_axes,
    normals_to_world,
    to_blender_axes,
    to_world,
)
from flame_core.render import convention_matrix


def test_mapping_is_the_matrix_and_round_trips() -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(7, 4, 3))
    np.testing.assert_allclose(to_blender_axes(points), points @ FLAME_TO_BLENDER.T)
    np.testing.assert_allclose(from_blender_axes(to_blender_axes(points)), points)
    np.testing.assert_array_equal(to_blender_axes([0.0, 1.0, 0.0]), [0.0, 0.0, 1.0])  # FLAME up is Blender up
    np.testing.assert_array_equal(to_blender_axes([0.0, 0.0, 1.0]), [0.0, -1.0, 0.0])  # the face looks along -Y
    assert np.linalg.det(FLAME_TO_BLENDER) == 1.0
    assert to_blender_axes(np.zeros(3, dtype=np.float32)).dtype == np.float32
    assert to_blender_axes(np.zeros(3)).dtype == np.float64


def test_renderer_uses_the_same_mapping() -> None:
    matrix, _ = convention_matrix("world", "blender")
    np.testing.assert_array_equal(matrix, FLAME_TO_BLENDER)


def test_world_placement() -> None:
    angle = 0.3
    matrix = np.eye(4)
    matrix[:3, :3] = 2.0 * np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    matrix[:3, 3] = (1.0, 2.0, 3.0)
    np.testing.assert_allclose(to_world([[1.0, 0.0, 0.0]], matrix), [[1 + 2 * np.cos(angle), 2 + 2 * np.sin(angle), 3]])
    normal = normals_to_world([[0.0, 0.0, 1.0]], matrix)
    np.testing.assert_allclose(normal, [[0.0, 0.0, 1.0]], atol=1e-12)
    rotation, origin = flame_frame(matrix)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(rotation @ [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], atol=1e-12)  # FLAME up -> world up
    np.testing.assert_allclose(origin, [1.0, 2.0, 3.0])
