"""The exact solve's forward steps on plain floats in base units, units attached at the edges.

Units were checked when the rules were loaded, so evaluating a rule need not check them
again: every value is read as its magnitude in base units, each rule runs as a tree of small
closures over those floats (built from the checked syntax tree, never from text: no
``eval``), and the result is given back in the quantity's declared unit. Where floats
could part from pint's own arithmetic — a ``ceil``/``floor`` at an integer, a ``where``
whose two sides are within a rounding error, a zero divisor, a number that is not finite or
real — the rule is evaluated by the pint path instead, which gives its exact value or its
one clear error. Either way the answer is the one pint gives, to a rounding error.
"""

from __future__ import annotations

import math
import operator
import threading
import weakref

from .expr import translate
from .provenance import Step
from .units import Quantity, base_factor
from .value_checks import check_derived, evaluate


class _Fallback(Exception):
    """This rule, at these values, is left to the pint path."""


_NEAR = 1e-9  # relative distance at which a comparison or an integer step is left to pint


def _near_integer(x: float) -> bool:
    return abs(x - round(x)) <= _NEAR * max(1.0, abs(x))


def _compare(op):
    test = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}[op]

    def check(a, b):
        if a != b and abs(a - b) <= _NEAR * max(abs(a), abs(b)):
            raise _Fallback()  # a rounding error apart: floats may disagree with pint
        return test(a, b)

    return check


def _step(fn):
    def stepped(x):
        if x != int(x) and _near_integer(x):
            raise _Fallback()  # a hair off an integer here may be on it in pint, or past it
        return float(fn(x))

    return stepped


_UNARY = {"ceil": _step(math.ceil), "floor": _step(math.floor), "log": math.log,
          "exp": math.exp, "sqrt": math.sqrt}


class ClosureBackend:
    """Translates a checked expression into ``f(values) -> float`` over base-unit floats."""

    def number(self, v):
        c = float(v)
        return lambda env: c

    def literal(self, q):
        c = float(q.to_base_units().magnitude)
        return lambda env: c

    def name(self, n):
        return operator.itemgetter(n)

    def neg(self, a):
        return lambda env: -a(env)

    def binary(self, op, a, b, expr, node):
        if op == "+":
            return lambda env: a(env) + b(env)
        if op == "-":
            return lambda env: a(env) - b(env)
        if op == "*":
            return lambda env: a(env) * b(env)
        return lambda env: a(env) / b(env)  # a zero divisor raises: the pint path says why

    def power(self, a, exponent, expr, node):
        e = float(exponent)

        def power(env):
            value = a(env) ** e
            if isinstance(value, complex):
                raise _Fallback()
            return value

        return power

    def compare(self, op, a, b, expr, node):
        check = _compare(op)
        return lambda env: check(a(env), b(env))

    def where(self, cond, a, b, expr, node):
        first, second = a(), b()
        return lambda env: first(env) if cond(env) else second(env)

    def call(self, name, args, expr, node):
        if name in ("min", "max"):
            pick = min if name == "min" else max
            return lambda env: pick([f(env) for f in args])
        fn, (arg,) = _UNARY[name], args
        return lambda env: fn(arg(env))


class _Rules:
    """One model's rules as float closures (each translated on first use), and each
    quantity's base factor and declared unit."""

    def __init__(self, model):
        self._model = weakref.ref(model)
        self._fns: dict = {}
        self._factors: dict[str, tuple] = {}

    def function(self, name: str):
        fn = self._fns.get(name)
        if fn is None:
            rule = self._model().ruleset.rule_for(name)
            fn = self._fns.setdefault(name, translate(rule.expr, ClosureBackend()))
        return fn

    def unit(self, name: str) -> tuple:
        """(base factor, declared pint Unit, its units container) of quantity ``name``."""
        found = self._factors.get(name)
        if found is None:
            qdef = self._model().ruleset.quantities[name]
            unit = qdef.pint_unit
            found = self._factors.setdefault(name, (base_factor(qdef.unit)[0], unit, unit._units))
        return found


_RULES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _rules(model) -> _Rules:
    found = _RULES.get(model)
    if found is None:
        with _LOCK:
            found = _RULES.setdefault(model, _Rules(model))
    return found


def base_value(rules: _Rules, name: str, value) -> float:
    """``value`` (a Quantity) as a float in base units, cheaply when it is in its declared unit."""
    factor, _, container = rules.unit(name)
    if value._units is container:
        return float(value._magnitude) * factor
    return float(value.to_base_units().magnitude)


def base_values(model, steps) -> dict[str, float]:
    """Every step's value as a float in base units (what sympy's side of solve works in)."""
    rules = _rules(model)
    return {n: base_value(rules, n, s.value) for n, s in steps.items()}


def _rule_value(model, rules, rule, steps, base):
    """(the rule's value as a Quantity in its declared unit, its base float or None)."""
    name = rule.defines
    factor, unit, _ = rules.unit(name)
    for dep in rule.expr.names:
        if dep not in base:
            base[dep] = base_value(rules, dep, steps[dep].value)
    try:
        x = rules.function(name)(base)
        if not isinstance(x, float) or not math.isfinite(x):
            raise _Fallback()
        return _quantity(x / factor, unit), x
    except (_Fallback, ArithmeticError, ValueError, TypeError):
        return evaluate(model, rule, steps).to(unit), None  # its exact value, or its error


