"""Speed of sweeps, uncertainty and levers on the bundled rules.

Targets, each after `cg.load()`:
- a sweep of 1,000,000 grid points through the decode -> $/Mtok chain: <= 2 s on one core;
- uncertainty with 1,000,000 samples: <= 3 s;
- levers for cost_per_mtok on `default`: <= 1 s.

Each figure is the whole public call (compiling included, nothing cached between runs), best
and median of several runs. Run single-threaded, as the targets are per core:

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python bench/bench_sweeps.py
"""

from __future__ import annotations

import statistics
import time

import costgraph as cg


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def fresh(model):
    """Forget plans, composites and compiled functions, so each run pays for them again."""
    from costgraph.core import compile_cache, compile_exprs

    model.planner.plan.cache_clear()
    model.planner._composite.cache_clear()
    compile_cache._CACHE.forget(model)
    compile_exprs._COMPOSERS.pop(model, None)


def main():
    model = cg.load()

    def sweep():
        fresh(model)
        s = model.sweep({"context_len": "1k..128k:log:1000", "batch": "1..1000"},
                        "cost_per_mtok")
        assert len(s) == 1_000_000

    def uncertainty():
        fresh(model)
        u = model.uncertainty("cost_per_mtok", samples=1_000_000, seed=0)
        assert len(u.samples) == 1_000_000

    def levers():
        fresh(model)
        model.levers("cost_per_mtok")

    rows = [("sweep, 1,000,000 grid points (context_len x batch -> cost_per_mtok, "
             "constraints marked)", "<= 2 s", timed(sweep, 5)),
            ("uncertainty, 1,000,000 samples of the ranged inputs -> cost_per_mtok",
             "<= 3 s", timed(uncertainty, 5)),
            ("levers for cost_per_mtok on default (exact elasticities and swings)",
             "<= 1 s", timed(levers, 7))]
    for what, target, (best, median) in rows:
        print(f"{what}: best {best:.3f} s, median {median:.3f} s (target {target})")


if __name__ == "__main__":
    main()
