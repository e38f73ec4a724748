"""Which lever moves the cost of a token most? (the essay's section 10)

Ranks the inputs of cost per 1M output tokens on the default scenario by exact elasticity
and draws a tornado chart of each input over its range: the presets' ranges (GPU price,
PUE, utilisation, depreciation life...) and a stated batch range of 32 to 128.

    python examples/plot_tornado.py [OUTDIR] [--quick]

Writes tornado.png and .csv into OUTDIR (a new temporary folder when none is given).
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
    model = cg.load()
    chart = plots.tornado(model, "cost_per_mtok", ranges={"batch": (32, 128)})
    for suffix in (".png", ".csv"):
        chart.save(out / f"tornado{suffix}")
    print(model.levers("cost_per_mtok", ranges={"batch": (32, 128)}, rank="swing").text())
    print(f"wrote {out / 'tornado.png'}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
