"""Likely causes of a contradicted claim, as far as arithmetic can recognise them.

Each detector asks whether the claim, corrected by one recognisable slip, would be
reproduced; the match is held tighter than a verdict's tolerance (``CAUSE_TOLERANCE``, or
the rounding of the figure as printed) because a slip gives an exact factor:

* ``power_of_ten``: claimed / derived is 10^k, a unit-prefix slip (nJ for pJ, per 1K for
  per 1M);
* ``binary_prefix``: for byte quantities, (1000/1024)^k, a GiB figure written as GB;
* ``input_ratio``: the ratio is an input's value (or its inverse) and the quantity really
  depends on that input, e.g. the batch counted twice;
* ``stated_elsewhere``: the claim is reproduced, or its ratio becomes one of the above, when
  one input takes a value another claim of the file states;
* ``inconsistent``: the file states a different value for the same quantity at the same
  inputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import math

from .outcome import Cause, Verdict, claim_ends, claimed_ratio, leaves, matches
from ..errors import CostgraphError
from ..units import format_number, format_quantity

if TYPE_CHECKING:
    from ..core.engine import Engine

# A slip's factor is exact, so a cause must match far tighter than a verdict: to 0.1%, or to
# the figure's own rounding (at most 0.5%, so a two-digit figure cannot match everything).
CAUSE_TOLERANCE = 0.001
MAX_ROUNDING = 0.005
MIN_ELASTICITY = 0.05  # an input the quantity barely moves with cannot explain a factor
_BINARY = {1: ("KiB", "kB"), 2: ("MiB", "MB"), 3: ("GiB", "GB"), 4: ("TiB", "TB")}


def find_causes(model: Engine, solver, ev: Verdict, evaluations) -> tuple[Cause, ...]:
    """The likely causes of ``ev``'s disagreement, most direct first."""
    if ev.claim.value.is_range:
        return ()  # a range spans many factors: one found inside it would say little
    ctx = _Context(model, solver, ev)
    causes = ctx.scale_causes(ev.derived.magnitude, {})
    causes += ctx.stated_elsewhere(evaluations, already=bool(causes))
    causes += ctx.inconsistent(evaluations)
    return tuple(causes)


