"""seek() takes its constraints as where=, like the command line's --where; subject_to= is the
same argument under its earlier name."""

from __future__ import annotations

import inspect

import pytest

from costgraph import errors
from costgraph.analysis.seek.run import seek

WHERE = "step_time <= 20 ms"


def test_where_and_subject_to_give_the_same_optimum(tiny):
    by_where = tiny.seek(maximize="batch", where=[WHERE], vary={"batch": (1, 4096)})
    by_subject_to = tiny.seek(maximize="batch", subject_to=[WHERE], vary={"batch": (1, 4096)})
    assert by_where.value == by_subject_to.value
    assert [c.id for c in by_where.binding] == [c.id for c in by_subject_to.binding] == [WHERE]


def test_where_binds(tiny):
    free = tiny.seek(maximize="batch", vary={"batch": (1, 4096)})
    bound = tiny.seek(maximize="batch", where=WHERE, vary={"batch": (1, 4096)})  # one text
    assert bound.value < free.value
    assert bound.result["step_time"].to("ms").magnitude <= 20


def test_giving_both_is_an_error_that_says_so(tiny):
    with pytest.raises(errors.QueryError) as info:
        tiny.seek(maximize="batch", where=[WHERE], subject_to=[WHERE], vary={"batch": (1, 64)})
    assert str(info.value) == ("seek: give the constraints as where= or as subject_to= (the "
                               "same thing under its earlier name), not both")


def test_a_bad_item_names_the_keyword_it_came_in(tiny):
    with pytest.raises(errors.QueryError) as info:
        tiny.seek(maximize="batch", where=[5], vary={"batch": (1, 64)})
    assert str(info.value) == ("where: expected constraint text such as 'step_time <= 50 ms', "
                               "got 5")


def test_where_is_the_fourth_positional_argument_as_subject_to_was():
    names = list(inspect.signature(seek).parameters)
    assert names[:4] == ["model", "maximize", "minimize", "where"]
    assert inspect.signature(seek).parameters["subject_to"].kind is inspect.Parameter.KEYWORD_ONLY
