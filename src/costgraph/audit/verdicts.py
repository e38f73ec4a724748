"""The audit: check published figures claim by claim against what the rules derive.

Each claim names a quantity, a value (or range) and the configuration it holds for
(presets and given values). The audit solves for the quantity and gives one verdict:

REPRODUCED     the derived value is within the claim's tolerance (or rounds to the figure
               as printed).
CONTRADICTED   it is not; the verdict carries the ratio claimed/derived, the derivation and
               the likely causes the engine recognises (see ``costgraph.audit.causes``).
INFEASIBLE     the configuration breaks a declared constraint the claimed value depends on
               (e.g. the weights and KV do not fit in HBM); which, and by how much. The value
               is still derived and compared (``agrees``), with causes when it disagrees.
UNIT MISMATCH  the claim's unit measures something else than the quantity does.
NOT MODELLED   no quantity of that name is declared.

>>> import costgraph as cg
>>> report = cg.load().audit({"source": "a note", "claims": [
...     {"id": "kv", "quantity": "kv_bytes_per_token", "value": "320 KiB/token",
...      "presets": ["llama-3-70b", "bf16"]}]})
>>> report["kv"].verdict
<VerdictKind.REPRODUCED: 'REPRODUCED'>
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ast
from dataclasses import dataclass

import pint

from .claims import Claim, read_claims
from .outcome import (CONTRADICTED, INFEASIBLE, NOT_MODELLED, REPRODUCED, UNIT_MISMATCH,
                      VERDICTS, Verdict, claimed_ratio, leaves, matches)
from .report import markdown
from .causes import find_causes
from ..lang.bibliography import titled
from ..errors import ClaimsFileError, CostgraphError, closest
from ..errors import UnknownSourceError
from ..lang.expr import PintBackend, translate
from ..core.provenance import ConstraintStatus, Result
from ..units import format_unit

if TYPE_CHECKING:
    from ..core.engine import Engine

@dataclass(frozen=True)
class AuditReport:
    """Every claim's verdict, in file order; iterate it or index it by claim id."""

    source: str
    path: str
    presets: tuple[str, ...]
    verdicts: tuple[Verdict, ...]

    def __iter__(self):
        return iter(self.verdicts)

    def __len__(self) -> int:
        return len(self.verdicts)

    def __getitem__(self, key) -> Verdict:
        if isinstance(key, int):
            return self.verdicts[key]
        for v in self.verdicts:
            if v.id == key:
                return v
        raise KeyError(f"no claim '{key}' in {self.path}")

    def counts(self) -> dict[str, int]:
        """How many claims got each verdict, in the order of ``VERDICTS``."""
        return {name: sum(v.verdict == name for v in self.verdicts) for name in VERDICTS}

    @property
    def passed(self) -> bool:
        """True when every claim is REPRODUCED (what ``--strict`` checks)."""
        return all(v.reproduced for v in self.verdicts)

    def summary(self) -> str:
        counts = ", ".join(f"{n} {name}" for name, n in self.counts().items() if n)
        noun = "claim" if len(self) == 1 else "claims"
        return f"{len(self)} {noun}: {counts}" if self.verdicts else "0 claims"

    def to_dict(self) -> dict:
        return {"source": self.source, "file": self.path, "presets": list(self.presets),
                "counts": self.counts(), "claims": [v.to_dict() for v in self.verdicts]}

    def to_markdown(self) -> str:
        """A report: the table, then each claim that is not reproduced with its derivation."""
        return markdown(self)


