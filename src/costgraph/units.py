"""The one unit registry of the project, and helpers around it.

Currency, tokens, FLOPs and requests are dimensions of their own, so that a cost per
GPU-hour can never be added to a cost per token, a FLOP rate never compared with a byte
rate, and a per-request quantity never used as a per-step one without saying so.
"""

from __future__ import annotations

import functools
import math
import numbers
import re

import pint

from .errors import ValueTextError

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
    "cent = 0.01 * USD = _ = cents",  # power prices are quoted in cents per kWh
]


def _build_registry() -> pint.UnitRegistry:
    from . import diskcache

    # pint's parsed definitions cached on disk: most of the cost of building a registry
    try:
        with diskcache.pint_folder() as folder:
            registry = _registry(folder)
    except OSError:  # the cache folder went away under pint (deleting it is always safe)
        registry = _registry(None)
    for definition in _DEFINITIONS:
        registry.define(definition)
    registry.formatter.default_format = "~P"
    return registry


def _registry(cache_folder) -> pint.UnitRegistry:
    return pint.UnitRegistry(autoconvert_offset_to_baseunit=False, non_int_type=float,
                             cache_folder=cache_folder)


ureg: pint.UnitRegistry = _build_registry()
Quantity = ureg.Quantity
Unit = ureg.Unit
pint.set_application_registry(ureg)

# Caps on the text of one value or unit, each so that hostile text fails at once: pint's
# parser evaluates `**` itself, so `9**9**9` or `m**9**9**9` would run for ever inside it.
MAX_TEXT_CHARS = 200  # longer than any real value or unit; bounds pint's work
MAX_NUMBER_CHARS = 30  # a 10,000-digit number or 1e999999 is refused before any arithmetic
MAX_EXPONENT = 16  # exponents are small number literals: no 10**400, no power towers

# A number written with one of these letters right after it (and nothing else glued on)
# is that many of the unit: SI thousands, so 32k is 32,000, never 32,768.
SUFFIXES = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}

_NUMBER = r"(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(rf"(?P<name>[^\W\d]\w*)|(?P<number>{_NUMBER})|(?P<power>\*\*|\^)"
                    r"|(?P<space>\s+)|(?P<op>.)", re.S)
# pint's tokenizer silently drops characters it does not know ("15 €/kWh" reads as 15/kWh,
# "5 m,s" as 5 ms), so only these may appear between the names and numbers of a unit
_UNIT_OPERATORS = frozenset("*/()+-.%·")
_LEAD = re.compile(rf"([-+]?)\s*(\$?)\s*({_NUMBER})")
_NOT_FINITE = re.compile(r"[-+]?\$?\s*(nan|inf|infinity)(?!\w)", re.I)


