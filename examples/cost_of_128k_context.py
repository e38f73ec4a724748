"""What does a 128K-token context cost on an H200, next to a 4K one?

The essay (§9.1) says long context multiplies the cost of an output token. This script
derives it instead: Llama-3.1-70B (a model built for 128K) in FP8 on the `default`
scenario's H200, at 4K and at 128K of context. For each it reports the cost at the scenario's
batch of 64 (and whether that batch fits in HBM at all), then the cheapest cost once the batch
may vary on one GPU, and once the replica may also grow to 8 GPUs, with what binds.

Run: python examples/cost_of_128k_context.py
"""

from __future__ import annotations

import costgraph as cg
from costgraph.errors import InfeasibleError
from costgraph.units import format_quantity

MODEL = ["default", "llama-3.1-70b"]
CONTEXTS = {"4K": "ctx-4k", "128K": "ctx-128k"}
SEARCHES = {  # what the search may change, on top of the scenario
    "batch 1-512, 1 GPU": {"batch": (1, 512)},
    "batch 1-512, 1-8 GPUs": {"batch": (1, 512), "n_gpus": (1, 8)},
}


def at_scenario_batch(model, presets) -> str:
    """The cost at the scenario's own batch, flagged when that batch cannot be served."""
    r = model.solve(find=["cost_per_mtok"], presets=presets)
    broken = [c.id for c in r.violated]
    flag = f"  (does not fit: {', '.join(broken)})" if broken else ""
    return f"{format_quantity(r['cost_per_mtok'])} at batch {r['batch'].magnitude:g}{flag}"


def cheapest(model, presets, vary) -> tuple[str, object]:
    """The lowest cost the search finds, where, and what stops it going lower."""
    try:
        s = model.seek(minimize="cost_per_mtok", vary=vary, presets=presets)
    except InfeasibleError as exc:
        return f"infeasible: {exc}", None
    at = ", ".join(f"{n} {format_quantity(q)}" for n, q in s.point.items() if n in vary)
    binds = ", ".join(c.id for c in s.binding) or "nothing"
    return f"{format_quantity(s.value)} at {at}; bound by {binds}", s.value


def main(model=None) -> dict:
    model = model or cg.load()
    best = {}
    for label, preset in CONTEXTS.items():
        presets = [*MODEL, preset]
        print(f"{label} context, Llama-3.1-70B FP8 on H200")
        print(f"  {'at the scenario batch':<31}: {at_scenario_batch(model, presets)}")
        for search, vary in SEARCHES.items():
            text, value = cheapest(model, presets, vary)
            print(f"  {'cheapest, ' + search:<31}: {text}")
            best[(label, search)] = value
    for search in SEARCHES:
        short, long = best[("4K", search)], best[("128K", search)]
        if short is not None and long is not None:
            ratio = float((long / short).to("dimensionless").magnitude)
            print(f"128K costs {ratio:.1f}x 4K at the cheapest point ({search})")
    return best


if __name__ == "__main__":
    main()
