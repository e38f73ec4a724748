"""Plots over sweeps, levers, uncertainty and fronts: each a function returning a Chart.

A Chart holds the data it draws (``chart.data``, a Table with units; ``chart.to_csv()``) and
draws it with matplotlib on demand (``chart.save("cost.png")``, ``.svg``, or ``.csv`` for
the data). matplotlib is imported only to draw, and its absence raises MissingExtraError
with the install command.

=============  ========================================  ===============================
kind           function                                  shows
=============  ========================================  ===============================
context        ``cost_vs_context``                       cost against context, per batch
batch          ``cost_vs_batch``                         cost against batch, per context
roofline       ``roofline``                              the GPU's roof, decode/prefill
stack          ``cost_stack``                            each layer's $/1M per scenario
regions        ``regions``                               the stack in each region
carbon         ``carbon``                                gCO2e/1M per region and GPU
tornado        ``tornado``                               each input over its range
uncertainty    ``uncertainty_histogram``                 spread over the input ranges
pareto         ``pareto_front``                          latency against cost
=============  ========================================  ===============================
"""

from __future__ import annotations

from .carbon import carbon
from .chart import Chart, matplotlib_figure
from .curves import cost_vs_batch, cost_vs_context
from .roof import roofline
from .spread import pareto_front, tornado, uncertainty_histogram
from .stacks import cost_layers, cost_stack, regions

KINDS = {
    "context": cost_vs_context,
    "batch": cost_vs_batch,
    "roofline": roofline,
    "stack": cost_stack,
    "regions": regions,
    "carbon": carbon,
    "tornado": tornado,
    "uncertainty": uncertainty_histogram,
    "pareto": pareto_front,
}

__all__ = ["Chart", "KINDS", "carbon", "cost_layers", "cost_stack", "cost_vs_batch", "cost_vs_context",
           "matplotlib_figure", "pareto_front", "regions", "roofline", "tornado",
           "uncertainty_histogram"]
