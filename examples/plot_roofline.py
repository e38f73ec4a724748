"""Where does decode sit on the H200's roofline, against prefill?

Draws the roofline of the default scenario's GPU at its precision with decode points at
several batches and an estimated prefill point for the scenario's context.

    python examples/plot_roofline.py [OUTDIR] [--quick]

Writes roofline.png and .csv into OUTDIR (a new temporary folder when none is given).
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
    chart = plots.roofline(cg.load(), batches="1,8,64,256")
    for suffix in (".png", ".csv"):
        chart.save(out / f"roofline{suffix}")
    for row in chart.data.rows():
        print(f"{row['point']}: {row['arithmetic_intensity']:,.1f} FLOP/byte, "
              f"{row['performance']:,.0f} TFLOP/s {row['bound']}".rstrip())
    print(f"wrote {out / 'roofline.png'}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
