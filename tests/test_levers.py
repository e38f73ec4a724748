"""Levers: exact elasticities against finite differences, the active branch of max(), ranges
and swings, ranking, and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from costgraph.cli import app
from costgraph.errors import QueryError, UnknownQuantityError

from toymodel import PRESETS, RULES, build

runner = CliRunner()
H = 1e-6  # relative step of the central differences: error ~H^2, rounding ~1e-16/H


@pytest.fixture
def toy(make_rules):
    return build(make_rules)


def finite_difference(model, target, names, presets=None, given=None) -> dict[str, tuple]:
    """d ln(target) / d ln(x) by differences through the compiled path: (below, above, central).

    The one-sided differences differ where the point sits on a jump of a where() (the
    precision's bits select peak FLOPs: 8 bits is on the step) or a kink of max().
    """
    steps = model.known_steps(presets, given)
    f = model.compile(target, list(names), given=given, presets=presets)
    base = {n: float(steps[n].value.magnitude) for n in names}

    def log_target(name, factor):
        point = dict(base)
        point[name] *= factor
        return float(np.log(f(**{n: np.array([v]) for n, v in point.items()})[0]))

    out = {}
    for name in names:
        mid, up, down = log_target(name, 1), log_target(name, 1 + H), log_target(name, 1 - H)
        out[name] = ((mid - down) / -np.log1p(-H), (up - mid) / np.log1p(H),
                     (up - down) / (np.log1p(H) - np.log1p(-H)))
    return out


def assert_matches(exact: dict, numeric: dict):
    """Exact equals the central difference where the target is smooth (1e-4 relative), and
    one of the one-sided differences where it is not."""
    for name, e in exact.items():
        below, above, central = numeric[name]
        smooth = abs(below - above) <= 1e-3 * max(abs(below), abs(above), 1e-6)
        candidates = [central] if smooth else [below, above]
        assert any(abs(fd - e) <= max(1e-4 * abs(e), 1e-8) for fd in candidates), \
            (name, e, numeric[name])


@pytest.mark.parametrize("presets, given", [
    (None, None),
    (["essay"], None),
    (["default", "llama-3.1-70b", "ctx-32k", "batch-8", "tp4"], None),
    (None, {"batch": 4096, "input_len": 64, "output_len": 64}),  # compute-bound: the other branch
])
def test_elasticities_match_finite_differences_on_bundled_scenarios(model, presets, given):
    table = model.levers("cost_per_mtok", presets=presets, given=given, include_zero=True)
    exact = {lv.name: lv.elasticity for lv in table}
    assert len(exact) > 20
    assert_matches(exact, finite_difference(model, "cost_per_mtok", list(exact), presets,
                                            given))


def test_max_takes_the_active_branch(toy):
    # batch 8: memory-bound, peak does not matter; batch 1000: compute-bound, bandwidth does not
    memory = toy.levers("cost_per_mtok", include_zero=True)
    assert memory["peak"].elasticity == 0 and memory["bandwidth"].elasticity == -1
    compute = toy.levers("cost_per_mtok", given={"batch": 500, "context_len": "1 token"},
                         include_zero=True)
    assert compute["bandwidth"].elasticity == 0
    assert compute["peak"].elasticity == pytest.approx(-1, abs=1e-15)
    # compute-bound cost is price / (util x peak / flops): batch cancels out exactly
    assert compute["batch"].elasticity == pytest.approx(0, abs=1e-15)


def test_toy_elasticities_by_hand(toy):
    table = toy.levers("cost_per_mtok")
    # cost = price / util x (10 + 0.1 b) GB / (bw x b): d ln / d ln b = 0.8 / 10.8 - 1
    assert table["batch"].elasticity == pytest.approx(0.8 / 10.8 - 1, rel=1e-12)
    assert table["weight_bytes"].elasticity == pytest.approx(10 / 10.8, rel=1e-12)
    assert table["utilisation"].elasticity == -1.0
    assert table["price_per_hour"].elasticity == 1.0
    # zero-elasticity inputs without a range are left out unless asked for
    assert "peak" not in [lv.name for lv in table]
    assert [lv.name for lv in table][:3] == ["bandwidth", "price_per_hour", "utilisation"]


def test_swings_use_the_preset_ranges(toy):
    table = toy.levers("cost_per_mtok", rank="swing")
    util = table["utilisation"]
    assert (util.low.m, util.high.m, util.range_source) == (0.4, 0.8, "preset")
    # cost is 0.625 at utilisation 0.6, so 0.9375 at 0.4 and 0.46875 at 0.8
    assert util.target_low.m == pytest.approx(0.9375)
    assert util.target_high.m == pytest.approx(0.46875)
    assert util.swing == pytest.approx(0.46875)
    # a normal given by sd spans value +- 1.645 sd (its P5 and P95)
    bw = table["bandwidth"]
    assert (bw.low.m, bw.high.m) == pytest.approx((2 - 0.16448536, 2 + 0.16448536))
    assert [lv.name for lv in table][:3] in (["price_per_hour", "utilisation", "bandwidth"],
                                             ["utilisation", "price_per_hour", "bandwidth"])


def test_stated_ranges_win_and_given_values_have_none(toy):
    table = toy.levers("cost_per_mtok", ranges={"batch": (4, "16 request")},
                       given={"utilisation": 0.5})
    assert table["batch"].range_source == "stated"
    assert (table["batch"].low.m, table["batch"].high.m) == (4, 16)
    assert table["utilisation"].low is None  # given: its preset range no longer applies
    r = toy.solve(given={"batch": 16, "utilisation": 0.5}, find=["cost_per_mtok"])
    assert table["batch"].target_high.m == pytest.approx(r["cost_per_mtok"].m, rel=1e-12)


def test_levers_refuse_what_they_cannot_answer(toy):
    with pytest.raises(UnknownQuantityError, match="did you mean cost_per_mtok"):
        toy.levers("cost_per_mtk")
    with pytest.raises(QueryError, match="levers of batch: it is an input"):
        toy.levers("batch")
    with pytest.raises(QueryError, match="peak is not a leaf input of it here"):
        toy.levers("memory_time", inputs=["peak"])
    with pytest.raises(QueryError, match="rank must be 'elasticity' or 'swing'"):
        toy.levers("cost_per_mtok", rank="size")


def test_exports(toy):
    table = toy.levers("cost_per_mtok")
    csv = table.to_csv().splitlines()
    assert csv[0] == ("input,value,unit,elasticity,low,high,cost_per_mtok_at_low [USD/Mtok],"
                      "cost_per_mtok_at_high [USD/Mtok],swing [USD/Mtok],feasible_low,"
                      "feasible_high,feasible,violates")
    assert len(csv) == len(table) + 1
    data = json.loads(json.dumps(table.to_dict()))
    assert data["target"] == "cost_per_mtok" and data["unit"] == "USD/Mtok"
    assert [lv["name"] for lv in data["levers"]] == [lv.name for lv in table]


def test_cli_levers_prints_the_ranked_table(make_rules):
    rules = str(make_rules(core=RULES, presets={"toy": PRESETS}))
    out = runner.invoke(app, ["levers", "cost_per_mtok", "--rules", rules],
                        env={"COLUMNS": "120"})
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0] == "cost_per_mtok = 0.625 USD/Mtok (default)"
    rows = [line.split()[:4] for line in lines[3:]]
    assert rows == [["1", "bandwidth", "2", "TB/s"], ["2", "price_per_hour", "2", "USD/h"],
                    ["3", "utilisation", "0.6", "-1.0000"], ["4", "batch", "8", "request"],
                    ["5", "weight_bytes", "10", "GB"], ["6", "context_len", "1,000", "token"],
                    ["7", "kv_per_token", "0.1", "MB/token"]]
    assert "-0.9259" in lines[6]


def test_cli_levers_plot_writes_a_tornado(make_rules, tmp_path, monkeypatch):
    rules = str(make_rules(core=RULES, presets={"toy": PRESETS}))
    monkeypatch.chdir(tmp_path)
    out = runner.invoke(app, ["levers", "cost_per_mtok", "--rules", rules, "--plot", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["levers"][0]["name"] == "bandwidth"
    png = tmp_path / "levers-cost_per_mtok.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
