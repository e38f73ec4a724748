"""Prefill, time to first token, serving a request mix, input and blended prices, KV offload
and disaggregation.

Expected values are derived here by hand from the architecture (facts.md §2.1), the hardware
(facts.md §1.1) and the formulas docs/serving.md states, never copied from the engine.
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

# `model` (the bundled rules, loaded once) comes from tests/conftest.py.

# Llama-2-70B and Llama-3-70B share the shape but for the vocabulary (facts.md §2.1)
L, D, FF, H, KV, HD = 80, 8192, 28672, 64, 8, 128
ATTN = D * HD * (2 * H + 2 * KV)
FFN = 3 * D * FF

# W: the H200's busy floor, its 69 W idle floor and 0.418 of the 631 W above it
BUSY_H200 = 69 + 0.418 * (700 - 69)

def n_params(vocab):
    return L * (ATTN + FFN + 2 * D) + D + 2 * vocab * D


def weight_flops(vocab):
    return 2 * (L * (ATTN + FFN) + vocab * D)  # per token, LM head included


def prefill_flops(vocab, prompt):
    weights = (weight_flops(vocab) - 2 * vocab * D) * prompt + 2 * vocab * D  # logits once
    attention = 2 * H * 2 * HD * L * prompt * (prompt + 1) / 2  # causal pairs
    return weights + attention


def ring(n):
    return 2 * (n - 1) / n


def mag(q, unit=""):
    return float(q.to(unit).magnitude)


def solve(model, presets, find, given=None):
    return model.solve(given=given or {}, find=list(find), presets=list(presets))


TRT_A100 = ["a100-80gb", "llama-2-70b", "fp16", "essay-facility", "batch-1", "in-2k", "out-128",
            "tp4", "conventions-costgraph", "roofline"]


def activation_bytes(tokens):
    """Norms, residual adds, rotary embedding and the gated FFN, in BF16, every layer."""
    return tokens * L * (8 * D + 3 * FF) * 2


# --- prefill and time to first token -------------------------------------------------------


def test_prefill_flops_are_weights_per_prompt_token_and_causal_attention(model):
    r = solve(model, TRT_A100, ["prefill_flops", "prefill_attention_flops"])
    assert mag(r["prefill_flops"], "FLOP") == pytest.approx(prefill_flops(32000, 2048), rel=1e-12)
    assert mag(r["prefill_attention_flops"], "FLOP") == pytest.approx(
        4 * H * HD * L * 2048 * 2049 / 2, rel=1e-12)


def test_ttft_is_the_prefill_operators_with_their_all_reduces(model):
    """Llama-2-70B, 4 x A100, FP16, 2,048-token prompt, roofline stack: the matmuls
    (compute-bound), causal attention and the elementwise bytes one after another, then the
    all-reduces."""
    r = solve(model, TRT_A100, ["ttft", "prefill_time", "prefill_gemm_time",
                                "prefill_memory_time"])
    attention = 4 * H * HD * L * 2048 * 2049 / 2
    matmuls = (prefill_flops(32000, 2048) - attention) / (4 * 312e12)
    weights = (n_params(32000) - 32000 * D) * 2 / (4 * 2.039e12)
    elementwise = activation_bytes(2048) / (4 * 2.039e12)
    comm = 2 * L * ring(4) * 2048 * D * 2 / 300e9
    assert matmuls > weights
    assert mag(r["prefill_gemm_time"], "s") == pytest.approx(matmuls, rel=1e-12)
    assert mag(r["ttft"], "s") == pytest.approx(
        matmuls + attention / (4 * 312e12) + elementwise + comm, rel=1e-12)
    assert mag(r["ttft"], "s") == pytest.approx(mag(r["prefill_time"], "s"), rel=1e-15)
    # peer-numbers.md: LLM-Viewer, llm-analysis (eff 1/1) and GenZ give 250-288 ms
    assert 250 <= mag(r["ttft"], "ms") <= 288


def test_prefill_is_far_above_the_ridge_point_and_decode_far_below(model):
    r = model.solve(presets=["default"], find=["prefill_arithmetic_intensity",
                                               "arithmetic_intensity", "ridge_point"])
    assert r["prefill_arithmetic_intensity"] > 10 * r["ridge_point"] > 10 * r["arithmetic_intensity"]


@pytest.mark.parametrize("link,gbps", [("disagg-400g", 50), ("disagg-800g", 100),
                                       ("disagg-nvlink4", 450)])
def test_disaggregation_adds_the_kv_transfer_to_ttft(model, link, gbps):
    r = solve(model, ["default", link], ["ttft", "prefill_time", "kv_transfer_time"])
    prompt_kv = 3840 * 2 * L * KV * HD * 1  # req-4k prompt, FP8 KV
    assert mag(r["kv_transfer_time"], "s") == pytest.approx(prompt_kv / (gbps * 1e9), rel=1e-12)
    assert mag(r["ttft"] - r["prefill_time"], "s") == pytest.approx(prompt_kv / (gbps * 1e9))
    colocated = solve(model, ["default", link, "colocated"], ["kv_transfer_time"])
    assert mag(colocated["kv_transfer_time"], "s") == 0


def test_tpot_is_the_serving_step_prompt_chunks_included(model):
    """What a user waits between tokens is the serving step; disaggregated, its steps carry
    no prompt chunks and it is the decode step at the mean context."""
    for presets in (["default"], ["default", "offload-50"], ["default", "mixtral-8x7b", "tp2"]):
        r = solve(model, presets, ["tpot", "serving_step_time", "step_time"])
        assert r["tpot"] == r["serving_step_time"], presets
        assert r["tpot"] > r["step_time"], presets  # 960 prompt tokens ride in every step
    disagg = solve(model, ["default", "disagg-400g"], ["tpot", "serving_prefill_time"])
    assert mag(disagg["serving_prefill_time"], "s") == 0


# --- prices ---------------------------------------------------------------------------------


def test_input_tokens_are_priced_by_the_time_prefill_takes(model):
    r = model.solve(presets=["default", "tp2"], find=["cost_per_mtok_input", "cost_per_gpu_hour",
                                                      "prefill_time"])
    usd_per_prompt = mag(r["cost_per_gpu_hour"], "USD/h") * 2 * mag(r["prefill_time"], "h")
    assert mag(r["cost_per_mtok_input"], "USD/Mtok") == pytest.approx(
        usd_per_prompt / 3840 * 1e6, rel=1e-12)


def test_input_tokens_are_cheaper_than_output_tokens_on_a_memory_bound_decode(model):
    r = model.solve(presets=["default"], find=["cost_per_mtok_input", "cost_per_mtok"])
    assert r["cost_per_mtok_input"] < r["cost_per_mtok"] / 3


def test_blended_price_weights_input_and_output_tokens(model):
    find = ["cost_per_mtok_blended", "cost_per_mtok_input", "cost_per_mtok"]
    mix = model.solve(presets=["default"], find=find)  # req-4k: 3,840 in per 256 out = 15
    inp, out = mag(mix["cost_per_mtok_input"], "USD/Mtok"), mag(mix["cost_per_mtok"], "USD/Mtok")
    assert mag(mix["cost_per_mtok_blended"], "USD/Mtok") == pytest.approx((15 * inp + out) / 16)
    stated = model.solve(presets=["default", "blend-3to1"], find=find)
    assert mag(stated["cost_per_mtok_blended"], "USD/Mtok") == pytest.approx((3 * inp + out) / 4)
    assert "blend_input_per_output is given as 3" in stated.notes[0]


# --- serving a request mix --------------------------------------------------------------------


def test_serving_step_by_hand_for_the_default_mix(model):
    """H200, Llama-3.1-70B FP8, batch 64 of 3,840-in / 256-out requests, chunked prefill, on
    the roofline stack (prompt chunks ride in the decode passes): the decode operators at the
    mean context, each the slower of its bytes and FLOPs, plus the chunks' attention and
    elementwise work."""
    r = model.solve(presets=["default", "roofline"],
                    find=["serving_tokens_per_second", "serving_step_time",
                          "full_clock_serving_step_time", "serving_dynamic_energy",
                          "mean_decode_context_len", "prefill_tokens_per_step"])
    vocab, batch, prompt, out = 128256, 64, 3840, 256
    mean_ctx = prompt + out / 2
    chunk = batch * prompt / out  # prompt tokens per step: 960
    kv_token = 2 * L * KV * HD  # FP8
    layers = n_params(vocab) - 2 * vocab * D  # FP8: a byte each
    layer_flops = weight_flops(vocab) - 2 * vocab * D
    gemm = max(layers / 4.8e12, (batch + chunk) * layer_flops / 1979e12)
    head = max(vocab * D * 2 / 4.8e12, batch * 2 * vocab * D / 989e12)
    attention = max(batch * mean_ctx * kv_token / 4.8e12,
                    batch * 4 * H * HD * L * mean_ctx / 989e12)
    chunks = chunk * (4 * H * HD * L * (prompt + 1) / 2 / 989e12
                      + activation_bytes(1) / 4.8e12)
    step = gemm + head + attention + activation_bytes(batch) / 4.8e12 + chunks
    assert mag(r["mean_decode_context_len"], "token") == 3968
    assert mag(r["prefill_tokens_per_step"], "token") == 960
    assert mag(r["full_clock_serving_step_time"], "s") == pytest.approx(step, rel=1e-12)
    # at the datasheet peak the prompt chunks' matmuls would pass the H200's 700 W: the step
    # takes its dynamic energy over what the limit leaves above the busy floor
    capped = mag(r["serving_dynamic_energy"], "J") / (700 - BUSY_H200)
    assert capped > step
    assert mag(r["serving_step_time"], "s") == pytest.approx(capped, rel=1e-12)
    assert mag(r["serving_tokens_per_second"], "token/s") == pytest.approx(batch / capped, rel=1e-12)


def test_prompts_in_passes_of_their_own_pay_their_matmuls_in_full(model):
    """The trtllm stack (prefill_overlap 0): each prompt token adds its matmul FLOPs at the
    stack's rate - sustained FP8 (73.4% of 1,979 TFLOP/s) x 0.844 - to the step."""
    find = ["serving_prefill_time", "prefill_tokens_per_step", "prefill_token_time"]
    r = model.solve(presets=["default"], find=find)
    rate = 1979e12 * 0.734 * 0.844
    attention_rate = 989e12 * 0.803 * 1.0
    layer_flops = weight_flops(128256) - 2 * 128256 * D
    per_token = layer_flops / rate + 4 * H * HD * L * 3841 / 2 / attention_rate \
        + activation_bytes(1) / (4.8e12 * 0.9)
    assert mag(r["prefill_token_time"], "s/token") == pytest.approx(per_token, rel=1e-12)
    assert mag(r["serving_prefill_time"], "s") == pytest.approx(960 * per_token, rel=1e-12)


