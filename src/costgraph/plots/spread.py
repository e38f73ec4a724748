"""Charts of sensitivity and trade-offs: levers tornado, uncertainty histogram, Pareto front."""

from __future__ import annotations

import numpy as np

from ..analysis.levers import levers
from ..analysis.pareto import pareto
from .chart import Chart, label
from ..table import Table
from ..analysis.uncertainty import uncertainty
from ..units import format_quantity


def tornado(model, target: str = "cost_per_mtok", *, presets=None, given=None, ranges=None,
            top: int = 12) -> Chart:
    """Bars from the target at each input's low to its high, widest swing on top.

    Only inputs with a range are drawn (preset ``low``/``high``, or stated in ``ranges``);
    the data table lists every lever with its exact elasticity and whether each end keeps
    the declared constraints. An end at which one breaks is drawn grey and hatched; a point
    that breaks one is named in the title.
    """
    table = levers(model, target, presets=presets, given=given, ranges=ranges, rank="swing")
    ranged = [lv for lv in table if lv.swing is not None][:top]
    point = float(table.value.magnitude)
    data = table.table()
    title = f"What moves {target} most: each input over its range\n{table.scenario}"
    if not table.feasible:
        title += f"; INFEASIBLE: the point breaks {', '.join(table.failing)}"

    def paint(figure):
        from matplotlib.patches import Patch

        ax = figure.add_subplot()
        ys = np.arange(len(ranged))[::-1]
        for y, lv in zip(ys, ranged):
            lo, hi = float(lv.target_low.m), float(lv.target_high.m)
            for end, color, broken in ((lo, "C0", lv.breaks_low), (hi, "C3", lv.breaks_high)):
                ax.barh(y, end - point, left=point, height=0.6,
                        **(BROKEN_BAR if broken else {"color": color}))
            ax.annotate(f"{_short(lv.low)} .. {_short(lv.high)}", (max(lo, hi, point), y),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=7.5)
        ax.axvline(point, color="black", lw=1)
        ax.set_yticks(ys, [lv.name for lv in ranged], fontsize=8)
        ax.set_xlabel(label(model, target) + f"   (point: {format_quantity(table.value)})")
        handles = [Patch(color="C0", label="input at its low"),
                   Patch(color="C3", label="input at its high")]
        broken = sorted({c for lv in ranged for c in (*lv.breaks_low, *lv.breaks_high)})
        if broken:
            handles.append(Patch(**BROKEN_BAR, label=f"this end breaks {', '.join(broken)}"))
        ax.legend(handles=handles, fontsize=7.5, loc="lower right")
        ax.grid(True, axis="x", alpha=0.25)
        left, right = ax.get_xlim()
        ax.set_xlim(left, right + 0.3 * (right - left))  # room for the range labels

    return Chart("tornado", title, data, paint)


# a bar, or the end of one, at which a declared constraint breaks
BROKEN_BAR = {"facecolor": "0.82", "edgecolor": "0.35", "hatch": "///", "linewidth": 0.6}


def _short(q) -> str:
    return format_quantity(q, 3)


