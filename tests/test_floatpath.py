"""The exact solve on floats in base units gives pint's values (to 1e-12), its errors, and
its constraint statuses, for every scenario preset and every derived quantity."""

from __future__ import annotations

import math

import pytest

import costgraph as cg
import costgraph.core.floatpath as floatpath
from costgraph.errors import CostgraphError


def _pint_only(monkeypatch):
    """A fresh model whose every rule and constraint is evaluated by pint, as before."""

    def refuse(self, name):
        def fallback(env):
            raise floatpath._Fallback()
        return fallback

    monkeypatch.setattr(floatpath._Rules, "function", refuse)
    monkeypatch.setattr(floatpath, "constraint_sides", lambda model, cdef, steps: None)
    return cg.load(cache=False)


def _solve_all(model, presets):
    """Every derived quantity solved at ``presets``: name -> (step values, statuses) or error."""
    out = {}
    derived = [q.name for q in model.quantities() if q.kind == "derived"]
    for name in derived:
        try:
            r = model.solve(find=[name], presets=presets)
        except CostgraphError as exc:
            out[name] = type(exc).__name__ + ": " + str(exc)
            continue
        out[name] = ({n: (float(s.value.magnitude), str(s.value.units), s.kind)
                      for n, s in r.steps.items()},
                     [c.to_dict() for c in r.constraints])
    return out


# both scenario presets, a mixture of experts, latent attention (its where() branches), fp4
SCENARIOS = [["default"], ["essay"], ["default", "mixtral-8x7b", "b200", "fp8"],
             ["default", "deepseek-v3", "h100-sxm", "fp8"], ["default", "llama-3-70b", "bf16"],
             ["default", "gpt-oss-120b", "gb200", "fp4"]]


@pytest.fixture(scope="module")
def float_results():
    model = cg.load(cache=False)
    return {tuple(p): _solve_all(model, p) for p in SCENARIOS}


@pytest.mark.parametrize("presets", SCENARIOS, ids="+".join)
def test_float_solve_equals_the_pint_solve_to_1e12(monkeypatch, float_results, presets):
    pint_model = _pint_only(monkeypatch)
    expected = _solve_all(pint_model, presets)
    got = float_results[tuple(presets)]
    assert got.keys() == expected.keys()
    compared = 0
    for name, want in expected.items():
        have = got[name]
        if isinstance(want, str):  # the same error, word for word
            assert have == want, name
            continue
        (want_steps, want_constraints), (have_steps, have_constraints) = want, have
        assert have_steps.keys() == want_steps.keys(), name
        for step, (value, unit, kind) in want_steps.items():
            h_value, h_unit, h_kind = have_steps[step]
            assert (h_unit, h_kind) == (unit, kind), (name, step)
            assert math.isclose(h_value, value, rel_tol=1e-12, abs_tol=1e-300), (name, step)
            compared += 1
        assert len(have_constraints) == len(want_constraints)
        for h, w in zip(have_constraints, want_constraints):
            assert (h["holds"], h["unit"]) == (w["holds"], w["unit"]), (name, w["id"])
            for side in ("lhs", "rhs"):
                if w[side] is not None:
                    assert math.isclose(h[side], w[side], rel_tol=1e-12), (name, w["id"], side)
    assert compared > 1000


def test_a_zero_divisor_is_still_one_clear_error_from_the_float_path(model):
    with pytest.raises(CostgraphError) as info:
        model.solve(find=["cost_per_mtok"], given={"batch": 0})
    assert "batch" in str(info.value)


def test_ceil_a_hair_off_an_integer_is_left_to_pint():
    # ceil(4096 / 16) is 256 in floats as in pint; a value a rounding error above 256 may be
    # exactly 256 in pint's own arithmetic (its units convert in another order), so pint decides
    step = floatpath._step(math.ceil)
    assert step(256.0) == 256.0
    with pytest.raises(floatpath._Fallback):
        step(256.00000000000003)
    with pytest.raises(floatpath._Fallback):
        step(255.99999999999997)
    assert step(256.5) == 257.0


def test_a_comparison_within_a_rounding_error_is_left_to_pint():
    le = floatpath._compare("<=")
    assert le(1.0, 1.0) is True and le(1.0, 2.0) is True and le(2.0, 1.0) is False
    with pytest.raises(floatpath._Fallback):
        le(1.0, 1.0 + 1e-15)


def test_the_fast_quantity_equals_pints_own():
    from costgraph.units import Quantity, parse_unit

    unit = parse_unit("USD/Mtok")
    fast = floatpath._quantity(0.25, unit)
    real = Quantity(0.25, unit)
    assert fast == real and str(fast) == str(real) and fast.units == real.units
    assert (fast * 2).to("USD/ktok") == (real * 2).to("USD/ktok")


def test_a_comparison_on_floats_answers_as_abs_and_max_would():
    # the check is written without calls; it must agree with the plain definition everywhere
    import itertools
    import operator

    tests = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
    values = [0.0, -0.0, 1.0, -1.0, 1.0 + 1e-15, 2.0, 4.0, -4.0, 1e300, math.inf, -math.inf,
              math.nan, 5e-324, 4096.0, 4096.0 * (1 + 1e-12)]
    for op, test in tests.items():
        check = floatpath._compare(op)
        for a, b in itertools.product(values, repeat=2):
            near = a != b and abs(a - b) <= 1e-9 * max(abs(a), abs(b))
            if near:
                with pytest.raises(floatpath._Fallback):
                    check(a, b)
            else:
                assert check(a, b) is test(a, b), (op, a, b)


class _NodeByNode(floatpath.ClosureBackend):
    """The closures one per node, every operand called: what the fused ones must equal."""

    def _shape(self, fa, fb):
        return "FF", fa, fb


@pytest.mark.parametrize("presets", SCENARIOS, ids="+".join)
def test_fused_closures_give_the_node_by_node_values_bit_for_bit(model, presets):
    from costgraph.lang.expr import translate
    from costgraph.units import Quantity

    result = model.solve(find="cost_per_mtok", presets=presets)
    values = floatpath.declared_magnitudes(model, result.steps)
    units = {n: q.pint_unit for n, q in model.ruleset.quantities.items()}
    compared = 0
    for name in values:
        rule = model.ruleset.rule_for(name)
        if (rule is None or result.steps[name].kind != "derived"
                or not rule.expr.names <= values.keys()):
            continue
        body, unit = translate(rule.expr, _NodeByNode(units))
        k = float(Quantity(1.0, unit).to(units[name]).magnitude)
        want = body(values) * k if k != 1.0 else body(values)
        assert floatpath.derivation(model, name).fn(values) == want, name
        compared += 1
    assert compared > 80
