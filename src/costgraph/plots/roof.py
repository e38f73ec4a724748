"""The roofline of one GPU with the workload's decode and prefill points.

The roof is ``min(peak_flops, hbm_bandwidth × intensity)`` per GPU at the precision in use.
Decode points come straight from the rules: intensity ``arithmetic_intensity`` and achieved
throughput ``flops_per_step / step_time / n_gpus``, one point per batch. The prefill point
comes from the rules' prefill quantities when they declare them
(``prefill_arithmetic_intensity``, and ``prefill_flops / prefill_time / n_gpus`` for a prompt
of ``input_len`` tokens). Rules that price decode only get an estimate from the same
per-token quantities, placed on the roof since nothing gives a prefill time: a prompt of
``context_len`` tokens in one pass does ``context_len × weight_flops_per_token`` plus, with
causal attention attending on average to half the prompt, half of ``context_len ×
attention_flops_per_token``; it reads the weights once (``weight_bytes_read_per_step``) and
writes the prompt's KV (``context_len × kv_bytes_per_token``).

A decode point whose batch breaks a declared constraint (its KV does not fit in HBM) is
drawn hollow and named in the legend; so is the prefill point when the scenario itself
breaks one. The data's ``feasible`` column says which.
"""

from __future__ import annotations

import numpy as np

from .chart import Chart
from ..analysis.sweep import parse_values, scenario_label
from ..table import Table
from ..units import Quantity

DECODE = ("arithmetic_intensity", "flops_per_step", "step_time", "peak_flops")
FIXED = ("n_gpus", "hbm_bandwidth")  # inputs, read from the scenario
PREFILL_RULES = ("prefill_arithmetic_intensity", "prefill_flops", "prefill_time", "input_len")
PREFILL = ("weight_flops_per_token", "attention_flops_per_token", "weight_bytes_read_per_step",
           "kv_bytes_per_token", "context_len")


def roofline(model, *, presets=None, given=None, batches="1,8,64,256",
             prefill: bool = True) -> Chart:
    """Roofline chart of the scenario's GPU with decode points at ``batches`` and prefill.

    Parameters
    ----------
    model : costgraph.Model
    presets, given
        The scenario, as for ``Model.solve``; ``batch`` is varied, so not given.
    batches
        Decode batches, as ``sweep`` reads them.
    prefill : bool
        Add the estimated prefill point (see the module docstring).

    Returns
    -------
    Chart
    """
    values = parse_values(model, "batch", batches)
    f = model.compile(list(DECODE), ["batch"], given=given, presets=presets,
                      constraints="declared")
    out = {n: Quantity(v, model.ruleset.quantities[n].unit)
           for n, v in f(batch=values).items()}
    margins = f.margins(batch=values)
    breaks = [tuple(c for c, m in margins.items() if not m[i] >= 0) for i in range(len(values))]
    steps = model.known_steps(presets, given)
    out.update({n: steps[n].value for n in FIXED})
    peak = float(out["peak_flops"][0].to("TFLOP/s").m)
    bandwidth = float(out["hbm_bandwidth"].to("TB/s").m)
    ridge = peak / bandwidth  # TFLOP/s over TB/s is FLOP/byte
    achieved = out["flops_per_step"] / out["step_time"] / out["n_gpus"]
    performance = np.asarray(achieved.to("TFLOP/s").m, dtype=float)
    intensity = np.asarray(out["arithmetic_intensity"].to("FLOP/byte").m, dtype=float)
    labels = [f"decode, batch {int(b)}" for b in values]
    if prefill:
        ratio, achieved, tokens = prefill_point(model, presets, given)
        estimate = " (estimate)" if achieved is None else ""
        labels.append(f"prefill, {tokens:,.0f}-token prompt{estimate}")
        statuses = model.solve(given=given, find=["arithmetic_intensity"], presets=presets)
        breaks.append(tuple(c.id for c in statuses.violated))
        intensity = np.append(intensity, ratio)
        performance = np.append(performance, min(peak, bandwidth * ratio)
                                if achieved is None else achieved)
    bound = np.where(intensity < ridge, "memory-bound", "compute-bound")
    data = Table.build(
        f"Roofline ({scenario_label(model, presets, given)})",
        {"point": np.array([*labels, "ridge point"]),
         "arithmetic_intensity": np.append(intensity, ridge),
         "performance": np.append(performance, peak),
         "bound": np.append(bound, ""),
         "feasible": np.array([not b for b in breaks] + [None], dtype=object),
         "violates": np.array([";".join(b) for b in breaks] + [""])},
        {"arithmetic_intensity": "FLOP/byte", "performance": "TFLOP/s"})
    title = f"Roofline per GPU: peak {peak:,.0f} TFLOP/s, {bandwidth:g} TB/s, ridge " \
            f"{ridge:,.0f} FLOP/byte\n{scenario_label(model, presets, given)}"

    def paint(figure):
        _paint(figure.add_subplot(), data, peak, bandwidth, ridge)

    return Chart("roofline", title, data, paint)


