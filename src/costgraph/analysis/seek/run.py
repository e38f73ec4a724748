"""Goal seeking: maximise or minimise one quantity under constraints.

>>> import costgraph as cg
>>> model = cg.load()
>>> s = model.seek(maximize="batch", vary={"batch": (1, 4096)})
>>> s.value.units, s.value.magnitude.is_integer()
(<Unit('request')>, True)
>>> [c.id for c in s.binding]       # the largest batch is the one whose KV still fits
['memory.hbm_fit']

The decision variables are the quantities in ``vary`` plus the objective itself when it is
an input (maximising ``context_len`` chooses ``context_len``, within its declared bounds
unless ``vary`` narrows them). Every constraint declared in the rules applies, besides the
ones in ``where``. The search runs on the compiled path (see ``costgraph.analysis.seek.search``);
the answer is then solved exactly, so ``s.result`` explains every number at the optimum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from ...core import compile_store
from ...core.compile import numpy_function
from ...errors import InfeasibleError, QueryError, UnboundedError, UnknownQuantityError
from ...lang.expr import SympyBackend, translate
from ...core.provenance import ConstraintStatus
from ...core.model_cache import ModelCache
from ...core.slack import relative_slack
from ...lang.rules import ConstraintDef
from .closed_form import closed_form_question
from .choices import allowed_choices, choice_variable, chosen, on_choices
from .result import SeekResult, Sense
from .search import Problem, Variable, search
from ...units import Quantity, base_factor, format_number, format_quantity, to_base

if TYPE_CHECKING:
    from ...core.engine import Engine

CACHE_SIZE = 32  # compiled evaluators kept per model; a compile costs ~0.1-1 s


def seek(model: Engine, maximize: str | None = None, minimize: str | None = None, where=(),
         vary: dict | None = None, given: dict | None = None, presets=None, *,
         subject_to=()) -> SeekResult:
    """Maximise or minimise one quantity over the ``vary`` quantities, under constraints.

    Parameters
    ----------
    model : Model
    maximize, minimize : str
        The objective; give exactly one.
    where : str, ConstraintDef, or a list of them
        Extra constraints, as the command line's ``--where``: e.g.
        ``"cost_per_mtok <= 500 USD/Mtok"`` (the ids of declared constraints are accepted
        and change nothing: those always apply).
    subject_to
        The same as ``where``, under its earlier name; give one of the two.
    vary : dict
        ``{name: (low, high)}``: the inputs the search may change, within these bounds
        (numbers in the declared unit, text with units, or None for the declared bound).
    given, presets
        As for ``Model.solve``; presets default to the ``default`` scenario.

    Raises
    ------
    InfeasibleError
        No point meets every constraint; carries the least-bad point and each violation.
    UnboundedError
        The optimum runs to an open bound; the message names it.
    QueryError, UnknownQuantityError, DimensionError, BoundsError, NotWholeError
        The question cannot be asked as written (checked before any search).
    """
    query = _Query.build(model, maximize, minimize, _stated(where, subject_to), vary, given,
                         presets)
    evaluate = on_choices(_evaluator(model, query), query.choices)
    problem = Problem(query.variables, evaluate, [c.id for c in query.constraints],
                      [_strict(c) for c in query.constraints],
                      objective=query.objective if query.objective in query.decision else None)
    outcome = chosen(search(problem), query.choices)
    if not outcome.feasible:
        closest = _closest_within_declared(model, query, evaluate)
        raise _infeasible(model, query, chosen(closest, query.choices) or outcome)
    if outcome.unbounded:
        raise _unbounded(query, *outcome.unbounded)
    return _result(model, query, outcome)


def _stated(where, subject_to) -> tuple[str, tuple]:
    """(the keyword used, its constraints): ``where`` or ``subject_to``, never both."""
    where, subject_to = _items(where), _items(subject_to)
    if where and subject_to:
        raise QueryError("seek", "give the constraints as where= or as subject_to= (the same "
                                 "thing under its earlier name), not both")
    return ("subject_to", subject_to) if subject_to else ("where", where)


def _items(constraints) -> tuple:
    """One constraint or an iterable of them, as a tuple (anything else is refused later)."""
    if constraints is None:
        return ()
    if isinstance(constraints, (str, ConstraintDef)):
        return (constraints,)
    try:
        return tuple(constraints)
    except TypeError:
        return (constraints,)


def _strict(cdef: ConstraintDef) -> bool:
    return cdef.expr.sides()[1] in ("<", ">")


def _closest_within_declared(model: Engine, query, evaluate):
    """The least-bad point of an infeasible query, keeping the declared constraints.

    Declared constraints are physical (the batch must fit in HBM), so the honest "at best"
    is the point that comes closest to the stated constraints while they hold: the one
    maximising the worst stated margin. None when that too is impossible, or when there is
    nothing to separate; the search's own least-bad point (the worst margin of all, largest)
    is used then.
    """
    hard = [i for i, c in enumerate(query.constraints) if c.id in model.ruleset.constraints]
    soft = [i for i, c in enumerate(query.constraints) if c.id not in model.ruleset.constraints]
    if not hard or not soft:
        return None

    def closeness(points):
        _, margins = evaluate(points)
        worst = np.nan_to_num(margins[soft], nan=-np.inf).min(axis=0)
        return worst, margins[hard]

    problem = Problem(query.variables, closeness, [query.constraints[i].id for i in hard],
                      [_strict(query.constraints[i]) for i in hard])
    outcome = search(problem)
    return outcome if outcome.feasible else None


# --- the question ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    objective: str
    sense: Sense
    variables: tuple[Variable, ...]
    bounds: dict
    constraints: tuple[ConstraintDef, ...]
    given: dict
    presets: object
    known: dict  # name -> Quantity, from presets and given (decision variables left out)
    choices: dict = field(default_factory=dict)  # name -> the values it may take, sorted

    @property
    def decision(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    @classmethod
    def build(cls, model, maximize, minimize, stated, vary, given, presets) -> "_Query":
        if (maximize is None) == (minimize is None):
            raise QueryError("seek", "give exactly one of maximize= or minimize=, "
                                     "e.g. maximize='context_len'")
        objective, sense = (maximize, Sense.MAXIMIZE) if maximize is not None else \
            (minimize, Sense.MINIMIZE)
        quantities = model.ruleset.quantities
        if objective not in quantities:
            raise UnknownQuantityError(objective, list(quantities), "seek objective")
        given = dict(given or {})
        if objective in given:
            raise QueryError("seek", f"{objective} is the objective; it cannot also be given")
        vary = _vary_items(vary)
        bounds = {name: _bounds(model, name, spec, given) for name, spec in vary}
        objective_is_input = model.ruleset.rule_for(objective) is None or \
            quantities[objective].moves is not None
        if objective_is_input and objective not in bounds:
            bounds = {**bounds, objective: _bounds(model, objective, None, given)}
        bounds = {n: _within_mover(model, n, lo_hi, given, presets)
                  for n, lo_hi in bounds.items()}
        if not bounds:
            raise QueryError("seek", f"nothing to vary: {objective} is derived; give "
                                     "vary={name: (low, high)} for the inputs the search may "
                                     "change, e.g. vary={'batch': (1, 4096)}")
        steps = model.scenario(presets, given, varied=tuple(bounds)).steps
        known = {n: s.value for n, s in steps.items() if n not in bounds}
        choices = {n: allowed_choices(model, n, dict(vary).get(n), lo_hi, known)
                   for n, lo_hi in bounds.items()}
        choices = {n: c for n, c in choices.items() if c is not None}
        variables = tuple(choice_variable(n, choices[n]) if n in choices else
                          Variable(n, _magnitude(lo, -math.inf), _magnitude(hi, math.inf),
                                   quantities[n].integer) for n, (lo, hi) in bounds.items())
        return cls(objective, sense, variables, bounds, _constraints(model, *stated),
                   given, presets, known, choices)


def _vary_items(vary) -> list:
    if vary is None:
        return []
    if not isinstance(vary, dict):
        raise QueryError("vary", f"expected {{name: (low, high)}}, got {vary!r}")
    return list(vary.items())


def _bounds(model: Engine, name, spec, given):
    """(low, high) as Quantities in the declared unit, None where the declared bound is open."""
    quantities = model.ruleset.quantities
    if name not in quantities:
        raise UnknownQuantityError(name, list(quantities), "vary")
    rule = model.ruleset.rule_for(name)
    if rule is not None and quantities[name].moves is None:
        inputs = ", ".join(model.inputs_for(name)[:4])
        raise QueryError(f"vary {name}", f"{name} is derived (rule {rule.id}); vary the inputs "
                                         f"it is made of instead, e.g. {inputs}")
    if name in given:
        raise QueryError(f"vary {name}", f"{name} is both varied and given; drop it from one")
    q = quantities[name]
    if spec is None:
        spec = (None, None)
    if isinstance(spec, (set, frozenset)):  # one of these values: the span they cover
        if not spec:
            raise QueryError(f"vary {name}", "an empty set of values to choose from")
        values = sorted(model.coerce(name, v, where="vary") for v in spec)
        return values[0], values[-1]
    if isinstance(spec, (str, bytes)) or not hasattr(spec, "__len__") or len(spec) != 2:
        raise QueryError(f"vary {name}", f"expected (low, high), got {spec!r}")
    declared = (q.low, q.high)
    out = []
    for raw, bound in zip(spec, declared):
        if raw is None:
            out.append(None if bound is None else Quantity(float(bound), q.pint_unit))
        else:
            out.append(model.coerce(name, raw, where="vary"))
    low, high = out
    if low is not None and high is not None and low.magnitude > high.magnitude:
        raise QueryError(f"vary {name}", f"low {format_quantity(low)} is above high "
                                         f"{format_quantity(high)}")
    return low, high


def _within_mover(model: Engine, name, bounds, given, presets):
    """Bounds of a quantity that moves an input, narrowed to what the input's bounds allow.

    ``context_len`` moves ``input_len``, at least 1 token: with 256 output tokens no context
    below 257 tokens can be met, so the search starts there.
    """
    q = model.ruleset.quantities[name]
    if q.moves is None:
        return bounds
    mover = model.ruleset.quantities[q.moves]
    ends = []
    for bound in (mover.low, mover.high):
        if bound is None or not math.isfinite(bound):
            ends.append(None)
            continue
        at = model.solve(given={**given, q.moves: Quantity(bound, mover.pint_unit)},
                         find=[name], presets=presets)[name]
        ends.append(at.to(q.pint_unit))
    low, high = bounds
    if ends[0] is not None and (low is None or ends[0].magnitude > low.magnitude):
        low = ends[0]
    if ends[1] is not None and (high is None or ends[1].magnitude < high.magnitude):
        high = ends[1]
    return low, high


def _magnitude(q, open_end: float) -> float:
    return open_end if q is None else float(q.magnitude)


def _constraints(model: Engine, keyword: str, stated: tuple) -> tuple[ConstraintDef, ...]:
    """Every declared constraint, then the stated ones (given as ``keyword``), each once."""
    out = {c.id: c for c in model.constraints()}
    for item in stated:
        if isinstance(item, ConstraintDef):
            out.setdefault(item.id, item)
        elif isinstance(item, str):
            if item not in model.ruleset.constraints:
                cdef = model.constraint(item)
                out.setdefault(cdef.id, cdef)
        else:
            raise QueryError(keyword, f"expected constraint text such as "
                                      f"'step_time <= 50 ms', got {item!r}")
    return tuple(out.values())


# --- evaluation on the compiled path ---------------------------------------------------------

_CACHE = ModelCache(CACHE_SIZE)  # compiled evaluators and constraint sides, per model
_cached = _CACHE.get_or_build


def _evaluator(model: Engine, query: _Query):
    """``points -> (score, margins)`` over the decision variables, for the search.

    The compiled function computes the derived quantities the objective and constraints
    name; each constraint is then evaluated from those (its own small compiled function),
    so a new bound such as ``cost_per_mtok <= 400 USD/Mtok`` reuses the cached compile.
    """
    decision = query.decision
    needed = [query.objective, *(n for c in query.constraints for n in sorted(c.names))]
    find = tuple(dict.fromkeys(n for n in needed if n not in decision and n not in query.known))
    constants = {n: to_base(v) for n, v in query.known.items()}
    key = (find, decision, tuple(sorted((n, v) for n, v in constants.items())))
    # each also kept on disk (core.compile_store), so the next process compiles neither
    question = ("seek", key, repr(query.given), repr(query.presets))
    compiled = _cached(model, ("compile", key), lambda: compile_store.kept(
        model, "compiled", question, lambda: model.compile(
            list(find), list(decision), given=query.given, presets=query.presets))
    ) if find else None
    sides = [_cached(model, ("constraint", c.id, c.expr.text), lambda c=c: compile_store.kept(
        model, "functions", ("seek sides", c.id, c.expr.text), lambda: _sides(model, c)))
        for c in query.constraints]
    factors = {n: base_factor(model.ruleset.quantities[n].unit)[0] for n in (*decision, *find)}
    sign = 1.0 if query.sense is Sense.MAXIMIZE else -1.0

    def evaluate(points):
        arrays = dict(zip(decision, np.broadcast_arrays(*(np.asarray(points[n], float)
                                                         for n in decision))))
        out = compiled(**arrays) if compiled is not None else {}
        shape = arrays[decision[0]].shape
        declared = {**arrays, **out}
        base = {n: declared[n] * factors[n] for n in declared}
        objective = declared[query.objective] if query.objective in declared else \
            np.full(shape, query.known[query.objective].magnitude)
        # a constraint on fixed values alone (the context limit at a given context) is one
        # number for every point
        margins = [np.broadcast_to(_margin(fn, base, constants), shape) for fn in sides]
        return sign * objective, np.array(margins).reshape(len(sides), *shape)

    return evaluate


def _sides(model: Engine, cdef):
    """Numpy functions of each side of a constraint, over its names in base units."""
    backend = SympyBackend(model.symbols)
    left, op, right = cdef.expr.sides()
    names = sorted(cdef.names)
    args = [model.symbols[n] for n in names]
    lhs, rhs = (numpy_function(args, translate(cdef.expr.part(side), backend))
                for side in (left, right))
    return names, lhs, rhs, op


def _margin(fn, base, constants):
    """The relative slack (``core.slack``) of a constraint's sides at the points."""
    names, lhs, rhs, op = fn
    values = [base[n] if n in base else constants[n] for n in names]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return relative_slack(lhs(*values), rhs(*values), op, zero_right="absolute")


