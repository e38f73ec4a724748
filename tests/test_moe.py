"""Mixture of experts, latent attention and sliding windows against the published configs.

Expected values are worked out here from the configs in ../shared/reference/facts.md (§2.1
shapes, §2.2 parameter counts, §2.3 KV formulas), never copied from the engine. The dense
models must not move: their answers are pinned in test_rules_library.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

# `model` (the bundled rules, loaded once) comes from tests/conftest.py.


def mag(q, unit=""):
    return float(q.to(unit).magnitude)


def solve(model, presets, find, given=None):
    return model.solve(given=given or {}, find=list(find), presets=list(presets))


# --- shapes by hand (facts.md §2.1) -------------------------------------------------------


def gqa_attention(d, heads, kv_heads, head_dim):
    return d * head_dim * (2 * heads + 2 * kv_heads)


def swiglu(d, ff):
    return 3 * d * ff


# Mixtral-8x7B: 32 layers, d 4096, 32 heads / 8 KV of 128, 8 experts of 14336, top-2, vocab 32000
MX7 = dict(layers=32, d=4096, attn=gqa_attention(4096, 32, 8, 128), expert=swiglu(4096, 14336),
           experts=8, k=2, vocab=32000)
# Mixtral-8x22B: 56 layers, d 6144, 48 heads / 8 KV of 128, 8 experts of 16384, top-2
MX22 = dict(layers=56, d=6144, attn=gqa_attention(6144, 48, 8, 128), expert=swiglu(6144, 16384),
            experts=8, k=2, vocab=32000)


def mixtral_counts(m):
    norms = 2 * m["d"]
    router = m["d"] * m["experts"]
    vocab = 2 * m["vocab"] * m["d"] + m["d"]  # untied embedding and LM head, final norm
    total = m["layers"] * (m["attn"] + m["experts"] * m["expert"] + router + norms) + vocab
    active = m["layers"] * (m["attn"] + m["k"] * m["expert"] + router + norms) + vocab
    return total, active


# DeepSeek-V3 MLA projections (q_a, q_b, kv_a, kv_b, o) with q_lora 1536, kv_lora 512,
# rope 64, nope 128, v 128, 128 heads, d 7168
DSV3_MLA = (7168 * 1536 + 1536 * 128 * (128 + 64) + 7168 * (512 + 64) + 512 * 128 * (128 + 128)
            + 128 * 128 * 7168)


def test_mixtral_8x7b_active_parameters_are_12_9_billion(model):
    r = solve(model, ["mixtral-8x7b"], ["n_active_params", "n_params"])
    total, active = mixtral_counts(MX7)
    assert abs(mag(r["n_active_params"]) / 12.9e9 - 1) < 0.01  # issue 8
    assert mag(r["n_active_params"]) == active
    assert abs(active / 12.880e9 - 1) < 1e-4  # facts.md §2.2 computed active
    assert mag(r["n_params"]) == total
    assert abs(total / 46.703e9 - 1) < 1e-4  # facts.md §2.2 computed total


def test_mixtral_8x22b_counts(model):
    r = solve(model, ["mixtral-8x22b"], ["n_active_params", "n_params"])
    total, active = mixtral_counts(MX22)
    assert mag(r["n_params"]) == total and abs(total / 140.621e9 - 1) < 1e-4
    assert mag(r["n_active_params"]) == active and abs(active / 39.152e9 - 1) < 1e-4


def test_deepseek_v3_mla_projections_and_parameter_counts(model):
    r = solve(model, ["deepseek-v3"], ["attention_params_per_layer", "n_params",
                                       "n_active_params"])
    assert mag(r["attention_params_per_layer"]) == DSV3_MLA == 187_105_280
    norms = 2 * 7168 + 1536 + 512  # block norms and the two latent norms
    expert = swiglu(7168, 2048)
    dense = DSV3_MLA + norms + swiglu(7168, 18432)
    moe = DSV3_MLA + norms + 7168 * 256 + 257 * expert  # router, 256 routed + 1 shared
    moe_active = DSV3_MLA + norms + 7168 * 256 + 9 * expert  # top-8 + shared
    vocab = 2 * 129280 * 7168 + 7168
    assert mag(r["n_params"]) == 3 * dense + 58 * moe + vocab
    assert mag(r["n_active_params"]) == 3 * dense + 58 * moe_active + vocab
    assert abs(mag(r["n_params"]) / 671.026e9 - 1) < 1e-4  # facts.md §2.2
    assert abs(mag(r["n_active_params"]) / 37.552e9 - 1) < 1e-4


def test_gpt_oss_120b_parameter_counts(model):
    """facts.md counts output, expert and router biases and attention sinks, which the
    rules leave out: 36 x (128 x 3 x 2880 + 2880 + 64 + 128) parameters, 0.03%."""
    r = solve(model, ["gpt-oss-120b"], ["n_params", "n_active_params"])
    attn = gqa_attention(2880, 64, 8, 64) + 64 * (64 + 16)  # q/k/v/o and the q/k/v biases
    layer = attn + 2 * 2880 + 2880 * 128
    vocab = 2 * 201088 * 2880 + 2880
    assert mag(r["n_params"]) == 36 * (layer + 128 * swiglu(2880, 2880)) + vocab
    assert mag(r["n_active_params"]) == 36 * (layer + 4 * swiglu(2880, 2880)) + vocab
    assert abs(mag(r["n_params"]) / 116.829e9 - 1) < 5e-4
    assert abs(mag(r["n_active_params"]) / 5.712e9 - 1) < 5e-4


def test_dense_models_have_every_parameter_active(model):
    r = solve(model, ["llama-3-70b"], ["n_params", "n_active_params"])
    assert mag(r["n_active_params"]) == mag(r["n_params"])


# --- KV cache (facts.md §2.3) ---------------------------------------------------------------


def test_deepseek_v3_mla_kv_bytes_per_token_bf16_is_70272(model):
    r = solve(model, ["deepseek-v3", "bf16"], ["kv_bytes_per_token"])
    assert mag(r["kv_bytes_per_token"], "byte/token") == 61 * 576 * 2 == 70_272
    fp8 = solve(model, ["deepseek-v3", "fp8"], ["kv_bytes_per_token"])
    assert mag(fp8["kv_bytes_per_token"], "byte/token") == 35_136


def test_mla_cache_is_a_fraction_of_the_naive_one(model):
    """Expanded to per-head keys (192) and values (128), DeepSeek-V3 would hold 4,997,120
    bytes per token at BF16 (facts.md §2.3): the latent cache is 71x smaller."""
    r = solve(model, ["deepseek-v3", "bf16"], ["kv_bytes_per_token"])
    naive = 61 * 128 * (192 + 128) * 2
    assert naive == 4_997_120
    assert naive / mag(r["kv_bytes_per_token"], "byte/token") == pytest.approx(71.1, abs=0.05)


def test_mixtral_kv_is_plain_gqa(model):
    r = solve(model, ["mixtral-8x7b", "bf16"], ["kv_bytes_per_token"])
    assert mag(r["kv_bytes_per_token"], "byte/token") == 2 * 32 * 8 * 128 * 2 == 131_072


@pytest.mark.parametrize("context", [100, 128, 4096, 131072])
def test_gpt_oss_sliding_and_full_layers(model, context):
    """18 full layers grow with the context; 18 sliding layers stop at 128 tokens."""
    r = solve(model, ["gpt-oss-120b", "bf16"],
              ["kv_bytes_per_token", "kv_sliding_bytes_per_token", "kv_bytes_per_request"],
              given={"context_len": f"{context} token", "output_len": "64 token",
                     "context_average_factor": 0})
    per_layer = 2 * 8 * 64 * 2  # K and V of 8 heads of 64, BF16
    assert mag(r["kv_bytes_per_token"], "byte/token") == 18 * per_layer == 36_864
    assert mag(r["kv_sliding_bytes_per_token"], "byte/token") == 18 * per_layer
    expected = 18 * per_layer * context + 18 * per_layer * min(context, 128)
    assert mag(r["kv_bytes_per_request"], "byte/request") == pytest.approx(expected, rel=1e-12)
    if context >= 128:  # facts.md §2.3: the sliding part is 4.5 MiB per sequence
        assert 18 * per_layer * 128 == 4.5 * 2**20


# --- experts touched per step ---------------------------------------------------------------


def simulate_distinct_experts(experts, k, tokens, trials, rng):
    """Each token picks k distinct experts uniformly; count the distinct experts a step reads."""
    counts = np.empty(trials)
    for t in range(trials):
        picks = np.argpartition(rng.random((tokens, experts)), k - 1, axis=1)[:, :k]
        counts[t] = np.unique(picks).size
    return counts


@pytest.mark.parametrize("experts,k,batch", [(8, 2, 1), (8, 2, 4), (128, 4, 16), (256, 8, 16),
                                             (256, 8, 64)])
def test_expected_experts_match_a_simulation_of_random_routing(model, experts, k, batch):
    rng = np.random.default_rng(20240808 + experts + k + batch)
    counts = simulate_distinct_experts(experts, k, batch, 3000, rng)
    r = solve(model, ["default", "deepseek-v3"], ["experts_touched_per_step"],
              given={"n_experts": experts, "experts_per_token": k, "batch": batch})
    got = mag(r["experts_touched_per_step"])
    assert got == pytest.approx(experts * (1 - (1 - k / experts) ** batch), rel=1e-12)
    spread = max(counts.std(ddof=1), 1e-9) / math.sqrt(counts.size)
    assert abs(counts.mean() - got) < 4 * spread + 1e-9, (counts.mean(), got)


def test_all_experts_routed_is_every_expert(model):
    r = solve(model, ["default", "mixtral-8x7b"], ["experts_touched_per_step"],
              given={"experts_per_token": 8})
    assert mag(r["experts_touched_per_step"]) == 8


def test_moe_step_reads_only_the_touched_experts(model):
    """Mixtral-8x7B at batch 1 reads 2 of 8 experts per layer: active weights, minus the input
    embedding (gathered, not read)."""
    r = solve(model, ["default", "mixtral-8x7b", "bf16", "batch-1"],
              ["weight_bytes_read_per_step", "experts_touched_per_step"])
    assert mag(r["experts_touched_per_step"]) == pytest.approx(2, rel=1e-12)
    _, active = mixtral_counts(MX7)
    assert mag(r["weight_bytes_read_per_step"], "byte") == pytest.approx(
        (active - 32000 * 4096) * 2, rel=1e-12)


def test_deepseek_v3_step_bytes_grow_with_the_experts_a_batch_touches(model):
    find = ["weight_bytes_read_per_step", "weight_bytes", "experts_touched_per_step"]
    one = solve(model, ["default", "deepseek-v3", "batch-1"], find)
    many = solve(model, ["default", "deepseek-v3", "batch-64"], find)
    expert_bytes = swiglu(7168, 2048)  # FP8: one byte per weight
    touched = 256 * (1 - (248 / 256) ** 64)  # about 222 of 256
    assert mag(many["experts_touched_per_step"]) == pytest.approx(touched, rel=1e-12)
    extra = 58 * (touched - 8) * expert_bytes
    assert mag(many["weight_bytes_read_per_step"] - one["weight_bytes_read_per_step"],
               "byte") == pytest.approx(extra, rel=1e-9)
    # at batch 1 a step reads the active weights: the layers' in FP8 (a byte each), the input
    # embedding only gathered, the LM head in BF16 (two bytes) - as many bytes as active weights
    active = 37.552e9  # facts.md §2.2, parameters
    vocab = 129280 * 7168
    assert mag(one["weight_bytes_read_per_step"], "byte") == pytest.approx(
        (active - 2 * vocab) + 2 * vocab, rel=1e-4)


def test_moe_flops_count_only_active_experts(model):
    r = solve(model, ["mixtral-8x7b"], ["weight_flops_per_token"])
    router = 4096 * 8
    expected = 2 * (32 * (MX7["attn"] + router + 2 * MX7["expert"]) + 32000 * 4096)
    assert mag(r["weight_flops_per_token"], "FLOP/token") == pytest.approx(expected, rel=1e-12)


def test_routed_experts_matmuls_run_at_their_grouped_gemm_efficiency(model):
    """The experts' FLOPs count 1/expert_gemm_efficiency times in the matmuls' compute side;
    a dense model's do not move."""
    given = {"expert_gemm_efficiency": 0.5}
    r = solve(model, ["default", "mixtral-8x7b"], ["expert_flops_per_token",
              "layer_flops_per_token", "gemm_work_per_token", "gemm_time", "gemm_flops_rate",
              "batch"], given)
    experts = 2 * 32 * 2 * MX7["expert"]  # 2 FLOPs x 32 layers x top-2 x one expert
    assert mag(r["expert_flops_per_token"], "FLOP/token") == pytest.approx(experts, rel=1e-12)
    work = mag(r["layer_flops_per_token"], "FLOP/token") + experts * (1 / 0.5 - 1)
    assert mag(r["gemm_work_per_token"], "FLOP/token") == pytest.approx(work, rel=1e-12)
    big = solve(model, ["default", "mixtral-8x7b"], ["gemm_time", "gemm_flops_rate"],
                {**given, "batch": 4096})
    # at batch 4,096 the matmuls wait on the tensor cores, at the experts' doubled work
    assert mag(big["gemm_time"], "s") == pytest.approx(
        4096 * work / mag(big["gemm_flops_rate"], "FLOP/s"), rel=1e-9)
    dense = solve(model, ["default"], ["expert_flops_per_token", "layer_flops_per_token",
                                       "gemm_work_per_token"], given)
    assert mag(dense["expert_flops_per_token"], "FLOP/token") == 0
    assert dense["gemm_work_per_token"] == dense["layer_flops_per_token"]


