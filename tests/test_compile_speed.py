"""The compiled path's speed fixes: margins allocated once per sweep, compiles reused, and
min/max/where compiled unevaluated with the same values as the exact path."""

from __future__ import annotations

import numpy as np
import pytest

import costgraph as cg
import costgraph.analysis.grid as grid_module
import costgraph.analysis.sweep as sweep_module


def test_sweep_allocates_each_margin_once_not_once_per_chunk(monkeypatch, model):
    # a sweep built every constraint's full-length default array again for every chunk of
    # points (quadratic in the grid's size); now each is allocated once
    monkeypatch.setattr(grid_module, "_CHUNK", 8)
    total = 16 * 12
    full_size_arrays = []

    def counting(make):
        def counted(shape, *args, **kwargs):
            if shape == total:
                full_size_arrays.append(shape)
            return make(shape, *args, **kwargs)
        return counted

    monkeypatch.setattr(sweep_module.np, "full", counting(np.full))
    monkeypatch.setattr(sweep_module.np, "empty", counting(np.empty))
    s = model.sweep({"context_len": "1k..64k:log:16", "batch": "1..256:log:12"},
                    ["cost_per_mtok", "step_time"])
    assert len(s) == total and len(s.margins) == 3
    assert len(full_size_arrays) == 2 + 3  # one per output, one per constraint


def test_sweep_chunked_matches_one_chunk(monkeypatch, model):
    vary = {"context_len": "1k..64k:log:9", "batch": "1..256:log:7"}
    whole = model.sweep(vary, "cost_per_mtok")
    monkeypatch.setattr(grid_module, "_CHUNK", 5)
    chunked = model.sweep(vary, "cost_per_mtok")
    for name in ("context_len", "batch", "cost_per_mtok"):
        np.testing.assert_array_equal(whole.values(name), chunked.values(name))
    for cid in whole.margins:
        np.testing.assert_array_equal(whole.margins[cid], chunked.margins[cid])


def test_sweep_pareto_and_uncertainty_reuse_their_compile(monkeypatch):
    model = cg.load(cache=False)
    calls = []
    real = model.compile

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(model, "compile", counting)
    vary = {"batch": "1..64:log:5"}
    first = model.sweep(vary, "cost_per_mtok")
    second = model.sweep(vary, "cost_per_mtok")
    assert len(calls) == 1
    np.testing.assert_array_equal(first.values("cost_per_mtok"), second.values("cost_per_mtok"))
    model.sweep(vary, "cost_per_mtok", given={"context_len": "4k"})
    assert len(calls) == 2  # a different given value is a different compile
    model.sweep(vary, "cost_per_mtok", given={"context_len": "4k"})
    model.pareto("step_time", "cost_per_mtok", vary)
    model.pareto("step_time", "cost_per_mtok", vary)
    assert len(calls) == 3
    model.uncertainty("cost_per_mtok", samples=100)
    model.uncertainty("cost_per_mtok", samples=200, seed=3)
    assert len(calls) == 4


@pytest.mark.parametrize("preset", ["default", "essay"])
def test_unevaluated_min_max_compile_agrees_with_solve(model, preset):
    find = ["cost_per_mtok", "step_time", "tokens_per_second"]
    f = model.compile(find, ["context_len", "batch"], presets=[preset], constraints="declared")
    contexts = np.array([512.0, 2048.0, 8000.0])
    batches = np.array([1.0, 16.0, 200.0])
    out = f(context_len=contexts, batch=batches)
    for i, (c, b) in enumerate(zip(contexts, batches)):
        r = model.solve(given={"context_len": c, "batch": b}, find=find, presets=[preset])
        for name in find:
            exact = float(r[name].to(model.ruleset.quantities[name].pint_unit).magnitude)
            assert out[name][i] == pytest.approx(exact, rel=1e-12), (name, c, b)


def test_margin_against_zero_compiles_without_an_undefined_branch(make_rules):
    from costgraph.core.compile_exprs import cg_where
    import sympy

    x = sympy.Symbol("x")
    assert cg_where(sympy.Ne(sympy.Integer(0), 0), sympy.zoo, x) == x
    assert cg_where(sympy.Ne(x, 0), 1 / x, 0).func is cg_where
