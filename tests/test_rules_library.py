"""The bundled rule library against hand-derived facts and the traps it must not fall into.

Every expected value here is worked out from a formula and a cited figure
(../shared/reference/facts.md, the essay's own inputs), never copied from the engine.
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pytest

import costgraph as cg
from costgraph.units import parse_quantity

# `model` (the bundled rules, loaded once) comes from tests/conftest.py.
LAYERS = ("capital", "power", "facility", "nand", "network", "labour")

# Llama-3-70B (facts.md §2.1)
L70, D70, FF70, H70, KV70, HD70, V70 = 80, 8192, 28672, 64, 8, 128, 128256


def solve(model, presets, find, given=None):
    return model.solve(given=given or {}, find=list(find), presets=list(presets))


def mag(q, unit):
    return float(q.to(unit).magnitude)


def status(result, cid):
    return next(c for c in result.constraints if c.id == cid)


def preset_stack(hw="h200", mdl="llama-3-70b", prec="fp8", batch=64, ctx="ctx-4k", tp=1,
                 conv="conventions-costgraph"):
    return [hw, mdl, prec, "essay-facility", f"batch-{batch}", ctx, "out-256", f"tp{tp}", conv]


# --- architecture: facts, not tuning ------------------------------------------------------


def test_llama_3_70b_parameter_count(model):
    r = solve(model, ["llama-3-70b"], ["n_params"])
    n = mag(r["n_params"], "")
    assert abs(n / 70.55e9 - 1) < 0.005
    layer = D70 * HD70 * (2 * H70 + 2 * KV70) + 3 * D70 * FF70 + 2 * D70
    assert n == L70 * layer + D70 + 2 * V70 * D70  # untied: embedding and LM head


def test_llama_3_8b_parameter_count(model):
    r = solve(model, ["llama-3-8b"], ["n_params"])
    assert abs(mag(r["n_params"], "") / 8.03e9 - 1) < 0.005


def test_qwen_counts_its_qkv_bias(model):
    r = solve(model, ["qwen2.5-72b"], ["n_params"])
    assert abs(mag(r["n_params"], "") / 72.706e9 - 1) < 0.001  # facts.md §2.2


def test_kv_bytes_per_token_llama_3_70b_fp16_exact(model):
    r = solve(model, ["llama-3-70b", "fp16"], ["kv_bytes_per_token"])
    assert mag(r["kv_bytes_per_token"], "byte/token") == 2 * 80 * 8 * 128 * 2 == 327_680


def test_grouped_query_attention_is_exact(model):
    """Eight KV heads, not 64: the essay's MHA assumption is eight times the real cache."""
    real = solve(model, ["llama-3-70b", "fp8"], ["kv_bytes_per_token"])
    essay = solve(model, ["essay-70b", "fp8"], ["kv_bytes_per_token"])
    assert mag(essay["kv_bytes_per_token"], "byte/token") == 2 * 80 * 64 * 128
    assert mag(essay["kv_bytes_per_token"] / real["kv_bytes_per_token"], "") == pytest.approx(8)


def test_essay_70b_weight_flops_reproduce_118_gflop(model):
    r = solve(model, ["essay"], ["weight_flops_per_token", "attention_flops_per_token",
                                             "flops_per_token"])
    expected = 2 * 80 * (4 * 8192**2 + 2 * 8192 * 28672)  # essay §2.1's own formula
    got = mag(r["weight_flops_per_token"], "FLOP/token")
    assert got == expected
    assert abs(got / 118.2e9 - 1) < 1e-3  # the essay rounds 118.11 up to 118.2
    attention = 4 * 80 * 64 * 128 * 4096  # separate term, over the 4K context
    assert mag(r["attention_flops_per_token"], "FLOP/token") == attention
    assert mag(r["flops_per_token"], "FLOP/token") == pytest.approx(expected + attention, rel=1e-12)


def test_lm_head_flops_are_in_real_models(model):
    r = solve(model, ["llama-3-70b"], ["weight_flops_per_token"])
    layer = D70 * HD70 * (2 * H70 + 2 * KV70) + 3 * D70 * FF70
    assert mag(r["weight_flops_per_token"], "FLOP/token") == 2 * (L70 * layer + V70 * D70)


# --- default and essay scenarios ----------------------------------------------------------


