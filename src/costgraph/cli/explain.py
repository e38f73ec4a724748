"""``costgraph explain``: the derivation of one value, step by step, as text."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import (JsonOpt, PresetOpt, RulesOpt, SetOpt, UnfoldOpt, check_names, echo,
                     echo_json, query)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The quantity to explain.")]


def explain(name: NameArg, preset: PresetOpt = None, set_: SetOpt = None,
            unfold: UnfoldOpt = False, json: JsonOpt = False, rules: RulesOpt = None):
    """Explain how a value is derived: each step's formula, its numbers and its source.

    The derivation is a tree from NAME down to the presets and given values it rests on;
    a value used twice is shown once and marked "derived above". Terms that are zero in
    the scenario (features it does not use) are folded into one "zero here" line; --unfold
    shows them.

    Example:

    \b
        costgraph explain cost_per_mtok --set context_len="32768 token"
        costgraph explain n_params --unfold
    """
    check_names([name], "NAME", "costgraph explain cost_per_mtok")
    q = query(rules, preset, set_)
    result = q.model.solve(given=q.given, find=[name], presets=q.presets)
    if json:
        echo_json(result.to_dict())
    else:
        echo(result.explain(name, unfold=unfold))


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
