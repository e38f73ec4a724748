"""Uncertainty: reproducible with a seed, percentiles around the point estimate, each
distribution read as documented, variance shares, and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from costgraph.cli import app
from costgraph.errors import QueryError, UnknownQuantityError

from toymodel import PRESETS, RULES, build

runner = CliRunner()


@pytest.fixture
def toy(make_rules):
    return build(make_rules)


def test_same_seed_same_numbers_other_seed_other_numbers(toy):
    a = toy.uncertainty("cost_per_mtok", samples=5000, seed=11)
    b = toy.uncertainty("cost_per_mtok", samples=5000, seed=11)
    c = toy.uncertainty("cost_per_mtok", samples=5000, seed=12)
    assert np.array_equal(a.samples, b.samples)
    assert (a.p5, a.p50, a.p95, a.mean) == (b.p5, b.p50, b.p95, b.mean)
    assert a.p50 != c.p50


@pytest.mark.parametrize("presets", [None, ["essay"], ["default", "texas-eia", "batch-128"]])
def test_percentiles_contain_the_point_estimate_on_bundled_scenarios(model, presets):
    u = model.uncertainty("cost_per_mtok", samples=20_000, seed=3, presets=presets)
    assert u.p5 < u.p50 < u.p95
    assert u.p5 <= u.point <= u.p95
    r = model.solve(find=["cost_per_mtok"], presets=presets)
    assert u.point.m == pytest.approx(r["cost_per_mtok"].m, rel=1e-9)
    drawn = {d.name for d in u.inputs}
    assert {"gpu_price", "pue", "utilisation"} <= drawn


def test_the_essays_ranges_are_in_the_presets(model):
    # the essay's honest ranges: GPU $30-35K, PUE 1.10-1.15, utilisation 55-75%
    inputs = {d.name: d for d in model.uncertainty("cost_per_mtok", samples=100).inputs}
    assert (inputs["gpu_price"].low, inputs["gpu_price"].high) == (30000, 35000)
    assert (inputs["pue"].low, inputs["pue"].high) == (1.10, 1.15)
    assert (inputs["utilisation"].low, inputs["utilisation"].high) == (0.55, 0.75)


def test_each_distribution_reads_the_preset_as_documented(toy):
    rng = np.random.default_rng(0)
    dists = {d.name: d for d in toy.uncertainty("cost_per_mtok", samples=10).inputs}
    # normal: mean = value, standard deviation = sd
    bw = dists["bandwidth"].sample(rng, 200_000)
    assert bw.mean() == pytest.approx(2.0, abs=0.002) and bw.std() == pytest.approx(0.1, rel=0.01)
    # triangular: low, mode = value, high; its mean is their average
    price = dists["price_per_hour"].sample(rng, 200_000)
    assert (price.min() >= 1.5, price.max() <= 3.0) == (True, True)
    assert price.mean() == pytest.approx((1.5 + 2 + 3) / 3, rel=0.005)
    # uniform: low .. high
    util = dists["utilisation"].sample(rng, 200_000)
    assert util.min() >= 0.4 and util.max() <= 0.8 and util.mean() == pytest.approx(0.6, abs=0.002)


def test_lognormal_low_and_high_are_p5_and_p95(toy):
    u = toy.uncertainty("cost_per_mtok", samples=200_000, seed=5, inputs=["price_per_hour"],
                        presets=["default", "lognormal-price"])
    price = u.drawn["price_per_hour"]
    assert np.percentile(price, 5) == pytest.approx(1.0, rel=0.01)
    assert np.percentile(price, 95) == pytest.approx(4.0, rel=0.01)
    assert np.median(price) == pytest.approx(2.0, rel=0.01)  # sqrt(1 x 4)


def test_draws_stay_inside_the_declared_bounds(toy):
    u = toy.uncertainty("cost_per_mtok", samples=50_000, seed=2, inputs=["utilisation"],
                        presets=["default", "wide-utilisation"])
    util = u.drawn["utilisation"]
    assert util.max() <= 1.0
    assert (util > 0.99).any()  # truncated, not squeezed away from the bound


def test_variance_shares_of_a_sum_are_its_parts(toy):
    # total = a + b, a ~ U(0, 1), b ~ U(0, 2): variances 1/12 and 4/12, shares 0.2 and 0.8
    u = toy.uncertainty("total", samples=200_000, seed=9)
    shares = {c.name: c.share for c in u.contributors}
    assert [c.name for c in u.contributors] == ["part_b", "part_a"]
    assert shares["part_b"] == pytest.approx(0.8, abs=0.01)
    assert shares["part_a"] == pytest.approx(0.2, abs=0.01)
    assert u.mean.m == pytest.approx(1.5, abs=0.01)


def test_given_values_are_fixed_and_constraints_recorded(toy):
    u = toy.uncertainty("cost_per_mtok", samples=1000, given={"utilisation": 0.5})
    assert "utilisation" not in {d.name for d in u.inputs}
    assert u.feasible_fraction == 1.0
    tight = toy.uncertainty("cost_per_mtok", samples=1000, given={"batch": 700})
    assert tight.feasible_fraction == 1.0  # 80 GB needed of 80 GB: holds exactly
    broken = toy.uncertainty("cost_per_mtok", samples=1000, given={"batch": 701})
    assert broken.feasible_fraction == 0.0


def test_mistakes_are_explained(toy):
    with pytest.raises(QueryError, match="uncertainty of compute_time: no input it depends on"):
        toy.uncertainty("compute_time", samples=10)
    with pytest.raises(QueryError, match="batch has no range to draw from"):
        toy.uncertainty("cost_per_mtok", samples=10, inputs=["batch"])
    with pytest.raises(UnknownQuantityError, match="did you mean utilisation"):
        toy.uncertainty("cost_per_mtok", samples=10, inputs=["utilization"])
    with pytest.raises(QueryError, match="at least 2 samples"):
        toy.uncertainty("cost_per_mtok", samples=1)


def test_exports(toy):
    u = toy.uncertainty("cost_per_mtok", samples=100, seed=1)
    data = u.to_dict()
    assert data["samples"] == 100 and data["seed"] == 1
    assert data["p5"] <= data["p50"] <= data["p95"]
    lines = u.to_csv().splitlines()
    assert lines[0] == ("bandwidth [TB/s],price_per_hour [USD/h],utilisation,"
                        "cost_per_mtok [USD/Mtok],feasible")
    assert len(lines) == 101


def test_cli_uncertainty(make_rules, tmp_path):
    rules = str(make_rules(core=RULES, presets={"toy": PRESETS}))
    out = runner.invoke(app, ["uncertainty", "cost_per_mtok", "--rules", rules, "-n", "4000",
                              "--seed", "4", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    expected = build_toy_uncertainty(rules)
    assert data["p50"] == expected.p50.m and data["samples"] == 4000
    text = runner.invoke(app, ["uncertainty", "cost_per_mtok", "--rules", rules, "-n", "4000",
                               "--seed", "4", "-o", str(tmp_path / "u.png")])
    assert text.exit_code == 0, text.output
    assert "P95" in text.stdout and "utilisation" in text.stdout
    assert (tmp_path / "u.png").stat().st_size > 1000


def build_toy_uncertainty(rules):
    import costgraph as cg

    return cg.load(rules).uncertainty("cost_per_mtok", samples=4000, seed=4)
