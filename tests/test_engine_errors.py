"""Every user mistake gets one clear message naming what, where and how to fix (issue 2)."""

import pickle

import pytest

import costgraph as cg
from costgraph import errors


def load_error(make_rules, text, presets=None):
    with pytest.raises(errors.RuleSetError) as info:
        cg.load(make_rules(core=text, presets=presets), cache=False)
    return str(info.value)


def test_dimension_mismatch_between_cost_per_hour_and_cost_per_token(make_rules):
    message = load_error(make_rules, """
        description: mixes units
        quantities:
          hourly: {unit: USD/h, description: a price per hour}
          per_token: {unit: USD/token, description: a price per token}
          total: {unit: USD/h, description: their sum}
        rules:
          - {id: bad.sum, defines: total, expr: hourly + per_token, description: wrong, source: test}
        """)
    assert message == (
        "1 error in rules/core.yaml:\n"
        "  - line 8: rule bad.sum: dimension mismatch: `hourly + per_token`: expected a value in USD/h, "
        "got USD/token (cannot add values of different dimensions)")


def test_rule_whose_result_has_the_wrong_dimension(make_rules):
    message = load_error(make_rules, """
        description: wrong result unit
        quantities:
          price: {unit: USD/h, description: price}
          rate: {unit: token/s, description: rate}
          cost: {unit: USD/Mtok, description: cost}
        rules:
          - {id: bad.cost, defines: cost, expr: price * rate, description: wrong, source: test}
        """)
    assert message == (
        "1 error in rules/core.yaml:\n"
        "  - line 8: rule bad.cost: dimension mismatch: cost is in USD/Mtok but the expression gives "
        "USD·token/h/s")


def test_cycle_of_definitions_is_listed(make_rules):
    message = load_error(make_rules, """
        description: circular
        quantities:
          a: {unit: "1", description: a}
          b: {unit: "1", description: b}
          c: {unit: "1", description: c}
        rules:
          - {id: r.a, defines: a, expr: b + 1, description: x, source: test}
          - {id: r.b, defines: b, expr: c + 1, description: x, source: test}
          - {id: r.c, defines: c, expr: a + 1, description: x, source: test}
        """)
    assert message == ("1 error in rules/core.yaml:\n"
                       "  - line 4: quantity a: cycle of definitions: a -> c -> b -> a")


def test_all_problems_are_reported_at_once_sorted(make_rules):
    message = load_error(make_rules, """
        description: several mistakes
        quantities:
          context_len: {unit: token, description: context}
          batch: {unit: request, description: batch, colour: red}
          total: {unit: token, description: total}
          other: {unit: token, description: other}
        rules:
          - {id: r.total, defines: total, expr: contxt_len * 2, description: x, source: test}
          - {id: r.other, defines: other, expr: "context_len * (2", description: x, source: test}
          - {id: r.again, defines: total, expr: context_len, description: x, source: test}
        """)
    assert message == (
        "4 errors in rules/core.yaml:\n"
        "  - line 5: quantity batch key colour: unknown key (check the spelling against "
        "rules/README.md)\n"
        "  - line 9: rule r.total: expression uses unknown quantity 'contxt_len'; "
        "did you mean context_len?\n"
        "  - line 10: rule r.other: syntax error: '(' was never closed at column 15 in "
        "`context_len * (2`\n"
        "  - line 11: rule r.again: quantity total is defined twice (also by rule r.total in "
        "rules/core.yaml)")


def test_unknown_name_suggests_the_closest(make_rules):
    message = load_error(make_rules, """
        description: typo
        quantities:
          context_len: {unit: token, description: context}
          total: {unit: token, description: total}
        rules:
          - {id: r.total, defines: total, expr: contxt_len * 2, description: x, source: test}
        """)
    assert message == ("1 error in rules/core.yaml:\n"
                       "  - line 7: rule r.total: expression uses unknown quantity 'contxt_len'; "
                       "did you mean context_len?")


def test_preset_setting_an_undeclared_name_is_an_error(make_rules):
    from conftest import TINY_RULES

    message = load_error(make_rules, TINY_RULES, presets={"p": """
        kind: hardware
        description: x
        presets:
          gpu:
            description: a GPU
            source: test
            values: {hbm_bandwith: 4.8 TB/s, hbm_capacity: 141 s}
        """})
    assert message == (
        "2 errors in rules/presets/p.yaml:\n"
        "  - line 8: preset gpu: hbm_bandwith: sets unknown quantity 'hbm_bandwith'; "
        "did you mean hbm_bandwidth?\n"
        "  - line 8: preset gpu: hbm_capacity: '141 s' is not in GB (hbm_capacity is in GB)")


# --- solving ------------------------------------------------------------------------------


