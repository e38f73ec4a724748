"""The exact solve's forward steps on plain floats, units attached at the edges.

Units were checked when the rules were loaded, so evaluating a rule need not check them
again. Each rule is translated once (from the checked syntax tree, never from text: no
``eval``) into a tree of small closures over float magnitudes in each quantity's declared
unit, doing pint's own arithmetic operation for operation: the units of every node, and the
factors pint would convert by, are worked out once, when the rule is first used, instead of
at every evaluation. The result is a Quantity in the declared unit, built at the edge.
Where floats could still part from pint — a ``ceil``/``floor`` a hair off an integer, a
comparison within a rounding error, a zero divisor, a number that is not finite or real —
the rule is evaluated by the pint path, which gives its exact value or its one clear error.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import threading
import weakref

from ..lang.expr import translate
from .provenance import Method, Step
from ..units import Quantity, base_factor
from .value_checks import check_derived, evaluate
from .float_ops import COMPARED, FUSED, LEFT, PICKED, PICKED_BY_NAME, RIGHT, SCALED


class _Fallback(Exception):
    """This rule, at these values, is left to the pint path."""


# what a float closure raises where pint must decide (its exact value, or its one clear error)
FLOAT_FAILURES = (_Fallback, ArithmeticError, ValueError, TypeError, AttributeError)

_NEAR = 1e-9  # relative distance at which a comparison or an integer step is left to pint


def _near_integer(x: float) -> bool:
    return abs(x - round(x)) <= _NEAR * max(1.0, abs(x))


def _compare(op):
    """``check(a, b)``: ``a op b``, raising _Fallback where the two are a rounding error apart."""
    equal, below = op in ("<=", ">="), op in ("<=", "<")

    def check(a, b):
        if a == b:
            return equal
        # abs and max written out (no calls), to the same values, a NaN included
        gap = a - b if a > b else b - a
        size_a, size_b = (a if a > 0 else -a), (b if b > 0 else -b)
        if gap <= _NEAR * (size_b if size_b > size_a else size_a):
            raise _Fallback()  # a rounding error apart: floats may disagree with pint
        return (a < b) if below else (a > b)  # a != b here; a NaN gives False either way

    return check


def _step(fn):
    def stepped(x):
        if x != int(x) and _near_integer(x):
            raise _Fallback()  # a hair off an integer here may be on it in pint, or past it
        return float(fn(x))

    return stepped


_UNARY = {"ceil": _step(math.ceil), "floor": _step(math.floor), "log": math.log,
          "exp": math.exp, "sqrt": math.sqrt}


def _factor(source, target) -> float:
    """pint's factor from unit ``source`` to unit ``target`` (both pint Units)."""
    if source == target:
        return 1.0
    return float(Quantity(1.0, source).to(target).magnitude)


_DIMENSIONLESS = Quantity(1.0, "").units
# the operations of two leaves that LEFT and RIGHT fuse with the operand beside them
_NESTED = frozenset({("*", "NN"), ("*", "NC"), ("*", "CN"), ("+", "NN")})


