"""The file formats of rule and preset files, as frozen pydantic schemas.

Unknown keys are errors (``extra="forbid"``); rules/README.md documents each key.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# the kinds a rules folder without a kinds file may use; each composes by merging (later
# presets win value by value), as every kind did before kinds were declared
PRESET_KINDS = ("hardware", "model", "precision", "facility", "region", "workload",
                "convention", "scenario")
KIND_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
PRESET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
RULE_ID = re.compile(r"^[a-z][a-z0-9_.-]*$")


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class QuantitySpec(_Schema):
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


class RuleSpec(_Schema):
    id: str
    defines: str
    expr: str
    description: str = Field(min_length=1)
    source: str = Field(min_length=1)


class ConstraintSpec(_Schema):
    id: str
    expr: str
    description: str = Field(min_length=1)
    source: str = Field(min_length=1)


class RuleFileSpec(_Schema):
    description: str = Field(min_length=1)
    quantities: dict[str, QuantitySpec] = {}
    rules: list[RuleSpec] = []
    constraints: list[ConstraintSpec] = []


class PresetValueSpec(_Schema):
    value: str | float
    source: str | None = None
    note: str | None = None
    assumption: bool = False
    low: str | float | None = None
    high: str | float | None = None
    sd: str | float | None = None
    distribution: Literal["uniform", "triangular", "normal", "lognormal"] | None = None


class PresetSpec(_Schema):
    description: str = Field(min_length=1)
    source: str | None = None
    includes: list[str] = []
    values: dict[str, str | float | PresetValueSpec] = {}
    partial: bool = False  # a building block for other presets of its kind: it need not be whole


class PresetFileSpec(_Schema):
    kind: str = Field(pattern=KIND_NAME.pattern)
    description: str = Field(min_length=1)
    presets: dict[str, PresetSpec]


class KindSpec(_Schema):
    description: str = Field(min_length=1)
    compose: Literal["replace", "merge"] = "replace"
    requires: list[str] = []


class KindsFileSpec(_Schema):
    description: str = Field(min_length=1)
    kinds: dict[str, KindSpec]