def test_latent_and_sliding_attention_flops(model):
    """Decode attention works on the latent under MLA (2 x 512 + 64 per head and position) and
    on at most the window in sliding layers."""
    ds = solve(model, ["default", "deepseek-v3"], ["attention_flops_per_token"])
    assert mag(ds["attention_flops_per_token"], "FLOP/token") == 2 * 128 * 1088 * 61 * 4096
    oss = solve(model, ["default", "gpt-oss-120b"], ["attention_flops_per_token"])
    assert mag(oss["attention_flops_per_token"], "FLOP/token") == \
        2 * 64 * 128 * (18 * 4096 + 18 * 128)


@pytest.mark.parametrize("name,fewest_h200s", [("mixtral-8x7b", 1), ("mixtral-8x22b", 2),
                                                ("deepseek-v3", 8), ("gpt-oss-120b", 1)])
def test_moe_presets_serve_on_the_fewest_h200s_their_fp8_weights_allow(model, name, fewest_h200s):
    """FP8 weights (n_params bytes) plus 64 x 4K of KV against 0.9 x 141 = 126.9 GB per H200:
    46.7 GB + 34.4, 140.6 + 60.1, 671.0 + 18.4 (689.4 > 4 x 126.9: tensor parallelism comes in
    powers of two, so 8), 116.8 + 10.0 (the KV from the shapes above; gpt-oss's sliding layers
    hold 128 tokens)."""
    for gpus in (fewest_h200s // 2, fewest_h200s):
        if gpus == 0:
            continue
        r = solve(model, ["default", name], ["cost_per_mtok", "ttft", "serving_tokens_per_second"],
                  given={"n_gpus": gpus})
        fit = next(c for c in r.constraints if c.id == "memory.hbm_fit")
        assert fit.holds is (gpus == fewest_h200s), (name, gpus)
        assert mag(r["cost_per_mtok"], "USD/Mtok") > 0 and mag(r["ttft"], "s") > 0


def test_seek_over_batch_on_an_moe_model_explains_without_a_closed_form(model):
    """The experts a step touches, E(1 - exp(B log(1 - k/E))), put the batch inside exp():
    sympy cannot rearrange that in reasonable time, so the optimum has no closed form, and
    explain() still answers."""
    s = model.seek(maximize="batch", subject_to=["tpot <= 60 ms"], vary={"batch": (1, 4096)},
                   presets=["default", "deepseek-v3", "tp8"])
    assert [c.id for c in s.binding] == ["tpot <= 60 ms"]
    assert s.closed_form is None
    assert "tpot <= 60 ms" in s.explain()


def test_inverse_for_the_batch_of_an_moe_model_is_numeric_and_consistent(model):
    """The batch sits inside exp() through the expected-experts rule: sympy is not asked to
    rearrange it (it can run for minutes); the root is found numerically and re-derives."""
    presets = ["default", "deepseek-v3", "tp8"]
    target = model.solve(given={"batch": 48}, find="tokens_per_second", presets=presets)
    r = model.solve(given={"tokens_per_second": target["tokens_per_second"]}, find="batch",
                    presets=presets)
    assert r["batch"].magnitude == pytest.approx(48, rel=1e-9)
    assert r.steps["batch"].formula.startswith("tokens_per_second = ")  # no closed form