def check_text(text: str, what: str = "a unit") -> None:
    """Refuse unit text that pint would read wrongly or without bound; nothing is evaluated.

    Raises ``ValueTextError`` for text over ``MAX_TEXT_CHARS``, a number literal over
    ``MAX_NUMBER_CHARS`` or beyond a float, an exponent that is not a number literal of at
    most ``MAX_EXPONENT`` (``m**9**9``, ``m**x``), a number right after another number or
    a name (pint would multiply them: ``1.2.3 m``, ``5 m 3``), or a character pint does not
    read.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise ValueTextError(text, f"longer than {MAX_TEXT_CHARS} characters", what)
    tokens = [(m.lastgroup, m.group(), m.start()) for m in _TOKEN.finditer(text)
              if m.lastgroup != "space"]
    for i, (kind, token, column) in enumerate(tokens):
        if kind == "number":
            _number(token, text, what, column)
            # pint multiplies what it finds side by side: "1.2.3 m" would be 0.36 m
            if i and (tokens[i - 1][0] in ("number", "name") or tokens[i - 1][1] == ")"):
                raise ValueTextError(text, f"the number {token} follows "
                                           f"{tokens[i - 1][1]!r} with no operator between",
                                     what, column + 1)
        elif kind == "op" and token not in _UNIT_OPERATORS:
            raise ValueTextError(text, f"{token!r} is not part of a unit (units are pint's, "
                                       "e.g. 'USD/kWh', 'TB/s', 'byte/token')", what, column + 1)
        elif kind == "power":
            _check_exponent(tokens, i, text, what)


def _check_exponent(tokens, i, text, what):
    j = i + 1 + (i + 1 < len(tokens) and tokens[i + 1][1] in ("-", "+"))
    if j >= len(tokens) or tokens[j][0] != "number":
        raise ValueTextError(text, "an exponent must be a number literal, e.g. m**2", what,
                             tokens[i][2] + 1)
    if abs(_number(tokens[j][1], text, what, tokens[j][2])) > MAX_EXPONENT:
        raise ValueTextError(text, f"exponent {tokens[j][1]} is larger than {MAX_EXPONENT}",
                             what, tokens[j][2] + 1)
    if j + 1 < len(tokens) and tokens[j + 1][0] == "power":
        raise ValueTextError(text, "a power of a power (a**b**c) is not allowed; write "
                                   "(a**b)**c", what, tokens[j + 1][2] + 1)


def _number(token: str, text: str, what: str, column: int) -> float:
    if len(token) > MAX_NUMBER_CHARS:
        raise ValueTextError(text, f"number longer than {MAX_NUMBER_CHARS} characters", what,
                             column + 1)
    value = float(token.replace("_", ""))
    if not math.isfinite(value):
        raise ValueTextError(text, f"{token} is too large: values must be finite", what,
                             column + 1)
    return value


def parse_unit(text) -> pint.Unit:
    """A unit from text; ``"1"`` or ``""`` is dimensionless.

    The text is checked first (``check_text``); raises ``ValueTextError`` (a ValueError)
    for anything that is not a unit.
    """
    if isinstance(text, pint.Unit):
        return text
    return _parse_unit(str(text).strip())


# Every QuantityDef.pint_unit lands here and pint's parser is slow: an exact solve of the
# bundled rules parsed the same few dozen unit texts thousands of times. Units are immutable.
@functools.lru_cache(maxsize=4096)
def _parse_unit(text: str) -> pint.Unit:
    if text in ("", "1", "dimensionless"):
        return ureg.dimensionless
    check_text(text)
    try:
        return ureg.Unit(text)
    except Exception as exc:  # pint's parser raises several types on malformed text
        raise ValueTextError(text, _pint_reason(exc), "a unit") from None


def parse_quantity(text, unit=None) -> pint.Quantity:
    """A value from text or a number: the one way values are read, everywhere.

    Presets, ``given`` values, ``--set``, ``--vary``/``--range``/sweep ends, constraint
    right-hand sides and unit literals in rules all come here. Accepted forms:

    * a number with a unit, spaced or not: ``"4096 token"``, ``"4.8TB/s"``,
      ``"500 USD/Mtok"``, ``"65 percent"``, ``"65%"``; units are pint's, so ``"4 ktok"`` is
      4,000 tokens and ``"1 GiB"`` is 2**30 bytes;
    * a bare number, ``"128"``, ``128``, ``"1e9"``, ``"1_000"``: in ``unit``;
    * a number with a suffix ``k``/``K``, ``M`` or ``G``, alone or before a unit:
      SI thousands, millions, billions (``"32k"`` is 32,000 in ``unit``, ``"32k token"``
      32,000 tokens). A 32K context of 32,768 tokens is written ``"32768 token"``;
    * money: ``"$0.15/kWh"``, ``"$8k"`` (dollars), ``"15 cent/kWh"``, ``"0.15 USD/kWh"``.

    Refused, with ``ValueTextError`` (a ValueError) naming the text and why, before pint
    evaluates anything: text without a number (``"MB"``), NaN or infinite values, number
    literals over ``MAX_NUMBER_CHARS`` characters or beyond a float (``"1e999999"``),
    exponents that are not small literals (``"9**9**9"``, ``"10**400"``), characters pint
    would silently drop (``"15 €/kWh"``), text over ``MAX_TEXT_CHARS`` characters.

    Parameters
    ----------
    text : str, number or pint.Quantity
    unit : str or pint.Unit, optional
        The unit of a bare number; dimensionless when not given.

    Examples
    --------
    >>> parse_quantity("32k", "token")
    <Quantity(32000.0, 'token')>
    >>> parse_quantity("$0.15/kWh") == parse_quantity("15 cent/kWh")
    True
    """
    bare_unit = ureg.dimensionless if unit is None else parse_unit(unit)
    if isinstance(text, pint.Quantity):
        return _finite(text, text)
    if isinstance(text, bool) or not isinstance(text, (str, numbers.Real)):
        raise ValueTextError(repr(text), "expected text such as '4096 token', or a number")
    if not isinstance(text, str):
        try:
            return _finite(Quantity(float(text), bare_unit), text)
        except OverflowError:
            raise ValueTextError(repr(text), "too large: values must be finite") from None
    digit = next((c for c in text if not c.isascii() and c.isdigit()), None)
    if digit is not None:  # Python reads '１２８' as 128: a look-alike, refused like names
        raise ValueTextError(text, f"{digit!r} is not an ASCII digit; write numbers with the "
                                   "digits 0-9")
    return _finite(_read(text.strip(), text, bare_unit), text)


def _read(s: str, text: str, bare_unit) -> pint.Quantity:
    if len(s) > MAX_TEXT_CHARS:
        raise ValueTextError(text, f"longer than {MAX_TEXT_CHARS} characters")
    if _NOT_FINITE.match(s):
        raise ValueTextError(text, "values must be finite")
    lead = _LEAD.match(s)
    if lead is None:
        raise ValueTextError(text, "it has no number (write e.g. '4096 token' or '4.8 TB/s')")
    sign, dollar, number = lead.groups()
    magnitude = _number(number, text, "a number with a unit", lead.start(3))
    magnitude = -magnitude if sign == "-" else magnitude
    rest = s[lead.end():]
    factor = SUFFIXES.get(rest[:1]) if rest[1:2] in ("", " ", "\t") else None
    if factor:
        magnitude, rest = magnitude * factor, rest[1:]
    unit_text = rest.strip()
    if dollar:
        unit_text = "USD" + (unit_text if unit_text[:1] in ("", "/", "*") else " " + unit_text)
    if not unit_text:
        return Quantity(magnitude, bare_unit)
    try:
        return Quantity(magnitude, _parse_unit(unit_text))
    except ValueTextError as exc:
        if dollar or factor:
            raise ValueTextError(text, exc.reason) from None
        unit_error = exc
    # not "number unit": an arithmetic form such as "1/3" or "2 * 3 m", read by pint whole
    check_text(s, "a number with a unit")
    try:
        q = ureg.Quantity(s)
    except Exception:  # pint's parser raises several types on malformed text
        raise ValueTextError(text, unit_error.reason) from None
    if not isinstance(q, pint.Quantity):  # a bare number
        q = Quantity(float(q), bare_unit)
    return Quantity(float(q.magnitude), q.units)


def _finite(q: pint.Quantity, raw) -> pint.Quantity:
    magnitude = q.magnitude
    if isinstance(magnitude, numbers.Real) and not math.isfinite(magnitude):
        raise ValueTextError(raw if isinstance(raw, str) else repr(raw), "values must be finite")
    return q


def _pint_reason(exc: Exception) -> str:
    return str(exc).strip() or f"pint could not read it ({type(exc).__name__})"


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
