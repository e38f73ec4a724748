"""Speed against floors measured in the same run: cold start, one exact solve, compiles,
a 1e7-point sweep (time and memory), the compiled path's rate, streaming and dask.

Every figure is reported beside its floor, and as a ratio to it:

- cold start: the median wall time of whole commands (``costgraph solve --find
  cost_per_mtok``, the README's seek example), against ``python -c "import numpy"``; the
  on-disk cache is warmed by one run first (the first run is reported too), and costgraph's
  bytecode is written first, as installing it does;
- one exact solve (``model.solve(find="cost_per_mtok")`` on ``default``), against a
  hand-written Python float chain of the decode formula, and against the pint evaluation it
  replaced;
- a sweep of 1e7 grid points of a decode chain (the rules below), against the same grid in
  hand-written numpy: wall time and peak memory, each in a process of its own;
- the compiled function's rate on 1e7 points, against the same operations by hand.

Run single-threaded, as a user's one process would:

    OMP_NUM_THREADS=1 python bench/bench_speed.py [cold] [solve] [compile] [sweep] [rate]
        [stream] [dask]
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent

# the decode chain both sides compute: the costgraph rules, and by hand below
DECODE_RULES = """
description: A decode step's cost, the chain the hand-written floors compute.
quantities:
  batch: {unit: request, description: sequences per step, integer: true, bounds: [1, 100000]}
  context_len: {unit: token, description: context per sequence, bounds: [1, 1e9]}
  kv_bytes_per_token: {unit: byte/token, description: KV per context token}
  weight_bytes: {unit: GB, description: resident weights}
  hbm_bandwidth: {unit: TB/s, description: HBM bandwidth}
  hbm_capacity: {unit: GB, description: HBM capacity}
  peak_flops: {unit: TFLOP/s, description: peak compute}
  flops_per_token: {unit: GFLOP/token, description: work per token}
  bytes_per_step: {unit: GB, description: bytes read per step}
  memory_time: {unit: ms, description: time to read the bytes}
  compute_time: {unit: ms, description: time to do the FLOPs}
  step_time: {unit: ms, description: one decode step}
  tokens_per_second: {unit: token/s, description: output rate}
  gpu_hour_price: {unit: USD/h, description: price of a GPU-hour}
  cost_per_mtok: {unit: USD/Mtok, description: cost of 1M output tokens}
rules:
  - {id: m.bytes, defines: bytes_per_step, source: bench, description: weights and KV,
     expr: "weight_bytes + batch * context_len * kv_bytes_per_token / {1 request}"}
  - {id: m.memory_time, defines: memory_time, expr: bytes_per_step / hbm_bandwidth,
     description: bytes over bandwidth, source: bench}
  - {id: c.compute_time, defines: compute_time, source: bench, description: FLOPs over peak,
     expr: "batch * {1 token/request} * flops_per_token / peak_flops"}
  - {id: t.step, defines: step_time, expr: "max(memory_time, compute_time)",
     description: the slower, source: bench}
  - {id: t.tps, defines: tokens_per_second, expr: "batch * {1 token/request} / step_time",
     description: a token per sequence per step, source: bench}
  - {id: c.cost, defines: cost_per_mtok, expr: gpu_hour_price / tokens_per_second,
     description: price over rate, source: bench}
constraints:
  - {id: m.fit, expr: bytes_per_step <= hbm_capacity, description: it fits, source: bench}
"""
DECODE_PRESETS = """
kind: scenario
description: The bench point.
presets:
  default:
    description: A 70B-like model at FP8 on an H200-like GPU.
    source: bench
    values: {batch: 64, context_len: 4096 token, kv_bytes_per_token: 163840 byte/token,
             weight_bytes: 70 GB, hbm_bandwidth: 4.8 TB/s, hbm_capacity: 141 GB,
             peak_flops: 1979 TFLOP/s, flops_per_token: 140 GFLOP/token,
             gpu_hour_price: 3 USD/h}
