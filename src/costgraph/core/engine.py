"""The engine: a loaded rule set with its graph, planner and symbols, solved and compiled.

``Engine`` owns what every question needs (the ruleset, the symbols, the planner and the graph
lineage) and answers the two questions everything else is built on: ``solve`` (exact, with
provenance) and ``compile`` (vectorised). Analyses take an ``Engine``; the public
``costgraph.Model`` adds the question methods on top of it.

>>> import costgraph as cg
>>> from costgraph.core.engine import Engine
>>> from costgraph.lang.rules import load_ruleset
>>> engine = Engine(load_ruleset(cg.bundled_rules_path()))
>>> engine.solve(find="kv_bytes_per_token", presets=["llama-3-70b", "bf16"])["kv_bytes_per_token"]
<Quantity(327680.0, 'byte / token')>
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pint

from ..errors import BoundsError, ConflictError, DimensionError, NoSolutionError, NotWholeError
from ..errors import InvalidValueError, NotAllowedError
from ..errors import UnderdeterminedError
from ..errors import UnknownQuantityError
from ..lang.expr import DimensionBackend, PintBackend, parse_constraint, translate
from ..lang.rules import ConstraintDef, PresetDef, QuantityDef, RuleDef, RuleSet
from ..lang.scenario import compose
from ..units import format_quantity, format_unit, parse_quantity
from ..lang.symbols import RuleExpressions, Symbols
from . import floatpath, scenario_cache
from .plan import Planner
from .provenance import ConstraintStatus, Method, Result, Step, lineage
from .solve import execute

if TYPE_CHECKING:
    import sympy

    from .compile import CompiledFunction
    from .graph import RuleGraph


@dataclass(frozen=True)
class Scenario:
    """What presets and given values fix, settled: the known values and the movable ones.

    ``steps`` are the known values; ``fallback`` the values of inputs that may move (solved
    when something pins them, else read as they are); ``presets`` the composition applied,
    base scenario first; ``warnings`` what the composition did that a user should hear of.
    """

    steps: dict[str, Step]
    fallback: dict[str, Step] = field(default_factory=dict)
    presets: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


class Engine:
    """A loaded, checked rule set with its graph, planner and symbols."""

    def __init__(self, ruleset: RuleSet):
        self.ruleset = ruleset
        # sympy is imported, and each rule translated to it, only when first needed: the
        # forward solve runs on floats and needs neither
        self.symbols = Symbols(ruleset)
        self.forward_exprs = RuleExpressions(ruleset, self.symbols)
        self.planner = Planner(ruleset, self.symbols, self.forward_exprs)

    @functools.cached_property
    def graph(self) -> "RuleGraph":
        """The rules as a networkx graph, built on first use."""
        from .graph import RuleGraph

        return RuleGraph(self.ruleset)

    def __repr__(self) -> str:
        rs = self.ruleset
        return (f"<costgraph.{type(self).__name__} {rs.root}: {len(rs.quantities)} quantities, "
                f"{len(rs.rules)} rules, {len(rs.constraints)} constraints, "
                f"{len(rs.presets)} presets>")

    # values -----------------------------------------------------------------------------

    def coerce(self, name: str, raw, where: str = "given") -> pint.Quantity:
        """``raw`` as a Quantity in ``name``'s unit: checked for unit, bounds and integrality.

        A plain number is taken to be in the quantity's declared unit.
        """
        q = self.quantity_def(name, where)
        try:
            value = parse_quantity(raw, q.pint_unit)  # a bare number is in q's unit
        except ValueError as exc:
            raise InvalidValueError(where, name, repr(raw), str(exc)) from None
        if value.dimensionality != q.pint_unit.dimensionality:
            raise DimensionError(f"{where} {name}", format_unit(q.pint_unit) or "1",
                                 format_quantity(value),
                                 f"give it as e.g. '1 {format_unit(q.pint_unit)}'"
                                 if format_unit(q.pint_unit) else "give a plain number")
        value = value.to(q.pint_unit)
        self._check_bounds(q, value)
        return value

    def _check_bounds(self, q: QuantityDef, value):
        x = float(value.magnitude)
        low = -float("inf") if q.low is None else q.low
        high = float("inf") if q.high is None else q.high
        if not low <= x <= high:
            hint = ""
            if q.high == 1 and 1 < x <= 100 and not format_unit(q.pint_unit):
                hint = f"a fraction is expected: write {x / 100:g} or '{x:g} percent'"
            raise BoundsError(q.name, format_quantity(value), _fmt(q.low, "-inf"), _fmt(q.high, "inf"), hint)
        if q.integer and not x.is_integer():
            raise NotWholeError(q.name, format_quantity(value))
        if q.values is not None and x not in q.values:
            raise NotAllowedError(q.name, format_quantity(value), allowed_text(q))

    def known_steps(self, presets=None, given=None) -> dict[str, Step]:
        """The values presets and ``given`` fix, as Steps (``given`` wins)."""
        return dict(self.scenario(presets, given).steps)

    def scenario(self, presets=None, given=None, varied=(), find=()) -> "Scenario":
        """The values presets and ``given`` fix, after precedence between them is settled.

        ``varied`` names quantities the caller gives value by value (compile's inputs, seek's
        decision variables): they count as given. ``find`` names what is asked for: a preset
        value of one is a default at most. A derived quantity that declares ``moves``
        (``context_len`` moves ``input_len``) and is set on a later layer than the input it
        moves — given, varied or from a later preset — frees that input to be solved from it;
        when the input was set on the later layer, the derived quantity's preset value gives
        way to its rule. Asked for, such a quantity follows its rule and its input may move.
        """
        given = dict(given or {})
        preset_steps, preset_layer, applied, warnings = scenario_cache.presets(self, presets)
        steps, layer = dict(preset_steps), dict(preset_layer)
        for name, raw in given.items():
            steps[name] = Step(name, self.coerce(name, raw), Method.GIVEN)
            layer[name] = math.inf
        for name in varied:
            layer[name] = math.inf
        # asked for, a quantity that moves an input is solved through it only when a given
        # value depends on it (`--find context_len --set cost_per_mtok=...`)
        pinned_below = {n for g in given for n in self.graph.upstream_of(g)}
        free = (set(find) - set(given) - set(varied)) & pinned_below
        fallback: dict[str, Step] = {}
        notes = []
        for name, q in sorted(self.ruleset.quantities.items()):
            mover = q.moves
            if mover is None or mover in given or mover in varied or (
                    layer.get(name) is None and name not in free):
                continue
            if name in free:
                steps.pop(name, None)  # asked for: its rule answers, the input may move
                if mover in steps:
                    fallback[mover] = steps.pop(mover)
            elif layer.get(mover, -math.inf) > layer[name]:
                dropped = steps.pop(name)
                notes.append(f"{name} follows its rule: {mover} was set after {name} = "
                             f"{format_quantity(dropped.value)} of {dropped.preset}")
            elif mover in steps and layer[mover] < layer[name]:
                fallback[mover] = steps.pop(mover)
        self._check_divides(steps)
        return Scenario(steps, fallback, applied, warnings, tuple(notes))

    def preset_steps(self, presets=None):
        """What ``presets`` compose to, each value coerced into its quantity's unit and checked:
        (name -> Step, name -> its layer, the presets applied, the composition's warnings).
        The same for every question over these presets (``scenario_cache.presets`` keeps it)."""
        composition = compose(self.ruleset, presets)
        steps, layer = {}, {}
        for name, sv in composition.values.items():
            value = self.coerce(name, sv.value.quantity, f"preset {sv.preset}:")
            steps[name] = Step(name, value, Method.PRESET, citation=sv.value.source or None,
                               preset=sv.preset, assumption=bool(sv.value.assumption))
            layer[name] = sv.layer
        return steps, layer, tuple(composition.applied), tuple(composition.warnings)

    def _check_divides(self, steps) -> None:
        """A shard count must divide what it shards (n_gpus and the attention heads)."""
        for name, q in self.ruleset.quantities.items():
            if not q.divides or name not in steps:
                continue
            x = float(steps[name].value.magnitude)
            for other in q.divides:
                if other not in steps or x == 0:
                    continue
                whole = float(steps[other].value.magnitude)
                if whole % x:
                    where = steps[other].preset or "given"
                    fits = allowed_values(q, {other: whole})
                    raise NotAllowedError(
                        name, format_quantity(steps[name].value),
                        f"it must divide {other} = {format_quantity(steps[other].value)} "
                        f"({where}): one of {', '.join(f'{v:g}' for v in fits)}")

    def quantity_def(self, name: str, where: str = "") -> QuantityDef:
        """The declared quantity ``name``; an unknown name is an error saying what is declared."""
        try:
            return self.ruleset.quantities[name]
        except KeyError:
            raise UnknownQuantityError(name, list(self.ruleset.quantities), where) from None

    # solving -------------------------------------------------------------------------------

    def solve(self, given: dict | None = None, find=None, presets=None) -> Result:
        """Solve for ``find`` with ``given`` values over ``presets`` (default: ``default``).

        ``given`` may fix any quantity, derived ones included; a quantity in ``find`` that a
        preset sets is solved for when a given value depends on it, and read otherwise.
        """
        find = [find] if isinstance(find, str) else list(find or [])
        if not find:
            raise ValueError("solve needs at least one quantity to find, e.g. find=['cost_per_mtok']")
        given = dict(given or {})
        prepared = scenario_cache.prepared(self, presets, given, find)
        if prepared is not None:  # forward only: worked out once, floats per run
            result = prepared.run()
            if result is not None:
                return result
        scenario = scenario_cache.scenario(self, presets, given, find)  # coerced once
        steps, fallback = dict(scenario.steps), dict(scenario.fallback)
        fallback.update({n: steps.pop(n) for n in find
                         if n in steps and n not in given and self.ruleset.rule_for(n) is None})
        # an input freed to move (input_len under a given context_len) is solved even when
        # nothing asked for needs it, so that every quantity built on it agrees
        movers = tuple(n for n in scenario.fallback if n not in find)
        plan = self.planner.plan(frozenset(steps), tuple(find) + movers, frozenset(fallback))
        steps, overrides = execute(self, plan, steps, fallback)
        self._check_movers(overrides)
        for name in overrides:
            steps[name] = dataclasses.replace(steps[name], method=Method.OVERRIDE)
        constraints = self._constraints(steps)
        keep = set(find) | set(plan.forward) | set(plan.solved)
        roots = [n for n in list(find) + [n for c in self.ruleset.constraints.values()
                                          for n in c.names] if n in steps]
        keep.update(roots)
        # one walk for all of them
        keep.update(lineage(steps, [i for n in roots for i in steps[n].inputs]))
        notes = [f"{n} is given as {format_quantity(g)}; its rule would give "
                 f"{format_quantity(w)}" for n, (g, w) in overrides.items() if w is not None]
        notes += [steps[n].whole_note for n in plan.solved if steps[n].whole_note]
        notes += list(scenario.notes) + self._moved(plan, steps)
        return Result(tuple(find), {n: s for n, s in steps.items() if n in keep},
                      tuple(constraints), scenario.presets, tuple(notes), overrides,
                      scenario.warnings)

    def _check_movers(self, overrides) -> None:
        """A quantity that moves an input, given beside every input of its rule, must agree."""
        for name, (given, would) in overrides.items():
            q = self.ruleset.quantities[name]
            if q.moves is not None and would is not None and not math.isclose(
                    float(given.magnitude), float(would.magnitude), rel_tol=1e-9):
                rule = self.ruleset.rule_for(name)
                raise ConflictError(f"{name} = {format_quantity(given)}",
                                    f"{', '.join(rule.inputs)} as given",
                                    f"rule {rule.id} gives {name} = {format_quantity(would)}; "
                                    f"give {name} or {q.moves}, not both")

    def _moved(self, plan, steps) -> list[str]:
        """Say which input moved to meet a quantity that declares one (and what stayed)."""
        notes, solved = [], set(plan.solved)
        if not solved:
            return notes
        for name, q in sorted(self.ruleset.quantities.items()):
            if q.moves in solved and name in steps:
                rule = self.ruleset.rule_for(name)
                stay = [f"{n} stays {format_quantity(steps[n].value)}" for n in rule.inputs
                        if n != q.moves and n in steps]
                notes.append(f"{name} = {format_quantity(steps[name].value)}: {q.moves} moved "
                             f"to {format_quantity(steps[q.moves].value)}"
                             + (f" ({', '.join(stay)})" if stay else ""))
        return notes

    def _constraints(self, steps: dict[str, Step]) -> list[ConstraintStatus]:
        statuses = []
        for cdef in sorted(self.ruleset.constraints.values(), key=lambda c: c.id):
            statuses.append(self.check_constraint(cdef, steps))
        return statuses

    def check_constraint(self, cdef: ConstraintDef, steps: dict[str, Step]) -> ConstraintStatus:
        """Evaluate a constraint at ``steps``, deriving what it needs forward (added to steps)."""
        missing = [n for n in cdef.names if n not in steps]
        if missing:
            try:
                plan = self.planner.plan(frozenset(steps), tuple(missing))
            except (UnderdeterminedError, NoSolutionError) as exc:
                need = getattr(exc, "fix", missing)
                return ConstraintStatus(cdef.id, cdef.expr.text, None, None, None,
                                        cdef.description, tuple(need), expression=cdef.expr)
            if plan.blocks:
                return ConstraintStatus(cdef.id, cdef.expr.text, None, None, None,
                                        cdef.description, tuple(missing), expression=cdef.expr)
            new, _ = execute(self, plan, steps, {})
            steps.update(new)
        left, op, right = cdef.expr.sides()
        on_floats = floatpath.constraint_sides(self, cdef, steps)
        if on_floats is not None:
            lhs, rhs, holds = on_floats
            return ConstraintStatus(cdef.id, cdef.expr.text, lhs, rhs, holds, cdef.description,
                                    op=op, expression=cdef.expr)
        values = {n: steps[n].value for n in cdef.names}
        lhs = translate(cdef.expr.part(left), PintBackend(values))
        rhs = translate(cdef.expr.part(right), PintBackend(values)).to(lhs.units)
        holds = translate(cdef.expr, PintBackend(values))
        return ConstraintStatus(cdef.id, cdef.expr.text, lhs, rhs, bool(holds), cdef.description,
                                op=op, expression=cdef.expr)

    def constraint(self, text: str, id: str | None = None) -> ConstraintDef:
        """A constraint from text, e.g. ``"step_time <= 50 ms"``, checked like a rule."""
        expr = parse_constraint(text, {n: q.unit for n, q in self.ruleset.quantities.items()})
        for name in expr.names:
            self.quantity_def(name, f"constraint `{text}`")
        translate(expr, DimensionBackend({n: self.ruleset.quantities[n].pint_unit
                                          for n in expr.names}))
        return ConstraintDef(id or text, expr, "", "stated", "<query>")

    def compile(self, find, inputs, given: dict | None = None, presets=None,
                constraints=()) -> "CompiledFunction":
        """A numpy-vectorised function of ``inputs`` computing ``find`` (see CompiledFunction).

        ``constraints`` (ConstraintDefs, ids of declared ones, or text such as
        ``"step_time <= 50 ms"``, or ``"declared"`` for all declared) are available as
        relative slacks through ``f.margins(**arrays)``.
        """
        from .compile import CompiledFunction

        constraints = self._constraint_defs(constraints)
        single = isinstance(find, str)
        find = [find] if single else list(find)
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        scenario = self.scenario(presets, given, varied=inputs, find=find)
        steps = scenario.steps
        known = {n: s.value for n, s in steps.items() if n not in find and n not in inputs}
        # as in solve: an input asked for is solved when a given value pins it, else read
        fallback = {n: steps[n].value for n in find if n in steps and n not in (given or {})
                    and self.ruleset.rule_for(n) is None}
        fallback.update({n: s.value for n, s in scenario.fallback.items()})
        return CompiledFunction(self, find, inputs, known, single, constraints, fallback,
                                movers=tuple(scenario.fallback))

    def _constraint_defs(self, constraints) -> list[ConstraintDef]:
        if constraints == "declared":
            return self.constraints()
        out = []
        for c in ([constraints] if isinstance(constraints, str) else constraints):
            if isinstance(c, ConstraintDef):
                out.append(c)
            elif c in self.ruleset.constraints:
                out.append(self.ruleset.constraints[c])
            else:
                out.append(self.constraint(c))
        return out

    def path_composite(self, name: str, variable: str) -> "sympy.Expr":
        """``name``'s rule with only the quantities that depend on ``variable`` expanded.

        Everything beside the path from ``variable`` to ``name`` stays a named symbol, so
        a formula solved from it reads like the rules.
        """
        depends = set(self.graph.downstream_of(variable))
        # the variable stays a symbol even when a rule defines it (context_len, which moves
        # input_len): the formula is in terms of it
        beside = frozenset(set(self.ruleset.quantities) - depends) | {name}
        return self.planner.composite(name, beside)

    # listing and lineage -----------------------------------------------------------------

    def rules(self) -> list[RuleDef]:
        return sorted(self.ruleset.rules.values(), key=lambda r: r.id)

    def constraints(self) -> list[ConstraintDef]:
        return sorted(self.ruleset.constraints.values(), key=lambda c: c.id)

    def presets(self, kind: str | None = None) -> list[PresetDef]:
        return sorted((p for p in self.ruleset.presets.values() if kind in (None, p.kind)),
                      key=lambda p: (p.kind, p.name))

    def upstream_of(self, name: str) -> list[str]:
        return self.graph.upstream_of(name)

    def downstream_of(self, name: str) -> list[str]:
        return self.graph.downstream_of(name)

    def inputs_for(self, name: str) -> list[str]:
        return self.graph.inputs_for(name)


def allowed_values(q: QuantityDef, divides: dict | None = None) -> tuple[float, ...]:
    """The values ``q`` may take that divide each known ``divides`` value evenly."""
    values = q.values or ()
    for whole in (divides or {}).values():
        values = tuple(v for v in values if v and not whole % v)
    return values


def allowed_text(q: QuantityDef) -> str:
    return "one of " + ", ".join(f"{v:g}" for v in q.values) + (
        f" that divides {', '.join(q.divides)}" if q.divides else "")


def _fmt(bound, open_end: str) -> str:
    return open_end if bound is None else f"{bound:g}"

