"""Parameter tables as animation channels: padding, constant columns, used counts, range replacement."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core import FlameParams, ParamsError
from flame_core.channels import (
    constant_columns,
    field_values,
    sequence_channels,
    used_count,
    varies,
)


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


def test_sequence_channels_key_constants_once_and_leave_missing_fields_out() -> None:
    frames = np.arange(-10, 10, dtype=np.float64)
    rng = np.random.default_rng(0)
    params = FlameParams(shape=rng.normal(size=4), expression=np.c_[rng.normal(size=(20, 2)), np.zeros((20, 1))],
                         jaw=np.tile([0.1, 0.0, 0.0], (20, 1)))
    sizes = {"shape": 5, "expression": 3, "jaw": 3, "neck": 3}
    out = sequence_channels(params, sizes, frames)
    assert out.fields == ("shape", "expression", "jaw")  # neck is not in the file: no channel at all
    by_key = {(c.field, c.index): c for c in out.keyed}
    assert len(by_key) == 5 + 3 + 3 and not out.constants
    assert (out.n_varying, out.n_constant) == (2, 9)
    np.testing.assert_array_equal(by_key[("shape", 2)].frames, [-10.0])
    assert by_key[("shape", 2)].values[0] == params.shape[2] and by_key[("shape", 4)].values[0] == 0.0
    np.testing.assert_array_equal(by_key[("expression", 1)].frames, frames)
    np.testing.assert_array_equal(by_key[("expression", 1)].values, params.expression[:, 1])
    np.testing.assert_array_equal(by_key[("jaw", 0)].values, [0.1])
    ends = sequence_channels(params, sizes, frames, range_ends=True)
    np.testing.assert_array_equal({(c.field, c.index): c for c in ends.keyed}[("jaw", 0)].frames, [-10.0, 9.0])
    none = sequence_channels(params, sizes, frames, constant="NONE")
    assert len(none.keyed) == 2 and none.constants[("jaw", 0)] == 0.1 and none.constants[("shape", 4)] == 0.0
    with pytest.raises(ParamsError, match="constant-channel mode"):
        sequence_channels(params, sizes, frames, constant="SOME")
