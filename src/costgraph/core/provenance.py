"""Derivation records and the read-only Result handed to callers.

Every value in a Result remembers how it came to be: given, from a preset, derived by a
rule, or solved for by using a rule against its usual direction. From those records come
a text derivation (``explain``), a JSON-ready dict (``to_dict``) and diagrams (``graph``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from html import escape

import pint

from ..errors import UnknownQuantityError
from ..units import format_quantity, format_unit
from ..render.folding import FOLD_HINT
from ..lang.expr import Expression
from .slack import binds, slack

class Method(StrEnum):
    """How a value was obtained; the values are the words ``to_dict`` and the CLI show."""

    GIVEN = "given"  # given in the query
    PRESET = "preset"  # set by a preset
    DERIVED = "derived"  # computed forward by its rule
    SOLVED = "solved"  # found by using a rule against its usual direction
    OVERRIDE = "override"  # given although a rule defines it
    DEFAULT = "default"  # an input's default, read when nothing pins it
    CHOSEN = "chosen"  # picked by a search (drawn apart from values given by hand)


KINDS = tuple(m.value for m in Method if m is not Method.CHOSEN)


class Solver(StrEnum):
    """How an inverted equation was solved; the values are the words notes show."""

    SYMBOLIC = "solved symbolically"
    BRACKETED = "solved numerically (bracketed root)"
    JOINT = "solved numerically (joint root)"


@dataclass(frozen=True)
class Step:
    """How one value was obtained, as data: the text is built by ``formula``, ``note``,
    ``source``, ``explain`` and the renderers, never parsed back.

    ``equation`` is the rule as applied: ``name = expr`` forward, the pinning rule
    ``pinned_by = expr`` for a solved value, or ``name = closed form`` once ``rearranged``.
    """

    name: str
    value: pint.Quantity
    method: Method
    rule: str | None = None  # the rule id used (forward, or inverted when solved)
    equation: str | None = None
    inputs: tuple[str, ...] = ()
    citation: str | None = None  # the rule's citation, or the preset value's
    preset: str | None = None  # the preset that set the value
    assumption: bool = False  # a preset value marked as an assumption
    solver: Solver | None = None  # how a solved value was found
    pinned_by: str | None = None  # the known quantity whose value fixes a solved one
    pinned_value: pint.Quantity | None = None  # that quantity's value
    through: tuple[str, ...] = ()  # rule ids between the pinning rule and this value
    rearranged: bool = False  # ``equation`` is a closed form for ``name``
    whole_between: tuple[int, int] | None = None  # a whole-number quantity's root lies here

    def __post_init__(self):
        object.__setattr__(self, "method", Method(self.method))

    @property
    def kind(self) -> Method:
        """The method, under its older name."""
        return self.method

    @property
    def formula(self) -> str | None:
        """The equation as shown: a solved one not rearranged says what it was solved for."""
        if self.method is Method.SOLVED and not self.rearranged and self.equation:
            return f"{self.equation}  (solved for {self._chain()})"
        return self.equation

    @property
    def source(self) -> str | None:
        """``preset; citation`` for a preset value, else the citation."""
        if self.preset is not None:
            return self.preset + (f"; {self.citation}" if self.citation else "")
        return self.citation

    @property
    def whole_note(self) -> str | None:
        """What rounding a whole-number quantity's fractional root would mean, if it has one."""
        if self.whole_between is None:
            return None
        low, high = self.whole_between
        return f"{self.name} is a whole number: the exact root lies between {low} and {high}"

    @property
    def note(self) -> str | None:
        """How a solved value was found and what pinned it; ``assumption`` for a preset one."""
        if self.method is Method.PRESET:
            return "assumption" if self.assumption else None
        if self.solver is None:
            return None
        pinned = f"{self.pinned_by} = {format_quantity(self.pinned_value)}"
        how = (f"{pinned}, rule {self.rule} rearranged for {self._chain()}" if self.rearranged
               else f"{pinned} pins {self.name}")
        return "; ".join(p for p in (self.solver.value, how, self.whole_note) if p)

    def _chain(self) -> str:
        return self.name + (f" through {', '.join(self.through)}" if self.through else "")

    def to_dict(self) -> dict:
        return {"value": float(self.value.magnitude), "unit": format_unit(self.value.units),
                "kind": self.method.value, "rule": self.rule, "formula": self.formula,
                "inputs": list(self.inputs), "source": self.source, "note": self.note}


