"""``costgraph seek``: the best value of one quantity under constraints (``Model.seek``)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from costgraph.units import format_quantity

from .common import (ExplainOpt, JsonOpt, OutputOpt, PresetOpt, RulesOpt, SetOpt, WhereOpt,
                     check_diagram_path, check_names, check_where, echo, echo_json,
                     number_or_text, parse_range, query, save_diagram, table, warn)
from .show import constraint_table


def seek(maximize: Annotated[Optional[str], typer.Option(
             "--maximize", metavar="NAME", help="The quantity to make as large as possible.")
         ] = None,
         minimize: Annotated[Optional[str], typer.Option(
             "--minimize", metavar="NAME", help="The quantity to make as small as possible.")
         ] = None,
         where: WhereOpt = None,
         vary: Annotated[Optional[list[str]], typer.Option(
             "--vary", metavar="NAME[=LO..HI]",
             help="A quantity the search may change, within LO..HI (numbers in its declared "
                  "unit, or with units) or among A,B,C (e.g. n_gpus=1,2,4,8); repeatable.")
         ] = None,
         preset: PresetOpt = None, set_: SetOpt = None, explain: ExplainOpt = False,
         output: OutputOpt = None, json: JsonOpt = False, rules: RulesOpt = None):
    """Find the largest or smallest value of a quantity under constraints.

    The search varies the --vary quantities (whole numbers stay whole) and keeps every
    --where inequality and every constraint the rules declare (weights and KV fit in HBM).
    It reports the optimum, the point that reaches it, and the constraints that bind; when
    nothing is feasible it says which constraint fails by how much at the least-bad point.

    Example:

    \b
        costgraph seek --maximize context_len --where "cost_per_mtok <= 2 USD/Mtok" \\
            --vary batch=1..512 --explain -o context.svg
    """
    if (maximize is None) == (minimize is None):
        raise typer.BadParameter("give exactly one of --maximize NAME or --minimize NAME, "
                                 "e.g. --maximize context_len",
                                 param_hint="--maximize/--minimize")
    check_names([maximize] if maximize is not None else [], "--maximize",
                "--maximize context_len")
    check_names([minimize] if minimize is not None else [], "--minimize",
                "--minimize cost_per_mtok")
    decisions = parse_vary(vary)
    check_diagram_path(output)
    q = query(rules, preset, set_)
    found = q.model.seek(**({"maximize": maximize} if maximize else {"minimize": minimize}),
                         where=check_where(q.model, where), vary=decisions,
                         given=q.given, presets=q.presets)
    warn(found.result.warnings)
    if json:
        echo_json(found.to_dict())
    else:
        echo(*seek_report(found, q.model, list(where or []), explain))
    if output is not None:
        save_diagram(seek_diagram(found), output)


def parse_vary(items: list[str] | None) -> dict[str, object]:
    """``["batch=1..512", "n_gpus=1,2,4,8", "pue"]`` → ``{"batch": (1.0, 512.0), "n_gpus":
    {1.0, 2.0, 4.0, 8.0}, "pue": None}``.

    ``LO..HI`` is a range, ``A,B,C`` the values to choose among, a name alone the quantity's
    declared bounds (or its declared values).
    """
    vary: dict[str, object] = {}
    for item in items or []:
        name, sep, span = (part.strip() for part in item.partition("="))
        if not name:
            raise typer.BadParameter(f"{item!r} has no name; e.g. --vary batch=1..512 or "
                                     "--vary batch (its declared bounds)", param_hint="--vary")
        if name in vary:
            raise typer.BadParameter(f"{name} is varied twice; give it once",
                                     param_hint="--vary")
        if sep and "," in span and ".." not in span:
            vary[name] = {number_or_text(v.strip(), "--vary", item)
                          for v in span.split(",") if v.strip()}
        else:
            vary[name] = parse_range(span, "--vary", name) if sep else None
    return vary


def seek_report(found, model, where: list[str], explain: bool) -> list:
    """The optimum, the point reaching it, every constraint there (binding ones marked),
    and with ``explain`` how it was found and the derivations of what was constrained."""
    word = "maximum" if found.sense == "maximize" else "minimum"
    point = table("quantity", "value")
    for name, value in found.point.items():
        point.add_row(name, format_quantity(value))
    binding = [c.id for c in found.binding]
    parts = [f"{word} {found.objective} = {format_quantity(found.value)}", "", point,
             "", constraint_table(found.constraints, binding)]
    parts += [f"note: {note}" for note in found.result.notes]
    if explain:
        parts += ["", found.explain()]
        for name in _explained(found, model, where):
            parts += ["", found.result.explain(name)]
    return parts


def _explained(found, model, where: list[str]) -> list[str]:
    """The objective and the quantities the --where constraints name, where rules derive them."""
    names = [found.objective]
    for text in where:
        names += sorted(model.constraint(text).names)
    steps = found.result.steps
    shown = dict.fromkeys(n for n in names if n in steps and steps[n].kind in ("derived", "solved"))
    return list(shown)


def seek_diagram(found):
    """The derivation at the optimum: from the chosen values to every constrained quantity."""
    return found.result.graph(found.objective, include=found.result.targets,
                              binding=[c.id for c in found.binding], chosen=list(found.point))


def register(app: typer.Typer) -> None:
    app.command("seek")(seek)
