"""Uncertainty: the presets' input ranges drawn through the compiled path to a spread.

A preset value may carry a range (``low``, ``high``, ``sd``) and a ``distribution``. Each
such input of the target is sampled independently, the target is evaluated at every sample
through the compiled path, and the result reports percentiles, mean, spread and which inputs
explain the variance. The same ``seed`` gives the same numbers.

How each distribution reads the preset value (``value``, ``low``, ``high``, ``sd``):

* ``uniform`` — every value in ``[low, high]`` equally likely; ``value`` is only the point
  estimate. A range given without a distribution is sampled this way.
* ``triangular`` — minimum ``low``, mode ``value``, maximum ``high``.
* ``normal`` — mean ``value``; standard deviation ``sd``, or, without one, the ``sd`` that makes
  ``low`` and ``high`` the 5th and 95th percentiles (``(high - low) / (2 × 1.645)``).
* ``lognormal`` — ``low`` and ``high`` are the 5th and 95th percentiles; the median is
  ``sqrt(low × high)`` (``value`` is only the point estimate).

Normal and lognormal draws are truncated to the quantity's declared bounds (a utilisation
never exceeds 1): they are drawn by inverting the distribution function over the part of it
inside the bounds. Whole-number quantities are rounded after drawing.

A sample whose draws break a declared constraint (the KV no longer fits in HBM) is kept
and marked: the result gives the share of samples breaking each constraint, and every
statistic both over all samples and over the feasible ones only (where every constraint
holds), each labelled as such.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from dataclasses import dataclass

import numpy as np
import pint

from .. import lazy
from ..core.compile_cache import compiled
from ..errors import QueryError, UnknownQuantityError
from .levers import Z95, leaf_inputs
from ..core.provenance import ConstraintStatus, broken, infeasible_line
from ..table import Table, frozen_array, frozen_mapping
from ..units import Quantity, format_number, format_quantity, format_unit

CHUNK = 262_144  # samples per compiled call
special = lazy.module("scipy.special")  # for normal ranges: a 150 ms import otherwise

if TYPE_CHECKING:
    from ..core.engine import Engine

DISTRIBUTIONS = ("uniform", "triangular", "normal", "lognormal")


@dataclass(frozen=True)
class InputDistribution:
    """How one input is drawn: all numbers in the quantity's declared unit."""

    name: str
    distribution: str
    value: float
    low: float | None
    high: float | None
    sd: float | None
    unit: str
    source: str
    bounds: tuple[float, float]
    integer: bool = False

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws (see the module docstring for each distribution)."""
        return self.quantile(rng.random(n))

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """The values at cumulative probabilities ``u`` (the inverse distribution function).

        Drawing by inverting the distribution function keeps each draw's probability level,
        which the variance shares bin on without sorting anything.
        """
        kind, low, high = self.distribution, self.low, self.high
        if kind == "uniform":
            x = low + u * (high - low)
        elif kind == "triangular":
            x = _triangular(u, low, self.value, high)
        elif kind == "normal":
            sd = self.sd if self.sd is not None else (high - low) / (2 * Z95)
            x = _truncated(u, self.value, sd, *self.bounds)
        else:
            mu = 0.5 * (np.log(low) + np.log(high))
            sigma = (np.log(high) - np.log(low)) / (2 * Z95)
            lower, upper = self.bounds
            x = np.exp(_truncated(u, mu, sigma, np.log(max(lower, 1e-300)),
                                  np.log(upper) if np.isfinite(upper) else np.inf))
        return np.round(x) if self.integer else x

    def describe(self) -> str:
        """The distribution in words: ``uniform, 30,000 .. 35,000 USD``."""
        unit = format_unit(self.unit)
        if self.distribution == "normal" and self.sd is not None:
            return f"normal, mean {format_number(self.value)}, sd {format_number(self.sd)} " \
                   f"{unit}".rstrip()
        middle = f"mode {format_number(self.value)}, " if self.distribution == "triangular" \
            else ""
        quantiles = " (P5 .. P95)" if self.distribution in ("normal", "lognormal") else ""
        return f"{self.distribution}, {middle}{format_number(self.low)} .. " \
               f"{format_number(self.high)} {unit}".rstrip() + quantiles


def _triangular(u, low, mode, high) -> np.ndarray:
    if high <= low:
        return np.full(np.shape(u), float(mode))
    split = (mode - low) / (high - low)
    left = low + np.sqrt(u * (high - low) * (mode - low))
    right = high - np.sqrt((1 - u) * (high - low) * (high - mode))
    return np.where(u < split, left, right)


def _truncated(u, mean, sd, low, high) -> np.ndarray:
    """A normal's quantiles at ``u`` over the part of it between ``low`` and ``high``."""
    if sd <= 0:
        return np.full(np.shape(u), float(mean))
    a, b = special.ndtr((low - mean) / sd), special.ndtr((high - mean) / sd)
    return mean + sd * special.ndtri(a + u * (b - a))


