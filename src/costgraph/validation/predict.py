"""Predictions of measurement points, vectorised over points, batches and fitted values.

Points whose scenarios have the same shape (the same quantities known, the same fallbacks, the
same metric and limits) share one compiled function: the values that differ between them
(hardware, model shape, request lengths) become its array inputs, and so do the batch and the
quantities being fitted. A calibration then evaluates every point at a new parameter vector
with a few numpy calls and no solve.

A ``max_throughput`` point is the largest output rate over the whole batches 1..N at which
every declared constraint (and the point's limits) holds, where N is the point's
``max_concurrency`` or ``DEFAULT_MAX_BATCH``. The search is vectorised too: a geometric grid
of batches, then a finer grid between the best one's neighbours, then every whole batch between
the neighbours of that one, taking the smallest batch that reaches the best rate. It finds the
exact best whole batch when the rate has one peak over the batches that fit (the rate of a
roofline step grows with the batch until a constraint binds); a second peak narrower than a
grid step would be missed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import weakref
from dataclasses import dataclass

import numpy as np

from ..errors import QueryError
from .measurements import AT_CONCURRENCY, CONCURRENCY_QUANTITY, STEPS, Measurement

if TYPE_CHECKING:
    from ..core.engine import Engine

DEFAULT_MAX_BATCH = 16384  # the largest batch a max_throughput point is searched up to
_COARSE, _FINE = 64, 32  # grid sizes of the first two stages of the batch search
_TIE = 1e-9  # rates this close (relative) count as equal when picking the best batch
_HOLDS = -1e-12  # a relative slack this far below zero is rounding at an exact equality
# compiled functions by group shape, per model (weakly: a model's go with it), shared by the
# evaluators of one model so that validate and calibrate compile a shape once
_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Row:
    """One evaluation of a point: at its given values, or with one ranged value at an end."""

    point: int  # index into the evaluator's points
    given: dict  # the point's given values, the end of a range substituted
    end: tuple[str, str] | None = None  # (quantity, "low" or "high") for a range's end


@dataclass(frozen=True)
class Detail:
    """What a point's prediction rests on, at one vector of fitted values."""

    predicted: float  # in the measured value's unit, replicas included; nan without a batch
    batch: int | None  # the batch evaluated (searched, the concurrency, or what fits of it)
    limited_by: tuple[str, ...]  # what stops a larger batch: constraints, or the search's top
    violated: tuple[str, ...]  # constraints broken at the batch (a concurrency that does not fit)
    shares: tuple[tuple[str, float], ...]  # each term's time over the step's total
    span: tuple[float, float] | None  # the prediction across the given ranges, if any

    @property
    def dominant(self) -> str | None:
        return max(self.shares, key=lambda s: s[1])[0] if self.shares else None


class _Group:
    """Rows that share one compiled function; ``varying`` are its per-row inputs."""

    def __init__(self, rows, metric, limits, varying, first_presets, first_given, columns):
        self.rows, self.metric, self.limits = rows, metric, limits
        self.varying, self.first_presets, self.first_given = varying, first_presets, first_given
        self.columns = columns  # varying name -> array of shape (rows,)
        # which columns are the points' own evaluations (not a range's end), and their points
        self.nominal = np.array([j for j, r in enumerate(rows) if r.end is None], dtype=int)
        self.points = np.array([rows[j].point for j in self.nominal], dtype=int)
        self.search = None  # compiled metric with margins
        self.terms = None  # compiled step total and its terms


