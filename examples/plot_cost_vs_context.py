"""How does the cost of a token grow with context, and where does it stop fitting?

Draws cost per 1M output tokens against context length for several batches on an H200
serving Llama-3.1-70B in FP8 (a model built for 128K context), marks memory- and
compute-bound stretches and where each batch's KV cache stops fitting in HBM, and prints
those limits.

    python examples/plot_cost_vs_context.py [OUTDIR] [--quick]

Writes cost-vs-context.png and .csv into OUTDIR (a new temporary folder when none is given).
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
    points = 12 if "--quick" in argv else 96
    chart = plots.cost_vs_context(cg.load(), presets=["default", "llama-3.1-70b"],
                                  batches="1,8,32,64,128", context=f"1k..128k:log:{points}")
    for suffix in (".png", ".csv"):
        chart.save(out / f"cost-vs-context{suffix}")
    data = chart.data.columns
    for batch in sorted(set(data["batch"].tolist())):
        fits = (data["batch"] == batch) & data["feasible"]
        longest = data["context_len"][fits].max() if fits.any() else None
        print(f"batch {batch:g}: fits up to {longest:,.0f} tokens of the grid"
              if longest else f"batch {batch:g}: does not fit at any context swept")
    print(f"wrote {out / 'cost-vs-context.png'}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