@dataclass(frozen=True)
class Contributor:
    """An input's share of the target's variance.

    ``share`` is the first-order index Var(E[target | input]) / Var(target), estimated from
    the same samples by binning the input into quantiles and removing the share that bin
    noise alone would show; shares of independent inputs sum to at most about 1 (the rest
    is interaction). ``correlation`` is Spearman's rank coefficient: its sign says whether
    the target rises with the input.
    """

    name: str
    share: float
    correlation: float


STATISTICS = ("p5", "p50", "p95", "mean", "std")


@dataclass(frozen=True)
class UncertaintyResult:
    """The target's spread over the sampled inputs.

    ``p5``, ``p50``, ``p95``, ``mean`` and ``std`` are over all samples; ``stats(True)``
    gives them over the feasible samples only. ``feasible`` says per sample whether every
    constraint held, ``violations`` per constraint where it broke, ``breaks`` the share of
    samples breaking each; ``constraints`` are the declared ones checked at the point.
    """

    target: str
    unit: str
    point: pint.Quantity
    samples: np.ndarray
    inputs: tuple[InputDistribution, ...]
    drawn: Mapping[str, np.ndarray]
    contributors: tuple[Contributor, ...]
    feasible: np.ndarray
    seed: int | None
    scenario: str
    violations: Mapping[str, np.ndarray] = None
    constraints: tuple[ConstraintStatus, ...] = ()

    def percentile(self, q: float, feasible_only: bool = False) -> pint.Quantity:
        """The ``q``-th percentile over all samples, or over the feasible ones (NaN when
        none is)."""
        values = self.samples[self.feasible] if feasible_only else self.samples
        return Quantity(float(np.percentile(values, q)) if len(values) else np.nan, self.unit)

    def stats(self, feasible_only: bool = False) -> dict:
        """``{"samples", "p5", "p50", "p95", "mean", "std"}`` over all samples or over the
        feasible ones only (statistics None when no sample is feasible)."""
        values = self.samples[self.feasible] if feasible_only else self.samples
        out = {"samples": int(len(values))}
        if not len(values):
            return {**out, **dict.fromkeys(STATISTICS)}
        p5, p50, p95 = np.percentile(values, [5, 50, 95])
        numbers = (p5, p50, p95, np.mean(values), np.std(values))
        return {**out, **{k: Quantity(float(v), self.unit) for k, v in zip(STATISTICS, numbers)}}

    @property
    def breaks(self) -> dict[str, float]:
        """Constraint id to the share of samples that break it."""
        return {cid: float(np.mean(broken)) if len(broken) else 0.0
                for cid, broken in (self.violations or {}).items()}

    @property
    def point_violated(self) -> tuple[ConstraintStatus, ...]:
        """The declared constraints the point (every input at its value) breaks."""
        return broken(self.constraints)

    def infeasible_line(self) -> str | None:
        """``INFEASIBLE: the point breaks ...`` when it does, else None."""
        violated = self.point_violated
        return infeasible_line(violated, "the point") if violated else None

    def breaks_text(self) -> str:
        """``constraints hold in 97.2% of samples; memory.hbm_fit breaks in 2.8%``."""
        text = f"constraints hold in {self.feasible_fraction:.1%} of samples"
        broken = [f"{cid} breaks in {share:.1%}" for cid, share in self.breaks.items() if share]
        return text + ("; " + ", ".join(broken) if broken else "")

    @property
    def p5(self) -> pint.Quantity:
        return self.percentile(5)

    @property
    def p50(self) -> pint.Quantity:
        return self.percentile(50)

    @property
    def p95(self) -> pint.Quantity:
        return self.percentile(95)

    @property
    def mean(self) -> pint.Quantity:
        return Quantity(float(np.mean(self.samples)), self.unit)

    @property
    def std(self) -> pint.Quantity:
        return Quantity(float(np.std(self.samples)), self.unit)

    @property
    def feasible_fraction(self) -> float:
        return float(np.mean(self.feasible)) if len(self.feasible) else 1.0

    @property
    def title(self) -> str:
        return f"Uncertainty of {self.target} ({self.scenario}; {len(self.samples):,} samples)"

    def table(self) -> Table:
        """Every sample: the drawn inputs, the target and whether the constraints held."""
        columns = {n: self.drawn[n] for n in sorted(self.drawn)}
        columns[self.target] = self.samples
        columns["feasible"] = self.feasible
        units = {d.name: d.unit for d in self.inputs}
        units[self.target] = self.unit
        return Table.build(self.title, columns, units,
                           {d.name for d in self.inputs if d.integer})

    def to_csv(self, path=None):
        """Every sample as CSV, written to ``path`` a slice at a time, or returned as text."""
        if path is None:
            return self.table().to_csv()
        from .stream import write_table

        write_table(self.table(), [path])
        return None

    def to_dict(self) -> dict:
        """The summary (no samples): percentiles, mean and std over all samples and over the
        feasible ones (``feasible_only``), the share breaking each constraint, the point's
        constraints, contributors, inputs."""
        def mag(q):
            return None if q is None or not np.isfinite(q.magnitude) else float(q.magnitude)

        feasible = self.stats(feasible_only=True)
        return {"target": self.target, "unit": self.unit, "scenario": self.scenario,
                "samples": int(len(self.samples)), "seed": self.seed,
                "point": mag(self.point), "p5": mag(self.p5), "p50": mag(self.p50),
                "p95": mag(self.p95), "mean": mag(self.mean), "std": mag(self.std),
                "feasible_fraction": self.feasible_fraction,
                "feasible_only": {k: v if k == "samples" else mag(v)
                                  for k, v in feasible.items()},
                "breaks": self.breaks,
                "point_feasible": not self.point_violated,
                "point_failing": [c.id for c in self.point_violated],
                "constraints": [c.to_dict() for c in self.constraints],
                "contributors": [{"name": c.name, "share": c.share,
                                  "correlation": c.correlation} for c in self.contributors],
                "inputs": [{"name": d.name, "distribution": d.distribution, "value": d.value,
                            "low": d.low, "high": d.high, "sd": d.sd, "unit": d.unit,
                            "source": d.source} for d in self.inputs]}

    def text(self) -> str:
        """The summary for terminals and logs: all samples, then the feasible ones."""
        lines = [line for line in (self.infeasible_line(),) if line]
        lines += [self.title, f"  point {format_quantity(self.point)}"]
        for label, only in (("all samples", False), ("feasible samples only", True)):
            st = self.stats(only)
            if st["p50"] is None:
                lines.append(f"  {label}: none")
                continue
            lines.append(f"  {label} ({st['samples']:,}): P5 {format_quantity(st['p5'])}   "
                         f"P50 {format_quantity(st['p50'])}   P95 {format_quantity(st['p95'])}"
                         f"   mean {format_quantity(st['mean'])}   "
                         f"std {format_quantity(st['std'])}")
        lines += [f"  {self.breaks_text()}", "  variance explained (first order):"]
        described = {d.name: d.describe() for d in self.inputs}
        for c in self.contributors:
            lines.append(f"    {c.name:<26} {c.share:>6.1%}  {described[c.name]}")
        return "\n".join(lines)


