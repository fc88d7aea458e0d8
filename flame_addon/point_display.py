"""Drawing a vertices-only mesh as points: one shared Geometry Nodes "Mesh to Points" group.

Loose vertices show only in Edit Mode; landmark and surface-point objects get a modifier using this
group, with the point radius as a modifier input.
"""

from __future__ import annotations

from typing import Any

import bpy

NODE_GROUP = "FLAME Mesh to Points"


def points_node_group() -> Any:
    """The shared node group (created when missing) turning mesh vertices into points of a given radius."""
    group: Any = bpy.data.node_groups.get(NODE_GROUP)
    if group is not None and group.bl_idname == "GeometryNodeTree":
        return group
    group = bpy.data.node_groups.new(NODE_GROUP, "GeometryNodeTree")
    interface: Any = group.interface
    interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    radius = interface.new_socket("Radius", in_out="INPUT", socket_type="NodeSocketFloat")
    radius.default_value = 0.001
    radius.min_value = 0.0
    interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    nodes, links = group.nodes, group.links
    source = nodes.new("NodeGroupInput")
    to_points = nodes.new("GeometryNodeMeshToPoints")
    sink = nodes.new("NodeGroupOutput")
    source.location, to_points.location, sink.location = (-300, 0), (0, 0), (300, 0)
    links.new(source.outputs["Geometry"], to_points.inputs["Mesh"])
    links.new(source.outputs["Radius"], to_points.inputs["Radius"])
    links.new(to_points.outputs["Points"], sink.inputs["Geometry"])
    return group


def show_as_points(obj: Any, radius: float, name: str = "Points") -> Any:
    """Add a modifier drawing ``obj``'s vertices as points of ``radius``; returns the modifier."""
    modifier: Any = obj.modifiers.new(name, "NODES")
    group = points_node_group()
    modifier.node_group = group
    for item in group.interface.items_tree:
        if getattr(item, "in_out", None) == "INPUT" and item.name == "Radius":
            set_modifier_input(modifier, item.identifier, float(radius))
    return modifier


def set_modifier_input(modifier: Any, identifier: str, value: Any) -> None:
    """Set a Geometry Nodes modifier input: typed inputs from Blender 5.3, ID properties before."""
    inputs = getattr(getattr(modifier, "properties", None), "inputs", None)
    if inputs is not None and hasattr(inputs, identifier):
        getattr(inputs, identifier).value = value
    else:
        modifier[identifier] = value
