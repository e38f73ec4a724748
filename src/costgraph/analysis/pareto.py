"""Pareto fronts: the decisions no other decision beats on both of two quantities.

``pareto(model, x="step_time", y="cost_per_mtok", vary={"batch": ..., "n_gpus": ...,
"precision": ["fp16", "fp8"]})`` sweeps the grid of decisions (quantities and preset axes, as
``sweep`` reads them), keeps the points where every declared constraint and every
``subject_to`` constraint holds, and returns those not dominated: no other feasible point is
at least as good on both quantities and better on one. Both are minimised unless named in
``maximize``. This is the latency-against-cost trade: a bigger batch makes each token cheaper
and each step slower. A point that breaks a constraint is never on the front; the result
says how many were left out and which constraint each count breaks (``breaks``,
``summary()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import QueryError
from .sweep import SweepResult, broken_summary, sweep
from ..table import Table, frozen_array, write_json

if TYPE_CHECKING:
    from ..core.engine import Engine


@dataclass(frozen=True)
class ParetoResult:
    """The front, in order of ``x``, and the sweep it was taken from.

    Attributes
    ----------
    x, y : str
        The two quantities traded.
    maximize : frozenset of str
        Which of them are maximised (the others are minimised).
    front : Table
        The non-dominated points: every varied name, then ``x`` and ``y``.
    sweep : SweepResult
        Every point of the grid, feasible or not.
    on_front : numpy.ndarray
        Per sweep point, whether it is on the front.
    """

    x: str
    y: str
    maximize: frozenset
    front: Table
    sweep: SweepResult
    on_front: np.ndarray
    subject_to: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.front)

    @property
    def scenario(self) -> str:
        return self.sweep.scenario

    @property
    def title(self) -> str:
        return self.front.title

    @property
    def infeasible(self) -> int:
        """How many points of the grid break a declared or stated constraint (left out)."""
        return len(self.sweep) - int(np.count_nonzero(self.sweep.feasible))

    @property
    def breaks(self) -> dict[str, int]:
        """Constraint id (or stated text) to the number of points that break it."""
        return self.sweep.breaks

    def summary(self) -> str:
        """``5 of 16 points break a constraint and are left out: memory.hbm_fit 5``."""
        return broken_summary(self.infeasible, len(self.sweep), self.breaks,
                              " and are left out")

    def rows(self):
        return self.front.rows()

    def to_csv(self, path=None):
        """CSV of the front (decision values, x and y)."""
        return self.front.to_csv(path)

    def to_dict(self) -> dict:
        out = self.front.to_dict()
        out.update(x=self.x, y=self.y, maximize=sorted(self.maximize),
                   subject_to=list(self.subject_to), scenario=self.scenario,
                   points=len(self.sweep), feasible=int(np.sum(self.sweep.feasible)),
                   infeasible=self.infeasible, breaks=self.breaks)
        return out

    def to_json(self, path=None):
        """Write ``to_dict()`` as JSON to ``path``, or return it as text."""
        return write_json(self.to_dict(), path)


def pareto(model: Engine, x: str, y: str, vary: Mapping, *, subject_to=(), given=None,
           presets=None, maximize=(), progress=None) -> ParetoResult:
    """The non-dominated decisions trading ``x`` against ``y``.

    Parameters
    ----------
    model : costgraph.Model
    x, y : str
        The quantities traded (e.g. ``"step_time"`` and ``"cost_per_mtok"``).
    vary : mapping
        The decisions, read as by ``sweep``: quantities (``batch``, ``n_gpus``) and preset
        axes (``"precision": ["fp16", "fp8", "fp4"]``).
    subject_to : list of str
        Extra constraints, e.g. ``["step_time <= 50 ms"]``; declared ones always apply.
    given, presets
        The fixed part of the scenario, as for ``Model.solve``.
    maximize : iterable of str
        Names among ``x`` and ``y`` to maximise instead of minimise.
    progress : callable, optional
        Passed to ``sweep``.

    Returns
    -------
    ParetoResult

    Examples
    --------
    >>> import costgraph as cg
    >>> p = cg.load().pareto("step_time", "cost_per_mtok", {"batch": [1, 8, 64]})
    >>> p.front.columns["batch"].tolist()
    [1.0, 8.0, 64.0]
    """
    maximize = frozenset([maximize] if isinstance(maximize, str) else maximize)
    unknown = maximize - {x, y}
    if unknown:
        raise QueryError("pareto", f"maximize names {', '.join(sorted(unknown))}, which is "
                                   f"neither x ({x}) nor y ({y})")
    subject_to = tuple([subject_to] if isinstance(subject_to, str) else subject_to)
    constraints = [c.id for c in model.constraints()] + list(subject_to)
    grid = sweep(model, vary, [x, y], given=given, presets=presets, constraints=constraints,
                 progress=progress)
    xs, ys = (grid.values(n) * (-1.0 if n in maximize else 1.0) for n in (x, y))
    ok = grid.feasible & np.isfinite(xs) & np.isfinite(ys)
    mask = np.zeros(len(grid), dtype=bool)
    mask[non_dominated(xs, ys, ok)] = True
    order = np.flatnonzero(mask)
    order = order[np.lexsort((ys[order], xs[order]))]
    table = grid.table
    columns = {n: table.columns[n][order] for n in (*grid.vary, x, y)}
    senses = " / ".join(f"{'max' if n in maximize else 'min'} {n}" for n in (x, y))
    front = Table.build(f"Pareto front: {senses} ({grid.scenario})", columns,
                        dict(table.units), table.integer)
    return ParetoResult(x, y, maximize, front, grid, frozen_array(mask), subject_to)


def non_dominated(xs: np.ndarray, ys: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Indices of the points (where ``ok``) that no other point beats, both minimised.

    Sorted by x then y, a point is on the front when its y is below every y before it; of
    points equal on both, the first is kept.

    Examples
    --------
    >>> non_dominated(np.array([1., 2., 3., 2.]), np.array([3., 1., 2., 2.]),
    ...               np.ones(4, bool)).tolist()
    [0, 1]
    """
    candidates = np.flatnonzero(ok)
    order = candidates[np.lexsort((ys[candidates], xs[candidates]))]
    if not len(order):
        return order
    best_before = np.minimum.accumulate(np.concatenate([[np.inf], ys[order][:-1]]))
    return np.sort(order[ys[order] < best_before])