# --- answers ----------------------------------------------------------------------------------


def _exact(model: Engine, query: _Query, values: dict):
    """The exact Result at a point, with every constraint's status (declared and stated)."""
    point = {}
    for name, x in values.items():
        q = model.ruleset.quantities[name]
        point[name] = Quantity(float(round(x)) if q.integer else x, q.pint_unit)
    names = [query.objective, *query.decision,
             *(n for c in query.constraints for n in sorted(c.names))]
    result = model.solve(given={**query.given, **point}, find=list(dict.fromkeys(names)),
                         presets=query.presets)
    declared = {c.id: c for c in result.constraints}
    steps = dict(result.steps)
    statuses = tuple(declared[c.id] if c.id in declared else model.check_constraint(c, steps)
                     for c in query.constraints)
    return dataclasses.replace(result, constraints=statuses), statuses


def _settle(model: Engine, query: _Query, outcome):
    """The exact Result at the optimum, where every constraint holds exactly.

    The compiled path works in base units and pint in declared ones; at a real boundary the
    two can disagree in the last bits. When the exact check fails there, the bisected
    variable steps into its feasible range by a hair (1e-12, then 1e-10, 1e-8 relative).
    """
    point = dict(outcome.point)
    result, statuses = _exact(model, query, point)
    var = next((v for v in query.variables if v.name == outcome.line), None)
    if var is None or var.integer or not outcome.end:
        return point, result, statuses
    inward = -1.0 if outcome.end == "max" else 1.0
    for hair in (1e-12, 1e-10, 1e-8):
        if all(s.holds is not False for s in statuses):
            break
        x = outcome.point[var.name]
        point[var.name] = min(max(x + inward * hair * max(abs(x), 1.0), var.search_low),
                              var.search_high)
        result, statuses = _exact(model, query, point)
    return point, result, statuses


