"""Seek speed: "max context_len with cost_per_mtok <= X, vary batch 1..4096".

Targets, on the `default` scenario: <= 2 s for the first query (planning and
compiling paid), <= 100 ms for each query after it (compile cached), whatever X is. Each
answer is checked against brute force over every whole batch and whole context up to
16,384 tokens, and the brute-force time is printed beside it.

Run: python bench/bench_seek.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import costgraph as cg

LIMITS = {"default": [0.25, 0.3, 0.35, 0.4, 0.5, 0.75, 1.0], "essay": [2.0, 3.0, 5.0, 8.0]}
BATCHES = np.arange(1, 4097.0)
CONTEXTS = np.arange(0, 16385.0)


def query(limit, scenario):
    return dict(maximize="context_len", subject_to=[f"cost_per_mtok <= {limit} USD/Mtok"],
                vary={"batch": (1, 4096)}, presets=[scenario])


def timed(fn):
    """(wall seconds, value); the CPU seconds of the last call are kept in CPU[-1]."""
    start, cpu = time.perf_counter(), time.process_time()
    value = fn()
    CPU.append(time.process_time() - cpu)
    return time.perf_counter() - start, value


CPU: list[float] = []  # CPU time of each timed call: what a busy machine distorts least


def brute_force(f, limit):
    """The largest whole context any whole batch reaches, and the batches reaching it."""
    best = np.full(BATCHES.size, -1.0)
    for rows in np.array_split(np.arange(BATCHES.size), 64):
        c, b = np.meshgrid(CONTEXTS, BATCHES[rows])
        ok = f(context_len=c, batch=b)["cost_per_mtok"] <= limit
        for margin in f.margins(context_len=c, batch=b).values():
            ok &= margin >= 0
        best[rows] = np.where(ok, c, -1.0).max(axis=1)
    return best.max(), BATCHES[best == best.max()]


def run(scenario):
    limits = LIMITS[scenario]
    firsts, first_cpu = [], []
    for x in limits:
        model = cg.load(cache=False)
        firsts.append(timed(lambda: model.seek(**query(x, scenario)))[0])
        first_cpu.append(CPU[-1])
    model = cg.load(cache=False)
    model.seek(**query(limits[0], scenario))
    f = model.compile(["cost_per_mtok"], ["context_len", "batch"], presets=[scenario],
                      constraints="declared")
    rows, cached, cached_cpu = [], [], []
    for limit in limits:
        times = []
        for _ in range(5):
            times.append(timed(lambda: model.seek(**query(limit, scenario)))[0])
            cached_cpu.append(CPU[-1])
        cached += times
        s = model.seek(**query(limit, scenario))
        brute_time, (top, batches) = timed(lambda: brute_force(f, limit))
        context, batch = s.value.magnitude, s.point["batch"].magnitude
        agree = top <= context < top + 1 and batches[0] == batch
        rows.append((limit, context, int(batch), [c.id for c in s.binding],
                     statistics.median(times), brute_time, agree))
    return (firsts, first_cpu), (cached, cached_cpu), rows


def spread(seconds) -> str:
    return (f"best {min(seconds) * 1e3:.1f} ms, median {statistics.median(seconds) * 1e3:.1f} "
            f"ms, worst {max(seconds) * 1e3:.1f} ms")


def main():
    for scenario in LIMITS:
        (firsts, first_cpu), (cached, cached_cpu), rows = run(scenario)
        print(f"== {scenario}: first query (fresh model, planning and compile paid): "
              f"{spread(firsts)}; CPU {spread(first_cpu)}")
        print(f"   later queries (compile cached, {len(cached)} runs): {spread(cached)}; "
              f"CPU {spread(cached_cpu)}")
        print("   | X (USD/Mtok) | context_len | batch | binding | seek (median) | "
              "brute force | same answer |")
        for limit, context, batch, binding, seek_time, brute_time, agree in rows:
            print(f"   | {limit:g} | {context:,.1f} | {batch} | {', '.join(binding)} | "
                  f"{seek_time * 1e3:.1f} ms | {brute_time:.2f} s | {'yes' if agree else 'NO'} |")


if __name__ == "__main__":
    main()
