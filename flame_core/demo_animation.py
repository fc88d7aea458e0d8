"""A generated performance for the demo head: talking, blinking, smiling and looking around.

    seq = demo_sequence(frames=120, fps=30)   # a FlameSequence, deterministic for a seed

It drives the demo model's named expressions (:data:`flame_core.demo.EXPRESSION_NAMES`), so on a
licensed FLAME model the expression channels mean something else, while pose and timing still apply.
"""

from __future__ import annotations

import math

import numpy as np

from .demo import EXPRESSION_NAMES
from .errors import FlameError
from .params import N_EXPRESSION, FlameParams
from .sampling import random_generator
from .sequence import FlameSequence


def demo_sequence(frames: int = 120, fps: float = 30.0, seed: int = 0) -> FlameSequence:
    """A smooth, looping-free animation of ``frames`` frames at ``fps`` for the demo head."""
    if isinstance(frames, bool) or not isinstance(frames, int | np.integer) or frames < 1:
        raise FlameError(f"frames must be an integer of at least 1, got {frames!r}")
    if not (isinstance(fps, int | float | np.number) and math.isfinite(fps) and fps > 0):
        raise FlameError(f"fps must be a positive number, got {fps!r}")
    rng = random_generator(seed)
    t = np.arange(frames) / fps
    phase = rng.uniform(0, 2 * np.pi, size=8)
    expression = np.zeros((frames, N_EXPRESSION))

    def channel(name: str) -> np.ndarray:
        return expression[:, EXPRESSION_NAMES.index(name)]

    # Speech: a jaw and lip rhythm around 4 syllables a second, in phrases.
    phrase = np.clip(np.sin(2 * np.pi * 0.35 * t + phase[0]) * 1.5 + 0.3, 0, 1)
    syllables = 0.5 + 0.5 * np.sin(2 * np.pi * 4.1 * t + phase[1])
    jaw_open = 0.18 * phrase * syllables
    channel("pucker")[:] = 0.6 * phrase * np.clip(np.sin(2 * np.pi * 1.3 * t + phase[2]), 0, 1)
    channel("lip_stretch")[:] = 0.4 * phrase * np.clip(np.sin(2 * np.pi * 1.7 * t + phase[3]), 0, 1)
    # A smile that comes and goes, brows that follow it.
    smile = np.clip(np.sin(2 * np.pi * 0.2 * t + phase[4]), 0, 1) ** 2
    channel("smile")[:] = 0.9 * smile
    channel("brows_raise")[:] = 0.5 * smile * (1 - phrase * 0.5)
    # Blinks: short closures every 2-4 seconds.
    blink = np.zeros(frames)
    start = rng.uniform(0.3, 1.5)
    while start < t[-1] + 1:
        blink += np.exp(-(((t - start) / 0.06) ** 2))
        start += rng.uniform(2.0, 4.0)
    channel("blink_left")[:] = np.minimum(blink, 1)
    channel("blink_right")[:] = np.minimum(blink, 1)

    # Looking around: the head turns and nods, the neck follows a little, the eyes lead.
    yaw = 0.35 * np.sin(2 * np.pi * 0.15 * t + phase[5])
    pitch = 0.08 * np.sin(2 * np.pi * 0.23 * t + phase[6])
    roll = 0.04 * np.sin(2 * np.pi * 0.11 * t + phase[7])
    zeros = np.zeros(frames)
    eye_yaw = 0.25 * np.sin(2 * np.pi * 0.15 * t + phase[5] + 0.6)
    eyes = np.stack([zeros, eye_yaw, zeros, zeros, eye_yaw, zeros], axis=1)
    params = FlameParams(
        expression=expression,
        rotation=np.stack([pitch, 0.6 * yaw, roll], axis=1),
        neck=np.stack([0.5 * pitch, 0.4 * yaw, zeros], axis=1),
        jaw=np.stack([jaw_open, zeros, zeros], axis=1),
        eyes=eyes,
        translation=np.zeros((frames, 3)),
    )
    return FlameSequence(params, fps=float(fps), source="demo", format="demo")