@pytest.mark.parametrize("model_preset", ["llama-3-70b", "mixtral-8x7b", "deepseek-v3",
                                          "gpt-oss-120b"])
def test_disaggregated_serving_step_is_the_decode_step_at_the_mean_context(model, model_preset):
    """With prefill elsewhere, a serving step is a plain decode step at input + output/2."""
    presets = ["default", model_preset, "tp8", "disagg-400g"]
    serving = solve(model, presets, ["serving_step_time"])
    decode = solve(model, presets, ["step_time"],
                   given={"context_len": "3968 token", "output_len": "1 token"})
    assert mag(serving["serving_step_time"], "s") == pytest.approx(mag(decode["step_time"], "s"),
                                                                   rel=1e-12)


def test_serving_cost_includes_the_prefill_of_the_mix(model):
    find = ["serving_cost_per_mtok", "cost_per_mtok", "serving_requests_per_second",
            "serving_tokens_per_second"]
    r = model.solve(presets=["default"], find=find)
    assert r["serving_cost_per_mtok"] > r["cost_per_mtok"]
    assert mag(r["serving_requests_per_second"], "request/s") * 256 == pytest.approx(
        mag(r["serving_tokens_per_second"], "token/s"))


# --- KV beyond HBM ----------------------------------------------------------------------------


