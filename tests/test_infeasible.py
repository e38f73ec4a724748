"""Infeasible is never silent: levers, sweeps, Pareto fronts, uncertainty and every chart say
when a point breaks a declared constraint, which one, and by how much; a seek shows its
constraints in a notebook.

The infeasible example throughout is the default scenario in BF16 on one H100
(``-p default -p bf16 -p h100-sxm``): Llama-3.1-70B's 141 GB of BF16 weights alone exceed the
85.52 GB an "80 GB" H100 really has, so no batch, context or price fits.
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from costgraph import plots
from costgraph.cli import app

from toymodel import PRESETS, RULES, build

runner = CliRunner()
BF16 = ["default", "bf16", "h100-sxm"]
HBM_LINE = "INFEASIBLE: the point breaks memory.hbm_fit (233 GB against 85.52 GB, ratio 2.72)"
HATCH = "///"

# the toy's KV known only to a range, at a batch and context where 0.1 MB/token just fits:
# 10 GB + 100 x 7,000 x kv <= 80 GB holds for kv <= 0.1 MB/token, half of the range
KV_RANGED = """
  kv-ranged:
    description: A KV size known only to a range, at a batch whose KV just fits.
    source: test
    values:
      batch: 100 request
      context_len: 7000 token
      kv_per_token: {value: 0.1 MB/token, low: 0.05 MB/token, high: 0.15 MB/token}
