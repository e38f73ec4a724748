"""Numbers that cannot be real are refused where they arise, naming what made them.

A rule evaluated at values that make it divide by zero, overflow or leave the reals, and a
derived value outside its quantity's declared bounds (a negative layer count, more experts
per token than experts), each become one ``InvalidValueError`` that names the quantity, its
value, the rule, and the inputs it came from, with their presets — never a traceback, never
a number that is priced as if it were real.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import math

from ..errors import InvalidValueError
from ..lang.expr import PintBackend, translate
from ..units import format_quantity
from .provenance import Method

if TYPE_CHECKING:
    from .engine import Engine


def evaluate(model: Engine, rule, steps):
    """The rule's value at ``steps`` (pint), refusing a zero divisor, an overflow, a NaN."""
    values = {n: steps[n].value for n in rule.expr.names}
    try:
        value = translate(rule.expr, PintBackend(values))
    except ZeroDivisionError:
        raise _divides_by_zero(model, rule, steps) from None
    except (OverflowError, FloatingPointError, ValueError) as exc:
        raise InvalidValueError(f"rule {rule.id}:", rule.defines, "not a number",
                                f"{_reason(exc)} at {_inputs(rule, steps)}") from None
    magnitude = float(getattr(value, "magnitude", value))
    if not math.isfinite(magnitude):
        raise InvalidValueError(f"rule {rule.id}:", rule.defines, format_quantity(value),
                                f"not a finite number, from {_inputs(rule, steps)}")
    return value


def check_derived(model: Engine, name: str, value, rule, steps) -> None:
    """Refuse a derived value outside the bounds its quantity declares."""
    q = model.ruleset.quantities[name]
    x = float(value.magnitude)
    low = -math.inf if q.low is None else q.low
    high = math.inf if q.high is None else q.high
    if low <= x <= high:
        return
    side = f"below its lower bound {low:g}" if x < low else f"above its upper bound {high:g}"
    raise InvalidValueError(f"derived by rule {rule.id}:", name, format_quantity(value),
                            f"{side} — it cannot be; from {_inputs(rule, steps)}")


def _divides_by_zero(model: Engine, rule, steps) -> InvalidValueError:
    zeros = [n for n in rule.inputs if n in steps and float(steps[n].value.magnitude) == 0]
    if zeros:
        name = _zero_origin(steps, zeros[0])
        via = "" if name == zeros[0] else f" (through {zeros[0]})"
        return InvalidValueError(_origin(steps[name]), name, format_quantity(steps[name].value),
                                 f"rule {rule.id} divides by it{via} ({rule.expr.text}); a "
                                 "non-zero value is needed")
    return InvalidValueError(f"rule {rule.id}:", rule.defines, "undefined",
                             f"{rule.expr.text} divides by zero at {_inputs(rule, steps)}")


def _zero_origin(steps, name: str, seen=()) -> str:
    """The given or preset value a derived zero comes from (hbm_bandwidth behind a zero
    effective_bandwidth), or the derived quantity itself when none is zero."""
    step = steps[name]
    if not step.inputs:
        return name
    for child in step.inputs:
        if child in steps and child not in seen and float(steps[child].value.magnitude) == 0:
            return _zero_origin(steps, child, (*seen, name))
    return name


def _origin(step) -> str:
    """Where a value came from, in words: 'given', 'preset h200', 'derived by rule x'."""
    if step.method is Method.PRESET:
        return f"preset {step.preset}:"
    if step.method in (Method.DERIVED, Method.SOLVED):
        return f"{step.method} by rule {step.rule}:"
    return f"{step.method}"


def _inputs(rule, steps) -> str:
    parts = []
    for n in rule.inputs:
        if n in steps:
            origin = _origin(steps[n]).rstrip(":")
            parts.append(f"{n} = {format_quantity(steps[n].value)} ({origin})")
    return ", ".join(parts)


def _reason(exc) -> str:
    text = str(exc)
    return {"math domain error": "outside the domain of a function (log of a non-positive "
                                 "number, root of a negative)"}.get(text, text or
                                                                     type(exc).__name__)
