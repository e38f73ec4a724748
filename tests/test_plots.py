"""Plots: every kind writes a non-empty PNG from the command line, axes carry units, titles
name the scenario, the data behind each is the CSV, limits sit where the slack is zero, and
each example script draws its chart."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from costgraph.plots.stacks import FIGURE_2
from typer.testing import CliRunner

import costgraph as cg
from costgraph import plots
from costgraph.cli import app
from costgraph.errors import MissingExtraError, QueryError
from costgraph.plots.curves import constraint_limits
from costgraph.analysis.sweep import sweep

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PNG = b"\x89PNG\r\n\x1a\n"

# small grids and sample counts: the tests check the drawing, not the resolution
FAST = {
    "context": ["--lines", "1,64", "--x", "1k..128k:log:12"],
    "batch": ["--lines", "4k,32k", "--x", "1..256:log:12"],
    "roofline": ["--lines", "1,64"],
    "stack": [],
    "regions": ["--region", "oregon", "--region", "germany"],
    "carbon": ["--region", "oregon", "--region", "japan", "--hardware", "h100-sxm",
               "--hardware", "b200"],
    "tornado": ["--range", "batch=32..128"],
    "uncertainty": ["--samples", "2000", "--seed", "1"],
    "pareto": ["--vary", "batch=1..256:log:5", "--vary", "precision=fp8,fp4"],
}


@pytest.mark.parametrize("kind", list(plots.KINDS))
def test_each_plot_command_writes_a_png_and_its_data(kind, tmp_path):
    png, csv = tmp_path / f"{kind}.png", tmp_path / f"{kind}.csv"
    out = runner.invoke(app, ["plot", kind, *FAST[kind], "-o", str(png), "-o", str(csv)])
    assert out.exit_code == 0, (out.output, out.exception)
    assert png.read_bytes()[:8] == PNG and png.stat().st_size > 5000
    header = csv.read_text().splitlines()[0]
    assert header and len(csv.read_text().splitlines()) > 1
    assert out.stderr == f"wrote {png}\nwrote {csv}\n"


def test_plot_refuses_options_of_other_kinds_and_unknown_kinds(tmp_path):
    out = runner.invoke(app, ["plot", "stack", "--samples", "10", "-o", str(tmp_path / "a.png")])
    assert out.exit_code == 2 and "--samples does not apply to stack plots" in out.output
    out = runner.invoke(app, ["plot", "pie", "-o", str(tmp_path / "a.png")])
    assert out.exit_code == 2 and "'pie' is not a kind of plot" in out.output


def test_axes_carry_units_and_titles_name_the_scenario(model):
    chart = plots.cost_vs_context(model, presets=["default", "texas-eia"], batches="1,64",
                                  context="1k..64k:log:8")
    assert "default + texas-eia" in chart.title
    ax = chart.figure().axes[0]
    assert ax.get_xlabel() == "context_len [token]"
    assert ax.get_ylabel() == "cost_per_mtok [USD/Mtok]"
    roof = plots.roofline(model, batches="1").figure().axes[0]
    assert (roof.get_xlabel(), roof.get_ylabel()) == ("arithmetic intensity [FLOP/byte]",
                                                      "performance per GPU [TFLOP/s]")


def test_curve_data_is_the_sweep_with_regimes(model):
    chart = plots.cost_vs_batch(model, contexts="4k", batch="1..4096:log:9")
    grid = sweep(model, {"context_len": "4k", "batch": "1..4096:log:9"},
                 ["cost_per_mtok", "memory_time", "compute_time"])
    assert np.array_equal(chart.data.columns["cost_per_mtok"], grid.values("cost_per_mtok"))
    compute = grid.values("compute_time") > grid.values("memory_time")
    assert chart.data.columns["regime"].tolist() == np.where(
        compute, "compute-bound", "memory-bound").tolist()
    assert chart.to_csv() == chart.data.to_csv()


def test_constraint_limits_sit_where_the_slack_is_zero(model):
    grid = sweep(model, {"batch": "8,64", "context_len": "1k..128k:log:16"}, "cost_per_mtok")
    limits = constraint_limits(model, grid, "context_len", "batch", [8, 64], "cost_per_mtok",
                               None, None)
    assert {b for b, _, _ in limits["memory.hbm_fit"]} == {8, 64}
    f = model.compile("cost_per_mtok", ["batch", "context_len"], constraints="declared")
    for batch, context, cost in limits["memory.hbm_fit"]:
        # the KV pool is handed out in 32-token blocks: the slack steps down by a block at a
        # time, so the limit is the last context that holds, and one block more does not
        slack = f.margins(batch=batch, context_len=context)["memory.hbm_fit"]
        beyond = f.margins(batch=batch, context_len=context + 32)["memory.hbm_fit"]
        assert float(slack) >= 0 > float(beyond)
        r = model.solve(given={"batch": batch, "context_len": f"{context} token"},
                        find=["cost_per_mtok"])
        assert cost == pytest.approx(r["cost_per_mtok"].m, rel=1e-9)


def test_stack_layers_add_up_to_the_total(model):
    chart = plots.cost_stack(model)
    layers = plots.cost_layers(model)
    assert layers[0] == "capital_cost_per_mtok" and "labour_cost_per_mtok" in layers
    total = sum(chart.data.columns[n] for n in layers)
    assert total == pytest.approx(chart.data.columns["cost_per_mtok"], rel=1e-9)
    # each bar marks what its configuration breaks: 128K requests at batch 16 overflow the
    # KV pool; batch 1 at FP16 fits (141 GB of weights in 150.75 GB)
    for label, spec, violates in zip(chart.data.columns["scenario"], FIGURE_2.values(),
                                     chart.data.columns["violates"]):
        r = model.solve(given=spec.get("given", {}), find=["cost_per_mtok"],
                        presets=["default", *spec["presets"]])
        assert violates == ", ".join(c.id for c in r.violated), label
    assert chart.data.columns["violates"][-1] == "memory.hbm_fit"
    assert chart.data.columns["violates"][0] == ""


def test_svg_output_is_the_same_twice(model, tmp_path):
    chart = plots.regions(model, ["oregon", "japan"])
    a, b = chart.save(tmp_path / "a.svg"), chart.save(tmp_path / "b.svg")
    assert a.read_bytes() == b.read_bytes()


def test_plotting_without_matplotlib_says_how_to_install_it(model, monkeypatch):
    chart = plots.regions(model, ["oregon"])
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtraError) as caught:
        chart.figure()
    assert str(caught.value) == ("plotting needs the `plot` extra (matplotlib): "
                                 "pip install 'costgraph[plot]'")
    assert chart.to_csv().startswith("scenario,presets,capital_cost_per_mtok [USD/Mtok]")


def test_unknown_file_type_is_refused(model, tmp_path):
    with pytest.raises(QueryError, match="cannot write a chart to a.txt: use one of .png"):
        plots.regions(model, ["oregon"]).save(tmp_path / "a.txt")


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("plot_*.py")))
def test_each_example_draws_its_chart(script, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [script, str(tmp_path), "--quick"])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    images = list(tmp_path.glob("*.png"))
    assert len(images) == 1 and images[0].read_bytes()[:8] == PNG
    assert images[0].with_suffix(".csv").exists()


def test_there_is_one_example_per_kind():
    assert len(list(EXAMPLES.glob("plot_*.py"))) == len(plots.KINDS)


def test_prefill_point_from_the_rules_or_estimated_in_flop_per_byte(model, monkeypatch):
    from costgraph.plots import roof

    decode = model.solve(given={"batch": 1}, find=["arithmetic_intensity"])
    per_token = float(decode["arithmetic_intensity"].to("FLOP/byte").m)
    if set(roof.PREFILL_RULES) <= model.ruleset.quantities.keys():
        ratio, achieved, tokens = roof.prefill_point(model)
        r = model.solve(find=["prefill_arithmetic_intensity"])
        assert ratio == pytest.approx(r["prefill_arithmetic_intensity"].to("FLOP/byte").m)
        assert achieved is not None
    monkeypatch.setattr(roof, "PREFILL_RULES", ("no_such_quantity",))
    ratio, achieved, tokens = roof.prefill_point(model)
    # one pass over a prompt reuses each weight byte once per prompt token, like a decode
    # step at batch = prompt length: roughly tokens x the batch-1 intensity
    assert achieved is None
    assert 0.7 < ratio / (tokens * per_token) < 1.3


def test_the_stack_charts_default_scenarios_are_data_in_the_rules_folder(make_rules):
    from costgraph.lang.rules import load_ruleset

    assert load_ruleset(cg.bundled_rules_path()).stack_scenarios == FIGURE_2
    assert list(FIGURE_2)[0] == "batch 1, FP16"
    root = make_rules(core="""
        description: one input
        quantities:
          batch: {unit: request, description: sequences}
        """, presets={"p": """
        kind: workload
        description: x
        presets:
          one: {description: one sequence, values: {batch: 1}}
        """})
    (root / "charts.yaml").write_text(
        "description: x\nstack:\n  scenarios:\n"
        "    a: {presets: [onee], given: {bacth: 2}}\n")
    with pytest.raises(cg.errors.RuleSetError) as info:
        load_ruleset(root)
    assert str(info.value) == (
        "2 errors in rules/charts.yaml:\n"
        "  - stack scenario 'a': gives unknown quantity 'bacth'; did you mean batch?\n"
        "  - stack scenario 'a': uses unknown preset 'onee'; did you mean one?")


def test_a_stack_chart_without_scenarios_says_how_to_give_them(make_rules):
    model = cg.load(make_rules(core="""
        description: no stack layers
        quantities:
          cost_per_mtok: {unit: USD/Mtok, description: a price}
        """), cache=False)
    with pytest.raises(cg.errors.QueryError) as info:
        plots.cost_stack(model)
    assert str(info.value) == (
        "stack chart: no scenarios given, and this rules folder's charts.yaml lists none "
        "under stack: scenarios; give scenarios={'label': ['preset', ...]}")


def test_carbon_plot_compares_regions_and_hardware_and_its_parts_add_up(model):
    chart = plots.carbon(model, ["oregon", "japan"], hardware=["h200", "b200"])
    c = chart.data.columns
    assert list(zip(c["region"], c["hardware"])) == [("oregon", "h200"), ("oregon", "b200"),
                                                     ("japan", "h200"), ("japan", "b200")]
    assert c["carbon_per_mtok"] == pytest.approx(c["operational_carbon_per_mtok"]
                                                 + c["embodied_carbon_per_mtok"])
    expected = model.solve(presets=["default", "h200", "japan"], find=["carbon_per_mtok"])
    assert c["carbon_per_mtok"][2] == pytest.approx(float(expected["carbon_per_mtok"].to("g/Mtok").m))
    assert c["carbon_per_mtok"][0] < c["carbon_per_mtok"][2]
    assert chart.figure().axes[0].get_ylabel().startswith("carbon")


def test_carbon_plot_refuses_an_unknown_hardware_preset(tmp_path):
    out = runner.invoke(app, ["plot", "carbon", "--hardware", "h300", "-o", str(tmp_path / "a.png")])
    assert out.exit_code == 1 and "h300" in out.output

