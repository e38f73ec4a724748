"""How much does the region a GPU runs in change the cost of a token?

The essay (§11.3) prices power in six regions and says the power layer varies by more than 4x.
This script solves the `default` scenario with each region's power price and shows the power
layer, the facility overhead (which scales with the same price) and the total, so the size of
the power layers next to the whole is visible.

Run: python examples/does_region_matter.py
"""

from __future__ import annotations

import costgraph as cg
from costgraph.units import format_quantity

REGIONS = ["oregon", "texas", "virginia", "singapore", "japan", "germany"]
FIND = ["power_price", "power_cost_per_mtok", "facility_cost_per_mtok", "cost_per_mtok"]


def main(model=None) -> dict:
    model = model or cg.load()
    rows = {}
    print(f"{'region':<10} {'power price':>14} {'power layer':>17} {'facility':>17} "
          f"{'total':>16}")
    for region in REGIONS:
        r = model.solve(find=FIND, presets=["default", region])
        rows[region] = {name: r[name] for name in FIND}
        print(f"{region:<10} " + " ".join(f"{format_quantity(r[n]):>{w}}"
                                          for n, w in zip(FIND, (14, 17, 17, 16))))
    totals = [row["cost_per_mtok"] for row in rows.values()]
    power = [row["power_cost_per_mtok"] for row in rows.values()]
    spread = float((max(totals) / min(totals)).to("dimensionless").magnitude)
    power_spread = float((max(power) / min(power)).to("dimensionless").magnitude)
    print(f"power layer: {power_spread:.2f}x from cheapest to dearest region; "
          f"total: {spread:.3f}x")
    return rows


if __name__ == "__main__":
    main()
