"""A tiny serving model for the validation and calibration tests, with numbers easy by hand.

At its `default` scenario: 10 GB of weights, 100 kB of KV per context token, 1 TB/s, 20 GB of
HBM, 100 TFLOP/s, 10 GFLOP per token, requests of 900 prompt and 100 output tokens. So a
request holds 1000 x 100 kB = 0.1 GB of KV and 100 requests fill the HBM; a step of batch b
reads 10 + 0.1 b GB in (10 + 0.1 b) ms and computes for 0.1 b ms (memory-bound at every
batch); the best rate is at b = 100: 100 / 20 ms = 5,000 token/s. The first token takes
900 x 10 GFLOP / 100 TFLOP/s = 90 ms.
"""

from __future__ import annotations

import textwrap

import yaml

import costgraph as cg

RULES = """
description: A tiny serving step for validation tests.
quantities:
  batch: {unit: request, description: requests in flight, integer: true, bounds: [1, null]}
  input_len: {unit: token, description: prompt tokens, bounds: [1, null]}
  output_len: {unit: token, description: output tokens, bounds: [1, null]}
  weight_bytes: {unit: GB, description: resident weights}
  kv_bytes_per_token: {unit: byte/token, description: KV per context token}
  hbm_bandwidth: {unit: TB/s, description: HBM bandwidth}
  hbm_capacity: {unit: GB, description: HBM capacity}
  peak_flops: {unit: TFLOP/s, description: peak compute}
  flops_per_token: {unit: GFLOP/token, description: work per token}
  bw_efficiency: {unit: "1", description: achieved share of the bandwidth, bounds: [0, 1]}
  flops_efficiency: {unit: "1", description: achieved share of the peak, bounds: [0, 1]}
  overhead: {unit: ms, description: a time no rule uses}
  hbm_required: {unit: GB, description: weights and the batch's KV}
  serving_memory_time: {unit: ms, description: the step's memory time}
  serving_compute_time: {unit: ms, description: the step's compute time}
  serving_step_time: {unit: ms, description: one step}
  serving_tokens_per_second: {unit: token/s, description: output rate of the replica}
  ttft: {unit: ms, description: time to first token}
  tpot: {unit: ms, description: time per output token}
rules:
  - id: m.required
    defines: hbm_required
    expr: "weight_bytes + batch * (input_len + output_len) * kv_bytes_per_token / {1 request}"
    description: weights and every request's KV at its full length
    source: "[derivation]"
  - id: s.memory
    defines: serving_memory_time
    expr: hbm_required / (hbm_bandwidth * bw_efficiency)
    description: the weights and the KV read once
    source: "[derivation]"
  - id: s.compute
    defines: serving_compute_time
    expr: "batch * {1 token/request} * flops_per_token / (peak_flops * flops_efficiency)"
    description: one token per request
    source: "[derivation]"
  - id: s.step
    defines: serving_step_time
    expr: max(serving_memory_time, serving_compute_time)
    description: the slower of the two
    source: "[derivation]"
  - id: s.rate
    defines: serving_tokens_per_second
    expr: "batch * {1 token/request} / serving_step_time"
    description: one token per request per step
    source: "[derivation]"
  - id: p.ttft
    defines: ttft
    expr: input_len * flops_per_token / (peak_flops * flops_efficiency)
    description: the prompt's FLOPs
    source: "[derivation]"
  - id: d.tpot
    defines: tpot
    expr: serving_step_time
    description: a token per step
    source: "[derivation]"
constraints:
  - id: m.fit
    expr: hbm_required <= hbm_capacity
    description: the batch fits
    source: "[derivation]"
"""

KINDS = """
description: Kinds for the validation tests.
kinds:
  stack: {description: serving software, compose: replace,
          requires: [bw_efficiency, flops_efficiency]}
  workload: {description: knobs, compose: merge}
  scenario: {description: the base layer, compose: replace}
"""

STACKS = """
kind: stack
description: Stacks.
presets:
  roofline:
    description: every efficiency 1
    source: "[derivation]"
    values: {bw_efficiency: 1, flops_efficiency: 1}
"""

SCENARIOS = """
kind: scenario
description: Scenarios.
presets:
  default:
    description: the tiny default
    source: "[derivation]"
    includes: [roofline]
    values:
      batch: 1 request
      input_len: 900 token
      output_len: 100 token
      weight_bytes: 10 GB
      kv_bytes_per_token: 100000 byte/token
      hbm_bandwidth: 1 TB/s
      hbm_capacity: 20 GB
      peak_flops: 100 TFLOP/s
      flops_per_token: 10 GFLOP/token
      overhead: 1 ms
"""

WORKLOADS = """
kind: workload
description: Workloads.
presets:
  heavy:
    description: a hundred times the FLOPs per token, so every step is compute-bound
    source: "[choice]"
    values: {flops_per_token: 1000 GFLOP/token}
  big-hbm:
    description: twice the HBM
    source: "[choice]"
    values: {hbm_capacity: 40 GB}
"""

SOURCES = """
description: The tiny bibliography.
entries:
  bench-page:
    author: A vendor
    title: A benchmark page
    date: 2025
    url: https://example.org/bench
"""


def make_model(make_rules):
    root = make_rules(core=RULES, presets={"kinds": KINDS, "stacks": STACKS,
                                           "scenarios": SCENARIOS, "workloads": WORKLOADS})
    (root / "sources.yaml").write_text(textwrap.dedent(SOURCES))
    return cg.load(root, cache=False)


def point(id, value, metric="max_throughput", presets=("default",), **keys):
    return {"id": id, "presets": list(presets), "metric": metric, "value": value,
            "software": "bench", "version": "1", "source": "[bench-page] table 1", **keys}


def write(path, points, description="Test points.", **defaults):
    data = {"description": description, **({"defaults": defaults} if defaults else {}),
            "points": points}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
