"""Claims files for the audit: their schema, and reading them into checked Claim objects.

A claims file states numbers a source publishes, each with the quantity it is a value of and
the configuration it holds for. Reading one checks everything that can be checked before
solving (keys, values with units, presets, given values) and raises one ``ClaimsFileError``
listing every problem. An unknown quantity or a value in the wrong unit is not an error: it
is the claim's verdict (NOT MODELLED, UNIT MISMATCH).

>>> import costgraph as cg
>>> from costgraph.audit.claims import read_claims
>>> claims = read_claims(cg.load(), {"source": "a note", "claims": [
...     {"id": "kv", "quantity": "kv_bytes_per_token", "value": "327680 byte/token",
...      "presets": ["llama-3-70b", "bf16"]}]})
>>> claims.claims[0].value.text
'327680 byte/token'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import decimal
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import pint
import yaml
from pydantic import Field, ValidationError

from ..errors import ClaimsFileError, CostgraphError, did_you_mean
from ..lang.schema import Schema, entry_place, schema_text
from ..units import Quantity, format_quantity, parse_quantity

if TYPE_CHECKING:
    from ..core.engine import Engine

DEFAULT_TOLERANCE = 0.02  # 2%: published figures are usually rounded to 2-3 digits
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_NUMBER = re.compile(r"^\s*([-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")

Raw = Union[str, int, float]


class ReferenceSpec(Schema):
    """What a ratio claim divides by: a quantity (default: the claim's) in a configuration."""

    quantity: str | None = None
    given: dict[str, Raw] = {}
    presets: list[str] | None = None


class ClaimSpec(Schema):
    id: str = Field(min_length=1)
    where: str = ""
    quote: str | None = None
    quantity: str = Field(min_length=1)
    value: Raw | list[Raw | None]
    given: dict[str, Raw] = {}
    presets: list[str] | None = None
    tolerance: Raw | None = None
    relative_to: ReferenceSpec | None = None
    note: str | None = None


class DefaultsSpec(Schema):
    presets: list[str] | None = None
    tolerance: Raw | None = None
    given: dict[str, Raw] = {}


class ClaimsFileSpec(Schema):
    source: str = Field(min_length=1)
    description: str | None = None
    defaults: DefaultsSpec = DefaultsSpec()
    claims: list[ClaimSpec]


# --- the checked, read-only claims ------------------------------------------------------


@dataclass(frozen=True)
class ClaimedValue:
    """A claimed figure or range; ``slack_low``/``slack_high`` are half a unit in the last
    digit stated (in the value's unit), so a figure rounded as printed still matches."""

    low: pint.Quantity | None  # None: open below (a range such as "at least 4")
    high: pint.Quantity | None
    text: str
    slack_low: float = 0.0
    slack_high: float = 0.0

    @property
    def is_range(self) -> bool:
        return self.low is None or self.high is None or self.low is not self.high

    @property
    def units(self):
        return (self.low if self.low is not None else self.high).units

    def nearest(self, x: float) -> float:
        """The end of the claim closest to ``x`` (``x`` itself inside a range), same unit."""
        low = -float("inf") if self.low is None else float(self.low.magnitude)
        high = float("inf") if self.high is None else float(self.high.to(self.units).magnitude)
        return min(max(x, low), high)

    def scaled(self, factor: float) -> "ClaimedValue":
        """The claim multiplied by ``factor`` (what it would be without a slip of that size)."""
        def times(q):
            return None if q is None else q * factor
        low, high = times(self.low), times(self.high)
        if not self.is_range:
            high = low
        return ClaimedValue(low, high, self.text, self.slack_low * abs(factor),
                            self.slack_high * abs(factor))

    def to_dict(self) -> dict:
        unit = f"{self.units:~P}"
        def mag(q):
            return None if q is None else float(q.to(self.units).magnitude)
        return {"text": self.text, "low": mag(self.low), "high": mag(self.high),
                "unit": "" if unit == "dimensionless" else unit}


@dataclass(frozen=True)
class Reference:
    """The denominator of a ratio claim."""

    quantity: str
    given: dict
    presets: tuple[str, ...]


@dataclass(frozen=True)
class Claim:
    """One checked claim: a figure for a quantity under presets and given values."""

    id: str
    where: str
    quote: str | None
    quantity: str
    value: ClaimedValue
    given: dict = field(default_factory=dict)
    presets: tuple[str, ...] = ()
    tolerance: float = DEFAULT_TOLERANCE
    relative_to: Reference | None = None
    note: str | None = None

    @property
    def shown_quantity(self) -> str:
        """``cost_per_mtok``; for a ratio ``memory_time / compute_time``, or ``cost_per_mtok
        ratio`` when one quantity is compared between two configurations."""
        ref = self.relative_to
        if ref is None:
            return self.quantity
        if ref.quantity == self.quantity:
            return f"{self.quantity} ratio"
        return f"{self.quantity} / {ref.quantity}"

    def to_dict(self) -> dict:
        ref = self.relative_to
        return {"id": self.id, "where": self.where, "quote": self.quote,
                "quantity": self.quantity, "claimed": self.value.to_dict(),
                "given": {k: _text(v) for k, v in sorted(self.given.items())},
                "presets": list(self.presets), "tolerance": self.tolerance,
                "relative_to": None if ref is None else {
                    "quantity": ref.quantity, "presets": list(ref.presets),
                    "given": {k: _text(v) for k, v in sorted(ref.given.items())}},
                "note": self.note}


@dataclass(frozen=True)
class ClaimsFile:
    source: str
    path: str
    presets: tuple[str, ...]  # the presets claims use unless they name their own
    claims: tuple[Claim, ...]


def _text(value) -> str:
    return format_quantity(value) if isinstance(value, pint.Quantity) else str(value)


# --- reading ----------------------------------------------------------------------------


def read_claims(model: Engine, claims, presets=None) -> ClaimsFile:
    """Read and check a claims file (a path, or the mapping it holds).

    ``presets``, when given, replaces the file's default presets: claims that use the
    defaults get these instead, and a claim that names a default preset in its own list
    gets these in its place (so ``[essay, fp16]`` becomes ``[default, fp16]``).
    """
    if isinstance(claims, (str, Path)):
        path = str(claims)
        try:
            data = yaml.safe_load(Path(claims).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ClaimsFileError(path, [f"cannot read the file: {exc.strerror}"]) from None
        except yaml.YAMLError as exc:
            raise ClaimsFileError(path, ["not valid YAML: " + str(exc).replace("\n", " ")]) \
                from None
    else:
        path, data = "<mapping>", claims
    if not isinstance(data, dict):
        raise ClaimsFileError(path, ["expected a mapping with `source` and `claims`"])
    try:
        spec = ClaimsFileSpec.model_validate(data)
    except ValidationError as exc:
        raise ClaimsFileError(path, _schema_problems(data, exc.errors())) from None
    return _Reader(model, path, spec, presets).run()


class _Reader:
    def __init__(self, model: Engine, path, spec: ClaimsFileSpec, override):
        self.model, self.path, self.spec = model, path, spec
        self.problems: list[str] = []
        file_presets = tuple(spec.defaults.presets or ())
        self.override = tuple(override) if override is not None else None
        self.defaults = self.override if self.override is not None else file_presets
        self.replaced = set(file_presets)

    def run(self) -> ClaimsFile:
        d = self.spec.defaults
        tolerance = self.tolerance("defaults", d.tolerance, DEFAULT_TOLERANCE)
        self.check_presets("defaults", self.defaults)
        base_given = self.given("defaults", d.given)
        claims, seen = [], set()
        for spec in self.spec.claims:
            item = f"claim {spec.id}"
            if spec.id in seen:
                self.problems.append(f"{item}: the id is used twice")
            seen.add(spec.id)
            if not _ID.match(spec.id):
                self.problems.append(f"{item}: ids are letters, digits and . _ : -")
            claim = self.claim(spec, item, tolerance, base_given)
            if claim is not None:
                claims.append(claim)
        if self.problems:
            raise ClaimsFileError(self.path, self.problems)
        return ClaimsFile(self.spec.source, self.path, self.defaults, tuple(claims))

    def claim(self, spec: ClaimSpec, item, tolerance, base_given) -> Claim | None:
        presets = self.presets_for(spec.presets)
        if spec.presets is not None:  # the defaults are checked once, not for every claim
            self.check_presets(item, presets)
        given = {**base_given, **self.given(item, spec.given)}
        value = self.value(item, spec.value)
        tol = self.tolerance(item, spec.tolerance, tolerance)
        ref = None
        if spec.relative_to is not None:
            r = spec.relative_to
            ref_presets = self.presets_for(r.presets) if r.presets is not None else presets
            if r.presets is not None:
                self.check_presets(f"{item} relative_to", ref_presets)
            ref = Reference(r.quantity or spec.quantity,
                            {**given, **self.given(f"{item} relative_to", r.given)},
                            ref_presets)
        if value is None:
            return None
        return Claim(spec.id, spec.where, spec.quote, spec.quantity, value, given, presets,
                     tol, ref, spec.note)

    def presets_for(self, names) -> tuple[str, ...]:
        if names is None:
            return self.defaults
        if self.override is None:
            return tuple(names)
        out: list[str] = []
        for name in names:
            if name in self.replaced:
                out.extend(p for p in self.override if p not in out)
            else:
                out.append(name)
        return tuple(out)

    def check_presets(self, item, names):
        known = self.model.ruleset.presets
        for name in names:
            if name not in known:
                self.problems.append(f"{item}: unknown preset '{name}'"
                                     f"{did_you_mean(name, known)}")

    def given(self, item, raw: dict) -> dict:
        out = {}
        for name, value in raw.items():
            try:
                out[name] = self.model.coerce(name, value, "given")
            except CostgraphError as exc:
                self.problems.append(f"{item}: {exc}")
        return out

    def value(self, item, raw) -> ClaimedValue | None:
        try:
            return parse_claimed(raw)
        except ValueError as exc:
            self.problems.append(f"{item}: value {exc}")
            return None

    def tolerance(self, item, raw, default) -> float:
        if raw is None:
            return default
        try:
            return parse_tolerance(raw)
        except ValueError as exc:
            self.problems.append(f"{item}: tolerance {exc}")
            return default


def parse_tolerance(raw) -> float:
    """``"5%"`` → 0.05; a plain number is a fraction (0.05), and must be below 1."""
    text = str(raw).strip()
    try:
        x = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"{raw!r} is not a percentage such as '5%'") from None
    if not 0 <= x < 1:
        raise ValueError(f"{raw!r} is out of range: write a percentage such as '5%'")
    return x


def parse_claimed(raw) -> ClaimedValue:
    """A single value (``"39024 token/s"``) or a range (``["28000 token/s", "35000 token/s"]``,
    ``["4", null]`` for "at least 4")."""
    if isinstance(raw, list):
        if len(raw) != 2 or raw == [None, None]:
            raise ValueError("a range is a list of two values [low, high] (one may be null)")
        low, high = (None if r is None else _one(r) for r in raw)
        ends = [e for e in (low, high) if e is not None]
        if len(ends) == 2 and low[0].dimensionality != high[0].dimensionality:
            raise ValueError(f"the ends of {raw!r} are in different units")
        if len(ends) == 2 and low[0] > high[0].to(low[0].units):
            raise ValueError(f"{raw!r}: the low end is above the high end")
        text = _range_text(raw)
        return ClaimedValue(None if low is None else low[0],
                            None if high is None else high[0].to(ends[0][0].units),
                            text, 0.0 if low is None else low[1],
                            0.0 if high is None else high[1])
    q, slack = _one(raw)
    return ClaimedValue(q, q, str(raw), slack, slack)


def _range_text(raw) -> str:
    """``["28000 token/s", "35000 token/s"]`` → ``28000–35000 token/s``; ``[4, null]`` → ``≥ 4``."""
    low, high = raw
    if low is None:
        return f"≤ {high}"
    if high is None:
        return f"≥ {low}"
    parts = [_NUMBER.match(str(x)) for x in raw]
    if all(parts):
        units = [str(x)[m.end():].strip() for x, m in zip(raw, parts)]
        if units[0] == units[1]:
            return f"{parts[0].group(1)}–{parts[1].group(1)} {units[0]}".rstrip()
    return f"{low} – {high}"


def _one(raw) -> tuple[pint.Quantity, float]:
    """A quantity and half a unit in its last stated decimal (0 without a decimal point)."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ValueError(f"expected a number with a unit, got {raw!r}")
    if isinstance(raw, (int, float)):
        return Quantity(float(raw), "dimensionless"), 0.0
    text = raw.strip()
    if text.endswith("%"):
        text = text[:-1].strip() + " percent"
    q = parse_quantity(text)
    match = _NUMBER.match(text)
    slack = 0.0
    # only a decimal point states a precision: "0.12" is 0.115-0.125, but "70" or "2"
    # may be a round figure, so whole numbers get the tolerance alone
    if match and "." in match.group(1):
        exponent = decimal.Decimal(match.group(1).replace("_", "")).as_tuple().exponent
        slack = 0.5 * 10.0 ** exponent
    return q, slack


_FORMS = {"value": "a number with a unit ('5 GB'), a plain number, or a range [low, high]",
          "tolerance": "a percentage such as '5%'"}


def _schema_problems(data, errors) -> list[str]:
    """One problem per place: a value of the wrong type fails every branch of its union
    (string, number, list), and one line saying what is expected reads better than four."""
    by_place: dict[str, list[str]] = {}
    for err in errors:
        place, _, text = _schema_problem(data, err).partition(": ")
        by_place.setdefault(place, []).append(text)
    out = []
    for place, texts in by_place.items():
        key = place.rpartition("key ")[2]
        if len(texts) > 1 and key in _FORMS:
            texts = [f"expected {_FORMS[key]}"]
        out.extend(f"{place}: {t}" if place else t for t in texts)
    return out


def _schema_problem(data, err) -> str:
    loc = tuple(err["loc"])
    where = ""
    entry = entry_place(data, loc, "claims", "claim")
    if entry is not None:
        where, loc = entry
    key = str(loc[0]) if loc else ""  # deeper parts name pydantic's union branches
    text = schema_text(err, "see docs/audit.md for the format")
    head = " ".join(p for p in (where, f"key {key}" if key else "") if p)
    return f"{head}: {text}" if head else text
