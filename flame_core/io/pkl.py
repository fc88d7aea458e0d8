"""The official FLAME model pickles (FLAME 2020 ``generic_model.pkl``, FLAME 2023, FLAME 2023 Open)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ModelFileError
from . import safe_pickle


def read_pkl(path: str | Path) -> dict[str, Any]:
    """The top-level dict of a model pickle, read with the restricted unpickler.

    Values are left as read (arrays, chumpy placeholders, sparse matrices); the layout module
    converts the ones it needs.
    """
    data = safe_pickle.load(path)
    if not isinstance(data, dict):
        raise ModelFileError(path, "not a FLAME model pickle", expected="a dict of arrays", found=type(data).__name__)
    return {str(k): v for k, v in data.items()}