"""
GRID = {"context_len": "1k..128k:log:10000", "batch": "1..1000"}  # 1e7 points


def decode_rules(folder: Path) -> Path:
    (folder / "presets").mkdir(parents=True, exist_ok=True)
    (folder / "decode.yaml").write_text(DECODE_RULES)
    (folder / "presets" / "default.yaml").write_text(DECODE_PRESETS)
    return folder


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = "load average %.1f" % os.getloadavg()[0]
    except OSError:
        load = ""
    import numpy
    import pint

    return (f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, numpy "
            f"{numpy.__version__}, pint {pint.__version__}; {load}; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def row(what, value, floor, unit="", floor_what="", target=""):
    ratio = value / floor if floor else float("nan")
    print(f"| {what} | {value:.4g} {unit} | {floor:.4g} {unit} ({floor_what}) | {ratio:.2f} "
          f"| {target} |", flush=True)
    return ratio


# cold start -------------------------------------------------------------------------------


def _median_wall(argv, env, runs, cwd):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def _compile_package():
    """Write costgraph's bytecode, as installing it does (pip compiles every module): without
    it, a checkout run under PYTHONDONTWRITEBYTECODE compiles every module at every start,
    which no installed copy does, while the floor's numpy has its bytecode."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("costgraph")
    for folder in spec.submodule_search_locations or ():
        compileall.compile_dir(folder, quiet=1)


