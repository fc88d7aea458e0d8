"""The generated demo performance."""

from __future__ import annotations

import numpy as np
import pytest

import flame_core
from flame_core.demo import EXPRESSION_NAMES


def test_demo_sequence_is_deterministic_smooth_and_lively() -> None:
    seq = flame_core.demo_sequence(frames=150, fps=30)
    assert len(seq) == 150 and seq.fps == 30
    assert seq.allclose(flame_core.demo_sequence(frames=150, fps=30))
    assert not seq.allclose(flame_core.demo_sequence(frames=150, fps=30, seed=1))
    p = seq.params
    jaw = p.values("jaw")[:, 0]
    assert jaw.min() >= 0 and jaw.max() > 0.1  # the mouth opens, never over-closes
    blink = p.values("expression")[:, EXPRESSION_NAMES.index("blink_left")]
    assert blink.max() > 0.9 and np.median(blink) < 0.1  # short blinks
    yaw = p.values("rotation")[:, 1]
    assert yaw.max() > 0.05 and yaw.min() < -0.05
    # Smooth: no pose jumps between frames.
    assert np.abs(np.diff(p.pose, axis=0)).max() < 0.1


def test_demo_sequence_poses_the_demo_head() -> None:
    model = flame_core.demo_model()
    out = model.forward(flame_core.demo_sequence(frames=20).params)
    assert out.vertices.shape == (20, 5023, 3) and np.all(np.isfinite(out.vertices))
    with pytest.raises(ValueError):
        flame_core.demo_sequence(frames=0)
