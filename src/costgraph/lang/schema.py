"""The file formats of rule and preset files, as frozen pydantic schemas.

Unknown keys are errors (``extra="forbid"``); rules/README.md documents each key. Only
loading (validation) imports this module: a rule set from the on-disk cache never does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# the names live in `names`, which imports no pydantic; kept here under their old address
from .names import KIND_NAME, PRESET_KINDS, PRESET_NAME, RULE_ID  # noqa: F401


class Schema(BaseModel):
    """The base of every file schema (rules, presets, sources, claims, measurements): frozen,
    and an unknown key is an error, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def schema_text(err, unknown_key: str) -> str:
    """A pydantic error in words: an unknown key (followed by ``unknown_key``, where the
    format is documented), a missing one, or pydantic's own message."""
    if err["type"] == "extra_forbidden":
        return f"unknown key ({unknown_key})"
    if err["type"] == "missing":
        return "required key is missing"
    return err["msg"]


def entry_place(data, loc, key: str, noun: str, by_id: bool = True):
    """``("rule memory.kv", rest)`` for a pydantic location inside the list ``data[key]``:
    the entry named by its ``id`` (``#3`` when it has none, or when not ``by_id``) and the
    rest of the location; None for a location outside that list."""
    if len(loc) < 2 or loc[0] != key or not isinstance(loc[1], int):
        return None
    entries = data.get(key) or []
    entry = entries[loc[1]] if loc[1] < len(entries) else None
    eid = entry.get("id") if by_id and isinstance(entry, dict) else None
    return f"{noun} {eid or '#' + str(loc[1] + 1)}", tuple(loc[2:])


class QuantitySpec(Schema):
    unit: str
    description: str = Field(min_length=1)
    bounds: tuple[float | str | None, float | str | None] | None = None
    integer: bool = False
    source: str | None = None
    values: list[float] | None = None  # the only values it may take (a discrete decision)
    divides: list[str] = []  # quantities its value must divide evenly (shards of a whole)
    moves: str | None = None  # for a derived quantity: the input that moves when it is given

    @field_validator("unit", mode="before")
    @classmethod
    def _unit_text(cls, v):
        return str(v) if isinstance(v, (int, float)) else v


class RuleSpec(Schema):
    id: str
    defines: str
    expr: str
    description: str = Field(min_length=1)
    source: str = Field(min_length=1)


class ConstraintSpec(Schema):
    id: str
    expr: str
    description: str = Field(min_length=1)
    source: str = Field(min_length=1)


class RuleFileSpec(Schema):
    description: str = Field(min_length=1)
    quantities: dict[str, QuantitySpec] = {}
    rules: list[RuleSpec] = []
    constraints: list[ConstraintSpec] = []


class PresetValueSpec(Schema):
    value: str | float
    source: str | None = None
    note: str | None = None
    assumption: bool = False
    low: str | float | None = None
    high: str | float | None = None
    sd: str | float | None = None
    distribution: Literal["uniform", "triangular", "normal", "lognormal"] | None = None


class PresetSpec(Schema):
    description: str = Field(min_length=1)
    source: str | None = None
    includes: list[str] = []
    values: dict[str, str | float | PresetValueSpec] = {}
    partial: bool = False  # a building block for other presets of its kind: it need not be whole


class PresetFileSpec(Schema):
    kind: str = Field(pattern=KIND_NAME.pattern)
    description: str = Field(min_length=1)
    presets: dict[str, PresetSpec]


class ChartScenarioSpec(Schema):
    presets: list[str] = []  # applied after the chart's base presets
    given: dict[str, str | int | float] = {}


class StackChartSpec(Schema):
    scenarios: dict[str, ChartScenarioSpec] = Field(min_length=1)  # label -> configuration


class ChartsFileSpec(Schema):
    description: str = Field(min_length=1)
    stack: StackChartSpec | None = None


class KindSpec(Schema):
    description: str = Field(min_length=1)
    compose: Literal["replace", "merge"] = "replace"
    requires: list[str] = []


class KindsFileSpec(Schema):
    description: str = Field(min_length=1)
    kinds: dict[str, KindSpec]
