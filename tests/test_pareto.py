"""Pareto fronts: non-domination against brute force, feasibility, senses, preset axes,
exports and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from costgraph.cli import app
from costgraph.errors import QueryError
from costgraph.analysis.pareto import non_dominated

from toymodel import PRESETS, RULES, build

runner = CliRunner()


@pytest.fixture
def toy(make_rules):
    return build(make_rules)


def brute_force(xs, ys, ok):
    """Points no other point matches on both and beats on one (first of exact ties kept)."""
    keep = []
    for i in np.flatnonzero(ok):
        dominated = False
        for j in np.flatnonzero(ok):
            if j == i:
                continue
            if xs[j] <= xs[i] and ys[j] <= ys[i] and (xs[j] < xs[i] or ys[j] < ys[i]):
                dominated = True
            if xs[j] == xs[i] and ys[j] == ys[i] and j < i:
                dominated = True
        if not dominated:
            keep.append(i)
    return keep


@pytest.mark.parametrize("seed", range(6))
def test_non_dominated_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 60
    # few distinct values, so ties on one or both coordinates are common
    xs = rng.integers(0, 12, n).astype(float)
    ys = rng.integers(0, 12, n).astype(float)
    ok = rng.random(n) > 0.2
    assert non_dominated(xs, ys, ok).tolist() == brute_force(xs, ys, ok)


def test_front_on_the_toy_trades_latency_for_cost(toy):
    p = toy.pareto("step_time", "cost_per_mtok", {"batch": "1..1000:log:30"})
    xs, ys = p.front.columns["step_time"], p.front.columns["cost_per_mtok"]
    assert (np.diff(xs) > 0).all() and (np.diff(ys) < 0).all()
    grid = p.sweep
    ok = grid.feasible
    # no feasible point beats a front point on both
    for x, y in zip(xs, ys):
        better = (grid.values("step_time") <= x) & (grid.values("cost_per_mtok") <= y) & ok
        assert not (better & ((grid.values("step_time") < x) |
                              (grid.values("cost_per_mtok") < y))).any()
    # batches past 700 break the fit constraint and are left off
    assert p.front.columns["batch"].max() <= 700
    assert not grid.feasible[grid.values("batch") > 700].any()


def test_stated_constraints_and_maximising(toy):
    p = toy.pareto("step_time", "cost_per_mtok", {"batch": "1..1000:log:30"},
                   subject_to=["step_time <= 10 ms"])
    assert p.front.columns["step_time"].max() <= 0.010
    assert p.subject_to == ("step_time <= 10 ms",)
    q = toy.pareto("tokens_per_second", "cost_per_mtok", {"batch": "1..700:log:20"},
                   maximize="tokens_per_second")
    # throughput and cost improve together until the step turns compute-bound (batch 100/3:
    # 5 + 0.05 b ms of memory against 0.2 b ms of compute); past it both stay flat, so the
    # front is one point, the first compute-bound batch of the grid
    batches = q.sweep.values("batch")
    assert q.front.columns["batch"].tolist() == [batches[batches >= 100 / 3].min()]
    with pytest.raises(QueryError, match="pareto: maximize names batch, which is neither x"):
        toy.pareto("step_time", "cost_per_mtok", {"batch": [1]}, maximize="batch")


def test_bundled_front_over_batch_gpus_and_precision(model):
    p = model.pareto("step_time", "cost_per_mtok",
                     {"batch": "1..256:log:6", "n_gpus": [1, 2], "precision": ["fp16", "fp8"]})
    assert len(p.sweep) == 6 * 2 * 2
    assert set(p.front.names) == {"batch", "n_gpus", "precision", "step_time", "cost_per_mtok"}
    for row in p.rows():
        presets = ["default", row["precision"]]
        r = model.solve(given={"batch": row["batch"], "n_gpus": row["n_gpus"]},
                        find=["cost_per_mtok"], presets=presets)
        assert not r.violated
        assert row["cost_per_mtok"] == pytest.approx(r["cost_per_mtok"].m, rel=1e-9)


def test_exports(toy):
    p = toy.pareto("step_time", "cost_per_mtok", {"batch": [1, 8, 64]})
    assert p.to_csv().splitlines()[0] == "batch [request],step_time [s],cost_per_mtok [USD/Mtok]"
    data = json.loads(p.to_json())
    assert data["x"] == "step_time" and data["points"] == 3 and data["feasible"] == 3


def test_cli_pareto(make_rules, tmp_path):
    rules = str(make_rules(core=RULES, presets={"toy": PRESETS}))
    csv, png = tmp_path / "front.csv", tmp_path / "front.png"
    out = runner.invoke(app, ["pareto", "step_time", "cost_per_mtok", "--rules", rules,
                              "--vary", "batch=1,8,64", "--where", "step_time <= 6 ms",
                              "-o", str(csv), "-o", str(png)], env={"COLUMNS": "100"})
    assert out.exit_code == 0, out.output
    assert " ".join(out.stdout.split()).startswith(
        "Pareto front: min step_time / min cost_per_mtok (default): 2 of 3 points")
    import costgraph as cg

    expected = cg.load(rules).pareto("step_time", "cost_per_mtok", {"batch": "1,8,64"},
                                     subject_to=["step_time <= 6 ms"])
    assert csv.read_text() == expected.to_csv()
    # batch 64 needs a step of 13.2 ms, over the stated 6 ms
    assert expected.front.columns["batch"].tolist() == [1, 8]
    assert png.stat().st_size > 1000