def _importtime(argv, env, cwd, count=12):
    """The largest self times of ``python -X importtime -m costgraph ARGS``, printed."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "costgraph", *argv],
                         env=env, cwd=cwd, capture_output=True, text=True)
    rows = []
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            parts = line[len("import time:"):].split("|")
            try:
                rows.append((int(parts[0]), int(parts[1]), parts[2].rstrip()))
            except ValueError:
                continue
    print(f"\n`python -X importtime -m costgraph {' '.join(argv[:3])}`, largest self "
          "times (us):\n")
    for self_us, total_us, name in sorted(rows, reverse=True)[:count]:
        print(f"    {self_us:>7} self {total_us:>8} cumulative  {name.strip()}")


def cold(runs=11):
    exe = shutil.which("costgraph", path=str(Path(sys.executable).parent)) or "costgraph"
    _compile_package()
    work = Path(tempfile.mkdtemp(prefix="cg-bench-cold-"))
    env = {**os.environ, "COSTGRAPH_CACHE_DIR": str(work / "cache")}
    floor = [sys.executable, "-c", "import numpy"]
    solve = [exe, "solve", "--find", "cost_per_mtok"]
    seek = [exe, "seek", "--maximize", "context_len", "--where", "cost_per_mtok <= 2 USD/Mtok",
            "--vary", "batch=1..512", "--explain", "-o", str(work / "context.svg")]
    first = {}
    for name, argv in (("solve", solve), ("seek", seek)):  # the first run fills the cache
        start = time.perf_counter()
        subprocess.run(argv, env=env, cwd=work, stdout=subprocess.DEVNULL, check=True)
        first[name] = time.perf_counter() - start
    results = {}
    for _ in range(2):  # interleaved, so that a change in the machine's load hits all three
        for name, argv in (("floor", floor), ("solve", solve), ("seek", seek)):
            med, best = _median_wall(argv, env, runs // 2 + 1, work)
            results.setdefault(name, []).append(med)
    f = statistics.median(results["floor"])
    print("\n### Cold start (median wall time of whole commands, on-disk cache warm)\n")
    print("| what | measured | floor | ratio | target |\n|---|---|---|---|---|")
    row("`costgraph solve --find cost_per_mtok`", statistics.median(results["solve"]) * 1e3,
        f * 1e3, "ms", '`python -c "import numpy"`', "<= 5")
    row("README seek example (`--explain -o context.svg`)",
        statistics.median(results["seek"]) * 1e3, f * 1e3, "ms",
        '`python -c "import numpy"`', "<= 7")
    print(f"\nfirst runs, cache empty: solve {first['solve'] * 1e3:.0f} ms, "
          f"seek {first['seek'] * 1e3:.0f} ms")
    _importtime(solve[1:], env, work)
    _importtime(seek[1:], env, work)
    shutil.rmtree(work, ignore_errors=True)


# one exact solve --------------------------------------------------------------------------


def decode_chain(batch=64.0, context=4096.0, kv=163840.0, weights=70e9, bw=4.8e12,
                 flops=140e9, peak=1979e12, price=3.0):
    """The decode formula by hand, in floats: $/Mtok at one point."""
    step_bytes = weights + batch * context * kv
    memory_time = step_bytes / bw
    compute_time = batch * flops / peak
    step = memory_time if memory_time > compute_time else compute_time
    tokens_per_second = batch / step
    return price / 3600.0 / tokens_per_second * 1e6


def solve():
    import costgraph as cg
    import costgraph.core.floatpath as floatpath

    model = cg.load()
    model.solve(find="cost_per_mtok")
    n = 300
    per = [t / n for t in timeit.repeat(lambda: model.solve(find="cost_per_mtok"),
                                        number=n, repeat=9)]
    chain = [t / 200000 for t in timeit.repeat(decode_chain, number=200000, repeat=9)]
    # a question asked at values never asked before (a loop over batch): its plan, closures
    # and scenario are settled anew, the presets' values reused
    fresh = iter(range(1, 10**9))
    new_values = [t / n for t in timeit.repeat(
        lambda: model.solve(find="cost_per_mtok", given={"batch": next(fresh)}),
        number=n, repeat=5)]
    # the pint evaluation the float path replaced: every rule and constraint through pint
    real = floatpath._Rules.function
    sides = floatpath.constraint_sides

    def refuse(self, name):
        def fallback(env):
            raise floatpath._Fallback()
        return fallback

    floatpath._Rules.function, floatpath.constraint_sides = refuse, lambda *a: None
    try:
        pint_model = cg.load(cache=False)
        pint_model.solve(find="cost_per_mtok")
        pint_per = [t / 50 for t in timeit.repeat(lambda: pint_model.solve(find="cost_per_mtok"),
                                                  number=50, repeat=5)]
    finally:
        floatpath._Rules.function, floatpath.constraint_sides = real, sides
    print("\n### One exact solve (`model.solve(find=\"cost_per_mtok\")` on `default`, median)\n")
    print("| what | measured | floor | ratio | target |\n|---|---|---|---|---|")
    row("exact solve", statistics.median(per) * 1e6, statistics.median(chain) * 1e6, "us",
        "hand-written float chain of the decode formula", "<= 300")
    row("the same question at a new batch each time (nothing kept for its values)",
        statistics.median(new_values) * 1e6, statistics.median(per) * 1e6, "us",
        "the exact solve above")
    row("the same solve through pint (every rule and constraint)",
        statistics.median(pint_per) * 1e6, statistics.median(per) * 1e6, "us",
        "the float path")


# compiles ---------------------------------------------------------------------------------


def compiles():
    import costgraph as cg

    times = []
    for _ in range(3):
        model = cg.load(cache=False)
        start = time.perf_counter()
        model.compile(["cost_per_mtok"], ["context_len", "batch"], constraints="declared")
        times.append(time.perf_counter() - start)
    model = cg.load(cache=False)
    vary = {"context_len": "1k..128k:log:10", "batch": "1..64:log:5"}
    start = time.perf_counter()
    model.sweep(vary, "cost_per_mtok")
    first = time.perf_counter() - start
    again = min(timeit.repeat(lambda: model.sweep(vary, "cost_per_mtok"), number=1, repeat=5))
    print("\n### Compiles (bundled rules, a fresh model each)\n")
    print(f"- `model.compile(cost_per_mtok, [context_len, batch], constraints='declared')`: "
          f"{statistics.median(times) * 1e3:.0f} ms median of 3 (sympy imported before)")
    print(f"- a 50-point sweep: first {first * 1e3:.0f} ms (compile included), again "
          f"{again * 1e3:.1f} ms (its compile reused)")


# a 1e7-point sweep, each side in a process of its own ----------------------------------------

_SWEEP_SIDE = r"""
import json, os, resource, sys, time
import numpy as np
side, rules = sys.argv[1], sys.argv[2]
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
if side == "numpy":
    rss0 = rss()
    start = time.perf_counter()
    context = np.geomspace(1000.0, 128000.0, 10000)
    batch = np.arange(1.0, 1001.0)
    c = np.repeat(context, batch.size)       # the grid's columns, as the sweep's table has
    b = np.tile(batch, context.size)
    step_bytes = 70e9 + b * c * 163840.0
    step = np.maximum(step_bytes / 4.8e12, b * 140e9 / 1979e12)
    cost = 3.0 / 3600.0 / (b / step) * 1e6
    slack = (141e9 - step_bytes) / 141e9
    elapsed = time.perf_counter() - start
    points = cost.size
