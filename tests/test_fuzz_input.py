"""Fuzzing the reading layer: whatever the text, a value, a unit, an expression or a rule
file is read or refused with a CostgraphError, in well under a second; nothing else escapes.

The examples are the same on every run; set COSTGRAPH_FUZZ=1 (and optionally
COSTGRAPH_FUZZ_EXAMPLES=5000) to draw new ones.
"""

from __future__ import annotations

import math
import os
import tempfile
import textwrap
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import costgraph as cg
from costgraph.errors import CostgraphError
from costgraph.lang.expr import parse_constraint, parse_expression
from costgraph.units import parse_quantity, parse_unit

from conftest import TINY_PRESETS, TINY_RULES
from time_limit import deadline

EXPLORE = bool(os.environ.get("COSTGRAPH_FUZZ"))
EXAMPLES = int(os.environ.get("COSTGRAPH_FUZZ_EXAMPLES", 0))


def fuzz(examples: int):
    """Settings for one fuzz test: ``examples`` per run (each file load takes ~10 ms)."""
    return settings(max_examples=EXAMPLES or examples, deadline=1000, database=None,
                    derandomize=not EXPLORE, suppress_health_check=[HealthCheck.too_slow])


def pieces(*groups):
    return st.lists(st.sampled_from([p for g in groups for p in g]), max_size=24).map("".join)


NUMBERS = ["0", "1", "9", "12", "4.8", ".5", "1e9", "1e999", "9" * 40, "1_000", "-", "+"]
OPERATORS = ["*", "**", "^", "/", "(", ")", " ", " ", "·", "%", "$", ","]
SUFFIXES = ["k", "K", "M", "G"]
UNITS = ["m", "s", "ms", "token", "tok", "USD", "cent", "kWh", "GB", "TB", "byte", "request",
         "Mtok", "percent", "nan", "inf", "furlong", "apples", "e", "x"]
ODD = ["€", "ｍ", "ｂ", "µ", "\x00", "\t", "\n", "'", '"', ";", "#", "&", "=", "\\", "ä"]

VALUE_TEXT = pieces(NUMBERS, OPERATORS, SUFFIXES, UNITS, ODD) | st.text(max_size=40)


@fuzz(300)
@given(text=VALUE_TEXT, unit=st.sampled_from([None, "token", "USD/kWh", "1", "ms"]))
def test_a_value_text_is_a_finite_quantity_or_a_costgraph_error(text, unit):
    with deadline(5):
        try:
            q = parse_quantity(text, unit)
        except CostgraphError:
            return
    assert math.isfinite(q.magnitude)


@fuzz(200)
@given(number=st.floats() | st.integers() | st.integers(min_value=10**300))
def test_a_number_is_a_finite_quantity_or_a_costgraph_error(number):
    try:
        q = parse_quantity(number, "token")
    except CostgraphError:
        try:
            finite = math.isfinite(float(number))
        except OverflowError:  # an integer beyond a float
            finite = False
        assert not finite, "only a value that is not finite is refused"
        return
    assert q.magnitude == float(number) and math.isfinite(q.magnitude)


@fuzz(200)
@given(text=pieces(NUMBERS[:4], OPERATORS, UNITS, ODD) | st.text(max_size=30))
def test_a_unit_text_is_a_unit_or_a_costgraph_error(text):
    with deadline(5):
        try:
            parse_unit(text)
        except CostgraphError:
            pass


NAMES = ["a", "b", "batch", "step_time", "ｂatch", "max", "min", "where", "log", "exp",
         "__import__", "_L0", "lambda", "if", "else", "x"]
SYNTAX = ["+", "-", "*", "/", "**", "(", ")", ",", " ", "<=", ">=", "<", ">", "==", "{", "}",
          "{1 s}", "{m**9**9**9}", "{9**9**9 s}", ".", "[", "]", ":", "=", ":="]

EXPRESSION_TEXT = pieces(NAMES, SYNTAX, NUMBERS, ODD) | st.text(max_size=60)


@fuzz(300)
@given(text=EXPRESSION_TEXT)
def test_an_expression_text_parses_or_is_a_costgraph_error(text):
    with deadline(5):
        for parse in (parse_expression, parse_constraint):
            try:
                parse(text)
            except CostgraphError:
                pass


YAML_PIECES = ["[", "]", "{", "}", ":", ": ", "- ", "&a ", "*a", "*b", "!!str ", "!!set ",
               "!x ", "\t", "\n", "  ", "'", '"', "<<: ", "<<: *a", "---\n", "? ", "|", ">",
               "1e999", ".nan", ".inf", "9**9**9", "9" * 50, "ｂ", "\x00", "#", ",", "%"]


def edited(text: str, edits) -> str:
    """``text`` with each (where, delete, insert) applied in turn; where is a fraction."""
    for where, delete, insert in edits:
        i = int(where * len(text))
        text = text[:i] + insert + text[i + delete:]
    return text


EDITS = st.lists(st.tuples(st.floats(0, 1), st.integers(0, 12),
                           pieces(YAML_PIECES, NAMES, NUMBERS)), min_size=1, max_size=6)


def load_folder(rule_text: str, preset_text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "rules"
        (root / "presets").mkdir(parents=True)
        (root / "core.yaml").write_text(rule_text, encoding="utf-8")
        (root / "presets" / "p.yaml").write_text(preset_text, encoding="utf-8")
        with deadline(5):
            try:
                cg.load(root, cache=False)
            except CostgraphError:
                pass


@fuzz(100)
@given(edits=EDITS, which=st.booleans())
def test_an_edited_rule_or_preset_file_loads_or_is_a_costgraph_error(edits, which):
    rules, presets = textwrap.dedent(TINY_RULES), textwrap.dedent(TINY_PRESETS)
    if which:
        rules = edited(rules, edits)
    else:
        presets = edited(presets, edits)
    load_folder(rules, presets)


SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
           | st.sampled_from(["batch", "4096 token", "9**9**9", "1e999", "ｂatch", "a + b",
                              "request", "1", "USD/h"]))
DATA = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(
                        ["description", "quantities", "rules", "constraints", "unit", "id",
                         "defines", "expr", "source", "bounds", "integer", "kind", "presets",
                         "values", "value", "low", "high", "includes", "batch", "x"]),
                        inner, max_size=5), max_leaves=20)


@fuzz(100)
@given(rule_data=DATA, preset_data=DATA)
def test_any_yaml_data_as_rule_and_preset_files_loads_or_is_a_costgraph_error(rule_data,
                                                                                 preset_data):
    load_folder(yaml.safe_dump(rule_data, allow_unicode=True),
                yaml.safe_dump(preset_data, allow_unicode=True))