@dataclass(frozen=True)
class ConstraintStatus:
    """A declared or stated inequality, checked at a result's values."""

    id: str
    expr: str
    lhs: pint.Quantity | None
    rhs: pint.Quantity | None
    holds: bool | None  # None when it could not be evaluated
    description: str = ""
    missing: tuple[str, ...] = ()
    op: str = "<="  # the comparison: <=, <, >= or >
    expression: Expression | None = None  # ``expr`` parsed, so no reader parses the text again

    @property
    def names(self) -> tuple[str, ...]:
        """The quantities the constraint compares (none when it was built without its form)."""
        return tuple(sorted(self.expression.names)) if self.expression is not None else ()

    @property
    def slack(self) -> pint.Quantity | None:
        """How far the constraint is from binding, in the left side's unit (<0: violated)."""
        if self.lhs is None:
            return None
        return slack(self.lhs, self.rhs.to(self.lhs.units), self.op)

    @property
    def ratio(self) -> float | None:
        """left / right: above 1 breaks a `<=` constraint."""
        if self.lhs is None or self.rhs.magnitude == 0:
            return None
        return float((self.lhs / self.rhs).to("dimensionless").magnitude)

    @property
    def tight(self) -> bool:
        """Whether its two sides agree to ``core.slack.BINDING_RTOL``: no slack left."""
        return binds(self.ratio)

    def describe(self) -> str:
        if self.holds is None:
            return f"{self.id}: not evaluated (needs {', '.join(self.missing)})"
        verdict = "holds" if self.holds else "VIOLATED"
        return (f"{self.id}: {verdict} — {self.expr}: {format_quantity(self.lhs)} vs "
                f"{format_quantity(self.rhs.to(self.lhs.units))} "
                f"(slack {format_quantity(self.slack)}, ratio {self.ratio:.3g})")

    def to_dict(self) -> dict:
        unit = format_unit(self.lhs.units) if self.lhs is not None else None
        return {"id": self.id, "expr": self.expr, "holds": self.holds, "unit": unit,
                "lhs": None if self.lhs is None else float(self.lhs.magnitude),
                "rhs": None if self.rhs is None else float(self.rhs.to(self.lhs.units).magnitude),
                "slack": None if self.lhs is None else float(self.slack.magnitude),
                "missing": list(self.missing)}


