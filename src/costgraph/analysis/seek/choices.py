"""Decision variables that take one of a few values (tensor-parallel sizes), for ``seek``.

The search sees such a variable as a whole-number index into its sorted values, so bisection,
enumeration and refinement work unchanged; the evaluation and the answer see the values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dataclasses

import numpy as np

from ...errors import QueryError
from .line import Variable
from ...units import format_quantity

if TYPE_CHECKING:
    from ...core.engine import Engine


def allowed_choices(model: Engine, name, spec, bounds, known) -> tuple[float, ...] | None:
    """The values ``name`` may take in this seek, sorted, or None for a plain variable.

    A set in ``vary`` lists them; a quantity that declares ``values`` takes those within the
    bounds; either way only values that divide what the quantity must divide (``divides``,
    at the scenario's values) remain.
    """
    q = model.ruleset.quantities[name]
    if isinstance(spec, (set, frozenset)):
        values = sorted(float(model.coerce(name, v, where="vary").magnitude) for v in spec)
    elif q.values is not None:
        low, high = (None if b is None else float(b.magnitude) for b in bounds)
        values = [v for v in q.values if (low is None or v >= low) and (high is None or v <= high)]
    else:
        return None
    for other in q.divides:
        if other in known:
            whole = float(known[other].magnitude)
            values = [v for v in values if v and not whole % v]
    if not values:
        span = " .. ".join("open" if b is None else format_quantity(b) for b in bounds)
        raise QueryError(f"vary {name}", f"none of the values {name} may take lies in {span}"
                                         + (f" and divides {', '.join(q.divides)}"
                                            if q.divides else ""))
    return tuple(dict.fromkeys(values))


def choice_variable(name: str, choices) -> Variable:
    """The search's view of a choice: a whole-number index 0 .. len - 1."""
    return Variable(name, 0.0, float(len(choices) - 1), True)


def on_choices(evaluate, choices: dict):
    """``evaluate`` over indices: each choice variable's index replaced by its value."""
    if not choices:
        return evaluate
    tables = {n: np.asarray(c, dtype=float) for n, c in choices.items()}

    def indexed(points):
        return evaluate({n: _value(tables[n], v) if n in tables else v
                         for n, v in points.items()})

    return indexed


def chosen(outcome, choices: dict):
    """The search's outcome with each choice variable's index turned into its value."""
    if outcome is None or not choices:
        return outcome
    point = {n: float(_value(np.asarray(choices[n], float), v)) if n in choices else v
             for n, v in outcome.point.items()}
    return dataclasses.replace(outcome, point=point)


def _value(table: np.ndarray, index):
    i = np.clip(np.rint(np.asarray(index, dtype=float)), 0, len(table) - 1).astype(int)
    return table[i]