def value(model, rule, steps):
    """The value of ``rule`` at ``steps``, in its quantity's declared unit."""
    return _rule_value(model, _rules(model), rule, steps, {})[0]


class _Derived:
    """What deriving one quantity needs, looked up once: its rule, closure, unit and bounds."""

    __slots__ = ("name", "rule", "fn", "factor", "unit", "deps", "low", "high", "formula",
                 "inputs")

    def __init__(self, rules: _Rules, rule):
        self.name = rule.defines
        self.rule = rule
        self.fn = rules.function(self.name)
        self.factor, self.unit, _ = rules.unit(self.name)
        self.deps = tuple(rule.expr.names)
        qdef = rules._model().ruleset.quantities[self.name]
        self.low = -math.inf if qdef.low is None else qdef.low
        self.high = math.inf if qdef.high is None else qdef.high
        self.formula = f"{self.name} = {rule.expr.text}"
        self.inputs = rule.inputs


def _derived(rules: _Rules, name: str) -> _Derived:
    key = ("derived", name)
    found = rules._fns.get(key)
    if found is None:
        found = rules._fns.setdefault(key, _Derived(rules, rules._model().ruleset.rule_for(name)))
    return found


def _new_step(name, value, rule, formula, inputs, source) -> Step:
    """A derived Step, built without the frozen dataclass's per-field ``__setattr__``."""
    step = object.__new__(Step)
    step.__dict__.update(name=name, value=value, kind="derived", rule=rule, formula=formula,
                         inputs=inputs, source=source, note=None)
    return step


def forward(model, names, steps: dict[str, Step]) -> None:
    """Derive ``names`` in order into ``steps``, as ``solve``'s pint forward steps would."""
    rules = _rules(model)
    base: dict[str, float] = {}
    for name in names:
        d = _derived(rules, name)
        for dep in d.deps:
            if dep not in base:
                base[dep] = base_value(rules, dep, steps[dep].value)
        try:
            x = d.fn(base)
            if x.__class__ is not float or not math.isfinite(x):
                raise _Fallback()
            magnitude = x / d.factor
            quantity = _quantity(magnitude, d.unit)
        except (_Fallback, ArithmeticError, ValueError, TypeError, AttributeError):
            quantity = evaluate(model, d.rule, steps).to(d.unit)  # its exact value or error
            magnitude, x = float(quantity.magnitude), None
        if not d.low <= magnitude <= d.high:
            check_derived(model, name, quantity, d.rule, steps)  # raises, saying why
        steps[name] = _new_step(name, quantity, d.rule.id, d.formula, d.inputs, d.rule.source)
        base[name] = x if x is not None else base_value(rules, name, quantity)


def _make_fast():
    """A Quantity built without pint's parsing and checks, when this pint allows it.

    Building ~100 Quantities is most of an exact solve once the arithmetic is on floats;
    the fields set here are the ones pint's own constructor sets for a float magnitude and
    a Unit. Checked once against pint's constructor; any difference uses that instead.
    """
    probe_unit = Quantity(1.0, "byte / second").units

    def fast(magnitude, unit):
        q = object.__new__(Quantity)
        q._magnitude = magnitude
        q._units = unit._units
        return q

    try:
        made, real = fast(2.5, probe_unit), Quantity(2.5, probe_unit)
        if (made == real and made.units == real.units and str(made) == str(real)
                and vars(made).keys() == vars(real).keys()):
            return fast
    except Exception:  # any pint that builds its Quantities differently: the safe way
        pass
    return lambda magnitude, unit: Quantity(magnitude, unit)


_quantity = _make_fast()


class _Sides:
    """A constraint's two sides as float closures, with the unit pint would give each."""

    def __init__(self, cdef, ruleset):
        from .expr import DimensionBackend

        left, self.op, right = cdef.expr.sides()
        units = {n: ruleset.quantities[n].pint_unit for n in cdef.names}
        self.unit = translate(cdef.expr.part(left), DimensionBackend(units)).units
        self.factor = float(Quantity(1.0, self.unit).to_base_units().magnitude)
        self.lhs = translate(cdef.expr.part(left), ClosureBackend())
        self.rhs = translate(cdef.expr.part(right), ClosureBackend())
        self.holds = _compare(self.op)


def constraint_sides(model, cdef, steps):
    """``(lhs, rhs, holds)`` of ``cdef`` at ``steps`` on floats, or None to use pint.

    The sides come back as Quantities in the left side's unit, as pint's evaluation gives
    them; a where() inside a constraint (whose branches may carry different units) is left to
    pint.
    """
    if "where" in cdef.expr.text:
        return None
    rules = _rules(model)
    key = ("constraint", cdef.id, cdef.expr.text)
    sides = rules._fns.get(key)
    if sides is None:
        sides = rules._fns.setdefault(key, _Sides(cdef, model.ruleset))
    try:
        base = {n: base_value(rules, n, steps[n].value) for n in cdef.names}
        lhs, rhs = sides.lhs(base), sides.rhs(base)
        if not (isinstance(lhs, float) and isinstance(rhs, float) and math.isfinite(lhs)
                and math.isfinite(rhs)):
            return None
        holds = sides.holds(lhs, rhs)
    except (_Fallback, ArithmeticError, ValueError, TypeError):
        return None
    unit = sides.unit
    return _quantity(lhs / sides.factor, unit), _quantity(rhs / sides.factor, unit), holds
