"""GPU power from the load: hand-computed draws, the power limit's cap, and what follows from it.

Every expected value is worked out here from preset figures (the essay's H200, the H100's
nvidia-smi idle floor, its busy share of the headroom and its MAMF rate), never copied from
the engine.
"""

from __future__ import annotations

import pytest

# `model` (the bundled rules, loaded once) comes from tests/conftest.py.

IDLE = 69.0                        # W, nvidia-smi-h100 (and the essay-h200's assumption)
LIMIT = 700.0                      # W, TDP of the H100 SXM, H200 and essay-h200
ACTIVE = IDLE + 0.418 * (LIMIT - IDLE)   # W, the busy floor: active_power_fraction of the headroom
PJ_PER_BIT = 3.9 + 4.7             # hbm_energy_per_bit + onchip_energy_per_bit
ESSAY_FLOP_J = (LIMIT - ACTIVE) / 989e12   # essay-h200: every precision at 989 TFLOP/s, sustained share 1
ESSAY_WEIGHTS = 70e9               # bytes: essay-70b, 70B parameters at FP8
ESSAY_KV_PER_TOKEN = 80 * 64 * 128 * 2 * 1   # bytes: 80 layers x 64 KV heads x head_dim x K and V x FP8
ESSAY_LAYER_FLOPS = 2 * 80 * (4 * 8192**2 + 2 * 8192 * 28672)   # FLOP/token, essay §2.1
ESSAY_ATTENTION_FLOPS = 2 * 64 * 128 * 2 * 80 * 4096            # q.k and the value sum over 4,096 positions
ESSAY_BANDWIDTH = 3.35e12          # byte/s


def mag(q, unit):
    return float(q.to(unit).magnitude)


def essay_power(batch):
    """The essay configuration's decode-step power worked out by hand (one GPU, no link)."""
    step_bytes = ESSAY_WEIGHTS + batch * ESSAY_KV_PER_TOKEN * 4096
    step_flops = batch * (ESSAY_LAYER_FLOPS + ESSAY_ATTENTION_FLOPS)
    energy = PJ_PER_BIT * 1e-12 * 8 * step_bytes + ESSAY_FLOP_J * step_flops
    step_time = step_bytes / ESSAY_BANDWIDTH      # memory-bound at both batches
    return ACTIVE + energy / step_time, energy, step_time


@pytest.mark.parametrize("batch", [1, 64])
def test_power_at_two_loads_matches_the_hand_computation(model, batch):
    watts, joules, seconds = essay_power(batch)
    r = model.solve(presets=["essay"], given={"batch": batch},
                    find=["gpu_power", "step_dynamic_energy", "step_time", "power_cap_factor"])
    assert mag(r["step_dynamic_energy"], "J") == pytest.approx(joules, rel=1e-3)
    assert mag(r["step_time"], "s") == pytest.approx(seconds, rel=1e-3)
    assert mag(r["gpu_power"], "W") == pytest.approx(watts, rel=1e-3)
    assert mag(r["power_cap_factor"], "") == 1


def test_hand_computed_essay_power_rises_with_the_load():
    # The two loads differ: at batch 64 the FLOPs (and their energy) grow while the step's
    # time grows only with the KV it reads, so power rises with the load.
    one, many = essay_power(1)[0], essay_power(64)[0]
    assert ACTIVE < one < many < LIMIT
    assert many - one > 10
    assert many == pytest.approx(588.04, abs=0.01)  # what the audit of the essay reports