def test_underdetermined_says_what_to_fix(tiny):
    with pytest.raises(errors.UnderdeterminedError) as info:
        tiny.solve(given={"cost_per_mtok": "0.5 USD/Mtok"}, find=["batch", "context_len"])
    assert str(info.value) == ("cannot determine context_len: 2 unknowns but 1 equation; "
                               "fix one of: batch, context_len")


def test_underdetermined_without_presets_lists_missing_inputs(tiny):
    with pytest.raises(errors.UnderdeterminedError) as info:
        tiny.solve(given={"cost_per_mtok": "0.5 USD/Mtok"}, find="gpu_hour_price", presets=[])
    assert str(info.value) == (
        "cannot determine gpu_hour_price: 7 inputs have no value and nothing determines them; "
        "give values for: batch, context_len, flops_per_token, hbm_bandwidth, "
        "kv_bytes_per_token, peak_flops, weight_bytes")


def test_contradictory_givens_name_both_values(tiny):
    with pytest.raises(errors.ConflictError) as info:
        tiny.solve(given={"cost_per_mtok": "0.5 USD/Mtok", "step_time": "30 ms"}, find="batch")
    assert str(info.value) == (
        "cost_per_mtok = 0.5 USD/Mtok and step_time = 30 ms cannot both hold: with batch = "
        "50 request (from cost_per_mtok), step_time would be 21.57 ms")


def test_wrong_unit_is_refused_with_the_expected_unit(tiny):
    with pytest.raises(errors.DimensionError) as info:
        tiny.solve(given={"context_len": "4 GB"}, find="cost_per_mtok")
    assert str(info.value) == ("given context_len: expected a value in token, got 4 GB "
                               "(give it as e.g. '1 token')")


def test_unknown_given_and_find_suggest_names(tiny):
    with pytest.raises(errors.UnknownQuantityError) as info:
        tiny.solve(given={"contxt_len": "4 token"}, find="cost_per_mtok")
    assert str(info.value) == "unknown quantity 'contxt_len' in given; did you mean context_len?"
    assert isinstance(info.value, KeyError)
    with pytest.raises(errors.UnknownQuantityError) as info:
        tiny.solve(find="cost_per_mtk")
    assert str(info.value) == ("unknown quantity 'cost_per_mtk' in find; did you mean "
                               "cost_per_mtok, flops_per_token?")


def test_whole_numbers_and_bounds(tiny):
    with pytest.raises(errors.NotWholeError) as info:
        tiny.solve(given={"batch": 64.5}, find="cost_per_mtok")
    assert str(info.value) == "batch = 64.5 request must be a whole number"
    with pytest.raises(errors.BoundsError) as info:
        tiny.solve(given={"batch": 0}, find="cost_per_mtok")
    assert str(info.value) == "batch = 0 request is outside its bounds [1, 100000]"


def test_no_solution_says_how_far_off(tiny):
    with pytest.raises(errors.NoSolutionError) as info:
        tiny.solve(given={"cost_per_mtok": "0.001 USD/Mtok"}, find="context_len")
    assert str(info.value).startswith(
        "no solution for context_len: cost_per_mtok stays above the value asked for "
        "everywhere with context_len in [1 token, 1,000,000,000 token]")


def test_unknown_preset(tiny):
    with pytest.raises(errors.UnknownPresetError) as info:
        tiny.solve(find="cost_per_mtok", presets=["defualt"])
    assert str(info.value) == ("unknown preset 'defualt'; did you mean default? "
                               "(list them with model.presets() or `costgraph presets`)")


@pytest.mark.parametrize("error", [
    errors.UnknownQuantityError("x", ["y"]),
    errors.ConflictError("a = 1", "b = 2", "detail"),
    errors.RuleSetError([errors.Problem("f.yaml", "rule r", "bad")]),
    errors.UnderdeterminedError("t", ["a", "b"], "why"),
])
def test_errors_pickle_and_keep_their_text(error):
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error) and str(clone) == str(error)
    assert isinstance(clone, errors.CostgraphError)


def test_preset_values_are_checked_against_bounds_at_load(make_rules):
    message = load_error(make_rules, """
        description: one fraction
        quantities:
          utilisation: {unit: "1", description: busy fraction, bounds: [0, 1]}
          n_gpus: {unit: "1", description: GPUs, integer: true, bounds: [1, null]}
        """, presets={"p": """
        kind: facility
        description: x
        presets:
          busy:
            description: a percentage written as a number
            source: test
            values: {utilisation: 65, n_gpus: 2.5}
        """})
    assert message == (
        "2 errors in rules/presets/p.yaml:\n"
        "  - line 8: preset busy: n_gpus: 2.5 is not a whole number, and n_gpus counts whole things\n"
        "  - line 8: preset busy: utilisation: 65 is outside the bounds [0, 1] of utilisation; "
        "a fraction is expected (write 0.65, or '65 percent')")
