"""How sure is the cost of a token, given honest ranges for its inputs?

Draws the presets' ranged inputs (GPU price $30-35K, PUE 1.10-1.15, utilisation 55-75%,
depreciation life, NAND) through the rules and plots the spread of cost per 1M output
tokens with its percentiles, seeded so the numbers repeat.

    python examples/plot_uncertainty.py [OUTDIR] [--quick]

Writes uncertainty.png and .csv (the histogram) into OUTDIR (a new temporary folder when
none is given).
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
    samples = 5_000 if "--quick" in argv else 200_000
    model = cg.load()
    chart = plots.uncertainty_histogram(model, samples=samples, seed=2026)
    for suffix in (".png", ".csv"):
        chart.save(out / f"uncertainty{suffix}")
    print(model.uncertainty("cost_per_mtok", samples=samples, seed=2026).text())
    print(f"wrote {out / 'uncertainty.png'}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
