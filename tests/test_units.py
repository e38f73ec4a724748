"""One registry; money, tokens, FLOPs and requests are dimensions of their own (issue 2)."""

import doctest

import pint
import pytest

import costgraph
from costgraph import units
from costgraph.units import Quantity, format_quantity, parse_quantity


def test_cost_per_hour_never_adds_to_cost_per_token():
    with pytest.raises(pint.DimensionalityError):
        Quantity(2.5, "USD/GPU_hour") + Quantity(1e-6, "USD/token")


def test_flop_rate_never_compares_with_byte_rate():
    with pytest.raises(pint.DimensionalityError):
        Quantity(989, "TFLOP/s").to("TB/s")


def test_per_request_is_not_per_step():
    with pytest.raises(pint.DimensionalityError):
        Quantity(64, "request").to("token")


@pytest.mark.parametrize("text, base", [
    ("500 USD/Mtok", 500e-6),
    ("1 GPU_hour", 3600.0),
    ("0.07 USD/kWh", 0.07 / 3.6e6),
    ("4.8 TB/s", 4.8e12 * 8),  # base unit of information is the bit
    ("3.9 pJ/bit", 3.9e-12),
    ("1 GiB", 2**30 * 8),
    ("1 GB", 1e9 * 8),
    ("65 percent", 0.65),
])
def test_conveniences_users_type(text, base):
    assert parse_quantity(text).to_base_units().magnitude == pytest.approx(base, rel=1e-12)


def test_gb_and_gib_are_never_confused():
    assert Quantity(141, "GB").to("GiB").magnitude == pytest.approx(131.3165, rel=1e-6)


@pytest.mark.parametrize("text, shown", [
    ("500 USD/Mtok", "500 USD/Mtok"),
    ("4.8 TB/s", "4.8 TB/s"),
    ("112452706304 byte", "112.5 GB"),
    ("0.02343 s", "23.43 ms"),
    ("1979 TFLOP/s", "1,979 TFLOP/s"),
    ("4096 token", "4,096 token"),
    ("3.9 pJ/bit", "3.9 pJ/bit"),
])
def test_units_print_compactly(text, shown):
    assert format_quantity(parse_quantity(text)) == shown


@pytest.mark.parametrize("text", ["MB", "token", "", "12 apples", "1 +"])
def test_text_without_a_number_and_unit_is_refused(text):
    with pytest.raises(ValueError, match="cannot read"):
        parse_quantity(text)


def test_one_registry_for_everything():
    assert pint.get_application_registry().get() is units.ureg or \
        pint.get_application_registry() is units.ureg
    assert costgraph.Quantity is units.Quantity


@pytest.mark.parametrize("module", ["units", "expr", "model", "__init__"])
def test_docstring_examples_run(module):
    mod = costgraph if module == "__init__" else __import__(f"costgraph.{module}",
                                                            fromlist=["x"])
    failures, _ = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert failures == 0
