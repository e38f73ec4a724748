"""Calibrate the model to one measurement, then see how well it predicts others.

NVIDIA's TensorRT-LLM performance page (docs/source/performance.md at 138f96d4; `costgraph
sources tensorrt-llm-performance-v0.5`) measured a first-token latency of 377 ms for
Llama-2-70B on four A100 80GB in FP16 with a 2,048-token prompt at batch 1. The roofline floor for that prefill is lower, so
this script gives the measurement to `solve` as `ttft` and solves for `flops_efficiency`: the
fraction of peak the prefill's matmuls actually reached. It then predicts, with that
efficiency, a second measurement on different hardware and precision (four H100 SXM in FP8,
109 ms), and every other Llama-70B row of the same page, and prints the error of each.

The throughput rows are steady-state serving predictions (`serving_tokens_per_second_per_gpu`)
for their batch, prompt and output lengths. The page's A100 table says "out tok/s" without
"/GPU" while its H100 table says "/GPU"; they are compared here per GPU.

`costgraph calibrate` (docs/validation.md) does the same for many measurements at once and
any quantities, by least squares, with each value's uncertainty and leave-one-out errors.

Run: python examples/calibration.py
"""

from __future__ import annotations

from dataclasses import dataclass, field

import costgraph as cg
from costgraph.units import format_quantity

SOURCE = "TensorRT-LLM docs/source/performance.md at 138f96d4 [tensorrt-llm-performance-v0.5]"
LLAMA_2_70B = ["llama-2-70b", "essay-facility", "batch-1", "conventions-costgraph", "roofline"]
A100_FP16 = ["a100-80gb", *LLAMA_2_70B, "fp16"]
H100_FP8 = ["h100-sxm", *LLAMA_2_70B, "fp8"]


@dataclass(frozen=True)
class Measurement:
    what: str
    quantity: str
    value: str  # as measured, with its unit
    presets: list
    given: dict = field(default_factory=dict)


def request(batch, prompt, output, gpus):
    """A throughput row: batch requests of prompt + output tokens on `gpus` GPUs."""
    return dict(given={"batch": batch, "input_len": f"{prompt} token",
                       "output_len": f"{output} token",
                       "context_len": f"{prompt + output} token", "n_gpus": gpus})


CALIBRATION = Measurement("first token, 4 x A100 FP16, 2,048-token prompt (v0.5)", "ttft",
                          "377 ms", [*A100_FP16, "in-2k", "tp4"])
SECOND = Measurement("first token, 4 x H100 FP8, 2,048-token prompt (v0.5)", "ttft", "109 ms",
                     [*H100_FP8, "in-2k", "tp4"])
OTHERS = [
    Measurement("first token, 4 x A100 FP16, 128-token prompt (v0.5)", "ttft", "47 ms",
                [*A100_FP16, "in-128", "tp4"]),
    Measurement("first token, 4 x H100 FP8, 128-token prompt (v0.5)", "ttft", "26 ms",
                [*H100_FP8, "in-128", "tp4"]),
    Measurement("throughput, 4 x A100 FP16, batch 120, 2048 -> 128", "serving_tokens_per_second_per_gpu",
                "79 token/s", A100_FP16, **request(120, 2048, 128, 4)),
    Measurement("throughput, 4 x A100 FP16, batch 240, 128 -> 2048", "serving_tokens_per_second_per_gpu",
                "525 token/s", A100_FP16, **request(240, 128, 2048, 4)),
    Measurement("throughput, 4 x A100 FP16, batch 1280, 128 -> 128", "serving_tokens_per_second_per_gpu",
                "670 token/s", A100_FP16, **request(1280, 128, 128, 4)),
    Measurement("throughput, 2 x H100 FP8, batch 96, 2048 -> 128", "serving_tokens_per_second_per_gpu",
                "306 token/s", H100_FP8, **request(96, 2048, 128, 2)),
    Measurement("throughput, 2 x H100 FP8, batch 64, 2048 -> 2048", "serving_tokens_per_second_per_gpu",
                "547 token/s", H100_FP8, **request(64, 2048, 2048, 2)),
    Measurement("throughput, 4 x H100 FP8, batch 480, 128 -> 2048", "serving_tokens_per_second_per_gpu",
                "1486 token/s", H100_FP8, **request(480, 128, 2048, 4)),
    Measurement("throughput, 2 x H100 FP8, batch 1024, 128 -> 128", "serving_tokens_per_second_per_gpu",
                "2657 token/s", H100_FP8, **request(1024, 128, 128, 2)),
]


def calibrate(model, m: Measurement = CALIBRATION):
    """Solve for the flops_efficiency at which the model gives the measured value."""
    r = model.solve(given={**m.given, m.quantity: m.value}, find="flops_efficiency",
                    presets=m.presets)
    return r["flops_efficiency"]


def predict(model, m: Measurement, flops_efficiency):
    """The model's value for a measurement at a given flops_efficiency, and its relative error."""
    r = model.solve(given={**m.given, "flops_efficiency": flops_efficiency}, find=m.quantity,
                    presets=m.presets)
    measured = cg.Quantity(m.value)
    predicted = r[m.quantity].to(measured.units)
    error = float((predicted / measured).to("dimensionless").magnitude) - 1
    return predicted, error, r


def main(model=None) -> dict:
    model = model or cg.load()
    efficiency = calibrate(model)
    roofline, _, _ = predict(model, CALIBRATION, 1)
    print(f"Calibrated on {SOURCE}:")
    print(f"  {CALIBRATION.what}: measured {CALIBRATION.value}; the roofline gives "
          f"{format_quantity(roofline)}")
    print(f"  flops_efficiency = {efficiency.magnitude:.3f}")
    predicted, error, _ = predict(model, SECOND, efficiency)
    print("Second measurement, different hardware and precision:")
    print(f"  {SECOND.what}: measured {SECOND.value}, predicted {format_quantity(predicted)}, "
          f"error {error:+.0%}")
    print("Every other Llama-70B row of the page, at the same efficiency:")
    rows = []
    for m in OTHERS:
        value, err, r = predict(model, m, efficiency)
        fits = all(c.holds is not False for c in r.constraints)
        rows.append({"what": m.what, "measured": cg.Quantity(m.value), "predicted": value,
                     "error": err, "fits": fits})
        print(f"  {m.what:<52} measured {m.value:>12}  predicted {format_quantity(value):>14}"
              f"  error {err:+6.0%}" + ("" if fits else "  (does not fit)"))
    return {"flops_efficiency": efficiency, "roofline_ttft": roofline,
            "second": {"what": SECOND.what, "measured": cg.Quantity(SECOND.value),
                       "predicted": predicted, "error": error},
            "others": rows}


if __name__ == "__main__":
    main()