"""


@pytest.fixture
def toy(make_rules):
    return build(make_rules)


@pytest.fixture
def kv_toy(make_rules):
    import costgraph as cg

    presets = textwrap.dedent(PRESETS) + KV_RANGED
    return cg.load(make_rules(core=RULES, presets={"toy": presets}), cache=False)


def legend_texts(chart) -> list[str]:
    return [t.get_text() for ax in chart.figure().axes if ax.get_legend()
            for t in ax.get_legend().get_texts()]


# levers ---------------------------------------------------------------------------------


def test_levers_carry_the_points_constraint_statuses(model):
    table = model.levers("cost_per_mtok", presets=BF16)
    assert not table.feasible and table.failing == ("memory.hbm_fit",)
    exact = model.solve(find=["cost_per_mtok"], presets=BF16)
    assert [c.to_dict() for c in table.constraints] == [c.to_dict() for c in exact.constraints]
    assert table.infeasible_line() == HBM_LINE
    fits = model.levers("cost_per_mtok")
    assert fits.feasible and fits.failing == () and fits.infeasible_line() is None
    assert [c.id for c in fits.constraints] == ["context.max_context", "memory.hbm_fit",
                                                "stack.max_batch"]


def test_each_range_end_says_whether_it_breaks_a_constraint(model):
    table = model.levers("cost_per_mtok", ranges={"batch": (32, 128)})
    batch = table["batch"]
    # 32 requests' KV fits on the H200 in FP8; 128 requests' does not
    assert (batch.feasible_low, batch.feasible_high) == (True, False)
    assert (batch.breaks_low, batch.breaks_high) == ((), ("memory.hbm_fit",))
    for end in (32, 128):
        r = model.solve(given={"batch": end}, find=["cost_per_mtok"])
        assert r.feasible == (end == 32)
    # no other range touches the fit, and an input without a range has no ends to judge
    others = [lv for lv in table if lv.low is not None and lv.name != "batch"]
    assert others and all(lv.feasible_low and lv.feasible_high for lv in others)
    assert table["hbm_bandwidth"].feasible_low is None
    assert table.broken_at_ends == ("memory.hbm_fit",)


def test_at_an_infeasible_point_every_end_that_leaves_the_fit_alone_breaks_it(model):
    table = model.levers("cost_per_mtok", presets=BF16)
    ranged = [lv for lv in table if lv.low is not None]
    assert ranged and all(lv.breaks_low == lv.breaks_high == ("memory.hbm_fit",)
                          for lv in ranged)


def test_levers_json_has_feasible_failing_and_each_ends_feasibility(model):
    data = json.loads(json.dumps(model.levers("cost_per_mtok", presets=BF16,
                                              ranges={"batch": (1, 64)}).to_dict()))
    assert data["feasible"] is False and data["failing"] == ["memory.hbm_fit"]
    assert [c["id"] for c in data["constraints"] if c["holds"] is False] == ["memory.hbm_fit"]
    batch = next(lv for lv in data["levers"] if lv["name"] == "batch")
    # BF16 weights alone (141 GB) do not fit: even one request breaks the fit
    assert (batch["feasible_low"], batch["feasible_high"]) == (False, False)
    bandwidth = next(lv for lv in data["levers"] if lv["name"] == "hbm_bandwidth")
    assert (bandwidth["feasible_low"], bandwidth["feasible_high"]) == (None, None)


def test_levers_csv_marks_each_end(toy):
    table = toy.levers("cost_per_mtok", ranges={"batch": (4, 800)})
    rows = {row["input"]: row for row in table.table().rows()}
    # the toy fits up to batch 700 (10 GB + 0.1 GB per request in 80 GB)
    assert (rows["batch"]["feasible_low"], rows["batch"]["feasible_high"]) == ("true", "false")
    assert rows["batch"]["feasible"] == "false" and rows["batch"]["violates"] == "toy.fit"
    assert (rows["weight_bytes"]["feasible_low"], rows["weight_bytes"]["feasible"]) == ("", "")
    assert table.table().to_dict()["columns"]["feasible_high"]["values"][
        list(rows).index("batch")] is False


def test_cli_levers_says_infeasible_first_and_exits_0(model):
    out = runner.invoke(app, ["levers", "cost_per_mtok", "-p", "default", "-p", "bf16",
                              "-p", "h100-sxm"],
                        env={"COLUMNS": "160"})
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0] == HBM_LINE
    assert lines[1] == "cost_per_mtok = 1.086 USD/Mtok (default + bf16 + h100-sxm)"
    utilisation = next(line for line in lines if " utilisation " in line)
    assert utilisation.split()[-3:] == ["1.283!", "..", "0.9408!"]
    assert lines[-1] == "! with the input at this end, the point breaks memory.hbm_fit"


def test_cli_levers_marks_only_the_end_that_breaks(make_rules):
    rules = str(make_rules(core=RULES, presets={"toy": PRESETS}))
    out = runner.invoke(app, ["levers", "cost_per_mtok", "--rules", rules,
                              "--range", "batch=4..800"], env={"COLUMNS": "160"})
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0] == "cost_per_mtok = 0.625 USD/Mtok (default)"
    batch = next(line for line in lines if " batch " in line)
    low, high = batch.split()[-3], batch.split()[-1]
    assert not low.endswith("!") and high.endswith("!")
    assert sum("!" in line for line in lines) == 2  # the batch's high end and the legend
    assert lines[-1] == "! with the input at this end, the point breaks toy.fit"
    fits = runner.invoke(app, ["levers", "cost_per_mtok", "--rules", rules])
    assert "!" not in fits.stdout and "INFEASIBLE" not in fits.stdout
    broken = runner.invoke(app, ["levers", "cost_per_mtok", "--rules", rules,
                                 "--set", "batch=701"])
    assert broken.exit_code == 0
    assert broken.stdout.splitlines()[0] == ("INFEASIBLE: the point breaks toy.fit (80.1 GB "
                                             "against 80 GB, ratio 1)")


def test_levers_text_flags_the_point_and_the_ends(toy):
    text = toy.levers("cost_per_mtok", given={"batch": 701}, ranges={"batch": (4, 800)}).text()
    lines = text.splitlines()
    assert lines[0] == "INFEASIBLE: the point breaks toy.fit (80.1 GB against 80 GB, ratio 1)"
    batch = next(line for line in lines if line.startswith("batch "))
    assert "4 .. 800!" in batch
    assert lines[-1] == "! with the input at this end, the point breaks toy.fit"


def test_tornado_hatches_ends_that_break_a_constraint(model):
    chart = plots.tornado(model, ranges={"batch": (32, 128)})
    ax = chart.figure().axes[0]
    assert sum(p.get_hatch() == HATCH for p in ax.patches) == 1  # batch at 128
    assert legend_texts(chart)[-1] == "this end breaks memory.hbm_fit"
    assert "INFEASIBLE" not in chart.title
    rows = {r["input"]: r for r in chart.data.rows()}
    assert rows["batch"]["feasible_high"] == "false"
    broken = plots.tornado(model, presets=BF16)
    ax = broken.figure().axes[0]
    assert ax.patches and all(p.get_hatch() == HATCH for p in ax.patches)
    assert broken.title.endswith("; INFEASIBLE: the point breaks memory.hbm_fit")
    plain = plots.tornado(model)
    assert "this end breaks memory.hbm_fit" not in legend_texts(plain)
    assert not any(p.get_hatch() for p in plain.figure().axes[0].patches)


# sweeps ---------------------------------------------------------------------------------


def test_sweep_counts_the_points_breaking_each_constraint(model):
    s = model.sweep({"batch": [1, 64, 128, 256], "context_len": [4096, 262144]},
                    "cost_per_mtok")
    expected = {"context.max_context": 0, "memory.hbm_fit": 0, "stack.max_batch": 0}
    for i in range(len(s)):
        given = {"batch": float(s.values("batch")[i]),
                 "context_len": float(s.values("context_len")[i])}
        for c in model.solve(given=given, find=["cost_per_mtok"]).violated:
            expected[c.id] += 1
    assert s.breaks == expected and expected["memory.hbm_fit"] > 0
    assert expected["context.max_context"] == 4  # 256K of a model that reads 128K
    broken = len(s) - int(s.feasible.sum())
    assert s.summary() == (f"{broken} of 8 points break a constraint: context.max_context 4, "
                           f"memory.hbm_fit {expected['memory.hbm_fit']}")
    data = json.loads(s.to_json())
    assert data["infeasible"] == broken and data["breaks"] == expected
    assert data["columns"]["feasible"]["values"] == s.feasible.tolist()
    assert s.export().columns["feasible"].tolist() == s.feasible.tolist()
    assert s.to_csv().splitlines()[0].split(",")[3:6] == ["feasible", "violates",
                                                          "slack:context.max_context"]


def test_sweep_summary_when_nothing_breaks(toy):
    s = toy.sweep({"batch": [1, 8]}, "cost_per_mtok")
    assert s.summary() == "0 of 2 points break a constraint"


def test_cli_sweep_summarises_on_stderr(model):
    out = runner.invoke(app, ["sweep", "batch=1,64,128", "--find", "cost_per_mtok",
                              "-p", "default", "-p", "bf16", "-p", "h100-sxm"])
    assert out.exit_code == 0, out.output
    assert out.stderr == "3 of 3 points break a constraint: memory.hbm_fit 3\n"
    assert [line.split(",")[2] for line in out.stdout.splitlines()[1:]] == ["false"] * 3


# pareto ---------------------------------------------------------------------------------


def test_pareto_leaves_infeasible_points_off_and_counts_them(model):
    p = model.pareto("step_time", "cost_per_mtok", {"batch": "1..512:log:8",
                                                    "precision": ["fp16", "fp8"]},
                     subject_to=["step_time <= 30 ms"])
    grid = p.sweep
    assert not (p.on_front & ~grid.feasible).any()
    assert p.infeasible == len(grid) - int(grid.feasible.sum()) > 0
    # the exact solve of each point agrees on which break the fit: FP16's weights leave room
    # for few requests, FP8's for more
    fit = [model.solve(given={"batch": float(b)}, presets=["default", str(prec)],
                       find=["cost_per_mtok"]).violated
           for b, prec in zip(grid.values("batch"), grid.values("precision"))]
    assert p.breaks["memory.hbm_fit"] == sum(
        "memory.hbm_fit" in [c.id for c in broken] for broken in fit) > 0
    assert p.breaks["step_time <= 30 ms"] == int((grid.values("step_time") > 0.030).sum())
    assert p.summary() == (f"{p.infeasible} of 16 points break a constraint and are left out: "
                           f"memory.hbm_fit {p.breaks['memory.hbm_fit']}, step_time <= 30 ms "
                           f"{p.breaks['step_time <= 30 ms']}")
    data = json.loads(p.to_json())
    assert data["infeasible"] == p.infeasible and data["breaks"] == p.breaks
    assert data["feasible"] + data["infeasible"] == data["points"] == 16


def test_a_front_of_infeasible_points_only_is_empty(model):
    p = model.pareto("step_time", "cost_per_mtok", {"batch": [1, 64]}, presets=BF16)
    assert len(p) == 0 and p.infeasible == 2
    assert p.summary() == "2 of 2 points break a constraint and are left out: memory.hbm_fit 2"


def test_cli_pareto_prints_what_was_left_out(make_rules):
    rules = str(make_rules(core=RULES, presets={"toy": PRESETS}))
    out = runner.invoke(app, ["pareto", "step_time", "cost_per_mtok", "--rules", rules,
                              "--vary", "batch=1,8,800", "--where", "step_time <= 100 ms"])
    assert out.exit_code == 0, out.output
    # batch 800 needs 90 GB of 80 GB, and a step of 160 ms
    assert out.stdout.splitlines()[-1] == ("1 of 3 points break a constraint and are left "
                                           "out: step_time <= 100 ms 1, toy.fit 1")
    data = json.loads(runner.invoke(app, ["pareto", "step_time", "cost_per_mtok", "--rules",
                                          rules, "--vary", "batch=1,8,800", "--json"]).stdout)
    assert data["infeasible"] == 1 and data["breaks"] == {"toy.fit": 1}


# uncertainty ----------------------------------------------------------------------------


def test_uncertainty_shares_of_samples_breaking_each_constraint(kv_toy):
    u = kv_toy.uncertainty("cost_per_mtok", presets=["default", "kv-ranged"],
                           samples=20_000, seed=3, inputs=["kv_per_token"])
    kv = u.drawn["kv_per_token"]
    assert u.breaks == {"toy.fit": pytest.approx(float(np.mean(kv > 0.1)), abs=1e-12)}
    assert u.breaks["toy.fit"] == pytest.approx(0.5, abs=0.02)
    assert u.feasible_fraction == pytest.approx(1 - u.breaks["toy.fit"], abs=1e-12)
    assert u.point_violated == ()  # 0.1 MB/token fits exactly


def test_uncertainty_percentiles_over_all_and_over_feasible_samples(kv_toy):
    u = kv_toy.uncertainty("cost_per_mtok", presets=["default", "kv-ranged"],
                           samples=20_000, seed=3, inputs=["kv_per_token"])
    every, feasible = u.stats(), u.stats(feasible_only=True)
    assert every["samples"] == 20_000 and feasible["samples"] == int(u.feasible.sum())
    # memory-bound, cost grows with the KV: the feasible half is the cheap half, and its
    # median is the cost at the median of U(0.05, 0.1) MB/token, 0.075
    memory_bound = kv_toy.solve(given={"kv_per_token": "0.075 MB/token"},
                                find=["cost_per_mtok"], presets=["default", "kv-ranged"])
    assert feasible["p50"].m == pytest.approx(memory_bound["cost_per_mtok"].m, rel=0.01)
    at_median = kv_toy.solve(given={"kv_per_token": "0.1 MB/token"},
                             find=["cost_per_mtok"], presets=["default", "kv-ranged"])
    assert every["p50"].m == pytest.approx(at_median["cost_per_mtok"].m, rel=0.01)
    assert feasible["p95"] < every["p95"]
    assert u.percentile(50, feasible_only=True) == feasible["p50"]
    assert u.p50 == every["p50"]


def test_uncertainty_text_and_json_label_both(kv_toy):
    u = kv_toy.uncertainty("cost_per_mtok", presets=["default", "kv-ranged"],
                           samples=4000, seed=3)
    lines = u.text().splitlines()
    assert lines[2].startswith("  all samples (4,000): P5 ")
    n = int(u.feasible.sum())
    assert lines[3].startswith(f"  feasible samples only ({n:,}): P5 ")
    assert lines[4] == (f"  constraints hold in {u.feasible_fraction:.1%} of samples; "
                        f"toy.fit breaks in {u.breaks['toy.fit']:.1%}")
    data = json.loads(json.dumps(u.to_dict()))
    assert data["breaks"] == {"toy.fit": u.breaks["toy.fit"]}
    assert data["feasible_only"]["samples"] == n
    assert data["feasible_only"]["p50"] == u.stats(True)["p50"].m
    assert data["p50"] == u.p50.m and data["point_feasible"] is True


def test_uncertainty_at_an_infeasible_point(model):
    u = model.uncertainty("cost_per_mtok", presets=BF16, samples=2000, seed=1)
    assert u.feasible_fraction == 0.0 and u.breaks["memory.hbm_fit"] == 1.0
    assert u.stats(feasible_only=True) == {"samples": 0, "p5": None, "p50": None, "p95": None,
                                           "mean": None, "std": None}
    assert u.infeasible_line() == HBM_LINE
    lines = u.text().splitlines()
    assert lines[0] == HBM_LINE and "  feasible samples only: none" in lines
    data = u.to_dict()
    assert data["point_failing"] == ["memory.hbm_fit"] and data["feasible_only"]["p50"] is None
    out = runner.invoke(app, ["uncertainty", "cost_per_mtok", "-p", "default", "-p", "bf16",
                              "-p", "h100-sxm",
                              "-n", "2000", "--seed", "1"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0] == HBM_LINE
    assert lines[2].split() == ["statistic", "all", "samples", "feasible", "samples", "only"]
    assert lines[5].split() == ["samples", "2,000", "0", "(0.0%)"]
    assert lines[6].split()[-1] == "none"
    assert any(line.split() == ["memory.hbm_fit", "100.0%", "of", "samples"] for line in lines)


def test_uncertainty_histogram_stacks_the_broken_samples(kv_toy):
    chart = plots.uncertainty_histogram(kv_toy, presets=["default", "kv-ranged"],
                                        samples=4000, seed=3)
    u = kv_toy.uncertainty("cost_per_mtok", presets=["default", "kv-ranged"], samples=4000,
                           seed=3)
    assert chart.data.columns["count"].sum() == 4000
    assert chart.data.columns["feasible"].sum() == int(u.feasible.sum())
    texts = legend_texts(chart)
    assert f"breaks a constraint: toy.fit {u.breaks['toy.fit']:.1%}" in texts
    assert sum(t.endswith("(feasible only)") for t in texts) == 3
    assert sum(t.endswith("(all)") for t in texts) == 3
    assert any(p.get_hatch() == HATCH for p in chart.figure().axes[0].patches)


# plots ------------------------------------------------------------------------------------

# small grids: each chart on the BF16 scenario, where every point breaks the HBM fit
BROKEN_CHARTS = {
    "context": dict(batches="1,64", context="1k..64k:log:6"),
    "batch": dict(contexts="4k", batch="1..256:log:6"),
    "roofline": dict(batches="1,64"),
    "stack": dict(scenarios={"batch 8": ["batch-8"], "batch 64": ["batch-64"]}),
    "regions": dict(names=["oregon"]),
    "carbon": dict(names=["oregon"]),
    "tornado": {},
    "uncertainty": dict(samples=2000, seed=1),
    "pareto": dict(vary={"batch": [1, 64]}),
}
LEGEND_WORD = {"context": "a constraint is broken", "batch": "a constraint is broken",
               "roofline": "hollow: breaks a declared constraint",
               "stack": "hatched: breaks a declared constraint",
               "regions": "hatched: breaks a declared constraint",
               "carbon": "hatched: breaks a declared constraint",
               "tornado": "this end breaks memory.hbm_fit",
               "uncertainty": "breaks a constraint: memory.hbm_fit 100.0%",
               "pareto": "breaks a constraint (2 of 2: memory.hbm_fit 2)"}


def test_there_is_an_infeasible_case_for_every_kind_of_chart():
    assert set(BROKEN_CHARTS) == set(plots.KINDS) == set(LEGEND_WORD)


@pytest.mark.parametrize("kind", list(BROKEN_CHARTS))
def test_every_chart_marks_infeasible_points_in_its_data_and_legend(model, kind):
    chart = plots.KINDS[kind](model, presets=BF16, **BROKEN_CHARTS[kind])
    assert "feasible" in chart.data.names
    values = [v for v in chart.data.columns["feasible"].tolist() if v is not None]
    if kind == "uncertainty":  # per bin, how many of its samples keep every constraint
        assert sum(values) == 0 and chart.data.columns["count"].sum() == 2000
    else:
        assert values and not any(values)
    assert LEGEND_WORD[kind] in legend_texts(chart)
    data = json.loads(chart.data.to_json())
    assert "feasible" in data["columns"]


def test_the_roofline_draws_a_batch_that_does_not_fit_hollow(model):
    chart = plots.roofline(model, batches="1,256")
    rows = list(chart.data.rows())
    assert [r["feasible"] for r in rows] == ["true", "false", "true", ""]
    assert rows[1]["violates"] == "memory.hbm_fit"
    labels = legend_texts(chart)
    assert labels[2].endswith("(breaks memory.hbm_fit)")
    assert labels[-1] == "hollow: breaks a declared constraint"
    fits = plots.roofline(model, batches="1,64")
    assert "hollow: breaks a declared constraint" not in legend_texts(fits)


def test_the_pareto_charts_data_is_every_decision_drawn(model):
    chart = plots.pareto_front(model, vary={"batch": [1, 64, 256]})
    p = model.pareto("step_time", "cost_per_mtok", {"batch": [1, 64, 256]})
    assert chart.data.columns["feasible"].tolist() == [True, True, False]
    assert chart.data.columns["on_front"].tolist() == p.on_front.tolist()
    assert "breaks a constraint (1 of 3: memory.hbm_fit 1)" in legend_texts(chart)


# seek in a notebook -------------------------------------------------------------------------


def test_seek_result_html_shows_the_optimum_point_and_binding_constraints(model):
    s = model.seek(minimize="cost_per_mtok", where="step_time <= 60 ms",
                   vary={"batch": (1, 512)})
    html = s._repr_html_()
    assert html.startswith("<p><strong>minimum cost_per_mtok = 0.3616 USD/Mtok</strong></p>")
    assert "<tr><td>batch</td><td>96 request</td></tr>" in html
    assert "<tr><td>memory.hbm_fit</td><td>binding</td>" in html
    assert "<tr><td>step_time &lt;= 60 ms</td><td>holds</td>" in html
    assert "<tr><td>context.max_context</td><td>holds</td>" in html
    top = model.seek(maximize="batch", vary={"batch": (1, 4096)})._repr_html_()
    assert top.startswith("<p><strong>maximum batch = ")


def test_uncertainty_point_is_the_solve_at_the_presets(model):
    u = model.uncertainty("cost_per_mtok", samples=200, seed=1)
    exact = model.solve(find=["cost_per_mtok"])
    assert u.point.m == pytest.approx(exact["cost_per_mtok"].m, rel=1e-9)
    assert [c.id for c in u.constraints] == [c.id for c in exact.constraints]