def test_matmuls_add_the_share_of_their_shorter_time_they_do_not_hide(model):
    """Llama-3.1-70B FP8 on one H200 at batch 191 under trtllm-0.17: its weight matmuls sit at
    the ridge, where the fitted matmul_overlap_loss adds most of the shorter time, by hand."""
    r = model.solve(presets=["h200", "llama-3.1-70b", "fp8", "trtllm-0.17"],
                    given={"batch": 191}, find=["gemm_time", "lm_head_time"])
    layer_params = L70 * (D70 * HD70 * (2 * H70 + 2 * KV70) + 3 * D70 * FF70 + 2 * D70) + D70
    read = layer_params / (0.825 * 4.8e12)  # FP8 weights, one byte, at the stack's bandwidth
    flops = 191 * 2 * (layer_params - L70 * 2 * D70 - D70) / (0.946 * 0.734 * 1979e12)
    assert 0.8 < flops / read < 1.25  # at the ridge: the two times nearly equal
    by_hand = max(read, flops) + 0.917 * min(read, flops)
    assert mag(r["gemm_time"], "s") == pytest.approx(by_hand, rel=1e-9)
    roofline = model.solve(presets=["h200", "llama-3.1-70b", "fp8", "trtllm-0.17"],
                           given={"batch": 191, "matmul_overlap_loss": 0}, find=["gemm_time"])
    assert mag(roofline["gemm_time"], "s") == pytest.approx(max(read, flops), rel=1e-9)
    head_read = V70 * D70 * 2 / (0.825 * 4.8e12)  # the LM head at 16 bits
    head_flops = 191 * 2 * V70 * D70 / (0.946 * 0.803 * 989e12)
    assert mag(r["lm_head_time"], "s") == pytest.approx(
        max(head_read, head_flops) + 0.917 * min(head_read, head_flops), rel=1e-9)


