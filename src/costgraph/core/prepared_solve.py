"""A forward-only exact solve prepared once per question: floats in, a lazily built Result out.

Most questions derive everything forward from what presets and given values fix (nothing
inverted, nothing over-determined). For those, everything but the arithmetic depends only on
the question, not on a run: the plan, the order of the rules (the ones asked for, then what
the declared constraints need), the values the rules start from, each constraint's sides as
float closures, which steps the Result keeps, and its notes. ``prepare`` works these out
once (``scenario_cache`` keeps them per model); ``PreparedSolve.run`` then evaluates the
closures in order and checks the constraints on floats, and hands back a Result whose
steps are built when read (``lazy_steps``). A derived value given in place of its rule (an
override) is kept as given, and what its rule would give is evaluated at each run.

Wherever the floats could part from the general path — a rule whose closure leaves it to
pint, a value out of its bounds or not finite, a comparison within a rounding error — ``run``
gives None and ``Engine.solve`` takes the general path, which gives the exact value or the
one clear error. So the Result is the general path's, value for value and Step for Step.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from typing import TYPE_CHECKING

from ..errors import CostgraphError
from . import floatpath
from .lazy_steps import LazySteps
from .provenance import ConstraintStatus, Method, Result, lineage
from ..units import format_quantity

if TYPE_CHECKING:
    from .engine import Engine, Scenario



def _builder(cls, names: tuple[str, ...]):
    """``build(*values)``: a ``cls`` (a frozen dataclass) with fields ``names``, made without
    the per-field ``__setattr__`` of its constructor (a few microseconds a solve); where the
    names are not exactly its fields, its constructor."""
    if names != tuple(f.name for f in dataclasses.fields(cls)):
        return lambda *values: cls(**dict(zip(names, values)))
    new = object.__new__

    def build(*values):
        made = new(cls)
        made.__dict__.update(zip(names, values))
        return made

    return build


_status = _builder(ConstraintStatus, ("id", "expr", "lhs", "rhs", "holds", "description",
                                      "missing", "op", "expression"))
_result = _builder(Result, ("targets", "steps", "constraints", "presets", "notes", "overrides",
                            "warnings"))


def _reader(names):
    """``read(values)``: the values of ``names`` as a tuple (in C; a tuple even for one name)."""
    if not names:
        return lambda values: ()
    return operator.itemgetter(*names, names[0])


class PreparedSolve:
    """One forward-only question, worked out up to its arithmetic (see the module docstring)."""

    __slots__ = ("targets", "derived", "chain", "every", "bounds", "start", "checks", "names",
                 "keep", "known", "overridden", "texts", "presets", "notes", "warnings")

    def __init__(self, targets, derived, start, checks, names, known, scenario, overridden):
        self.targets = targets
        self.derived = derived  # name -> floatpath.derivation(...), in evaluation order
        self.chain = tuple((d.name, d.fn) for d in derived.values())
        # every derived name grouped by its bounds, each group a slice of one tuple of values
        groups: dict = {}
        for d in derived.values():
            groups.setdefault((d.low, d.high), []).append(d.name)
        ordered, bounds = [], []
        for (low, high), group in groups.items():
            if (low, high) != (-math.inf, math.inf):
                bounds.append((len(ordered), len(ordered) + len(group), low, high))
            ordered += group
        self.every = _reader(tuple(ordered))
        self.bounds = tuple(bounds)
        self.start = start  # name -> float in its declared unit, of every known value
        # by constraint id: its sides' closures, their comparison and unit, and its fields
        self.checks = tuple((sides.lhs, sides.rhs, sides.holds, sides.unit, cdef.id,
                             cdef.expr.text, cdef.description, op, cdef.expr)
                            for cdef, sides, op in checks)
        self.names = names  # the names the Result keeps, in the general path's order
        self.keep = frozenset(names)
        self.known = known  # the scenario's Steps, an overridden one marked so
        self.overridden = overridden
        self.texts: dict = {}  # (name, float) -> the note on what its rule would give
        self.presets, self.notes, self.warnings = (scenario.presets, tuple(scenario.notes),
                                                   scenario.warnings)

    def at(self, model: Engine, scenario: Scenario) -> "PreparedSolve":
        """This question at another scenario of the same shape (the same names known, nothing
        given in place of a rule): the plan, closures, checks and kept names are this one's,
        the values, notes and warnings the scenario's."""
        other = object.__new__(PreparedSolve)
        for slot in PreparedSolve.__slots__:
            setattr(other, slot, getattr(self, slot))
        other.known = dict(scenario.steps)
        other.start = floatpath.declared_magnitudes(model, other.known)
        other.texts = {}
        other.presets, other.notes, other.warnings = (scenario.presets, tuple(scenario.notes),
                                                      scenario.warnings)
        return other

    def run(self) -> Result | None:
        """The Result, or None where the general path must decide (see the module docstring)."""
        values = self.start.copy()
        try:
            for name, fn in self.chain:
                values[name] = fn(values)
            # checked after the run, in bulk (a value out of bounds, not finite or not real is
            # refused by the general path, which names it): a NaN or an infinity makes the sum
            # one, a complex number makes isfinite raise TypeError
            got = self.every(values)
            if not math.isfinite(sum(got)):
                return None
            for first, end, low, high in self.bounds:
                part = got[first:end]
                if not low <= min(part) or (high != math.inf and max(part) > high):
                    return None
            statuses = []
            quantity = floatpath.fast_quantity
            for left, right, test, unit, cid, text, description, op, expression in self.checks:
                lhs, rhs = left(values), right(values)
                if (lhs.__class__ is not float or rhs.__class__ is not float
                        or lhs - lhs != 0.0 or rhs - rhs != 0.0):
                    return None
                statuses.append(_status(cid, text, quantity(lhs, unit), quantity(rhs, unit),
                                        test(lhs, rhs), description, (), op, expression))
            overrides, notes = {}, self.notes
            if self.overridden:
                overrides, notes = self._overrides(values)
                if overrides is None:
                    return None
        except floatpath.FLOAT_FAILURES:
            return None
        steps = LazySteps(self.names, self.keep, self.known, self.derived, values)
        return _result(self.targets, steps, tuple(statuses), self.presets, notes, overrides,
                       self.warnings)

    def _note(self, name, given, would, x) -> str:
        """The note saying what the rule would give; its text (formatting a value costs more
        than the whole solve) is kept per value, a few values per question."""
        note = self.texts.get((name, x))
        if note is None:
            if len(self.texts) > 64:
                self.texts.clear()
            note = self.texts[name, x] = (f"{name} is given as {format_quantity(given)}; its "
                                          f"rule would give {format_quantity(would)}")
        return note

    def _overrides(self, values):
        """(name -> (given, what its rule would give), the notes saying so), or (None, None)
        where the floats leave a rule to pint."""
        overrides, notes = {}, []
        for name, given, d, kept in self.overridden:
            would = None
            if d is not None:
                x = d.fn(values)
                if x.__class__ is not float or x - x != 0.0:
                    return None, None
                would = floatpath.fast_quantity(x, d.unit)
                if kept:
                    notes.append(self._note(name, given, would, x))
            if kept:
                overrides[name] = (given, would)
        return overrides, tuple(notes) + self.notes