def uncertainty(model: Engine, target: str, *, samples: int = 100_000, seed: int | None = 0,
                presets=None, given: Mapping | None = None, inputs=None,
                constraints="declared",
                progress: Callable[[int, int], None] | None = None,
                backend: str = "numpy", scheduler=None) -> UncertaintyResult:
    """Draw every ranged input of ``target`` and report the target's spread.

    Parameters
    ----------
    model : costgraph.Model
    target : str
        A derived quantity, e.g. ``"cost_per_mtok"``.
    samples : int
        Number of draws.
    seed : int or None
        Seed of numpy's default generator; the same seed gives the same result.
    presets, given
        The point, as for ``Model.solve``. A given value is fixed, never drawn.
    inputs : list of str, optional
        Draw only these (default: every leaf input of the target whose preset value has a
        range).
    constraints : "declared" or list
        Constraints whose holding is recorded per sample in ``feasible``.
    progress : callable, optional
        Called as ``progress(done, samples)`` after each chunk of samples is evaluated.
    backend : "numpy" or "dask"
        ``"dask"`` evaluates the draws as dask array blocks, on the local threaded scheduler
        or the dask.distributed cluster at ``scheduler`` (see ``costgraph.analysis.backends``); the
        numbers are the same.

    Returns
    -------
    UncertaintyResult

    Examples
    --------
    >>> import costgraph as cg
    >>> u = cg.load().uncertainty("cost_per_mtok", samples=2000, seed=1)
    >>> u.p5 <= u.point <= u.p95
    True
    """
    if samples < 2:
        raise QueryError("uncertainty", f"needs at least 2 samples, not {samples}")
    dists = input_distributions(model, target, presets, given, inputs)
    if not dists:
        raise QueryError(f"uncertainty of {target}", "no input it depends on has a range; give "
                                                     "one a low and high (and a distribution) "
                                                     "in a preset")
    from . import backends

    backends.check_backend(backend, scheduler)
    rng = np.random.default_rng(seed)
    levels = {d.name: rng.random(samples) for d in dists}
    drawn = {d.name: d.quantile(levels[d.name]) for d in dists}
    f = compiled(model, target, [d.name for d in dists], given=given, presets=presets,
                 constraints=constraints)
    if backend == "dask":
        if seed is None:  # the blocks must draw what this process drew: one seed for all
            raise QueryError("uncertainty", "the dask backend needs a seed (seed=None draws "
                                            "afresh in every process)")
        values, violations = backends.uncertainty_arrays(
            model, f, target, dists, seed, samples, given, presets, constraints, scheduler)
        if progress is not None:
            progress(samples, samples)
        return _result(model, target, f, dists, levels, drawn, values, violations, seed,
                       presets, given)
    values = np.empty(samples)
    violations = {c.id: np.empty(samples, dtype=bool) for c in f.constraints}
    for start in range(0, samples, CHUNK):  # chunks bound the evaluation's temporaries
        stop = min(start + CHUNK, samples)
        found, slacks = f.evaluate(**{n: v[start:stop] for n, v in drawn.items()})
        values[start:stop] = found[target]
        for cid, slack in slacks.items():
            # NaN slack (a draw at which the point cannot be) counts as broken, as in sweeps
            violations[cid][start:stop] = ~(slack >= 0)
        if progress is not None:
            progress(stop, samples)
    return _result(model, target, f, dists, levels, drawn, values, violations, seed, presets,
                   given)


