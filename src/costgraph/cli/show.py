"""How results look at a terminal: the answer table, constraint status, derivations."""

from __future__ import annotations

from costgraph.core.provenance import infeasible_line
from costgraph.units import format_quantity

from .common import echo, table

HOW = {"given": "given", "preset": "preset", "default": "input default",
       "derived": "derived", "solved": "solved for", "override": "given (overrides rule)"}


def answer_table(result, names=None, title: str | None = None):
    """One row per quantity: value, how it was obtained, and by which rule or preset."""
    t = table("quantity", "value", "how", "rule or source", title=title)
    for name in names or result.targets:
        step = result.step(name)
        origin = step.rule or step.preset or ""
        t.add_row(name, format_quantity(step.value), HOW.get(step.kind, step.kind), origin)
    return t


def constraint_table(statuses, binding=()):
    """One row per constraint: holds or not, both sides, and the ratio left/right."""
    t = table("constraint", "status", "left", "right", "ratio")
    for c in statuses:
        if c.holds is None:
            t.add_row(c.id, "not evaluated", f"needs {', '.join(c.missing)}", "", "")
            continue
        status = "VIOLATED" if not c.holds else ("binding" if c.id in binding else "holds")
        t.add_row(c.id, status, format_quantity(c.lhs), format_quantity(c.rhs.to(c.lhs.units)),
                  "" if c.ratio is None else f"{c.ratio:.3g}")
    return t


def print_result(result, explain: bool = False, binding=()) -> None:
    """The answer, the presets it stands on, its constraints, notes and derivations."""
    parts = [answer_table(result), f"presets: {', '.join(result.presets) or 'none'}"]
    if result.constraints:
        parts += ["", constraint_table(result.constraints, binding)]
    if not result.feasible:
        parts += ["", infeasible_line(result.violated)]
    parts += [f"note: {note}" for note in result.notes]
    if explain:
        for name in result.targets:
            parts += ["", result.explain(name)]
    echo(*parts)
