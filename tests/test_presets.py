"""Presets: every value sourced, every file and name documented, each preset usable.

Values are checked against the cited figures in ../shared/reference/facts.md (and the essay's
own figures for the essay-* presets), written here by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml


# `model` (the bundled rules, loaded once) comes from tests/conftest.py.
RULES = Path(__file__).resolve().parents[1] / "rules"
RULE_FILES = sorted(RULES.glob("*.yaml"))
PRESET_FILES = sorted((RULES / "presets").glob("*.yaml"))

REQUIRED = {
    "hardware": {"a100-80gb", "h100-sxm", "h200", "b200", "gb200", "mi300x", "mi325x", "l40s",
                 "essay-h200"},
    "model": {"llama-3-8b", "llama-3-70b", "llama-3.1-405b", "llama-2-70b", "qwen2.5-72b",
              "essay-70b"},
    "precision": {"fp16", "bf16", "fp8", "fp4"},
    "facility": {"essay-facility"},
    "region": {"oregon", "virginia", "texas", "singapore", "germany", "japan"},
    "scenario": {"default", "essay"},
}


def raw_presets():
    """(file, kind, name, preset dict) for every preset, read straight from YAML."""
    for path in PRESET_FILES:
        data = yaml.safe_load(path.read_text())
        if path.name == "kinds.yaml":  # the declared kinds, not presets
            continue
        for name, preset in data["presets"].items():
            yield path, data["kind"], name, preset


def mag(q, unit):
    return float(q.to(unit).magnitude)


def files_section():
    text = (RULES / "README.md").read_text()
    assert "## Files" in text, "rules/README.md needs a '## Files' section"
    return text.split("## Files", 1)[1]


# --- documentation and sources -------------------------------------------------------------


@pytest.mark.parametrize("path", RULE_FILES + PRESET_FILES, ids=lambda p: p.name)
def test_every_file_is_documented(path):
    name = path.relative_to(RULES).as_posix()
    assert f"`{name}`" in files_section(), f"{name} is not documented in rules/README.md"


def test_every_preset_and_quantity_is_documented():
    docs = files_section()
    missing = [name for _, _, name, _ in raw_presets() if f"`{name}`" not in docs]
    for path in RULE_FILES:
        missing += [q for q in yaml.safe_load(path.read_text()).get("quantities", {})
                    if f"`{q}`" not in docs and not re.search(rf"\b{q}\b", docs)]
    assert not missing, f"undocumented in rules/README.md: {missing}"


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_every_rule_and_constraint_has_a_source(path):
    data = yaml.safe_load(path.read_text())
    for item in data.get("rules", []) + data.get("constraints", []):
        assert str(item.get("source", "")).strip(), f"{path.name}: {item['id']} has no source"
        assert str(item.get("description", "")).strip(), f"{path.name}: {item['id']}"


def test_every_preset_value_has_a_source():
    unsourced = []
    for path, _, name, preset in raw_presets():
        for qname, value in (preset.get("values") or {}).items():
            own = value.get("source") if isinstance(value, dict) else None
            if not (own or preset.get("source")):
                unsourced.append(f"{path.name}: {name}.{qname}")
    assert not unsourced, unsourced


def test_ranges_bracket_their_value(model):
    for preset in model.presets():
        for qname, v in preset.values.items():
            if v.low is not None or v.high is not None:
                assert v.distribution, f"{preset.name}.{qname}: a range needs a distribution"
                assert v.low <= v.quantity <= v.high, \
                    f"{preset.name}.{qname}"


def test_unpublished_prices_are_marked_assumptions(model):
    """facts.md §1.2 has no list price for these: their gpu_price must say it is an assumption."""
    presets = {p.name: p for p in model.presets()}
    for name in ("a100-80gb", "b200", "gb200", "mi325x", "l40s", "essay-h200"):
        assert presets[name].values["gpu_price"].assumption, name
    assert not presets["h200"].values["hbm_bandwidth"].assumption


# --- the catalogue ---------------------------------------------------------------------------


def test_required_presets_exist_with_their_kind(model):
    by_kind = {}
    for preset in model.presets():
        by_kind.setdefault(preset.kind, set()).add(preset.name)
        assert preset.description.strip()
    for kind, names in REQUIRED.items():
        assert names <= by_kind.get(kind, set()), f"{kind}: missing {names - by_kind.get(kind, set())}"


def test_scenarios_compose_what_issue_3_says(model):
    presets = {p.name: p for p in model.presets()}
    assert set(presets["essay"].includes) >= {"essay-h200", "essay-70b", "fp8", "essay-facility",
                                               "batch-64", "req-4k"}
    assert set(presets["default"].includes) >= {"h200", "llama-3.1-70b", "fp8", "essay-facility",
                                                 "batch-64", "req-4k", "trtllm"}


@pytest.mark.parametrize("name,capacity_gb,bandwidth_tbs,fp8_tflops,watts", [
    ("h200", 141, 4.8, 1979, 700),          # facts.md §1.1
    ("h100-sxm", 80, 3.35, 1979, 700),
    ("a100-80gb", 80, 2.039, 312, 400),      # no FP8 units: the FP16 rate
    ("b200", 180, 8.0, 4500, 1000),
    ("mi300x", 192, 5.3, 2610, 750),
    ("essay-h200", 141, 3.35, 989, 700),     # the essay's figures (§2.1, §3.1)
])
def test_hardware_matches_cited_figures(model, name, capacity_gb, bandwidth_tbs, fp8_tflops, watts):
    r = model.solve(presets=[name, "fp8"], find=["hbm_capacity", "hbm_bandwidth", "peak_flops",
                                                 "gpu_power"])
    assert mag(r["hbm_capacity"], "GB") == capacity_gb
    assert mag(r["hbm_bandwidth"], "TB/s") == bandwidth_tbs
    assert mag(r["peak_flops"], "TFLOP/s") == fp8_tflops
    assert mag(r["gpu_power_limit"], "W") == watts


@pytest.mark.parametrize("hardware", sorted(REQUIRED["hardware"]))
def test_every_hardware_preset_prices_a_token(model, hardware):
    r = model.solve(presets=["default", hardware], find=["cost_per_mtok"])
    assert mag(r["cost_per_mtok"], "USD/Mtok") > 0


@pytest.mark.parametrize("name", sorted(REQUIRED["model"] | {"llama-3.1-70b"}))
def test_every_model_preset_prices_a_token(model, name):
    r = model.solve(presets=["default", name], find=["cost_per_mtok", "n_params"])
    assert mag(r["cost_per_mtok"], "USD/Mtok") > 0
    assert mag(r["n_params"], "") > 1e9


def test_precisions_set_weights_and_kv_separately(model):
    r = model.solve(presets=["llama-3-70b", "fp8", "kv-fp16"], find=["weight_bytes", "kv_bytes_per_token"])
    assert mag(r["kv_bytes_per_token"], "byte/token") == 327_680           # 16-bit KV
    n = model.solve(presets=["llama-3-70b"], find=["n_params"])["n_params"]
    vocab = 128256 * 8192  # the embedding and the LM head stay in BF16: a byte more each
    assert mag(r["weight_bytes"], "byte") == pytest.approx(mag(n, "") + 2 * vocab)  # 8-bit layers


def test_region_replaces_only_the_power_price(model):
    find = ["power_cost_per_gpu_hour", "capital_cost_per_gpu_hour"]
    base = model.solve(presets=["default"], find=find)
    japan = model.solve(presets=["default", "japan"], find=find)
    ratio = mag(japan["power_cost_per_gpu_hour"] / base["power_cost_per_gpu_hour"], "")
    assert ratio == pytest.approx(0.145 / 0.07)  # essay §11.3 vs §8.3
    assert mag(japan["capital_cost_per_gpu_hour"] / base["capital_cost_per_gpu_hour"], "") == 1


def test_essay_facility_reproduces_the_essays_capital_per_hour(model):
    """essay §5.2: $40,000 / (3 years x 0.65). pint's year is 365.25 days, the essay's 365."""
    r = model.solve(presets=["essay"], find=["capital_cost_per_gpu_hour"])
    assert mag(r["capital_cost_per_gpu_hour"], "USD/h") == pytest.approx(40_000 / (3 * 8766 * 0.65))
    assert mag(r["capital_cost_per_gpu_hour"], "USD/h") == pytest.approx(2.34, abs=0.005)


def test_convention_presets_change_what_they_say(model):
    find = ["bytes_per_step", "n_params", "step_time"]
    base = model.solve(presets=["default"], find=find)
    llma = model.solve(presets=["default", "conventions-llm-analysis"], find=find)
    assert mag(llma["bytes_per_step"], "byte") > mag(base["bytes_per_step"], "byte")   # KV twice
    assert mag(base["n_params"] - llma["n_params"], "") == 128256 * 8192             # tied
