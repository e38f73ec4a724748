"""The loaded, checked definitions of a rules folder: quantities, rules, constraints, presets."""

from __future__ import annotations

from dataclasses import dataclass, field

import pint

from .bibliography import Bibliography
from .expr import Expression
from .names import PRESET_KINDS
from ..units import parse_unit


@dataclass(frozen=True)
class QuantityDef:
    name: str
    unit: str
    description: str
    low: float | None  # in `unit`
    high: float | None
    integer: bool
    source: str | None
    file: str
    values: tuple[float, ...] | None = None  # the only values it may take, in `unit`
    divides: tuple[str, ...] = ()  # quantities its value must divide evenly
    moves: str | None = None  # derived: the input solved for when this is given

    @property
    def pint_unit(self):
        return parse_unit(self.unit)


@dataclass(frozen=True)
class RuleDef:
    id: str
    defines: str
    expr: Expression
    description: str
    source: str
    file: str

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(sorted(self.expr.names))


@dataclass(frozen=True)
class ConstraintDef:
    id: str
    expr: Expression
    description: str
    source: str
    file: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.expr.names))


@dataclass(frozen=True)
class PresetValue:
    quantity: pint.Quantity
    source: str | None
    note: str | None = None
    assumption: bool = False
    low: pint.Quantity | None = None
    high: pint.Quantity | None = None
    sd: pint.Quantity | None = None
    distribution: str | None = None


@dataclass(frozen=True)
class PresetDef:
    name: str
    kind: str
    description: str
    includes: tuple[str, ...]
    values: dict[str, PresetValue]
    file: str
    source: str | None = None
    partial: bool = False  # a building block other presets of its kind include


@dataclass(frozen=True)
class KindDef:
    """A kind of preset: how a later one composes with an earlier one, what each must set."""

    name: str
    description: str
    compose: str  # "replace": a later preset of the kind replaces an earlier one as a whole
    requires: tuple[str, ...]
    file: str


SCENARIO_KIND = "scenario"  # the kind whose presets are the base layer of a composition


def default_kinds() -> dict[str, KindDef]:
    """The kinds of a rules folder that declares none: every one merges, none requires.

    Such a folder composes presets as they are named, later ones winning value by value,
    with no base scenario underneath.
    """
    return {k: KindDef(k, f"presets of kind {k}", "merge", (), "") for k in PRESET_KINDS}


@dataclass(frozen=True)
class RuleSet:
    """Everything one rules folder declares, checked."""

    root: Path
    quantities: dict[str, QuantityDef]
    rules: dict[str, RuleDef]  # by rule id
    constraints: dict[str, ConstraintDef]
    presets: dict[str, PresetDef]
    file_descriptions: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, KindDef] = field(default_factory=default_kinds)
    kinds_declared: bool = False  # without presets/kinds.yaml presets compose in order named
    bibliography: Bibliography | None = None  # None: the folder has no sources.yaml
    # the stack chart's default bars, from charts.yaml: label -> {"presets": [...], "given": {}}
    stack_scenarios: dict[str, dict] = field(default_factory=dict)

    def rule_for(self, name: str) -> RuleDef | None:
        """The rule that defines ``name``, or None for an input."""
        return self._by_defines().get(name)

    def _by_defines(self) -> dict[str, RuleDef]:
        cached = self.__dict__.get("_defines_index")
        if cached is None:
            cached = {r.defines: r for r in self.rules.values()}
            object.__setattr__(self, "_defines_index", cached)
        return cached