@dataclass(frozen=True)
class Result:
    """The answer to a query: values with units, and how each was derived."""

    targets: tuple[str, ...]
    steps: dict[str, Step]
    constraints: tuple[ConstraintStatus, ...] = ()
    presets: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    overrides: dict = field(default_factory=dict)  # name -> (given, rule would give)
    warnings: tuple[str, ...] = ()  # what composing the presets did that a user should hear

    def __getitem__(self, name: str) -> pint.Quantity:
        return self.step(name).value

    def __contains__(self, name: str) -> bool:
        return name in self.steps

    def step(self, name: str) -> Step:
        try:
            return self.steps[name]
        except KeyError:
            raise UnknownQuantityError(name, list(self.steps), "this result") from None

    @property
    def values(self) -> dict[str, pint.Quantity]:
        return {n: s.value for n, s in self.steps.items()}

    @property
    def violated(self) -> tuple[ConstraintStatus, ...]:
        return broken(self.constraints)

    @property
    def feasible(self) -> bool:
        """False when the answer breaks a declared or stated constraint (see ``violated``)."""
        return not self.violated

    def upstream_of(self, name: str) -> list[str]:
        """Names this result's value of ``name`` was derived from."""
        return sorted(lineage(self.steps, self.step(name).inputs))

    def explain(self, name: str | None = None, *, unfold: bool = False) -> str:
        """The derivation of ``name`` (default: the first target) as an indented tree.

        Zero-valued branches (terms of features the scenario does not use, see
        ``costgraph.render.folding``) are folded into one line under the step that used them,
        unless ``unfold``.
        """
        from ..render.folding import zero_branches  # imported here: it reads Results, not Steps

        name = name or self.targets[0]
        lines: list[str] = []
        shown: set[str] = set()
        folded = frozenset() if unfold else zero_branches(self, [name, *self.upstream_of(name)],
                                                          keep=[name])
        self._explain(name, "", "", lines, shown, folded)
        for status in self.constraints:
            if status.holds is False:
                lines.append(f"! {status.describe()}")
        for n, (given, would) in sorted(self.overrides.items()):
            if n in shown and would is not None:
                lines.append(f"note: {n} is given as {format_quantity(given)}; its rule "
                             f"would give {format_quantity(would)}")
        return "\n".join(lines)

    def _explain(self, name, lead, child_lead, lines, shown, folded):
        step = self.step(name)
        head = f"{lead}{name} = {format_quantity(step.value)}"
        tag = {Method.GIVEN: "given", Method.PRESET: f"preset {_preset_source(step)}".strip(),
               Method.DEFAULT: "input default", Method.OVERRIDE: "given, overrides its rule"}
        if name in shown and step.inputs:
            lines.append(f"{head}  (derived above)")
            return
        shown.add(name)
        if step.method in tag:
            lines.append(f"{head}  [{tag[step.method]}]")
            if step.method is Method.PRESET and step.note:
                lines.append(f"{child_lead}    {step.note}")
            return
        lines.append(f"{head}  [{step.method}: rule {step.rule}]")
        if step.formula:
            shown_formula = step.formula
            if shown_formula.startswith(f"{name} = "):
                shown_formula = shown_formula[len(name) + 3:]
                lines.append(f"{child_lead}  = {shown_formula}")
            else:
                lines.append(f"{child_lead}  from {shown_formula}")
            # an equation used backwards without a closed form has no values to put in
            inverted = step.method is Method.SOLVED and not step.rearranged
            substituted = None if inverted else substitute(step.formula, self.values, step.name)
            if substituted:
                lines.append(f"{child_lead}  = {substituted}")
        if step.note:
            lines.append(f"{child_lead}  ({step.note})")
        if step.source:
            lines.append(f"{child_lead}  source: {step.source}")
        children = [n for n in step.inputs if n in self.steps and n not in folded]
        zeros = [n for n in step.inputs if n in folded]
        if zeros:
            branch = "└─ " if not children else "├─ "
            lines.append(f"{child_lead}{branch}zero here: {', '.join(zeros)}  ({FOLD_HINT})")
        for i, child in enumerate(children):
            last = i == len(children) - 1
            self._explain(child, child_lead + ("└─ " if last else "├─ "),
                          child_lead + ("   " if last else "│  "), lines, shown, folded)

    def to_dict(self) -> dict:
        """JSON-ready: every value with its unit and derivation, and constraint status."""
        return {
            "targets": list(self.targets),
            "presets": list(self.presets),
            "feasible": self.feasible,
            "failing": [c.id for c in self.violated],
            "values": {n: s.to_dict() for n, s in sorted(self.steps.items())},
            "constraints": [c.to_dict() for c in self.constraints],
            "overrides": {n: {"given": format_quantity(g),
                              "rule_gives": None if w is None else format_quantity(w)}
                          for n, (g, w) in sorted(self.overrides.items())},
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }

    def graph(self, name: str | None = None, **options):
        """The derivation diagram of ``name`` (see ``costgraph.render.diagram``)."""
        from ..render.diagram import derivation_graph

        return derivation_graph(self, name or self.targets[0], **options)

    def table(self) -> list[tuple[str, str, str]]:
        """(name, value, how) rows for the targets."""
        return [(n, format_quantity(self[n]), self.steps[n].kind) for n in self.targets]

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={format_quantity(self[n])}" for n in self.targets)
        flag = "" if self.feasible else \
            f" INFEASIBLE: {', '.join(c.id for c in self.violated)}"
        return f"<Result {shown}{flag}>"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{escape(n)}</td><td>{escape(v)}</td><td>{escape(k)}</td></tr>"
                       for n, v, k in self.table())
        html = f"<table><tr><th>quantity</th><th>value</th><th>how</th></tr>{rows}</table>"
        if not self.feasible:
            html = (f"<p><strong>INFEASIBLE</strong>: breaks "
                    f"{escape(', '.join(c.id for c in self.violated))}</p>" + html)
        html += constraints_html(self.constraints)
        try:
            svg = self.graph().pipe_svg()
        except Exception:  # the diagram is a bonus in notebooks; the table always shows
            return html
        return html + svg