def _result(model: Engine, query: _Query, outcome) -> SeekResult:
    _, result, statuses = _settle(model, query, outcome)
    value = result[query.objective]
    point = {query.objective: value}
    point.update({n: result[n] for n in query.decision if n != query.objective})
    binding = tuple(s for s in statuses if s.id in outcome.binding)
    closed = None
    if outcome.line and outcome.limiting:
        cdef = next(c for c in query.constraints if c.id == outcome.limiting[0])
        values = {n: to_base(s.value)
                  for n, s in model.known_steps(query.presets, query.given).items()}
        values.update({n: to_base(q) for n, q in result.values.items()})
        closed = closed_form_question(model, outcome.line, outcome.end, cdef, values,
                                      point[outcome.line])
    return SeekResult(query.objective, query.sense, value, point, binding, statuses, result,
                      dict(query.bounds), outcome.method, outcome.evaluations, closed,
                      choices={n: tuple(c) for n, c in query.choices.items()})


def _infeasible(model: Engine, query: _Query, outcome) -> InfeasibleError:
    result, statuses = _exact(model, query, outcome.point)
    point = {n: result[n] for n in query.decision}
    where = ", ".join(f"{n} {format_quantity(q)}" for n, q in point.items())
    failing = [s for s in statuses if s.holds is False]
    by_id = {c.id: c for c in query.constraints}
    parts = [_shortfall(by_id[s.id], s) for s in failing]
    if not parts:  # the compiled path and the exact one part by a rounding error here
        return InfeasibleError(f"no point meets every constraint; the least-bad point ({where}) "
                               "misses only by rounding", point, failing)
    if len(parts) == 1:
        head, tail = parts[0]
        summary = f"{head} at best ({where}), {tail}"
    else:
        summary = (f"no point meets every constraint; at the least-bad point ({where}): "
                   + "; ".join(f"{head}, {tail}" for head, tail in parts))
    return InfeasibleError(summary, point, failing)


