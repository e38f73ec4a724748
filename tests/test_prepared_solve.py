"""A forward-only solve, prepared once and its Steps built when read, gives the general path's
Result exactly: the same steps in the same order, and the same text, JSON and diagrams."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

import costgraph as cg
import costgraph.core.scenario_cache as scenario_cache
from costgraph.core.lazy_steps import LazySteps
from costgraph.errors import CostgraphError

# both scenario presets (`essay` sets n_params, a derived quantity, in place of its rule), a
# mixture of experts, latent attention (its where() branches), fp4
SCENARIOS = [["default"], ["essay"], ["default", "mixtral-8x7b", "b200", "fp8"],
             ["default", "deepseek-v3", "h100-sxm", "fp8"], ["default", "llama-3-70b", "bf16"],
             ["default", "gpt-oss-120b", "gb200", "fp4"]]
FINDS = [["cost_per_mtok"], ["step_time", "tokens_per_second"], ["hbm_required"],
         ["gpu_power"], ["n_params", "kv_bytes_per_token"]]


def _general(monkeypatch, model, **question):
    """The same question answered by the general path (nothing prepared)."""
    with monkeypatch.context() as patch:
        patch.setattr(scenario_cache, "prepared", lambda *args: None)
        return model.solve(**question)


def _shown(result) -> dict:
    """Everything a reader sees of a Result, as text."""
    return {"steps": list(result.steps.items()), "repr": repr(result),
            "json": json.dumps(result.to_dict(), sort_keys=False),
            "explain": result.explain(), "unfolded": result.explain(unfold=True),
            "table": result.table(), "notes": result.notes, "warnings": result.warnings,
            "constraints": [c.describe() for c in result.constraints],
            "graph": result.graph().source, "mermaid": result.graph().mermaid,
            "upstream": result.upstream_of(result.targets[0]), "html": result._repr_html_()}


@pytest.mark.parametrize("presets", SCENARIOS, ids="+".join)
def test_a_prepared_solve_shows_exactly_what_the_general_path_shows(monkeypatch, model,
                                                                     presets):
    for find in FINDS:
        lazy = model.solve(find=find, presets=presets)
        assert isinstance(lazy.steps, LazySteps), find  # the prepared path answered
        eager = _general(monkeypatch, model, find=find, presets=presets)
        assert type(eager.steps) is dict
        assert _shown(lazy) == _shown(eager), (presets, find)
        assert lazy == eager


@pytest.mark.parametrize("question", [
    dict(find=["cost_per_mtok"], given={"batch": 128, "output_len": 2048}),
    dict(find=["cost_per_mtok"], given={"step_time": "30 ms"}),  # a derived value given
    dict(find=["cost_per_mtok", "n_params"], presets=["essay"]),  # a preset sets n_params
    dict(find=["hbm_required"], presets=["essay"]),  # n_params set aside in a constraint's steps
], ids=["inputs", "override", "preset-override", "override-beside"])
def test_a_prepared_solve_with_given_values_equals_the_general_path(monkeypatch, model,
                                                                    question):
    lazy = model.solve(**question)
    assert isinstance(lazy.steps, LazySteps)
    eager = _general(monkeypatch, model, **question)
    assert _shown(lazy) == _shown(eager)
    assert lazy.overrides == eager.overrides and lazy.notes == eager.notes


@pytest.mark.parametrize("question", [
    dict(find=["batch"], given={"cost_per_mtok": 0.5}),  # inverted: solved for batch
    dict(find=["cost_per_mtok"], given={"context_len": "8k"}),  # it moves input_len
    # given beside every input of its rule, a quantity that moves one must agree with it
    dict(find=["cost_per_mtok"], given={"context_len": 8192, "input_len": 4096,
                                        "output_len": 4096}),
], ids=["inverted", "mover", "mover-given-beside"])
def test_what_is_not_forward_only_takes_the_general_path(model, question):
    result = model.solve(**question)
    assert type(result.steps) is dict


@pytest.mark.parametrize("given, named", [
    ({"hbm_bandwidth": 0}, "hbm_bandwidth"),  # divides by zero
    ({"n_moe_layers": 200}, "n_dense_layers = -120: below its lower bound 0"),  # out of bounds
    ({"batch": 1e300}, "not a finite number"),  # overflows
], ids=["zero-divisor", "out-of-bounds", "not-finite"])
def test_a_value_the_floats_refuse_gives_the_general_paths_one_error(monkeypatch, model, given,
                                                                      named):
    question = dict(find=["cost_per_mtok"], given=given)
    with pytest.raises(CostgraphError) as prepared:
        model.solve(**question)
    with pytest.raises(CostgraphError) as general:
        _general(monkeypatch, model, **question)
    assert type(prepared.value) is type(general.value)
    assert str(prepared.value) == str(general.value)
    assert named in str(prepared.value)


def test_lazy_steps_build_each_step_once_and_copy_as_a_plain_dict(model):
    result = model.solve(find="cost_per_mtok")
    steps = result.steps
    assert steps["cost_per_mtok"] is steps["cost_per_mtok"]
    assert "cost_per_mtok" in steps and "no_such_quantity" not in steps
    assert len(steps) == len(list(steps)) == len(dict(steps))
    with pytest.raises(KeyError):
        steps["no_such_quantity"]
    for copied in (pickle.loads(pickle.dumps(steps)), copy.copy(steps), copy.deepcopy(steps)):
        assert type(copied) is dict and copied == dict(steps)
    assert pickle.loads(pickle.dumps(result)) == result


def test_two_runs_of_one_prepared_question_do_not_share_values(model):
    first = model.solve(find="cost_per_mtok")
    second = model.solve(find="cost_per_mtok")
    assert first.steps is not second.steps
    assert first["cost_per_mtok"] == second["cost_per_mtok"]
    assert first.constraints == second.constraints


def test_an_unknown_quantity_asked_for_is_still_one_clear_error(model):
    with pytest.raises(CostgraphError, match="no_such_quantity"):
        model.solve(find="no_such_quantity")


def test_presets_are_coerced_once_for_every_given_value_over_them(monkeypatch, model):
    """A loop over new given values coerces only those values: the presets' values were read
    through the unit parser once, and what is kept is what coercing them afresh gives."""
    model.solve(find="cost_per_mtok", given={"batch": 3})  # the presets settled once
    calls = []
    real = type(model).coerce
    monkeypatch.setattr(type(model), "coerce",
                        lambda self, name, raw, where="given": calls.append(where) or
                        real(self, name, raw, where))
    for batch in (5, 6, 7):
        r = model.solve(find="cost_per_mtok", given={"batch": batch})
        assert r.steps["batch"].value.magnitude == batch
    assert calls == ["given"] * 3
    calls.clear()
    assert scenario_cache.presets(model, None) == model.preset_steps(None)  # afresh: same
    assert len(calls) == len(model.preset_steps(None)[0])


def test_a_bad_preset_value_is_the_same_error_every_time(model):
    with pytest.raises(CostgraphError) as first:
        model.solve(presets=["default", "no-such-preset"], find="cost_per_mtok")
    with pytest.raises(CostgraphError) as again:
        model.solve(presets=["default", "no-such-preset"], find="cost_per_mtok",
                    given={"batch": 9})
    assert str(first.value) == str(again.value)


@pytest.mark.parametrize("presets, given", [
    (None, [{"batch": 40}, {"batch": 41}, {"batch": 600}]),  # the last one breaks the HBM fit
    (["default", "deepseek-v3", "h100-sxm", "fp8"], [{"batch": 8, "output_len": 100},
                                                     {"batch": 9, "output_len": 3000}]),
    (["essay"], [{"batch": 16}, {"batch": 32}]),  # a preset sets n_params: prepared afresh
    (None, [{"step_time": "30 ms"}, {"step_time": "40 ms"}]),  # a derived value given
], ids=["default", "mla", "preset-override", "override"])
def test_a_question_at_new_values_reuses_its_shape_and_shows_the_general_paths_result(
        monkeypatch, model, presets, given):
    """Asked again at other values of the same names, a question keeps its plan, closures and
    checks and takes only the values anew: each Result is still the general path's."""
    for values in given:
        question = dict(find=["cost_per_mtok", "hbm_required"], presets=presets, given=values)
        lazy = model.solve(**question)
        assert isinstance(lazy.steps, LazySteps)
        eager = _general(monkeypatch, model, **question)
        assert _shown(lazy) == _shown(eager), values
        assert lazy.overrides == eager.overrides and lazy.notes == eager.notes


def test_a_question_knowing_other_names_is_not_taken_for_one_of_the_same_shape(model):
    by_input = model.solve(find=["context_len"], given={"input_len": 1000, "output_len": 24})
    by_context = model.solve(find=["input_len"], given={"context_len": 1024})
    assert by_input["context_len"].magnitude == 1024
    assert by_context["input_len"].magnitude == 1024 - 256  # the default's output_len stays
