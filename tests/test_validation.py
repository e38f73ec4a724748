"""Measurements files and validate: the format (exact error text), each metric's mapping onto
the rules against a hand computation on the tiny model of tests/validation_model.py, the
vectorised batch search against a dense scan and the exact solve, and the shipped set."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

import costgraph as cg
from costgraph.errors import MeasurementsFileError
from costgraph.validation.measurements import METRICS, STEPS, read_all, read_measurements
from costgraph.validation.measurements import validation_files
from costgraph.validation.predict import Evaluator
from validation_model import make_model, point, write


@pytest.fixture
def tiny(make_rules):
    return make_model(make_rules)


def predictions(model, tmp_path, *points, presets=()):
    report = model.validate([write(tmp_path / "points.yaml", list(points))], presets=presets)
    return {r.point.id: r for r in report}


# --- the format ---------------------------------------------------------------------------


BAD = """
description: One mistake of each kind.
defaults:
  software: bench
  version: "1"
points:
  - id: ok
    presets: [default]
    metric: max_throughput
    value: 3803 token/s
    source: "[bench-page] table 1"
  - id: ok
    presets: [defualt]
    metric: max_thruput
    value: 12 token/s
    source: "[bench-paeg]"
  - id: wrong-unit
    presets: [default]
    metric: ttft_at
    given: {input_len: 128 s}
    value: 3803 token/s
    source: "a web page"
  - id: stray-key
    presets: [default]
    metric: tpot_at
    concurrency: 8
    value: 20 ms
    source: "[derivation]"
    colour: blue
  - presets: [default]
    metric: max_throughput
    value: 100 token/s
  - id: batch-twice
    presets: [default]
    metric: max_throughput
    concurrency: 8
    given: {batch: 8}
    limits: ["ttft <= 2 blorps"]
    value: 100 token/s
    source: "[derivation]"
  - id: range-outside
    presets: [default]
    metric: max_throughput
    given: {input_len: {value: 900 token, low: 1000 token, high: 2000 token}}
    value: 100 token/s
    source: "[derivation]"