class Evaluator:
    """Predict ``points`` under their presets plus ``presets``, for any values of ``fit``.

    Parameters
    ----------
    model : Model
    points : sequence of Measurement
    presets : sequence of str
        Applied after every point's own presets (a stack, ``roofline``...).
    fit : sequence of str
        Input quantities given as arrays at each call (``values(params)``), overriding what
        the presets set; ``start`` holds the values the presets give them.
    spans : bool
        Also evaluate each point at both ends of every ranged given value.
    """

    def __init__(self, model: Engine, points, presets=(), fit=(), spans=False):
        self.model, self.points = model, tuple(points)
        self.presets, self.fit = tuple(presets), tuple(fit)
        self.units = [model.ruleset.quantities[p.metric.quantity].pint_unit for p in self.points]
        self.measured = np.array([float(p.value.magnitude) for p in self.points])
        rows = [Row(i, dict(p.given)) for i, p in enumerate(self.points)]
        if spans:
            rows += [Row(i, {**p.given, name: end}, (name, side)) for i, p in
                     enumerate(self.points) for name, ends in sorted(p.ranges.items())
                     for side, end in zip(("low", "high"), ends)]
        self.rows = rows
        # replicas, and each metric's declared unit into its measured value's unit
        self.scale = np.array([p.replicas * float((1 * u).to(p.value.units).magnitude)
                               for p, u in zip(self.points, self.units)])
        self.start = self._start()
        self.groups = self._groups()

    # building -------------------------------------------------------------------------------

    def _scenario(self, row):
        p = self.points[row.point]
        return self.model.scenario([*p.presets, *self.presets], row.given,
                                   varied=(CONCURRENCY_QUANTITY, *self.fit),
                                   find=(p.metric.quantity,))

    def _start(self) -> np.ndarray:
        """The fitted quantities' values under the first point's presets (where a fit starts)."""
        if not self.fit:
            return np.zeros(0)
        p = self.points[0]
        steps = self.model.scenario([*p.presets, *self.presets], p.given).steps
        start = []
        for name in self.fit:
            if name not in steps:
                raise QueryError(f"fit {name}", "no preset sets it, so there is no value to "
                                 "start from: add a stack preset with -p (e.g. roofline)")
            start.append(float(steps[name].value.magnitude))
        return np.array(start)

    def _groups(self) -> list[_Group]:
        shaped: dict = {}
        for row in self.rows:
            p = self.points[row.point]
            sc = self._scenario(row)
            fixed = {n: s.value for n, s in sc.steps.items()
                     if n not in (CONCURRENCY_QUANTITY, *self.fit)}
            key = (p.metric.name, p.limits, frozenset(fixed),
                   tuple(sorted((n, float(s.value.magnitude)) for n, s in sc.fallback.items())))
            shaped.setdefault(key, []).append((row, fixed))
        groups = []
        for (_, limits, names, _), members in shaped.items():
            rows = [r for r, _ in members]
            magnitude = {n: np.array([float(f[n].magnitude) for _, f in members]) for n in names}
            varying = sorted(n for n, v in magnitude.items() if np.ptp(v) != 0)
            first = self.points[rows[0].point]
            first_given = {n: v for n, v in rows[0].given.items() if n not in varying}
            groups.append(_Group(rows, first.metric, limits, varying,
                                 [*first.presets, *self.presets], first_given,
                                 {n: magnitude[n] for n in varying}))
        return groups

    def _compile(self, group: _Group, find, constraints: bool):
        inputs = [CONCURRENCY_QUANTITY, *self.fit, *group.varying]
        key = (tuple(find), tuple(inputs), group.limits, constraints,
               tuple(group.first_presets),
               tuple(sorted((n, str(v)) for n, v in group.first_given.items())))
        compiled = _COMPILED.setdefault(self.model, {})
        if key not in compiled:
            cons = [*self.model.constraints(), *group.limits] if constraints else ()
            compiled[key] = self.model.compile(list(find), inputs, given=group.first_given,
                                               presets=group.first_presets, constraints=cons)
        return compiled[key]

    # evaluating -------------------------------------------------------------------------------

    def _arrays(self, group, params, batch):
        """Keyword arrays: fitted values (k, 1, 1), per-row values (1, rows, 1), batches."""
        arrays = {n: group.columns[n][None, :, None] for n in group.varying}
        for j, name in enumerate(self.fit):
            arrays[name] = params[:, j][:, None, None]
        arrays[CONCURRENCY_QUANTITY] = batch
        return arrays

    def _rate(self, group, params, batch):
        """(metric values, all constraints hold) at the batches, shape (k, rows, batches)."""
        if group.search is None:
            group.search = self._compile(group, [group.metric.quantity], True)
        arrays = self._arrays(group, params, batch)
        values = group.search(**arrays)[group.metric.quantity]
        ok = np.ones(np.shape(values), dtype=bool)
        for margin in group.search.margins(**arrays).values():
            ok &= np.broadcast_to(margin, np.shape(values)) >= _HOLDS
        return values, ok & np.isfinite(values)

    def _best(self, group, params):
        """The best whole batch of each row (k, rows) and its value; nan where none fits."""
        tops = np.array([self.points[r.point].max_concurrency or DEFAULT_MAX_BATCH
                         for r in group.rows], dtype=float)
        k, n = len(params), len(group.rows)
        grid = np.round(np.geomspace(np.ones(n), tops, _COARSE, axis=1))[None, :, :]
        grid = np.broadcast_to(grid, (k, n, _COARSE))
        for stage in range(3):
            values, ok = self._rate(group, params, grid)
            score = np.where(ok, values, -np.inf)
            # the smallest batch within rounding of the best rate: on a flat, compute-bound
            # stretch every batch gives the same rate, and the first is the one to report
            top = np.max(score, axis=2, keepdims=True)
            best = np.argmax(score >= top - _TIE * np.abs(top), axis=2)
            found = np.take_along_axis(score, best[..., None], axis=2)[..., 0] > -np.inf
            if stage == 2:
                break
            lo = np.take_along_axis(grid, np.maximum(best - 1, 0)[..., None], axis=2)[..., 0]
            hi = np.take_along_axis(grid, np.minimum(best + 1, grid.shape[2] - 1)[..., None],
                                    axis=2)[..., 0]
            if stage == 0:
                steps = np.linspace(0, 1, _FINE + 1)
                grid = np.round(lo[..., None] + (hi - lo)[..., None] * steps)
            else:
                width = int(np.max(hi - lo)) + 1
                grid = np.minimum(lo[..., None] + np.arange(width), hi[..., None])
        batch = np.take_along_axis(grid, best[..., None], axis=2)[..., 0]
        value = np.take_along_axis(values, best[..., None], axis=2)[..., 0]
        return np.where(found, batch, np.nan), np.where(found, value, np.nan)

    def _group_values(self, group, params, fixed=None):
        """(batch, value) of each row, shape (k, rows); at ``fixed`` batches (per point)
        instead of searching when given."""
        if group.metric.how == AT_CONCURRENCY or fixed is not None:
            source = [fixed[r.point] for r in group.rows] if fixed is not None \
                else [self.points[r.point].concurrency for r in group.rows]
            batch = np.broadcast_to(np.array(source, float)[None, :, None],
                                    (len(params), len(group.rows), 1))
            values, ok = self._rate(group, params, batch)
            batch, values, ok = batch[..., 0], values[..., 0], ok[..., 0]
            if fixed is None and group.metric.runs_what_fits and not ok.all():
                batch, values = self._running(group, params, batch, values, ok)
            return batch, values
        return self._best(group, params)

    def _running(self, group, params, concurrency, values, fits):
        """(batch, value) of each row (k, rows) where some concurrency does not fit: the
        largest whole batch below it every constraint allows; the concurrency, and its value,
        where none does (its prediction is then flagged with what it breaks)."""
        top = int(np.max(concurrency))
        grid = np.broadcast_to(np.arange(1.0, top + 1)[None, None, :],
                               concurrency.shape + (top,))
        at, ok = self._rate(group, params, grid)
        ok = ok & (grid <= concurrency[..., None])
        largest = top - 1 - np.argmax(ok[..., ::-1], axis=2)
        use = ok.any(axis=2) & ~fits
        running = np.take_along_axis(at, largest[..., None], axis=2)[..., 0]
        return np.where(use, largest + 1.0, concurrency), np.where(use, running, values)

    def search(self, params=None) -> tuple[np.ndarray, np.ndarray]:
        """(values, batches) of the points, each (k, points); see ``values``."""
        params = self._params(params)
        out = np.full((2, len(params), len(self.points)), np.nan)
        for group in self.groups:
            batch, values = self._group_values(group, params)
            out[0][:, group.points] = values[:, group.nominal] * self.scale[group.points]
            out[1][:, group.points] = batch[:, group.nominal]
        return out[0], out[1]

    def values(self, params=None) -> np.ndarray:
        """Predicted values of the points (rows of ``params``, one per fit vector).

        Shape (k, points), in each point's measured unit with its replicas; nan where no
        batch satisfies the constraints. ``params`` is (k, len(fit)); without fit, None.
        """
        return self.search(params)[0]

    def at_batches(self, params, batches) -> np.ndarray:
        """The points' values with each at a fixed batch (``batches``, one per point).

        What a derivative needs: at the best batch of nearby values, the best rate moves as
        the rate at that batch does (the constraints are not checked again). Shape (k, points).
        """
        params = self._params(params)
        out = np.full((len(params), len(self.points)), np.nan)
        for group in self.groups:
            _, values = self._group_values(group, params, fixed=batches)
            out[:, group.points] = values[:, group.nominal] * self.scale[group.points]
        return out

    def _params(self, params) -> np.ndarray:
        if params is None:
            return np.zeros((1, 0)) if not self.fit else self.start[None, :]
        params = np.atleast_2d(np.asarray(params, dtype=float))
        if params.shape[1] != len(self.fit):
            raise ValueError(f"expected {len(self.fit)} fitted values per row, got "
                             f"{params.shape[1]}")
        return params


    # explaining --------------------------------------------------------------------------

    def details(self, params=None) -> list[Detail]:
        """Per point, at one fit vector: the batch, what limits it, each term's share."""
        params = self._params(params)[:1]
        found: dict[int, dict] = {i: {"span": []} for i in range(len(self.points))}
        for group in self.groups:
            batch, values = self._group_values(group, params)
            for j, row in enumerate(group.rows):
                info = found[row.point]
                info["span"].append(values[0, j] * self.scale[row.point])
                if row.end is None:
                    info.update(batch=batch[0, j], value=values[0, j], group=group, column=j)
        out = []
        for i, info in found.items():
            predicted = info["value"] * self.scale[i]
            b = info["batch"]
            if np.isnan(b):
                out.append(Detail(float("nan"), None, (), (), (), self._span(i, info)))
                continue
            group, j = info["group"], info["column"]
            limited, violated = self._limits(group, j, params, int(b))
            out.append(Detail(float(predicted), int(b), limited, violated,
                              self._shares(group, j, params, int(b)), self._span(i, info)))
        return out

    def _span(self, i, info):
        spans = [v for v in info["span"] if not np.isnan(v)]
        return (min(spans), max(spans)) if self.points[i].ranges and spans else None

    def _one(self, group, j, params, batch):
        """Keyword arrays for row j alone at one batch."""
        arrays = {n: np.array([group.columns[n][j]]) for n in group.varying}
        arrays.update({n: np.array([params[0, k]]) for k, n in enumerate(self.fit)})
        arrays[CONCURRENCY_QUANTITY] = np.array([float(batch)])
        return arrays

    def _limits(self, group, j, params, batch):
        """Constraints broken at the batch, and what stops the next batch up."""
        def failing(at):
            margins = group.search.margins(**self._one(group, j, params, at))
            return tuple(sorted(c for c, m in margins.items() if not m[0] >= _HOLDS))

        violated = failing(batch)
        if group.metric.how == AT_CONCURRENCY:
            asked = self.points[group.rows[j].point].concurrency
            if not group.metric.runs_what_fits or batch >= asked or violated:
                return (), violated
            return failing(batch + 1), violated
        top = self.points[group.rows[j].point].max_concurrency or DEFAULT_MAX_BATCH
        if batch >= top:
            return (("max_concurrency" if self.points[group.rows[j].point].max_concurrency
                     else f"the search's top ({DEFAULT_MAX_BATCH})"),), violated
        return failing(batch + 1) or ("the rate stops growing",), violated

    def _shares(self, group, j, params, batch):
        step = STEPS[group.metric.step]
        declared = self.model.ruleset.quantities
        terms = step.declared_terms(declared)
        if step.total not in declared or not terms:
            return ()
        if group.terms is None:
            group.terms = self._compile(group, [step.total, *(q for _, q in terms)], False)
        out = group.terms(**self._one(group, j, params, batch))
        units = {q: declared[q].pint_unit for q in (step.total, *(q for _, q in terms))}
        total = float((out[step.total][0] * units[step.total]).to("s").magnitude)
        return tuple((label, float((out[q][0] * units[q]).to("s").magnitude) / total)
                     for label, q in terms)
