"""Provenance as typed data: how a value was found is held in fields, and text is built from them."""

import json

import pytest

import costgraph as cg
from costgraph.audit import REPRODUCED, VerdictKind
from costgraph.analysis.seek import Sense
from costgraph.core.provenance import KINDS, Method, Solver
from costgraph.units import Quantity
from toymodel import INVERTED_RULES


def test_methods_keep_the_words_results_have_always_shown():
    assert [m.value for m in Method] == ["given", "preset", "derived", "solved", "override",
                                         "default", "chosen"]
    assert KINDS == ("given", "preset", "derived", "solved", "override", "default")
    assert Method.SOLVED == "solved" and f"{Method.PRESET}" == "preset"


def test_a_preset_value_keeps_its_preset_and_citation_apart():
    # the citation itself holds "; ", which splitting the joined text on ";" used to cut
    r = cg.load().solve(find="kv_transfer_bandwidth")
    step = r.steps["kv_transfer_bandwidth"]
    assert step.method is Method.PRESET
    assert step.preset == "conventions-costgraph"
    assert step.citation.startswith("[essay-true-cost-of-a-token] §7")
    assert "; [assumption] one 400 Gb/s RDMA NIC per GPU" in step.citation
    assert step.assumption and step.note == "assumption"
    assert step.source == f"conventions-costgraph; {step.citation}"


def test_a_solved_value_records_its_solver_and_what_pinned_it(tiny):
    r = tiny.solve(given={"cost_per_mtok": "0.5 USD/Mtok"}, find="batch")
    step = r.steps["batch"]
    assert step.method is Method.SOLVED and step.rule == "c.cost"
    assert step.pinned_by == "cost_per_mtok"
    assert step.pinned_value == r["cost_per_mtok"]
    assert step.through == ("t.tps", "t.step", "c.compute_time", "m.memory_time", "m.bytes")
    assert step.whole_between == (31, 32)
    assert step.whole_note == "batch is a whole number: the exact root lies between 31 and 32"
    assert step.solver in tuple(Solver)
    assert step.note.startswith(step.solver.value + "; ")
    assert step.note.endswith("; " + step.whole_note)


INVERTED_ONLY = INVERTED_RULES  # sympy is not asked to rearrange it


def test_a_solved_value_without_a_closed_form_says_what_it_was_solved_for(make_rules):
    model = cg.load(make_rules(core=INVERTED_ONLY), cache=False)
    r = model.solve(given={"z": 10}, find="x")
    step = r.steps["x"]
    assert step.method is Method.SOLVED and not step.rearranged
    assert step.solver is Solver.BRACKETED and step.through == ("r.y",)
    assert step.equation == "z = 2 * y"
    assert step.formula == "z = 2 * y  (solved for x through r.y)"
    assert step.note == "solved numerically (bracketed root); z = 10 pins x"
    # the explanation shows the equation it was solved from, with no values put into it
    assert "  from z = 2 * y  (solved for x through r.y)\n" in r.explain("x") + "\n"


def test_to_dict_writes_methods_as_plain_strings(tiny):
    r = tiny.solve(given={"cost_per_mtok": "0.5 USD/Mtok"}, find="context_len")
    values = r.to_dict()["values"]
    assert type(values["context_len"]["kind"]) is str
    assert json.loads(json.dumps(values))["context_len"]["kind"] == "solved"
    assert values["batch"]["kind"] == "preset" and values["batch"]["source"] == "default; test"


def test_constraint_status_keeps_the_parsed_expression(tiny):
    status = tiny.solve(find="cost_per_mtok").constraints[0]
    assert status.expr == "bytes_per_step <= hbm_capacity"
    assert status.expression is not None and status.expression.text == status.expr
    assert status.names == ("bytes_per_step", "hbm_capacity")


def test_verdicts_and_senses_are_enums_with_the_old_words():
    assert REPRODUCED is VerdictKind.REPRODUCED and REPRODUCED == "REPRODUCED"
    assert VerdictKind.UNIT_MISMATCH == "UNIT MISMATCH"
    assert [s.value for s in Sense] == ["maximize", "minimize"]


@pytest.mark.parametrize("method", ["given", Method.GIVEN])
def test_a_step_accepts_its_method_as_the_word_or_the_enum(method):
    step = cg.Step("x", Quantity(1, "s"), method)
    assert step.method is Method.GIVEN and step.kind is Method.GIVEN
