"""The closed form of a seek's optimum, where sympy can derive one from the rules.

At the optimum one constraint usually stops the variable the search bisected: its left and
right sides are equal there. Writing that equality with every quantity that depends on the
variable expanded through its rule (and every other quantity kept as a symbol), then
solving it for the variable, gives the optimum as a formula of the quantities held fixed,
e.g. ``context_len_max = (...)``. Where the rules take a ``max``, ``min`` or ``where``, the
branch active at the optimum is used; a ``ceil`` or ``floor`` on the variable's path, the
variable inside an ``exp`` or ``log``, or an equation sympy cannot solve, means no closed form
is shown. What sympy made of a question (the formula, or that there is none) is kept on disk
(``core.solved_store``), so the same question at the same optimum is answered again without
building its equation or importing sympy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ... import lazy
from ...core import solved_store
from ...lang.expr import SympyBackend, translate
from ...errors import NoSolutionError
from ...core.plan import active_branches
from ...lang.definitions import QuantityDef
from ...core.symbolic import guarded_solve, solvable
from ...units import format_quantity, format_unit, from_base

if TYPE_CHECKING:
    from ...core.engine import Engine

MAX_OPS = 400  # larger equations take sympy seconds and print as walls of text
# the variable's occurrences an equation may hold: a price through a power that follows the
# load holds the variable over and over in a rational function sympy.solve can grind on for minutes
MAX_OCCURRENCES = 8
sympy = lazy.module("sympy")  # only a question not answered before builds an equation
_SOURCES = (__file__,)  # what decides a closed form, beside what core.solved_store counts


@dataclass(frozen=True)
class ClosedForm:
    """``variable`` at the optimum as a formula of the quantities held fixed."""

    variable: str
    end: str  # "max" or "min": which end of the feasible range the optimum sits on
    constraint: str  # the id of the constraint whose equality the formula solves
    expression: str  # over quantity names, in base units
    fixed: dict  # name -> Quantity, the value of each name in the expression
    value: object  # the formula's value (pint Quantity, the variable's declared unit)
    optimum: object  # the optimum found by the search (whole when the variable is)
    branch: bool  # whether a max()/min() branch was chosen
    integer: bool = False  # whether the variable is a whole number

    @property
    def name(self) -> str:
        return f"{self.variable}_{self.end}"

    def lines(self) -> list[str]:
        out = [f"{self.name} = {self.expression}"]
        if self.fixed:
            out.append("  with " + ", ".join(f"{n} = {format_quantity(q)}"
                                             for n, q in sorted(self.fixed.items())))
        out.append(f"  = {format_quantity(self.value)}")
        if self.integer:
            out.append(f"  whole-number optimum: {format_quantity(self.optimum)}")
        notes = ["names in base units (bit, s, USD, token, request, FLOP)"]
        if self.branch:
            notes.append("max()/min()/where() on the branch active at the optimum")
        out.append(f"  ({'; '.join(notes)})")
        return out

    def to_dict(self) -> dict:
        return {"name": self.name, "variable": self.variable, "constraint": self.constraint,
                "expression": self.expression,
                "fixed": {n: format_quantity(q) for n, q in sorted(self.fixed.items())},
                "value": float(self.value.magnitude), "unit": format_unit(self.value.units)}


def _text(expr) -> str:
    """sympy's text of ``expr``, with numbers written as short as they round-trip to 12
    digits."""
    from sympy.printing.str import StrPrinter

    class Printer(StrPrinter):
        def _print_Float(self, expr):
            return f"{float(expr):.12g}"

    return Printer().doprint(expr)


@dataclass(frozen=True)
class ClosedFormQuestion:
    """What deriving a seek's closed form needs, taken from the engine when the seek ends.

    ``equation`` is the stopping constraint's two sides subtracted, with every quantity that
    depends on ``variable`` expanded through its rule; ``values`` the base-unit magnitudes at
    the optimum; ``units`` the declared unit of each name. Solving it (sympy, a fraction of a
    second) waits until the closed form is asked for. ``entry`` names where the outcome is
    kept (``core.solved_store``); ``known`` is the outcome kept there by an earlier process,
    and then there is no equation (nor symbol, nor units) to solve.
    """

    variable: str
    end: str
    constraint: str
    equation: sympy.Expr | None
    symbol: sympy.Symbol | None
    quantity: QuantityDef  # the variable's declaration
    units: dict  # name -> declared unit, for each name in the equation
    values: dict  # name -> base-unit magnitude at the optimum
    optimum: object
    entry: str | None = None
    known: tuple | None = None

    def solve(self) -> ClosedForm | None:
        """The closed form, or None when sympy gives no single admissible formula."""
        outcome = self.known
        if outcome is None:
            outcome = self._outcome()
            solved_store.store(self.entry, outcome)
        if outcome[0] == "none":
            return None
        _, expression, fixed, value, branch = outcome
        qdef = self.quantity
        return ClosedForm(self.variable, self.end, self.constraint, expression,
                          {n: from_base(self.values[n], unit) for n, unit in fixed},
                          from_base(value, qdef.unit), self.optimum, branch, qdef.integer)

    def _outcome(self) -> tuple:
        """``("none",)``, or ``("form", text, ((name, unit), ...), value in base units,
        branch)``: the closed form as plain data, worked out by sympy."""
        none = ("none",)
        x, values, qdef = self.symbol, self.values, self.quantity
        equation = self.equation
        numbers = {s: sympy.Float(values[s.name], 17) for s in equation.free_symbols
                   if s.name in values and s != x}
        numbers[x] = sympy.Float(values[self.variable], 17)
        branch = any(a.has(x) for a in equation.atoms(sympy.Max, sympy.Min, sympy.Piecewise))
        try:
            equation = active_branches(equation, numbers)
        except (TypeError, NoSolutionError):  # a value missing, or no where() branch holds
            return none
        if not solvable(equation, x, MAX_OPS) or \
                sum(1 for node in sympy.preorder_traversal(equation) if node == x) > MAX_OCCURRENCES:
            return none  # a long rational function of the variable: sympy.solve can grind
        root = _root(equation, x, numbers, values[self.variable], qdef, self.optimum)
        if root is None:
            return none
        expr, value = root
        fixed = tuple(sorted((s.name, self.units[s.name]) for s in expr.free_symbols
                             if s.name in values))
        return "form", _text(expr), fixed, value, branch


def closed_form_question(engine: Engine, variable: str, end: str, cdef, values: dict,
                         optimum) -> ClosedFormQuestion | None:
    """The question of solving ``cdef``'s equality for ``variable`` with everything else at
    ``values``, built from the engine (``.solve()`` answers it); None when the constraint does
    not depend on ``variable``.

    Parameters
    ----------
    engine : Engine
    variable : str
        The quantity the search bisected (an input).
    end : {"max", "min"}
    cdef : ConstraintDef
        The constraint that stops ``variable`` at the optimum.
    values : dict
        Base-unit magnitudes of every quantity at the optimum.
    optimum : pint.Quantity
        The optimum the search found, used to pick the right root and branch.
    """
    quantities = engine.ruleset.quantities
    entry = solved_store.entry(engine, "seek closed form", (
        variable, end, cdef.id, cdef.expr.text, solved_store.numbers(values),
        repr(float(optimum.magnitude)), str(optimum.units)), _SOURCES)
    found, known = solved_store.load(entry)
    if found:
        if known[0] == "independent":
            return None
        return ClosedFormQuestion(variable, end, cdef.id, None, None, quantities[variable], {},
                                  dict(values), optimum, entry, known)
    x = engine.symbols[variable]
    depends = set(engine.downstream_of(variable))
    backend = SympyBackend(engine.symbols)
    left, _, right = cdef.expr.sides()
    sides = []
    for node in (left, right):
        side = translate(cdef.expr.part(node), backend)
        sides.append(side.xreplace({engine.symbols[n]: engine.path_composite(n, variable)
                                    for n in cdef.names if n in depends}))
    equation = sides[0] - sides[1]
    if not equation.has(x):
        solved_store.store(entry, ("independent",))
        return None
    units = {s.name: quantities[s.name].unit for s in equation.free_symbols}
    return ClosedFormQuestion(variable, end, cdef.id, equation, x, quantities[variable], units,
                              dict(values), optimum, entry)


def _root(equation, x, numbers, x_base, qdef, optimum):
    """The root of ``equation`` in ``x`` that is the optimum (within a whole step, if whole)."""
    roots = guarded_solve(equation, x, rational=False)  # once per equation, ever
    if roots is None:
        return None
    others = {s: v for s, v in numbers.items() if s != x}
    found = []
    for root in roots:
        try:
            value = complex(root.xreplace(others))
        except TypeError:
            continue
        if abs(value.imag) > 1e-9 * max(1.0, abs(value.real)):
            continue
        found.append((abs(value.real - x_base), root, value.real))
    if not found:
        return None
    _, root, value = min(found, key=lambda t: t[0])
    declared = from_base(value, qdef.unit).magnitude
    target = float(optimum.magnitude)
    step = 1.0 if qdef.integer else 0.0
    if not math.isclose(declared, target, rel_tol=1e-6, abs_tol=step + 1e-9):
        return None
    return root, value
