"""The public façade: ``load()`` a rules folder, then solve, compile and ask questions.

>>> import costgraph as cg
>>> model = cg.load()
>>> r = model.solve(find=["kv_bytes_per_token"], presets=["llama-3-70b", "bf16"])
>>> r["kv_bytes_per_token"]
<Quantity(327680.0, 'byte / token')>
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import pint
import sympy

from .compile import CompiledFunction, forward_expressions
from .errors import BoundsError, DimensionError, NoSolutionError, NotWholeError
from .errors import Problem, RuleSetError, UnderdeterminedError
from .errors import UnknownQuantityError
from .expr import PintBackend, parse_constraint, translate
from .graph import RuleGraph
from .plan import Planner
from .provenance import ConstraintStatus, Result, Step
from .rules import ConstraintDef, PresetDef, QuantityDef, RuleDef, RuleSet, fingerprint
from .rules import load_ruleset
from .scenario import preset_names, resolve_presets
from .solve import execute
from .units import format_quantity, format_unit, parse_quantity


def bundled_rules_path() -> Path:
    """Where the rules shipped with costgraph live (installed, or in a source checkout)."""
    spec = importlib.util.find_spec("costgraph.bundled_rules")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(__file__).resolve().parents[2] / "rules"


_CACHE: dict[Path, tuple[tuple, "Model"]] = {}  # folder -> (fingerprint, model)


def load(path: str | Path | None = None, *, cache: bool = True) -> "Model":
    """Load a rules folder (default: the bundled rules) and return a Model.

    With ``cache``, a folder loaded before gives the same Model while its files are
    unchanged: every file's path, size and modification time are compared (one ``stat``
    each), and any file added, removed or changed loads the folder again.

    Raises ``RuleSetError`` listing every problem in every file at once.
    """
    root = _rules_folder(path)
    stamp = fingerprint(root) if cache else None
    if stamp is None:  # not cached, or the folder is gone (load_ruleset says so)
        _CACHE.pop(root, None)
    elif root in _CACHE and _CACHE[root][0] == stamp:
        return _CACHE[root][1]
    model = Model(load_ruleset(root))
    if stamp is not None:
        _CACHE[root] = (stamp, model)
    return model


def _rules_folder(path) -> Path:
    if path is None:
        return bundled_rules_path()
    if not isinstance(path, (str, os.PathLike)):
        raise RuleSetError([Problem(repr(path), "", "a rules folder is a path (str or "
                                                    "pathlib.Path)")])
    try:
        return Path(path).resolve()
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long, a symlink loop
        reason = getattr(exc, "strerror", None) or exc
        raise RuleSetError([Problem(str(path)[:200], "", f"not a usable path: {reason}")]) from None


@dataclass(frozen=True)
class QuantityInfo:
    name: str
    unit: str
    description: str
    kind: str  # "input" or "derived"
    rule: str | None
    source: str | None
    bounds: tuple
    integer: bool
    file: str


class Model:
    """A loaded, checked rule set with its graph, planner and symbols."""

    def __init__(self, ruleset: RuleSet):
        self.ruleset = ruleset
        self.graph = RuleGraph(ruleset)
        self.symbols = {name: _symbol(q) for name, q in ruleset.quantities.items()}
        self.forward_exprs = forward_expressions(ruleset, self.symbols)
        self.planner = Planner(ruleset, self.symbols, self.forward_exprs)

    def __repr__(self) -> str:
        rs = self.ruleset
        return (f"<costgraph.Model {rs.root}: {len(rs.quantities)} quantities, "
                f"{len(rs.rules)} rules, {len(rs.constraints)} constraints, "
                f"{len(rs.presets)} presets>")

    # values -----------------------------------------------------------------------------

    def coerce(self, name: str, raw, where: str = "given") -> pint.Quantity:
        """``raw`` as a Quantity in ``name``'s unit: checked for unit, bounds and integrality.

        A plain number is taken to be in the quantity's declared unit.
        """
        q = self._quantity(name, where)
        try:
            value = parse_quantity(raw, q.pint_unit)  # a bare number is in q's unit
        except ValueError as exc:
            raise DimensionError(f"{where} {name}", format_unit(q.pint_unit) or "1",
                                 repr(raw), str(exc)) from None
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

    def known_steps(self, presets=None, given=None) -> dict[str, Step]:
        """The values presets and ``given`` fix, as Steps (``given`` wins)."""
        steps = {}
        for name, sv in resolve_presets(self.ruleset, presets).items():
            value = self.coerce(name, sv.value.quantity, f"preset {sv.preset}:")
            note = "assumption" if sv.value.assumption else None
            steps[name] = Step(name, value, "preset", source=f"{sv.preset}"
                               + (f"; {sv.value.source}" if sv.value.source else ""), note=note)
        for name, raw in (given or {}).items():
            value = self.coerce(name, raw)
            steps[name] = Step(name, value, "given")
        return steps

    def _quantity(self, name, where="") -> QuantityDef:
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
        steps = self.known_steps(presets, given)
        fallback = {n: steps.pop(n) for n in find
                    if n in steps and n not in given and self.ruleset.rule_for(n) is None}
        plan = self.planner.plan(frozenset(steps), tuple(find), frozenset(fallback))
        steps, overrides = execute(self, plan, steps, fallback)
        for name in overrides:
            steps[name] = dataclasses.replace(steps[name], kind="override")
        constraints = self._constraints(steps)
        keep = set(find) | set(plan.forward) | set(plan.solved)
        for name in list(find) + [n for c in self.ruleset.constraints.values() for n in c.names]:
            if name in steps:
                keep.add(name)
                keep.update(_upstream(steps, name))
        notes = [f"{n} is given as {format_quantity(g)}; its rule would give "
                 f"{format_quantity(w)}" for n, (g, w) in overrides.items() if w is not None]
        notes += [part for n in plan.solved for part in (steps[n].note or "").split("; ")
                  if "is a whole number" in part]
        return Result(tuple(find), {n: s for n, s in steps.items() if n in keep},
                      tuple(constraints), tuple(preset_names(presets, self.ruleset)),
                      tuple(notes), overrides)

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
                                        cdef.description, tuple(need))
            if plan.blocks:
                return ConstraintStatus(cdef.id, cdef.expr.text, None, None, None,
                                        cdef.description, tuple(missing))
            new, _ = execute(self, plan, steps, {})
            steps.update(new)
        left, op, right = cdef.expr.sides()
        values = {n: steps[n].value for n in cdef.names}
        lhs = translate(cdef.expr.part(left), PintBackend(values))
        rhs = translate(cdef.expr.part(right), PintBackend(values)).to(lhs.units)
        holds = translate(cdef.expr, PintBackend(values))
        return ConstraintStatus(cdef.id, cdef.expr.text, lhs, rhs, bool(holds), cdef.description,
                                op=op)

    def constraint(self, text: str, id: str | None = None) -> ConstraintDef:
        """A constraint from text, e.g. ``"step_time <= 50 ms"``, checked like a rule."""
        expr = parse_constraint(text, {n: q.unit for n, q in self.ruleset.quantities.items()})
        for name in expr.names:
            self._quantity(name, f"constraint `{text}`")
        from .expr import DimensionBackend

        translate(expr, DimensionBackend({n: self.ruleset.quantities[n].pint_unit
                                          for n in expr.names}))
        return ConstraintDef(id or text, expr, "", "stated", "<query>")

    def compile(self, find, inputs, given: dict | None = None, presets=None,
                constraints=()) -> CompiledFunction:
        """A numpy-vectorised function of ``inputs`` computing ``find`` (see CompiledFunction).

        ``constraints`` (ConstraintDefs, ids of declared ones, or text such as
        ``"step_time <= 50 ms"``, or ``"declared"`` for all declared) are available as
        relative slacks through ``f.margins(**arrays)``.
        """
        constraints = self._constraint_defs(constraints)
        single = isinstance(find, str)
        find = [find] if single else list(find)
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        steps = self.known_steps(presets, given)
        known = {n: s.value for n, s in steps.items() if n not in find}
        # as in solve: an input asked for is solved when a given value pins it, else read
        fallback = {n: steps[n].value for n in find if n in steps and n not in (given or {})
                    and self.ruleset.rule_for(n) is None}
        return CompiledFunction(self, find, inputs, known, single, constraints, fallback)

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

    def path_composite(self, name: str, variable: str) -> sympy.Expr:
        """``name``'s rule with only the quantities that depend on ``variable`` expanded.

        Everything beside the path from ``variable`` to ``name`` stays a named symbol, so
        a formula solved from it reads like the rules.
        """
        depends = set(self.graph.downstream_of(variable))
        beside = frozenset(set(self.ruleset.quantities) - depends - {variable}) | {name}
        return self.planner.composite(name, beside)

    # questions built on solve and compile; each lives in its own module ------------------

    def seek(self, **query):
        """Maximise or minimise a quantity under constraints (see ``costgraph.seek``)."""
        from .seek import seek

        return seek(self, **query)

    def audit(self, claims, **options):
        """Check a claims file or mapping claim by claim (see ``costgraph.audit``)."""
        from .audit import audit

        return audit(self, claims, **options)

    def sweep(self, vary, find, **options):
        """Evaluate ``find`` over the grid of ``vary`` (see ``costgraph.sweep``)."""
        from .sweep import sweep

        return sweep(self, vary, find, **options)

    def levers(self, target, **options):
        """Rank the inputs by their elasticity on ``target`` (see ``costgraph.levers``)."""
        from .levers import levers

        return levers(self, target, **options)

    def uncertainty(self, target, **options):
        """Propagate the presets' input ranges to ``target`` (see ``costgraph.uncertainty``)."""
        from .uncertainty import uncertainty

        return uncertainty(self, target, **options)

    def pareto(self, x, y, vary, **options):
        """The non-dominated points of ``x`` against ``y`` (see ``costgraph.pareto``)."""
        from .pareto import pareto

        return pareto(self, x, y, vary, **options)

    # listing and lineage -----------------------------------------------------------------

    def quantities(self) -> list[QuantityInfo]:
        out = []
        for name, q in sorted(self.ruleset.quantities.items()):
            rule = self.ruleset.rule_for(name)
            out.append(QuantityInfo(name, q.unit, q.description,
                                    "input" if rule is None else "derived",
                                    rule.id if rule else None,
                                    rule.source if rule else q.source, (q.low, q.high),
                                    q.integer, q.file))
        return out

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


def _symbol(q: QuantityDef) -> sympy.Symbol:
    if q.low is not None and q.low > 0:
        return sympy.Symbol(q.name, positive=True)
    if q.low is not None and q.low == 0:
        return sympy.Symbol(q.name, nonnegative=True)
    return sympy.Symbol(q.name, real=True)


def _fmt(bound, open_end: str) -> str:
    return open_end if bound is None else f"{bound:g}"


def _upstream(steps, name):
    seen, stack = set(), list(steps[name].inputs) if name in steps else []
    while stack:
        n = stack.pop()
        if n not in seen and n in steps:
            seen.add(n)
            stack.extend(steps[n].inputs)
    return seen