def test_offload_fits_a_long_context_batch_and_pays_for_it_per_step(model):
    """Llama-3.1-70B, 8 sequences of 128K on one H200: 172 GB of FP8 KV does not fit; with 90%
    of it in host memory over PCIe5 (64 GB/s) it fits, and the step waits for the link."""
    presets = ["default", "llama-3.1-70b", "ctx-128k", "batch-8", "roofline"]
    find = ["step_time", "tp_comm_time", "step_overhead_time", "kv_offload_time", "hbm_required"]
    kv = 8 * 131072 * 2 * L * KV * HD
    weights = n_params(128256) + 2 * 128256 * D  # FP8 layers, BF16 embedding and LM head
    resident = solve(model, presets, find)
    assert mag(resident["hbm_required"], "byte") == pytest.approx(weights + kv, rel=1e-12)
    assert next(c for c in resident.constraints if c.id == "memory.hbm_fit").holds is False
    offload = solve(model, presets + ["offload-90"], find)
    assert next(c for c in offload.constraints if c.id == "memory.hbm_fit").holds is True
    assert mag(offload["hbm_required"], "byte") == pytest.approx(weights + 0.1 * kv, rel=1e-12)
    assert mag(offload["kv_offload_time"], "s") == pytest.approx(0.9 * kv / 64e9, rel=1e-12)
    # the fetch is slower than the step's operators: the step waits for it
    assert mag(offload["step_time"], "s") == pytest.approx(0.9 * kv / 64e9, rel=1e-12)
    nvme = solve(model, presets + ["offload-90", "offload-nvme"], ["kv_offload_time"])
    assert mag(nvme["kv_offload_time"], "s") == pytest.approx(0.9 * kv / 7e9, rel=1e-12)