else:
    import costgraph as cg
    model = cg.load(rules if side == "costgraph" else None)
    grid = {"context_len": "1k..128k:log:10000", "batch": "1..1000"}
    model.sweep({"context_len": "1k..2k:log:3", "batch": "1..4"}, "cost_per_mtok")  # imports
    rss0 = rss()
    start = time.perf_counter()
    s = model.sweep(grid, "cost_per_mtok")
    elapsed = time.perf_counter() - start
    points = len(s)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "extra_bytes": peak - rss0, "points": points}))
"""


def _side(side, rules):
    out = subprocess.run([sys.executable, "-c", _SWEEP_SIDE, side, str(rules)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def sweep(runs=3):
    rules = decode_rules(Path(tempfile.mkdtemp(prefix="cg-bench-rules-")))
    results = {"numpy": [], "costgraph": [], "bundled": []}
    for _ in range(runs):
        for side in results:
            results[side].append(_side(side, rules))

    def best(side, key):
        return min(r[key] for r in results[side])

    print("\n### A 1e7-point sweep (context_len 1k..128k:log:10000 x batch 1..1000 -> "
          "cost_per_mtok, the constraint's slack marked; best of "
          f"{runs}, each in its own process)\n")
    print("| what | measured | floor | ratio | target |\n|---|---|---|---|---|")
    row("sweep of the decode chain: wall time", best("costgraph", "seconds"),
        best("numpy", "seconds"), "s", "the same grid in hand-written numpy", "<= 3")
    row("sweep of the decode chain: peak memory above the process's start",
        best("costgraph", "extra_bytes") / 2**20, best("numpy", "extra_bytes") / 2**20, "MiB",
        "the same grid in hand-written numpy", "<= 2")
    print(f"\nthe bundled rules (every serving rule, 3 declared constraints), same grid: "
          f"{best('bundled', 'seconds'):.2f} s, "
          f"{best('bundled', 'extra_bytes') / 2**20:.0f} MiB above the process's start")


# the compiled path's rate ---------------------------------------------------------------------


def rate():
    import numpy as np

    import costgraph as cg

    rules = decode_rules(Path(tempfile.mkdtemp(prefix="cg-bench-rules-")))
    model = cg.load(rules)
    f = model.compile("cost_per_mtok", ["context_len", "batch"])
    n = 10_000_000
    rng = np.random.default_rng(0)
    c = rng.uniform(1000.0, 128000.0, n)
    b = np.floor(rng.uniform(1.0, 1000.0, n))

    def by_hand():
        step_bytes = 70e9 + b * c * 163840.0
        step = np.maximum(step_bytes / 4.8e12, b * 140e9 / 1979e12)
        return 3.0 / 3600.0 / (b / step) * 1e6

    def compiled():
        return f(context_len=c, batch=b)

    assert np.allclose(compiled(), by_hand(), rtol=1e-12)
    hand = min(timeit.repeat(by_hand, number=1, repeat=5))
    comp = min(timeit.repeat(compiled, number=1, repeat=5))
    print("\n### The compiled path's rate (1e7 points of the decode chain, best of 5)\n")
    print("| what | measured | floor | ratio | target |\n|---|---|---|---|---|")
    row("compiled function: points per second", n / comp / 1e6, n / hand / 1e6, "M/s",
        "the same operations in hand-written numpy", ">= 0.5")


# streaming 1e8 points -----------------------------------------------------------------------

_STREAM_SIDE = r"""
import json, resource, sys, tempfile, time, os
import costgraph as cg
from costgraph.analysis.stream import stream_sweep
model = cg.load(sys.argv[1])
out = os.path.join(tempfile.mkdtemp(), "grid.parquet")
start = time.perf_counter()
s = stream_sweep(model, {"context_len": "1k..128k:log:100000", "batch": "1..1000"},
                 "cost_per_mtok", [out])
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "peak": peak, "points": s.points,
                  "bytes": os.path.getsize(out)}))
