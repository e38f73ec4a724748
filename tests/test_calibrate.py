"""Calibration on synthetic measurements of the tiny model (tests/validation_model.py):
known efficiencies recovered, their uncertainty against the formula by hand, each way a
quantity can fail to be pinned, leave-one-out against explicit refits, the preset it writes.

At efficiencies bw and fl the tiny model gives, by hand:
- a best batch (memory-bound at every batch, the HBM fit binding at 100): 5,000 x bw token/s;
- the first token: 90 ms / fl;
- with `heavy` (1,000 GFLOP per token) at concurrency 50: 50 / max(15 ms / bw, 500 ms / fl).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import costgraph as cg
from costgraph.validation.calibrate import calibrate
from costgraph.errors import QueryError, UnknownQuantityError
from costgraph.validation.measurements import read_all
from costgraph.validation.predict import Evaluator
from validation_model import make_model, point, write

BW, FL = 0.6, 0.4


@pytest.fixture
def tiny(make_rules):
    return make_model(make_rules)


def synthetic(noise=(1, 1, 1, 1, 1, 1)):
    """Two memory-bound and four compute-bound points at BW and FL, times ``noise``."""
    rate, ttft = 5000 * BW, 90 / FL
    heavy = 50 / max(15e-3 / BW, 500e-3 / FL)
    values = [(f"{rate * noise[0]!r} token/s", {}), (f"{rate * noise[1]!r} token/s",
                                                      {"max_concurrency": 100}),
              (f"{ttft * noise[2]!r} ms", {"metric": "ttft_at", "concurrency": 1}),
              (f"{ttft * noise[3]!r} ms", {"metric": "ttft_at", "concurrency": 4}),
              (f"{heavy * noise[4]!r} token/s", {"metric": "throughput_at", "concurrency": 50,
                                                 "presets": ["default", "heavy"]}),
              (f"{heavy * noise[5]!r} token/s", {"metric": "throughput_at", "concurrency": 50,
                                                 "presets": ["default", "heavy"]})]
    return [point(f"p{i}", v, **keys) for i, (v, keys) in enumerate(values)]


def test_exact_synthetic_points_give_back_the_efficiencies(tiny, tmp_path):
    report = calibrate(tiny, [write(tmp_path / "p.yaml", synthetic())],
                       fit=["bw_efficiency", "flops_efficiency"])
    bw, fl = report.fitted
    assert (bw.name, fl.name) == ("bw_efficiency", "flops_efficiency")
    assert bw.value == pytest.approx(BW, rel=1e-7) and fl.value == pytest.approx(FL, rel=1e-7)
    assert (bw.start, fl.start) == (1, 1)  # from the roofline stack of the default scenario
    assert bw.pinned and fl.pinned and bw.reason is None
    assert bw.sigma < 1e-6 and fl.sigma < 1e-6
    assert report.summary.worst < 1e-7


def test_the_uncertainty_is_the_residual_spread_over_the_sensitivity(tiny, tmp_path):
    """log(prediction) moves as log(bw) for the two memory-bound points and as -log(fl) for
    the two first-token points; the compute-bound throughput points move as log(fl). So the
    Jacobian is diagonal: 2 / bw^2 and 4 / fl^2, and sigma = s * x / sqrt(n) with s^2 the
    residual sum of squares over 6 - 2 degrees of freedom."""
    noise = (1.05, 0.97, 1.02, 0.99, 1.04, 0.98)
    report = calibrate(tiny, [write(tmp_path / "p.yaml", synthetic(noise))],
                       fit=["bw_efficiency", "flops_efficiency"])
    bw, fl = report.fitted
    # each efficiency is the geometric mean its points imply
    assert bw.value == pytest.approx(BW * math.sqrt(1.05 * 0.97), rel=1e-6)
    assert fl.value == pytest.approx(FL * (1.04 * 0.98 / (1.02 * 0.99)) ** 0.25, rel=1e-6)
    residuals = [math.log(1 + p.error) for p in report.points]
    s = math.sqrt(sum(r * r for r in residuals) / 4)
    assert bw.sigma == pytest.approx(s * bw.value / math.sqrt(2), rel=1e-4)
    assert fl.sigma == pytest.approx(s * fl.value / math.sqrt(4), rel=1e-4)
    assert bw.pinned and fl.pinned


def test_a_quantity_no_point_depends_on_is_not_pinned(tiny, tmp_path):
    report = calibrate(tiny, [write(tmp_path / "p.yaml", synthetic()[2:])],
                       fit=["flops_efficiency", "overhead"])
    overhead = report.fitted[1]
    assert not overhead.pinned
    assert overhead.reason == "no point depends on it (its Jacobian column is ~0)"
    assert overhead.value == 1  # left where it started
    assert report.fitted[0].pinned and report.fitted[0].value == pytest.approx(FL, rel=1e-6)
    assert "overhead = 1 ms  [NOT PINNED: no point depends on it" in overhead.text()


def test_memory_bound_points_do_not_pin_the_flop_efficiency(tiny, tmp_path):
    report = calibrate(tiny, [write(tmp_path / "p.yaml", synthetic()[:2])],
                       fit=["bw_efficiency", "flops_efficiency"])
    bw, fl = report.fitted
    assert bw.pinned and bw.value == pytest.approx(BW, rel=1e-7)
    assert not fl.pinned and fl.reason.startswith("no point depends on it")


def test_two_quantities_the_points_see_only_as_a_product_are_not_pinned(tiny, tmp_path):
    report = calibrate(tiny, [write(tmp_path / "p.yaml", synthetic()[:2])],
                       fit=["bw_efficiency", "hbm_bandwidth"])
    for f, other in zip(report.fitted, ("hbm_bandwidth", "bw_efficiency")):
        assert not f.pinned and math.isinf(f.sigma)
        assert f.reason == f"these points cannot tell it apart from {other}"


def test_a_value_the_rules_cannot_reach_is_pressed_against_its_bound(tiny, tmp_path):
    # twice the roofline's rate: the efficiency would have to be 2
    points = [point("fast", "10000 token/s"), point("faster", "11000 token/s")]
    report = calibrate(tiny, [write(tmp_path / "p.yaml", points)], fit=["bw_efficiency"])
    (bw,) = report.fitted
    assert bw.value == pytest.approx(1) and not bw.pinned
    assert bw.reason == ("the fit presses it against its bound 1: the points want a value "
                         "the rules do not allow")


def test_as_many_points_as_quantities_is_an_exact_fit_of_unknown_uncertainty(tiny, tmp_path):
    report = calibrate(tiny, [write(tmp_path / "p.yaml", synthetic()[2:3])],
                       fit=["flops_efficiency"])
    (fl,) = report.fitted
    assert fl.value == pytest.approx(FL, rel=1e-7) and fl.pinned and math.isnan(fl.sigma)
    assert fl.reason == "as many points as fitted values: the fit is exact, its uncertainty unknown"


def test_leave_one_out_predicts_each_point_by_a_refit_without_it(tiny, tmp_path):
    noise = (1.05, 0.97, 1.02, 0.99, 1.04, 0.98)
    points = synthetic(noise)
    report = calibrate(tiny, [write(tmp_path / "all.yaml", points)],
                       fit=["bw_efficiency", "flops_efficiency"], loo=True)
    for i, p in enumerate(points):
        rest = write(tmp_path / f"rest{i}.yaml", points[:i] + points[i + 1:])
        refit = calibrate(tiny, [rest], fit=["bw_efficiency", "flops_efficiency"])
        x = np.array([[f.value for f in refit.fitted]])
        alone = read_all(tiny, [write(tmp_path / f"one{i}.yaml", [p])])
        expected = Evaluator(tiny, alone, fit=["bw_efficiency", "flops_efficiency"]).values(x)
        assert report.points[i].loo_predicted == pytest.approx(expected[0, 0], rel=1e-6), p["id"]
    # without their own point, the two memory-bound points are each predicted by the other
    assert report.points[0].loo_error == pytest.approx(0.97 / 1.05 - 1, rel=1e-5)
    loo = report.loo_summary
    assert loo.median > report.summary.median and loo.points == 6


def test_leave_one_configuration_out_holds_out_every_point_of_its_presets(tiny, tmp_path):
    """The heavy points share their presets: both are predicted by one refit to the four
    points of the default configuration, and those four by a refit to the heavy two, which
    cannot pin the bandwidth: it stays at the presets' value, not the full fit's."""
    noise = (1.05, 0.97, 1.02, 0.99, 1.04, 0.98)
    points = synthetic(noise)
    fit = ["bw_efficiency", "flops_efficiency"]
    report = calibrate(tiny, [write(tmp_path / "all.yaml", points)], fit=fit,
                       loo="configuration")
    for k, (out, rest) in enumerate(((points[4:], points[:4]), (points[:4], points[4:]))):
        refit = calibrate(tiny, [write(tmp_path / f"rest{k}.yaml", rest)], fit=fit)
        x = np.array([[f.value for f in refit.fitted]])
        alone = read_all(tiny, [write(tmp_path / f"out{k}.yaml", out)])
        expected = Evaluator(tiny, alone, fit=fit).values(x)[0]
        got = [r.loo_predicted for r in report.points if r.id in {p["id"] for p in out}]
        assert got == pytest.approx(expected, rel=1e-6)
    assert report.loo == "configuration"
    assert report.loo_summary.line().startswith("leave-one-configuration-out: 6 points;")
    # a point is its own configuration only when no other point shares its presets
    assert calibrate(tiny, [write(tmp_path / "all.yaml", points)], fit=fit,
                     loo=True).loo == "point"
    with pytest.raises(QueryError, match="hold out a 'point' or a 'configuration'"):
        calibrate(tiny, [write(tmp_path / "all.yaml", points)], fit=fit, loo="model")


def test_leave_one_out_of_exact_points_is_exact(tiny, tmp_path):
    report = calibrate(tiny, [write(tmp_path / "p.yaml", synthetic())],
                       fit=["bw_efficiency", "flops_efficiency"], loo=True)
    assert report.loo_summary.worst < 1e-6


def test_the_written_preset_loads_and_reproduces_the_fit(tiny, tmp_path, make_rules):
    noise = (1.05, 0.97, 1.02, 0.99, 1.04, 0.98)
    file = write(tmp_path / "p.yaml", synthetic(noise))
    report = calibrate(tiny, [file], fit=["bw_efficiency", "flops_efficiency", "overhead"])
    text = report.preset_yaml("fitted-bench")
    root = tiny.ruleset.root
    (root / "presets" / "fitted.yaml").write_text(text)
    again = cg.load(root, cache=False)
    preset = again.ruleset.presets["fitted-bench"]
    assert preset.kind == "stack" and preset.includes == ("roofline",)
    assert set(preset.values) == {"bw_efficiency", "flops_efficiency"}  # overhead: not pinned
    bw = preset.values["bw_efficiency"]
    fitted = report.fitted[0]
    assert float(bw.quantity.magnitude) == pytest.approx(fitted.value, rel=1e-3)
    assert float(bw.sd.magnitude) == pytest.approx(fitted.sigma, rel=1e-3)
    assert float(bw.low.magnitude) == pytest.approx(fitted.value - 1.6449 * fitted.sigma, rel=1e-3)
    assert "Not pinned by these points, so taken from roofline: overhead." in preset.description
    assert preset.source.startswith("[bench-page]; [derivation] least squares on log error")
    validated = again.validate([file], presets=["fitted-bench"])
    for r, p in zip(validated, report.points):
        assert r.predicted == pytest.approx(p.predicted, rel=1e-3)


def test_what_cannot_be_fitted_is_refused(tiny, tmp_path):
    file = write(tmp_path / "p.yaml", synthetic())
    with pytest.raises(QueryError) as err:
        calibrate(tiny, [file], fit=["serving_step_time"])
    assert str(err.value) == ("fit serving_step_time: it is derived (rule s.step); fit the "
                              "inputs it is built from")
    with pytest.raises(UnknownQuantityError, match="unknown quantity 'bw_eff' in fit"):
        calibrate(tiny, [file], fit=["bw_eff"])
    with pytest.raises(QueryError, match="name at least one quantity to fit"):
        calibrate(tiny, [file], fit=[])


def test_an_overhead_pressed_to_zero_is_said_to_be_at_its_bound(model):
    # at 0 its elasticity (the column times the value) vanishes with the value, but every
    # point's step still grows with it: the reason is the bound, not "no point depends on it"
    report = model.calibrate(["mlperf-inference-v4.1"], fit=["layer_overhead"])
    (overhead,) = report.fitted
    assert overhead.value == pytest.approx(0, abs=1e-6) and not overhead.pinned
    assert overhead.reason == ("the fit presses it against its bound 0: the points want a "
                               "value the rules do not allow")