class ClosureBackend:
    """Translates a checked expression into ``(f(values) -> float, unit)``: ``values`` are
    magnitudes in each quantity's declared unit, ``unit`` the pint Unit of the result.

    The arithmetic is pint's, operation for operation: products and quotients of magnitudes
    in the units they come in, a sum's second term converted to the first's unit, a
    comparison's right side to the left's, min/max to the first argument's unit, an argument
    of ceil/floor/log/exp to a plain number; only the unit bookkeeping is done once, here,
    instead of at every evaluation.
    """

    def __init__(self, units):
        self._units = units  # quantity name -> its declared pint Unit
        # closures that only read a name or return a constant, so that an operation on them
        # reads the value itself instead of calling them (fewer calls per evaluation)
        self._leaves: dict = {}
        self._tests: dict = {}  # comparison of a name with a constant -> (check, name, value)
        self._ops: dict = {}  # closure made by _fused -> (operation, shape, a, b), to rescale it

    def number(self, v):
        c = float(v)
        fn = lambda env: c  # noqa: E731
        self._leaves[fn] = ("C", c)
        return fn, _DIMENSIONLESS

    def literal(self, q):
        c = float(q.magnitude)
        fn = lambda env: c  # noqa: E731
        self._leaves[fn] = ("C", c)
        return fn, q.units

    def name(self, n):
        fn = operator.itemgetter(n)
        self._leaves[fn] = ("N", n)
        return fn, self._units[n]

    def neg(self, a):
        fa, unit = a
        return (lambda env: -fa(env)), unit

    def _shape(self, fa, fb):
        """(shape, a, b) of two operands: N a name (a its name), C a constant (its value), F
        another closure (itself)."""
        (ka, a), (kb, b) = self._leaves.get(fa, ("F", fa)), self._leaves.get(fb, ("F", fb))
        return ka + kb, a, b

    def _fused(self, op, fa, fb):
        """``fa op fb`` as one closure reading names and constants directly."""
        shape, a, b = self._shape(fa, fb)
        if shape == "CC":  # two constants: kept as calls, so that 1/0 fails when evaluated
            shape, a, b = "FF", fa, fb
        left, right = self._ops.get(fa), self._ops.get(fb)
        if left is not None and left[:2] in _NESTED:
            return LEFT[(*left[:2], op, shape[1])](left[2], left[3], b)  # (x * y) op b
        if right is not None and right[:2] in _NESTED:
            return RIGHT[(shape[0], op, *right[:2])](right[2], right[3], a)  # a op (x * y)
        fn = FUSED[op, shape](a, b)
        self._ops[fn] = (op, shape, a, b)
        return fn

    def scaled(self, fn, k: float):
        """``fn``'s result times ``k`` (after it, as pint converts), in one closure if it can."""
        found = self._ops.get(fn)
        if found is None:
            return lambda env: fn(env) * k
        op, shape, a, b = found
        return SCALED[op, shape](a, b, k)

    def binary(self, op, a, b, expr, node):
        (fa, ua), (fb, ub) = a, b
        if op in "+-":
            k = _factor(ub, ua)
            if k != 1.0:
                fb = self._fused("*", fb, self.number(k)[0])
            return self._fused(op, fa, fb), ua
        if op == "*":
            return self._fused(op, fa, fb), (Quantity(1.0, ua) * Quantity(1.0, ub)).units
        # a zero divisor raises ZeroDivisionError: the pint path then says which input
        return self._fused(op, fa, fb), (Quantity(1.0, ua) / Quantity(1.0, ub)).units

    def power(self, a, exponent, expr, node):
        fa, unit = a
        e = exponent  # as pint raises it: an int stays an int

        def power(env):
            value = fa(env) ** e
            if isinstance(value, complex):
                raise _Fallback()
            return value

        return power, (Quantity(1.0, unit) ** exponent).units

    def compare(self, op, a, b, expr, node):
        (fa, ua), (fb, ub) = a, b
        check, k = _compare(op), _factor(ub, ua)
        if k != 1.0:
            fb = self._fused("*", fb, self.number(k)[0])
        shape, x, y = self._shape(fa, fb)
        fn = COMPARED[shape](check, x, y)
        if shape == "NC":  # a name against a constant: a where() reads it in place
            self._tests[fn] = (check, x, y)
        return fn, None

    def where(self, cond, a, b, expr, node):
        (fc, _), (fa, ua), (fb, ub) = cond, a(), b()
        k = _factor(ub, ua)  # branches in different units: the second in the first's
        if k != 1.0:
            fb = self._fused("*", fb, self.number(k)[0])
        shape, x, y = self._shape(fa, fb)
        test = self._tests.get(fc)
        if test is not None:
            return PICKED_BY_NAME[shape](*test, x, y), ua
        return PICKED[shape](fc, x, y), ua

    def call(self, name, args, expr, node):
        if name in ("min", "max"):
            pick = min if name == "min" else max
            first = args[0][1]
            parts = [(f, _factor(u, first)) for f, u in args]
            if len(parts) == 2 and parts[0][1] == parts[1][1] == 1.0:  # x * 1.0 is x exactly
                (f1, _), (f2, _) = parts
                return (lambda env: pick(f1(env), f2(env))), first
            return (lambda env: pick([f(env) * k for f, k in parts])), first
        (fa, unit), = args
        if name == "sqrt":
            return (lambda env: fa(env) ** 0.5), (Quantity(1.0, unit) ** 0.5).units
        fn, k = _UNARY[name], _factor(unit, _DIMENSIONLESS)
        if k == 1.0:
            return (lambda env: fn(fa(env))), _DIMENSIONLESS
        return (lambda env: fn(fa(env) * k)), _DIMENSIONLESS


