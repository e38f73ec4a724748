"""Executing a plan exactly: floats forward, sympy or root-finding backward.

Forward steps evaluate each rule on floats in base units (see ``floatpath``: units were
checked at load, and pint takes over wherever floats could part from it). A free input is
solved from its equation symbolically when sympy finds exactly one admissible root (real, within bounds, on the active branch of any
min/max), and by bracketed root-finding otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dataclasses
import functools
import itertools
import math

import numpy as np

from .. import lazy
from . import floatpath
from ..errors import ConflictError, NoSolutionError
from .plan import Block, Plan, active_branches
from .provenance import Method, Solver, Step
from ..units import base_factor, format_quantity, from_base, to_base
from .roots import sign_root
from . import solved_store
from .symbolic import guarded_solve, solvable

if TYPE_CHECKING:
    from .engine import Engine

CONSISTENCY_TOL = 1e-6  # two givens agree when their derivations differ by less
sympy = lazy.module("sympy")  # the forward steps run on floats: only inversion needs sympy
_SOURCES = (__file__,)  # what works out the outcomes kept in solved_store, beside its own


def _branchy():
    return sympy.Max, sympy.Min


def execute(model: Engine, plan: Plan, steps: dict[str, Step],
            fallback: dict) -> tuple[dict, dict]:
    """Run ``plan`` from the known ``steps``; returns (steps, overrides)."""
    steps = dict(steps)
    for name in plan.defaulted:
        steps[name] = fallback[name]
    for block in plan.blocks:
        solved = _solve_block(model, plan, block, steps, fallback)
        steps.update(solved)
    # on floats in base units, each rule's value as pint would give it (see floatpath)
    floatpath.forward(model, plan.forward, steps)
    for block in plan.blocks:
        for x, q in zip(block.unknowns, block.equations):
            steps[x] = _with_closed_form(model, steps[x], q, steps)
    for q in plan.checks:
        _check(model, q, steps, plan)
    overrides = {}
    for q in plan.overrides:
        rule = model.ruleset.rule_for(q)
        would = None
        if all(n in steps for n in rule.expr.names):
            would = _evaluate(model, rule, steps).to(steps[q].value.units)
        overrides[q] = (steps[q].value, would)
    return steps, overrides


def _evaluate(model: Engine, rule, steps):
    return floatpath.value(model, rule, steps)  # declared unit; pint where floats may differ


def _check(model: Engine, q, steps, plan):
    rule = model.ruleset.rule_for(q)
    got = _evaluate(model, rule, steps).to(steps[q].value.units)
    given = steps[q].value
    if not math.isclose(got.magnitude, given.magnitude, rel_tol=CONSISTENCY_TOL, abs_tol=1e-300):
        solved = ", ".join(f"{x} = {format_quantity(steps[x].value)}" for x in plan.solved)
        first = next((steps[b.equations[0]] for b in plan.blocks), None)
        first_text = (f"{first.name} = {format_quantity(first.value)}" if first is not None
                      else "the other givens")
        raise ConflictError(first_text, f"{q} = {format_quantity(given)}",
                            f"with {solved} (from {first_text.split(' =')[0]}), {q} would be "
                            f"{format_quantity(got)}")


# --- solving a block ---------------------------------------------------------------------


def _block_roots(model: Engine, plan: Plan, block: Block, base, fallback) -> tuple:
    """(the unknowns' values in base units, in order; the Solver's value) for ``block``."""
    symbols = model.symbols
    residuals = []
    for q in block.equations:
        comp = model.planner.composite(q, plan.known)
        subs = {symbols[n]: sympy.Float(base[n], 17) for n in _names(comp) if n in base}
        scale = abs(base[q]) or 1.0
        # numbers folded to floats before sympy sees them: an exact log(2) beside float
        # coefficients sends solve's simplification into powers it never finishes
        residual = ((comp.xreplace(subs) - sympy.Float(base[q], 17)) / scale).evalf(17)
        residuals.append((residual, q))
    unknowns = block.unknowns
    if len(unknowns) == 1:
        value, method = _solve_one(model, unknowns[0], residuals[0][0], fallback, block)
        values = {unknowns[0]: value}
    else:
        values, method = _solve_many(model, unknowns, [r for r, _ in residuals], fallback)
    return tuple(values[x] for x in unknowns), method.value


def _solve_block(model: Engine, plan: Plan, block: Block, steps, fallback) -> dict[str, Step]:
    base = floatpath.base_values(model, steps)
    unknowns = block.unknowns
    # the same block at the same numbers has the same roots: kept as floats, so a question
    # asked before is answered without building its equation (or importing sympy)
    guesses = {x: to_base(fallback[x].value) for x in unknowns if x in fallback}
    question = (unknowns, block.equations, tuple(sorted(plan.known)),
                solved_store.numbers(base), solved_store.numbers(guesses))
    found, method = solved_store.kept(
        model, "block", question, lambda: _block_roots(model, plan, block, base, fallback),
        _SOURCES)
    values, method = dict(zip(unknowns, found)), Solver(method)
    result = {}
    for x, q in zip(unknowns, block.equations):
        rule = model.ruleset.rule_for(q)
        qdef = model.ruleset.quantities[x]
        quantity = from_base(values[x], qdef.unit)
        whole = None
        if qdef.integer and not float(quantity.magnitude).is_integer():
            whole = (math.floor(quantity.magnitude), math.ceil(quantity.magnitude))
        inputs = tuple(sorted({q, *(n for n in _upstream_known(model, q, plan.known, x)
                                    if n != x)}))
        result[x] = Step(x, quantity, Method.SOLVED, rule.id, f"{q} = {rule.expr.text}", inputs,
                         rule.source, solver=method, pinned_by=q, pinned_value=steps[q].value,
                         through=tuple(_chain(model, q, x, plan.known)), whole_between=whole)
    return result


def _with_closed_form(model: Engine, step: Step, q: str, steps) -> Step:
    """A solved step restated as ``x = <formula>`` when sympy rearranges its path."""
    closed = closed_form(model, q, step.name, floatpath.base_values(model, steps))
    if closed is None:
        return step
    formula, inputs = closed
    return dataclasses.replace(step, equation=f"{step.name} = {formula}", inputs=inputs,
                               rearranged=True)


def closed_form(model: Engine, q: str, x: str, at: dict[str, float]):
    """``x`` written out from the rule of ``q``, or None when sympy gives no single form.

    Only the rules on the path from ``x`` up to ``q`` are expanded; everything beside the
    path stays a named quantity, so the form reads like the rules. Each min/max/where on
    the path takes the branch active at ``at`` (base-unit values at the solution). Kept
    as text (``solved_store``), so the same question at the same values needs no sympy.
    """
    return solved_store.kept(model, "rearranged", (q, x, solved_store.numbers(at)),
                             lambda: _closed_form(model, q, x, at), _SOURCES)


def _closed_form(model: Engine, q: str, x: str, at: dict[str, float]):
    values = {model.symbols[n]: v for n, v in at.items()}
    try:
        comp = active_branches(model.path_composite(q, x), values)
    except (TypeError, NoSolutionError):  # a value missing, or no where() branch holds
        return None
    solution = _rearrange_cached(comp, model.symbols[q], model.symbols[x])
    if solution is None:
        return None
    return sympy.sstr(solution), tuple(sorted(s.name for s in solution.free_symbols))


def rearranged(expr, target, unknown):
    """``unknown`` written out from ``target = expr`` when sympy gives exactly one formula
    (and no min/max/where or step stands in the way), else None."""
    if expr.has(sympy.Max, sympy.Min):
        return None
    return _rearrange_cached(expr, target, unknown)


@functools.lru_cache(maxsize=512)
def _rearrange_cached(expr, target, unknown):
    if not solvable(expr, unknown, 200):
        return None
    solutions = guarded_solve(sympy.Eq(target, expr), unknown)
    if solutions is None or len(solutions) != 1 or sympy.count_ops(solutions[0]) > 120:
        return None
    return solutions[0]


def _names(expr) -> list[str]:
    return [s.name for s in expr.free_symbols]


def _chain(model: Engine, q, x, known) -> list[str]:
    """Rule ids between q's rule and the free input x (what the inversion went through)."""
    chain, stack, seen = [], [q], set()
    while stack:
        name = stack.pop()
        for dep in sorted(model.ruleset.rule_for(name).expr.names):
            if dep in seen or dep in known or dep == x:
                continue
            seen.add(dep)
            rule = model.ruleset.rule_for(dep)
            if rule is not None and x in model.graph.upstream_of(dep):
                chain.append(rule.id)
                stack.append(dep)
    return chain


