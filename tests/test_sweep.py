"""Sweeps: values equal to solve at sampled points, grid order, broken constraints kept and
marked, preset axes, the range grammar, exports, and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from costgraph.cli import app
from costgraph.errors import (BoundsError, ConflictError, DimensionError, NotWholeError,
                              QueryError, UnknownQuantityError)
from costgraph.analysis.sweep import parse_range, parse_values

from toymodel import build

runner = CliRunner()


@pytest.fixture
def toy(make_rules):
    return build(make_rules)


def test_sweep_matches_solve_at_sampled_points(model):
    find = ["cost_per_mtok", "step_time", "tokens_per_second"]
    s = model.sweep({"context_len": "1k..128k:log:12", "batch": "1..256:log:10"}, find)
    rng = np.random.default_rng(7)
    for i in rng.choice(len(s), size=8, replace=False):
        given = {"context_len": float(s.values("context_len")[i]),
                 "batch": float(s.values("batch")[i])}
        r = model.solve(given=given, find=find)
        for name in find:
            exact = float(r[name].to(s.unit(name)).magnitude)
            assert s.values(name)[i] == pytest.approx(exact, rel=1e-9), (name, given)


def test_grid_is_the_product_with_the_last_name_fastest(toy):
    s = toy.sweep({"batch": [1, 2, 4], "context_len": [100, 200]}, "cost_per_mtok")
    assert s.shape == (3, 2) and len(s) == 6
    assert s.values("batch").tolist() == [1, 1, 2, 2, 4, 4]
    assert s.values("context_len").tolist() == [100, 200] * 3
    assert s.grid("batch")[:, 0].tolist() == [1, 2, 4]


def test_points_breaking_a_constraint_are_marked_not_dropped(model):
    s = model.sweep({"context_len": [4096, 131072], "batch": [1, 64]}, "cost_per_mtok")
    assert len(s) == 4 and np.isfinite(s.values("cost_per_mtok")).all()
    for i in range(4):
        given = {"context_len": float(s.values("context_len")[i]),
                 "batch": float(s.values("batch")[i])}
        r = model.solve(given=given, find=["cost_per_mtok"])
        assert set(s.violated(i)) == {c.id for c in r.violated}
        assert bool(s.feasible[i]) == (not r.violated)
    # 4K at batch 64 fits on the default H200; 128K context at batch 64 does not
    assert s.violated(1) == ()
    assert "memory.hbm_fit" in s.violated(3)


def test_slack_is_relative_and_signed(toy):
    # hbm_required = 10 GB + batch x 1000 token x 0.1 MB/token against 80 GB
    s = toy.sweep({"batch": [100, 700, 800]}, "hbm_required")
    assert s.values("hbm_required").tolist() == pytest.approx([20, 80, 90])
    assert s.margins["toy.fit"].tolist() == pytest.approx([0.75, 0.0, -0.125])
    assert s.feasible.tolist() == [True, True, False]


def test_csv_marks_each_point(toy):
    text = toy.sweep({"batch": [100, 800]}, "hbm_required").to_csv()
    assert text == ("batch [request],hbm_required [GB],feasible,violates,slack:toy.fit\n"
                    "100,20.0,true,,0.75\n"
                    "800,90.0,false,toy.fit,-0.125\n")


def test_json_round_trips_and_writes_files(toy, tmp_path):
    s = toy.sweep({"batch": [1, 2]}, ["cost_per_mtok", "step_time"])
    data = json.loads(s.to_json())
    assert data["vary"] == ["batch"] and data["find"] == ["cost_per_mtok", "step_time"]
    assert data["columns"]["cost_per_mtok"]["unit"] == "USD/Mtok"
    assert data["columns"]["cost_per_mtok"]["values"] == s.values("cost_per_mtok").tolist()
    assert data["columns"]["feasible"]["values"] == [True, True]
    s.to_csv(tmp_path / "s.csv")
    s.to_json(tmp_path / "s.json")
    assert (tmp_path / "s.csv").read_text() == s.to_csv()
    assert json.loads((tmp_path / "s.json").read_text()) == data


def test_columns_carry_units_and_are_read_only(toy):
    s = toy.sweep({"batch": [1, 2]}, "step_time")
    assert s["step_time"].units == toy.ruleset.quantities["step_time"].pint_unit
    with pytest.raises(ValueError):
        s.values("step_time")[0] = 1.0
    with pytest.raises(TypeError):
        s.margins["toy.fit"] = None


def test_a_preset_axis_applies_each_preset_after_the_base(toy):
    s = toy.sweep({"batch": [1, 64], "speed": ["default", "fast"]}, "step_time")
    assert s.values("speed").tolist() == ["default", "fast"] * 2
    for i in range(4):
        presets = ["default"] + ([] if s.values("speed")[i] == "default" else ["fast"])
        r = toy.solve(given={"batch": float(s.values("batch")[i])}, find=["step_time"],
                      presets=presets)
        assert s.values("step_time")[i] == pytest.approx(r["step_time"].m, rel=1e-12)


def test_bundled_precision_axis(model):
    s = model.sweep({"precision": "fp16,fp8"}, ["layer_weight_bytes", "lm_head_bytes"])
    # the layers halve; the embedding and LM head stay at 16 bits in both
    assert s.values("layer_weight_bytes")[0] == pytest.approx(2 * s.values("layer_weight_bytes")[1])
    assert s.values("lm_head_bytes")[0] == s.values("lm_head_bytes")[1]


def test_progress_is_reported_to_the_end(toy):
    calls = []
    toy.sweep({"batch": "1..50"}, "step_time", progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (50, 50)


@pytest.mark.parametrize("text, integer, expected", [
    ("1..4", True, [1, 2, 3, 4]),
    ("1..256:log:9", True, [1, 2, 4, 8, 16, 32, 64, 128, 256]),
    ("1k..4k:log:3", False, [1000, 2000, 4000]),
    ("0..1:5", False, [0, 0.25, 0.5, 0.75, 1]),
    ("0.5..1.5:lin:3", False, [0.5, 1.0, 1.5]),
    ("64,8,1", True, [1, 8, 64]),
    ("2M", False, [2e6]),
    ("1..3:log:5", True, [1, 2, 3]),
])
def test_range_grammar(text, integer, expected):
    assert parse_range(text, integer=integer).tolist() == expected


def test_32k_tokens_mean_the_same_in_a_sweep_range_as_in_set(model):
    """k is SI thousands everywhere: a sweep end, a --set value and a preset value agree."""
    swept = parse_values(model, "context_len", "32k..64k:2").tolist()
    assert swept == [32000, 64000]
    assert model.coerce("context_len", "32k").magnitude == swept[0]
    assert model.coerce("context_len", "32k token").magnitude == swept[0]
    assert model.coerce("context_len", "32 ktok").magnitude == swept[0]


def test_range_values_may_carry_units(model):
    assert parse_values(model, "context_len", "1ktok..4ktok:3").tolist() == [1000, 2500, 4000]
    assert parse_values(model, "hbm_bandwidth", "3 TB/s,4800 GB/s").tolist() == [3, 4.8]
    with pytest.raises(DimensionError, match="expected a value in token"):
        parse_values(model, "context_len", "1kg..2k")


def test_range_mistakes_say_how_to_write_one():
    with pytest.raises(QueryError) as caught:
        parse_range("1..x")
    assert str(caught.value) == ("range '1..x': 'x' is not a number (write e.g. "
                                 "1k..128k:log:32, 1..256 or 1,8,64)")
    with pytest.raises(QueryError, match="range '0..10:log': a log range needs positive ends"):
        parse_range("0..10:log")


def test_mistakes_in_vary_are_refused(toy):
    with pytest.raises(UnknownQuantityError, match="did you mean batch"):
        toy.sweep({"bacth": [1, 2]}, "step_time")
    with pytest.raises(BoundsError, match="batch = 0 request is outside its bounds"):
        toy.sweep({"batch": [0, 1]}, "step_time")
    with pytest.raises(NotWholeError, match="batch = 1.5 request must be a whole number"):
        toy.sweep({"batch": [1.5]}, "step_time")
    with pytest.raises(ConflictError, match="a varied name cannot also be given"):
        toy.sweep({"batch": [1]}, "step_time", given={"batch": 2})


# command line ---------------------------------------------------------------------------------


def test_cli_sweep_prints_the_csv(make_rules):
    rules = str(_toy_dir(make_rules))
    out = runner.invoke(app, ["sweep", "batch=100,800", "--find", "hbm_required",
                              "--rules", rules])
    assert out.exit_code == 0, out.output
    assert out.stdout == ("batch [request],hbm_required [GB],feasible,violates,slack:toy.fit\n"
                          "100,20.0,true,,0.75\n"
                          "800,90.0,false,toy.fit,-0.125\n")
    assert out.stderr == "1 of 2 points break a constraint: toy.fit 1\n"


def test_cli_sweep_writes_files(model, tmp_path):
    csv, js = tmp_path / "out.csv", tmp_path / "out.json"
    out = runner.invoke(app, ["sweep", "context_len=1k..128k:log:4", "batch=1..4",
                              "--find", "cost_per_mtok", "-o", str(csv), "-o", str(js)])
    assert out.exit_code == 0, out.output
    assert out.stdout == ""
    expected = model.sweep({"context_len": "1k..128k:log:4", "batch": "1..4"}, "cost_per_mtok")
    assert csv.read_text() == expected.to_csv()
    assert json.loads(js.read_text())["shape"] == [4, 4]
    assert f"wrote {csv}" in out.stderr


def test_cli_sweep_refuses_an_unknown_extension_and_a_bad_name(tmp_path):
    out = runner.invoke(app, ["sweep", "batch=1..4", "--find", "cost_per_mtok",
                              "-o", str(tmp_path / "x.png")])
    assert out.exit_code == 2 and "cannot write x.png: use one of .csv, .json" in out.output
    out = runner.invoke(app, ["sweep", "bacth=1..4", "--find", "cost_per_mtok"])
    assert out.exit_code == 1
    assert out.stderr.startswith("error: unknown quantity 'bacth' in vary")


def _toy_dir(make_rules):
    from toymodel import PRESETS, RULES

    return make_rules(core=RULES, presets={"toy": PRESETS})


def test_cli_sweep_bad_range_is_one_line():
    out = runner.invoke(app, ["sweep", "batch=0..4:log", "--find", "cost_per_mtok"])
    assert out.exit_code == 1
    assert out.stderr == "error: range '0..4:log': a log range needs positive ends\n"


def test_long_sweeps_get_a_progress_bar_short_ones_none():
    from costgraph.cli.sweep import PROGRESS_FROM, progress_bar

    assert progress_bar(PROGRESS_FROM - 1, True) == (None, None)
    assert progress_bar(PROGRESS_FROM, False) == (None, None)
    bar, callback = progress_bar(PROGRESS_FROM, True)
    bar.start()
    callback(PROGRESS_FROM // 2, PROGRESS_FROM)
    assert bar.tasks[0].completed == PROGRESS_FROM // 2
    bar.stop()
