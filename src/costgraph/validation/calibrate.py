"""Calibration: fit input quantities (a stack's efficiencies, overheads) to measurements.

``calibrate(model, files, fit=[...])`` minimises the squared log error of every point,
``log(predicted / measured)``, over the quantities named in ``fit`` with
``scipy.optimize.least_squares``, each bounded by its declared bounds and started from the
value the points' presets give it. It reports each fitted value with its standard
uncertainty (from the Jacobian at the optimum and the residuals' variance) and whether the
points pin it: a quantity no point depends on, one the points cannot tell apart from another,
one whose uncertainty spans its range and one pressed against a bound are said so, never
returned as if measured. With ``loo`` every point is predicted by a fit to all the others;
with ``loo="configuration"`` every configuration (the points sharing their presets: one
model on one hardware at one precision and tensor-parallel size) is held out whole and
predicted by a fit to the other configurations - what the stack says of a configuration it
has never seen.

The fitted values can be written as a ``stack`` preset (``CalibrationReport.preset_yaml``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import math
from dataclasses import dataclass

import numpy as np
import yaml

from ..errors import QueryError
from .measurements import read_all
from .predict import Evaluator
from ..units import format_number
from .validate import Summary

if TYPE_CHECKING:
    from ..core.engine import Engine

_MISSING_PENALTY = 10.0  # residual of a point no batch satisfies at a trial value (e^10 off)
_Z95 = 1.6448536269514722  # P95 of a standard normal: a preset's low/high are P5..P95
_FLAT = 1e-3  # an elasticity below this: the prediction does not depend on the quantity
STACK_KIND = "stack"  # the preset kind a calibration writes (rules/presets/kinds.yaml)
LOO_UNITS = {"point": "leave-one-out",  # what a leave-out fit holds out, and its summary's name
             "configuration": "leave-one-configuration-out"}


def _loo_unit(loo) -> str | None:
    """``loo`` as the unit held out: None, "point" (True) or "configuration"."""
    if loo is False or loo is None:
        return None
    if loo is True:
        return "point"
    if loo not in LOO_UNITS:
        raise QueryError("calibrate", f"loo={loo!r}: hold out a 'point' or a 'configuration' "
                         "(or pass True for points)")
    return loo


@dataclass(frozen=True)
class FittedValue:
    """One fitted quantity: its value and standard uncertainty, and whether it is pinned."""

    name: str
    value: float
    unit: str
    sigma: float  # standard uncertainty; inf when the points do not determine it, nan unknown
    bounds: tuple[float, float]
    start: float
    pinned: bool
    reason: str | None  # why it is not pinned, or what limits what is known of it

    def text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        sigma = "" if not math.isfinite(self.sigma) else f" ± {format_number(self.sigma, 2)}"
        state = "pinned" if self.pinned else "NOT PINNED"
        why = f": {self.reason}" if self.reason else ""
        return f"{self.name} = {format_number(self.value)}{sigma}{unit}  [{state}{why}]"

    def to_dict(self) -> dict:
        return {"name": self.name, "value": self.value, "unit": self.unit,
                "sigma": self.sigma if math.isfinite(self.sigma) else None,
                "bounds": list(self.bounds), "start": self.start, "pinned": self.pinned,
                "reason": self.reason}


@dataclass(frozen=True)
class PointFit:
    id: str
    file: str
    measured: float
    unit: str  # of measured and predicted values
    predicted: float | None  # at the fitted values
    loo_predicted: float | None = None  # by the fit without this point (with loo)

    @property
    def error(self) -> float | None:
        return None if self.predicted is None else self.predicted / self.measured - 1

    @property
    def loo_error(self) -> float | None:
        return None if self.loo_predicted is None else self.loo_predicted / self.measured - 1

    def to_dict(self) -> dict:
        return {"id": self.id, "file": self.file, "measured": self.measured, "unit": self.unit,
                "predicted": self.predicted, "error": self.error,
                "loo_predicted": self.loo_predicted, "loo_error": self.loo_error}


@dataclass(frozen=True)
class CalibrationReport:
    fitted: tuple[FittedValue, ...]
    points: tuple[PointFit, ...]
    presets: tuple[str, ...]
    sources: tuple[str, ...]  # each point file's sources, in order, without repeats
    files: tuple[str, ...]
    stack: str | None  # the stack preset the points were evaluated under (what -o includes)
    loo: str | None  # what each leave-out fit held out: "point", "configuration" or None

    @property
    def summary(self) -> Summary:
        return Summary.of("fit", [p.id for p in self.points], [p.error for p in self.points])

    @property
    def loo_summary(self) -> Summary | None:
        if not self.loo:
            return None
        return Summary.of(LOO_UNITS[self.loo], [p.id for p in self.points],
                          [p.loo_error for p in self.points])

    def to_dict(self) -> dict:
        loo = self.loo_summary
        return {"fitted": [f.to_dict() for f in self.fitted],
                "points": [p.to_dict() for p in self.points], "presets": list(self.presets),
                "files": list(self.files), "summary": self.summary.to_dict(),
                "loo_summary": None if loo is None else loo.to_dict()}

    def preset_yaml(self, name: str, description: str | None = None) -> str:
        """A ``stack`` preset file with the pinned values, loadable from a rules folder.

        Values the points do not pin are left out, so the included stack's stand.
        """
        pinned = [f for f in self.fitted if f.pinned]
        summary, loo = self.summary, self.loo_summary
        errors = f"median |error| {summary.median:.1%}, worst {summary.worst:.1%}" + (
            f"; {LOO_UNITS[self.loo]} median {loo.median:.1%}, worst {loo.worst:.1%}"
            if loo else "")
        left = [f.name for f in self.fitted if not f.pinned]
        text = description or (
            f"Fitted by costgraph calibrate to {len(self.points)} measured points "
            f"({', '.join(self.files)}): {errors}."
            + (f" Not pinned by these points, so taken from {self.stack or 'the presets'}: "
               f"{', '.join(left)}." if left else ""))
        values = {}
        for f in pinned:
            entry = {"value": _round(f.value)}
            if math.isfinite(f.sigma):
                lo, hi = f.bounds
                entry.update(low=_round(max(lo, f.value - _Z95 * f.sigma)),
                             high=_round(min(hi, f.value + _Z95 * f.sigma)),
                             sd=_round(f.sigma), distribution="normal")
            entry["note"] = (f"fitted {format_number(f.value)}"
                             + (f" ± {format_number(f.sigma, 2)} (standard uncertainty)"
                                if math.isfinite(f.sigma) else "")
                             + (f"; {f.reason}" if f.reason else ""))
            values[f.name] = entry
        keys = "; ".join(self.sources)
        preset = {"description": text,
                  "source": f"{keys}; [derivation] least squares on log error over "
                            f"{len(self.points)} points by costgraph calibrate",
                  **({"includes": [self.stack]} if self.stack else {}),
                  "values": values}
        document = {"kind": STACK_KIND,
                    "description": "A serving stack calibrated against published "
                                   "measurements by costgraph calibrate.",
                    "presets": {name: preset}}
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def calibrate(model: Engine, files=None, fit=(), presets=(), loo=False) -> CalibrationReport:
    """Fit the input quantities ``fit`` to the points of ``files`` (see the module doc)."""
    fit = tuple(fit)
    unit = _loo_unit(loo)
    if not fit:
        raise QueryError("calibrate", "name at least one quantity to fit, e.g. "
                         "fit=['flops_efficiency']")
    for name in fit:
        model.quantity_def(name, "fit")
        rule = model.ruleset.rule_for(name)
        if rule is not None:
            raise QueryError(f"fit {name}", f"it is derived (rule {rule.id}); fit the inputs "
                             "it is built from")
    points = read_all(model, files)
    evaluator = Evaluator(model, points, presets=tuple(presets or ()), fit=fit)
    bounds = np.array([_bounds(model, n) for n in fit]).T
    x0 = np.clip(evaluator.start, *bounds)
    every = np.arange(len(points))
    result = _fit(evaluator, x0, bounds, every)
    x = result.x
    predicted = evaluator.values(x[None, :])[0]
    loo_predicted = [None] * len(points)
    if unit is not None:
        key = [i if unit == "point" else tuple(p.presets) for i, p in enumerate(points)]
        for group in dict.fromkeys(key):
            out = np.array([i for i in every if key[i] == group])
            rest = np.setdiff1d(every, out)
            if rest.size == 0:
                continue  # a single configuration: nothing to fit it from, no prediction
            # a held-out configuration may leave a value unpinned: start from the presets,
            # not from the full fit, so that none of its own points leaks into its prediction
            # (a held-out point leaves every pinned value pinned: the full fit is the start)
            xi = _fit(evaluator, x if unit == "point" else x0, bounds, rest).x
            values = evaluator.values(xi[None, :])[0]
            for i in out:
                loo_predicted[i] = None if math.isnan(values[i]) else float(values[i])
    fitted = _fitted(model, fit, x, x0, bounds, result, len(points))
    rows = tuple(PointFit(p.id, p.file, float(p.value.magnitude), f"{p.value.units:~P}",
                          None if math.isnan(v) else float(v), lv)
                 for p, v, lv in zip(points, predicted, loo_predicted))
    sources = tuple(dict.fromkeys(c for p in points for c in _keys(p.source)))
    stack = _stack(model, points[0], presets)
    return CalibrationReport(fitted, rows, tuple(presets or ()), sources,
                             tuple(dict.fromkeys(p.file for p in points)), stack, unit)


def _log_error(evaluator, values, use):
    """log(predicted / measured) of the points ``use``; a penalty where there is none."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log(values[:, use] / evaluator.measured[use])
    return np.where(np.isfinite(r), r, _MISSING_PENALTY)