def _upstream_known(model: Engine, q, known, x):
    forward, _, _ = model.planner.walk(model.ruleset.rule_for(q).expr.names, known)
    names = set()
    for name in forward | {q}:
        for dep in model.ruleset.rule_for(name).expr.names:
            if dep in known and dep != q:
                names.add(dep)
    return names


def bounds_base(qdef) -> tuple[float, float]:
    """A quantity's declared bounds in base units (open ends are infinite)."""
    factor = base_factor(qdef.unit)[0]
    low = -math.inf if qdef.low is None else qdef.low * factor
    high = math.inf if qdef.high is None else qdef.high * factor
    return low, high


def _solve_one(model: Engine, x, residual, fallback, block):
    qdef = model.ruleset.quantities[x]
    X = model.symbols[x]
    low, high = bounds_base(qdef)
    try:
        roots = _symbolic_roots(residual, X, low, high)
    except _Flat:
        q = block.equations[0]
        raise NoSolutionError(x, f"{q} does not depend on {x} where a min/max branch without "
                                 f"{x} is active, so a whole range of {x} gives the value "
                                 f"asked for; fix another input, or use seek for the largest "
                                 f"or smallest such {x}") from None
    if roots is not None and len(roots) == 1:
        return roots[0], Solver.SYMBOLIC
    guess = to_base(fallback[x].value) if x in fallback else None
    return _bracketed_root(residual, X, low, high, guess, x, qdef, block), Solver.BRACKETED


