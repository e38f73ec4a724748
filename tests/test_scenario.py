"""Scenarios: the request's context, presets that compose predictably, movable inputs.

Hand arithmetic for Llama-3-70B in FP8: 163,840 bytes of KV per context token (80 layers x 8
KV heads x 128 x 2 x 1 byte).
"""

from __future__ import annotations

import textwrap

import pytest

import costgraph as cg
from costgraph.errors import RuleSetError

from cli_helpers import run

KV_PER_TOKEN = 80 * 8 * 128 * 2 * 1  # bytes, Llama-3-70B at FP8


def mag(q, unit):
    return float(q.to(unit).magnitude)


# --- the request's context ------------------------------------------------------------------


def test_issue_16_context_follows_the_request(model):
    r = model.solve(find=["context_len", "kv_bytes_reserved_per_request", "tokens_per_second",
                          "hbm_required"],
                    given={"input_len": 20000, "output_len": 2000})
    assert mag(r["context_len"], "token") == 22000
    # the KV cache hands out 32-token blocks, so 22,000 tokens hold 688 blocks (22,016 tokens)
    assert mag(r["kv_bytes_reserved_per_request"], "byte/request") == 22016 * KV_PER_TOKEN
    # the fit is checked for 64 requests that each reach 22,000 tokens, beside the weights and
    # the stack's 6 GB workspace: far past the HBM
    assert mag(r["hbm_required"], "GB") == pytest.approx(
        mag(model.solve(find=["weight_bytes"])["weight_bytes"], "GB") + 6
        + 64 * 22016 * KV_PER_TOKEN / 1e9)
    assert {c.id for c in r.violated} == {"memory.hbm_fit"}  # Llama 3.1 reaches 131,072
    assert not r.feasible
    base = model.solve(find=["tokens_per_second"])
    assert mag(r["tokens_per_second"], "token/s") < 0.5 * mag(base["tokens_per_second"], "token/s")


def test_the_default_request_reaches_4096_tokens(model):
    r = model.solve(find=["context_len", "input_len", "output_len"])
    assert [mag(r[n], "token") for n in ("context_len", "input_len", "output_len")] == \
        [4096, 3840, 256]
    assert r.step("context_len").kind == "derived"


def test_a_context_preset_moves_the_prompt(model):
    r = model.solve(find=["input_len", "context_len"], presets=["ctx-32k"])
    assert mag(r["input_len"], "token") == 32768 - 256
    assert r.step("input_len").kind == "solved"
    assert r.notes == ("context_len = 32,768 token: input_len moved to 32,512 token "
                       "(output_len stays 256 token)",)


def test_a_later_prompt_preset_wins_over_a_context_preset(model):
    r = model.solve(find=["context_len"], presets=["ctx-32k", "in-8k"])
    assert mag(r["context_len"], "token") == 8192 + 256
    assert r.notes[0].startswith("context_len follows its rule: input_len was set after")


def test_a_given_context_moves_the_prompt_and_keeps_the_output(model):
    r = model.solve(find=["cost_per_mtok", "input_len"],
                    given={"context_len": "8192 token", "output_len": 1000})
    assert mag(r["input_len"], "token") == 8192 - 1000


def test_given_context_and_prompt_must_agree(model):
    with pytest.raises(cg.errors.ConflictError):
        model.solve(find=["cost_per_mtok"],
                    given={"context_len": "8192 token", "input_len": 100, "output_len": 100})


def test_solve_for_the_context_under_a_price_moves_the_prompt(model):
    r = model.solve(find=["context_len"], given={"cost_per_mtok": "0.5 USD/Mtok"})
    moved = r["context_len"] - r["input_len"]
    assert mag(moved, "token") == 256
    assert r.step("input_len").kind == "solved"
    assert "input_len moved to" in r.notes[-1] and "output_len stays 256 token" in r.notes[-1]
    check = model.solve(find=["cost_per_mtok"], given={"input_len": r["input_len"]})
    assert mag(check["cost_per_mtok"], "USD/Mtok") == pytest.approx(0.5, rel=1e-9)


