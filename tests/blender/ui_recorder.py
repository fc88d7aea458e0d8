"""A stand-in for ``bpy.types.UILayout`` that records what a ``draw()`` asks for and checks it against the RNA.

Blender's UI does not run headless, so panels are drawn into a :class:`RecordingLayout`: every method call is
checked against ``UILayout``'s own RNA function (name, keyword names, enum values such as icons), every
``prop`` against the data's RNA properties (and array length for ``index``), every ``operator`` id against the
registered operators and every property set on the returned operator properties against that operator's RNA.
Problems are collected in ``errors`` (a misspelt name is reported, never raised mid-draw).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import bpy
import numpy as np

_FUNCTIONS = bpy.types.UILayout.bl_rna.functions
_PROPERTIES = bpy.types.UILayout.bl_rna.properties


@dataclass
class Record:
    """Everything drawn: property paths, operator ids, labels, lists, and the problems found."""

    props: list[str] = field(default_factory=list)
    operators: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _check_enum(record: Record, where: str, prop: Any, value: Any) -> None:
    if prop.type == "ENUM" and isinstance(value, str) and value not in prop.enum_items.keys():  # noqa: SIM118 - an RNA collection
        record.errors.append(f"{where}: {value!r} is not one of {prop.identifier}'s items")


class OperatorRecorder:
    """What ``layout.operator()`` returns: property assignments are checked against the operator's RNA."""

    def __init__(self, record: Record, idname: str, rna: Any) -> None:
        object.__setattr__(self, "_record", record)
        object.__setattr__(self, "_idname", idname)
        object.__setattr__(self, "_rna", rna)

    def __setattr__(self, name: str, value: Any) -> None:
        rna = self._rna
        if rna is None:
            return
        prop = rna.properties.get(name)
        if prop is None:
            self._record.errors.append(f"operator {self._idname}: no property {name!r}")
            return
        _check_enum(self._record, f"operator {self._idname}.{name}", prop, value)


def operator_rna(idname: str) -> Any | None:
    """The RNA of a registered operator ``"module.name"`` (None when there is none)."""
    module, _, name = idname.partition(".")
    if not name or name not in dir(getattr(bpy.ops, module)):
        return None
    return getattr(getattr(bpy.ops, module), name).get_rna_type()


