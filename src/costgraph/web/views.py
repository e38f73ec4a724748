"""What the pages show, taken from a model and its results: choices, numbers, layers, fit.

Nothing here knows HTML. The quantities a page leads with are named once below; a rules
folder that lacks one simply does not show it, so the explorer works on any rules.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import urlencode

from costgraph.units import format_quantity, format_unit

# the scenario page's headline numbers, in order, with what each means
HEADLINE = (
    ("cost_per_mtok", "per 1M output tokens"),
    ("cost_per_mtok_input", "per 1M input tokens"),
    ("cost_per_mtok_blended", "per 1M tokens, blended"),
    ("tokens_per_second", "output tokens per second"),
    ("ttft", "time to first token"),
    ("tpot", "time per output token"),
)
TOTAL = "cost_per_mtok"
LAYER_SUFFIX = "_cost_per_mtok"  # a layer is X_cost_per_mtok where X_share is declared too
LAYER_ORDER = ("capital", "power", "facility", "nand", "network", "labour")
FIT_CONSTRAINT = "memory.hbm_fit"
FIT_PARTS = ("weight_bytes",)  # what the fit bar splits out of the required side
# preset kinds in the order the scenario form offers them; others follow, sorted
KIND_ORDER = ("scenario", "hardware", "model", "precision", "workload", "region", "facility",
              "convention", "stack")
GROUPED_KINDS = ("workload",)  # kinds whose presets each set a different aspect


# A served model never changes, and listing its quantities costs a millisecond or more, so
# what a page derives from the rules alone is computed once per model.
@functools.lru_cache(maxsize=16)
def declared(model) -> frozenset[str]:
    return frozenset(q.name for q in model.quantities())


@functools.lru_cache(maxsize=16)
def headline(model) -> tuple[tuple[str, str], ...]:
    names = declared(model)
    return tuple((n, label) for n, label in HEADLINE if n in names)


@functools.lru_cache(maxsize=16)
def layers(model) -> tuple[str, ...]:
    """The cost layers: ``X_cost_per_mtok`` for every X that also has an ``X_share``."""
    names = declared(model)
    found = [n[:-len(LAYER_SUFFIX)] for n in sorted(names)
             if n.endswith(LAYER_SUFFIX) and f"{n[:-len(LAYER_SUFFIX)]}_share" in names]
    ordered = [x for x in LAYER_ORDER if x in found] + [x for x in found if x not in LAYER_ORDER]
    return tuple(f"{x}{LAYER_SUFFIX}" for x in ordered)


def scenario_finds(model, extra=()) -> list[str]:
    names = declared(model)
    found = [n for n, _ in headline(model)] + list(layers(model))
    found += [n for n in FIT_PARTS if n in names]
    return list(dict.fromkeys([*found, *extra]))


def query(**params) -> str:
    """A query string: list values repeat their key, empty values are left out."""
    pairs = []
    for key, value in params.items():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if v not in (None, ""):
                pairs.append((key.rstrip("_"), v))
    return urlencode(pairs)


# preset choices -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One select of the scenario form: presets of one kind (or one aspect of a kind)."""

    kind: str
    label: str
    options: tuple[tuple[str, str], ...]  # (name, description)
    selected: str  # "" when the scenario's own value applies
    inherited: str  # what the scenario includes for it, for the "as in the scenario" option

    @property
    def secondary(self) -> bool:
        """A group of a grouped kind that the scenario leaves alone and nothing picked."""
        return self.kind in GROUPED_KINDS and not (self.selected or self.inherited)


def preset_choices(model, presets: list[str] | None, default: list[str]) -> list[Choice]:
    """The selects of the scenario form, each with the preset ``presets`` chose in it.

    The first preset is the base scenario when it is one; in every other group the last
    preset named wins, as it would when the presets compose.
    """
    chosen = list(presets) if presets is not None else list(default)
    everything = model.presets()
    kinds = sorted({p.kind for p in everything},
                   key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else len(KIND_ORDER), k))
    base = chosen[0] if chosen and _kind(everything, chosen[0]) == "scenario" else ""
    includes = _includes(everything, base)
    out = []
    for kind in kinds:
        for label, group in _groups(kind, [p for p in everything if p.kind == kind]):
            options = tuple((p.name, " ".join((p.description or "").split())) for p in group)
            names = {n for n, _ in options}
            if kind == "scenario":
                out.append(Choice(kind, label, options, base, ""))
                continue
            picked = [n for n in chosen[1 if base else 0:] if n in names]
            inherited = next((n for n in reversed(includes) if n in names), "")
            out.append(Choice(kind, label, options, picked[-1] if picked else "", inherited))
    return out