def prepare(model: Engine, scenario: Scenario, find: tuple[str, ...],
            given: dict) -> PreparedSolve | None:
    """``find`` asked at ``scenario`` worked out up to its arithmetic, or None when the
    question is not forward-only (``Engine.solve``'s general path answers it)."""
    ruleset = model.ruleset
    known = scenario.steps
    if scenario.fallback or any(n in known and n not in given and ruleset.rule_for(n) is None
                                for n in find):
        return None  # an input may move, or an input asked for is read from a fallback
    try:
        plan = model.planner.plan(frozenset(known), tuple(find), frozenset())
    except CostgraphError:
        return None  # the general path raises it, as it always has
    if plan.blocks or plan.checks or plan.defaulted:
        return None
    order = list(plan.forward)
    # a derived value given (or set by a preset) in place of its rule: the Result says what
    # the rule would give, where everything the rule reads is known after the forward steps
    overrides = [(q, set(ruleset.rule_for(q).expr.names) <= known.keys() | set(order), True)
                 for q in plan.overrides]
    if any(ruleset.quantities[q].moves is not None for q in plan.overrides):
        return None  # it must agree with its rule (Engine._check_movers): the general path
    checks = []
    for cdef in sorted(ruleset.constraints.values(), key=lambda c: c.id):
        have = known.keys() | set(order)
        missing = [n for n in cdef.names if n not in have]
        if missing:  # derived forward for the constraint, as Engine.check_constraint does
            try:
                extra = model.planner.plan(frozenset(have), tuple(missing))
            except CostgraphError:
                return None  # left unevaluated: the general path says what it needs
            if extra.blocks or extra.checks or extra.defaulted:
                return None
            order += extra.forward
            have |= set(extra.forward)
            # a given derived value met on the way is evaluated there too, and set aside: a
            # value the floats refuse is the general path's error (one derived here already
            # was evaluated, to the same value)
            overrides += [(q, set(ruleset.rule_for(q).expr.names) <= have, False)
                          for q in extra.overrides if q in known]
        sides = floatpath.constraint_closures(model, cdef)
        if sides is None:
            return None
        checks.append((cdef, sides, cdef.expr.sides()[1]))
    derived = {n: floatpath.derivation(model, n) for n in order}
    known = dict(known)
    for q in plan.overrides:
        known[q] = dataclasses.replace(known[q], method=Method.OVERRIDE)
    # (name, its given value, its rule's closure or None when not evaluable, whether kept)
    overridden = tuple((q, known[q].value, floatpath.derivation(model, q) if evaluable else None,
                        kept) for q, evaluable, kept in overrides)
    shapes = {**known, **derived}  # each with the .inputs that lineage follows
    keep = set(find) | set(plan.forward)
    roots = [n for n in [*find, *(n for c, _, _ in checks for n in c.names)] if n in shapes]
    keep.update(roots)
    keep.update(lineage(shapes, [i for n in roots for i in shapes[n].inputs]))
    names = tuple(n for n in shapes if n in keep)
    start = floatpath.declared_magnitudes(model, known)
    return PreparedSolve(tuple(find), derived, start, tuple(checks), names, known, scenario,
                         overridden)
