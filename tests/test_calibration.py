"""Calibration through `solve`: a measured value in, an efficiency out, and how well it carries.

The calibration example runs here as a script and through its main(); its efficiency and its
second-measurement error are checked against a derivation by hand from the architecture
(facts.md §2.1), the hardware (facts.md §1.1) and the measurements (TensorRT-LLM
docs/source/performance.md at 138f96d, peer-numbers.md).
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

# `model` (the bundled rules, loaded once) comes from tests/conftest.py.
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "calibration.py"

# Llama-2-70B (facts.md §2.1)
L, D, FF, H, KV, HD, V = 80, 8192, 28672, 64, 8, 128, 32000
N_PARAMS = L * (D * HD * (2 * H + 2 * KV) + 3 * D * FF + 2 * D) + D + 2 * V * D
WEIGHT_FLOPS = 2 * (L * (D * HD * (2 * H + 2 * KV) + 3 * D * FF) + V * D)
PROMPT = 2048
WEIGHT_PREFILL_FLOPS = (WEIGHT_FLOPS - 2 * V * D) * PROMPT + 2 * V * D
ATTENTION_FLOPS = 4 * H * HD * L * PROMPT * (PROMPT + 1) / 2
ACTIVATION_BYTES = PROMPT * L * (8 * D + 3 * FF) * 2  # norms, residuals, gated FFN in BF16
ALL_REDUCE_BYTES = 2 * L * (2 * 3 / 4) * PROMPT * D * 2  # TP4 ring, BF16 activations


def hand_efficiency():
    """377 ms = the matmuls at 4 x 312 TFLOP/s x eff, attention at the 16-bit peak, the
    elementwise bytes at 4 x 2.039 TB/s, and the all-reduces over 300 GB/s NVLink3 - the
    operators of the roofline stack one after another."""
    rest = ATTENTION_FLOPS / (4 * 312e12) + ACTIVATION_BYTES / (4 * 2.039e12) \
        + ALL_REDUCE_BYTES / 300e9
    return WEIGHT_PREFILL_FLOPS / (4 * 312e12 * (0.377 - rest))


def hand_h100_fp8_ttft(eff):
    compute = WEIGHT_PREFILL_FLOPS / (4 * 1979e12 * eff)
    memory = ((N_PARAMS - 2 * V * D) * 1 + V * D * 2) / (4 * 3.35e12)  # FP8 layers, BF16 head
    return max(compute, memory) + ATTENTION_FLOPS / (4 * 989e12) \
        + ACTIVATION_BYTES / (4 * 3.35e12) + ALL_REDUCE_BYTES / 450e9


@pytest.fixture(scope="module")
def example():
    return runpy.run_path(str(EXAMPLE))


def test_calibration_runs_as_a_script_and_reports_its_second_error(model, capsys):
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    error = hand_h100_fp8_ttft(hand_efficiency()) / 0.109 - 1
    assert f"flops_efficiency = {hand_efficiency():.3f}" in out
    second = out.split("Second measurement", 1)[1].splitlines()[1]
    assert "measured 109 ms" in second and f"error {error:+.0%}" in second


def test_calibrated_efficiency_is_the_hand_derived_one(model, example, capsys):
    report = example["main"](model)
    eff = float(report["flops_efficiency"].magnitude)
    assert eff == pytest.approx(hand_efficiency(), rel=1e-9)
    assert 0.5 < eff < 0.8  # below the 0.87 facts.md §1.1 measures for A100 BF16 matmuls
    # the prefill is compute-bound at that efficiency, so the FLOPs alone pin it
    memory = ((N_PARAMS - V * D) * 2 + PROMPT * 327_680) / (4 * 2.039e12)
    assert WEIGHT_PREFILL_FLOPS / (4 * 312e12 * eff) > memory


def test_second_measurement_error_is_the_hand_derived_one(model, example, capsys):
    report = example["main"](model)
    second = report["second"]
    predicted = hand_h100_fp8_ttft(hand_efficiency())
    assert float(second["predicted"].to("s").magnitude) == pytest.approx(predicted, rel=1e-9)
    assert second["error"] == pytest.approx(predicted / 0.109 - 1, rel=1e-9)
    assert -0.5 < second["error"] < 0  # H100 FP8 reached less of its peak than A100 FP16


def test_calibrated_preset_carries_the_example_value(model, example):
    preset = next(p for p in model.presets() if p.name == "calibrated-trtllm-a100")
    value = float(preset.values["flops_efficiency"].quantity.magnitude)
    assert value == round(hand_efficiency(), 3)
    r = model.solve(presets=["a100-80gb", "llama-2-70b", "fp16", "essay-facility", "batch-1",
                             "in-2k", "tp4", "calibrated-trtllm-a100"], find=["ttft"])
    assert float(r["ttft"].to("ms").magnitude) == pytest.approx(377, abs=0.5)


def test_a_measured_throughput_calibrates_bandwidth_efficiency(model):
    """Default scenario on the roofline stack (memory-bound decode): 2,000 tokens/s at batch
    64 means a 32 ms step, so the achieved bandwidth is the step's bytes over 32 ms - the FP8
    layers, the BF16 LM head, every sequence's KV and the elementwise traffic."""
    r = model.solve(given={"tokens_per_second": "2000 token/s"}, find="bw_efficiency",
                    presets=["default", "roofline"])
    vocab = 128256
    layers = L * (D * HD * (2 * H + 2 * KV) + 3 * D * FF + 2 * D) + D  # FP8: 1 byte each
    step_bytes = layers + vocab * D * 2 + 64 * 4096 * 2 * L * KV * HD \
        + 64 * L * (8 * D + 3 * FF) * 2
    assert float(r["bw_efficiency"].magnitude) == pytest.approx(step_bytes / (4.8e12 * 0.032),
                                                                rel=1e-9)
