"""Errors as dataclasses: fields, not keyword bags; a load problem knows its line."""

import dataclasses
import inspect
import pickle

import pytest

import costgraph as cg
from costgraph import errors

ERRORS = [cls for _, cls in inspect.getmembers(errors, inspect.isclass)
          if issubclass(cls, errors.CostgraphError) and cls is not errors.CostgraphError
          and not cls.__name__.startswith("_")]


@pytest.mark.parametrize("cls", [c for c in ERRORS if c is not errors.OutputError],
                         ids=lambda c: c.__name__)
def test_every_error_is_a_dataclass_of_its_fields(cls):
    assert dataclasses.is_dataclass(cls)
    assert cls.__init__ is not errors.CostgraphError.__init__


def test_an_error_keeps_its_fields_by_name_and_through_pickle():
    error = errors.BoundsError("batch", "0 request", "1", "100000", "give at least one")
    assert (error.name, error.value, error.low, error.high) == ("batch", "0 request", "1",
                                                                "100000")
    clone = pickle.loads(pickle.dumps(error))
    assert vars(clone) == vars(error) and str(clone) == str(error)
    assert str(error) == ("batch = 0 request is outside its bounds [1, 100000]; "
                          "give at least one")


def test_suggestions_are_a_field_and_the_names_searched_are_not_kept():
    error = errors.UnknownQuantityError("batchh", ["batch", "context_len"], "seek")
    assert list(vars(error)) == ["name", "suggestions", "context"]
    assert error.suggestions == ["batch"]


def test_errors_stay_hashable_like_any_exception():
    error = errors.QueryError("seek", "nothing to vary")
    assert {error: 1}[error] == 1 and error != errors.QueryError("seek", "nothing to vary")


def test_a_load_problem_carries_its_line(make_rules):
    with pytest.raises(errors.RuleSetError) as info:
        cg.load(make_rules(core="""
            description: a typo on line 5 (the first is blank)
            quantities:
              batch: {unit: request, description: sequences}
              price: {unit: USD/h, descripton: typo}
            """), cache=False)
    problems = info.value.problems  # the misspelt key, and the one it should have been
    assert all(isinstance(p, errors.Problem) for p in problems)
    assert info.value.lines == [p.line for p in problems] == [5, 5]
    assert {p.item for p in problems} == {"quantity price key descripton",
                                          "quantity price key description"}