def uncertainty_histogram(model, target: str = "cost_per_mtok", *, presets=None, given=None,
                          samples: int = 100_000, seed: int | None = 0, bins: int = 60) -> Chart:
    """Histogram of the target over the presets' input ranges, with P5, P50, P95 and the point.

    Samples that break a declared constraint are stacked on top in grey, hatched, and the
    legend gives the share breaking each; the percentiles are drawn over all samples and,
    when some but not all break one, over the feasible ones too. The data has per bin the
    samples (``count``) and those of them where every constraint holds (``feasible``).
    """
    result = uncertainty(model, target, samples=samples, seed=seed, presets=presets,
                         given=given)
    finite = np.isfinite(result.samples)
    counts, edges = np.histogram(result.samples[finite], bins=bins)
    good, _ = np.histogram(result.samples[finite & result.feasible], bins=edges)
    data = Table.build(result.title, {"bin_low": edges[:-1], "bin_high": edges[1:],
                                      "count": counts.astype(float),
                                      "feasible": good.astype(float)},
                       {"bin_low": result.unit, "bin_high": result.unit}, {"count", "feasible"})
    drivers = ", ".join(f"{c.name} {c.share:.0%}" for c in result.contributors[:3])
    title = f"{target}: P5 {format_quantity(result.p5)}, P50 {format_quantity(result.p50)}, " \
            f"P95 {format_quantity(result.p95)} (all samples)\n{result.scenario}; " \
            f"{len(result.samples):,} samples, seed {seed}\nvariance from {drivers}"
    if result.point_violated:
        title += f"\nINFEASIBLE: the point breaks {', '.join(c.id for c in result.point_violated)}"
    feasible = result.stats(feasible_only=True)
    partly = 0 < feasible["samples"] < len(result.samples)

    def paint(figure):
        from matplotlib.patches import Patch

        ax = figure.add_subplot()
        ax.stairs(good, edges, fill=True, color="C0", alpha=0.55,
                  label=f"every constraint holds ({result.feasible_fraction:.1%})")
        if good.sum() < counts.sum():
            ax.stairs(counts, edges, baseline=good, fill=True, **BROKEN_BAR)
        marks = [("P5", result.p5, "C1", ":"), ("P50", result.p50, "C1", "-"),
                 ("P95", result.p95, "C1", ":"), ("mean", result.mean, "C2", "--"),
                 ("point estimate", result.point, "black", "-")]
        for name, value, color, style in marks:
            words = f"{name} {format_quantity(value)}" + (" (all)" if name[0] == "P" else "")
            ax.axvline(float(value.m), color=color, ls=style, lw=1.4, label=words)
        if partly:
            for name in ("p5", "p50", "p95"):
                ax.axvline(float(feasible[name].m), color="C4", ls="-" if name == "p50" else ":",
                           lw=1.2, label=f"{name.upper()} {format_quantity(feasible[name])} "
                                         f"(feasible only)")
        handles, words = ax.get_legend_handles_labels()
        broken = [f"{cid} {share:.1%}" for cid, share in result.breaks.items() if share]
        if broken:
            handles.append(Patch(**BROKEN_BAR))
            words.append(f"breaks a constraint: {', '.join(broken)}")
        ax.set_xlabel(label(model, target))
        ax.set_ylabel("samples")
        ax.legend(handles, words, fontsize=7.5)
        ax.grid(True, alpha=0.25)

    return Chart("uncertainty", title, data, paint)


def pareto_front(model, x: str = "step_time", y: str = "cost_per_mtok", vary=None, *,
                 subject_to=(), presets=None, given=None, maximize=()) -> Chart:
    """Every decision as a dot, the non-dominated ones joined and labelled.

    A decision that breaks a declared or stated constraint is drawn as a red cross and is
    never on the front; the legend counts them by constraint. The data is every decision
    drawn, with ``feasible``, ``violates``, the slacks and ``on_front``. The default
    decisions are batch 1..512 (log), 1, 2, 4 or 8 GPUs, and FP16, FP8 or FP4.
    """
    vary = vary or {"batch": "1..512:log:16", "n_gpus": [1, 2, 4, 8],
                    "precision": ["fp16", "fp8", "fp4"]}
    result = pareto(model, x, y, vary, subject_to=subject_to, presets=presets, given=given,
                    maximize=maximize)
    grid = result.sweep
    title = f"{result.front.title.split(' (')[0]}\n{result.scenario}" + \
            (f"; subject to {', '.join(subject_to)}" if subject_to else "")
    exported = grid.export()
    columns = {**exported.columns, "on_front": result.on_front}
    data = Table.build(f"{result.front.title}: every decision", columns,
                       dict(exported.units), exported.integer)

    def paint(figure):
        ax = figure.add_subplot()
        ok = grid.feasible
        ax.scatter(grid.values(x)[ok], grid.values(y)[ok], s=10, color="0.7",
                   label="feasible decisions")
        if not ok.all():
            counts = ", ".join(f"{c} {n}" for c, n in result.breaks.items() if n)
            ax.scatter(grid.values(x)[~ok], grid.values(y)[~ok], s=10, marker="x", color="C3",
                       alpha=0.35, label=f"breaks a constraint ({result.infeasible} of "
                                         f"{len(grid)}: {counts})")
        fx, fy = result.front.columns[x], result.front.columns[y]
        ax.plot(fx, fy, "-o", color="C0", ms=4, lw=1.6, label="Pareto front")
        # label a handful of front points, spread along it, so the labels do not collide
        for i in sorted(set(np.linspace(0, len(fx) - 1, min(len(fx), 6)).round().astype(int))):
            words = ", ".join(_decision(result.front, n, i) for n in grid.vary)
            ax.annotate(words, (fx[i], fy[i]), xytext=(6, 4), textcoords="offset points",
                        fontsize=6.5, bbox={"boxstyle": "round,pad=0.15", "fc": "white",
                                            "ec": "none", "alpha": 0.8})
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label(model, x))
        ax.set_ylabel(label(model, y))
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=7.5)

    return Chart("pareto", title, data, paint)


def _decision(table, name, i) -> str:
    value = table.columns[name][i]
    if isinstance(value, str) or table.columns[name].dtype.kind in "US":
        return str(value)
    return f"{name} {value:g}"