"""


def test_a_bad_file_lists_every_problem_with_its_point(tiny, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent(BAD))
    with pytest.raises(MeasurementsFileError) as err:
        read_measurements(tiny, path)
    assert str(err.value) == "\n".join([
        f"14 errors in measurements file {path}:",
        "  - point #5 key id: required key is missing",
        "  - point batch-twice: given batch: max_throughput sets it; the batch is what it "
        "searches (cap it with max_concurrency)",
        "  - point batch-twice: limit 'ttft <= 2 blorps': cannot read unit literal "
        "{2 blorps}: 'blorps' is not defined in the unit registry at column 9 in "
        "`ttft <= {2 blorps}`",
        "  - point batch-twice: metric max_throughput searches the batch; give max_concurrency "
        "to cap it, or use throughput_at",
        "  - point ok: source cites unknown key [bench-paeg]; did you mean bench-page?",
        "  - point ok: the id is used twice",
        "  - point ok: unknown metric 'max_thruput'; did you mean max_throughput?",
        "  - point ok: unknown preset 'defualt'; did you mean default?",
        "  - point range-outside: given input_len: the value 900 token is outside its range "
        "[1,000 token, 2,000 token]",
        "  - point stray-key key colour: unknown key (see docs/validation.md for the format)",
        "  - point wrong-unit: given input_len: expected a value in token, got 128 s (give it "
        "as e.g. '1 token')",
        "  - point wrong-unit: metric ttft_at needs the concurrency it was measured at "
        "(concurrency: N)",
        "  - point wrong-unit: source 'a web page' is not a citation; write [key] or [key] "
        "locator, several separated by ';' (keys are in rules/sources.yaml; list them with "
        "`costgraph sources`)",
        "  - point wrong-unit: value '3803 token/s' is not in units of ttft (ms) as metric "
        "ttft_at needs",
    ])


def test_the_file_level_mistakes_have_their_own_text(tiny, tmp_path):
    missing = tmp_path / "none.yaml"
    with pytest.raises(MeasurementsFileError, match="cannot read the file: No such file"):
        read_measurements(tiny, missing)
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(MeasurementsFileError) as err:
        read_measurements(tiny, tmp_path / "list.yaml")
    assert str(err.value).endswith("expected a mapping with `description` and `points`")
    with pytest.raises(MeasurementsFileError) as err:
        read_measurements(tiny, {"description": "x", "points": [3]})
    assert str(err.value) == ("1 error in measurements file <mapping>:\n"
                              "  - point #1: expected a mapping of keys")


def test_a_metric_the_rules_cannot_predict_is_refused(make_rules):
    from validation_model import KINDS, RULES, SCENARIOS, STACKS

    no_ttft = RULES.replace("  ttft: {unit: ms, description: time to first token}\n", "")
    no_ttft = no_ttft[:no_ttft.index("  - id: p.ttft")] + no_ttft[no_ttft.index("  - id: d.tpot"):]
    model = cg.load(make_rules(core=no_ttft, presets={"kinds": KINDS, "stacks": STACKS,
                                                      "scenarios": SCENARIOS}), cache=False)
    with pytest.raises(MeasurementsFileError) as err:
        read_measurements(model, {"description": "x", "points": [
            {**point("t", "90 ms", metric="ttft_at", concurrency=1), "source": "free text"}]})
    assert str(err.value).splitlines()[1] == (
        "  - point t: metric ttft_at is predicted by ttft, which these rules do not declare")


def test_ids_must_be_unique_across_files(tiny, tmp_path):
    a = write(tmp_path / "a.yaml", [point("p", "5000 token/s")])
    b = write(tmp_path / "b.yaml", [point("p", "5000 token/s")])
    with pytest.raises(MeasurementsFileError) as err:
        read_all(tiny, [a, b])
    assert str(err.value) == (f"1 error in measurements file {b}:\n"
                              f"  - point p: the id is also used in {a}")


# --- each metric's mapping, by hand (see tests/validation_model.py) -----------------------


def test_max_throughput_is_the_best_batch_that_fits(tiny, tmp_path):
    r = predictions(tiny, tmp_path, point("best", "4000 token/s"))["best"]
    # 100 requests of 0.1 GB fill 20 GB with the 10 GB of weights: 100 / 20 ms
    assert r.predicted == pytest.approx(5000, rel=1e-12)
    assert r.error == pytest.approx(5000 / 4000 - 1, rel=1e-12)
    assert r.detail.batch == 100 and r.detail.limited_by == ("m.fit",)
    # memory 20 ms of a 20 ms step, compute 100 x 0.1 ms = 10 ms
    assert dict(r.detail.shares) == pytest.approx({"memory": 1.0, "compute": 0.5})
    assert r.detail.dominant == "memory"


def test_a_compute_bound_best_rate_is_reached_at_the_smallest_batch(tiny, tmp_path):
    r = predictions(tiny, tmp_path, point("flat", "100 token/s",
                                          presets=["default", "heavy"]))["flat"]
    # 10 ms of compute per request: batch 1 waits on memory (10.1 ms), every batch from 2
    # on computes b x 10 ms for b tokens, 100 token/s
    assert r.predicted == pytest.approx(100, rel=1e-12)
    assert r.detail.batch == 2 and r.detail.limited_by == ("the rate stops growing",)
    assert r.detail.dominant == "compute"


def test_max_concurrency_limits_and_replicas_scale_the_best_batch(tiny, tmp_path):
    rs = predictions(tiny, tmp_path,
                     point("capped", "1 token/s", max_concurrency=40),
                     point("limited", "1 token/s", limits=["serving_step_time <= 15 ms"]),
                     point("replicas", "1 token/s", replicas=4))
    assert rs["capped"].predicted == pytest.approx(40 / 0.014, rel=1e-12)
    assert rs["capped"].detail.limited_by == ("max_concurrency",)
    # a step of (10 + 0.1 b) ms holds 15 ms up to b = 50, exactly
    assert rs["limited"].detail.batch == 50
    assert rs["limited"].predicted == pytest.approx(50 / 0.015, rel=1e-12)
    assert rs["limited"].detail.limited_by == ("serving_step_time <= 15 ms",)
    assert rs["replicas"].predicted == pytest.approx(4 * 5000, rel=1e-12)


def test_the_at_metrics_are_their_quantity_at_the_concurrency(tiny, tmp_path):
    rs = predictions(tiny, tmp_path,
                     point("at", "1 token/s", metric="throughput_at", concurrency=50),
                     point("over", "1 token/s", metric="throughput_at", concurrency=150),
                     point("ttft", "0.1 s", metric="ttft_at", concurrency=1),
                     point("tpot", "1 ms", metric="tpot_at", concurrency=50))
    assert rs["at"].predicted == pytest.approx(50 / 0.015, rel=1e-12)
    assert rs["at"].detail.violated == () and rs["at"].detail.limited_by == ()
    # 150 requests need 25 GB: a saturated engine runs the 100 that fit and queues the rest
    assert rs["over"].predicted == pytest.approx(100 / 0.020, rel=1e-12)
    assert rs["over"].detail.batch == 100
    assert rs["over"].detail.violated == () and rs["over"].detail.limited_by == ("m.fit",)
    # in the measured value's unit: 90 ms is 0.09 s
    assert rs["ttft"].predicted == pytest.approx(0.09, rel=1e-12)
    assert rs["ttft"].error == pytest.approx(-0.1, rel=1e-9)
    assert rs["tpot"].predicted == pytest.approx(15, rel=1e-12)
    # the tiny rules declare no decode or prefill terms: no shares, no dominant mechanism
    assert rs["ttft"].detail.shares == () and rs["ttft"].detail.dominant is None


def test_a_ranged_given_value_gives_the_prediction_across_its_range(tiny, tmp_path):
    ranged = {"input_len": {"value": "900 token", "low": "400 token", "high": "1400 token"}}
    r = predictions(tiny, tmp_path, point("ranged", "5000 token/s", given=ranged))["ranged"]
    assert r.predicted == pytest.approx(5000, rel=1e-12)
    # 400 + 100 tokens: 200 requests fit, (10 + 20) ms; 1400 + 100: 66 fit, (10 + 9.9) ms
    assert r.detail.span == pytest.approx((66 / 0.0199, 200 / 0.020), rel=1e-12)
    assert r.span_errors == pytest.approx((66 / 0.0199 / 5000 - 1, 1.0), rel=1e-12)
    assert r.point.ranges["input_len"][0] == cg.Quantity(400, "token")


def test_a_point_no_batch_fits_has_no_prediction_and_fails_any_limit(tiny, tmp_path):
    report = tiny.validate([write(tmp_path / "p.yaml", [
        point("fits", "5000 token/s"),
        point("too-big", "1 token/s", given={"weight_bytes": "30 GB"})])])
    missing = [r for r in report if r.point.id == "too-big"][0]
    assert missing.predicted is None and missing.error is None
    assert missing.detail.batch is None
    assert [r.point.id for r in report.worse_than(0.5)] == ["too-big"]
    assert report.summary.line() == ("all: 2 points, 1 without a prediction; median |error| "
                                     "0.0%, worst 0.0% (fits); within ±10%: 100%, within "
                                     "±20%: 100%")


def test_presets_apply_over_every_points_own(tiny, tmp_path):
    rs = predictions(tiny, tmp_path, point("p", "100 token/s"), presets=["heavy"])
    assert rs["p"].predicted == pytest.approx(100, rel=1e-12)


def test_the_summary_counts_medians_and_shares_within(tiny, tmp_path):
    # predicted 5000 token/s each: errors +25%, +5%, -9.1%, -50%
    report = tiny.validate([write(tmp_path / "p.yaml", [
        point(f"p{i}", f"{v} token/s") for i, v in enumerate([4000, 5000 / 1.05, 5500, 10000])])])
    s = report.summary
    assert s.median == pytest.approx((0.25 + 1 - 5000 / 5500) / 2)
    assert s.worst == pytest.approx(0.5) and s.worst_id == "p3"
    assert (s.within_10, s.within_20) == (0.5, 0.5)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["points"][0]["error"] == pytest.approx(0.25)
    table = report.table().splitlines()
    assert table[0].startswith("| id | metric | measured | predicted | error |")
    assert len(table) == 2 + 4 and "| +25.0% |" in table[2]


# --- the search, against a dense scan and the exact path ----------------------------------


@pytest.fixture(scope="module")
def v10(model):
    """Points of every regime: compute-bound, HBM-bound, tensor-parallel, FP4, a tiny KV pool."""
    keep = ("llama-3.3-70b:h200-fp8-tp1:128-128", "llama-3.3-70b:h200-fp8-tp1:20000-2000",
            "llama-3.1-405b:h100-sxm-fp8-tp8:2048-128", "llama-3.3-70b:b200-fp4-tp1:128-2048",
            "llama-3.1-8b:h100-sxm-fp8-tp1:128-128")
    return [p for p in read_all(model, ["trtllm-v1.0"]) if p.id.split(":", 1)[1] in keep]


def test_the_batch_search_finds_what_a_dense_scan_of_every_batch_finds(model, v10):
    assert len(v10) == 5
    values, batches = Evaluator(model, v10).search()
    for p, value, batch in zip(v10, values[0], batches[0]):
        f = model.compile("serving_tokens_per_second", ["batch"], given=p.given,
                          presets=p.presets, constraints="declared")
        every = np.arange(1, 16385, dtype=float)
        rate = f(batch=every)
        fits = np.all([m >= 0 for m in f.margins(batch=every).values()], axis=0)
        best = np.max(rate[fits])
        first = every[fits & (rate >= best * (1 - 1e-9))][0]
        assert value == pytest.approx(best, rel=1e-12), p.id
        assert batch == first, p.id


def test_a_prediction_is_what_solve_gives_at_its_batch(model, v10):
    evaluator = Evaluator(model, v10)
    for p, detail in zip(v10, evaluator.details()):
        r = model.solve(given={**p.given, "batch": detail.batch}, presets=p.presets,
                        find=["serving_tokens_per_second", "serving_step_time",
                              *(q for _, q in STEPS["serving"].terms)])
        assert detail.predicted == pytest.approx(
            float(r["serving_tokens_per_second"].to("token/s").magnitude), rel=1e-9), p.id
        step = r["serving_step_time"]
        shares = dict(detail.shares)
        for name, quantity in STEPS["serving"].terms:
            share = float(r[quantity] / step)
            if share > 0:
                assert shares[name] == pytest.approx(share, 1e-9), (p.id, name)


# --- the shipped set -----------------------------------------------------------------------


# reference/measurements.md C1: TensorRT-LLM 1.0, Llama-3.3-70B, TP1 (ISL/OSL: H200 FP8, B200 FP4)
C1 = {"128-128": (3803, 11147), "128-2048": (4336, 9922), "128-4096": (2872, 6831),
      "500-2000": (3666, 7762), "1000-1000": (2909, 7007), "1000-2000": (2994, 6271),
      "2048-128": (442, 1339), "2048-2048": (2003, 4783), "5000-500": (566, 1459),
      "20000-2000": (283, 665)}


def test_the_validation_set_holds_the_c1_points_as_published(model):
    points = {p.id: p for p in read_all(model, ["trtllm-v1.0"])}
    for shape, (h200, b200) in C1.items():
        for gpu, value in (("h200-fp8", h200), ("b200-fp4", b200)):
            p = points[f"trtllm-1.0:llama-3.3-70b:{gpu}-tp1:{shape}"]
            assert p.value == cg.Quantity(value, "token/s")
            isl, osl = shape.split("-")
            assert p.given == {"input_len": cg.Quantity(float(isl), "token"),
                               "output_len": cg.Quantity(float(osl), "token")}
            assert p.presets[1:] == ("llama-3.1-70b", gpu.split("-")[1], "tp1", "trtllm")


def test_every_shipped_point_reads_and_cites_a_bibliography_entry(model):
    files = validation_files()
    assert [f.name for f in files] == ["ml-energy-power.yaml", "ml-energy-throughput.yaml",
                                       "ml-energy.yaml", "mlperf-inference-v4.1.yaml",
                                       "trtllm-v0.17.yaml", "trtllm-v0.20.yaml",
                                       "trtllm-v0.5-v0.6.1.yaml", "trtllm-v1.0.yaml"]
    points = read_all(model)
    assert len(points) == 648
    bib = model.ruleset.bibliography
    from costgraph.lang.bibliography import parse_source

    for p in points:
        keys = {c.key for c in parse_source(p.source)}
        assert any(not bib.entries[k].reserved for k in keys), p.id
        assert p.file.startswith("validation/")
    mlperf = [p for p in points if p.id.startswith("mlperf-4.1:h100x8")]
    assert [p.ranges["input_len"] for p in mlperf] == [
        (cg.Quantity(128, "token"), cg.Quantity(1024, "token"))] * 2


def test_the_metric_and_step_tables_name_declared_quantities(model):
    declared = model.ruleset.quantities
    for metric in METRICS.values():
        assert metric.quantity in declared and metric.step in STEPS
    for step in STEPS.values():
        assert step.total in declared
        assert all(q in declared for _, q in step.terms), step


def test_a_new_model_never_reuses_the_compiled_functions_of_a_dropped_one(make_rules, tmp_path):
    """Compiled functions are cached per model; a model loaded after another was dropped
    (and may sit at the same address) compiles its own."""
    import gc

    points = write(tmp_path / "p.yaml", [point("best", "5000 token/s")])
    first = make_model(make_rules)
    assert first.validate([points]).results[0].predicted == pytest.approx(5000)
    root = first.ruleset.root
    del first
    gc.collect()
    scenarios = root / "presets" / "scenarios.yaml"
    scenarios.write_text(scenarios.read_text().replace("hbm_capacity: 20 GB",
                                                       "hbm_capacity: 40 GB"))
    second = cg.load(root, cache=False)
    # 300 requests fit in 40 GB: 300 / 40 ms
    assert second.validate([points]).results[0].predicted == pytest.approx(7500)
