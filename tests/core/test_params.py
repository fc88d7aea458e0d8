"""FlameParams: the layout, padding, batch axes and validation."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core import FIELDS, FlameParams, ParamsError
from flame_core.params import FIELD_BY_NAME, N_POSE, POSE_FIELDS


def test_layout_is_consistent() -> None:
    assert [f.name for f in FIELDS] == ["shape", "expression", "rotation", "neck", "jaw", "eyes", "translation",
                                        "eyelids"]
    assert set(FlameParams.__dataclass_fields__) == {f.name for f in FIELDS}
    assert sum(FIELD_BY_NAME[n].size for n in POSE_FIELDS) == N_POSE == 15
    assert sorted(j for n in POSE_FIELDS for j in FIELD_BY_NAME[n].joints) == [0, 1, 2, 3, 4]


def test_missing_fields_are_zero_and_short_ones_padded() -> None:
    p = FlameParams(expression=[1.0, 2.0])
    assert p.batch_shape == ()
    np.testing.assert_array_equal(p.values("shape"), np.zeros(300))
    e = p.values("expression")
    assert e.shape == (100,) and e[0] == 1.0 and e[1] == 2.0 and not e[2:].any()
    np.testing.assert_array_equal(p.pose, np.zeros(15))


def test_pose_order_and_from_pose() -> None:
    pose = np.arange(15, dtype=float) / 10
    p = FlameParams.from_pose(pose, translation=[1, 2, 3])
    np.testing.assert_array_equal(p.rotation, pose[0:3])
    np.testing.assert_array_equal(p.neck, pose[3:6])
    np.testing.assert_array_equal(p.jaw, pose[6:9])
    np.testing.assert_array_equal(p.eyes, pose[9:15])
    np.testing.assert_array_equal(p.pose, pose)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"shape": np.ones(301)}, "at most 300"),
        ({"expression": np.ones(101)}, "at most 100"),
        ({"jaw": [0.1, 0.2]}, "must have 3"),
        ({"eyes": np.zeros(3)}, "must have 6"),
        ({"translation": [0, np.nan, 0]}, "non-finite"),
        ({"expression": [np.inf]}, "non-finite"),
        ({"jaw": 0.3}, "scalar"),
        ({"jaw": ["a", "b", "c"]}, "not numeric"),
        ({"expression": np.zeros((4, 10)), "jaw": np.zeros((5, 3))}, "batch axes"),
    ],
)
def test_bad_params_are_value_errors(fields: dict, message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        FlameParams(**fields)
    with pytest.raises(ValueError):
        FlameParams(**fields)


def test_batch_axes_broadcast_unbatched_fields() -> None:
    p = FlameParams(shape=np.ones(300), expression=np.zeros((10, 100)), jaw=np.zeros((10, 3)))
    assert p.batch_shape == (10,) and len(p) == 10
    assert p.values("shape", broadcast=True).shape == (10, 300)
    assert p.values("shape").shape == (300,)
    assert p.pose.shape == (10, 15)
    frame = p[3]
    assert frame.batch_shape == () and frame.shape is not None and frame.shape.shape == (300,)
    assert p[2:5].batch_shape == (3,)


def test_stack_and_allclose() -> None:
    frames = [FlameParams(expression=[float(i)], jaw=[0.1 * i, 0, 0]) for i in range(4)]
    stacked = FlameParams.stack(frames)
    assert stacked.batch_shape == (4,)
    for i, f in enumerate(frames):
        assert stacked[i].allclose(f)
    assert not stacked[0].allclose(frames[1])


def test_values_refuses_to_drop_non_zero_coefficients() -> None:
    p = FlameParams(shape=np.r_[np.zeros(50), 1.0])
    with pytest.raises(ParamsError, match="beyond"):
        p.values("shape", 50)
    assert p.values("shape", 51)[-1] == 1.0
    assert FlameParams(shape=np.zeros(300)).values("shape", 10).shape == (10,)


def test_from_dict_rejects_unknown_names_and_fields_are_read_only() -> None:
    with pytest.raises(ParamsError, match="unknown"):
        FlameParams.from_dict({"expr": [1.0]})
    p = FlameParams.from_dict({"jaw": [0.1, 0, 0]})
    assert p.jaw is not None
    with pytest.raises(ValueError):
        p.jaw[0] = 1.0
    q = p.replace(jaw=None, neck=[0, 0.2, 0])
    assert q.jaw is None and q.neck is not None