def _kind(everything, name: str) -> str | None:
    return next((p.kind for p in everything if p.name == name), None)


def _includes(everything, name: str) -> list[str]:
    """Every preset ``name`` includes, depth first, in the order they apply."""
    by_name = {p.name: p for p in everything}
    out: list[str] = []

    def walk(n, depth=0):
        if n in by_name and depth < 20:
            for child in by_name[n].includes:
                walk(child, depth + 1)
                out.append(child)

    walk(name)
    return out


def _groups(kind: str, presets) -> list[tuple[str, list]]:
    if kind not in GROUPED_KINDS:
        return [(kind, presets)]
    groups: dict[tuple[str, ...], list] = {}
    for p in presets:
        groups.setdefault(tuple(sorted(p.values)), []).append(p)
    return [(f"{kind}: {', '.join(key)}", group) for key, group in sorted(groups.items())]


# numbers ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    name: str
    label: str
    text: str  # formatted with its unit
    value: float
    unit: str


def number(result, name: str, label: str = "") -> Number:
    q = result[name]
    return Number(name, label or name, format_quantity(q), float(q.magnitude),
                  format_unit(q.units))


def stack(result, model) -> list[Number]:
    """Each cost layer at the result, in the layers' order (absent ones left out)."""
    return [number(result, n, n[:-len(LAYER_SUFFIX)]) for n in layers(model) if n in result]


@dataclass(frozen=True)
class Fit:
    """The HBM fit: what is needed (split into parts) against what may be used."""

    parts: tuple[tuple[str, float], ...]  # (label, bytes)
    limit: float
    unit: str
    holds: bool
    text: str


def fit(result) -> Fit | None:
    status = next((c for c in result.constraints if c.id == FIT_CONSTRAINT), None)
    if status is None or status.holds is None:
        return None
    # in the unit that reads best at the limit's size (GB, not 162,000,000,000 B)
    unit = status.rhs.to_compact().units if status.rhs.magnitude else status.lhs.units
    need = float(status.lhs.to(unit).magnitude)
    parts, rest = [], need
    for name in FIT_PARTS:
        if name in result:
            amount = float(result[name].to(unit).magnitude)
            parts.append((name, amount))
            rest -= amount
    parts.append(("the rest (KV cache)" if parts else "required", max(rest, 0.0)))
    return Fit(tuple(parts), float(status.rhs.to(unit).magnitude), format_unit(unit),
               bool(status.holds), status.describe())


@dataclass(frozen=True)
class Input:
    """An input the result rests on, as an editable value."""

    name: str
    value: str  # the text the form shows: a number and the declared unit
    shown: str
    kind: str
    source: str


def inputs(result, sets: list[str]) -> list[Input]:
    """Every input value in the result (presets and given ones), sorted by name.

    A value given in ``sets`` (``NAME=VALUE`` items) shows as it was written.
    """
    written = {k.strip(): v.strip() for k, _, v in (item.partition("=") for item in sets)}
    out = []
    for name, step in sorted(result.steps.items()):
        if step.kind not in ("preset", "given", "default", "override"):
            continue
        unit = format_unit(step.value.units)
        text = written[name] if name in written else \
            f"{float(step.value.magnitude):.12g}" + (f" {unit}" if unit else "")
        out.append(Input(name, text, format_quantity(step.value), step.kind,
                         step.preset or ""))
    return out


def status_word(status, binding=()) -> str:
    if status.holds is None:
        return "not evaluated"
    if not status.holds:
        return "VIOLATED"
    return "binding" if status.id in binding else "holds"
