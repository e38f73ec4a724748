"""Validation and calibration speed, with floors measured in the same run.

- ``model.validate()`` over the whole shipped validation set: first on a fresh model
  (planning and compiling paid), then again (compiled functions reused).
- Its best-batch search against two references on the same points: the floor, one evaluation
  of every point at the batch the search found (the least any prediction costs), and a dense
  scan of every batch from 1 to 16,384 (what the search replaces; its answers are checked
  equal).
- ``model.calibrate(["trtllm-v1.0"], fit=[bw_efficiency, flops_efficiency], loo=True)``: the
  full fit and a refit without each of the 100 points, against its floor, one search of every
  point per fit (101 searches).

Run: python bench/bench_validation.py
"""

from __future__ import annotations

import time

import numpy as np

import costgraph as cg
from costgraph.validation.measurements import read_all
from costgraph.validation.predict import DEFAULT_MAX_BATCH, Evaluator

FIT = ["bw_efficiency", "flops_efficiency"]


def timed(fn, repeat=1):
    """(best wall seconds of ``repeat`` calls, the last value)."""
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def dense_scan(model, points):
    """Each max_throughput point's best rate over every whole batch, by brute force."""
    out = {}
    every = np.arange(1, DEFAULT_MAX_BATCH + 1, dtype=float)
    for p in points:
        if p.metric.name != "max_throughput" or p.max_concurrency or p.limits:
            continue
        f = model.compile(p.metric.quantity, ["batch"], given=p.given, presets=p.presets,
                          constraints="declared")
        rate = f(batch=every)
        fits = np.all([m >= 0 for m in f.margins(batch=every).values()], axis=0)
        out[p.id] = float(np.max(rate[fits])) * p.replicas if fits.any() else float("nan")
    return out


def main():
    model = cg.load(cache=False)
    first, report = timed(model.validate)
    again, _ = timed(model.validate, repeat=3)
    points = read_all(model)
    evaluator = Evaluator(model, points)
    evaluator.values()  # compiled once, outside the timings below
    search, (values, batches) = timed(evaluator.search, repeat=5)
    floor, _ = timed(lambda: evaluator.at_batches(None, batches[0]), repeat=5)
    scan_points = [p for p in points if p.metric.name == "max_throughput"
                   and not p.max_concurrency and not p.limits]
    scan, dense = timed(lambda: dense_scan(model, scan_points))
    found = {p.id: v for p, v in zip(points, values[0])}
    same = all(np.isclose(found[i], v, rtol=1e-9) for i, v in dense.items())
    print(f"validate, {len(report)} points: first {first:.2f} s (compiling), then "
          f"{again:.2f} s; {report.summary.line()}")
    print(f"  best-batch search of every point: {search * 1e3:.1f} ms; floor (every point "
          f"once at its batch) {floor * 1e3:.1f} ms; dense scan of 1..{DEFAULT_MAX_BATCH} for "
          f"the {len(dense)} max_throughput points {scan:.1f} s (compiles included), same "
          f"answers: {same}")

    calibrate = cg.load(cache=False)
    cold, cal = timed(lambda: calibrate.calibrate(["trtllm-v1.0"], fit=FIT, loo=True))
    warm, cal = timed(lambda: calibrate.calibrate(["trtllm-v1.0"], fit=FIT, loo=True), repeat=3)
    fitting = Evaluator(calibrate, read_all(calibrate, ["trtllm-v1.0"]), fit=FIT)
    fitting.values()
    one, _ = timed(lambda: fitting.search(np.array([[0.5, 0.3]])), repeat=5)
    fits = len(cal.points) + 1
    print(f"calibrate --loo, trtllm-v1.0 ({len(cal.points)} points, {fits} fits): first "
          f"{cold:.2f} s, then {warm:.2f} s ({warm / fits * 1e3:.1f} ms a fit); floor "
          f"{fits} searches x {one * 1e3:.2f} ms = {fits * one:.2f} s")
    print("  " + cal.summary.line())
    print("  " + cal.loo_summary.line())


if __name__ == "__main__":
    main()