def lineage(steps: dict[str, Step], names, stop=()) -> set[str]:
    """The names of ``steps`` reached from ``names`` by following each step's inputs up
    (``names`` included where ``steps`` holds them); the inputs of names in ``stop`` are
    not followed."""
    seen, stack = set(), list(names)
    while stack:
        n = stack.pop()
        if n not in seen and n in steps:
            seen.add(n)
            if n not in stop:
                stack.extend(steps[n].inputs)
    return seen


def violation_text(status: ConstraintStatus) -> str:
    """``memory.hbm_fit (227 GB against 126.9 GB, ratio 1.79)``: a broken constraint in words."""
    if status.lhs is None:
        return f"{status.id} (not evaluated)"
    ratio = "" if status.ratio is None else f", ratio {status.ratio:.3g}"
    return (f"{status.id} ({format_quantity(status.lhs)} against "
            f"{format_quantity(status.rhs.to(status.lhs.units))}{ratio})")


def broken(constraints) -> tuple[ConstraintStatus, ...]:
    """The constraints of ``constraints`` that do not hold (not those left unevaluated)."""
    return tuple(c for c in constraints if c.holds is False)


def infeasible_line(violated, subject: str = "this answer") -> str:
    """``INFEASIBLE: this answer breaks memory.hbm_fit (227 GB against 126.9 GB, ratio 1.79)``."""
    return f"INFEASIBLE: {subject} breaks " + "; ".join(violation_text(c) for c in violated)


def constraints_html(statuses, binding=()) -> str:
    """An HTML table of constraint statuses, for notebooks; ids in ``binding`` read binding."""
    if not statuses:
        return ""
    rows = []
    for c in statuses:
        if c.holds is None:
            cells = (c.id, "not evaluated", f"needs {', '.join(c.missing)}", "", "")
        else:
            status = "VIOLATED" if not c.holds else ("binding" if c.id in binding else "holds")
            cells = (c.id, status, format_quantity(c.lhs),
                     format_quantity(c.rhs.to(c.lhs.units)),
                     "" if c.ratio is None else f"{c.ratio:.3g}")
        rows.append("<tr>" + "".join(f"<td>{escape(str(x))}</td>" for x in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("constraint", "status", "left", "right", "ratio"))
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _preset_source(step: Step) -> str:
    """``"preset; citations"`` with only the cited keys, each one `costgraph sources` opens."""
    from ..lang.bibliography import cited_keys

    return (step.preset or "") + (f"; {cited_keys(step.citation)}" if step.citation else "")


_NAME = re.compile(r"(?<![\w{.])([a-z][a-z0-9_]*)(?![\w(])")


def substitute(formula: str, values: dict, exclude: str | None = None) -> str | None:
    """The formula with each quantity name replaced by its value, units included."""
    rhs = formula.split(" = ", 1)[1] if formula.startswith(f"{exclude} = ") else formula
    replaced = []

    def repl(match):
        name = match.group(1)
        if name in values:
            replaced.append(name)
            return f"({format_quantity(values[name])})"
        return name

    # unit literals such as {1 token/request} stay as written
    parts = re.split(r"(\{[^{}]*\})", rhs)
    text = "".join(p if p.startswith("{") else _NAME.sub(repl, p) for p in parts)
    return text if replaced else None
