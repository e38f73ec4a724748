"""What does a faster token cost? (the essay's section 11.2: latency against cost)

Sweeps batch, GPUs per replica and precision on the default scenario, keeps what fits in
memory, and draws the Pareto front of time per output token against cost per 1M tokens.

    python examples/plot_pareto.py [OUTDIR] [--quick]

Writes pareto.png and .csv (every decision: whether it keeps the constraints, whether it
is on the front) into OUTDIR (a new temporary folder when none is given), and prints the
front.
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
    points = 6 if "--quick" in argv else 24
    vary = {"batch": f"1..512:log:{points}", "n_gpus": [1, 2, 4, 8],
            "precision": ["fp16", "fp8", "fp4"]}
    chart = plots.pareto_front(cg.load(), "step_time", "cost_per_mtok", vary)
    for suffix in (".png", ".csv"):
        chart.save(out / f"pareto{suffix}")
    front = [r for r in chart.data.rows() if r["on_front"] == "true"]
    for row in sorted(front, key=lambda r: r["step_time"]):
        print(f"batch {row['batch']:>4}, {row['n_gpus']} GPU, {row['precision']}: "
              f"{row['step_time'] * 1e3:6.2f} ms per token, {row['cost_per_mtok']:.3g} USD/Mtok")
    print(f"wrote {out / 'pareto.png'}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
