"""One registry; money, tokens, FLOPs and requests are dimensions of their own (issue 2)."""

import doctest

import pint
import pytest

import costgraph
from costgraph import units
from costgraph.errors import ValueTextError
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


@pytest.mark.parametrize("module", ["units", "lang.expr", "model", "__init__"])
def test_docstring_examples_run(module):
    mod = costgraph if module == "__init__" else __import__(f"costgraph.{module}",
                                                            fromlist=["x"])
    failures, _ = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert failures == 0


# --- one reading of values everywhere ------------------------------------------------------


@pytest.mark.parametrize("text, unit, expected", [
    ("32k", "token", Quantity(32_000, "token")),
    ("32K", "token", Quantity(32_000, "token")),
    ("32k token", None, Quantity(32_000, "token")),
    ("32 ktok", None, Quantity(32_000, "token")),
    ("1.5M", "request", Quantity(1.5e6, "request")),
    ("2G", "1", Quantity(2e9, "dimensionless")),
    ("128", "request", Quantity(128, "request")),
    ("1_000", None, Quantity(1000, "dimensionless")),
    ("4.8TB/s", None, Quantity(4.8, "TB/s")),
    ("32kB", None, Quantity(32, "kB")),  # glued to a unit, k is pint's prefix
    ("$0.15/kWh", None, Quantity(0.15, "USD/kWh")),
    ("15 cent/kWh", None, Quantity(0.15, "USD/kWh")),
    ("0.15 USD/kWh", None, Quantity(0.15, "USD/kWh")),
    ("$8k", None, Quantity(8000, "USD")),
    ("65%", None, Quantity(0.65, "dimensionless")),
    ("1/3", None, Quantity(1 / 3, "dimensionless")),
])
def test_the_accepted_forms_of_a_value(text, unit, expected):
    got = units.parse_quantity(text, unit)
    assert got.dimensionality == expected.dimensionality
    assert got.to(expected.units).magnitude == pytest.approx(expected.magnitude, rel=1e-12)


def test_a_price_reads_the_same_in_every_form(model):
    forms = ["$0.15/kWh", "15 cent/kWh", "0.15 USD/kWh", "0.15"]
    assert [model.coerce("power_price", f).magnitude for f in forms] == pytest.approx([0.15] * 4)


@pytest.mark.parametrize("text, reason", [
    ("9**9**9", "a power of a power (a**b**c) is not allowed; write (a**b)**c (at column 5)"),
    ("10**10**10 m", "a power of a power (a**b**c) is not allowed; write (a**b)**c "
                     "(at column 7)"),
    ("10**400", "exponent 400 is larger than 16 (at column 5)"),
    ("1e999999", "1e999999 is too large: values must be finite (at column 1)"),
    ("1" * 10_000, "longer than 200 characters"),
    ("9" * 31, "number longer than 30 characters (at column 1)"),
    ("nan", "values must be finite"),
    ("-inf W", "values must be finite"),
    ("1e308 * 10 m", "values must be finite"),
    ("15 €/kWh", "'€' is not part of a unit (units are pint's, e.g. 'USD/kWh', 'TB/s', "
                 "'byte/token') (at column 4)"),
    ("5 m,s", "',' is not part of a unit (units are pint's, e.g. 'USD/kWh', 'TB/s', "
              "'byte/token') (at column 4)"),
    ("m**x", "it has no number (write e.g. '4096 token' or '4.8 TB/s')"),
])
def test_hostile_values_are_refused_before_pint_evaluates_them(text, reason):
    with pytest.raises(ValueTextError) as info:
        units.parse_quantity(text)
    assert info.value.reason + (f" (at column {info.value.column})"
                                if info.value.column else "") == reason


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf"), 10 ** 400])
def test_numbers_that_are_not_finite_are_refused(number):
    with pytest.raises(ValueTextError, match="values must be finite"):
        units.parse_quantity(number)


@pytest.mark.parametrize("text, reason", [
    ("m**9**9**9", "a power of a power (a**b**c) is not allowed; write (a**b)**c"),
    ("m**99", "exponent 99 is larger than 16"),
    ("m**batch", "an exponent must be a number literal, e.g. m**2"),
    ("1000 byte", "Unit expression cannot have a scaling factor."),
    ("apples", "'apples' is not defined in the unit registry"),
])
def test_hostile_units_are_refused(text, reason):
    with pytest.raises(ValueTextError) as info:
        units.parse_unit(text)
    assert info.value.reason == reason
    assert str(info.value).startswith(f"cannot read {text!r} as a unit: ")
