"""``costgraph graph``: the derivation of one value as a diagram (DOT, Mermaid, SVG, PNG)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from .common import (JsonOpt, OutputOpt, PresetOpt, RulesOpt, SetOpt, UnfoldOpt,
                     check_diagram_path, check_names, echo_json, query, save_diagram)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The quantity to draw.")]


class TextFormat(str, Enum):
    dot = "dot"
    mermaid = "mermaid"


class Direction(str, Enum):
    LR = "LR"
    TB = "TB"


def graph(name: NameArg, output: OutputOpt = None, preset: PresetOpt = None,
          set_: SetOpt = None,
          depth: Annotated[Optional[int], typer.Option(
              "--depth", min=0, help="Draw at most this many quantities back from NAME.")] = None,
          constraints: Annotated[bool, typer.Option(
              "--constraints/--no-constraints",
              help="Draw the constraints on the quantities shown.")] = True,
          direction: Annotated[Direction, typer.Option(
              "--direction", help="Lay out left to right (LR) or top to bottom (TB).")
          ] = Direction.LR,
          format: Annotated[Optional[TextFormat], typer.Option(
              "--format", help="Text printed when there is no --output: dot (the default) "
                               "or mermaid. With --output, FILE's extension picks.")] = None,
          unfold: UnfoldOpt = False, json: JsonOpt = False, rules: RulesOpt = None):
    """Draw how a value is derived: quantities, the rules between them, and constraints.

    Nodes are styled by role (given, preset, derived, solved for, asked for, binding or
    violated constraint) and the diagram carries a legend. Terms that are zero in the
    scenario (features it does not use) are drawn as one folded node; --unfold draws them.
    Without --output the diagram is
    printed as DOT (or Mermaid with --format mermaid); --json prints its nodes and edges.

    Example:

    \b
        costgraph graph cost_per_mtok -o cost.svg
        costgraph graph memory_time --depth 2 --format mermaid
        costgraph graph n_params --unfold -o params.png
    """
    check_names([name], "NAME", "costgraph graph cost_per_mtok")
    if format is not None and json:
        raise typer.BadParameter(f"{format.value!r} is for the text printed without --json; "
                                 "--json prints the nodes and edges", param_hint="--format")
    if format is not None and output is not None:
        raise typer.BadParameter(f"{format.value!r} is for the text printed without --output; "
                                 f"with --output {output} its extension picks the format "
                                 "(.dot, .mmd for Mermaid, .svg...)", param_hint="--format")
    check_diagram_path(output)
    q = query(rules, preset, set_)
    result = q.model.solve(given=q.given, find=[name], presets=q.presets)
    diagram = result.graph(name, depth=depth, constraints=constraints,
                           rankdir=direction.value, unfold=unfold)
    if output is not None:
        save_diagram(diagram, output)
    if json:
        echo_json(diagram.to_dict())
    elif output is None:
        typer.echo(diagram.mermaid if format is TextFormat.mermaid else diagram.source, nl=False)


def register(app: typer.Typer) -> None:
    app.command("graph")(graph)
