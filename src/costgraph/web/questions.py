"""Request parameters, named as on the command line, turned into costgraph calls.

Every function here takes the values of the query string (lists for the repeatable
``find``, ``set``, ``where``, ``vary``, ``p``, ``range``), holds them to the server's
``Limits``, reads them with the command line's own parsers (so a mistake reads the same
in both places) and calls the public API. They run in a worker thread.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import typer

from costgraph.errors import QueryError

from .limits import Limits

DEFAULT = "default"  # the scenario the rules apply when no preset is chosen


@dataclass(frozen=True)
class Scenario:
    """The presets (``None``: the rules' default scenario) and given values of a request."""

    presets: list[str] | None
    given: dict

    @property
    def label(self) -> str:
        parts = [" + ".join(self.presets or ["default"])]
        parts += [f"{n} = {v}" for n, v in self.given.items()]
        return ", ".join(parts)


def default_presets(model) -> list[str]:
    """What ``presets=None`` means: the ``default`` scenario where the rules have one."""
    return [p.name for p in model.presets() if p.name == DEFAULT]


def cli_parse(fn, *args):
    """Call a command-line parser; its BadParameter becomes a QueryError with its text."""
    try:
        return fn(*args)
    except typer.BadParameter as exc:
        hint = (exc.param_hint or "value").lstrip("-")
        raise QueryError(hint, exc.message) from None


def scenario(limits: Limits, p, set_) -> Scenario:
    """``p=default&p=b200&set=batch=128`` → Scenario(["default", "b200"], {"batch": 128.0})."""
    from costgraph.cli.common import parse_sets

    presets = limits.items("p", p)
    sets = limits.items("set", set_, assigned=True)
    given = cli_parse(parse_sets, sets)
    return Scenario(presets or None, given)


def names(limits: Limits, param: str, values, required: str | None = None) -> list[str]:
    """The quantity names of a repeatable parameter; ``required`` is the example to give."""
    found = limits.items(param, values)
    if not found and required:
        raise QueryError(param, f"give at least one quantity, e.g. {param}={required}")
    return found


def solve(model, limits: Limits, find, p, set_):
    s = scenario(limits, p, set_)
    return model.solve(given=s.given, find=names(limits, "find", find, "cost_per_mtok"),
                       presets=s.presets)


def seek(model, limits: Limits, maximize, minimize, where, vary, p, set_):
    """``Model.seek``; an infeasible question raises InfeasibleError with the least-bad point."""
    from costgraph.cli.seek import parse_vary

    s = scenario(limits, p, set_)
    if maximize:
        limits.text("maximize", maximize)
    if minimize:
        limits.text("minimize", minimize)
    sense = {"maximize": maximize} if maximize else {}
    if minimize:
        sense["minimize"] = minimize
    vary_items = limits.items("vary", vary, assigned=True)
    return model.seek(**sense, subject_to=limits.items("where", where),
                      vary=cli_parse(parse_vary, vary_items), given=s.given,
                      presets=s.presets)


def explain(model, limits: Limits, name, p, set_):
    """The Result that derives ``name`` (what ``costgraph explain --json`` prints)."""
    return solve(model, limits, [_one(limits, "name", name, "cost_per_mtok")], p, set_)


def graph(model, limits: Limits, name, p, set_, depth=None, constraints=True,
          direction="LR", unfold=False):
    result = explain(model, limits, name, p, set_)
    return result.graph(name, depth=depth, constraints=constraints, rankdir=direction,
                        unfold=unfold)


def _one(limits: Limits, param: str, value, example: str) -> str:
    if not value or not value.strip():
        raise QueryError(param, f"give a quantity, e.g. {param}={example}")
    return limits.text(param, value.strip())


# sweeps -----------------------------------------------------------------------------------

_RANGE = re.compile(r"^(?P<lo>[^:,]+?)\.\.(?P<hi>[^:,]+?)(?::(?P<scale>lin|log))?"
                    r"(?::(?P<n>\d+))?$")
DEFAULT_POINTS = 32  # a range without a count, as costgraph.analysis.sweep reads it


def axis_points(model, name: str, spec: str) -> int:
    """How many values ``name=spec`` sweeps, counted without building them.

    A range of a whole-number quantity without a count takes every whole number between
    its ends (``batch=1..1e9`` is a billion points), so its ends are read first.
    """
    match = _RANGE.match(spec.strip())
    if match is None:
        return spec.count(",") + 1
    if match["n"] is not None:
        return int(match["n"])
    q = next((info for info in model.quantities() if info.name == name), None)
    if q is None or not q.integer or match["scale"] == "log":
        return DEFAULT_POINTS
    from costgraph.analysis.sweep import make_axis

    ends = make_axis(model, name, f"{match['lo']},{match['hi']}").values
    return max(0, math.floor(float(ends.max())) - math.ceil(float(ends.min())) + 1)


def sweep_axes(model, limits: Limits, vary) -> dict[str, str]:
    """``vary`` items as {name: spec}, refused when the grid exceeds the point limit."""
    from costgraph.cli.common import parse_assignments

    axes = cli_parse(parse_assignments, limits.items("vary", vary, assigned=True), "vary",
                     "vary=batch=1..256")
    if not axes:
        raise QueryError("vary", "give a quantity and its values, e.g. vary=batch=1..256")
    total = 1
    for name, spec in axes.items():
        total *= axis_points(model, name, spec)
        limits.points(total)
    return axes


def sweep(model, limits: Limits, vary, find, p, set_):
    s = scenario(limits, p, set_)
    axes = sweep_axes(model, limits, vary)
    return model.sweep(axes, names(limits, "find", find, "cost_per_mtok"), given=s.given,
                       presets=s.presets)


def levers(model, limits: Limits, target, range_, rank, p, set_):
    from costgraph.cli.common import parse_assignments, parse_range

    s = scenario(limits, p, set_)
    spans = cli_parse(parse_assignments, limits.items("range", range_, assigned=True), "range",
                      "range=batch=32..128")
    ranges = {n: cli_parse(parse_range, span, "range") for n, span in spans.items()}
    if rank not in ("elasticity", "swing"):
        raise QueryError("rank", f"{rank!r} is not a ranking; use elasticity or swing")
    return model.levers(_one(limits, "target", target, "cost_per_mtok"), presets=s.presets,
                        given=s.given, ranges=ranges, rank=rank)


def uncertainty(model, limits: Limits, target, samples, seed, p, set_):
    s = scenario(limits, p, set_)
    limits.samples(samples)
    return model.uncertainty(_one(limits, "target", target, "cost_per_mtok"),
                             samples=samples, seed=seed, presets=s.presets, given=s.given)


# comparisons --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One scenario of a comparison: presets applied after the shared ones, and values."""

    text: str
    presets: tuple[str, ...]
    given: dict


def columns(limits: Limits, col) -> list[Column]:
    """``col=b200,fp4;batch=128`` → presets (b200, fp4) and given {batch: 128.0}."""
    from costgraph.cli.common import parse_sets

    items = limits.items("col", col)
    if not items:
        raise QueryError("col", "give the scenarios to compare, e.g. col=h100-sxm&col=h200")
    if len(items) > limits.max_compare:
        raise QueryError("col", f"{len(items)} scenarios given; compare at most "
                                f"{limits.max_compare} at once")
    out = []
    for item in items:
        head, *sets = [part.strip() for part in item.split(";")]
        presets = tuple(n.strip() for n in head.split(",") if n.strip())
        out.append(Column(item, presets, cli_parse(parse_sets, [s for s in sets if s])))
    return out


def compare(model, limits: Limits, col, find, p, set_) -> list:
    """One Result per column: the shared presets, then the column's, then its values."""
    base = scenario(limits, p, set_)
    found = names(limits, "find", find, "cost_per_mtok")
    shared = base.presets if base.presets is not None else default_presets(model)
    results = []
    for column in columns(limits, col):
        presets = list(shared) + list(column.presets)
        given = {**base.given, **column.given}
        results.append(model.solve(given=given, find=found, presets=presets))
    return results
