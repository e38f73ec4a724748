"""What is a token's cost made of, across serving configurations? (the essay's Figure 2)

Derives each layer's cost per 1M output tokens (capital, GPU power, facility, NAND,
network, labour) for the configurations the essay's Figure 2 compares, on the default
scenario's real H200 and Llama-3-70B, and marks the ones that do not fit in memory.

    python examples/plot_cost_stack.py [OUTDIR] [--quick]

Writes cost-stack.png and .csv into OUTDIR (a new temporary folder when none is given).
"""

import sys
import tempfile
from pathlib import Path

import costgraph as cg
from costgraph import plots


def main(argv: list[str]) -> Path:
    folders = [a for a in argv if not a.startswith("--")]
    out = Path(folders[0]) if folders else Path(tempfile.mkdtemp(prefix="costgraph-"))
    out.mkdir(parents=True, exist_ok=True)
    chart = plots.cost_stack(cg.load())
    for suffix in (".png", ".csv"):
        chart.save(out / f"cost-stack{suffix}")
    for row in chart.data.rows():
        note = "" if row["feasible"] == "true" else f"  (breaks {row['violates']})"
        print(f"{row['scenario']}: {row['cost_per_mtok']:.3g} USD/Mtok{note}")
    print(f"wrote {out / 'cost-stack.png'}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