def audit(model: Engine, claims, presets=None) -> AuditReport:
    """Check every claim of a claims file against the rules.

    Parameters
    ----------
    model : costgraph.Model
    claims : str, Path or dict
        A claims file (YAML; see docs/audit.md) or the mapping it would hold.
    presets : list of str, optional
        Replace the file's default presets, e.g. ``["default"]`` to check an essay's claims
        on the real hardware and model; a claim's own preset list gets the same substitution.

    Returns
    -------
    AuditReport
        One ``Verdict`` per claim, in file order.
    """
    cfile = read_claims(model, claims, presets)
    try:  # a cited source reads as its entry's title, key kept
        source = titled(model.ruleset.bibliography, cfile.source)
    except UnknownSourceError as exc:
        raise ClaimsFileError(cfile.path, [f"source: {exc}"]) from None
    solver = Solver(model)
    evaluations = [_evaluate(model, solver, c) for c in cfile.claims]
    errors = [e for e in evaluations if isinstance(e, str)]
    if errors:
        raise ClaimsFileError(cfile.path, errors)
    verdicts = []
    for ev in evaluations:
        if ev.verdict in (CONTRADICTED, INFEASIBLE) and not ev.agrees:
            causes = find_causes(model, solver, ev, evaluations)
            ev = _replace(ev, causes=causes)
        verdicts.append(ev)
    return AuditReport(source, cfile.path, cfile.presets, tuple(verdicts))


def _replace(verdict: Verdict, **changes) -> Verdict:
    from dataclasses import replace

    return replace(verdict, **changes)


class Solver:
    """``model.solve`` with a cache (many claims share a configuration), and values with
    some inputs changed, re-derived along the cached derivation (the causes try many)."""

    def __init__(self, model: Engine):
        self.model = model
        self._cache: dict = {}

    def solve(self, presets, given: dict, find: str) -> Result:
        """A Result holding ``find``; one solved for another quantity of the same
        configuration serves when it holds ``find`` too."""
        key = (tuple(presets), tuple(sorted((k, repr(v)) for k, v in given.items())))
        results = self._cache.setdefault(key, [])
        for r in results:
            if find in r.steps:
                return r
        r = self.model.solve(given=dict(given), find=[find], presets=list(presets))
        results.append(r)
        return r

    def value(self, claim: Claim, change: dict | None = None) -> float:
        """The claim's quantity (or ratio) in its derived unit, with some values changed."""
        x = self._one(claim.presets, claim.given, claim.quantity, change or {})
        ref = claim.relative_to
        if ref is None:
            return float(x.magnitude)
        y = self._one(ref.presets, ref.given, ref.quantity, change or {})
        return float((x / y).to("dimensionless").magnitude)

    def _one(self, presets, given, name, change):
        result = self.solve(presets, given, name)
        try:
            return rederive(self.model, result, name, change)
        except _NeedsSolve:
            return self.solve(presets, {**given, **change}, name)[name]


class _NeedsSolve(Exception):
    """A changed value feeds a step that was solved for (inverted), not derived forward."""


def rederive(model: Engine, result: Result, name: str, change: dict) -> pint.Quantity:
    """``name`` as ``result`` derives it, with the values in ``change`` put in place of what
    the result has (given or derived) and everything between re-evaluated by its rule."""
    memo: dict = {}

    def value(n):  # -> (quantity, whether it moved)
        if n in memo:
            return memo[n]
        step = result.steps[n]
        if n in change:
            out = (change[n], True)
        elif not step.inputs:
            out = (step.value, False)
        else:
            inputs = {i: value(i) for i in step.inputs if i in result.steps}
            if not any(moved for _, moved in inputs.values()):
                out = (step.value, False)
            elif step.kind != "derived":
                raise _NeedsSolve(n)
            else:
                rule = model.ruleset.rule_for(n)
                values = {i: v for i, (v, _) in inputs.items()}
                unit = model.ruleset.quantities[n].pint_unit
                out = (translate(rule.expr, PintBackend(values)).to(unit), True)
        memo[n] = out
        return out

    return value(name)[0]


