"""Presets and their composition into one set of values."""

from __future__ import annotations

from dataclasses import dataclass

import pint

from .errors import UnknownPresetError
from .rules import PresetValue, RuleSet

DEFAULT_PRESET = "default"


@dataclass(frozen=True)
class ScenarioValue:
    """A value a preset sets, with the preset it came from."""

    preset: str
    value: PresetValue

    @property
    def quantity(self) -> pint.Quantity:
        return self.value.quantity


def resolve_presets(ruleset: RuleSet, presets) -> dict[str, ScenarioValue]:
    """Compose presets in order (includes first, later ones win) into name -> value.

    ``presets=None`` means the ``default`` preset when the rules define one.
    """
    if presets is None:
        presets = [DEFAULT_PRESET] if DEFAULT_PRESET in ruleset.presets else []
    elif isinstance(presets, str):
        presets = [presets]
    values: dict[str, ScenarioValue] = {}
    for name in presets:
        _apply(ruleset, name, values)
    return values


def preset_names(presets, ruleset: RuleSet) -> list[str]:
    if presets is None:
        return [DEFAULT_PRESET] if DEFAULT_PRESET in ruleset.presets else []
    return [presets] if isinstance(presets, str) else list(presets)


def _apply(ruleset: RuleSet, name: str, values: dict):
    preset = ruleset.presets.get(name)
    if preset is None:
        raise UnknownPresetError(name, list(ruleset.presets))
    for included in preset.includes:
        _apply(ruleset, included, values)
    for qname, value in preset.values.items():
        values[qname] = ScenarioValue(name, value)
