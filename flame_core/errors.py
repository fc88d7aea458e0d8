"""Exceptions raised by flame_core. Every one is a ``ValueError`` subclass."""

from __future__ import annotations

from pathlib import Path


class FlameError(ValueError):
    """Base class of every error flame_core raises on bad input."""


class ParamsError(FlameError):
    """Parameters that do not fit the FLAME layout (sizes, batch axes, non-finite values)."""


class FileFormatError(FlameError):
    """A file that cannot be read: names the file, the key, what was expected and what was found.

    The message reads ``"<path>: key '<key>': <problem>; expected <expected>, found <found>"``
    with the parts that are not given left out.
    """

    def __init__(
        self,
        path: str | Path | None,
        problem: str,
        *,
        key: str | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.key = key
        self.problem = problem
        self.expected = expected
        self.found = found
        message = problem if key is None else f"key {key!r}: {problem}"
        details = [f"{label} {value}" for label, value in (("expected", expected), ("found", found)) if value]
        if details:
            message += "; " + ", ".join(details)
        super().__init__(f"{self.path}: {message}" if self.path else message)


class ModelFileError(FileFormatError):
    """A FLAME model file (or an attached UV, mask or landmark file) that cannot be used."""


class UnsafePickleError(ModelFileError):
    """A pickle that asks for something outside the allow-list; nothing from it was executed."""


class SequenceFileError(FileFormatError):
    """A parameter sequence file that cannot be read."""


class MeshMismatchError(FlameError):
    """A mesh that no longer has its model's vertices (its geometry was edited or a modifier applied)."""

    def __init__(self, name: str, expected: int, found: int) -> None:
        self.name = name
        self.expected = expected
        self.found = found
        super().__init__(
            f"the mesh of {name!r} no longer has the model's {expected} vertices (it has {found}): its geometry "
            "was edited or a modifier applied; use Rebuild Mesh to get the head back, or Convert to Plain Mesh "
            "to keep the edited mesh"
        )
