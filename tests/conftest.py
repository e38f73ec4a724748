"""Shared fixtures: the bundled model (loaded once) and tiny rule folders built in tmp_path."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import textwrap
from pathlib import Path

# the on-disk cache goes to a folder of this run's own, never the user's: set before costgraph
# is imported (its unit registry reads the cache), and inherited by every command run
_CACHE_DIR = tempfile.mkdtemp(prefix="costgraph-test-cache-")
os.environ["COSTGRAPH_CACHE_DIR"] = _CACHE_DIR
atexit.register(shutil.rmtree, _CACHE_DIR, ignore_errors=True)

import pytest  # noqa: E402

import costgraph as cg  # noqa: E402


@pytest.fixture(scope="session")
def model():
    """The bundled rules, loaded once for the whole session."""
    return cg.load()


@pytest.fixture
def make_rules(tmp_path):
    """Write a tiny rules folder: make_rules(core="yaml text", presets={"p": "yaml"}) -> Path."""

    def make(presets: dict[str, str] | None = None, **files: str) -> Path:
        root = tmp_path / "rules"
        (root / "presets").mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (root / f"{name}.yaml").write_text(textwrap.dedent(text))
        for name, text in (presets or {}).items():
            (root / "presets" / f"{name}.yaml").write_text(textwrap.dedent(text))
        return root

    return make


TINY_RULES = """
description: A small decode-cost chain for engine tests.
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
  - id: m.bytes
    defines: bytes_per_step
    expr: weight_bytes + batch * context_len * kv_bytes_per_token / {1 request}
    description: weights once, KV per sequence
    source: test
  - id: m.memory_time
    defines: memory_time
    expr: bytes_per_step / hbm_bandwidth
    description: bytes over bandwidth
    source: test
  - id: c.compute_time
    defines: compute_time
    expr: batch * {1 token/request} * flops_per_token / peak_flops
    description: FLOPs over peak
    source: test
  - id: t.step
    defines: step_time
    expr: max(memory_time, compute_time)
    description: the slower of the two
    source: test
  - id: t.tps
    defines: tokens_per_second
    expr: batch * {1 token/request} / step_time
    description: one token per sequence per step
    source: test
  - id: c.cost
    defines: cost_per_mtok
    expr: gpu_hour_price / tokens_per_second
    description: price over rate
    source: test
constraints:
  - id: m.fit
    expr: bytes_per_step <= hbm_capacity
    description: the step's bytes fit in HBM
    source: test
"""

TINY_PRESETS = """
kind: scenario
description: Test scenarios.
presets:
  default:
    description: A 70B-like model at FP8 on an H200-like GPU.
    source: test
    values:
      batch: 64
      context_len: 4096 token
      kv_bytes_per_token: 163840 byte/token
      weight_bytes: 70 GB
      hbm_bandwidth: 4.8 TB/s
      hbm_capacity: 141 GB
      peak_flops: 1979 TFLOP/s
      flops_per_token: 140 GFLOP/token
      gpu_hour_price: 3 USD/h
"""


@pytest.fixture
def tiny(make_rules):
    """A Model over the small decode-cost chain above."""
    return cg.load(make_rules(core=TINY_RULES, presets={"scenarios": TINY_PRESETS}), cache=False)
