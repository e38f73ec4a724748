"""Sweeps: quantities evaluated over the grid of varied inputs, through the compiled path.

``sweep(model, vary={"context_len": [...], "batch": [...]}, find=["cost_per_mtok"])``
evaluates every point of the product of the varied values. A varied name is either a
quantity (values in its declared unit, text with units, or a range such as
``"1k..128k:log:32"``) or, when it names no quantity, an axis of presets (``"precision":
["fp16", "fp8"]``), each value applied after ``presets``. Points that break a declared
constraint are kept and marked: every constraint's relative slack is a column, and
``feasible`` says whether all of them hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import QueryError
from ..table import Table, frozen_array, frozen_mapping, write_json
from .grid import (Axis, Grid, broken_summary, grid_column, make_axis, parse_range,  # noqa: F401
                   parse_values, scenario_label, violations)

if TYPE_CHECKING:
    from ..core.engine import Engine

@dataclass(frozen=True)
class SweepResult:
    """The grid, the values found at every point, and each constraint's slack there.

    Attributes
    ----------
    table : Table
        One column per varied name, then one per found quantity, grid order (the last
        varied name changes fastest).
    vary, find : tuple of str
        The varied names and the found quantities.
    shape : tuple of int
        The grid's shape: one length per varied name.
    margins : Mapping[str, numpy.ndarray]
        Constraint id to relative slack (``costgraph.core.slack``), >= 0 where it holds.
    constraints : Mapping[str, str]
        Constraint id to its text.
    scenario : str
        The presets and given values, for titles.
    """

    table: Table
    vary: tuple[str, ...]
    find: tuple[str, ...]
    shape: tuple[int, ...]
    margins: Mapping[str, np.ndarray]
    constraints: Mapping[str, str]
    scenario: str

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, name: str):
        """A column as a pint Quantity array (a preset axis as its labels)."""
        return self.table[name]

    def values(self, name: str) -> np.ndarray:
        """A column's magnitudes in its unit (or labels)."""
        return self.table.columns[name]

    def unit(self, name: str) -> str:
        return self.table.units[name]

    def grid(self, name: str) -> np.ndarray:
        """A column reshaped to the grid: ``grid(n)[i, j]`` is at the i-th and j-th values."""
        return self.values(name).reshape(self.shape)

    @property
    def feasible(self) -> np.ndarray:
        """Whether every constraint holds at each point (an unknown slack counts as broken)."""
        ok = np.ones(len(self), dtype=bool)
        for margin in self.margins.values():
            ok &= margin >= 0
        return ok

    def violated(self, index: int) -> tuple[str, ...]:
        """The ids of the constraints broken at point ``index``."""
        return tuple(cid for cid, m in self.margins.items() if not m[index] >= 0)

    @property
    def breaks(self) -> dict[str, int]:
        """Constraint id to the number of points that break it (a point may break several)."""
        return {cid: int(np.count_nonzero(~(m >= 0))) for cid, m in self.margins.items()}

    def summary(self) -> str:
        """``12 of 64 points break a constraint: memory.hbm_fit 12, context.max_context 3``."""
        return broken_summary(len(self) - int(np.count_nonzero(self.feasible)), len(self),
                              self.breaks)

    def export(self) -> Table:
        """The table with ``feasible``, ``violates`` and one ``slack:<id>`` column added."""
        columns = dict(self.table.columns)
        units = dict(self.table.units)
        columns["feasible"] = self.feasible
        columns["violates"] = violations(self.margins, len(self))
        for cid, margin in self.margins.items():
            columns[f"slack:{cid}"] = margin
        return Table.build(self.table.title, columns, units, self.table.integer)

    def to_csv(self, path=None):
        """CSV of ``export()``: every point, broken ones marked, not dropped; written to
        ``path`` a slice at a time (``.parquet`` too, with the ``parquet`` extra), or
        returned as text."""
        if path is None:
            return self.export().to_csv()
        from .stream import write_table

        write_table(self.export(), [path])
        return None

    def to_dict(self) -> dict:
        """JSON-ready: ``export()``'s columns, the grid, and how many points break each
        constraint (``infeasible``, ``breaks``)."""
        out = self.export().to_dict()
        out.update(vary=list(self.vary), find=list(self.find), shape=list(self.shape),
                   scenario=self.scenario, constraints=dict(self.constraints),
                   points=len(self), infeasible=len(self) - int(np.count_nonzero(self.feasible)),
                   breaks=self.breaks)
        return out

    def to_json(self, path=None):
        """Write ``to_dict()`` as JSON to ``path``, or return it as text."""
        return write_json(self.to_dict(), path)