def test_the_power_limit_stretches_a_compute_bound_step(model):
    # Llama-3.1-8B in BF16 on an H100 at the datasheet peak (the roofline stack), batch 256 of
    # 64-token requests: at full clock the matmuls alone would draw the busy floor plus the
    # headroom over 0.803 (the datasheet peak over the sustained rate), above the limit, so
    # the GPU clocks down until the step's energy is spent at 700 W less the busy floor.
    presets = ["h100-sxm", "llama-3.1-8b", "bf16", "roofline"]
    given = {"batch": 256, "input_len": "64 token", "output_len": "64 token"}
    r = model.solve(presets=presets, given=given,
                    find=["full_clock_step_time", "step_time", "step_dynamic_energy",
                          "gpu_power", "power_cap_factor", "flop_energy_fp16"])
    assert mag(r["flop_energy_fp16"], "pJ/FLOP") == pytest.approx(
        (LIMIT - ACTIVE) / (989 * 0.803), rel=1e-9)
    capped = mag(r["step_dynamic_energy"], "J") / (LIMIT - ACTIVE)
    assert mag(r["step_time"], "s") == pytest.approx(capped, rel=1e-9)
    assert mag(r["full_clock_step_time"], "s") < capped
    assert mag(r["gpu_power"], "W") == pytest.approx(LIMIT, rel=1e-9)
    factor = mag(r["full_clock_step_time"], "s") / capped
    assert mag(r["power_cap_factor"], "") == pytest.approx(factor, rel=1e-9)
    assert factor < 0.9


def test_gpu_power_rises_with_batch_and_stays_under_the_limit(model):
    # Up to batch 128; beyond, the stack's time per request (spent at the busy floor) grows
    # faster than the step's energy and the average draw levels off. The busy floor is most of
    # the draw (ML.ENERGY's H100s rise about 180 W from batch 16 to 256 on Llama 3.1 8B).
    watts = []
    for batch in (1, 8, 32, 64, 128, 256, 512):
        r = model.solve(given={"batch": batch}, find=["gpu_power", "gpu_power_limit"])
        watts.append(mag(r["gpu_power"], "W"))
        assert watts[-1] <= mag(r["gpu_power_limit"], "W") + 1e-9
    assert watts[:5] == sorted(watts[:5]) and watts[0] < watts[4] - 100


def test_cost_shares_differ_between_batch_1_and_batch_128(model):
    find = ["power_share", "capital_share", "facility_share", "gpu_power"]
    one = model.solve(given={"batch": 1}, find=find)
    many = model.solve(given={"batch": 128}, find=find)
    assert mag(many["gpu_power"], "W") > mag(one["gpu_power"], "W")
    # The power layer is the draw over the tokens; a bigger batch spreads a higher draw over
    # many more tokens, and its share of the whole moves.
    assert mag(many["power_share"], "") != pytest.approx(mag(one["power_share"], ""), rel=0.05)
    assert mag(many["power_share"], "") > mag(one["power_share"], "")
    assert mag(many["capital_share"], "") < mag(one["capital_share"], "")


def test_power_follows_precision_and_hardware(model):
    fp8 = model.solve(find=["gpu_power"])["gpu_power"]
    bf16 = model.solve(presets=["default", "bf16", "h200"], given={"batch": 16},
                       find=["gpu_power"])["gpu_power"]
    b200 = model.solve(presets=["b200"], find=["gpu_power"])["gpu_power"]
    assert len({round(mag(q, "W"), 3) for q in (fp8, bf16, b200)}) == 3


def test_flop_energy_is_the_power_above_the_busy_floor_over_the_sustained_rate(model):
    r = model.solve(presets=["h100-sxm"], find=["flop_energy_fp16", "flop_energy_fp8", "flop_energy",
                                                "gpu_active_power"])
    assert mag(r["gpu_active_power"], "W") == pytest.approx(69 + 0.418 * 631, rel=1e-9)
    assert mag(r["flop_energy_fp16"], "pJ/FLOP") == pytest.approx((LIMIT - ACTIVE) / 794.2, rel=1e-3)
    assert mag(r["flop_energy_fp8"], "pJ/FLOP") == pytest.approx(
        (LIMIT - ACTIVE) / (1979 * 0.709), rel=1e-9)
    assert mag(r["flop_energy"], "pJ/FLOP") == pytest.approx(mag(r["flop_energy_fp8"], "pJ/FLOP"))


def test_a_given_gpu_power_still_prices_a_fixed_draw(model):
    r = model.solve(given={"gpu_power": "700 W"}, find=["power_cost_per_gpu_hour"])
    assert mag(r["power_cost_per_gpu_hour"], "USD/h") == pytest.approx(0.7 * 0.07 / 0.65, rel=1e-9)
