"""Diagrams as text: Graphviz DOT and Mermaid, written in sorted order.

Both writers read the one style table in ``costgraph.render.style``; neither depends on Graphviz
being installed. Every attribute list is sorted by key and every node and edge list by id,
so a diagram's text is a pure function of the result it draws (golden files can compare it).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .style import ROLES, Role

if TYPE_CHECKING:
    from .diagram import Diagram

FONT = "Helvetica"
EDGE_STYLES = {  # how an edge looks, by kind
    "flow": {},
    "constraint": {"style": "dashed", "arrowhead": "none", "color": "#9e9e9e"},
}


# --- DOT -------------------------------------------------------------------------------


def _quote(text: str) -> str:
    """A DOT double-quoted string; newlines become DOT's centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(attrs: dict[str, str]) -> str:
    return "[" + ", ".join(f"{k}={_quote(str(v))}" for k, v in sorted(attrs.items())) + "]"


def role_attrs(role: Role, target: bool = False) -> dict[str, str]:
    """The DOT attributes of a role (with the target overlay when ``target``)."""
    attrs = {"shape": role.shape, "style": role.style, "fillcolor": role.fill,
             "color": role.border, **dict(role.extra)}
    if target:
        attrs.update(dict(ROLES["target"].extra))
    return attrs


def to_dot(d: Diagram) -> str:
    graph = {"rankdir": d.rankdir, "label": d.title, "labelloc": "t", "fontname": FONT,
             "fontsize": "12"}
    lines = [f"digraph {_quote(d.name)} {{",
             f"  graph {_attrs(graph)};",
             f"  node {_attrs({'fontname': FONT, 'fontsize': '10'})};",
             f"  edge {_attrs({'arrowsize': '0.6', 'color': '#616161'})};"]
    for node in d.nodes:
        attrs = role_attrs(ROLES[node.role], node.target)
        attrs["label"] = "\n".join(node.label)
        if node.tooltip:
            attrs["tooltip"] = node.tooltip
        lines.append(f"  {_quote(node.id)} {_attrs(attrs)};")
    for edge in d.edges:
        style = EDGE_STYLES[edge.kind]
        tail = f"  {_quote(edge.tail)} -> {_quote(edge.head)}"
        lines.append(f"{tail} {_attrs(style)};" if style else f"{tail};")
    lines.extend(_dot_legend(d))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_legend(d: Diagram) -> list[str]:
    lines = ["  subgraph \"cluster_legend\" {",
             f"    graph {_attrs({'label': 'legend', 'style': 'dashed', 'color': '#bdbdbd'})};"]
    # Graphviz stacks a rank's unconnected nodes bottom-up when laying out left to right;
    # listing them in reverse keeps the legend reading top-down in the table's order
    order = d.roles[::-1] if d.rankdir in ("LR", "RL") else d.roles
    for name in order:
        role = ROLES[name]
        if name == "target":
            attrs = role_attrs(ROLES["derived"], target=True)
        else:
            attrs = role_attrs(role)
        attrs["label"] = role.legend
        lines.append(f"    {_quote('legend:' + name)} {_attrs(attrs)};")
    lines.append("  }")
    return lines


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
