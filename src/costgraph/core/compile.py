"""The compiled path: a plan turned into one numpy-vectorised function.

Every quantity that is not an input is fixed (from presets and ``given``) and folded in as a
constant; inputs arrive as arrays in their declared units and are converted to base units;
sympy's ``lambdify`` turns the composite expressions into numpy code. A free input solved
from an equation is found per element by a vectorised bracketed bisection, so inverted
queries compile too. Results come back in the outputs' declared units.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from dataclasses import dataclass

import numpy as np

from .. import lazy
from .compile_namespace import NAMESPACE
from ..errors import NoSolutionError, UnknownQuantityError
from ..lang.expr import SympyBackend, translate
from .roots import sign_root
from .slack import relative_slack_expr
from .solve import rearranged
from ..units import base_factor, to_base

if TYPE_CHECKING:
    from .engine import Engine

# compiling needs sympy; a CompiledFunction read back from disk (core.compile_store) does not
sympy = lazy.module("sympy")


def numpy_function(args, expr):
    """lambdify with min/max that broadcast element-wise (sympy's printer would not)."""
    from .compile_exprs import cg_max, cg_min

    if expr.has(sympy.Max, sympy.Min):
        expr = expr.replace(sympy.Max, cg_max).replace(sympy.Min, cg_min)
    return sympy.lambdify(args, expr, modules=list(NAMESPACE))


@dataclass
class Stage:
    name: str  # free input solved at this stage
    residual: object  # f(x, *inputs, *earlier) -> relative residual
    low: float
    high: float
    direct: object = None  # f(*inputs, *earlier) -> x, when the equation rearranges exactly


class CompiledFunction:
    """Call with keyword arrays (declared units); returns arrays in declared units.

    ``find`` given as a string returns one array; as a list, a dict of arrays. A point whose
    inputs lie outside their declared bounds, or whose solved inputs have no admissible value,
    is NaN in every output and margin (so it never counts as feasible).
    """

    def __init__(self, model: Engine, find, inputs, known_values, single: bool, constraints=(),
                 fallback=None, movers=()):
        self.model = model
        self.constraints = tuple(constraints)
        self.find = tuple(find)
        self.inputs = tuple(inputs)
        self.single = single
        rs = model.ruleset
        for name in (*self.find, *self.inputs):
            if name not in rs.quantities:
                raise UnknownQuantityError(name, list(rs.quantities), "compile")
        known = frozenset(known_values) | frozenset(self.inputs)
        # an input freed to move (input_len under a varied context_len) is solved at every
        # point even when no output needs it: where it has no admissible value the point
        # cannot be, and every output there is NaN
        needed = tuple(dict.fromkeys([*self.find, *(n for c in self.constraints for n in c.names
                                                    if n not in known), *movers]))
        fallback = {n: v for n, v in (fallback or {}).items() if n not in self.inputs}
        plan = model.planner.plan(known, needed, frozenset(fallback))
        self.plan = plan
        known = known | frozenset(plan.defaulted)
        self._in_factor = np.array([base_factor(rs.quantities[n].unit)[0] for n in self.inputs])
        # an input outside its declared bounds (batch -5) is no point at all: NaN throughout
        self._in_bounds = [(-np.inf if rs.quantities[n].low is None else rs.quantities[n].low,
                            np.inf if rs.quantities[n].high is None else rs.quantities[n].high)
                           for n in self.inputs]
        self._out_factor = {n: base_factor(rs.quantities[n].unit)[0] for n in self.find}
        fixed = {**known_values, **{n: fallback[n] for n in plan.defaulted}}
        self._constants = {model.symbols[n]: sympy.Float(to_base(v), 17)
                           for n, v in fixed.items() if n not in self.inputs}
        self._args = [model.symbols[n] for n in self.inputs]
        self._stages = self._build_stages(plan, known)
        self._outputs = {n: self._lambdify(self._expression(n, known)) for n in self.find}
        self._margins = {c.id: self._lambdify(self._margin(c, known)) for c in self.constraints}

    def _margin(self, cdef, known):
        """Relative slack of a constraint: >= 0 where it holds, < 0 by how much it fails."""
        from .compile_exprs import UnevaluatedBackend

        backend = UnevaluatedBackend(self.model.symbols)
        left, op, right = cdef.expr.sides()
        lhs, rhs = (translate(cdef.expr.part(side), backend)
                    for side in (left, right))
        expand = {self.model.symbols[n]: self._expression(n, known) for n in cdef.names}
        return relative_slack_expr(lhs.xreplace(expand), rhs.xreplace(expand), op)

    def _expression(self, name, known):
        from . import compile_exprs

        model = self.model
        if name in known or name in self.plan.solved:
            return model.symbols[name]
        # min/max/where unevaluated: their symbolic simplification was most of a compile
        return compile_exprs.composite(model, name, known)

    def _lambdify(self, expr):
        solved = [self.model.symbols[s.name] for s in self._stages]
        return numpy_function([*self._args, *solved], expr.xreplace(self._constants))

    def _build_stages(self, plan, known):
        from . import compile_exprs
        from .solve import bounds_base

        stages = []
        for block in plan.blocks:
            if len(block.unknowns) > 1:
                raise NoSolutionError(", ".join(block.unknowns),
                                      "compile solves one unknown per equation; these are "
                                      "coupled, use model.solve instead")
            x, q = block.unknowns[0], block.equations[0]
            comp = compile_exprs.composite(self.model, q, known)
            if comp.has(*compile_exprs.OPAQUE):  # min/max/where: sympy's own forms, which
                comp = self.model.planner.composite(q, known)  # may simplify them away
            target = self.model.symbols[q]
            residual = (comp - target) / target
            solved = [self.model.symbols[s.name] for s in stages]
            args = [self.model.symbols[x], *self._args, *solved]
            low, high = bounds_base(self.model.ruleset.quantities[x])
            # an equation sympy rearranges to one formula (context_len = input_len +
            # output_len) is evaluated directly instead of searched for, point by point
            closed = rearranged(comp, target, self.model.symbols[x])
            direct = None if closed is None else numpy_function(
                [*self._args, *solved], closed.xreplace(self._constants))
            stages.append(Stage(x, numpy_function(args, residual.xreplace(self._constants)),
                                 low, high, direct))
        return stages

    def __call__(self, **arrays):
        base, solved, shape = self._run(arrays)
        out = {}
        for name, fn in self._outputs.items():
            out[name] = _masked(_declared(_evaluate(fn, base, solved, shape),
                                          self._out_factor[name]), [*base, *solved])
        return out[self.find[0]] if self.single else out

    def evaluate(self, **arrays) -> tuple[dict, dict]:
        """``(outputs, margins)`` at the given arrays, the solved inputs found once for both.

        ``outputs`` maps every name in ``find`` to its array (even when ``find`` was one
        name); ``margins`` is as ``margins()`` returns it.
        """
        base, solved, shape = self._run(arrays)
        everything = [*base, *solved]
        out = {name: _masked(_declared(_evaluate(fn, base, solved, shape),
                                       self._out_factor[name]), everything)
               for name, fn in self._outputs.items()}
        slack = {cid: _masked(_evaluate(fn, base, solved, shape), everything)
                 for cid, fn in self._margins.items()}
        return out, slack

    def margins(self, **arrays) -> dict:
        """Each constraint's relative slack (>= 0 holds) at the given input arrays.

        The gap between the sides over the right side's size; over the left side's size
        when the right side is zero; 0 when both are.
        """
        base, solved, shape = self._run(arrays)
        return {cid: _masked(_evaluate(fn, base, solved, shape), [*base, *solved])
                for cid, fn in self._margins.items()}

    def _run(self, arrays):
        missing = [n for n in self.inputs if n not in arrays]
        extra = sorted(set(arrays) - set(self.inputs))
        if missing or extra:
            raise TypeError(f"compiled function takes {', '.join(self.inputs)}; "
                            f"missing {missing or 'none'}, unexpected {extra or 'none'}")
        values = [np.asarray(arrays[n], dtype=float) for n in self.inputs]
        # scaled as given and broadcast by the arithmetic: an input that is the same at every
        # point (one fitted value against a grid of batches) is never expanded to the grid;
        # a value outside its declared bounds (batch -5) is no point at all: NaN throughout
        shape = np.broadcast_shapes(*(v.shape for v in values)) if values else ()
        base = [_base(_within(v, lo, hi), f)
                for v, f, (lo, hi) in zip(values, self._in_factor, self._in_bounds)]
        solved = []
        for stage in self._stages:
            if stage.direct is not None:
                with np.errstate(all="ignore"):
                    x = np.broadcast_to(np.asarray(stage.direct(*base, *solved), float), shape)
                    ok = (x >= stage.low) & (x <= stage.high) & (np.abs(np.broadcast_to(
                        stage.residual(x, *base, *solved), shape)) <= 1e-9)
                solved.append(np.where(ok, x, np.nan))
            else:
                solved.append(_vector_root(stage, base, solved, shape))
        return base, solved, shape


def _within(v, low, high):
    """``v`` with every value outside [low, high] made NaN; ``v`` itself when all are inside
    (two reductions, no copy: the common case of a grid inside its bounds)."""
    if not v.size or (low == -np.inf and high == np.inf):
        return v
    with np.errstate(invalid="ignore"):
        if v.min() >= low and v.max() <= high:  # False with any NaN: the where() keeps it
            return v
        return np.where((v >= low) & (v <= high), v, np.nan)


def _base(v, factor):
    """``v`` in base units: scaled by its unit's factor, not copied when that is 1."""
    return v if factor == 1.0 else v * factor


def _declared(values, factor):
    """Base-unit ``values`` in the declared unit (the same division as ever; none for 1)."""
    return values if factor == 1.0 else values / factor


def _masked(values, solved):
    """NaN wherever an input is out of its bounds or a solved input has no admissible value
    (the point cannot be), whether or not this output depends on it."""
    if not solved:
        return values
    bad = np.zeros(np.shape(values), dtype=bool)
    for s in solved:
        bad |= np.isnan(np.broadcast_to(s, np.shape(values)))
    return np.where(bad, np.nan, values) if bad.any() else values


def _evaluate(fn, base, solved, shape):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.broadcast_to(np.asarray(fn(*base, *solved), dtype=float), shape)


def _vector_root(stage: Stage, base, solved, shape, points: int = 64):
    """Per element: the first sign change on a log grid, then ``core.roots.sign_root``."""
    low = max(stage.low, 1e-12) if stage.low >= 0 else 1e-12
    high = min(stage.high, 1e15)
    grid = np.geomspace(low, high, points)
    size = int(np.prod(shape)) if shape else 1
    flat_inputs = [np.broadcast_to(b, shape).reshape(size) for b in base]
    flat_solved = [np.broadcast_to(s, shape).reshape(size) for s in solved]
    lo = np.full(size, np.nan)
    hi = np.full(size, np.nan)
    prev = None
    with np.errstate(all="ignore"):
        for i, x in enumerate(grid):
            value = np.broadcast_to(stage.residual(np.full(size, x), *flat_inputs, *flat_solved),
                                    (size,))
            if prev is not None:
                hit = np.isnan(lo) & (np.sign(prev) * np.sign(value) <= 0) & np.isfinite(
                    prev) & np.isfinite(value)
                lo[hit], hi[hit] = grid[i - 1], x
            prev = value

    def residual(rows, x):
        return stage.residual(x, *(b[rows] for b in flat_inputs),
                              *(s[rows] for s in flat_solved))

    return sign_root(residual, lo, hi).reshape(shape)


def forward_expressions(ruleset, symbols) -> dict:
    """Each derived quantity's rule as a sympy expression over base-unit magnitudes."""
    backend = SympyBackend(symbols)
    return {r.defines: translate(r.expr, backend) for r in ruleset.rules.values()}
