"""Cost curves: a quantity against context length or batch, one line per value of the other.

Each line is drawn solid where the step is memory-bound and dashed where it is compute-bound
(the larger of ``memory_time`` and ``compute_time``), and faded where a declared constraint
is broken; a marker shows where each constraint starts to break along the line (the HBM-fit
limit, the model's maximum context), located exactly by bisection on the compiled
constraint slack rather than read off the grid.
"""

from __future__ import annotations

import numpy as np

from .chart import Chart, label
from ..analysis.sweep import sweep
from ..core.roots import bisect
from ..table import Table
from ..units import format_quantity

REGIME_NAMES = ("memory_time", "compute_time")
MARKERS = ("X", "D", "s", "^", "v", "P")


def cost_vs_context(model, *, presets=None, given=None, batches="1,8,32,64,128",
                    context="1k..128k:log:64", find: str = "cost_per_mtok") -> Chart:
    """``find`` against context length (log x), one line per batch.

    Parameters
    ----------
    model : costgraph.Model
    presets, given
        The scenario, as for ``Model.solve``.
    batches, context
        Values as ``sweep`` reads them (lists or range strings such as ``"1k..128k:log:64"``).
    find : str
        The quantity drawn (default ``cost_per_mtok``).

    Returns
    -------
    Chart
    """
    return curves(model, "context", "context_len", context, "batch", batches, find,
                  presets=presets, given=given)


def cost_vs_batch(model, *, presets=None, given=None, contexts="2k,8k,32k,128k",
                  batch="1..512:log:64", find: str = "cost_per_mtok") -> Chart:
    """``find`` against batch (log x), one line per context length; see ``cost_vs_context``."""
    return curves(model, "batch", "batch", batch, "context_len", contexts, find,
                  presets=presets, given=given)


def curves(model, kind, x, x_values, line, line_values, find, *, presets=None,
           given=None) -> Chart:
    """The shared body of the two curve charts: sweep, regimes, constraint limits."""
    regimes = all(n in model.ruleset.quantities for n in REGIME_NAMES)
    extra = list(REGIME_NAMES) if regimes else []
    grid = sweep(model, {line: line_values, x: x_values}, [find, *extra], presets=presets,
                 given=given)
    columns = dict(grid.export().columns)
    if regimes:
        compute = grid.values("compute_time") > grid.values("memory_time")
        columns["regime"] = np.where(compute, "compute-bound", "memory-bound")
    lines = grid.grid(line)[:, 0]
    limits = constraint_limits(model, grid, x, line, lines, find, presets, given)
    units = dict(grid.table.units)
    data = Table.build(f"{find} against {x} ({grid.scenario})", columns, units,
                       grid.table.integer)
    title = f"{label(model, find)} against {label(model, x)}\n{grid.scenario}"

    def paint(figure):
        ax = figure.add_subplot()
        _paint_lines(ax, model, grid, data, x, line, lines, find, limits)

    return Chart(kind, title, data, paint)


def constraint_limits(model, grid, x, line, lines, find, presets, given) -> dict:
    """constraint id -> [(line value, x where it starts to break, find there)], in x order."""
    if not grid.margins:
        return {}
    f = model.compile(find, [line, x], given=given, presets=presets,
                      constraints=list(grid.margins))
    xs = grid.grid(x)
    order = np.argsort(xs, axis=1, kind="stable")
    out = {}
    for cid, margin in grid.margins.items():
        slack = np.take_along_axis(margin.reshape(grid.shape), order, axis=1)
        xsorted = np.take_along_axis(xs, order, axis=1)
        found = []
        for i, value in enumerate(grid.grid(line)[:, 0]):
            ok = slack[i] >= 0
            breaks = np.flatnonzero(ok[:-1] & ~ok[1:])
            if len(breaks):
                k = breaks[0]
                at = _boundary(f, cid, {line: value}, x, xsorted[i, k], xsorted[i, k + 1])
                found.append((value, at, float(f(**{line: value, x: at}))))
        if found:
            out[cid] = found
    return out


def _boundary(f, cid, fixed, name, lo, hi) -> float:
    """Bisect (``core.roots``) for where the slack of ``cid`` changes sign between lo, where
    it holds, and hi; the last value that holds (a slack that steps, as a KV pool of whole
    blocks does, has no zero to find, only a last point on the right side of its step)."""
    def holds(rows, x):
        margin = np.broadcast_to(f.margins(**fixed, **{name: x})[cid], np.shape(x))
        return margin >= 0, margin

    x_true, _ = bisect(holds, np.array([lo], float), np.array([hi], float), False)
    return float(x_true[0])


def _paint_lines(ax, model, grid, data, x, line, lines, find, limits):
    from matplotlib.lines import Line2D

    line_unit = model.ruleset.quantities[line].unit
    colors = [f"C{i % 10}" for i in range(len(lines))]
    xs_all, ys_all = grid.values(x), grid.values(find)
    feasible = grid.feasible
    regime = data.columns.get("regime")
    for color, value in zip(colors, lines):
        rows = np.flatnonzero(grid.values(line) == value)
        rows = rows[np.argsort(xs_all[rows])]
        style = [(regime is not None and regime[r] == "compute-bound", bool(feasible[r]))
                 for r in rows]
        start = 0
        for end in range(1, len(rows) + 1):
            if end == len(rows) or style[end] != style[start]:
                seg = rows[start:min(end + 1, len(rows))]
                compute, ok = style[start]
                ax.plot(xs_all[seg], ys_all[seg], color=color, lw=1.8 if ok else 1.2,
                        ls="--" if compute else "-", alpha=1.0 if ok else 0.3)
                start = end
        ax.plot([], [], color=color, lw=1.8,
                label=f"{line.replace('_', ' ')} {format_quantity(_q(value, line_unit))}")
    for marker, (cid, points) in zip(MARKERS, sorted(limits.items())):
        ax.scatter([p[1] for p in points], [p[2] for p in points], marker=marker, s=46,
                   color="black", zorder=5, label=f"limit: {cid}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(label(model, x))
    ax.set_ylabel(label(model, find))
    ax.grid(True, which="both", alpha=0.25)
    handles, labels = ax.get_legend_handles_labels()
    styles = [Line2D([], [], color="grey", ls="-", lw=1.8),
              Line2D([], [], color="grey", ls="--", lw=1.8),
              Line2D([], [], color="grey", ls="-", lw=1.2, alpha=0.3)]
    words = ["memory-bound", "compute-bound", "a constraint is broken"]
    if regime is None:
        styles, words = styles[2:], words[2:]
    ax.legend(handles + styles, labels + words, fontsize=7.5, loc="best", ncol=2)


def _q(value, unit):
    from ..units import Quantity, parse_unit

    return Quantity(float(value), parse_unit(unit))
