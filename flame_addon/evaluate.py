"""Evaluating heads: parameters -> ``forward`` -> mesh positions -> followers, once per change.

Every path ends here: a slider (property update), the frame-change handler (playback), the depsgraph handler
(drivers, constraints, anything feeding a head) and the operators. A head is evaluated when the parameters it
would be evaluated with differ from those it was last evaluated with (its *signature*), so a head's own mesh
write, which makes Blender report the head as updated again, ends there.

The parameters of a head come from :func:`head_fields`: its properties (read from the depsgraph's evaluated
object when there is one, so drivers and animation are seen), then every registered *parameter source*
(:func:`add_param_source`) in turn, which may change them (e.g. an armature driving the pose). A source also
names the data it depends on, so the depsgraph handler knows which heads to look at.

State kept here is runtime only (never saved): signatures, the last error per head, notes for the panels.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..flame_core import FIELDS, FlameError, FlameModel, FlameParams, MeshMismatchError
from ..flame_core.mesh import check_vertex_count
from . import bridge, followers, heads, offsets

#: Modes in which a head's mesh is not written (Blender writes its own edit data back when the mode ends);
#: the head is evaluated again on leaving them.
HELD_MODES = frozenset({"EDIT", "SCULPT"})

Fields = dict[str, np.ndarray]


@dataclass(frozen=True)
class ParamSource:
    """Something besides a head's properties that sets its parameters.

    ``params(head, evaluated, fields)`` gets the original head, the object its values are read from (the
    depsgraph's evaluated copy, or the head itself) and the fields so far; it returns the fields to use (the
    same dict changed, or a new one). ``depends_on(head)`` names the IDs whose updates may change its output.
    """

    params: Callable[[Any, Any, Fields], Fields]
    depends_on: Callable[[Any], Iterable[Any]] = lambda head: ()


_sources: dict[str, ParamSource] = {}
_signatures: dict[int, bytes] = {}
_errors: dict[int, str] = {}
_notes: dict[int, str] = {}
_mismatched: set[int] = set()
_reported: set[tuple[int, str]] = set()


# ---------------------------------------------------------------------------------------------- sources
def add_param_source(name: str, params: Callable[[Any, Any, Fields], Fields],
                     depends_on: Callable[[Any], Iterable[Any]] | None = None) -> None:
    """Register (or replace) a parameter source under ``name`` (see :class:`ParamSource`)."""
    _sources[name] = ParamSource(params, depends_on or (lambda head: ()))
    _signatures.clear()


def remove_param_source(name: str) -> None:
    """Forget a parameter source (heads are evaluated from their properties again)."""
    if _sources.pop(name, None) is not None:
        _signatures.clear()


def dependencies(obj: Any) -> list[Any]:
    """The IDs a head's parameters depend on besides itself: driver targets and the sources' dependencies."""
    out: list[Any] = []
    anim = obj.animation_data
    if anim is not None:
        for fcurve in anim.drivers:
            for variable in fcurve.driver.variables:
                out.extend(t.id for t in variable.targets if t.id is not None)
    for source in _sources.values():
        out.extend(source.depends_on(obj))
    return out


def head_fields(obj: Any, evaluated: Any = None) -> Fields:
    """The parameter values a head is evaluated with (its properties, then every parameter source)."""
    fields = bridge.read_fields((evaluated or obj).flame)
    for source in _sources.values():
        fields = source.params(obj, evaluated or obj, fields)
    return fields


def head_params(obj: Any, evaluated: Any = None) -> FlameParams:
    """:func:`head_fields` as :class:`FlameParams`."""
    return FlameParams(**head_fields(obj, evaluated))


def model_params(model: FlameModel, params: FlameParams) -> FlameParams:
    """``params`` cut to the components the model has (values past them, and eyelid weights on a model
    without eyelid shapes, are ignored; the panel says so)."""
    if params.eyelids is not None and not model.has_eyelids:
        params = params.replace(eyelids=None)
    if all(v is None or v.shape[-1] <= size for v, size in ((params.shape, model.n_shape),
                                                             (params.expression, model.n_expression))):
        return params
    fields = params.to_dict()
    for name, size in (("shape", model.n_shape), ("expression", model.n_expression)):
        if name in fields and fields[name].shape[-1] > size:
            fields[name] = fields[name][..., :size]
    return FlameParams(**fields)


# ---------------------------------------------------------------------------------------------- evaluation
def _signature(obj: Any, fields: Fields, static_offset: np.ndarray | None) -> bytes:
    parts = [fields[f.name].tobytes() for f in FIELDS if f.name in fields]
    mesh = obj.data
    parts.append(f"{obj.flame.model_path}|{mesh.as_pointer()}|{len(mesh.vertices)}".encode())
    if static_offset is not None:
        parts.append(static_offset.tobytes())
    return b"\0".join(parts)


def evaluate(obj: Any, *, force: bool = False, source: Any = None) -> bool:
    """Re-evaluate a head's mesh; returns False when nothing changed (or the head is in Edit/Sculpt Mode).

    ``source`` is the object whose properties are read (the depsgraph's evaluated copy); the original
    ``obj``'s mesh is written. Raises ``FlameError`` (``MeshMismatchError`` when the mesh no longer has the
    model's vertices) or ``OSError``; the mesh is left as it was then.
    """
    key = obj.session_uid
    if obj.mode in HELD_MODES:
        _signatures.pop(key, None)  # evaluated again when the mode ends
        return False
    fields = head_fields(obj, source)
    static_offset = offsets.read(obj)
    signature = _signature(obj, fields, static_offset)
    if not force and _signatures.get(key) == signature:
        return False
    model = heads.model_for(obj)
    check_vertex_count(obj.name, model.n_vertices, len(obj.data.vertices))
    if heads.make_mesh_local(obj):
        _notes[key] = f"its linked mesh was made local ({obj.data.name}) so it can be posed"
        signature = _signature(obj, fields, static_offset)
    mesh = obj.data
    if not heads.is_editable(mesh):  # Blender ignores bulk writes into linked data
        raise FlameError(
            f"the mesh of {obj.name!r} is linked from a library and cannot change; make the head a library "
            "override (Object > Library Override > Make) to pose it"
        )
    used = model_params(model, FlameParams(**fields))
    output = model.forward(used, static_offset=static_offset, landmarks=followers.needs_landmarks(obj))
    bridge.write_positions(mesh, output.vertices)
    _signatures[key] = signature
    _errors.pop(key, None)
    _mismatched.discard(key)
    followers.update_followers(obj, model, used, output)
    return True


def safe_evaluate(obj: Any, *, force: bool = False, source: Any = None) -> bool:
    """:func:`evaluate` for handlers and update callbacks: errors are stored, printed once, never raised."""
    try:
        return evaluate(obj, force=force, source=source)
    except MeshMismatchError as exc:
        message = str(exc)
        _mismatched.add(obj.session_uid)
    except (FlameError, OSError) as exc:
        message = str(exc)
    except Exception as exc:  # a handler must never raise; the details go to the console
        message = f"internal error: {type(exc).__name__}: {exc}"
        traceback.print_exc()
    key = obj.session_uid
    _errors[key] = message
    _signatures.pop(key, None)
    if (key, message) not in _reported:
        _reported.add((key, message))
        print(f"FLAME Head: {obj.name}: {message}", file=sys.stderr)
    return False


def error(obj: Any) -> str | None:
    """The last evaluation error of a head (None when it evaluated fine)."""
    return _errors.get(obj.session_uid)


def mesh_mismatch(obj: Any) -> bool:
    """True when the head's last evaluation failed because its mesh no longer has the model's vertices."""
    return obj.session_uid in _mismatched


def note(obj: Any) -> str | None:
    """What evaluation did to a head besides deforming it (e.g. made its linked mesh local), for the panels."""
    return _notes.get(obj.session_uid)


def forget(obj: Any | None = None) -> None:
    """Drop the stored evaluation state of one head (or of every head)."""
    if obj is None:
        _signatures.clear()
        _errors.clear()
        _reported.clear()
        _notes.clear()
        _mismatched.clear()
    else:
        for table in (_signatures, _errors, _notes):
            table.pop(obj.session_uid, None)
        _mismatched.discard(obj.session_uid)


def _evaluated(obj: Any, depsgraph: Any) -> Any:
    if depsgraph is None:
        return None
    try:
        return obj.evaluated_get(depsgraph)
    except (RuntimeError, ReferenceError):  # not in this depsgraph: read the original
        return None


def evaluate_all(objects: Iterable[Any], *, force: bool = False, depsgraph: Any = None) -> int:
    """Re-evaluate every head among ``objects`` (reading values from ``depsgraph``); returns the count."""
    return sum(safe_evaluate(obj, force=force, source=_evaluated(obj, depsgraph)) for obj in heads.heads_in(objects))


def evaluate_updates(scene: Any, depsgraph: Any) -> int:
    """Re-evaluate the heads of ``scene`` that ``depsgraph``'s updates concern; returns the count.

    A head is looked at when it, its mesh, or anything it depends on (driver targets, parameter sources) was
    updated; it is evaluated only when its parameters differ from the last evaluation (so its own mesh
    write, reported as an update, stops there).
    """
    updated = set()
    for update in depsgraph.updates:
        original = update.id.original
        if original is not None:
            updated.add(original.session_uid)
    if not updated:
        return 0
    count = 0
    for obj in heads.heads_in(scene.objects):
        watched = [obj, obj.data, *dependencies(obj)]
        if not any(getattr(i, "session_uid", None) in updated for i in watched):
            continue
        count += safe_evaluate(obj, source=_evaluated(obj, depsgraph))
    return count
