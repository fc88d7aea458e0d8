"""Parameter tables as animation channels: padding, constant columns, used counts, range replacement."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core import FlameParams, ParamsError
from flame_core.channels import constant_columns, field_values, replace_range, used_count, varies


def test_field_values_pad_and_cut() -> None:
    params = FlameParams(expression=np.arange(6, dtype=float).reshape(2, 3))
    np.testing.assert_array_equal(field_values(params, "expression", 5), [[0, 1, 2, 0, 0], [3, 4, 5, 0, 0]])
    np.testing.assert_array_equal(field_values(params, "expression", 2), [[0, 1], [3, 4]])
    np.testing.assert_array_equal(field_values(params, "jaw", 3, frames=2), np.zeros((2, 3)))
    with pytest.raises(ParamsError, match="unknown parameter field"):
        field_values(params, "mouth", 3)


def test_constant_columns_and_varies() -> None:
    table = np.array([[1.0, 2.0, 3.0], [1.0, 2.5, 3.0], [1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(constant_columns(table), [True, False, True])
    assert varies(table)
    assert not varies(table[:, [0, 2]])
    assert not varies(table[:1])
    assert constant_columns(np.zeros((0, 4))).all()


def test_used_count_drops_trailing_zeros() -> None:
    values = np.zeros((3, 10))
    assert used_count(values) == 0
    values[1, 6] = 0.5
    assert used_count(values) == 7
    assert used_count(None) == 0


def test_replace_range_keeps_keys_outside() -> None:
    frames, values = replace_range([1, 5, 10, 20, 500], [1, 5, 10, 20, 500], [8, 9, 10, 11], [0, 0, 0, 0])
    np.testing.assert_array_equal(frames, [1, 5, 8, 9, 10, 11, 20, 500])
    np.testing.assert_array_equal(values, [1, 5, 0, 0, 0, 0, 20, 500])
    same = replace_range([1, 2], [3, 4], [], [])
    np.testing.assert_array_equal(same[0], [1, 2])
