"""A seek's answer: the optimum, what binds there, its closed form and how it reads."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import StrEnum
from html import escape

from ...core.provenance import ConstraintStatus, Result, constraints_html
from ...units import format_number, format_quantity, format_unit
from .closed_form import ClosedForm, ClosedFormQuestion


class Sense(StrEnum):
    """Which way a seek moves its objective; the values are the words it is asked in."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


@dataclass(frozen=True)
class SeekResult:
    """The optimum of a seek, read-only.

    ``value`` is the objective at the optimum; ``point`` holds the objective and every
    decision variable; ``binding`` the constraints that limit the optimum (relaxing any one
    of them alone would allow a better value), each with its slack; ``constraints`` every
    constraint at the optimum; ``result`` the full exact Result there.
    """

    objective: str
    sense: Sense
    value: object
    point: dict
    binding: tuple[ConstraintStatus, ...]
    constraints: tuple[ConstraintStatus, ...]
    result: Result
    bounds: dict  # decision variable -> (low, high) searched, Quantities or None when open
    method: str
    evaluations: int
    # what the closed form needs, solved on first use (sympy takes a fraction of a second)
    _closed: ClosedFormQuestion | None = field(default=None, repr=False, compare=False)
    choices: dict = field(default_factory=dict)  # decision variable -> the values it chose among

    @functools.cached_property
    def closed_form(self) -> ClosedForm | None:
        """The optimum as a formula of the quantities held fixed, when sympy derives one."""
        return None if self._closed is None else self._closed.solve()

    def explain(self) -> str:
        """The question, the optimum, what binds, the closed form and how it was searched."""
        lines = [f"{self.sense} {self.objective} subject to "
                 + "; ".join(c.id for c in self.constraints)]
        lines.append("vary: " + "; ".join(
            _bounds_text(n, lo, hi, self.choices.get(n))
            + (" (the objective)" if n == self.objective else "")
            for n, (lo, hi) in self.bounds.items()))
        at = [f"{n} = {format_quantity(q)}" for n, q in self.point.items() if n != self.objective]
        lines.append(f"optimum: {self.objective} = {format_quantity(self.value)}"
                     + (f" at {', '.join(at)}" if at else ""))
        lines.append("binding:" + ("" if self.binding else " none"))
        lines.extend(f"  {c.describe()}" for c in self.binding)
        if self.closed_form is not None:
            held = [f"{n} = {format_quantity(self.point[n])}" for n in self.bounds
                    if n != self.closed_form.variable]
            lines.append(f"closed form, from {self.closed_form.constraint}"
                         + (f" with {', '.join(held)}" if held else "") + ":")
            lines.extend(f"  {line}" for line in self.closed_form.lines())
        lines.append(f"search: {self.method}; {self.evaluations:,} evaluations")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready: the optimum, what binds, every constraint and the full result."""
        closed = self.closed_form
        return {
            "objective": self.objective, "sense": self.sense.value,
            "value": _quantity_dict(self.value),
            "point": {n: _quantity_dict(q) for n, q in self.point.items()},
            "binding": [c.to_dict() for c in self.binding],
            "constraints": [c.to_dict() for c in self.constraints],
            "bounds": {n: _bounds_dict(lo, hi) for n, (lo, hi) in self.bounds.items()},
            "closed_form": None if closed is None else closed.to_dict(),
            "method": self.method, "evaluations": self.evaluations,
            "result": self.result.to_dict(),
        }

    def __repr__(self) -> str:
        at = ", ".join(f"{n}={format_quantity(q)}" for n, q in self.point.items()
                       if n != self.objective)
        return (f"<SeekResult {self.sense} {self.objective} = {format_quantity(self.value)}"
                + (f" at {at}" if at else "") + ">")

    def _repr_html_(self) -> str:
        """For notebooks: the optimum, the point, and every constraint (binding marked)."""
        word = "maximum" if self.sense is Sense.MAXIMIZE else "minimum"
        rows = "".join(f"<tr><td>{escape(n)}</td><td>{escape(format_quantity(q))}</td></tr>"
                       for n, q in self.point.items())
        return (f"<p><strong>{word} {escape(self.objective)} = "
                f"{escape(format_quantity(self.value))}</strong></p>"
                f"<table><tr><th>quantity</th><th>value</th></tr>{rows}</table>"
                + constraints_html(self.constraints, {c.id for c in self.binding}))


def _bounds_text(name, low, high, choices=None) -> str:
    some = low if low is not None else high
    if choices:
        unit = format_unit(some.units) if some is not None else ""
        return f"{name} in {{{', '.join(format_number(c) for c in choices)}}}" + (
            f" {unit}" if unit else "")
    unit = format_unit(some.units) if some is not None else ""
    lo = "-inf" if low is None else format_number(low.magnitude)
    hi = "inf" if high is None else format_number(high.magnitude)
    return f"{name} in [{lo}, {hi}]" + (f" {unit}" if unit else "")


def _bounds_dict(low, high) -> dict:
    some = low if low is not None else high
    return {"low": None if low is None else float(low.magnitude),
            "high": None if high is None else float(high.magnitude),
            "unit": None if some is None else format_unit(some.units)}


def _quantity_dict(q) -> dict:
    return {"value": float(q.magnitude), "unit": format_unit(q.units)}