def test_seek_the_longest_context_says_the_prompt_moved(model):
    s = model.seek(maximize="context_len", subject_to=["cost_per_mtok <= 2 USD/Mtok"],
                   vary={"batch": (1, 512)}, presets=["llama-3-70b"])
    assert mag(s.value, "token") == 8192  # Llama 3 70B was built for 8,192
    assert mag(s.result["input_len"], "token") == 8192 - 256
    assert any("input_len moved to 7,936 token" in n for n in s.result.notes)


def test_issue_11_the_serving_seek_sizes_the_kv_for_22000_tokens(model):
    out = run("seek", "--maximize", "serving_tokens_per_second", "--vary", "batch=1..4096",
              "--set", "input_len=20000", "--set", "output_len=2000", "-p", "llama-3.1-70b",
              "--json")
    import json

    data = json.loads(out.stdout)
    values = data["result"]["values"]
    assert values["context_len"]["value"] == 22000
    fit = next(c for c in data["constraints"] if c["id"] == "memory.hbm_fit")
    batch = data["point"]["batch"]["value"]
    assert fit["lhs"] == pytest.approx(values["weight_bytes"]["value"] + 6e9
                                       + batch * 22016 * KV_PER_TOKEN, rel=1e-9)


def test_sweep_over_the_context_moves_the_prompt(model):
    f = model.compile("prefill_time", ["context_len"])
    g = model.compile("prefill_time", ["input_len"])
    import numpy as np

    assert f(context_len=np.array([4096.0, 8192.0])) == pytest.approx(
        g(input_len=np.array([3840.0, 7936.0])), rel=1e-12)


# --- presets compose predictably ----------------------------------------------------------


def test_issue_16_named_presets_win_over_the_scenario_in_any_order(model):
    r = model.solve(find=["hbm_capacity", "link_bandwidth"], presets=["h100-sxm", "default"])
    assert mag(r["hbm_capacity"], "GB") == 80
    assert r.presets == ("default", "h100-sxm")


def test_issue_16_default_is_the_base_when_no_scenario_is_named(model):
    r = model.solve(find=["cost_per_mtok", "n_gpus", "hbm_capacity"],
                    presets=["llama-3.1-70b", "h100-sxm", "tp8"])
    assert (mag(r["n_gpus"], ""), mag(r["hbm_capacity"], "GB")) == (8, 80)
    assert r.presets == ("default", "llama-3.1-70b", "h100-sxm", "tp8")


def test_a_later_preset_of_a_kind_replaces_an_earlier_one_as_a_whole(model):
    r = model.solve(find=["hbm_capacity"], presets=["h100-sxm", "b200"])
    assert mag(r["hbm_capacity"], "GB") == 180
    assert r.presets == ("default", "b200")
    assert r.warnings == ("preset h100-sxm is replaced by b200 (both are hardware presets: the "
                          "later one wins as a whole)",)


def test_a_preset_that_changes_nothing_is_a_warning(model):
    r = model.solve(find=["cost_per_mtok"], presets=["default", "batch-64"])
    assert r.warnings == ("preset batch-64 changes nothing: every value it sets is already the "
                          "same, or set again by a later preset",)
    out = run("solve", "--find", "cost_per_mtok", "-p", "batch-64")
    assert out.stderr.startswith("warning: preset batch-64 changes nothing")


def test_kv_precision_composes_over_the_precision(model):
    r = model.solve(find=["kv_bits", "weight_bits"], presets=["fp8", "kv-fp16"])
    assert (mag(r["kv_bits"], "bit"), mag(r["weight_bits"], "bit")) == (16, 8)


KINDS = """
description: Kinds for a test.
kinds:
  hardware:
    description: A GPU.
    requires: [hbm_capacity, link_bandwidth]
  scenario:
    description: The base.
"""

RULES = """
description: A test layer.
quantities:
  hbm_capacity: {unit: GB, description: HBM.}
  link_bandwidth: {unit: GB/s, description: Link.}
  ratio: {unit: s, description: A derived value.}
rules:
  - id: t.ratio
    defines: ratio
    expr: hbm_capacity / link_bandwidth
    description: A ratio.
    source: test
"""


def _folder(tmp_path, hardware: str):
    root = tmp_path / "rules"
    (root / "presets").mkdir(parents=True)
    (root / "t.yaml").write_text(textwrap.dedent(RULES))
    (root / "presets" / "kinds.yaml").write_text(textwrap.dedent(KINDS))
    (root / "presets" / "hw.yaml").write_text(textwrap.dedent(hardware))
    return root


