"""Which lever lowers the cost of a token most?

The essay (§10) lists levers: quantization, batching, context, utilisation, power price and
PUE, and (§12) the hardware generation. This script pulls each one by a concrete, stated
amount on the `default` scenario, solves the cost again, and ranks the levers by how much they
lower it. A lever that breaks a declared constraint (a batch whose KV no longer fits in HBM)
is reported as such, not ranked: it cannot be pulled on this hardware.

For the elasticity of the cost to every input at once, see `costgraph levers cost_per_mtok`.

Run: python examples/which_lever_matters.py
"""

from __future__ import annotations

import costgraph as cg
from costgraph.units import format_quantity

# lever: (what changes, extra presets, given values); batching levers are added in main()
LEVERS = {
    "quantization": ("FP8 -> FP4 weights (KV stays FP8)", ["fp4"], {}),
    "context": ("context 4K -> 2K tokens", [], {"context_len": "2048 token"}),
    "utilisation": ("utilisation 65% -> 75%", [], {"utilisation": 0.75}),
    "power and PUE": ("0.07 -> 0.04 USD/kWh, PUE 1.12 -> 1.10", [],
                      {"power_price": "0.04 USD/kWh", "pue": 1.10}),
    "hardware": ("H200 -> B200", ["b200"], {}),
}


def pull(model, presets, given):
    r = model.solve(find=["cost_per_mtok"], presets=["default", *presets], given=given)
    return r["cost_per_mtok"], [c.id for c in r.violated]


def batching_levers(model) -> dict:
    """Doubling the scenario's batch, and raising it to the most that fits in HBM."""
    batch = int(model.solve(find=["batch"])["batch"].magnitude)
    fits = largest_batch(model)
    return {"batching x2": (f"batch {batch} -> {2 * batch}", [], {"batch": 2 * batch}),
            "batching to the HBM limit": (f"batch {batch} -> {fits}, the most that fits",
                                          [], {"batch": fits})}


def largest_batch(model) -> int:
    """The largest batch whose weights and KV fit in the default scenario's HBM."""
    s = model.seek(maximize="batch", vary={"batch": (1, 4096)}, presets=["default"])
    return int(s.value.magnitude)


def main(model=None) -> list[tuple[str, float]]:
    model = model or cg.load()
    base, _ = pull(model, [], {})
    print(f"default scenario: {format_quantity(base)}")
    levers = {**LEVERS, **batching_levers(model)}
    ranked, blocked = [], []
    for lever, (change, presets, given) in sorted(levers.items()):
        cost, broken = pull(model, presets, given)
        saving = 1 - float((cost / base).to("dimensionless").magnitude)
        row = (lever, change, cost, saving)
        (blocked if broken else ranked).append((row, broken))
    ranked.sort(key=lambda item: -item[0][3])
    for (lever, change, cost, saving), _ in ranked:
        print(f"  {lever:<26} {change:<40} {format_quantity(cost):>16}  {saving:.1%} saved")
    for (lever, change, cost, saving), broken in blocked:
        print(f"  {lever:<26} {change:<40} {format_quantity(cost):>16}  "
              f"not servable: breaks {', '.join(broken)}")
    return [(row[0], row[3]) for row, _ in ranked]


if __name__ == "__main__":
    main()
