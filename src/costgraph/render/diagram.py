"""Derivation diagrams: the part of a Result that produced one value, as DOT, Mermaid, SVG, PNG.

A diagram is built once, as plain data (nodes and edges with a *role*), and then written out
in sorted order, so the same result always gives the same bytes: DOT by the graphviz package
(``costgraph.render.dot``), Mermaid by ``costgraph.render.text``; SVG and PNG are laid
out by Graphviz itself (``costgraph.render.image``).
Every role's look comes from the one table ``ROLES``, and every diagram carries a legend of
the roles it uses.

>>> import costgraph as cg
>>> r = cg.load().solve(find="weight_bytes")
>>> d = r.graph("weight_bytes")
>>> d.source.splitlines()[0]
'digraph weight_bytes {'
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from .folding import FOLD_HINT, feeds, zero_branches
from ..units import format_quantity
from .style import QUANTITY_ROLES, ROLES, Role, role_attrs

FOLD_ID = "folded"  # the one node that stands for every folded quantity
FOLD_NAMES_PER_LINE = 3


@dataclass(frozen=True)
class Node:
    id: str
    role: str
    label: tuple[str, ...]  # lines
    tooltip: str = ""
    target: bool = False


@dataclass(frozen=True)
class Edge:
    tail: str
    head: str
    kind: str = "flow"  # flow | constraint


@dataclass(frozen=True)
class Diagram:
    """A derivation diagram: ``.source`` (DOT), ``.mermaid``, ``.save(path)``, ``.pipe_svg()``."""

    name: str
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    rankdir: str = "LR"
    folded: tuple[str, ...] = ()  # the zero-valued quantities drawn as one node

    @property
    def roles(self) -> list[str]:
        """The roles drawn, in the style table's order (what the legend lists)."""
        used = {n.role for n in self.nodes} | ({"target"} if any(n.target for n in self.nodes)
                                               else set())
        return [r for r in ROLES if r in used]

    @property
    def source(self) -> str:
        """The diagram in Graphviz DOT, sorted so that equal results give equal text."""
        return self.digraph.source

    @property
    def digraph(self):
        """The diagram as a ``graphviz.Digraph`` (the graphviz package's own object)."""
        from .dot import to_digraph

        return to_digraph(self)

    @property
    def mermaid(self) -> str:
        """The diagram as a Mermaid flowchart, for Markdown documents."""
        from .text import to_mermaid

        return to_mermaid(self)

    def pipe(self, format: str) -> bytes:
        """The diagram laid out by Graphviz in ``format`` (``svg``, ``png``, ``pdf``...)."""
        from .image import pipe

        return pipe(self.source, format)

    def pipe_svg(self) -> str:
        return self.pipe("svg").decode("utf-8")

    def save(self, path: str | Path, format: str | None = None) -> Path:
        """Write the diagram; the format follows the extension (.dot .gv .mmd .svg .png .pdf)."""
        from .image import save

        return save(self, Path(path), format)

    render = save

    def to_dict(self) -> dict:
        """Nodes and edges as JSON-ready data, for tools that draw their own way."""
        return {"name": self.name, "title": self.title, "rankdir": self.rankdir,
                "roles": {r: ROLES[r].legend for r in self.roles},
                "nodes": [{"id": n.id, "role": n.role, "label": list(n.label),
                           "target": n.target, "tooltip": n.tooltip} for n in self.nodes],
                "edges": [{"tail": e.tail, "head": e.head, "kind": e.kind}
                          for e in self.edges],
                "folded": list(self.folded)}

    def __str__(self) -> str:
        return self.source

    def _repr_svg_(self) -> str:
        return self.pipe_svg()


def derivation_graph(result, name: str | None = None, *, include=(), depth: int | None = None,
                     constraints: bool = True, binding=(), chosen=(),
                     rankdir: str = "LR", unfold: bool = False) -> Diagram:
    """The diagram of how ``result`` obtained ``name`` (default: its first target).

    ``include`` names more quantities whose derivations are drawn too (a seek draws its
    decision variables and constrained quantities beside the objective); only ``name`` is
    marked as asked for. ``depth`` limits how many quantities back are drawn; ``constraints``
    adds the result's constraints on the quantities drawn (with what they need); ``binding``
    names constraint ids to mark as binding (a seek's), besides those with no slack;
    ``chosen`` names the values a search picked (drawn apart from values given by hand).
    A quantity solved by inverting a rule is drawn with that rule, marked as used
    backwards, fed by the quantities of the rearranged equation.

    Zero-valued branches (the terms of features the scenario does not use, see
    ``costgraph.render.folding``) are drawn as one node that feeds where they fed, unless
    ``unfold``; the quantities asked for, chosen or compared by a drawn constraint
    are always drawn.
    """
    name = name or result.targets[0]
    start = [name, *(n for n in include if n != name)]
    for n in start:
        result.step(n)  # an unknown name fails here with the closest names
    names = _closure(result, start, depth)
    statuses = []
    if constraints:
        for status in result.constraints:
            used = _constraint_names(status, result)
            # a broken constraint is always drawn: the diagram must not look like a plan
            if used & names or (status.holds is False and used):
                statuses.append((status, used))
                names |= _closure(result, sorted(used), None if depth is None else 0)
    keep = set(start) | set(chosen) | {n for _, used in statuses for n in used}
    folded = frozenset() if unfold else zero_branches(result, names, keep)
    nodes, edges = _quantity_parts(result, names, name, set(chosen), folded)
    for status, used in statuses:
        nodes.append(_constraint_node(status, set(binding)))
        edges.extend(Edge(f"q:{n}", f"c:{status.id}", "constraint") for n in sorted(used))
    if folded:
        nodes.append(_fold_node(result, names, folded))
    value = format_quantity(result[name])
    presets = ", ".join(result.presets) or "none"
    title = f"{name} = {value}  (presets: {presets})"
    return Diagram(name, title, tuple(sorted(nodes, key=lambda n: n.id)),
                   tuple(sorted(set(edges), key=lambda e: (e.tail, e.head, e.kind))), rankdir,
                   tuple(sorted(folded)))


