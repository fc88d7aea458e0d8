"""Bound points evaluated by Blender: a Geometry Nodes group placing each point on its head's evaluated mesh.

A bound point stores its triangle (``face_index``, INT) and the corners' barycentric weights (``barycentric``,
FLOAT_VECTOR); derived from them once, the head vertex at each corner (``face_vertex_0`` … ``face_vertex_2``, INT)
and each weight on its own (``face_weight_0`` … ``face_weight_2``, FLOAT). The group "FLAME Bound Points" reads
the head's evaluated mesh (Object Info, in the head's own space, which is the points object's space too: it is the
head's child), samples the three corner positions on the head's point domain by vertex index, blends them with the
weights and, with the modifier's *Normals* on (the default), stores the triangle's normal (the head's face normal,
sampled by ``face_index``) as ``normal``; with it off the evaluated points carry no ``normal`` (exports compute
normals in the core). Blender re-evaluates it whenever the head's mesh changes (sliders, playback, drivers),
multi-threaded, with no Python per frame.

Sampling on the point domain by stored vertex index is what makes it cheap: the head's positions are read as they
are, with no adaptation to face corners, and each sample is one gather; the weights read as three floats spare a
vector split per point (a fifth of the group's time).
"""

from __future__ import annotations

from typing import Any

import bpy
import numpy as np

from ..flame_core import FlameError
from . import bridge
from .point_display import set_modifier_input

NODE_GROUP = "FLAME Bound Points"
MODIFIER = "FLAME Bound"
FACE_INDEX = "face_index"
BARYCENTRIC = "barycentric"
#: Head vertex at each corner of a point's triangle (derived from ``face_index`` and the head's faces).
FACE_VERTICES = ("face_vertex_0", "face_vertex_1", "face_vertex_2")
#: The barycentric weight of each corner (derived from ``barycentric``).
FACE_WEIGHTS = ("face_weight_0", "face_weight_1", "face_weight_2")
#: Bump when the group's nodes change: an older group in a file is rebuilt.
VERSION = 3
_VERSION_KEY = "flame_version"


def _socket(sockets: Any, name: str) -> Any:
    """The enabled socket called ``name`` (nodes keep one hidden socket per data type in some versions)."""
    return next(s for s in sockets if s.name == name and getattr(s, "enabled", True))


class _Builder:
    """Adds nodes to a group and links them, one call per node."""

    def __init__(self, group: Any) -> None:
        self.nodes, self.links = group.nodes, group.links

    def node(self, kind: str, location: tuple[int, int], **settings: Any) -> Any:
        node = self.nodes.new(kind)
        node.location = location
        for key, value in settings.items():
            setattr(node, key, value)
        return node

    def link(self, output: Any, node: Any, name: str | int) -> None:
        self.links.new(output, node.inputs[name] if isinstance(name, int) else _socket(node.inputs, name))

    def named(self, name: str, data_type: str, location: tuple[int, int]) -> Any:
        node = self.node("GeometryNodeInputNamedAttribute", location, data_type=data_type)
        _socket(node.inputs, "Name").default_value = name
        return _socket(node.outputs, "Attribute")

    def sample(self, geometry: Any, value: Any, index: Any, domain: str, location: tuple[int, int]) -> Any:
        node = self.node("GeometryNodeSampleIndex", location, data_type="FLOAT_VECTOR", domain=domain)
        self.link(geometry, node, "Geometry")
        self.link(value, node, "Value")
        self.link(index, node, "Index")
        return _socket(node.outputs, "Value")

    def vector_math(self, operation: str, a: Any, b: Any, location: tuple[int, int], b_name: str | int = 1) -> Any:
        node = self.node("ShaderNodeVectorMath", location, operation=operation)
        self.link(a, node, 0)
        self.link(b, node, b_name)
        return node.outputs[0]


def _blend(build: _Builder, corners: list[Any], weights: list[Any], x: int, y: int) -> Any:
    """sum_k weights[k] * corners[k] (vector math nodes)."""
    total = None
    for k, (corner, weight) in enumerate(zip(corners, weights, strict=True)):
        scaled = build.vector_math("SCALE", corner, weight, (x + 200, y - 150 * k), "Scale")
        total = scaled if total is None else build.vector_math("ADD", total, scaled, (x + 400, y - 150 * k))
    return total


