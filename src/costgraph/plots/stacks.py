"""Cost stacks: each layer's cost per 1M tokens as stacked bars, for several scenarios.

The layers are found in the rules, not listed here: every ``<layer>_share`` quantity whose
``<layer>_cost_per_mtok`` is also declared is a layer of ``cost_per_mtok``, in the order the
rule files declare them. The default scenarios are data: the ``stack`` scenarios of the rules
folder's ``charts.yaml`` (for the bundled rules, the serving configurations of the essay's
Figure 2), each derived from the rules on the chosen base presets instead of copied.
"""

from __future__ import annotations

import numpy as np

from .chart import Chart, label
from ..errors import QueryError
from ..lang.folders import bundled_rules_path
from ..lang.rules import load_ruleset
from ..lang.scenario import preset_names
from ..analysis.sweep import scenario_label
from ..table import Table

TOTAL = "cost_per_mtok"



def __getattr__(name: str):
    """``FIGURE_2``: the bundled rules' default stack scenarios (read from charts.yaml)."""
    if name == "FIGURE_2":
        return load_ruleset(bundled_rules_path()).stack_scenarios
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def cost_layers(model, total: str = TOTAL) -> list[str]:
    """The ``*_cost_per_mtok`` quantities that add up to ``total``, in declaration order."""
    names = model.ruleset.quantities
    suffix = total.removeprefix("cost")  # "_per_mtok"
    return [n.removesuffix("_share") + "_cost" + suffix for n in names
            if n.endswith("_share") and n.removesuffix("_share") + "_cost" + suffix in names]


def cost_stack(model, scenarios=None, *, presets=None, given=None, layers=None,
               kind: str = "stack", title: str | None = None) -> Chart:
    """Stacked bars of each layer's $/1M, one bar per scenario.

    Parameters
    ----------
    model : costgraph.Model
    scenarios : mapping, optional
        Label to the presets applied after ``presets`` (a list), or to a mapping with
        ``presets`` and ``given``. Default: the ``stack`` scenarios of the rules folder's
        ``charts.yaml``.
    presets, given
        The base scenario every bar starts from (default presets: ``default``).
    layers : list of str, optional
        The stacked quantities (default: ``cost_layers(model)``).

    Returns
    -------
    Chart
    """
    layers = list(layers or cost_layers(model))
    if scenarios is None:
        scenarios = model.ruleset.stack_scenarios
        if not scenarios:
            raise QueryError("stack chart", "no scenarios given, and this rules folder's "
                                            "charts.yaml lists none under stack: scenarios; "
                                            "give scenarios={'label': ['preset', ...]}")
    base = preset_names(presets, model.ruleset)
    rows = []
    for name, spec in scenarios.items():
        spec = {"presets": list(spec)} if not isinstance(spec, dict) else spec
        chosen = [*base, *spec.get("presets", [])]
        fixed = {**(given or {}), **spec.get("given", {})}
        result = model.solve(given=fixed, find=[*layers, TOTAL], presets=chosen)
        broken = [c.id for c in result.violated]
        rows.append((name, scenario_label(model, chosen, fixed), result, broken))
    unit = model.ruleset.quantities[TOTAL].unit
    columns = {"scenario": np.array([r[0] for r in rows]),
               "presets": np.array([r[1] for r in rows])}
    for layer in [*layers, TOTAL]:
        columns[layer] = np.array([float(r[2][layer].to(unit).m) for r in rows])
    columns["feasible"] = np.array([not r[3] for r in rows])
    columns["violates"] = np.array([";".join(r[3]) for r in rows])
    units = {n: unit for n in [*layers, TOTAL]}
    heading = title or f"Cost stack by layer ({scenario_label(model, presets, given)})"
    data = Table.build(heading, columns, units)

    def paint(figure):
        figure.set_size_inches(10, 4.8)
        left, right = figure.subplots(1, 2, width_ratios=[3, 2])
        _paint(left, model, data, layers)
        _paint_shares(right, data, layers)

    return Chart(kind, heading, data, paint)


def regions(model, names=None, *, presets=None, given=None) -> Chart:
    """The cost stack in each region (default: every region preset), on the base scenario."""
    names = list(names) if names is not None else [p.name for p in model.presets("region")]
    scenarios = {name: [name] for name in names}
    heading = f"Regions compared ({scenario_label(model, presets, given)} + region)"
    return cost_stack(model, scenarios, presets=presets, given=given, kind="regions",
                      title=heading)


def _paint(ax, model, data, layers):
    labels = data.columns["scenario"].tolist()
    xs = np.arange(len(labels))
    bottom = np.zeros(len(labels))
    for i, layer in enumerate(layers):
        values = data.columns[layer]
        ax.bar(xs, values, bottom=bottom, color=f"C{i % 10}", width=0.62,
               label=layer.removesuffix("_cost_per_mtok").replace("_", " "))
        bottom = bottom + values
    total = data.columns[TOTAL]
    for x, value, ok, why in zip(xs, total, data.columns["feasible"], data.columns["violates"]):
        text = f"{value:,.3g}" + ("" if ok else f"\nbreaks {why.replace(';', ', ')}")
        ax.annotate(text, (x, value), ha="center", va="bottom", fontsize=7.5,
                    textcoords="offset points", xytext=(0, 2), color="black" if ok else "C3")
        if not ok:
            ax.bar([x], [value], width=0.62, fill=False, hatch="//", edgecolor="C3", lw=0)

    ax.set_xticks(xs, labels, rotation=15 if len(labels) > 4 else 0, ha="right"
                  if len(labels) > 4 else "center", fontsize=8)
    ax.set_ylabel(label(model, TOTAL, "cost per 1M output tokens"))
    ax.set_ylim(0, float(np.max(total)) * 1.22 if len(total) else 1)
    ax.grid(True, axis="y", alpha=0.25)
    handles, words = ax.get_legend_handles_labels()
    if not all(data.columns["feasible"]):
        handles.append(broken_patch())
        words.append("hatched: breaks a declared constraint")
    ax.legend(handles, words, fontsize=7.5, loc="upper left", ncol=3)


def broken_patch():
    """The legend entry of a hatched bar: one that breaks a declared constraint."""
    from matplotlib.patches import Patch

    return Patch(facecolor="white", hatch="//", edgecolor="C3", lw=0)


def _paint_shares(ax, data, layers):
    """Each layer's share of the total, so that small bars still show their make-up."""
    labels = data.columns["scenario"].tolist()
    ys = np.arange(len(labels))[::-1]
    total = data.columns[TOTAL]
    left = np.zeros(len(labels))
    for i, layer in enumerate(layers):
        share = data.columns[layer] / total
        ax.barh(ys, share, left=left, color=f"C{i % 10}", height=0.62)
        for y, x0, w in zip(ys, left, share):
            if w >= 0.08:
                ax.text(x0 + w / 2, y, f"{w:.0%}", ha="center", va="center", fontsize=7,
                        color="white")
        left = left + share
    for y, ok in zip(ys, data.columns["feasible"]):
        if not ok:
            ax.barh([y], [1.0], height=0.62, fill=False, hatch="//", edgecolor="C3", lw=0)
    ax.set_yticks(ys, labels, fontsize=7.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the total [1]")