def test_seek_chooses_the_least_offload_that_fits(model):
    presets = ["default", "llama-3.1-70b", "ctx-128k", "batch-8"]
    s = model.seek(minimize="step_time", vary={"kv_offload_fraction": (0, 1)}, presets=presets)
    kv = 8 * (131072 // 32) * 32 * 2 * L * KV * HD  # whole 32-token blocks
    weights = n_params(128256) + 2 * 128256 * D  # FP8 layers, BF16 embedding and LM head
    pool = 0.9 * (150.75e9 - weights - 6e9)  # trtllm: 90% of what weights and workspace leave
    least = 1 - pool / kv  # what the KV pool cannot hold
    assert mag(s.point["kv_offload_fraction"]) == pytest.approx(least, rel=1e-6)
    assert [c.id for c in s.binding] == ["memory.hbm_fit"]


# --- seek over serving quantities ---------------------------------------------------------------


def test_seek_max_batch_under_ttft_and_tpot(model):
    """tpot grows with the batch (every request's KV, and its prompt chunks); ttft does not:
    the seek's answer is the last batch whose tpot holds, and brute force agrees."""
    s = model.seek(maximize="batch", where=["ttft <= 600 ms", "tpot <= 150 ms"],
                   vary={"batch": (1, 4096)}, presets=["default"])
    f = model.compile(find="tpot", inputs=["batch"], presets=["default"])
    batches = np.arange(1, 4097.0)
    best = batches[f(batch=batches) <= 0.150].max()
    assert mag(s.value, "request") == best
    assert [c.id for c in s.binding] == ["tpot <= 150 ms"]
    assert mag(s.result["ttft"], "ms") < 600


def test_seek_with_ttft_and_tpot_from_the_command_line(model):
    from costgraph.cli import app

    out = CliRunner().invoke(app, ["seek", "--maximize", "batch", "--where", "ttft <= 600 ms",
                                   "--where", "tpot <= 150 ms", "--vary", "batch=1..4096"])
    assert out.exit_code == 0, out.output
    s = model.seek(maximize="batch", where=["ttft <= 600 ms", "tpot <= 150 ms"],
                   vary={"batch": (1, 4096)})
    assert out.output.startswith(f"maximum batch = {int(s.value.magnitude)} request")
    rows = {line.split("  ")[0]: line for line in out.output.splitlines()
            if line.startswith(("ttft", "tpot"))}
    assert "holds" in rows["ttft <= 600 ms"] and "binding" in rows["tpot <= 150 ms"]


def test_seek_best_serving_throughput_for_a_mix(model):
    """Short prompts, long answers: throughput grows with the batch until the KV pool is full
    (every request must reach 1,152 tokens); brute force over every batch agrees."""
    presets = ["default", "in-128", "out-1k"]
    s = model.seek(maximize="serving_tokens_per_second", vary={"batch": (1, 4096)},
                   presets=presets)
    f = model.compile(find="serving_tokens_per_second", inputs=["batch"], presets=presets,
                      constraints="declared")
    batches = np.arange(1, 4097.0)
    tps = f(batch=batches)
    ok = np.all([m >= 0 for m in f.margins(batch=batches).values()], axis=0)
    assert mag(s.value, "token/s") == pytest.approx(tps[ok].max(), rel=1e-9)
    assert mag(s.point["batch"], "request") == batches[ok][np.argmax(tps[ok])]
    assert [c.id for c in s.binding] == ["memory.hbm_fit"]


def test_seek_best_serving_throughput_when_prefill_saturates_compute(model):
    """15 prompt tokens per output token on the roofline stack: past a small batch the
    matmuls are compute-bound and the weights they read no longer count, so the full-clock
    throughput is flat at one over the time per output token - the matmul FLOPs of its 16 tokens, its logits,
    its KV read at the mean context, its prompt tokens' attention and everyone's elementwise
    bytes."""
    s = model.seek(maximize="serving_tokens_per_second", vary={"batch": (1, 4096)},
                   presets=["default", "roofline"])
    mean_ctx, chunk_per_request = 3968, 3840 / 256
    layer_flops = weight_flops(128256) - 2 * 128256 * D
    per_output = (1 + chunk_per_request) * layer_flops / 1979e12 \
        + 2 * 128256 * D / 989e12 + mean_ctx * 2 * L * KV * HD / 4.8e12 \
        + chunk_per_request * 4 * H * HD * L * 3841 / 2 / 989e12 \
        + (1 + chunk_per_request) * activation_bytes(1) / 4.8e12
    # at the datasheet peak those matmuls would pass the H200's power limit: the GPU clocks
    # down, and the rate is the power left above the busy floor over an output token's energy
    batch = s.point["batch"]
    r = model.solve(presets=["default", "roofline"], given={"batch": batch},
                    find=["serving_dynamic_energy", "full_clock_serving_step_time",
                          "serving_power_cap_factor"])
    per_output_joules = mag(r["serving_dynamic_energy"], "J") / mag(batch, "request")
    assert mag(s.value, "token/s") == pytest.approx((700 - BUSY_H200) / per_output_joules, rel=1e-9)
    assert mag(r["serving_power_cap_factor"], "") < 0.9
    # at full clock, within half a percent of the hand-derived flat rate: the batch the KV
    # pool allows still leaves the LM head's weight read (0.44 ms a step) a sliver of the step
    full_clock = mag(batch, "request") / mag(r["full_clock_serving_step_time"], "s")
    assert full_clock == pytest.approx(1 / per_output, rel=5e-3)
    assert full_clock < 1 / per_output


def test_seek_minimum_cost_picks_the_replica_size(model):
    """Llama-3.1-70B in FP16 (141 GB of weights) does not fit one H200: the cheapest replica
    that serves batch 64 at 4K has two GPUs; more only add all-reduce time."""
    s = model.seek(minimize="cost_per_mtok", vary={"n_gpus": (1, 8)}, presets=["default", "fp16"])
    assert mag(s.point["n_gpus"]) == 2
    costs = [solve(model, ["default", "fp16"], ["cost_per_mtok"], given={"n_gpus": n})
             for n in (2, 4, 8)]  # tensor-parallel groups come in powers of two
    assert mag(s.value, "USD/Mtok") == pytest.approx(
        min(mag(c["cost_per_mtok"], "USD/Mtok") for c in costs), rel=1e-9)


# --- explain shows both paths ---------------------------------------------------------------------


def test_explain_shows_the_prefill_and_decode_paths(model):
    r = model.solve(presets=["default"], find=["ttft", "tpot", "serving_tokens_per_second",
                                               "cost_per_mtok_blended"])
    ttft = r.explain("ttft")
    for name in ("prefill_time", "prefill_gemm_time", "prefill_weight_flops",
                 "prefill_attention_flops", "prefill_weight_bytes_read", "input_len",
                 "kv_transfer_time", "layer_overhead"):
        assert name in ttft, name
    tpot = r.explain("tpot")
    for name in ("serving_step_time", "serving_gemm_time", "serving_attention_time",
                 "serving_prefill_time", "serving_kv_bytes_per_request", "step_overhead_time"):
        assert name in tpot, name
    serving = r.explain("serving_tokens_per_second")
    for name in ("prefill_token_time", "prefill_tokens_per_step", "layer_flops_per_token",
                 "serving_kv_bytes_per_request", "mean_decode_context_len", "output_len"):
        assert name in serving, name
    blended = r.explain("cost_per_mtok_blended")
    assert "cost_per_mtok_input" in blended and "step_time" in blended and "prefill_time" in blended


# --- docs/serving.md stays true -------------------------------------------------------------------

DOC_CALL = re.compile(r"^(model\.solve\(.*\))  # (-?[\d.]+(?:e[+-]\d+)?) (\S+)$", re.M)


def doc_calls():
    text = (Path(__file__).resolve().parents[1] / "docs" / "serving.md").read_text()
    return DOC_CALL.findall(text)


def test_serving_page_has_computed_rows():
    assert len(doc_calls()) >= 25


@pytest.mark.parametrize("call,number,unit", doc_calls(), ids=lambda x: str(x)[:70])
def test_serving_page_numbers_reproduce(model, call, number, unit):
    """Each number on the page is what its call gives, to the digits shown."""
    node = ast.parse(call, mode="eval").body
    kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
    got = mag(model.solve(**kwargs)[kwargs["find"][0]], "" if unit == "1" else unit)
    mantissa, _, exponent = number.partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    half_digit = 0.5 * 10.0 ** (int(exponent or 0) - decimals)
    assert abs(got - float(number)) <= half_digit * (1 + 1e-9), f"{call} gives {got}"
