"""Objects that follow a head: updated each time the head's mesh is evaluated.

A follower is a child object of a head (``obj.parent is head``) whose custom property
:data:`KIND_KEY` names a registered kind (e.g. ``"LANDMARKS"``). Each kind registers one update
function with :func:`register_follower`; after :func:`evaluate.evaluate` writes a head's vertices it
calls :func:`update_followers`, which runs the function of every follower of that head with a
:class:`FollowerContext` (the head, its model, the parameters and the forward output, in FLAME
axes). Being children, followers inherit the head's object transform, so they work in the head's
local (Blender-axes) space like the head's mesh does.

A failing follower never stops the head or the other followers: its error is printed once and
kept for the panels (:func:`error`).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..flame_core import FlameModel, FlameOutput, FlameParams

#: Custom property on a follower object naming its kind.
KIND_KEY = "flame_follower"


@dataclass(frozen=True)
class FollowerContext:
    """What a follower gets after its head was evaluated (positions in FLAME axes, head-local)."""

    head: Any
    model: FlameModel
    params: FlameParams
    output: FlameOutput


FollowerUpdate = Callable[[Any, FollowerContext], None]

_registry: dict[str, FollowerUpdate] = {}
_wants_landmarks: set[str] = set()
_errors: dict[int, str] = {}


def register_follower(kind: str, update: FollowerUpdate, *, landmarks: bool = False) -> None:
    """Register ``update(follower_obj, context)`` for followers whose ``obj[KIND_KEY] == kind``.

    ``landmarks``: the update reads ``context.output.landmarks`` (heads skip computing them otherwise).
    """
    _registry[kind] = update
    if landmarks:
        _wants_landmarks.add(kind)
    else:
        _wants_landmarks.discard(kind)


def unregister_follower(kind: str) -> None:
    """Forget a kind (its objects stay, but no longer follow)."""
    _registry.pop(kind, None)
    _wants_landmarks.discard(kind)


def registered_kinds() -> tuple[str, ...]:
    return tuple(_registry)


def mark(obj: Any, head: Any, kind: str) -> None:
    """Make ``obj`` a follower of ``head``: parent it (keeping the head-local frame) and tag its kind."""
    obj.parent = head
    obj.matrix_parent_inverse.identity()
    obj[KIND_KEY] = kind


def kind_of(obj: Any) -> str | None:
    """The follower kind of an object (None when it is not a follower)."""
    value = obj.get(KIND_KEY) if obj is not None else None
    return value if isinstance(value, str) else None


def followers_of(head: Any, kind: str | None = None) -> Iterator[Any]:
    """The follower objects of a head (optionally only of one kind)."""
    for child in head.children:
        child_kind = kind_of(child)
        if child_kind is not None and (kind is None or child_kind == kind):
            yield child


def has_followers(head: Any) -> bool:
    return any(kind_of(child) in _registry for child in head.children)


def needs_landmarks(head: Any) -> bool:
    """True when a follower of ``head`` reads the landmarks of its evaluation."""
    return bool(_wants_landmarks) and any(kind_of(child) in _wants_landmarks for child in head.children)


def update_followers(head: Any, model: FlameModel, params: FlameParams, output: FlameOutput) -> int:
    """Run the update of every registered follower of ``head``; returns how many ran without error."""
    if not _registry:
        return 0
    context = FollowerContext(head=head, model=model, params=params, output=output)
    count = 0
    for obj in followers_of(head):
        update = _registry.get(kind_of(obj) or "")
        if update is None:
            continue
        key = obj.session_uid
        try:
            update(obj, context)
        except Exception as exc:  # a follower must never break its head's evaluation
            message = f"{type(exc).__name__}: {exc}"
            if _errors.get(key) != message:
                traceback.print_exc()
                print(f"FLAME Head: follower {obj.name}: {message}", file=sys.stderr)
            _errors[key] = message
            continue
        _errors.pop(key, None)
        count += 1
    return count


def error(obj: Any) -> str | None:
    """The last update error of a follower (None when it followed fine)."""
    return _errors.get(obj.session_uid)


def clear() -> None:
    """Drop every registration and stored error (on unregister)."""
    _registry.clear()
    _wants_landmarks.clear()
    _errors.clear()
