"""Human names of blend-shape components, carried in the model's metadata."""

from __future__ import annotations

import numpy as np
from conftest import random_arrays

import flame_core
from flame_core import FlameModel
from flame_core.demo import EXPRESSION_NAMES, SHAPE_NAMES
from flame_core.model import names_metadata


def test_demo_model_names_its_first_components(tmp_path):
    model = flame_core.demo_model(n_shape=5, n_expression=40)
    assert model.component_names("shape") == SHAPE_NAMES[:5]
    assert model.component_names("expression") == EXPRESSION_NAMES  # 20 named of 40
    assert model.truncated(n_expression=2).component_names("expression") == EXPRESSION_NAMES[:2]
    for suffix in (".npz", ".safetensors"):
        saved = flame_core.load_model(flame_core.save_model(model, tmp_path / f"m{suffix}"))
        assert saved.component_names("expression") == EXPRESSION_NAMES


def test_models_without_names_or_with_bad_metadata_have_none():
    arrays = random_arrays()
    assert FlameModel(**arrays).component_names("shape") == ()
    broken = FlameModel(**arrays, metadata={"shape_names": "not json", "expression_names": '{"a": 1}'})
    assert broken.component_names("shape") == () and broken.component_names("expression") == ()
    named = FlameModel(**arrays, metadata=names_metadata("shape", ["wide", "tall"]))
    assert named.component_names("shape") == ("wide", "tall")
    assert np.all(named.forward().vertices == FlameModel(**arrays).forward().vertices)
