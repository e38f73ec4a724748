"""Diagrams as ``graphviz.Digraph`` objects, whose source is the DOT every image is laid out from.

The graphviz package builds the DOT text and quotes every identifier and attribute; this
module only says what goes in, in a sorted order: nodes by id, edges by (tail, head, kind),
attributes by key (the package sorts a plain dict's items), so a diagram's text is a pure
function of the result it draws and golden files can compare it.

>>> import costgraph as cg
>>> d = cg.load().solve(find="weight_bytes").graph("weight_bytes")
>>> to_digraph(d).name
'weight_bytes'
"""

from __future__ import annotations

import graphviz
from graphviz.quoting import a_list, quote

from typing import TYPE_CHECKING

from .style import ROLES, role_attrs

if TYPE_CHECKING:
    from .diagram import Diagram

FONT = "Helvetica"
EDGE_STYLES = {  # how an edge looks, by kind
    "flow": {},
    "constraint": {"style": "dashed", "arrowhead": "none", "color": "#9e9e9e"},
}


def to_digraph(d: Diagram) -> graphviz.Digraph:
    """The diagram as a ``graphviz.Digraph``: render it, pipe it or read ``.source``."""
    graph = graphviz.Digraph(
        d.name,
        graph_attr={"rankdir": d.rankdir, "label": _text(d.title), "labelloc": "t",
                    "fontname": FONT, "fontsize": "12"},
        node_attr={"fontname": FONT, "fontsize": "10"},
        edge_attr={"arrowsize": "0.6", "color": "#616161"})
    for node in d.nodes:
        attrs = role_attrs(ROLES[node.role], node.target)
        attrs["label"] = _text(*node.label)
        if node.tooltip:
            attrs["tooltip"] = _text(node.tooltip)
        graph.node(node.id, **attrs)
    for edge in d.edges:
        graph.body.append(_edge_line(edge.tail, edge.head, EDGE_STYLES[edge.kind]))
    _legend(graph, d)
    return graph


def to_dot(d: Diagram) -> str:
    """The diagram in Graphviz DOT."""
    return to_digraph(d).source


def _text(*lines: str) -> graphviz.quoting.NoHtml:
    """Lines as one DOT label: taken literally (backslashes kept, never read as HTML),
    joined by DOT's centred line break."""
    return graphviz.nohtml("\\n".join(line.replace("\\", "\\\\") for line in lines))


def _edge_line(tail: str, head: str, attrs: dict[str, str]) -> str:
    """One edge statement, each end quoted whole.

    ``Digraph.edge`` reads a colon in a node name as a port (``q:fuel`` would be port
    ``fuel`` of node ``q``), and every node id here has one, so the statement is put
    together from the package's own quoting instead.
    """
    statement = f"{quote(tail)} -> {quote(head)}"
    if attrs:
        statement += f" [{a_list(attributes=attrs)}]"
    return f"\t{statement}\n"


def _legend(graph: graphviz.Digraph, d: Diagram) -> None:
    with graph.subgraph(name="cluster_legend") as legend:
        legend.attr(label="legend", style="dashed", color="#bdbdbd")
        # Graphviz stacks a rank's unconnected nodes bottom-up when laying out left to
        # right; adding them in reverse keeps the legend reading top-down in table order
        order = d.roles[::-1] if d.rankdir in ("LR", "RL") else d.roles
        for name in order:
            role = ROLES[name]
            look = ROLES["derived"] if name == "target" else role
            attrs = role_attrs(look, target=name == "target")
            attrs["label"] = _text(role.legend)
            legend.node("legend:" + name, **attrs)
