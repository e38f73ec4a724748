"""costgraph beside llm-analysis on the same questions, timed side by side in one run.

The configuration: Llama-2-70B at fp16 on 4 A100-SXM-80GB (tensor parallel), $2 per
GPU-hour, one decode step. Three questions, each asked of both tools:

1. one configuration (batch 64, context 4,096): $/Mtok and the step time;
2. a 36-point grid (batch 1, 8, 16, 32, 64, 128 x context 128 ... 4,096, the model's
   limit in llm-analysis): $/Mtok at each;
3. goal seek, "the longest context under a price": the largest context a batch of 1..128
   serves at <= X $/Mtok. costgraph answers with ``seek``; llm-analysis has no search, so
   it is asked by brute force over every batch 1..128 and contexts in steps of 64 tokens
   up to 4,096 (the answer to 64 tokens, where seek's is exact).

llm-analysis (the PyPI package, version 0.2.2) runs in a Python of its own given by
``--peer-python`` (default: this one), so that its dependencies stay out of costgraph's.
LLM-Viewer is not on a package registry and cannot be fetched here, so it is not timed.
The two tools' numbers differ by convention (llm-analysis reads and writes the whole KV
cache each step, costgraph reads it once; see the peer comparison in the docs); the times
are the point here.

    OMP_NUM_THREADS=1 python bench/bench_peers.py --peer-python /path/to/venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
import time

BATCHES = [1, 8, 16, 32, 64, 128]
CONTEXTS = [128, 256, 512, 1024, 2048, 4096]  # llm-analysis caps Llama-2 at 4,096
PRICES = [1.0, 1.5]  # USD/Mtok for the goal seek: where the price, not the context limit, binds
PRESETS = ["default", "llama-2-70b", "a100-80gb", "fp16"]
GIVEN = {"n_gpus": 4, "cost_per_gpu_hour": "2 USD/h"}

PEER = textwrap.dedent("""
    import json, logging, os, statistics, sys, time
    t0 = time.perf_counter()
    import llm_analysis
    from llm_analysis.analysis import LLMAnalysis
    from llm_analysis.config import (ParallelismConfig, get_dtype_config_by_name,
                                     get_gpu_config_by_name, get_model_config_by_name)
    from llm_analysis.logger import logger
    logger.setLevel(logging.ERROR)
    here = os.path.dirname(llm_analysis.__file__)
    model = get_model_config_by_name(os.path.join(here, "model_configs",
                                                  "upstage_Llama-2-70b-instruct-v2.json"))
    a = LLMAnalysis(model, get_gpu_config_by_name("a100-sxm-80gb"),
                    get_dtype_config_by_name("w16a16e16"), ParallelismConfig(tp_size=4),
                    flops_efficiency=1, hbm_memory_efficiency=1)
    startup = time.perf_counter() - t0
    def cost(batch, context):
        r = a.inference(batch_size_per_gpu=batch, seq_len=context, num_tokens_to_generate=1,
                        cost_per_gpu_hour=2.0)
        return r["decode_cost_per_1k_tokens"] * 1000, r["decode_latency"]
    one = []
    for _ in range(200):
        s = time.perf_counter(); c1, t1 = cost(64, 4096); one.append(time.perf_counter() - s)
    grid = []
    for _ in range(5):
        s = time.perf_counter()
        values = [cost(b, c)[0] for b in %(batches)r for c in %(contexts)r]
        grid.append(time.perf_counter() - s)
    seeks = {}
    for price in %(prices)r:
        s = time.perf_counter()
        best = (0, None)
        for b in range(1, 129):
            for c in range(64, 4097, 64):
                if cost(b, c)[0] <= price and c > best[0]:
                    best = (c, b)
        seeks[str(price)] = {"seconds": time.perf_counter() - s, "context": best[0],
                             "batch": best[1]}
    print(json.dumps({"version": getattr(llm_analysis, "__version__", "0.2.2"),
                      "startup": startup, "one": statistics.median(one), "one_cost": c1,
                      "one_step_ms": t1 * 1e3, "grid": min(grid), "grid_values": values,
                      "seek": seeks}))