class _DeclaredUnits(dict):
    """Quantity name to its declared pint Unit, looked up as the backend meets each name."""

    def __init__(self, ruleset):
        super().__init__()
        self._quantities = ruleset.quantities

    def __missing__(self, name):
        unit = self[name] = self._quantities[name].pint_unit
        return unit


class _Rules:
    """One model's rules as float closures (each translated on first use), and each
    quantity's base factor and declared unit."""

    def __init__(self, model):
        self._model = weakref.ref(model)
        self._fns: dict = {}
        self._factors: dict[str, tuple] = {}

    def backend(self) -> ClosureBackend:
        return ClosureBackend(_DeclaredUnits(self._model().ruleset))

    def function(self, name: str):
        """``f(values) -> magnitude in name's declared unit`` (values in declared units)."""
        fn = self._fns.get(name)
        if fn is None:
            ruleset = self._model().ruleset
            backend = self.backend()
            body, unit = translate(ruleset.rule_for(name).expr, backend)
            k = _factor(unit, ruleset.quantities[name].pint_unit)  # pint's final .to()
            fn = self._fns.setdefault(name, body if k == 1.0 else backend.scaled(body, k))
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


def declared_value(rules: _Rules, name: str, value) -> float:
    """``value`` (a Quantity) as a float in ``name``'s declared unit (steps always are)."""
    _, unit, container = rules.unit(name)
    if value._units is container:
        return float(value._magnitude)
    return float(value.to(unit).magnitude)


def _rule_value(model, rules, rule, steps, values):
    """(the rule's value as a Quantity in its declared unit, its magnitude or None)."""
    name = rule.defines
    _, unit, _ = rules.unit(name)
    for dep in rule.expr.names:
        if dep not in values:
            values[dep] = declared_value(rules, dep, steps[dep].value)
    try:
        x = rules.function(name)(values)
        if x.__class__ is not float or not math.isfinite(x):
            raise _Fallback()
        return _quantity(x, unit), x
    except FLOAT_FAILURES:
        return evaluate(model, rule, steps).to(unit), None  # its exact value, or its error


def value(model, rule, steps):
    """The value of ``rule`` at ``steps``, in its quantity's declared unit."""
    return _rule_value(model, _rules(model), rule, steps, {})[0]


class _Derived:
    """What deriving one quantity needs, looked up once: its rule, closure, unit and bounds."""

    __slots__ = ("name", "rule", "fn", "unit", "deps", "low", "high", "formula", "inputs")

    def __init__(self, rules: _Rules, rule):
        self.name = rule.defines
        self.rule = rule
        self.fn = rules.function(self.name)
        _, self.unit, _ = rules.unit(self.name)
        self.deps = tuple(rule.expr.names)
        qdef = rules._model().ruleset.quantities[self.name]
        self.low = -math.inf if qdef.low is None else qdef.low
        self.high = math.inf if qdef.high is None else qdef.high
        self.formula = f"{self.name} = {rule.expr.text}"
        self.inputs = rule.inputs


def derivation(model, name: str) -> _Derived:
    """What deriving ``name`` on floats needs (its rule, closure, unit, bounds), looked up once."""
    return _derived(_rules(model), name)


def derived_step(d: _Derived, quantity) -> Step:
    """The Step of a value ``d`` derived (``quantity``, in its declared unit)."""
    return _new_step(d.name, quantity, d.rule.id, d.formula, d.inputs, d.rule.source)


