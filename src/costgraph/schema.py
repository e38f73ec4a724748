"""The file formats of rule and preset files, as frozen pydantic schemas.

Unknown keys are errors (``extra="forbid"``); rules/README.md documents each key.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PRESET_KINDS = ("hardware", "model", "precision", "facility", "region", "workload",
                "convention", "scenario")
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


class PresetFileSpec(_Schema):
    kind: Literal[PRESET_KINDS]  # type: ignore[valid-type]
    description: str = Field(min_length=1)
    presets: dict[str, PresetSpec]