def test_attention_rereads_a_query_groups_kv_on_the_old_kernel(model):
    """TensorRT-LLM 0.6.1's decode attention ran one thread block per query head, so each of
    Llama-2-70B's eight query heads per KV head streamed its group's FP8 cache, 36% of the
    rereads reaching HBM: batch 480 at 128 -> 2,048 on four H100s, by hand."""
    given = {"batch": 480, "input_len": "128 token", "output_len": "2048 token"}
    presets = ["h100-sxm", "llama-2-70b", "fp8", "tp4", "trtllm-0.5"]
    find = ["attention_time", "kv_read_amplification", "bytes_per_step",
            "weight_bytes_read_per_step"]
    r = model.solve(presets=presets, given=given, find=find)
    amplification = 1 + 0.36 * (H70 // KV70 - 1)  # the first read, then 7 rereads at 36%
    assert mag(r["kv_read_amplification"], "") == pytest.approx(amplification, rel=1e-12)
    kv_per_request = 2 * L70 * KV70 * HD70 * 1 * (128 + 2048)  # K and V, one byte, whole context
    by_hand = amplification * 480 * kv_per_request / (3.35e12 * 0.688 * 4)
    assert mag(r["attention_time"], "s") == pytest.approx(by_hand, rel=1e-9)
    kv_moved = mag(r["bytes_per_step"] - r["weight_bytes_read_per_step"], "byte")
    assert kv_moved == pytest.approx(amplification * 480 * kv_per_request, rel=1e-9)  # energy too
    xqa = model.solve(presets=presets, given={**given, "kv_group_reread_share": 0}, find=find)
    assert mag(xqa["attention_time"], "s") == pytest.approx(by_hand / amplification, rel=1e-9)
    mha = model.solve(presets=["h100-sxm", "essay-70b", "fp8", "trtllm-0.5"], given=given,
                      find=["kv_read_amplification"])  # one query head per KV head: no rereads
    assert mag(mha["kv_read_amplification"], "") == 1


def test_host_step_overhead_lengthens_every_step_at_the_busy_floor(model):
    """vLLM 0.5's host work, 19.7 ms a step, on Llama 3.1 8B on one H100 at batch 64: it adds
    to every step and every prompt's pass, and the waiting GPU draws its busy floor."""
    given = {"batch": 64, "input_len": "1000 token", "output_len": "717 token"}
    presets = ["h100-sxm", "llama-3.1-8b", "bf16", "vllm-0.5"]
    find = ["step_overhead_time", "prefill_overhead_time", "serving_step_time",
            "gpu_energy_per_token", "gpu_active_power"]
    r = model.solve(presets=presets, given=given, find=find)
    none = model.solve(presets=presets, given={**given, "host_step_overhead": "0 ms"}, find=find)
    layers = 32 * 32.2e-6  # the vllm stack's time per layer, Llama 3.1 8B's 32 layers
    assert mag(r["step_overhead_time"], "s") == pytest.approx(
        layers + 64 * 2.81e-6 + 19.7e-3, rel=1e-9)
    assert mag(r["prefill_overhead_time"], "s") == pytest.approx(layers + 19.7e-3, rel=1e-9)
    assert mag(r["serving_step_time"] - none["serving_step_time"], "s") == pytest.approx(
        19.7e-3, rel=1e-9)
    floor = mag(r["gpu_active_power"], "W")
    assert floor == pytest.approx(69 + 0.418 * (700 - 69), rel=1e-3)  # idle + share of headroom
    extra = mag(r["gpu_energy_per_token"] - none["gpu_energy_per_token"], "J/token")
    assert extra == pytest.approx(19.7e-3 * floor / 64, rel=1e-9)


def test_vllm_0_5_host_time_is_its_profiles_share_and_carries_to_the_70b(model):
    """The vllm-0.5 stack's host time is vLLM's own profile of 0.5.3 (GPU 38% of the time,
    host 62%) applied to the vllm stack's step of the 8B on one H100 at batch 64; the same
    time on the 70B over four H100s predicts the post's 1.8x from 0.6.0 within 10%."""
    given = {"batch": 64, "input_len": "1000 token", "output_len": "717 token"}
    gpu_8b = model.solve(presets=["h100-sxm", "llama-3.1-8b", "bf16", "vllm"], given=given,
                         find=["serving_step_time"])
    host = mag(gpu_8b["serving_step_time"], "ms") * 0.62 / 0.38
    stack = model.solve(presets=["vllm-0.5"], find=["host_step_overhead"])
    assert mag(stack["host_step_overhead"], "ms") == float(f"{host:.3g}")
    gpu_70b = model.solve(presets=["h100-sxm", "llama-3.1-70b", "bf16", "tp4", "vllm"],
                          given=given, find=["serving_step_time"])
    slowdown = 1 + host / mag(gpu_70b["serving_step_time"], "ms")
    assert abs(slowdown / 1.8 - 1) < 0.10


def test_default_answers_and_explains_every_layer(model):
    r = model.solve(presets=["default"], find=["cost_per_mtok"])
    assert 0 < mag(r["cost_per_mtok"], "USD/Mtok") < 100
    text = r.explain("cost_per_mtok")
    for layer in LAYERS:
        assert f"{layer}_cost_per_gpu_hour" in text
    for leaf in ("gpu_price", "power_price", "pue", "utilisation", "hbm_bandwidth",
                 "kv_bytes_per_token", "n_params", "peak_flops"):
        assert leaf in text


def test_default_is_memory_bound_at_hand_derived_step_time(model):
    """The default decode step, operator by operator, by hand: every operator waits on HBM at
    the trtllm stack's 90% of 4.8 TB/s, and the stack adds its time per layer and per request."""
    names = ["step_time", "memory_time", "compute_time", "gemm_time", "lm_head_time",
             "attention_time", "activation_time", "step_overhead_time"]
    r = model.solve(presets=["default"], find=names)
    bw = 0.9 * 4.8e12
    layers = L70 * (D70 * HD70 * (2 * H70 + 2 * KV70) + 3 * D70 * FF70 + 2 * D70) + D70  # FP8: 1 B
    lm_head = V70 * D70 * 2  # kept at 16 bits; the embedding is only gathered
    kv = 64 * 4096 * 2 * 80 * 8 * 128  # FP8: one byte per element
    activations = 64 * L70 * (8 * D70 + 3 * FF70) * 2  # BF16 activations between the matmuls
    assert mag(r["memory_time"], "s") == pytest.approx((layers + lm_head + kv) / bw, rel=1e-12)
    assert mag(r["gemm_time"], "s") == pytest.approx(layers / bw, rel=1e-12)
    assert mag(r["lm_head_time"], "s") == pytest.approx(lm_head / bw, rel=1e-12)
    assert mag(r["attention_time"], "s") == pytest.approx(kv / bw, rel=1e-12)
    assert mag(r["activation_time"], "s") == pytest.approx(activations / bw, rel=1e-12)
    overhead = L70 * 89.9e-6 + 64 * 2.81e-6  # the trtllm stack's fitted fixed costs
    assert mag(r["step_overhead_time"], "s") == pytest.approx(overhead, rel=1e-12)
    assert r["compute_time"] < r["memory_time"]
    by_hand = (layers + lm_head + kv + activations) / bw + overhead  # TP1: no comm
    assert mag(r["step_time"], "s") == pytest.approx(by_hand, rel=1e-12)


@pytest.mark.parametrize("presets", [["default"], ["essay"],
                                     preset_stack(hw="h100-sxm", prec="fp16", tp=4)])
def test_layer_shares_sum_to_one(model, presets):
    r = solve(model, presets, [f"{n}_share" for n in LAYERS] + ["cost_per_mtok"]
              + [f"{n}_cost_per_mtok" for n in LAYERS])
    assert sum(mag(r[f"{n}_share"], "") for n in LAYERS) == pytest.approx(1, rel=1e-12)
    total = sum(mag(r[f"{n}_cost_per_mtok"], "USD/Mtok") for n in LAYERS)
    assert total == pytest.approx(mag(r["cost_per_mtok"], "USD/Mtok"), rel=1e-12)
    assert all(mag(r[f"{n}_share"], "") > 0 for n in LAYERS)


def test_essay_scenario_does_not_fit_batch_64_at_4k(model):
    """By hand: 70 GB of weights + 64 x 4096 x 2x80x64x128 B of FP8 KV = 413.6 GB > 141 GB."""
    r = model.solve(presets=["essay"], find=["hbm_required", "hbm_headroom", "max_batch_fit"])
    kv_request = 4096 * 2 * 80 * 64 * 128  # 5.37 GB per sequence
    need = 70e9 + 64 * kv_request
    assert mag(r["hbm_required"], "byte") == pytest.approx(need, rel=1e-12)
    fit = status(r, "memory.hbm_fit")
    assert fit.holds is False
    assert mag(fit.slack, "GB") == pytest.approx((141e9 - need) / 1e9, rel=1e-9)  # -272.6 GB
    assert mag(r["hbm_headroom"], "GB") == pytest.approx((141e9 - need) / 1e9, rel=1e-9)
    assert mag(r["max_batch_fit"], "request") == math.floor((141e9 - 70e9) / kv_request) == 13


def test_default_scenario_fits(model):
    r = model.solve(presets=["default"], find=["hbm_required"])
    assert status(r, "memory.hbm_fit").holds is True
    assert status(r, "context.max_context").holds is True


def test_essay_70b_n_params_is_stated_not_derived(model):
    """The essay's shape adds up to ~59.1e9 parameters, not the 70e9 it uses."""
    r = model.solve(presets=["essay"], find=["weight_bytes", "layer_params"])
    assert mag(r["weight_bytes"], "GB") == pytest.approx(70)
    shape = 80 * (4 * 8192**2 + 2 * 8192 * 28672 + 2 * 8192) + 8192
    assert mag(r["layer_params"], "") * 80 + 8192 == shape


# --- traps ---------------------------------------------------------------------------------


def test_trap_gb_versus_gib(model):
    gb = solve(model, ["default"], ["hbm_headroom", "memory_time"],
               given={"device_memory": "141 GB", "hbm_bandwidth": "4800 GB/s"})
    gib = solve(model, ["default"], ["hbm_headroom", "memory_time"],
                given={"device_memory": "141 GiB", "hbm_bandwidth": "4800 GiB/s"})
    # the engine's KV pool is kv_cache_memory_fraction (0.9) of what the weights leave over
    extra = 0.9 * 141 * (2**30 - 1e9)
    assert mag(gib["hbm_headroom"] - gb["hbm_headroom"], "byte") == pytest.approx(extra, rel=1e-9)
    assert mag(gb["memory_time"] / gib["memory_time"], "") == pytest.approx(2**30 / 1e9, rel=1e-12)


def test_trap_tied_versus_untied_embeddings(model):
    find = ["n_params", "weight_bytes_read_per_step"]
    untied = solve(model, ["default"], find)
    tied = solve(model, ["default"], find, given={"tied_embeddings": 1})
    assert mag(untied["n_params"] - tied["n_params"], "") == V70 * D70  # one matrix fewer
    # the same LM head is read every step either way
    assert mag(tied["weight_bytes_read_per_step"], "byte") == pytest.approx(
        mag(untied["weight_bytes_read_per_step"], "byte"), rel=1e-12)


def test_trap_per_gpu_versus_per_replica(model):
    find = ["tokens_per_second", "tokens_per_second_per_gpu", "cost_per_mtok",
            "cost_per_gpu_hour", "memory_time", "bytes_per_step", "hbm_required_per_gpu",
            "hbm_required", "tp_comm_time"]
    r = solve(model, preset_stack(hw="h100-sxm", prec="fp16", tp=4), find)
    assert mag(r["tokens_per_second_per_gpu"] * 4 / r["tokens_per_second"], "") == pytest.approx(1)
    per_token = r["cost_per_gpu_hour"] * 4 / r["tokens_per_second"]
    assert mag(r["cost_per_mtok"], "USD/Mtok") == pytest.approx(mag(per_token, "USD/Mtok"))
    # the trtllm stack streams at 0.9 of 3.35 TB/s on each of the four GPUs
    assert mag(r["memory_time"], "s") == pytest.approx(
        mag(r["bytes_per_step"], "byte") / (4 * 0.9 * 3.35e12))
    assert mag(r["hbm_required_per_gpu"] * 4 / r["hbm_required"], "") == pytest.approx(1)
    # 2 all-reduces x 80 layers: each a fixed 22.5 us x log2(4) steps of latency, and
    # 2(4-1)/4 x 64 x 8192 x 2 bytes at 0.739 of the 450 GB/s link
    latency = 2 * 80 * 22.5e-6 * 2
    transfer = 2 * 80 * 2 * 3 / 4 * 64 * 8192 * 2 / (0.739 * 450e9)
    assert mag(r["tp_comm_time"], "s") == pytest.approx(latency + transfer, rel=1e-12)


def test_trap_percentage_used_as_fraction(model):
    with pytest.raises(cg.errors.CostgraphError, match="fraction"):
        solve(model, ["default"], ["cost_per_mtok"], given={"utilisation": 65})
    as_percent = solve(model, ["default"], ["cost_per_mtok"], given={"utilisation": "65 percent"})
    plain = solve(model, ["default"], ["cost_per_mtok"])
    assert mag(as_percent["cost_per_mtok"], "USD/Mtok") == pytest.approx(mag(plain["cost_per_mtok"], "USD/Mtok"))


def test_trap_unfit_config_gets_throughput_but_is_flagged(model):
    """Llama-3-70B in FP16 (141 GB of weights) on one 80 GB H100."""
    r = solve(model, preset_stack(hw="h100-sxm", prec="fp16", batch=1), ["tokens_per_second"])
    assert mag(r["tokens_per_second"], "token/s") > 0
    fit = status(r, "memory.hbm_fit")
    # 141.1 GB of weights and a 6 GB workspace in the 85.52 GB the device exposes, and the
    # request's 1.3 GB of KV: the slack is the whole shortfall
    weights = 2 * (L70 * (D70 * HD70 * (2 * H70 + 2 * KV70) + 3 * D70 * FF70 + 2 * D70) + D70
                   + 2 * V70 * D70)
    shortfall = 85.52e9 - weights - 6e9 - 4096 * 327_680
    assert fit.holds is False
    assert mag(fit.slack, "byte") == pytest.approx(shortfall, rel=1e-9)


def test_trap_output_tokens_only(model):
    """Throughput counts one output token per sequence per step; prompt tokens are not priced."""
    r = model.solve(presets=["default"], find=["tokens_per_second", "step_time"])
    assert mag(r["tokens_per_second"] * r["step_time"], "token") == pytest.approx(64)


def test_trap_context_beyond_the_model(model):
    r = solve(model, ["default"], ["step_time"], given={"context_len": "262144 token"})
    assert status(r, "context.max_context").holds is False  # Llama 3.1 70B: 131,072
    r = solve(model, ["default", "llama-3-70b"], ["step_time"], given={"context_len": "32768 token"})
    assert status(r, "context.max_context").holds is False  # Llama 3 70B: 8,192


# --- the utilisation policy and conventions ------------------------------------------------


def test_utilisation_divides_every_layer_alike(model):
    find = [f"{n}_cost_per_gpu_hour" for n in LAYERS]
    full = solve(model, ["default"], find, given={"utilisation": 1})
    half = solve(model, ["default"], find, given={"utilisation": 0.5})
    for name in find:
        assert mag(half[name] / full[name], "") == pytest.approx(2, rel=1e-12), name


def test_kv_rw_factor_doubles_only_the_kv_traffic(model):
    find = ["bytes_per_step", "weight_bytes_read_per_step", "kv_bytes_per_request"]
    once = solve(model, ["default"], find)
    twice = solve(model, ["default"], find, given={"kv_rw_factor": 2})
    kv = once["kv_bytes_per_request"] * parse_quantity("64 request")
    assert mag(twice["bytes_per_step"] - once["bytes_per_step"], "byte") == pytest.approx(mag(kv, "byte"))


def test_count_tp_comm_switches_communication(model):
    stack = preset_stack(hw="h100-sxm", prec="fp16", tp=4)
    on = solve(model, stack, ["step_time", "tp_comm_time"])
    off = solve(model, stack, ["step_time"], given={"count_tp_comm": 0})
    assert mag(on["step_time"] - off["step_time"], "s") == pytest.approx(mag(on["tp_comm_time"], "s"))
    assert mag(on["tp_comm_time"], "s") > 0


def test_context_average_factor_prices_the_mean_step(model):
    # the default request: 3,840 prompt tokens and 256 output tokens, so its context reaches
    # 4,096; the mean of its first (3,840) and last (4,096) decode steps is 3,968
    r = solve(model, ["default"], ["effective_context_len", "context_len"],
              given={"context_average_factor": 0.5})
    assert mag(r["context_len"], "token") == 3840 + 256
    assert mag(r["effective_context_len"], "token") == 3840 + 0.5 * 256


def test_peak_flops_follows_the_compute_precision(model):
    for prec, tflops in (("fp16", 989), ("fp8", 1979), ("fp4", 1979)):
        r = solve(model, ["default", prec], ["peak_flops"])
        assert mag(r["peak_flops"], "TFLOP/s") == tflops, prec
    r = solve(model, ["default", "b200", "fp4"], ["peak_flops"])
    assert mag(r["peak_flops"], "TFLOP/s") == 9000


def test_peer_first_principles_row(model):
    """peer-numbers.md: Llama-3-70B, H200, TP1, batch 1, 2048 context, fp16 -> 29.1 ms."""
    r = solve(model, preset_stack(prec="fp16", batch=1, ctx="ctx-2k",
                                  conv="conventions-first-principles") + ["roofline"],
              ["step_time"])
    read = (L70 * (D70 * HD70 * (2 * H70 + 2 * KV70) + 3 * D70 * FF70 + 2 * D70) + D70 + V70 * D70) * 2
    kv = 2048 * 327_680
    assert mag(r["step_time"], "s") == pytest.approx((read + kv) / 4.8e12, rel=1e-12)
    assert round(mag(r["step_time"], "ms"), 1) == 29.1


# --- docs/conventions.md stays true ---------------------------------------------------------

DOC_CALL = re.compile(r"^(model\.solve\(.*\))  # (-?[\d.]+) (\S+)$", re.M)


def doc_calls():
    text = (Path(__file__).resolve().parents[1] / "docs" / "conventions.md").read_text()
    return DOC_CALL.findall(text)


def test_conventions_page_has_computed_rows():
    assert len(doc_calls()) >= 15


@pytest.mark.parametrize("call,number,unit", doc_calls(), ids=lambda x: str(x)[:60])
def test_conventions_page_numbers_reproduce(model, call, number, unit):
    """Each number on the page is what its solve call gives, to the digits shown."""
    node = ast.parse(call, mode="eval").body
    kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
    r = model.solve(**kwargs)
    got = mag(r[kwargs["find"][0]], unit)
    decimals = len(number.split(".")[1]) if "." in number else 0
    assert round(got, decimals) == float(number), f"{call} gives {got}"