def declared_magnitudes(model, steps) -> dict[str, float]:
    """Every step's value as a float in its quantity's declared unit (what the closures read)."""
    rules = _rules(model)
    return {n: declared_value(rules, n, s.value) for n, s in steps.items()}


def _derived(rules: _Rules, name: str) -> _Derived:
    key = ("derived", name)
    found = rules._fns.get(key)
    if found is None:
        found = rules._fns.setdefault(key, _Derived(rules, rules._model().ruleset.rule_for(name)))
    return found


def _new_step(name, value, rule, formula, inputs, source) -> Step:
    """A derived Step, built without the frozen dataclass's per-field ``__setattr__``."""
    step = object.__new__(Step)
    step.__dict__.update(_DERIVED_FIELDS, name=name, value=value, rule=rule, equation=formula,
                         inputs=inputs, citation=source)
    return step


# every field of a derived Step that the rule does not set (the dataclass's defaults)
_DERIVED_FIELDS = {f.name: f.default for f in dataclasses.fields(Step)
                   if f.default is not dataclasses.MISSING}
_DERIVED_FIELDS["method"] = Method.DERIVED


def forward(model, names, steps: dict[str, Step]) -> None:
    """Derive ``names`` in order into ``steps``, as ``solve``'s pint forward steps would."""
    rules = _rules(model)
    values: dict[str, float] = {}  # magnitudes in declared units, read once each
    for name in names:
        d = _derived(rules, name)
        for dep in d.deps:
            if dep not in values:
                values[dep] = declared_value(rules, dep, steps[dep].value)
        try:
            x = d.fn(values)
            if x.__class__ is not float or not math.isfinite(x):
                raise _Fallback()
            quantity = _quantity(x, d.unit)
        except FLOAT_FAILURES:
            quantity = evaluate(model, d.rule, steps).to(d.unit)  # its exact value or error
            x = float(quantity.magnitude)
        if not d.low <= x <= d.high:
            check_derived(model, name, quantity, d.rule, steps)  # raises, saying why
        steps[name] = derived_step(d, quantity)
        values[name] = x


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
fast_quantity = _quantity  # ``fast_quantity(magnitude, unit)``: a Quantity, built cheaply


class _Sides:
    """A constraint's two sides as float closures, with the unit pint would give each."""

    def __init__(self, cdef, backend):
        left, self.op, right = cdef.expr.sides()
        self.lhs, self.unit = translate(cdef.expr.part(left), backend)
        rhs, unit = translate(cdef.expr.part(right), backend)
        k = _factor(unit, self.unit)  # pint converts the right side to the left's unit
        self.rhs = rhs if k == 1.0 else backend.scaled(rhs, k)
        self.holds = _compare(self.op)


def constraint_closures(model, cdef) -> _Sides | None:
    """``cdef``'s two sides as float closures (``lhs``, ``rhs``, ``holds``, ``unit``), or None
    when pint decides it (a where() inside, whose branches may carry different units)."""
    if "where" in cdef.expr.text:
        return None
    rules = _rules(model)
    key = ("constraint", cdef.id, cdef.expr.text)
    sides = rules._fns.get(key)
    if sides is None:
        sides = rules._fns.setdefault(key, _Sides(cdef, rules.backend()))
    return sides


def constraint_sides(model, cdef, steps):
    """``(lhs, rhs, holds)`` of ``cdef`` at ``steps`` on floats, or None to use pint.

    The sides come back as Quantities in the left side's unit, as pint's evaluation gives
    them; a where() inside a constraint (whose branches may carry different units) is left to
    pint.
    """
    sides = constraint_closures(model, cdef)
    if sides is None:
        return None
    rules = _rules(model)
    try:
        values = {n: declared_value(rules, n, steps[n].value) for n in cdef.names}
        lhs, rhs = sides.lhs(values), sides.rhs(values)
        if not (isinstance(lhs, float) and isinstance(rhs, float) and math.isfinite(lhs)
                and math.isfinite(rhs)):
            return None
        holds = sides.holds(lhs, rhs)
    except (_Fallback, ArithmeticError, ValueError, TypeError):
        return None
    return _quantity(lhs, sides.unit), _quantity(rhs, sides.unit), holds