class _Flat(Exception):
    """The equation holds on a whole branch: the unknown is not pinned."""


def _symbolic_roots(residual, X, low, high):
    """Admissible roots from sympy, or None when sympy cannot be relied on here."""
    if not solvable(residual, X, 400):
        return None
    branchy = sorted({a for a in residual.atoms(*_branchy()) if a.has(X)}, key=str)
    if len(branchy) > 3:
        return None
    choices = [[(atom, arg) for arg in atom.args] for atom in branchy]
    f = sympy.lambdify(X, residual, "math")
    roots = []
    for combo in itertools.product(*choices) if choices else [()]:
        branch = residual.xreplace(dict(combo)) if combo else residual
        if not branch.has(X) and abs(float(branch)) < 1e-9:
            # on this branch the given value holds whatever X is: no single answer
            raise _Flat()
        candidates = guarded_solve(branch, X)  # kept per equation (core.symbolic_cache)
        if candidates is None:
            return None
        for root in candidates:
            try:
                value = complex(root)
            except TypeError:
                return None
            if abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
                continue
            value = value.real
            # a root on a bound may come back a rounding error outside it: take the bound
            slack = 1e-12 * max(1.0, abs(value))
            if not (low - slack <= value <= high + slack):
                continue
            value = min(max(value, low), high)
            try:
                if abs(f(value)) > 1e-7:  # not on this branch, or not a root after all
                    continue
            except (ValueError, ZeroDivisionError, OverflowError):
                continue
            if not any(math.isclose(value, r, rel_tol=1e-10) for r in roots):
                roots.append(value)
    return roots


def _bracketed_root(residual, X, low, high, guess, x, qdef, block):
    f = sympy.lambdify(X, residual, "numpy")
    # scan positive values on a log grid: around the preset value when there is one
    a, b = (guess * 1e-8, guess * 1e8) if guess and guess > 0 else (1e-12, 1e15)
    a, b = max(a, low), min(b, high)
    grid = np.unique(np.concatenate([np.geomspace(max(a, 1e-300), b, 801),
                                     [v for v in (low, high) if math.isfinite(v) and v > 0]]))
    with np.errstate(all="ignore"):
        values = np.asarray(f(grid), dtype=float) * np.ones_like(grid)
    finite = np.isfinite(values)
    signs = np.sign(values)
    crossings = [i for i in range(len(grid) - 1) if finite[i] and finite[i + 1]
                 and signs[i] * signs[i + 1] <= 0 and signs[i] != signs[i + 1]]
    exact = [grid[i] for i in range(len(grid)) if finite[i] and values[i] == 0]
    inside = np.array([i for i in crossings if values[i] != 0 and values[i + 1] != 0], int)
    found = sign_root(lambda rows, x: f(x), grid[inside], grid[inside + 1])
    roots = sorted(set(exact) | {float(r) for r in found})
    q = block.equations[0]
    span = f"[{format_quantity(from_base(grid[0], qdef.unit))}, " \
           f"{format_quantity(from_base(grid[-1], qdef.unit))}]"
    if not roots:
        if finite.any():
            lo_v, hi_v = np.nanmin(values[finite]), np.nanmax(values[finite])
            side = "above" if lo_v > 0 else "below"
            reason = (f"{q} stays {side} the value asked for everywhere with {x} in {span} "
                      f"(from {lo_v:+.3g} to {hi_v:+.3g} relative to it)")
        else:
            reason = f"{q} cannot be evaluated for {x} in {span}"
        raise NoSolutionError(x, reason)
    if len(roots) > 1:
        listed = ", ".join(format_quantity(from_base(r, qdef.unit)) for r in roots[:5])
        raise NoSolutionError(x, f"several values give the {q} asked for: {listed}; "
                                 f"narrow the bounds of {x} or fix another input")
    return roots[0]


def _solve_many(model: Engine, unknowns, residuals, fallback):
    from scipy import optimize

    symbols = [model.symbols[x] for x in unknowns]
    f = sympy.lambdify(symbols, residuals, "numpy")
    scale = np.array([to_base(fallback[x].value) if x in fallback else 1.0 for x in unknowns])
    scale[scale == 0] = 1.0

    def scaled(v):
        return np.asarray(f(*(v * scale)), dtype=float)

    sol = optimize.root(scaled, np.ones(len(unknowns)), method="hybr")
    if not sol.success or np.max(np.abs(scaled(sol.x))) > 1e-9:
        raise NoSolutionError(", ".join(unknowns), f"the joint equations did not converge "
                                                   f"({sol.message})")
    return dict(zip(unknowns, sol.x * scale)), Solver.JOINT