def bound_points_group() -> Any:
    """The shared node group (created, or rebuilt when out of date) placing bound points on a head."""
    group: Any = bpy.data.node_groups.get(NODE_GROUP)
    if group is not None and group.bl_idname == "GeometryNodeTree" and group.get(_VERSION_KEY) == VERSION:
        return group
    if group is None or group.bl_idname != "GeometryNodeTree":
        group = bpy.data.node_groups.new(NODE_GROUP, "GeometryNodeTree")
    group.nodes.clear()
    interface: Any = group.interface
    interface.clear()
    interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    interface.new_socket("Head", in_out="INPUT", socket_type="NodeSocketObject")
    normals = interface.new_socket("Normals", in_out="INPUT", socket_type="NodeSocketBool",
                                   description="Store each point's normal (its triangle's) as the head moves; "
                                               "off: faster, and the evaluated points carry no normal")
    normals.default_value = True
    interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    build = _Builder(group)
    source = build.node("NodeGroupInput", (-1200, 0))
    info = build.node("GeometryNodeObjectInfo", (-1000, 300), transform_space="ORIGINAL")  # the head's own space
    build.link(_socket(source.outputs, "Head"), info, "Object")
    head_mesh = _socket(info.outputs, "Geometry")
    position = build.node("GeometryNodeInputPosition", (-1000, 500)).outputs[0]
    corners = [build.sample(head_mesh, position, build.named(name, "INT", (-1000, 100 - 150 * k)), "POINT",
                            (-700, 300 - 150 * k))
               for k, name in enumerate(FACE_VERTICES)]
    weights = [build.named(name, "FLOAT", (-400, 100 - 150 * k)) for k, name in enumerate(FACE_WEIGHTS)]
    set_position = build.node("GeometryNodeSetPosition", (400, 200))
    build.link(_socket(source.outputs, "Geometry"), set_position, "Geometry")
    build.link(_blend(build, corners, weights, -200, 400), set_position, "Position")
    placed = _socket(set_position.outputs, "Geometry")
    face_normal = build.node("GeometryNodeInputNormal", (-1000, -400)).outputs[0]
    face = build.named(FACE_INDEX, "INT", (-1000, -550))
    store = build.node("GeometryNodeStoreNamedAttribute", (700, 0), data_type="FLOAT_VECTOR", domain="POINT")
    _socket(store.inputs, "Name").default_value = "normal"
    build.link(placed, store, "Geometry")
    build.link(build.sample(head_mesh, face_normal, face, "FACE", (-700, -450)), store, "Value")
    remove = build.node("GeometryNodeRemoveAttribute", (700, 300))
    _socket(remove.inputs, "Name").default_value = "normal"  # no stale normal when normals are off
    build.link(placed, remove, "Geometry")
    switch = build.node("GeometryNodeSwitch", (950, 200), input_type="GEOMETRY")
    build.link(_socket(source.outputs, "Normals"), switch, "Switch")
    build.link(_socket(remove.outputs, "Geometry"), switch, "False")
    build.link(_socket(store.outputs, "Geometry"), switch, "True")
    sink = build.node("NodeGroupOutput", (1150, 200))
    build.link(_socket(switch.outputs, "Output"), sink, "Geometry")
    group[_VERSION_KEY] = VERSION
    users: list[Any] = [modifier for obj in bpy.data.objects if getattr(obj, "is_editable", obj.library is None)
                        for modifier in obj.modifiers if modifier.type == "NODES"]
    for modifier in users:  # modifiers already using the group got False for Normals from Blender
        if modifier.node_group == group:
            set_modifier_input(modifier, normals.identifier, True)
    return group


def write_corners(data: Any, faces: np.ndarray) -> None:
    """Derive every point's corner vertices and weights from its ``face_index`` and ``barycentric``
    (``faces``: the head's (F, 3) triangles)."""
    face_index = bridge.read_attribute(data, FACE_INDEX, "INT")
    weights = bridge.read_attribute(data, BARYCENTRIC, "FLOAT_VECTOR")
    faces = np.asarray(faces)
    if len(face_index) and (face_index.min() < 0 or face_index.max() >= len(faces)):
        raise FlameError(f"{data.name!r}: attribute {FACE_INDEX!r} holds faces outside 0..{len(faces) - 1}")
    corners = faces[face_index]
    for k in range(3):
        bridge.write_attribute(data, FACE_VERTICES[k], "INT", corners[:, k])
        bridge.write_attribute(data, FACE_WEIGHTS[k], "FLOAT", weights[:, k])


def _has_corners(data: Any) -> bool:
    return all(name in data.attributes for name in FACE_VERTICES + FACE_WEIGHTS)


def is_current(obj: Any) -> bool:
    """True when a bound point object has the binding modifier with this version's group and attributes."""
    modifier = obj.modifiers.get(MODIFIER)
    if modifier is None or modifier.type != "NODES" or modifier.node_group is None:
        return False
    return modifier.node_group.get(_VERSION_KEY) == VERSION and _has_corners(obj.data)


def bind(obj: Any, head: Any, faces: np.ndarray) -> Any:
    """Give a point object the modifier that keeps it on ``head`` (first in its stack), deriving the corner
    vertices (from ``faces``) and weights when the data lacks them (clouds from older files); returns the
    modifier."""
    if not _has_corners(obj.data):
        write_corners(obj.data, faces)
    modifier: Any = obj.modifiers.get(MODIFIER)
    if modifier is None or modifier.type != "NODES":
        modifier = obj.modifiers.new(MODIFIER, "NODES")
        while obj.modifiers[0] != modifier:
            obj.modifiers.move(obj.modifiers.find(modifier.name), 0)
    group = bound_points_group()
    if modifier.node_group != group:
        modifier.node_group = group
    for item in group.interface.items_tree:
        if getattr(item, "in_out", None) == "INPUT" and item.name == "Head":
            set_modifier_input(modifier, item.identifier, head)
    return modifier

