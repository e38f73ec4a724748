"""How much does the region (its electricity price) change the cost of a token?

Draws the cost stack of the default scenario in every region preset: the essay's figures
and, where cited, the EIA industrial averages.

    python examples/plot_regions.py [OUTDIR] [--quick]

Writes regions.png and .csv into OUTDIR (a new temporary folder when none is given).
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
    chart = plots.regions(cg.load())
    for suffix in (".png", ".csv"):
        chart.save(out / f"regions{suffix}")
    total = chart.data.columns["cost_per_mtok"]
    names = chart.data.columns["scenario"]
    print(f"cheapest {names[total.argmin()]} {total.min():.4g} USD/Mtok, dearest "
          f"{names[total.argmax()]} {total.max():.4g} USD/Mtok "
          f"({total.max() / total.min() - 1:.1%} apart)")
    print(f"wrote {out / 'regions.png'}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
