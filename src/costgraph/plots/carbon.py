"""Carbon per 1M output tokens across regions and hardware, electricity and embodied parts stacked.

One group of bars per region preset, one bar per hardware preset in each, every bar split into
the grid's share (energy at the boundary times the region's intensity) and the hardware's
embodied share; hatched bars break a constraint (the model does not fit that GPU).
"""

from __future__ import annotations

import numpy as np

from .chart import Chart, label
from .stacks import broken_patch
from ..lang.scenario import preset_names
from ..analysis.sweep import scenario_label
from ..table import Table

TOTAL = "carbon_per_mtok"
PARTS = ("operational_carbon_per_mtok", "embodied_carbon_per_mtok")
HARDWARE = ("h100-sxm", "h200", "b200")


def carbon(model, names=None, *, hardware=None, presets=None, given=None) -> Chart:
    """Carbon per 1M output tokens in each region (default: every region preset) on each GPU.

    Parameters
    ----------
    model : costgraph.Model
    names : list of str, optional
        Region presets, one group of bars each (default: all of them).
    hardware : list of str, optional
        Hardware presets, one bar per region each (default: H100 SXM, H200, B200).
    presets, given
        The base scenario every bar starts from (default presets: ``default``).

    Returns
    -------
    Chart
    """
    regions = list(names) if names else [p.name for p in model.presets("region")]
    gpus = list(hardware) if hardware else list(HARDWARE)
    base = preset_names(presets, model.ruleset)
    unit = model.ruleset.quantities[TOTAL].unit
    rows = []
    for region in regions:
        for gpu in gpus:
            chosen = [*base, gpu, region]
            result = model.solve(given=dict(given or {}), find=[*PARTS, TOTAL], presets=chosen)
            rows.append((region, gpu, result, [c.id for c in result.violated]))
    columns = {"region": np.array([r[0] for r in rows]), "hardware": np.array([r[1] for r in rows])}
    for name in [*PARTS, TOTAL]:
        columns[name] = np.array([float(r[2][name].to(unit).m) for r in rows])
    columns["feasible"] = np.array([not r[3] for r in rows])
    columns["violates"] = np.array([";".join(r[3]) for r in rows])
    heading = f"Carbon per 1M output tokens by region and GPU ({scenario_label(model, presets, given)})"
    data = Table.build(heading, columns, {n: unit for n in [*PARTS, TOTAL]})

    def paint(figure):
        figure.set_size_inches(10, 4.8)
        _paint(figure.subplots(), model, data, regions, gpus)

    return Chart("carbon", heading, data, paint)


def _paint(ax, model, data, regions, gpus):
    width = 0.8 / len(gpus)
    xs = np.arange(len(regions))
    for j, gpu in enumerate(gpus):
        pick = data.columns["hardware"] == gpu
        at = xs + (j - (len(gpus) - 1) / 2) * width
        grid, made = (data.columns[p][pick] for p in PARTS)
        ax.bar(at, grid, width=width * 0.92, color=f"C{j % 10}", label=f"{gpu}: electricity")
        ax.bar(at, made, bottom=grid, width=width * 0.92, color=f"C{j % 10}", alpha=0.45,
               label=f"{gpu}: embodied")
        for x, total, ok in zip(at, data.columns[TOTAL][pick], data.columns["feasible"][pick]):
            if not ok:
                ax.bar([x], [total], width=width * 0.92, fill=False, hatch="//",
                       edgecolor="C3", lw=0)
            ax.annotate(f"{total:,.3g}", (x, total), ha="center", va="bottom", fontsize=7,
                        textcoords="offset points", xytext=(0, 2),
                        color="black" if ok else "C3")
    ax.set_xticks(xs, regions, fontsize=8)
    ax.set_ylabel(label(model, TOTAL, "carbon per 1M output tokens (CO2e)"))
    top = float(np.max(data.columns[TOTAL])) if len(data.columns[TOTAL]) else 1.0
    ax.set_ylim(0, top * 1.25)
    ax.grid(True, axis="y", alpha=0.25)
    handles, words = ax.get_legend_handles_labels()
    if not all(data.columns["feasible"]):
        handles.append(broken_patch())
        words.append("hatched: breaks a declared constraint")
    ax.legend(handles, words, fontsize=7, loc="upper left", ncol=len(gpus))