def _result(model, target, f, dists, levels, drawn, values, violations, seed, presets, given):
    from .sweep import scenario_label

    samples = len(values)
    feasible = ~np.logical_or.reduce([*violations.values(), np.zeros(samples, dtype=bool)])
    point = float(f(**{d.name: np.array([d.value]) for d in dists})[0])
    statuses = model.solve(find=[target], given=given, presets=presets).constraints
    unit = model.ruleset.quantities[target].unit
    return UncertaintyResult(
        target, unit, Quantity(point, unit), frozen_array(values), tuple(dists),
        frozen_mapping({n: frozen_array(v) for n, v in drawn.items()}),
        tuple(contributors(levels, values)), frozen_array(feasible), seed,
        scenario_label(model, presets, given),
        frozen_mapping({c: frozen_array(v) for c, v in sorted(violations.items())}), statuses)


def input_distributions(model: Engine, target, presets=None, given=None, inputs=None):
    """The ranged leaf inputs of ``target`` at the scenario, as InputDistributions."""
    from ..lang.scenario import resolve_presets

    rs = model.ruleset
    if target not in rs.quantities:
        raise UnknownQuantityError(target, list(rs.quantities), "uncertainty")
    steps = model.known_steps(presets, given)
    steps.pop(target, None)
    leaves = leaf_inputs(model, target, frozenset(steps))
    resolved = resolve_presets(rs, presets)
    chosen = leaves if inputs is None else list(inputs)
    out = []
    for name in chosen:
        if name not in rs.quantities:
            raise UnknownQuantityError(name, list(rs.quantities), "uncertainty inputs")
        ranged = name in resolved and _has_range(resolved[name].value)
        if name in (given or {}) or not ranged:
            if inputs is None:
                continue
            raise QueryError(f"uncertainty of {target}", f"{name} has no range to draw from"
                                  + (" (it is given)" if name in (given or {}) else
                                     "; give its preset value a low and high"))
        if name not in leaves:
            raise QueryError(f"uncertainty of {target}", f"{name} is not an input of it here")
        out.append(_distribution(model, name, resolved[name]))
    return sorted(out, key=lambda d: d.name)