class RecordingLayout:
    """Records and checks everything drawn into it (and into the layouts it hands out)."""

    def __init__(self, record: Record | None = None) -> None:
        object.__setattr__(self, "record", record or Record())

    def __setattr__(self, name: str, value: Any) -> None:
        prop = _PROPERTIES.get(name)
        if prop is None or prop.is_readonly:
            self.record.errors.append(f"UILayout has no settable property {name!r}")
            return
        _check_enum(self.record, f"layout.{name}", prop, value)

    def __getattr__(self, name: str) -> Any:
        function = _FUNCTIONS.get(name)
        if function is None:
            self.record.errors.append(f"UILayout has no function {name!r}")
            return lambda *args, **kwargs: RecordingLayout(self.record)
        return lambda *args, **kwargs: self._call(function, args, kwargs)

    def _call(self, function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        record = self.record
        parameters = [p for p in function.parameters if not p.is_output]
        by_name = {p.identifier: p for p in parameters}
        if len(args) > len(parameters):
            record.errors.append(f"layout.{function.identifier}: {len(args)} positional arguments")
        values = dict(zip((p.identifier for p in parameters), args, strict=False))
        for key, value in kwargs.items():
            if key not in by_name:
                record.errors.append(f"layout.{function.identifier}: no keyword {key!r}")
                continue
            values[key] = value
        for key, value in values.items():
            _check_enum(record, f"layout.{function.identifier}({key}=...)", by_name[key], value)
        check = getattr(type(self), f"_check_{function.identifier}", None)
        if check is not None:
            result = check(self, values)
            if result is not None:
                return result
        outputs = [p for p in function.parameters if p.is_output]
        fixed = getattr(outputs[0], "fixed_type", None) if outputs else None
        if fixed is not None and fixed.identifier == "UILayout":
            return RecordingLayout(record)
        return None

    # -------------------------------------------------------------------------------------------- checks
    def _check_prop(self, values: dict[str, Any]) -> None:
        data, name = values.get("data"), values.get("property", "")
        prop = data.bl_rna.properties.get(name) if data is not None else None
        if prop is None:
            self.record.errors.append(f"prop: {type(data).__name__} has no property {name!r}")
            return
        index = values.get("index", -1)
        dimensions = [d for d in getattr(prop, "array_dimensions", ()) if d]
        length = int(np.prod(dimensions)) if dimensions else 0  # the flat length of a (multi-dimensional) array
        if index >= 0 and index >= length and prop.type != "COLLECTION":
            self.record.errors.append(f"prop: {name}[{index}] is out of range ({length})")
        self.record.props.append(f"{data.bl_rna.identifier}.{name}" + (f"[{index}]" if index >= 0 else ""))

    def _check_operator(self, values: dict[str, Any]) -> Any:
        idname = values.get("operator", "")
        rna = operator_rna(idname)
        if rna is None:
            self.record.errors.append(f"operator: no operator {idname!r}")
        self.record.operators.append(idname)
        return OperatorRecorder(self.record, idname, rna)

    def _check_label(self, values: dict[str, Any]) -> None:
        self.record.labels.append(str(values.get("text", "")))

    def _check_template_list(self, values: dict[str, Any]) -> None:
        record = self.record
        name = values.get("listtype_name", "")
        list_class = getattr(bpy.types, name, None)
        if list_class is None or not issubclass(list_class, bpy.types.UIList):
            record.errors.append(f"template_list: no UIList {name!r}")
            return
        data, propname = values.get("dataptr"), values.get("propname", "")
        prop = data.bl_rna.properties.get(propname) if data is not None else None
        if prop is None or prop.type != "COLLECTION":
            record.errors.append(f"template_list: {type(data).__name__} has no collection {propname!r}")
            return
        active, active_name = values.get("active_dataptr"), values.get("active_propname", "")
        active_prop = active.bl_rna.properties.get(active_name) if active is not None else None
        if active_prop is None or active_prop.type != "INT":
            record.errors.append(f"template_list: {type(active).__name__} has no int {active_name!r}")
        record.lists.append(f"{name}:{propname}")
        proxy = _Proxy(list_class, layout_type="DEFAULT")
        for index, item in enumerate(getattr(data, propname)):
            proxy.layout_type = "DEFAULT" if index % 2 == 0 else "GRID"
            list_class.draw_item(proxy, bpy.context, RecordingLayout(record), data, item, 0, active, active_name,
                                 index, 0)


class _Proxy:
    """Stands in for a Panel or UIList instance: its own attributes, then the class's."""

    def __init__(self, cls: type, **attributes: Any) -> None:
        self._cls = cls
        self.__dict__.update(attributes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cls, name)


def draw(cls: type, context: Any = None) -> Record:
    """Draw a Panel, Menu or AddonPreferences class (or a menu function) into a recording layout."""
    layout = RecordingLayout()
    if isinstance(cls, type):
        proxy = _Proxy(cls, layout=layout)
        cls.draw(proxy, context or bpy.context)  # type: ignore[attr-defined]
    else:
        cls(_Proxy(object, layout=layout), context or bpy.context)
    return layout.record


def draw_settings(cls: type, settings: Any, context: Any = None) -> Record:
    """Draw an AddonPreferences class with its real settings (``self.prop`` reads them)."""
    layout = RecordingLayout()
    cls.draw(_Bound(settings, layout), context or bpy.context)  # type: ignore[attr-defined]
    return layout.record


class _Bound:
    """Preferences ``self``: the real settings (``self.prop`` reads them) drawing into the recorder."""

    def __init__(self, settings: Any, layout: RecordingLayout) -> None:
        self._settings = settings
        self.layout = layout

    def __getattr__(self, name: str) -> Any:
        return getattr(self._settings, name)