def test_issue_16_a_hardware_preset_must_set_what_its_kind_requires(tmp_path):
    root = _folder(tmp_path, """
        kind: hardware
        description: GPUs.
        presets:
          small:
            description: A GPU without a link.
            source: test
            values:
              hbm_capacity: 80 GB
        """)
    with pytest.raises(RuleSetError) as info:
        cg.load(root, cache=False)
    assert str(info.value) == (
        "1 error in rules/presets/hw.yaml:\n  - line 5: preset small: a hardware preset must set "
        "link_bandwidth (kind hardware requires hbm_capacity, link_bandwidth); set it or mark "
        "the preset `partial: true` if other presets build on it")


def test_an_undeclared_kind_is_a_load_error(tmp_path):
    root = _folder(tmp_path, """
        kind: hardwear
        description: GPUs.
        presets: {}
        """)
    with pytest.raises(RuleSetError) as info:
        cg.load(root, cache=False)
    assert "uses unknown preset kind 'hardwear'; did you mean hardware?" in str(info.value)


# --- discrete decisions ---------------------------------------------------------------------


def test_issue_16_n_gpus_takes_only_real_tensor_parallel_sizes(model):
    with pytest.raises(cg.errors.NotAllowedError) as info:
        model.solve(find=["cost_per_mtok"], given={"n_gpus": 3})
    assert str(info.value) == ("n_gpus = 3 is not allowed: one of 1, 2, 4, 8, 16, 32, 64 that "
                               "divides n_heads")
    out = run("solve", "--find", "cost_per_mtok", "--set", "n_gpus=3", code=1)
    assert out.stderr == ("error: n_gpus = 3 is not allowed: one of 1, 2, 4, 8, 16, 32, 64 that "
                          "divides n_heads\n")


def test_n_gpus_must_divide_the_attention_heads(model):
    with pytest.raises(cg.errors.NotAllowedError) as info:
        model.solve(find=["cost_per_mtok"], given={"n_gpus": 64}, presets=["llama-3-8b"])
    assert str(info.value) == ("n_gpus = 64 is not allowed: it must divide n_heads = 32 "
                               "(llama-3-8b): one of 1, 2, 4, 8, 16, 32")


def test_seek_chooses_among_allowed_sizes_and_a_listed_set(model):
    ranged = model.seek(minimize="cost_per_mtok", vary={"batch": (1, 512), "n_gpus": (1, 8)},
                        presets=["llama-3.1-70b", "ctx-32k"])
    listed = model.seek(minimize="cost_per_mtok",
                        vary={"batch": (1, 512), "n_gpus": {1, 2, 4, 8}},
                        presets=["llama-3.1-70b", "ctx-32k"])
    assert ranged.point["n_gpus"].magnitude in (1, 2, 4, 8)
    assert ranged.point == listed.point
    assert "n_gpus in {1, 2, 4, 8}" in listed.explain()
    costs = []
    for n in (1, 2, 4, 8):
        f = model.compile(["cost_per_mtok"], ["batch"], given={"n_gpus": n},
                          presets=["llama-3.1-70b", "ctx-32k"], constraints="declared")
        import numpy as np

        b = np.arange(1, 513.0)
        ok = np.all([m >= 0 for m in f.margins(batch=b).values()], axis=0)
        costs.append(f(batch=b)["cost_per_mtok"][ok].min() if ok.any() else np.inf)
    assert listed.value.magnitude == pytest.approx(min(costs), rel=1e-9)


def test_cli_vary_takes_a_list_of_values(model):
    out = run("seek", "--minimize", "cost_per_mtok", "--vary", "batch=1..64",
              "--vary", "n_gpus=2,4", "--json")
    import json

    data = json.loads(out.stdout)
    assert data["point"]["n_gpus"]["value"] in (2, 4)


def test_sweep_refuses_sizes_that_are_not_allowed(model):
    with pytest.raises(cg.errors.NotAllowedError):
        model.sweep({"n_gpus": [1, 3]}, "cost_per_mtok")
    assert len(model.sweep({"n_gpus": [1, 2, 4]}, "cost_per_mtok")) == 3
