"""A claim's outcome: the verdicts, the causes found, and how a value is compared with a claim."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import pint

from .claims import Claim, ClaimedValue
from ..core.provenance import ConstraintStatus, Result, lineage
from ..units import format_number, format_quantity, format_unit



class VerdictKind(StrEnum):
    """The audit's possible answers for a claim; the values are the words reports show."""

    REPRODUCED = "REPRODUCED"
    CONTRADICTED = "CONTRADICTED"
    INFEASIBLE = "INFEASIBLE"
    UNIT_MISMATCH = "UNIT MISMATCH"
    NOT_MODELLED = "NOT MODELLED"


REPRODUCED = VerdictKind.REPRODUCED
CONTRADICTED = VerdictKind.CONTRADICTED
INFEASIBLE = VerdictKind.INFEASIBLE
UNIT_MISMATCH = VerdictKind.UNIT_MISMATCH
NOT_MODELLED = VerdictKind.NOT_MODELLED
VERDICTS = tuple(VerdictKind)


@dataclass(frozen=True)
class Cause:
    """A likely reason a claim and its derivation part.

    ``kind`` is one of ``power_of_ten``, ``binary_prefix``, ``input_ratio``,
    ``stated_elsewhere`` (the claim is reproduced, or its ratio explained, when one input
    takes a value stated elsewhere in the file) and ``inconsistent`` (the file states another
    value for the same quantity at the same inputs).
    """

    kind: str
    text: str
    factor: float | None = None  # claimed / derived that the cause accounts for
    name: str | None = None  # the input involved
    claim: str | None = None  # the other claim involved
    then: str | None = None  # for stated_elsewhere: the kind that explains what remains

    def to_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text, "factor": self.factor,
                "name": self.name, "claim": self.claim, "then": self.then}


@dataclass(frozen=True)
class Verdict:
    """The audit's answer for one claim; read-only."""

    claim: Claim
    verdict: VerdictKind
    derived: pint.Quantity | None = None
    ratio: float | None = None  # claimed / derived (the nearest end of a range)
    agrees: bool | None = None  # whether the value is within tolerance (INFEASIBLE too)
    causes: tuple[Cause, ...] = ()
    breaches: tuple[ConstraintStatus, ...] = ()
    detail: str = ""
    result: Result | None = None
    reference: Result | None = None  # the denominator's derivation, for a ratio claim
    reference_breaches: tuple[ConstraintStatus, ...] = ()

    @property
    def id(self) -> str:
        return self.claim.id

    @property
    def reproduced(self) -> bool:
        return self.verdict == REPRODUCED

    def derived_text(self) -> str:
        """The derived value, in the claim's unit when it has one (26,298 h beside 26280 h)."""
        d = self.derived
        if d is None:
            return "—"
        unit = self.claim.value.units
        if self.claim.relative_to is None and unit.dimensionality == d.dimensionality:
            d = d.to(unit)
        if not format_unit(d.units):
            return format_number(d.magnitude)
        return format_quantity(d)

    def ratio_text(self) -> str:
        return "—" if self.ratio is None else format_number(self.ratio)

    def reasons(self) -> list[str]:
        """Why the verdict is what it is, one sentence each (empty when REPRODUCED)."""
        lines = [self.detail] if self.detail else []
        lines += [describe_breach(b) for b in self.breaches]
        lines += [describe_breach(b) + " (in the configuration divided by)"
                  for b in self.reference_breaches]
        if self.verdict == INFEASIBLE:
            lines.append("the value itself agrees with the derivation" if self.agrees else
                         f"the value also disagrees: the claim is {self.ratio_text()}× the "
                         "derivation")
        lines += [c.text for c in self.causes]
        return lines

    def explain(self) -> str:
        """The verdict, its reasons and the derivation(s) as text."""
        c = self.claim
        head = (f"{c.id} ({c.where}) {self.verdict}: {c.shown_quantity}"
                + f" claimed {c.value.text}, derived {self.derived_text()}"
                + (f", ratio {self.ratio_text()}" if self.ratio is not None else ""))
        lines = [head, *(f"  - {r}" for r in self.reasons())]
        if self.result is not None:
            lines += ["", self.result.explain(c.quantity)]
        if self.reference is not None:
            lines += ["", "divided by:", self.reference.explain(c.relative_to.quantity)]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        d = self.derived
        return {**self.claim.to_dict(), "verdict": self.verdict.value,
                "derived": None if d is None else {
                    "value": float(d.magnitude), "unit": format_unit(d.units),
                    "text": self.derived_text()},
                "ratio": self.ratio, "agrees": self.agrees,
                "causes": [x.to_dict() for x in self.causes],
                "constraints": [b.to_dict() for b in self.breaches],
                "reference_constraints": [b.to_dict() for b in self.reference_breaches],
                "detail": self.detail}



# --- comparing ------------------------------------------------------------------------------


def claim_ends(value: ClaimedValue, unit) -> tuple[float, float, float, float]:
    """(low, high, slack_low, slack_high) in ``unit``; open ends are infinite."""
    def conv(q, inf):
        return inf if q is None else float(q.to(unit).magnitude)
    factor = float((1 * value.units).to(unit).magnitude)
    return (conv(value.low, -math.inf), conv(value.high, math.inf),
            value.slack_low * abs(factor), value.slack_high * abs(factor))


def matches(value: ClaimedValue, x: float, unit, tolerance: float) -> bool:
    """Whether ``x`` (in ``unit``) meets the claim: within ``tolerance`` of it (relative to
    the claimed figure), or within half a unit of the last digit the claim states."""
    low, high, s_low, s_high = claim_ends(value, unit)
    allow_low = max(tolerance * abs(low), s_low) if math.isfinite(low) else 0.0
    allow_high = max(tolerance * abs(high), s_high) if math.isfinite(high) else 0.0
    return low - allow_low <= x <= high + allow_high


def claimed_ratio(value: ClaimedValue, x: float, unit) -> float | None:
    """claimed / derived, taking the end of a range nearest the derived value."""
    if x == 0:
        return None
    low, high, _, _ = claim_ends(value, unit)
    nearest = min(max(x, low), high)
    return nearest / x


def leaves(result: Result, names, fixed=()) -> set[str]:
    """The given and preset values ``names`` are derived from in ``result``; names in
    ``fixed`` count as given (their own inputs are not followed)."""
    steps = result.steps
    return {n for n in lineage(steps, names, stop=fixed) if n in fixed or not steps[n].inputs}



def describe_breach(status: ConstraintStatus) -> str:
    """``memory.hbm_fit fails: hbm_required = 413.6 GB against 141 GB (2.933×, over by
    272.6 GB)``."""
    lhs, rhs = status.lhs, status.rhs.to(status.lhs.units)
    ratio = "" if status.ratio is None else f"{format_number(status.ratio)}×, "
    return (f"{status.id} fails: {status.expr} with {format_quantity(lhs)} against "
            f"{format_quantity(rhs)} ({ratio}off by {format_quantity(abs(status.slack))})")