def prefill_point(model, presets=None, given=None) -> tuple[float, float | None, float]:
    """(FLOP/byte, achieved TFLOP/s per GPU or None, prompt tokens) of one prefill pass.

    From the rules' own prefill quantities when they declare them; otherwise the estimate
    the module docstring describes, with no achieved rate (it is drawn on the roof).
    """
    if set(PREFILL_RULES) <= model.ruleset.quantities.keys():
        r = model.solve(given=given, find=list(PREFILL_RULES), presets=presets)
        steps = model.known_steps(presets, given)
        achieved = r["prefill_flops"] / r["prefill_time"] / steps["n_gpus"].value
        return (float(r["prefill_arithmetic_intensity"].to("FLOP/byte").m),
                float(achieved.to("TFLOP/s").m), float(r["input_len"].to("token").m))
    r = model.solve(given=given, find=list(PREFILL), presets=presets)
    tokens = r["context_len"]
    flops = tokens * (r["weight_flops_per_token"] + 0.5 * r["attention_flops_per_token"])
    moved = r["weight_bytes_read_per_step"] + tokens * r["kv_bytes_per_token"]
    return float((flops / moved).to("FLOP/byte").m), None, float(tokens.to("token").m)


def _paint(ax, data, peak, bandwidth, ridge):
    lo = min(0.1, float(np.nanmin(data.columns["arithmetic_intensity"])) / 3)
    hi = max(1e4, ridge * 30)
    xs = np.geomspace(lo, hi, 400)
    ax.plot(xs, np.minimum(peak, bandwidth * xs), color="black", lw=2, label="roof")
    ax.axvline(ridge, color="grey", ls=":", lw=1)
    ax.annotate(f"ridge {ridge:,.0f} FLOP/byte", (ridge, peak), textcoords="offset points",
                xytext=(6, -14), fontsize=8, color="grey")
    points = data.columns["point"][:-1]
    for i, name in enumerate(points):
        x, y = data.columns["arithmetic_intensity"][i], data.columns["performance"][i]
        marker = "*" if name.startswith("prefill") else "o"
        broken = data.columns["violates"][i]
        # hollow where a declared constraint breaks: the point cannot be served as drawn
        fill = {"color": f"C{i % 10}"} if not broken else \
            {"facecolors": "none", "edgecolors": f"C{i % 10}", "linewidths": 1.4}
        words = f"{name}: {x:,.1f} FLOP/byte" + \
            (f" (breaks {broken.replace(';', ', ')})" if broken else "")
        ax.scatter([x], [y], s=90 if marker == "*" else 40, marker=marker, zorder=5,
                   label=words, **fill)
    if any(data.columns["violates"]):
        ax.scatter([], [], s=40, marker="o", facecolors="none", edgecolors="grey",
                   label="hollow: breaks a declared constraint")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity [FLOP/byte]")
    ax.set_ylabel("performance per GPU [TFLOP/s]")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7.5, loc="lower right")
