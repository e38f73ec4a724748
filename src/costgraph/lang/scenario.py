"""Presets composed into one scenario: which value of each quantity wins, and why.

Composition is predictable whatever order the presets are named in:

* a **scenario** preset is the base layer: presets named beside it win over its own choices
  in any order; with no scenario named, the rules' ``default`` scenario is the base;
* the other presets apply in the order named, later ones winning value by value;
* a later preset of a kind that *replaces* (hardware, model, precision...) replaces an
  earlier one of the same kind as a whole, the base scenario's included too, so an H100
  named over the default H200 keeps nothing of the H200;
* a named preset that ends up changing nothing is reported as a warning.

Each value remembers its preset and its *layer* (later layers won): the precedence between a
derived quantity some presets set directly (``context_len``) and the input that moves to meet
it (``input_len``) is decided by who came later (see ``Model.known_steps``).

>>> import costgraph as cg
>>> c = compose(cg.load().ruleset, ["h100-sxm", "default"])
>>> c.values["hbm_capacity"].preset, c.applied[:2]
('h100-sxm', ('default', 'h100-sxm'))
"""

from __future__ import annotations

from dataclasses import dataclass

import pint

from ..errors import UnknownPresetError
from .rules import SCENARIO_KIND, PresetValue, RuleSet

DEFAULT_PRESET = "default"


@dataclass(frozen=True)
class ScenarioValue:
    """A value a preset sets, with the preset it came from and the layer it won on."""

    preset: str
    value: PresetValue
    layer: int = 0  # higher layers were applied later

    @property
    def quantity(self) -> pint.Quantity:
        return self.value.quantity


@dataclass(frozen=True)
class Composition:
    """The values a list of presets composes to, and what the composition did."""

    values: dict[str, ScenarioValue]
    applied: tuple[str, ...]  # the base scenario first, then the presets that took part
    replaced: tuple[tuple[str, str], ...]  # (replaced preset, by preset)
    warnings: tuple[str, ...]


def compose(ruleset: RuleSet, presets) -> Composition:
    """Compose ``presets`` (names, in the order given) over their base scenario."""
    named = _names(presets, ruleset)
    for name in named:
        if name not in ruleset.presets:
            raise UnknownPresetError(name, list(ruleset.presets))
    base, layers, replaced = _layers(ruleset, named)
    values = _flatten(ruleset, layers, base)
    scenarios = [n for n in named if ruleset.presets[n].kind == SCENARIO_KIND
                 and ruleset.kinds_declared]
    warnings = [f"preset {n} is set aside: the last scenario named ({base}) is the base"
                for n in dict.fromkeys(scenarios) if n != base]
    warnings += [f"preset {old} is replaced by {new} (both are {ruleset.presets[new].kind} "
                 "presets: the later one wins as a whole)" for old, new, origin in replaced
                 if origin == NAMED and old != new]
    kept = [name for name, origin in layers if origin == NAMED]
    magnitudes = _quantities(values)
    for name in dict.fromkeys(kept):
        _, rest_layers, _ = _layers(ruleset, [n for n in named if n != name], base)
        if _quantities(_flatten(ruleset, rest_layers, base)) == magnitudes:
            warnings.append(f"preset {name} changes nothing: every value it sets is already "
                            "the same, or set again by a later preset")
    applied = tuple(dict.fromkeys([*([base] if base else []), *kept]))
    return Composition(values, applied, tuple((old, new) for old, new, _ in replaced
                                              if old != new), tuple(warnings))


BASE, NAMED = "base", "named"  # where a layer came from: the base scenario, or named


def _layers(ruleset, named, base=None):
    """(base scenario, [(preset, origin)] in the order they apply, replacements made).

    The base scenario's own values are the entry named like it, after what it includes.
    A replacement is (replaced preset, by preset, origin of the replaced one). ``base``
    forces the base scenario (to compose the same question without one of its presets).
    """
    if not ruleset.kinds_declared:  # the plain order, later presets winning
        return None, [(name, NAMED) for name in named], []
    scenarios = [n for n in named if ruleset.presets[n].kind == SCENARIO_KIND]
    others = [n for n in named if ruleset.presets[n].kind != SCENARIO_KIND]
    if base is not None:
        pass
    elif scenarios:
        base = scenarios[-1]
    else:
        base = DEFAULT_PRESET if others and DEFAULT_PRESET in ruleset.presets else None
    layers = [(inc, BASE) for inc in ruleset.presets[base].includes] + [(base, BASE)] \
        if base else []
    replaced = []
    for name in others:
        kind = ruleset.kinds.get(ruleset.presets[name].kind)
        if kind is not None and kind.compose == "replace":
            for entry in [e for e in layers if e[0] != base
                          and ruleset.presets[e[0]].kind == kind.name]:
                layers.remove(entry)
                replaced.append((entry[0], name, entry[1]))
        layers.append((name, NAMED))
    return base, layers, replaced


def resolve_presets(ruleset: RuleSet, presets) -> dict[str, ScenarioValue]:
    """Compose presets into name -> value (see ``compose``)."""
    return compose(ruleset, presets).values


def preset_names(presets, ruleset: RuleSet) -> list[str]:
    """The presets a composition applies, the base scenario first."""
    return list(compose(ruleset, presets).applied)


def _names(presets, ruleset) -> list[str]:
    if presets is None:
        return [DEFAULT_PRESET] if DEFAULT_PRESET in ruleset.presets else []
    if isinstance(presets, str):
        return [presets]
    return list(presets)


def _quantities(values) -> dict:
    return {q: v.quantity for q, v in values.items()}


def _flatten(ruleset, layers, base) -> dict[str, ScenarioValue]:
    values: dict[str, ScenarioValue] = {}
    for layer, (name, origin) in enumerate(layers):
        if name == base and origin == BASE:  # the scenario's own values, after what it includes
            for qname, value in ruleset.presets[name].values.items():
                values[qname] = ScenarioValue(name, value, layer)
        else:
            _apply(ruleset, name, values, layer)
    return values


def _apply(ruleset: RuleSet, name: str, values: dict, layer: int, seen=()):
    preset = ruleset.presets[name]
    for included in preset.includes:
        if included not in seen:
            _apply(ruleset, included, values, layer, (*seen, name))
    for qname, value in preset.values.items():
        values[qname] = ScenarioValue(name, value, layer)
