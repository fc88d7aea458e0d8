"""Bound points evaluated by Blender: a Geometry Nodes group placing each point on its head's evaluated mesh.

A bound point stores its triangle (``face_index``, INT) and barycentric weights (``barycentric``,
FLOAT_VECTOR). The group "FLAME Bound Points" reads the head's evaluated mesh (Object Info, in the head's own
space, which is the points object's space too: it is the head's child), samples the three corners of each
point's triangle by corner index (the head's triangles are corners ``3f, 3f+1, 3f+2``), blends the positions
with the weights and stores the triangle's normal as ``normal`` (exports compute the smooth normal exactly,
in the core). Blender re-evaluates it whenever the head's mesh changes (sliders, playback,
drivers), multi-threaded, with no Python per frame.
"""

from __future__ import annotations

from typing import Any

import bpy

from .point_display import set_modifier_input

NODE_GROUP = "FLAME Bound Points"
MODIFIER = "FLAME Bound"
#: Bump when the group's nodes change: an older group in a file is rebuilt.
VERSION = 2
_VERSION_KEY = "flame_version"


def _socket(sockets: Any, name: str) -> Any:
    """The enabled socket called ``name`` (nodes keep one hidden socket per data type in some versions)."""
    return next(s for s in sockets if s.name == name and getattr(s, "enabled", True))


def _sample_corners(nodes: Any, links: Any, geometry: Any, field: Any, face: Any, x: int) -> list[Any]:
    """Three Sample Index nodes reading ``field`` at the corners 3f, 3f+1, 3f+2 of the head's faces."""
    outputs = []
    for k in range(3):
        corner = nodes.new("ShaderNodeMath")
        corner.operation = "MULTIPLY_ADD"
        links.new(face, corner.inputs[0])
        corner.inputs[1].default_value = 3.0
        corner.inputs[2].default_value = float(k)
        corner.location = (x, 300 - 150 * k)
        sample = nodes.new("GeometryNodeSampleIndex")
        sample.data_type = "FLOAT_VECTOR"
        sample.domain = "CORNER"
        sample.location = (x + 200, 300 - 150 * k)
        links.new(geometry, _socket(sample.inputs, "Geometry"))
        links.new(field, _socket(sample.inputs, "Value"))
        links.new(corner.outputs[0], _socket(sample.inputs, "Index"))
        outputs.append(_socket(sample.outputs, "Value"))
    return outputs


def _blend(nodes: Any, links: Any, corners: list[Any], weights: Any, x: int, y: int) -> Any:
    """sum_k weights[k] * corners[k] (vector math nodes)."""
    split = nodes.new("ShaderNodeSeparateXYZ")
    split.location = (x, y)
    links.new(weights, split.inputs[0])
    total = None
    for k, corner in enumerate(corners):
        scale = nodes.new("ShaderNodeVectorMath")
        scale.operation = "SCALE"
        scale.location = (x + 200, y - 150 * k)
        links.new(corner, scale.inputs[0])
        links.new(split.outputs[k], _socket(scale.inputs, "Scale"))
        if total is None:
            total = scale.outputs[0]
            continue
        add = nodes.new("ShaderNodeVectorMath")
        add.operation = "ADD"
        add.location = (x + 400, y - 150 * k)
        links.new(total, add.inputs[0])
        links.new(scale.outputs[0], add.inputs[1])
        total = add.outputs[0]
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
    interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    nodes, links = group.nodes, group.links
    source = nodes.new("NodeGroupInput")
    source.location = (-1200, 0)
    info = nodes.new("GeometryNodeObjectInfo")
    info.transform_space = "ORIGINAL"  # the head's own space: the points object's space too (its child)
    info.location = (-1000, 300)
    links.new(_socket(source.outputs, "Head"), _socket(info.inputs, "Object"))
    head_mesh = _socket(info.outputs, "Geometry")
    face = nodes.new("GeometryNodeInputNamedAttribute")
    face.data_type = "INT"
    face.location = (-1000, 0)
    _socket(face.inputs, "Name").default_value = "face_index"
    weights = nodes.new("GeometryNodeInputNamedAttribute")
    weights.data_type = "FLOAT_VECTOR"
    weights.location = (-1000, -200)
    _socket(weights.inputs, "Name").default_value = "barycentric"
    face_out, weights_out = _socket(face.outputs, "Attribute"), _socket(weights.outputs, "Attribute")
    position = nodes.new("GeometryNodeInputPosition")
    position.location = (-800, 500)
    corners = _sample_corners(nodes, links, head_mesh, position.outputs[0], face_out, -600)
    positions = _blend(nodes, links, corners, weights_out, 0, 400)
    edges = []
    for k, (a, b) in enumerate(((1, 0), (2, 0))):
        edge = nodes.new("ShaderNodeVectorMath")
        edge.operation = "SUBTRACT"
        edge.location = (300, -300 - 150 * k)
        links.new(corners[a], edge.inputs[0])
        links.new(corners[b], edge.inputs[1])
        edges.append(edge.outputs[0])
    cross = nodes.new("ShaderNodeVectorMath")
    cross.operation = "CROSS_PRODUCT"
    cross.location = (500, -400)
    links.new(edges[0], cross.inputs[0])
    links.new(edges[1], cross.inputs[1])
    unit = nodes.new("ShaderNodeVectorMath")
    unit.operation = "NORMALIZE"
    unit.location = (700, -400)
    links.new(cross.outputs[0], unit.inputs[0])
    set_position = nodes.new("GeometryNodeSetPosition")
    set_position.location = (700, 200)
    links.new(_socket(source.outputs, "Geometry"), _socket(set_position.inputs, "Geometry"))
    links.new(positions, _socket(set_position.inputs, "Position"))
    store = nodes.new("GeometryNodeStoreNamedAttribute")
    store.data_type = "FLOAT_VECTOR"
    store.domain = "POINT"
    store.location = (900, 200)
    _socket(store.inputs, "Name").default_value = "normal"
    links.new(_socket(set_position.outputs, "Geometry"), _socket(store.inputs, "Geometry"))
    links.new(unit.outputs[0], _socket(store.inputs, "Value"))
    sink = nodes.new("NodeGroupOutput")
    sink.location = (1100, 200)
    links.new(_socket(store.outputs, "Geometry"), _socket(sink.inputs, "Geometry"))
    group[_VERSION_KEY] = VERSION
    return group


def bind(obj: Any, head: Any) -> Any:
    """Give a point object the modifier that keeps it on ``head`` (first in its stack); returns the modifier."""
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


def is_bound(obj: Any) -> bool:
    """True when the point object carries the binding modifier."""
    modifier = obj.modifiers.get(MODIFIER)
    return modifier is not None and modifier.type == "NODES" and modifier.node_group is not None
