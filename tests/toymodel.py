"""A tiny rule set for the sweep, levers, uncertainty, Pareto and plot tests.

A decode step that is memory-bound at small batch and compute-bound at large batch (a max()),
a fit constraint, a price per hour over utilisation, and one input of each distribution, so
every branch of the code under test can be reached with numbers checkable by hand.
"""

RULES = """
description: A toy serving model.
quantities:
  batch: {unit: request, description: Requests per step., bounds: [1, null], integer: true}
  context_len: {unit: token, description: Context per request., bounds: [1, null]}
  weight_bytes: {unit: GB, description: Weights.}
  kv_per_token: {unit: MB/token, description: KV held per context token.}
  bandwidth: {unit: TB/s, description: Memory bandwidth.}
  flops_per_token: {unit: GFLOP/token, description: Work per generated token.}
  peak: {unit: TFLOP/s, description: Peak arithmetic.}
  capacity: {unit: GB, description: Memory capacity.}
  price_per_hour: {unit: USD/h, description: Price of the machine.}
  utilisation: {unit: "1", description: Busy fraction., bounds: [0, 1]}
  memory_time: {unit: s, description: Time to read the step's bytes.}
  compute_time: {unit: s, description: Time of the step's arithmetic.}
  step_time: {unit: s, description: The slower of the two.}
  tokens_per_second: {unit: token/s, description: Output rate.}
  hbm_required: {unit: GB, description: Weights and KV.}
  cost_per_mtok: {unit: USD/Mtok, description: Cost per 1M tokens.}
  part_a: {unit: USD, description: One addend.}
  part_b: {unit: USD, description: Another addend.}
  total: {unit: USD, description: Their sum.}
rules:
  - id: toy.hbm_required
    defines: hbm_required
    expr: "weight_bytes + batch * context_len * kv_per_token / {1 request}"
    description: Weights plus the batch's KV.
    source: test
  - id: toy.memory_time
    defines: memory_time
    expr: hbm_required / bandwidth
    description: Read everything once.
    source: test
  - id: toy.compute_time
    defines: compute_time
    expr: "batch * {1 token/request} * flops_per_token / peak"
    description: One token per request.
    source: test
  - id: toy.step_time
    defines: step_time
    expr: max(memory_time, compute_time)
    description: Overlapped.
    source: test
  - id: toy.tokens_per_second
    defines: tokens_per_second
    expr: "batch * {1 token/request} / step_time"
    description: One token per request per step.
    source: test
  - id: toy.cost_per_mtok
    defines: cost_per_mtok
    expr: price_per_hour / utilisation / tokens_per_second
    description: Productive hours over tokens.
    source: test
  - id: toy.total
    defines: total
    expr: part_a + part_b
    description: A sum, so variance shares are known exactly.
    source: test
constraints:
  - id: toy.fit
    expr: hbm_required <= capacity
    description: It fits.
    source: test
"""

PRESETS = """
kind: scenario
description: Toy points.
presets:
  default:
    description: The toy point.
    source: test
    values:
      batch: 8 request
      context_len: 1000 token
      weight_bytes: 10 GB
      kv_per_token: 0.1 MB/token
      bandwidth: {value: 2 TB/s, sd: 0.1 TB/s, distribution: normal}
      flops_per_token: 20 GFLOP/token
      peak: 100 TFLOP/s
      capacity: 80 GB
      price_per_hour: {value: 2 USD/h, low: 1.5 USD/h, high: 3 USD/h, distribution: triangular}
      utilisation: {value: 0.6, low: 0.4, high: 0.8, distribution: uniform}
      part_a: {value: 0.5 USD, low: 0 USD, high: 1 USD, distribution: uniform}
      part_b: {value: 1 USD, low: 0 USD, high: 2 USD, distribution: uniform}
  lognormal-price:
    description: The price as a lognormal.
    source: test
    values:
      price_per_hour: {value: 2 USD/h, low: 1 USD/h, high: 4 USD/h, distribution: lognormal}
  wide-utilisation:
    description: A normal so wide it must be cut at the bound of 1.
    source: test
    values:
      utilisation: {value: 0.9, sd: 0.3, distribution: normal}
  fast:
    description: Twice the bandwidth.
    source: test
    values:
      bandwidth: 4 TB/s
"""


def build(make_rules):
    """Write the toy rules with ``make_rules`` (the conftest fixture) and load them."""
    import costgraph as cg

    return cg.load(make_rules(core=RULES, presets={"toy": PRESETS}), cache=False)

# x is solved from a given z through exp(): sympy is not asked to rearrange it (no closed
# form), so the bracketed root-finder runs
INVERTED_RULES = """
description: An input solved numerically from a given value (the unknown sits inside exp).
quantities:
  x: {unit: "", description: the unknown, bounds: [0, 50]}
  y: {unit: "", description: a term through another rule}
  z: {unit: "", description: what is given}
rules:
  - {id: r.y, defines: y, expr: x + exp(x), description: y, source: test}
  - {id: r.z, defines: z, expr: 2 * y, description: z, source: test}
"""