def sweep(model: Engine, vary: Mapping, find, *, given: Mapping | None = None, presets=None,
          constraints="declared", progress: Callable[[int, int], None] | None = None,
          title: str | None = None, backend: str = "numpy",
          scheduler=None, out=None):
    """Evaluate ``find`` at every point of the grid of ``vary``.

    Parameters
    ----------
    model : costgraph.Model
    vary : mapping
        Name to values. A quantity takes numbers (its declared unit), text or pint
        quantities with units, or a range string (see ``parse_values``). A name that is no
        quantity is an axis of presets: each value a preset name or a list of them.
    find : str or list of str
        Quantities to evaluate.
    given : mapping, optional
        Fixed values, as for ``Model.solve``; a varied name cannot also be given.
    presets : list of str, optional
        Base presets (default: ``default``); a preset axis's value is applied after them.
    constraints : "declared" or list
        Constraints whose slack is reported (ids, ConstraintDefs or text such as
        ``"step_time <= 50 ms"``).
    progress : callable, optional
        Called as ``progress(done, total)`` after each chunk of points (with the dask
        backend, once at the end).
    title : str, optional
        Overrides the table's title.
    out : list of paths, optional
        Stream the grid to these files instead of keeping it (``.csv``, or ``.parquet``
        with the ``parquet`` extra; ``None`` in the list is CSV on stdout): each chunk is
        written and forgotten, so memory is bounded whatever the grid's size. Returns a
        ``stream.StreamedSweep`` (the counts) instead of a SweepResult.
    backend : "numpy" or "dask"
        ``"dask"`` evaluates the grid as dask array blocks (the ``dask`` extra; see
        ``costgraph.analysis.backends``): on the local threaded scheduler, or on the
        dask.distributed cluster at ``scheduler`` (an address such as
        ``"tcp://10.0.0.5:8786"``, or a Client).

    Returns
    -------
    SweepResult, or StreamedSweep with ``out``

    Examples
    --------
    >>> import costgraph as cg
    >>> s = cg.load().sweep({"batch": [1, 64]}, "tokens_per_second")
    >>> s.table.names, len(s)
    (('batch', 'tokens_per_second'), 2)
    """
    from . import backends

    backends.check_backend(backend, scheduler)
    if out is not None:
        if backend != "numpy":
            raise QueryError("sweep", "out= streams in this process; use backend='numpy'")
        from .stream import stream_sweep

        return stream_sweep(model, vary, find, out, given=given, presets=presets,
                            constraints=constraints, progress=progress, title=title)
    grid = Grid(model, vary, find, given, presets, constraints)
    find, axes, shape, total = grid.find, grid.axes, grid.shape, grid.total
    if backend == "dask":
        outputs, margins = backends.sweep_arrays(model, grid, scheduler)
        if progress is not None:
            progress(total, total)
    else:
        # allocated once each, not filled: the chunks write every point
        outputs = {n: np.empty(total) for n in find}
        margins = {cid: np.empty(total) for cid in grid.constraints}
        for start, stop, _, found, slacks in grid.chunks():
            for name in find:
                outputs[name][start:stop] = found[name]
            for cid, slack in slacks.items():
                margins[cid][start:stop] = slack
            if progress is not None:
                progress(stop, total)
    columns = {a.name: grid_column(a.values, i, shape) for i, a in enumerate(axes)}
    columns.update(outputs)
    table = Table.build(title or grid.title, columns, grid.units(), grid.integer())
    return SweepResult(table, tuple(a.name for a in axes), tuple(find), shape,
                       frozen_mapping({c: frozen_array(m) for c, m in sorted(margins.items())}),
                       frozen_mapping(sorted(grid.constraints.items())), grid.scenario)
