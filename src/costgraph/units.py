"""The one unit registry of the project, and helpers around it.

Currency, tokens, FLOPs and requests are dimensions of their own, so that a cost per
GPU-hour can never be added to a cost per token, a FLOP rate never compared with a byte
rate, and a per-request quantity never used as a per-step one without saying so.
"""

from __future__ import annotations

import functools
import math
import re

import pint

# Each definition says why it exists; pint's own definitions cover SI, bytes, bits,
# binary prefixes (GiB) and watt-hours (kWh).
_DEFINITIONS = [
    "USD = [currency] = _ = usd = dollar",  # money is a dimension: $/h never adds to $/token
    "token = [token] = _ = tok = tokens",  # what an LLM produces; a dimension so per-token is explicit
    "ktok = 1e3 * token",
    "Mtok = 1e6 * token",  # prices are quoted per million tokens
    "FLOP = [flop] = _ = flop = FLOPs",  # work; a dimension so FLOP/s is never confused with byte/s
    "request = [request] = _ = req = requests",  # a sequence being served; batch is counted in requests
    "GPU_hour = hour",  # reads naturally in USD/GPU_hour; a GPU count is dimensionless
]


def _build_registry() -> pint.UnitRegistry:
    registry = pint.UnitRegistry(
        autoconvert_offset_to_baseunit=False,
        non_int_type=float,
    )
    for definition in _DEFINITIONS:
        registry.define(definition)
    registry.formatter.default_format = "~P"
    return registry


ureg: pint.UnitRegistry = _build_registry()
Quantity = ureg.Quantity
Unit = ureg.Unit
pint.set_application_registry(ureg)

_NUMBER_UNIT = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def parse_unit(text: str) -> pint.Unit:
    """A unit from text; ``"1"`` or ``""`` is dimensionless."""
    return _parse_unit(str(text).strip())


# Every QuantityDef.pint_unit lands here and pint's parser is slow: an exact solve of the
# bundled rules parsed the same few dozen unit texts thousands of times. Units are immutable.
@functools.lru_cache(maxsize=4096)
def _parse_unit(text: str) -> pint.Unit:
    if text in ("", "1", "dimensionless"):
        return ureg.dimensionless
    return ureg.Unit(text)


def parse_quantity(text) -> pint.Quantity:
    """A quantity from ``"4096 token"``, ``"500 USD/Mtok"``, a number, or a Quantity.

    pint's own parser reads the text: it tokenizes and never calls ``eval``.
    Raises ``ValueError`` naming the text when it is not a number with a unit.
    """
    if isinstance(text, pint.Quantity):
        return text
    if isinstance(text, bool):
        raise ValueError(f"expected a number with a unit, got {text!r}")
    if isinstance(text, (int, float)):
        return Quantity(float(text), ureg.dimensionless)
    if not isinstance(text, str):
        raise ValueError(f"expected a number with a unit, got {text!r}")
    stripped = text.strip().replace("_", "") if _looks_like_number(text) else text.strip()
    try:
        q = ureg.Quantity(stripped)
    except Exception as exc:  # pint's parser also raises AssertionError on malformed text
        raise ValueError(f"cannot read {text!r} as a number with a unit ({exc})") from None
    if not isinstance(q, pint.Quantity):  # a bare number
        q = Quantity(float(q), ureg.dimensionless)
    if not _NUMBER_UNIT.match(stripped):
        # "MB" alone parses as 1 MB; a value must say how much, so require a number
        raise ValueError(f"cannot read {text!r} as a number with a unit: it has no number")
    return Quantity(float(q.magnitude), q.units)


def _looks_like_number(text: str) -> bool:
    return bool(re.fullmatch(r"\s*[-+]?[\d_]+(\.[\d_]*)?([eE][-+]?\d+)?\s*", text))


@functools.lru_cache(maxsize=None)
def base_factor(unit: str) -> tuple[float, str]:
    """(factor, base unit text): a magnitude in ``unit`` times factor is in base units."""
    q = Quantity(1.0, parse_unit(unit)).to_base_units()
    return float(q.magnitude), str(q.units)


def to_base(q: pint.Quantity) -> float:
    """The magnitude of ``q`` in base units (what symbols and compiled code work in)."""
    return float(q.to_base_units().magnitude)


def from_base(magnitude, unit: str):
    """A magnitude in base units, expressed as a Quantity in ``unit``."""
    factor, _ = base_factor(unit)
    return Quantity(magnitude / factor, parse_unit(unit))


def same_dimension(a, b) -> bool:
    """Whether two units (text or pint units) measure the same kind of thing."""
    def unit(u):
        return parse_unit(u) if isinstance(u, str) else u
    return unit(a).dimensionality == unit(b).dimensionality


def format_unit(unit) -> str:
    """Compact unit text: ``USD/Mtok``, ``TB/s``; empty for dimensionless."""
    text = f"{parse_unit(unit) if isinstance(unit, str) else unit:~P}"
    # pint's symbol for a year is "a" (annum); people read "year"
    text = re.sub(r"(?<![\w])a(?![\w])", "year", text)
    return "" if text in ("", "dimensionless") else text


# units whose prefixed forms read better than long numbers: 112 GB, not 112,452,706,304 B
_COMPACTABLE = {"B", "bit", "s", "FLOP", "W", "J", "B/s", "bit/s", "FLOP/s", "Wh"}


def format_quantity(q: pint.Quantity, digits: int = 4) -> str:
    """A quantity for people: 4 significant digits, thousands grouped, compact unit.

    >>> format_quantity(Quantity(0.02343, "s"))
    '23.43 ms'
    >>> format_quantity(Quantity(1.709, "USD/Mtok"))
    '1.709 USD/Mtok'
    """
    magnitude = float(q.magnitude)
    if format_unit(q.units) in _COMPACTABLE and magnitude != 0 and math.isfinite(magnitude) \
            and not 1 <= abs(magnitude) < 1000:
        q = q.to_compact()
    return f"{format_number(q.magnitude, digits)} {format_unit(q.units)}".rstrip()


def format_number(x, digits: int = 4) -> str:
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return str(x if not math.isfinite(x) else 0)
    magnitude = abs(x)
    if 1e-3 <= magnitude < 1e15:
        decimals = max(0, digits - 1 - int(math.floor(math.log10(magnitude))))
        text = f"{x:,.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    return f"{x:.{digits - 1}e}"
