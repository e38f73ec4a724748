"""A seek's answer holds values, not the engine that found them."""

import dataclasses
import pickle

import pytest

import costgraph as cg
from costgraph.analysis.seek.closed_form import ClosedFormQuestion
from costgraph.core.engine import Engine


def _holds_an_engine(value, seen=None) -> bool:
    seen = set() if seen is None else seen
    if id(value) in seen:
        return False
    seen.add(id(value))
    if isinstance(value, Engine):
        return True
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_holds_an_engine(getattr(value, f.name), seen)
                   for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return any(_holds_an_engine(v, seen) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_an_engine(v, seen) for v in value)
    return False


def test_a_seek_result_keeps_what_its_closed_form_needs_and_not_the_model():
    model = cg.load()
    s = model.seek(maximize="batch", vary={"batch": (1, 4096)})  # the HBM fit binds
    assert isinstance(s._closed, ClosedFormQuestion)
    assert not _holds_an_engine(s)
    again = pickle.loads(pickle.dumps(s))  # travels without the rules it came from
    assert again.closed_form.expression == s.closed_form.expression
    # the fit's exact root, which the whole-number answer rounds down
    assert again.closed_form.value == s.closed_form.value
    assert s.value.magnitude == int(again.closed_form.value.magnitude)
