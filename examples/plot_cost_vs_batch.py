"""How much does batching lower the cost of a token, and where does it stop helping?

Draws cost per 1M output tokens against batch for several context lengths on the default
scenario (H200, Llama-3-70B, FP8), with the HBM-fit limit of each context marked.

    python examples/plot_cost_vs_batch.py [OUTDIR] [--quick]

Writes cost-vs-batch.png and .csv into OUTDIR (a new temporary folder when none is given).
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
    points = 12 if "--quick" in argv else 80
    chart = plots.cost_vs_batch(cg.load(), contexts="2k,4k,8k", batch=f"1..1024:log:{points}")
    for suffix in (".png", ".csv"):
        chart.save(out / f"cost-vs-batch{suffix}")
    data = chart.data.columns
    for context in sorted(set(data["context_len"].tolist())):
        rows = data["context_len"] == context
        one, best = data["cost_per_mtok"][rows & (data["batch"] == 1)], \
            data["cost_per_mtok"][rows & data["feasible"]].min()
        print(f"context {context:,.0f}: batch 1 costs {one[0]:.3g} USD/Mtok, "
              f"the cheapest batch that fits {best:.3g} USD/Mtok")
    print(f"wrote {out / 'cost-vs-batch.png'}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
