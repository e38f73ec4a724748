"""``costgraph solve``: values from presets and given values, in any direction."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import (INFEASIBLE_EXIT, ExplainOpt, JsonOpt, OutputOpt, PresetOpt, RulesOpt,
                     SetOpt, check_diagram_path, check_names, echo_json, query, save_diagram,
                     warn)
from .show import print_result

FindOpt = Annotated[list[str], typer.Option(
    "--find", "-f", metavar="NAME[,NAME...]",
    help="A quantity to solve for; repeatable, or comma-separated.")]


def solve(find: FindOpt, preset: PresetOpt = None, set_: SetOpt = None,
          explain: ExplainOpt = False, output: OutputOpt = None, json: JsonOpt = False,
          rules: RulesOpt = None):
    """Solve for quantities from presets and --set values.

    Any quantity may be given, derived ones too: give a price and find the context that
    meets it, and the rules are inverted to answer. An answer that breaks a constraint the
    rules declare (the batch does not fit in HBM) is printed with INFEASIBLE and the command
    exits with status 3 (errors exit with 1).

    Example:

        costgraph solve --find cost_per_mtok -p default --set batch=128 --explain

        costgraph solve --find context_len --set cost_per_mtok="2 USD/Mtok"
    """
    find = check_names(find, "--find", "--find cost_per_mtok")
    check_diagram_path(output)
    q = query(rules, preset, set_)
    result = q.model.solve(given=q.given, find=find, presets=q.presets)
    warn(result.warnings)
    if json:
        echo_json(result.to_dict())
    else:
        print_result(result, explain)
    if output is not None:
        save_diagram(result.graph(find[0], include=find[1:]), output)
    if not result.feasible:
        raise typer.Exit(INFEASIBLE_EXIT)


def register(app: typer.Typer) -> None:
    app.command("solve")(solve)