def _evaluate(model: Engine, solver: Solver, claim: Claim):
    """A first Verdict (no causes yet), or an error text for the claims file."""
    quantities = model.ruleset.quantities
    ref = claim.relative_to
    for name in (claim.quantity, *((ref.quantity,) if ref else ())):
        if name not in quantities:
            hint = closest(name, quantities)
            more = f"; closest declared: {', '.join(hint)}" if hint else ""
            return Verdict(claim, NOT_MODELLED,
                           detail=f"no quantity '{name}' is declared in the rules{more}")
    mismatch = _unit_mismatch(model, claim)
    if mismatch:
        return Verdict(claim, UNIT_MISMATCH, detail=mismatch)
    try:
        result = solver.solve(claim.presets, claim.given, claim.quantity)
        reference = solver.solve(ref.presets, ref.given, ref.quantity) if ref else None
    except CostgraphError as exc:
        return f"claim {claim.id}: cannot derive {claim.quantity}: {exc}"
    derived = result[claim.quantity]
    if reference is not None:
        derived = (derived / reference[ref.quantity]).to("dimensionless")
    x = float(derived.magnitude)
    agrees = matches(claim.value, x, derived.units, claim.tolerance)
    breaches = tuple(applicable_breaches(model, result, claim.quantity))
    ref_breaches = tuple(applicable_breaches(model, reference, ref.quantity)) if ref else ()
    verdict = INFEASIBLE if breaches or ref_breaches else \
        REPRODUCED if agrees else CONTRADICTED
    return Verdict(claim, verdict, derived, claimed_ratio(claim.value, x, derived.units),
                   agrees, (), breaches, "", result, reference, ref_breaches)


def _unit_mismatch(model: Engine, claim: Claim) -> str:
    qdef = model.ruleset.quantities[claim.quantity]
    unit = claim.value.units
    shown = format_unit(unit) or "a plain number"
    if claim.relative_to is None:
        if unit.dimensionality != qdef.pint_unit.dimensionality:
            return (f"claimed in {shown}, but {claim.quantity} is in "
                    f"{format_unit(qdef.pint_unit) or 'plain numbers'}: they measure "
                    "different things")
        return ""
    other = model.ruleset.quantities[claim.relative_to.quantity]
    if other.pint_unit.dimensionality != qdef.pint_unit.dimensionality:
        return (f"{claim.quantity} ({format_unit(qdef.pint_unit) or '1'}) and "
                f"{other.name} ({format_unit(other.pint_unit) or '1'}) measure different "
                "things, so their ratio is not a plain number")
    if unit.dimensionality:
        return f"a ratio is a plain number, but the claim is in {shown}"
    return ""



def applicable_breaches(model: Engine, result: Result, name: str) -> list[ConstraintStatus]:
    """The violated constraints that make ``name``'s value a statement about a configuration
    that cannot run.

    A constraint applies when ``name`` depends on an input its constrained quantity is
    formed from directly: for the HBM fit (weights plus batch x KV per request) that is the
    batch. A throughput at that batch is a figure for a step that cannot run; KV bytes per
    token, weight bytes or the most sequences that would fit are properties of the model
    and the GPU, true whatever batch was asked for, so the fit does not apply to them.
    """
    out = []
    own = leaves(result, [name])
    for status in result.constraints:
        if status.holds is not False or status.id not in model.ruleset.constraints:
            continue
        if _operating_inputs(result, model.ruleset.constraints[status.id]) & own:
            out.append(status)
    return out


def _operating_inputs(result: Result, cdef) -> set[str]:
    """The given or preset values that move the constrained side against its limit: those
    its derived quantities are formed from directly, less what the limit is formed from too
    (n_gpus scales the KV copies and the memory alike; the batch only the KV)."""
    left, _, right = cdef.expr.sides()
    lhs, rhs = _names_in(left, cdef.expr.names), _names_in(right, cdef.expr.names)
    demand = _direct_inputs(result, lhs)
    supply = leaves(result, [n for n in rhs if n in result.steps]) | rhs
    return (demand - supply) or demand


def _names_in(node, declared) -> set[str]:
    """The declared quantities one side of a comparison names."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in declared}


def _direct_inputs(result: Result, names) -> set[str]:
    """The given or preset values the quantities are formed from directly (all their inputs
    if none is direct; the names if none is derived)."""
    steps = result.steps
    derived = [n for n in names if n in steps and steps[n].inputs]
    if not derived:
        return set(names)
    direct = {i for n in derived for i in steps[n].inputs if i in steps and not steps[i].inputs}
    return direct or leaves(result, derived)