def _shortfall(cdef: ConstraintDef, status: ConstraintStatus) -> tuple[str, str]:
    """("cost_per_mtok is 612 USD/Mtok", "22% above 500 USD/Mtok")."""
    left = cdef.expr.segment(cdef.expr.sides()[0])
    lhs, rhs = status.lhs, status.rhs.to(status.lhs.units)
    word = "above" if lhs.magnitude > rhs.magnitude else "below"
    if rhs.magnitude:
        gap = f"{format_number(abs(lhs.magnitude / rhs.magnitude - 1) * 100, 2)}%"
    else:
        gap = format_quantity(abs(lhs - rhs))
    return f"{left} is {format_quantity(lhs)}", f"{gap} {word} {format_quantity(rhs)}"


def _unbounded(query: _Query, name: str, side: str) -> UnboundedError:
    bound = "an upper" if side == "upper" else "a lower"
    if name == query.objective:
        reason = (f"{name} has no {side} bound and no constraint limits it; give it one in "
                  f"vary={{'{name}': (low, high)}} or add a constraint on it")
    else:
        moving = "rising" if query.sense is Sense.MAXIMIZE else "falling"
        towards = "grows" if side == "upper" else "falls"
        reason = (f"it keeps {moving} as {name} {towards} without limit; give {name} {bound} "
                  f"bound in vary={{'{name}': (low, high)}} or add a constraint that limits it")
    return UnboundedError(query.objective, reason)
