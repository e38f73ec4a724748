"""Diagrams as Mermaid flowcharts, written in sorted order, for Markdown documents.

The writer reads the one style table in ``costgraph.render.style``; every node and edge list
is sorted by id, so a diagram's text is a pure function of the result it draws (golden files
can compare it). DOT comes from the graphviz package, in ``costgraph.render.dot``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .style import ROLES, Role, role_attrs

if TYPE_CHECKING:
    from .diagram import Diagram

# DOT is written by the graphviz package (costgraph.render.dot); kept here by name
from .dot import to_dot  # noqa: E402,F401


# --- Mermaid ----------------------------------------------------------------------------

_SHAPES = {"box": ('["', '"]'), "hexagon": ('{{"', '"}}')}


def _mermaid_text(lines) -> str:
    text = "<br/>".join(lines)
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
            .replace(">", "#gt;").replace("#lt;br/#gt;", "<br/>"))


def _mermaid_ids(ids) -> dict[str, str]:
    """Node ids Mermaid accepts (letters, digits, _), unique and stable."""
    out, used = {}, set()
    for node_id in sorted(ids):
        base = re.sub(r"[^A-Za-z0-9_]", "_", node_id)
        candidate, n = base, 1
        while candidate in used:
            n += 1
            candidate = f"{base}_{n}"
        used.add(candidate)
        out[node_id] = candidate
    return out


def _class_def(role: Role, target: bool = False) -> str:
    attrs = role_attrs(role, target)
    parts = [f"fill:{attrs['fillcolor']}", f"stroke:{attrs['color']}"]
    if "penwidth" in attrs:
        parts.append(f"stroke-width:{attrs['penwidth']}px")
    if "dashed" in attrs["style"]:
        parts.append("stroke-dasharray:4 2")
    return ",".join(parts)


def to_mermaid(d: Diagram) -> str:
    ids = _mermaid_ids([n.id for n in d.nodes] + [f"legend:{r}" for r in d.roles])
    lines = [f"%% {d.title}", f"flowchart {d.rankdir}"]
    for node in d.nodes:
        left, right = _SHAPES.get(ROLES[node.role].shape, _SHAPES["box"])
        lines.append(f"  {ids[node.id]}{left}{_mermaid_text(node.label)}{right}")
    for edge in d.edges:
        arrow = "-.-" if edge.kind == "constraint" else "-->"
        lines.append(f"  {ids[edge.tail]} {arrow} {ids[edge.head]}")
    lines.append('  subgraph legend["legend"]')
    for name in d.roles:
        left, right = _SHAPES.get(ROLES[name].shape, _SHAPES["box"])
        label = _mermaid_text([ROLES[name].legend])
        lines.append(f"    {ids['legend:' + name]}{left}{label}{right}")
    lines.append("  end")
    for name in d.roles:
        role = ROLES[name]
        base = ROLES["derived"] if name == "target" else role
        lines.append(f"  classDef {name} {_class_def(base, target=name == 'target')}")
    members: dict[str, list[str]] = {}
    for node in d.nodes:
        members.setdefault(node.role, []).append(ids[node.id])
        if node.target:
            members.setdefault("target", []).append(ids[node.id])
    for name in d.roles:
        members.setdefault(name, []).append(ids["legend:" + name])
        lines.append(f"  class {','.join(sorted(members[name]))} {name}")
    return "\n".join(lines) + "\n"
