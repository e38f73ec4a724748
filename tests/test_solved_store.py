"""What sympy worked out at given numbers, kept on disk: the same answers, without sympy."""

from __future__ import annotations

import pytest

import costgraph as cg
from costgraph.analysis.seek import closed_form as seek_closed_form
from costgraph.core import solve as solve_module
from costgraph.core import solved_store
from costgraph.core.provenance import Solver
from toymodel import INVERTED_RULES

INVERTED = INVERTED_RULES


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty on-disk cache of this test's own, and nothing kept in memory."""
    monkeypatch.setenv("COSTGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(solved_store, "_MEMORY", {})
    return tmp_path / "cache"


@pytest.fixture
def counted(monkeypatch):
    """How often the sympy side of inverting a block ran."""
    calls = []
    real = solve_module._block_roots

    def block_roots(*args):
        calls.append(args[2].unknowns)
        return real(*args)

    monkeypatch.setattr(solve_module, "_block_roots", block_roots)
    return calls


def _refuse(*args, **kwargs):
    raise AssertionError("worked out again instead of read from the cache")


def test_a_kept_block_gives_the_same_answer_without_building_its_equation(
        make_rules, fresh_cache, monkeypatch):
    model = cg.load(make_rules(core=INVERTED))
    first = model.solve(given={"z": 10}, find="x").steps["x"]
    monkeypatch.setattr(solve_module, "_block_roots", _refuse)
    monkeypatch.setattr(solve_module, "_closed_form", _refuse)
    solved_store._MEMORY.clear()  # read back from disk, not from this process's memory
    again = model.solve(given={"z": 10}, find="x").steps["x"]
    assert again.value.magnitude == first.value.magnitude  # bit for bit
    assert again.solver is first.solver is Solver.BRACKETED
    assert (again.equation, again.note, again.through) == (first.equation, first.note,
                                                           first.through)


def test_a_kept_rearrangement_restates_the_step_as_before(fresh_cache, monkeypatch):
    model = cg.load()
    given = {"context_len": "12288 token"}
    first = model.solve(given=given, find="cost_per_mtok")
    monkeypatch.setattr(solve_module, "_block_roots", _refuse)
    monkeypatch.setattr(solve_module, "_closed_form", _refuse)
    solved_store._MEMORY.clear()
    again = model.solve(given=given, find="cost_per_mtok")
    step = again.steps["input_len"]
    assert step.equation == "input_len = context_len - output_len" and step.rearranged
    assert step.value.magnitude == first.steps["input_len"].value.magnitude == 12032
    assert again["cost_per_mtok"].magnitude == first["cost_per_mtok"].magnitude


def test_another_number_is_another_question(make_rules, fresh_cache, counted):
    model = cg.load(make_rules(core=INVERTED))
    at_10 = model.solve(given={"z": 10}, find="x")["x"].magnitude
    at_11 = model.solve(given={"z": 11}, find="x")["x"].magnitude
    assert model.solve(given={"z": 10}, find="x")["x"].magnitude == at_10
    assert len(counted) == 2 and at_10 < at_11


def test_a_block_without_a_solution_is_not_kept(make_rules, fresh_cache, counted):
    model = cg.load(make_rules(core=INVERTED))
    for _ in range(2):  # x would be far above its bound of 50: asked again, found again
        with pytest.raises(cg.errors.NoSolutionError):
            model.solve(given={"z": 1e30}, find="x")
    assert len(counted) == 2


def test_a_rule_set_loaded_without_the_cache_keeps_nothing(make_rules, fresh_cache, counted):
    model = cg.load(make_rules(core=INVERTED), cache=False)
    values = {model.solve(given={"z": 10}, find="x")["x"].magnitude for _ in range(2)}
    assert len(values) == 1 and len(counted) == 2
    assert not list(fresh_cache.glob("solved-*"))


def test_the_cache_turned_off_keeps_nothing(make_rules, fresh_cache, counted, monkeypatch):
    model = cg.load(make_rules(core=INVERTED))
    monkeypatch.setenv("COSTGRAPH_NO_CACHE", "1")
    for _ in range(2):
        model.solve(given={"z": 10}, find="x")
    assert len(counted) == 2


def test_numbers_are_kept_exactly():
    # 0.1 + 0.2 is not 0.3: a key that rounded would answer one question with the other's roots
    assert solved_store.numbers({"b": 0.1 + 0.2, "a": 1}) == (("a", "1.0"),
                                                             ("b", "0.30000000000000004"))


def test_a_kept_closed_form_is_the_one_sympy_derived(fresh_cache, monkeypatch):
    model = cg.load()
    first = model.seek(maximize="batch", vary={"batch": (1, 4096)})  # the HBM fit binds
    derived = first.closed_form  # solved by sympy now, and kept
    assert first._closed.equation is not None and derived is not None
    monkeypatch.setattr(seek_closed_form.ClosedFormQuestion, "_outcome", _refuse)
    monkeypatch.setattr(type(model), "path_composite", _refuse)
    solved_store._MEMORY.clear()
    again = model.seek(maximize="batch", vary={"batch": (1, 4096)})
    assert again._closed.equation is None  # nothing was built for it
    kept = again.closed_form
    assert kept == derived
    assert kept.lines() == derived.lines() and kept.to_dict() == derived.to_dict()
    assert again.explain() == first.explain()


def test_a_seek_without_a_closed_form_keeps_that_too(fresh_cache, monkeypatch):
    # the README's example: the price through the load-dependent power has no closed form
    model = cg.load()
    question = dict(maximize="context_len", where="cost_per_mtok <= 2 USD/Mtok",
                    vary={"batch": (1, 512)})
    first = model.seek(**question)
    assert first.closed_form is None
    monkeypatch.setattr(seek_closed_form.ClosedFormQuestion, "_outcome", _refuse)
    monkeypatch.setattr(type(model), "path_composite", _refuse)
    solved_store._MEMORY.clear()
    again = model.seek(**question)
    assert again.closed_form is None and again.explain() == first.explain()