class _Context:
    def __init__(self, model: Engine, solver, ev: Verdict):
        self.model, self.solver, self.ev, self.claim = model, solver, ev, ev.claim
        self.unit = ev.derived.units
        self.low, self.high, slack, _ = claim_ends(self.claim.value, self.unit)
        rounding = min(slack / abs(self.low), MAX_ROUNDING) if self.low else 0.0
        self.tol = min(self.claim.tolerance, max(CAUSE_TOLERANCE, rounding))

    def fits(self, factor: float, x: float) -> bool:
        """Whether the claim divided by ``factor`` is reproduced by ``x``, to a cause's
        tolerance (``self.tol``; the strict 0.1% while trying values stated elsewhere)."""
        low, high = sorted((self.low / factor, self.high / factor))
        return low - self.tol * abs(low) <= x <= high + self.tol * abs(high)

    def ratio(self, x: float) -> float | None:
        return claimed_ratio(self.claim.value, x, self.unit)

    # factors -------------------------------------------------------------------------------

    def scale_causes(self, x: float, change: dict) -> list[Cause]:
        r = self.ratio(x)
        if r is None or r <= 0:
            return []
        return [*self.power_of_ten(r, x), *self.binary_prefix(r, x),
                *self.input_ratio(x, change)]

    def power_of_ten(self, r, x) -> list[Cause]:
        k = round(math.log10(r))
        if k == 0 or not self.fits(10.0 ** k, x):
            return []
        return [Cause("power_of_ten", f"the claim is 10^{k} times the derivation: a "
                      "unit-prefix slip (e.g. nJ for pJ, per 1K for per 1M)", 10.0 ** k)]

    def binary_prefix(self, r, x) -> list[Cause]:
        if not (_is_bytes(self.claim.value.units) or _is_bytes(self.unit)):
            return []
        for k in sorted(_BINARY, key=lambda k: abs(math.log(r) + k * math.log(1.024))):
            for sign in (1, -1):
                factor = (1000 / 1024) ** (sign * k)
                if self.fits(factor, x):
                    binary, decimal = _BINARY[k]
                    text = (f"a {binary} figure written as {decimal}" if sign > 0 else
                            f"a {decimal} figure written as {binary}")
                    return [Cause("binary_prefix", f"the claim is {format_number(factor)}× "
                                  f"the derivation = (1000/1024)^{sign * k}: {text}", factor)]
        return []

    def input_ratio(self, x: float, change: dict) -> list[Cause]:
        found = []
        for name, value in self._count_inputs(change):
            for factor, how in ((value, "applied once too often (counted twice)"),
                                (1 / value, "left out, or divided by once too often")):
                if self.fits(factor, x) and abs(self._elasticity(name, change)) >= MIN_ELASTICITY:
                    shown = format_quantity(self._input_value(name, change))
                    rel = "times" if factor == value else "divided by"
                    found.append(Cause("input_ratio", f"the claim is the derivation {rel} "
                                       f"{name} ({shown}): {name} {how}", factor, name))
        return found

    def _count_inputs(self, change: dict):
        """Inputs that are counts or plain numbers, with their magnitudes (declared unit).
        A changed value stands as an input: what it was derived from no longer counts."""
        quantities = self.model.ruleset.quantities
        names = set()
        for r, q in self._results():
            names |= leaves(r, [q], fixed=change)
        for name in sorted(names - {self.claim.quantity}):
            qdef = quantities[name]
            value = float(self._input_value(name, change).magnitude)
            if not _is_count(qdef) or value <= 0:
                continue
            if abs(math.log(value)) <= math.log(1 + 2 * self.claim.tolerance):
                continue  # a factor this close to 1 is within tolerance anyway
            yield name, value

    def _results(self):
        """The claim's derivation(s): the quantity's, and the reference's for a ratio."""
        c, out = self.claim, [(self.ev.result, self.claim.quantity)]
        if c.relative_to is not None:
            out.append((self.ev.reference, c.relative_to.quantity))
        return out

    def _input_value(self, name, change):
        if name in change:
            return change[name]
        for r, _ in self._results():
            if name in r.steps:
                return r[name]
        raise KeyError(name)

    def _elasticity(self, name: str, change: dict) -> float:
        """d ln(claimed quantity) / d ln(input), by a small step (whole numbers step by 1)."""
        qdef = self.model.ruleset.quantities[name]
        x0 = float(self._input_value(name, change).magnitude)
        steps = (x0 + 1, x0 - 1) if qdef.integer else (x0 * 1.001, x0 * 0.999)
        base = self.solver.value(self.claim, change)
        for x1 in steps:
            if x1 <= 0:
                continue
            try:
                moved = self.solver.value(self.claim, {**change, name: self.model.coerce(
                    name, x1)})
            except CostgraphError:
                continue
            if base == 0 or moved <= 0 or base < 0:
                return 0.0
            return math.log(moved / base) / math.log(x1 / x0)
        return 0.0

    # other claims ------------------------------------------------------------------------------

    def stated_elsewhere(self, evaluations, already: bool) -> list[Cause]:
        """Another claim states a value this claim's derivation uses, for the same inputs
        (e.g. a KV size at the same context): does the claim follow from that value, or
        does its ratio then become an input counted twice?"""
        found = []
        for name, value, source in self._candidates(evaluations):
            try:
                x = self.solver.value(self.claim, {name: value})
            except CostgraphError:
                continue
            said = f"{name} = {format_quantity(value)} as claim {source} states"
            if matches(self.claim.value, x, self.unit, self.claim.tolerance):
                found.append(Cause("stated_elsewhere", f"reproduced when {said} (the "
                                   "rules give " + format_quantity(self._current(name))
                                   + ")", 1.0, name, source))
            elif not already:
                # two guesses at once (a value and a factor) need exact evidence: only a
                # counted-twice input, matched to 0.1% whatever the figure's rounding
                loose, self.tol = self.tol, min(self.tol, CAUSE_TOLERANCE)
                try:
                    inner_causes = self.input_ratio(x, {name: value})
                finally:
                    self.tol = loose
                for inner in inner_causes:
                    found.append(Cause("stated_elsewhere", f"with {said}, {inner.text}",
                                       inner.factor, name, source, inner.kind))
        return found

    def _current(self, name):
        return self._input_value(name, {})

    def _candidates(self, evaluations):
        """(name, value, claim id): values other claims state, for a quantity this claim's
        derivation uses, at the same inputs, that differ from what the rules give here."""
        upstream = set()
        for r, q in self._results():
            upstream |= set(r.upstream_of(q))
        seen = set()
        for other in evaluations:
            o = other.claim
            # a figure the rules reproduce moves nothing; only disagreeing ones can explain
            if o.id == self.claim.id or o.relative_to is not None or o.value.is_range \
                    or other.result is None or other.agrees or o.quantity not in upstream:
                continue
            value, current = o.value.low, self._current(o.quantity)
            if value.dimensionality != current.dimensionality:
                continue
            value = value.to(current.units)
            key = (o.quantity, round(float(value.magnitude), 12))
            if key in seen or math.isclose(float(value.magnitude), float(current.magnitude),
                                           rel_tol=1e-9):
                continue
            if self._same_inputs(other):
                seen.add(key)
                yield o.quantity, value, o.id

    def _same_inputs(self, other: Verdict) -> bool:
        """Whether the other claim's figure was stated for the inputs this derivation uses:
        a KV size at 2K context says nothing about 4K, a price for Oregon nothing about the
        baseline."""
        name = other.claim.quantity
        theirs = other.result
        for mine, _ in self._results():
            if name not in mine.steps:
                continue
            own = leaves(mine, [name])
            if leaves(theirs, [name]) != own or not all(_close(mine[n], theirs[n])
                                                       for n in own):
                return False
        return True

    def inconsistent(self, evaluations) -> list[Cause]:
        c = self.claim
        if c.relative_to is not None or c.value.is_range:
            return []
        mine = self.ev.result
        own = leaves(mine, [c.quantity])
        found = []
        for other in evaluations:
            o = other.claim
            if o.id == c.id or o.quantity != c.quantity or o.relative_to is not None \
                    or o.value.is_range or other.result is None:
                continue
            theirs = other.result
            if leaves(theirs, [o.quantity]) != own or not all(
                    _close(mine[n], theirs[n]) for n in own):
                continue
            stated = float(o.value.low.to(self.unit).magnitude)
            if matches(c.value, stated, self.unit, c.tolerance) or stated == 0:
                continue
            r = float(c.value.low.to(self.unit).magnitude) / stated
            text = (f"the file also states {c.quantity} = {o.value.text} at the same inputs "
                    f"(claim {o.id}); this claim is {format_number(r)}× that")
            k = round(math.log10(abs(r))) if r > 0 else 0
            if k and matches(c.value.scaled(10.0 ** -k), stated, self.unit, self.tol):
                text += f": a power of ten (10^{k}) apart, a unit-prefix slip between them"
            found.append(Cause("inconsistent", text, r, None, o.id))
        return found


def _close(a, b) -> bool:
    try:
        return math.isclose(float(a.magnitude), float(b.to(a.units).magnitude), rel_tol=1e-9)
    except Exception:  # different dimensions: not the same input
        return False


def _is_bytes(unit) -> bool:
    return any("byte" in name or "bit" in name for name in unit._units)


def _is_count(qdef) -> bool:
    """Whole-number quantities (a batch, a layer count) and plain numbers (a fraction, a
    factor): the inputs whose value can turn up as a bare factor when counted twice. A
    quantity with a unit (700 W) cannot multiply a figure without changing its unit."""
    return qdef.integer or not qdef.pint_unit._units
