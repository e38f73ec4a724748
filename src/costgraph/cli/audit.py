"""``costgraph audit``: check a published derivation claim by claim against the rules."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from costgraph.files import writing

from .common import (JsonOpt, RulesOpt, check_output, check_presets, echo, echo_json,
                     load_model, table, wrapped)

FileArg = Annotated[Path, typer.Argument(
    metavar="FILE", help="A claims file (YAML): see docs/audit.md for the format.")]
AuditPresetOpt = Annotated[Optional[list[str]], typer.Option(
    "--preset", "-p", metavar="PRESET",
    help="Check the claims under these presets instead of the file's defaults (repeat to "
         "compose); a claim's own list gets them in place of the defaults it names.")]
MarkdownOpt = Annotated[Optional[Path], typer.Option(
    "--markdown", metavar="OUT.md",
    help="Also write a Markdown report: the table, then each claim not reproduced with its "
         "reasons and derivation.")]
StrictOpt = Annotated[bool, typer.Option(
    "--strict", help="Exit with status 1 when any claim is not REPRODUCED (for CI).")]


def audit(file: FileArg, preset: AuditPresetOpt = None, json: JsonOpt = False,
          markdown: MarkdownOpt = None, strict: StrictOpt = False, rules: RulesOpt = None):
    """Check every claim of a claims file against what the rules derive.

    Each claim gets a verdict: REPRODUCED, CONTRADICTED (with the ratio and likely causes),
    INFEASIBLE (the configuration breaks a declared constraint), UNIT MISMATCH or NOT
    MODELLED.

    Example:

    \b
        costgraph audit examples/essay-claims.yaml
        costgraph audit examples/essay-claims.yaml -p default --markdown audit.md
    """
    check_output(markdown)
    model = load_model(rules)
    check_presets(model, preset)
    report = model.audit(file, presets=preset or None)
    if markdown is not None:
        with writing(markdown):
            markdown.write_text(report.to_markdown(), encoding="utf-8")
        typer.echo(f"wrote {markdown}", err=True)
    if json:
        echo_json(report.to_dict())
    else:
        _print(report)
    if strict and not report.passed:
        raise typer.Exit(1)


def _print(report) -> None:
    from costgraph.audit.report import table_rows

    t = table("id", "where", "quantity", "claimed", "derived", "ratio", "verdict")
    for row in table_rows(report):
        t.add_row(*row)
    # one line per claim, however wide: an id or a name cut short could not be looked up,
    # and `| grep CONTRADICTED` should give whole rows
    buffer = io.StringIO()
    Console(file=buffer, width=10_000, highlight=False, color_system=None).print(t)
    typer.echo("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()))
    why = [wrapped(f"{v.id}: ", "; ".join(v.reasons())) for v in report if v.reasons()]
    echo(*(["", "why:", *why] if why else []), "", report.summary())


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
