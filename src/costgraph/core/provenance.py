"""Derivation records and the read-only Result handed to callers.

Every value in a Result remembers how it came to be: given, from a preset, derived by a
rule, or solved for by using a rule against its usual direction. From those records come
a text derivation (``explain``), a JSON-ready dict (``to_dict``) and diagrams (``graph``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

import pint

from ..errors import UnknownQuantityError
from ..units import format_quantity, format_unit
from ..render.folding import FOLD_HINT

KINDS = ("given", "preset", "derived", "solved", "override", "default")


@dataclass(frozen=True)
class Step:
    """How one value was obtained."""

    name: str
    value: pint.Quantity
    kind: str  # one of KINDS
    rule: str | None = None  # the rule id used (forward, or inverted for "solved")
    formula: str | None = None  # the equation as applied
    inputs: tuple[str, ...] = ()
    source: str | None = None  # citation of the rule or of the preset value
    note: str | None = None

    def to_dict(self) -> dict:
        return {"value": float(self.value.magnitude), "unit": format_unit(self.value.units),
                "kind": self.kind, "rule": self.rule, "formula": self.formula,
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

    @property
    def slack(self) -> pint.Quantity | None:
        """How far the constraint is from binding, in the left side's unit (<0: violated)."""
        if self.lhs is None:
            return None
        diff = self.rhs.to(self.lhs.units) - self.lhs
        return diff if self.op in ("<=", "<") else -diff

    @property
    def ratio(self) -> float | None:
        """left / right: above 1 breaks a `<=` constraint."""
        if self.lhs is None or self.rhs.magnitude == 0:
            return None
        return float((self.lhs / self.rhs).to("dimensionless").magnitude)

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
        return tuple(c for c in self.constraints if c.holds is False)

    @property
    def feasible(self) -> bool:
        """False when the answer breaks a declared or stated constraint (see ``violated``)."""
        return not self.violated

    def upstream_of(self, name: str) -> list[str]:
        """Names this result's value of ``name`` was derived from."""
        seen, stack = set(), list(self.step(name).inputs)
        while stack:
            n = stack.pop()
            if n not in seen and n in self.steps:
                seen.add(n)
                stack.extend(self.steps[n].inputs)
        return sorted(seen)

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
        tag = {"given": "given", "preset": f"preset {_preset_source(step.source)}".strip(),
               "default": "input default", "override": "given, overrides its rule"}
        if name in shown and step.inputs:
            lines.append(f"{head}  (derived above)")
            return
        shown.add(name)
        if step.kind in tag:
            lines.append(f"{head}  [{tag[step.kind]}]")
            if step.kind == "preset" and step.note:
                lines.append(f"{child_lead}    {step.note}")
            return
        lines.append(f"{head}  [{step.kind}: rule {step.rule}]")
        if step.formula:
            shown_formula = step.formula
            if shown_formula.startswith(f"{name} = "):
                shown_formula = shown_formula[len(name) + 3:]
                lines.append(f"{child_lead}  = {shown_formula}")
            else:
                lines.append(f"{child_lead}  from {shown_formula}")
            substituted = substitute(step.formula, self.values, step.name)
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


def violation_text(status: ConstraintStatus) -> str:
    """``memory.hbm_fit (227 GB against 126.9 GB, ratio 1.79)``: a broken constraint in words."""
    if status.lhs is None:
        return f"{status.id} (not evaluated)"
    ratio = "" if status.ratio is None else f", ratio {status.ratio:.3g}"
    return (f"{status.id} ({format_quantity(status.lhs)} against "
            f"{format_quantity(status.rhs.to(status.lhs.units))}{ratio})")


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


def _preset_source(source: str | None) -> str:
    """``"preset; citations"`` with only the cited keys, each one `costgraph sources` opens."""
    from ..lang.bibliography import cited_keys

    preset, sep, cited = (source or "").partition("; ")
    return preset + (sep + cited_keys(cited) if sep else "")


_NAME = re.compile(r"(?<![\w{.])([a-z][a-z0-9_]*)(?![\w(])")


def substitute(formula: str, values: dict, exclude: str | None = None) -> str | None:
    """The formula with each quantity name replaced by its value, units included."""
    rhs = formula.split(" = ", 1)[1] if formula.startswith(f"{exclude} = ") else formula
    if "(solved" in rhs:  # an equation used backwards without a closed form
        return None
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
