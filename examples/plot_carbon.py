"""How much carbon does a token carry in each region, on each GPU?

Draws the default scenario's grams CO2e per 1M output tokens in every region preset on an
H100, an H200 and a B200, the grid's electricity and the hardware's embodied carbon stacked.

    python examples/plot_carbon.py [OUTDIR] [--quick]

Writes carbon.png and .csv into OUTDIR (a new temporary folder when none is given).
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
    regions = ["oregon", "germany", "japan"] if "--quick" in argv else None
    chart = plots.carbon(cg.load(), regions)
    for suffix in (".png", ".csv"):
        chart.save(out / f"carbon{suffix}")
    total = chart.data.columns["carbon_per_mtok"]
    where = [f"{r} on {h}" for r, h in zip(chart.data.columns["region"], chart.data.columns["hardware"])]
    print(f"least {where[total.argmin()]} {total.min():.4g} g/Mtok, most "
          f"{where[total.argmax()]} {total.max():.4g} g/Mtok")
    print(f"wrote {out / 'carbon.png'}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