os.remove(out)
"""


def stream():
    rules = decode_rules(Path(tempfile.mkdtemp(prefix="cg-bench-rules-")))
    out = subprocess.run([sys.executable, "-c", _STREAM_SIDE, str(rules)], capture_output=True,
                         text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print("\n### Streaming 1e8 points (context_len 1k..128k:log:100000 x batch 1..1000 of the "
          "decode chain, to Parquet)\n")
    print(f"- {r['points']:,} points in {r['seconds']:.1f} s "
          f"({r['points'] / r['seconds'] / 1e6:.2f} M points/s), peak memory of the whole "
          f"process {r['peak'] / 2**20:.0f} MiB (target: fits in 2 GiB); "
          f"{r['bytes'] / 2**20:.0f} MiB of Parquet")


# dask ----------------------------------------------------------------------------------------


def dask_rates():
    import costgraph as cg

    model = cg.load()
    grid = {"context_len": "1k..128k:log:10000", "batch": "1..1000"}  # 1e7 points
    model.sweep({"context_len": "1k..2k:log:3", "batch": "1..4"}, "cost_per_mtok",
                backend="dask")
    single = min(timeit.repeat(lambda: model.sweep(grid, "cost_per_mtok"), number=1, repeat=2))
    threaded = min(timeit.repeat(lambda: model.sweep(grid, "cost_per_mtok", backend="dask"),
                                 number=1, repeat=2))
    from dask.distributed import LocalCluster

    workers = os.cpu_count() or 1
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        model.sweep({"context_len": "1k..2k:log:3", "batch": "1..4"}, "cost_per_mtok",
                    backend="dask", scheduler=address)  # workers load and compile
        start = time.perf_counter()
        model.sweep(grid, "cost_per_mtok", backend="dask", scheduler=address)
        clustered = time.perf_counter() - start
    n = 10_000_000
    print("\n### Dask (the bundled rules, 1e7 points of cost_per_mtok, declared constraints)\n")
    print("| backend | points/s | ratio to one process | 1e9 points (estimated from the rate) |")
    print("|---|---|---|---|")
    for name, seconds in (("numpy, one process", single),
                          ("dask, threaded scheduler", threaded),
                          (f"dask, LocalCluster of {workers} worker processes", clustered)):
        print(f"| {name} | {n / seconds / 1e6:.2f} M | {single / seconds:.2f} | "
              f"{seconds * 100 / 60:.1f} min |")


SECTIONS = {"cold": cold, "solve": solve, "compile": compiles, "sweep": sweep, "rate": rate,
            "stream": stream, "dask": dask_rates}


def main(argv):
    chosen = argv or list(SECTIONS)
    print(f"Machine: {machine()}")
    for name in chosen:
        SECTIONS[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