def _children(result, name: str) -> tuple[str | None, list[str]]:
    """(the rule that gave ``name``, the quantities that fed it); (None, []) for inputs.

    A solved step's inputs are the quantities of its rule rearranged for it, so an
    inverted rule is drawn like a forward one: its inputs (the given value among them)
    feed it, and it gives the solved quantity.
    """
    inputs = feeds(result, name)
    return (result.steps[name].rule, inputs) if inputs else (None, [])


def _closure(result, start, depth) -> set[str]:
    """Every quantity reached from ``start`` through rules, at most ``depth`` hops back."""
    seen = set(start)
    queue = deque((n, 0) for n in start)
    while queue:
        name, hops = queue.popleft()
        if depth is not None and hops >= depth:
            continue
        for child in _children(result, name)[1]:
            if child not in seen:
                seen.add(child)
                queue.append((child, hops + 1))
    return seen


def _quantity_parts(result, names: set[str], target: str, chosen: set[str],
                    folded: frozenset[str]) -> tuple[list[Node], list[Edge]]:
    """The nodes and edges of the quantities drawn; a folded one's edges leave the fold."""
    nodes, edges = [], []

    def tail(n: str) -> str:
        return f"q:{n}" if n not in folded else FOLD_ID

    for name in sorted(names - folded):
        step = result.steps[name]
        node = _quantity_node(step, name == target)
        nodes.append(dataclasses.replace(node, role="chosen") if name in chosen else node)
        rule, inputs = _children(result, name)
        if rule is None:
            continue
        rule_id = f"r:{rule}"  # a result uses each rule once, forward or inverted
        role = "inverted" if step.kind == "solved" else "rule"
        tip = step.formula or ""
        nodes.append(Node(rule_id, role, (rule,), tip))
        edges.append(Edge(rule_id, f"q:{name}"))
        edges.extend(Edge(tail(n), rule_id) for n in inputs if n in names)
    return nodes, edges


def _fold_node(result, names: set[str], folded: frozenset[str]) -> Node:
    """The node standing for every folded quantity, naming the zero terms it feeds on.

    Only edges out of the fold are drawn: its own inputs are folded with it, and an edge
    into it from each drawn quantity a folded rule also read would cross the whole diagram.
    """
    heads = sorted({n for kept in names - folded for n in feeds(result, kept)} & folded)
    lines = ["zero here:"]
    for i in range(0, len(heads), FOLD_NAMES_PER_LINE):
        lines.append(", ".join(heads[i:i + FOLD_NAMES_PER_LINE]))
    rest = len(folded) - len(heads)
    if rest:
        lines.append(f"and {rest} more that only they use")
    lines.append(FOLD_HINT)
    return Node(FOLD_ID, "folded", tuple(lines), "folded: " + ", ".join(sorted(folded)))


def _quantity_node(step, target: bool) -> Node:
    lines = [step.name, format_quantity(step.value)]
    if step.preset is not None:
        lines.append(f"preset {step.preset}")
    tooltip = step.formula or step.source or step.kind
    role = step.kind if step.kind in QUANTITY_ROLES else "derived"
    return Node(f"q:{step.name}", role, tuple(lines), tooltip, target)


def _constraint_names(status, result) -> set[str]:
    return set(status.names) & set(result.steps)


def _constraint_node(status, binding: set[str]) -> Node:
    if status.holds is None:
        role, detail = "unevaluated", "not evaluated"
    elif not status.holds:
        role, detail = "violated", "VIOLATED" + _ratio(status)
    elif status.id in binding or status.tight:
        role, detail = "binding", "binding"
    else:
        role, detail = "holds", "holds" + _ratio(status)
    lines = (status.id, detail) if status.id == status.expr else (status.id, status.expr, detail)
    return Node(f"c:{status.id}", role, lines, status.description or status.expr)


def _ratio(status) -> str:
    """", ratio 0.894" (left side over right); nothing when the right side is zero."""
    return "" if status.ratio is None else f", ratio {status.ratio:.3g}"