def _has_range(value) -> bool:
    return (value.low is not None and value.high is not None) or value.sd is not None


def _distribution(model: Engine, name, scenario_value) -> InputDistribution:
    q = model.ruleset.quantities[name]
    v = scenario_value.value

    def mag(x):
        return None if x is None else float(model.coerce(name, x, "range of").magnitude)

    kind = v.distribution or ("normal" if v.low is None else "uniform")
    low, high, sd = mag(v.low), mag(v.high), (None if v.sd is None else
                                              float(v.sd.to(q.pint_unit).magnitude))
    value = float(v.quantity.to(q.pint_unit).magnitude)
    if low is not None and not low <= high:
        raise QueryError(f"range of {name}", f"it is empty: low {low:g} > high {high:g}")
    if kind == "triangular" and not low <= value <= high:
        raise QueryError(f"range of {name}", f"a triangular range needs low <= value <= "
                                             f"high ({low:g}, {value:g}, {high:g})")
    if kind == "lognormal" and not 0 < low:
        raise QueryError(f"range of {name}", "a lognormal range needs a positive low")
    bounds = (-np.inf if q.low is None else q.low, np.inf if q.high is None else q.high)
    source = f"{scenario_value.preset}" + (f"; {v.source}" if v.source else "")
    return InputDistribution(name, kind, value, low, high, sd, q.unit, source, bounds, q.integer)


def contributors(levels: Mapping[str, np.ndarray], y: np.ndarray) -> list[Contributor]:
    """First-order variance shares from each input's probability levels (its draws' CDF).

    Binning a level into equal slices of [0, 1] is binning the input into its quantiles, with
    no sort. The correlation is taken on the levels, so it is the rank correlation.
    """
    ok = np.isfinite(y)
    n = int(ok.sum())
    variance = float(np.var(y[ok])) if n else 0.0
    # ~sqrt(n)/2 bins balances the two errors: too few bins blur E[y | x], too many leave
    # sampling noise in the bin means, which alone "explains" about (bins - 1) / n
    bins = int(min(100, max(2, np.sqrt(n) / 2)))
    out = []
    target = y[ok]
    rank = np.empty(n)
    rank[np.argsort(target)] = np.arange(n)  # once, for every input's rank correlation
    for name in sorted(levels):
        u = levels[name][ok]
        if variance == 0 or np.ptp(u) == 0:
            out.append(Contributor(name, 0.0, 0.0))
            continue
        group = np.minimum((u * bins).astype(np.int64), bins - 1)
        counts = np.bincount(group, minlength=bins)
        means = np.bincount(group, weights=target, minlength=bins) / np.maximum(counts, 1)
        explained = float(np.sum(counts * (means - target.mean()) ** 2) / n)
        share = (explained / variance - (bins - 1) / n) / (1 - (bins - 1) / n)
        # Spearman's coefficient: Pearson's on ranks, and a level is its input's rank
        correlation = float(np.corrcoef(u, rank)[0, 1])
        out.append(Contributor(name, float(np.clip(share, 0.0, 1.0)), correlation))
    return sorted(out, key=lambda c: (-c.share, c.name))