def _fit(evaluator, x0, bounds, use):
    from scipy.optimize import least_squares

    lo, hi = bounds
    searched = {}  # the best batches found at the last vector fun was called with

    def fun(x):
        values, batches = evaluator.search(x[None, :])
        searched.clear()
        searched[x.tobytes()] = (values, batches[0])
        return _log_error(evaluator, values, use)[0]

    def jac(x):
        if x.tobytes() not in searched:
            fun(x)
        base, batches = searched[x.tobytes()]
        # forward differences at the batches fun found (the envelope of the best rate);
        # a step back at an upper bound
        h = 1e-6 * np.maximum(np.abs(x), 1e-3)
        h = np.where(x + h > hi, -h, h)
        moved = evaluator.at_batches(x[None, :] + np.diag(h), batches)
        r0, r = _log_error(evaluator, base, use), _log_error(evaluator, moved, use)
        return ((r - r0) / h[:, None]).T

    return least_squares(fun, x0, jac=jac, bounds=(lo, hi), method="trf", x_scale="jac")


def _fitted(model: Engine, fit, x, x0, bounds, result, m) -> tuple[FittedValue, ...]:
    J = np.atleast_2d(result.jac)
    n = len(fit)
    dof = m - n
    s2 = float(2 * result.cost / dof) if dof > 0 else float("nan")
    u, s, vt = np.linalg.svd(J, full_matrices=False)
    tiny = s <= max(s[0] if len(s) else 0, 1e-300) * 1e-8
    elasticity = np.max(np.abs(J * x[None, :]), axis=0) if len(J) else np.zeros(n)
    out = []
    for j, name in enumerate(fit):
        lo, hi = bounds[:, j]
        null = [k for k in range(len(s)) if tiny[k] and abs(vt[k, j]) > 1e-6]
        if null or len(s) < n:
            sigma = float("inf")
        else:
            kept = ~tiny
            sigma = math.sqrt(s2 * float(np.sum((vt[kept, j] / s[kept]) ** 2))) \
                if dof > 0 else float("nan")
        pinned, reason = True, None
        # at a bound its elasticity (the column times the value) can vanish with the value
        # itself, as at an overhead of 0: the points still move with it, so say where it sits
        pressed = result.active_mask[j] != 0 and bool(np.any(J[:, j] != 0)) if len(J) else False
        if pressed:
            bound = lo if result.active_mask[j] < 0 else hi
            pinned = False
            reason = (f"the fit presses it against its bound {format_number(bound)}: the "
                      "points want a value the rules do not allow")
        elif elasticity[j] < _FLAT:
            pinned, reason = False, "no point depends on it (its Jacobian column is ~0)"
        elif math.isinf(sigma):
            partners = sorted({fit[i] for k in null for i in range(n)
                               if i != j and abs(vt[k, i]) > 0.1})
            pinned = False
            reason = ("these points cannot tell it apart from " + ", ".join(partners)
                      if partners else "these points do not determine it")
        elif math.isnan(sigma):
            reason = "as many points as fitted values: the fit is exact, its uncertainty unknown"
        elif math.isfinite(hi - lo) and 2 * sigma >= hi - lo:
            pinned, reason = False, (f"its uncertainty spans its range [{format_number(lo)}, "
                                     f"{format_number(hi)}]")
        elif sigma >= abs(x[j]):
            pinned, reason = False, "its uncertainty is as large as its value"
        unit = model.ruleset.quantities[name].unit
        out.append(FittedValue(name, float(x[j]), "" if unit == "1" else unit, sigma,
                               (float(lo), float(hi)), float(x0[j]), pinned, reason))
    return tuple(out)


def _bounds(model: Engine, name) -> tuple[float, float]:
    q = model.ruleset.quantities[name]
    return (-np.inf if q.low is None else q.low, np.inf if q.high is None else q.high)


def _keys(source: str):
    """The bibliography keys a source cites, as ``[key]``; reserved keys and free text left out."""
    from ..lang.bibliography import RESERVED, parse_source

    try:
        return [f"[{c.key}]" for c in parse_source(source) if c.key not in RESERVED]
    except ValueError:
        return []


def _stack(model: Engine, point, presets) -> str | None:
    """The stack preset the first point is evaluated under (a fitted preset includes it)."""
    from ..lang.scenario import compose

    composition = compose(model.ruleset, [*point.presets, *(presets or ())])
    kind = model.ruleset.presets
    named = [n for n in composition.applied if kind[n].kind == STACK_KIND]
    if named:
        return named[-1]
    origins = [v.preset for v in composition.values.values() if kind[v.preset].kind == STACK_KIND]
    return origins[-1] if origins else None


def _round(x: float) -> float:
    return float(f"{x:.4g}")