""") % {"batches": BATCHES, "contexts": CONTEXTS, "prices": PRICES}


def costgraph_side():
    t0 = time.perf_counter()
    import costgraph as cg

    model = cg.load()
    startup = time.perf_counter() - t0

    def one():
        return model.solve(find=["cost_per_mtok", "step_time"], presets=PRESETS,
                           given={**GIVEN, "batch": 64, "context_len": 4096})

    r = one()
    times = []
    for _ in range(200):
        s = time.perf_counter()
        one()
        times.append(time.perf_counter() - s)
    vary = {"batch": BATCHES, "context_len": CONTEXTS}
    s = time.perf_counter()
    model.sweep(vary, "cost_per_mtok", presets=PRESETS, given=GIVEN)
    grid_first = time.perf_counter() - s
    grid = []
    for _ in range(5):
        s = time.perf_counter()
        sweep = model.sweep(vary, "cost_per_mtok", presets=PRESETS, given=GIVEN)
        grid.append(time.perf_counter() - s)
    seeks = {}
    for price in PRICES:
        query = dict(maximize="context_len", where=[f"cost_per_mtok <= {price} USD/Mtok"],
                     vary={"batch": (1, 128)}, presets=PRESETS, given=GIVEN)
        s = time.perf_counter()
        model.seek(**query)
        first = time.perf_counter() - s
        warm = []
        for _ in range(5):
            s = time.perf_counter()
            answer = model.seek(**query)
            warm.append(time.perf_counter() - s)
        seeks[str(price)] = {"first": first, "seconds": statistics.median(warm),
                             "context": float(answer.value.magnitude),
                             "batch": float(answer.point["batch"].magnitude)}
    return {"startup": startup, "one": statistics.median(times),
            "one_cost": float(r["cost_per_mtok"].magnitude),
            "one_step_ms": float(r["step_time"].to("ms").magnitude), "grid_first": grid_first,
            "grid": min(grid), "grid_values": sweep.values("cost_per_mtok").tolist(),
            "seek": seeks}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", default=sys.executable,
                        help="a Python with llm-analysis installed")
    args = parser.parse_args()
    ours = costgraph_side()
    done = subprocess.run([args.peer_python, "-c", PEER], capture_output=True, text=True)
    if done.returncode:
        print(f"llm-analysis did not run with {args.peer_python}:\n{done.stderr[-2000:]}")
        return 1
    peer = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"llm-analysis {peer['version']}, costgraph: Llama-2-70B fp16, 4 x A100-80GB, "
          "$2/GPU-h\n")
    print("| question | costgraph | llm-analysis | llm-analysis / costgraph |")
    print("|---|---|---|---|")
    print(f"| one configuration (b64, ctx 4,096), median of 200 | {ours['one'] * 1e6:.0f} us "
          f"| {peer['one'] * 1e6:.0f} us | {peer['one'] / ours['one']:.2f} |")
    print(f"| 36-point grid, best of 5 (costgraph: sweep, compile reused) "
          f"| {ours['grid'] * 1e3:.2f} ms | {peer['grid'] * 1e3:.2f} ms "
          f"| {peer['grid'] / ours['grid']:.1f} |")
    print(f"| 36-point grid, first sweep (compile included) | {ours['grid_first'] * 1e3:.0f} "
          f"ms | | |")
    for price in PRICES:
        o, p = ours["seek"][str(price)], peer["seek"][str(price)]
        print(f"| longest context at <= {price:g} USD/Mtok (costgraph: seek, warm median of "
              f"5; llm-analysis: brute force, 8,192 points) | {o['seconds'] * 1e3:.1f} ms "
              f"| {p['seconds'] * 1e3:.0f} ms | {p['seconds'] / o['seconds']:.1f} |")
    print(f"| import and set up | {ours['startup'] * 1e3:.0f} ms | {peer['startup'] * 1e3:.0f}"
          f" ms | {peer['startup'] / ours['startup']:.2f} |")
    print("\nanswers (they differ by convention):")
    print(f"- b64 ctx 4,096: costgraph {ours['one_cost']:.3f} USD/Mtok, step "
          f"{ours['one_step_ms']:.1f} ms; llm-analysis {peer['one_cost']:.3f} USD/Mtok, step "
          f"{peer['one_step_ms']:.1f} ms")
    for price in PRICES:
        o, p = ours["seek"][str(price)], peer["seek"][str(price)]
        print(f"- <= {price:g} USD/Mtok: costgraph context {o['context']:,.0f} at batch "
              f"{o['batch']:.0f} (first query {o['first'] * 1e3:.0f} ms); llm-analysis "
              f"{p['context']:,} at batch {p['batch']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
