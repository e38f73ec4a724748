"""Core speed: loading the bundled rules, one exact solve, and the compiled path.

Targets: compiled decode -> $/Mtok chain >= 1,000,000 evaluations/s on one core
(arrays of 1e6); `cg.load()` of the bundled rules under 1 s after imports.

Run: python bench/bench_core.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import costgraph as cg


def best_of(fn, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main():
    load_best, load_median = best_of(lambda: cg.load(cache=False), repeat=5)
    model = cg.load()
    solve_best, solve_median = best_of(lambda: model.solve(find="cost_per_mtok"), repeat=20)
    inverse_best, _ = best_of(
        lambda: model.solve(given={"cost_per_mtok": "0.5 USD/Mtok"}, find="context_len"), 10)
    start = time.perf_counter()
    f = model.compile(find="cost_per_mtok", inputs=["context_len", "batch"])
    compile_time = time.perf_counter() - start
    n = 1_000_000
    rng = np.random.default_rng(0)
    context = rng.uniform(512, 32768, n)
    batch = rng.integers(1, 256, n).astype(float)
    eval_best, _ = best_of(lambda: f(context_len=context, batch=batch), repeat=7)
    print(f"cg.load() of the bundled rules (after imports): best {load_best * 1e3:.0f} ms, "
          f"median {load_median * 1e3:.0f} ms")
    print(f"solve cost_per_mtok on default: best {solve_best * 1e3:.1f} ms, "
          f"median {solve_median * 1e3:.1f} ms")
    print(f"inverse solve context_len for 0.5 USD/Mtok: best {inverse_best * 1e3:.1f} ms")
    print(f"compile decode->$/Mtok (context_len, batch): {compile_time * 1e3:.0f} ms")
    print(f"compiled evaluation, 1e6 scenarios: {eval_best * 1e3:.1f} ms "
          f"= {n / eval_best / 1e6:.1f} M evaluations/s")


if __name__ == "__main__":
    main()
