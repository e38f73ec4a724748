"""Goal seeking (issue 4): optima against brute force, binding constraints, honest failures."""

import doctest
import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import costgraph as cg
from costgraph import errors
from costgraph.analysis.seek import search as seek_search

SCENARIOS = [["default"], ["essay"], ["default", "b200"], ["default", "h100-sxm"],
             ["essay", "fp16"]]
FIXTURES = [HealthCheck.function_scoped_fixture]  # the model fixture is read-only
_COMPILED = {}


def compiled(model, find, inputs, presets=None, given=None):
    """A compiled function with the declared constraints, cached across examples."""
    key = (id(model), tuple(find), tuple(inputs), tuple(presets or ()),
           tuple(sorted((given or {}).items())))
    if key not in _COMPILED:
        _COMPILED[key] = model.compile(find, inputs, given=given, presets=presets,
                                       constraints="declared")
    return _COMPILED[key]


def declared_hold(f, **arrays):
    return np.all([m >= 0 for m in f.margins(**arrays).values()], axis=0)


def brute_max_context(model, presets, limit, batches, contexts):
    """Largest whole context meeting cost <= limit and the declared constraints, over every
    (batch, context) pair of the grid; returns (context, [batches reaching it])."""
    f = compiled(model, ["cost_per_mtok"], ["context_len", "batch"], presets)
    best = np.full(len(batches), -1.0)
    for chunk in np.array_split(np.arange(len(batches)), max(1, len(batches) // 64)):
        c, b = np.meshgrid(contexts, batches[chunk])
        ok = (f(context_len=c, batch=b)["cost_per_mtok"] <= limit) & \
            declared_hold(f, context_len=c, batch=b)
        best[chunk] = np.where(ok, c, -1.0).max(axis=1)
    top = best.max()
    return top, [int(b) for b in batches[best == top]]


# --- the issue's query on the bundled scenarios ---------------------------------------------


@pytest.mark.parametrize("presets, limit", [(["default"], 0.35), (["essay"], 5.0)])
def test_issue_4_max_context_under_a_price_matches_brute_force(model, presets, limit):
    s = model.seek(maximize="context_len", subject_to=[f"cost_per_mtok <= {limit} USD/Mtok"],
                   vary={"batch": (1, 4096)}, presets=presets)
    top, batches = brute_max_context(model, presets, limit, np.arange(1, 4097.0),
                                     np.arange(0, 10001.0))
    context = s.point["context_len"].to("token").magnitude
    assert top <= context < top + 1
    assert batches == [s.point["batch"].to("request").magnitude]
    assert s.value == s.point["context_len"]
    ids = [c.id for c in s.binding]
    assert f"cost_per_mtok <= {limit} USD/Mtok" in ids and "memory.hbm_fit" in ids
    assert all(c.holds for c in s.constraints)
    derivation = s.result.explain("cost_per_mtok")
    cost = cg.units.format_quantity(s.result["cost_per_mtok"])
    assert derivation.startswith(f"cost_per_mtok = {cost}  [derived: rule cost.cost_per_mtok]")
    assert f"batch = {int(s.point['batch'].magnitude)} request  [given]" in derivation


def test_the_model_limit_binds_at_exactly_its_value(model):
    s = model.seek(maximize="context_len", subject_to=["cost_per_mtok <= 1 USD/Mtok"],
                   vary={"batch": (1, 4096)}, presets=["llama-3-70b"])  # built for 8,192
    limit = s.result["max_context_len"]
    assert s.value == limit  # not 1e-13 short of it: the boundary itself holds
    assert [c.id for c in s.binding] == ["context.max_context"]
    top, batches = brute_max_context(model, ["llama-3-70b"], 1.0, np.arange(1, 129.0),
                                     np.arange(limit.magnitude - 2, limit.magnitude + 3))
    assert top == limit.magnitude
    assert s.point["batch"].magnitude == batches[0]  # ties go to the smallest batch


def test_hbm_binds_not_the_price(model):
    s = model.seek(maximize="context_len", subject_to=["cost_per_mtok <= 100 USD/Mtok"],
                   vary={"batch": (1, 64)}, given={"max_context_len": "10000000 token"})
    assert [c.id for c in s.binding] == ["memory.hbm_fit"]
    assert s.point["batch"].magnitude == 1
    price = next(c for c in s.constraints if c.id == "cost_per_mtok <= 100 USD/Mtok")
    assert price.slack.magnitude > 1  # dollars of room: the price is not what stops it
    fit = next(c for c in s.binding if c.id == "memory.hbm_fit")
    # the KV cache hands out 32-token blocks: what the pool has left is less than one more
    block = 32 * s.result["kv_bytes_per_token"].to("byte/token").magnitude
    assert fit.holds and 0 <= fit.slack.to("byte").magnitude < block


def test_a_price_through_power_that_follows_the_load_gets_no_closed_form(model):
    """The price holds the context in the GPU's power as well as in its step time, a long
    rational equation sympy.solve would grind on for minutes: no closed form is tried, and
    the bisection says how the optimum was found."""
    s = model.seek(maximize="context_len", subject_to=["cost_per_mtok <= 0.8 USD/Mtok"],
                   vary={"batch": (1, 40)})
    assert [c.id for c in s.binding] == ["cost_per_mtok <= 0.8 USD/Mtok"]
    assert s.closed_form is None
    text = s.explain()
    assert "closed form" not in text and "search: context_len by bisection" in text


def test_closed_form_of_a_whole_number_through_branches(model):
    """The step-time rule takes max() and, for mixtures of experts, where(): the formula
    follows the branches active at the optimum, and the whole-number optimum is its floor."""
    s = model.seek(minimize="cost_per_mtok", subject_to=["step_time <= 30 ms"],
                   vary={"batch": (1, 4096)}, given={"context_len": "2048 token"})
    cf = s.closed_form
    assert (cf.name, cf.constraint, cf.integer) == ("batch_max", "step_time <= 30 ms", True)
    assert math.floor(cf.value.magnitude) == s.point["batch"].magnitude
    assert [c.id for c in s.binding] == ["step_time <= 30 ms"]
    assert "closed form, from step_time <= 30 ms:" in s.explain()


# --- property tests against brute force ---------------------------------------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=FIXTURES)
@given(presets=st.sampled_from(SCENARIOS), limit=st.floats(0.05, 20),
       top=st.integers(1, 48))
def test_max_context_agrees_with_brute_force(model, presets, limit, top):
    contexts = np.arange(0, 2.0 ** 15 + 1)
    batches = np.arange(1, top + 1.0)
    best, at = brute_max_context(model, presets, limit, batches, contexts)
    query = dict(maximize="context_len", subject_to=[f"cost_per_mtok <= {limit} USD/Mtok"],
                 vary={"batch": (1, top)}, presets=presets)
    if best < 0:
        with pytest.raises(errors.InfeasibleError):
            model.seek(**query)
        return
    s = model.seek(**query)
    context = s.point["context_len"].magnitude
    assume(context < contexts[-1])  # beyond the grid brute force cannot tell
    assert best <= context * (1 + 1e-12) and context < best + 1
    assert s.point["batch"].magnitude in at


@settings(max_examples=15, deadline=None, suppress_health_check=FIXTURES)
@given(presets=st.sampled_from(SCENARIOS), step_ms=st.floats(5, 120),
       top=st.integers(1, 2048), context=st.sampled_from([512, 2048, 4096, 8000]))
def test_min_cost_under_a_step_time_agrees_with_brute_force(model, presets, step_ms, top,
                                                            context):
    given_ = {"context_len": f"{context} token"}
    f = compiled(model, ["cost_per_mtok", "step_time"], ["batch"], presets, given_)
    batches = np.arange(1, top + 1.0)
    out = f(batch=batches)
    ok = declared_hold(f, batch=batches) & (out["step_time"] <= step_ms / 1000)
    query = dict(minimize="cost_per_mtok", subject_to=[f"step_time <= {step_ms} ms"],
                 vary={"batch": (1, top)}, given=given_, presets=presets)
    if not ok.any():
        with pytest.raises(errors.InfeasibleError):
            model.seek(**query)
        return
    s = model.seek(**query)
    cost = out["cost_per_mtok"]
    best = cost[ok].min()
    assert s.value.to("USD/Mtok").magnitude == pytest.approx(best, rel=1e-9)
    first = batches[ok & (cost <= best * (1 + 1e-11))][0]
    assert s.point["batch"].magnitude == first


@settings(max_examples=10, deadline=None, suppress_health_check=FIXTURES)
@given(presets=st.sampled_from(SCENARIOS), limit=st.floats(0.05, 20))
def test_grid_and_refine_finds_the_enumerated_optimum(model, presets, limit, monkeypatch):
    query = dict(maximize="context_len", subject_to=[f"cost_per_mtok <= {limit} USD/Mtok"],
                 vary={"batch": (1, 4096)}, presets=presets)
    try:
        exact = model.seek(**query)
    except errors.InfeasibleError:
        return
    with monkeypatch.context() as patch:
        patch.setattr(seek_search, "ENUMERATE_LIMIT", 16)
        refined = model.seek(**query)
    assert "batch by grid and refinement" in refined.method
    assert refined.point == exact.point
    assert [c.id for c in refined.binding] == [c.id for c in exact.binding]


# --- whole numbers, strictness, search paths (tiny rules) ---------------------------------------


def test_whole_number_optimum_is_not_a_rounded_real(tiny):
    s = tiny.seek(maximize="batch", vary={"batch": (1, 100000)})
    # (141 GB - 70 GB) / (4096 token * 163840 B/token) = 105.8 sequences fit; 106 would not
    assert s.value == cg.Quantity(105, "request")
    assert s.closed_form.value.magnitude == pytest.approx(71e9 / (4096 * 163840))
    assert s.closed_form.expression == \
        "(hbm_capacity - weight_bytes)/(context_len*kv_bytes_per_token)"
    assert [c.id for c in s.binding] == ["m.fit"]
    assert s.explain().splitlines()[:4] == [
        "maximize batch subject to m.fit",
        "vary: batch in [1, 100,000] request (the objective)",
        "optimum: batch = 105 request",
        "binding:"]


def test_integer_bounds_are_kept(tiny):
    s = tiny.seek(minimize="cost_per_mtok", vary={"batch": (3, 40)})
    assert s.point["batch"] == cg.Quantity(40, "request")
    assert s.bounds["batch"] == (cg.Quantity(3, "request"), cg.Quantity(40, "request"))
    assert s.binding == ()  # the bound stops it, not a constraint


@pytest.mark.parametrize("op, expected", [("<", 49), ("<=", 50)])
def test_strict_and_non_strict_limits(tiny, op, expected):
    s = tiny.seek(maximize="batch", subject_to=[f"batch {op} 50 request"],
                  vary={"batch": (1, 1000)})
    assert s.value.magnitude == expected
    assert [c.id for c in s.binding] == [f"batch {op} 50 request"]


def test_max_context_on_tiny_rules_matches_brute_force(tiny):
    s = tiny.seek(maximize="context_len", subject_to=["cost_per_mtok <= 2 USD/Mtok"],
                  vary={"batch": (1, 64)})
    f = tiny.compile(["cost_per_mtok"], ["context_len", "batch"], constraints="declared")
    c, b = np.meshgrid(np.arange(1, 60001.0), np.arange(1, 65.0))
    ok = (f(context_len=c, batch=b)["cost_per_mtok"] <= 2) & declared_hold(f, context_len=c,
                                                                             batch=b)
    per_batch = np.where(ok, c, 0).max(axis=1)
    assert math.floor(s.value.magnitude) == per_batch.max()
    assert s.point["batch"].magnitude == np.argmax(per_batch) + 1
    assert [c.id for c in s.binding] == ["m.fit", "cost_per_mtok <= 2 USD/Mtok"]


NON_MONOTONE = """
description: A bowl, so that no variable is monotone.
quantities:
  x: {unit: s, description: a real decision, bounds: [0, 10]}
  n: {unit: "1", description: a whole decision, bounds: [1, 50], integer: true}
  y: {unit: s**2, description: distance from the bottom of the bowl}
rules:
  - {id: bowl.y, defines: y, expr: "(x - {3 s}) ** 2 + (n - 17) ** 2 * {1 s**2}",
     description: a bowl, source: test}
"""


def bowl(make_rules):
    scenario = """
    kind: scenario
    description: none
    presets:
      default: {description: none, source: test, values: {x: 1 s, n: 1}}
    """
    return cg.load(make_rules(core=NON_MONOTONE, presets={"s": scenario}), cache=False)


def test_grid_and_refine_when_nothing_is_monotone(make_rules):
    m = bowl(make_rules)
    s = m.seek(minimize="y", vary={"x": (0, 10), "n": (1, 50)})
    assert s.point["n"].magnitude == 17
    assert s.point["x"].magnitude == pytest.approx(3, abs=1e-6)
    assert s.method.startswith("no variable is monotone; x, n by grid and refinement")
    with_limit = m.seek(minimize="y", subject_to=["x >= 5 s"],
                        vary={"x": (0, 10), "n": (1, 50)})
    assert with_limit.point["x"].magnitude == pytest.approx(5, rel=1e-9)
    assert [c.id for c in with_limit.binding] == ["x >= 5 s"]


# --- results ------------------------------------------------------------------------------------


def test_result_is_frozen_and_serialises(tiny):
    s = tiny.seek(maximize="context_len", subject_to=["cost_per_mtok <= 2 USD/Mtok"],
                  vary={"batch": (1, 64)})
    with pytest.raises(AttributeError):
        s.value = None
    data = json.loads(json.dumps(s.to_dict()))
    assert data["objective"] == "context_len" and data["sense"] == "maximize"
    assert data["point"]["batch"] == {"value": 12.0, "unit": "request"}
    assert data["bounds"]["context_len"] == {"low": 1.0, "high": 1e9, "unit": "token"}
    assert [c["id"] for c in data["binding"]] == ["m.fit", "cost_per_mtok <= 2 USD/Mtok"]
    assert data["closed_form"]["name"] == "context_len_max"
    assert data["result"]["values"]["batch"]["kind"] == "given"
    assert list(s.point) == ["context_len", "batch"]


def test_declared_constraints_apply_once_even_when_named(tiny):
    s = tiny.seek(maximize="batch", subject_to=["m.fit"], vary={"batch": (1, 1000)})
    assert [c.id for c in s.constraints] == ["m.fit"]
    assert s.value.magnitude == 105


# --- honest failures ------------------------------------------------------------------------------


def test_infeasible_names_the_least_bad_point_and_the_gap(tiny):
    with pytest.raises(errors.InfeasibleError) as info:
        tiny.seek(maximize="context_len", subject_to=["cost_per_mtok <= 0.01 USD/Mtok"],
                  vary={"batch": (1, 8)})
    e = info.value
    assert str(e) == ("cost_per_mtok is 1.519 USD/Mtok at best (batch 8 request, context_len "
                      "1 token), 15,091% above 0.01 USD/Mtok")
    assert e.point["batch"] == cg.Quantity(8, "request")
    assert [v.id for v in e.violations] == ["cost_per_mtok <= 0.01 USD/Mtok"]
    assert e.violations[0].slack.magnitude < 0
    again = pickle.loads(pickle.dumps(e))
    assert str(again) == str(e) and again.point == e.point


def test_infeasible_least_bad_point_keeps_the_declared_constraints(model):
    """The price cannot be met at 128K context on any number of GPUs: at best it is
    what the batch that fits gives, never a point that overfills HBM."""
    with pytest.raises(errors.InfeasibleError) as info:
        model.seek(minimize="n_gpus", subject_to=["cost_per_mtok <= 3 USD/Mtok"],
                   vary={"batch": (1, 4096), "n_gpus": (1, 16)},
                   given={"context_len": "128000 token", "max_context_len": "131072 token"})
    e = info.value
    assert [v.id for v in e.violations] == ["cost_per_mtok <= 3 USD/Mtok"]
    f = compiled(model, ["cost_per_mtok"], ["batch", "n_gpus"], None,
                 {"context_len": "128000 token", "max_context_len": "131072 token"})
    b, n = np.meshgrid(np.arange(1, 4097.0), np.array([1.0, 2, 4, 8, 16]))  # allowed sizes
    cost = np.where(declared_hold(f, batch=b, n_gpus=n), f(batch=b, n_gpus=n)["cost_per_mtok"],
                    np.inf)
    assert e.violations[0].lhs.to("USD/Mtok").magnitude == pytest.approx(cost.min(), rel=1e-9)
    assert str(e).startswith("cost_per_mtok is ") and " at best (batch " in str(e)


def test_unbounded_says_which_bound_is_missing(tiny):
    with pytest.raises(errors.UnboundedError) as info:
        tiny.seek(maximize="cost_per_mtok", vary={"gpu_hour_price": (0, None)})
    assert str(info.value) == (
        "cost_per_mtok is unbounded: it keeps rising as gpu_hour_price grows without limit; "
        "give gpu_hour_price an upper bound in vary={'gpu_hour_price': (low, high)} or add a "
        "constraint that limits it")
    with pytest.raises(errors.UnboundedError) as info:
        tiny.seek(maximize="hbm_capacity")
    assert str(info.value) == (
        "hbm_capacity is unbounded: hbm_capacity has no upper bound and no constraint limits "
        "it; give it one in vary={'hbm_capacity': (low, high)} or add a constraint on it")


@pytest.mark.parametrize("query, error, text", [
    (dict(maximize="batch", subject_to=["cost_per_mtk <= 500 USD/Mtok"]),
     errors.UnknownQuantityError,
     "unknown quantity 'cost_per_mtk' in constraint `cost_per_mtk <= 500 USD/Mtok`; did you "
     "mean cost_per_mtok, flops_per_token?"),
    (dict(maximize="batch", subject_to=["cost_per_mtok <= 500 ms"]), errors.DimensionError,
     "`cost_per_mtok <= {500 ms}`: expected a value in USD/Mtok, got ms (cannot compare values "
     "of different dimensions)"),
    (dict(maximize="batch", vary={"batch": ("5 ms", 1000)}), errors.DimensionError,
     "vary batch: expected a value in request, got 5 ms (give it as e.g. '1 request')"),
    (dict(maximize="batch", vary={"batch": (1.5, 1000)}), errors.NotWholeError,
     "batch = 1.5 request must be a whole number"),
    (dict(maximize="batch", vary={"batch": (0, 1000)}), errors.BoundsError,
     "batch = 0 request is outside its bounds [1, 100000]"),
    (dict(maximize="batch", vary={"batch": (10, 5)}), errors.QueryError,
     "vary batch: low 10 request is above high 5 request"),
    (dict(maximize="context_len", vary={"batch": (1, 5)}, given={"batch": 3}),
     errors.QueryError, "vary batch: batch is both varied and given; drop it from one"),
    (dict(maximize="context_len", vary={"step_time": (1, 5)}), errors.QueryError,
     "vary step_time: step_time is derived (rule t.step); vary the inputs it is made of "
     "instead, e.g. batch, context_len, flops_per_token, hbm_bandwidth"),
    (dict(maximize="cost_per_mtok"), errors.QueryError,
     "seek: nothing to vary: cost_per_mtok is derived; give vary={name: (low, high)} for the "
     "inputs the search may change, e.g. vary={'batch': (1, 4096)}"),
    (dict(maximize="context_len", given={"context_len": "5 token"}), errors.QueryError,
     "seek: context_len is the objective; it cannot also be given"),
    (dict(maximize="batch", minimize="batch"), errors.QueryError,
     "seek: give exactly one of maximize= or minimize=, e.g. maximize='context_len'"),
    (dict(maximize="btch"), errors.UnknownQuantityError,
     "unknown quantity 'btch' in seek objective; did you mean batch?"),
    (dict(maximize="batch", vary={"batch": 5}), errors.QueryError,
     "vary batch: expected (low, high), got 5"),
    (dict(maximize="batch", subject_to=[5]), errors.QueryError,
     "subject_to: expected constraint text such as 'step_time <= 50 ms', got 5"),
])
def test_bad_queries_are_refused_like_a_bad_given(tiny, query, error, text):
    with pytest.raises(error) as info:
        tiny.seek(**query)
    assert str(info.value) == text


def test_docs_examples_run():
    page = Path(__file__).resolve().parents[1] / "docs" / "seek.md"
    failed, attempted = doctest.testfile(str(page), module_relative=False,
                                         optionflags=doctest.ELLIPSIS)
    assert attempted >= 5 and failed == 0
