"""What every command shares: its options, turning them into a query, output, and errors.

Options are declared once here as ``Annotated`` types; a command lists the ones it takes as
parameters. Values on the command line are read one way everywhere: ``--set NAME=VALUE``
where VALUE is a number with a unit as one argument (``--set context_len="32768 token"``,
``--set hbm_bandwidth=4.8TB/s``), or a bare number meaning the quantity's declared unit
(``--set batch=128``). Units are pint's, so ``ktok`` is 1,000 tokens: a "32K context" of
32,768 tokens is written in tokens.
"""

from __future__ import annotations

import io
import json
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

import costgraph as cg
from costgraph.errors import CostgraphError

PresetOpt = Annotated[Optional[list[str]], typer.Option(
    "--preset", "-p", metavar="PRESET",
    help="A preset or scenario to apply; repeat to compose (later ones win). "
         "Without one, the `default` scenario applies.")]
SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", metavar="NAME=VALUE",
    help='Fix a quantity, winning over presets: a number with a unit as one argument '
         '(--set context_len="32768 token", --set hbm_bandwidth=4.8TB/s) or a bare number '
         'in the quantity\'s declared unit (--set batch=128). Repeatable.')]
WhereOpt = Annotated[Optional[list[str]], typer.Option(
    "--where", metavar="CONSTRAINT",
    help='An inequality that must hold, e.g. "step_time <= 50 ms"; repeatable. The '
         "rules' declared constraints always apply.")]
RulesOpt = Annotated[Optional[Path], typer.Option(
    "--rules", metavar="DIR", help="Load the rules in DIR instead of the bundled ones.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
ExplainOpt = Annotated[bool, typer.Option(
    "--explain", help="Also print the derivation: every step, its formula, numbers and source.")]
OutputOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", metavar="FILE",
    help="Write the derivation diagram; the extension picks the format: "
         ".dot .gv .mmd (Mermaid) .svg .png .pdf.")]


INFEASIBLE_EXIT = 3  # an answer that breaks a declared constraint; errors exit with 1


@dataclass(frozen=True)
class Query:
    """A loaded model with the presets and given values the options asked for."""

    model: cg.Model
    presets: list[str] | None  # None: the rules' `default` scenario
    given: dict[str, object]


def query(rules: Path | None, presets: list[str] | None, sets: list[str] | None) -> Query:
    """The model (bundled rules, or ``--rules DIR``), presets and ``--set`` values."""
    model = cg.load(rules)
    return Query(model, list(presets) if presets else None, parse_sets(sets))


def parse_sets(items: list[str] | None) -> dict[str, object]:
    """``["batch=128", "pue=1.2", "gpu_power=1kW"]`` → ``{"batch": 128.0, "pue": 1.2,
    "gpu_power": "1kW"}``.

    The engine reads the values (units, bounds, integrality), so its errors name the
    quantity and the unit it expects.
    """
    given: dict[str, object] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise typer.BadParameter(
                f'expected NAME=VALUE, e.g. batch=128 or context_len="32768 token"; got {item!r}',
                param_hint="--set")
        given[name] = number_or_text(value)
    return given


def parse_range(text: str, option: str) -> tuple[object, object]:
    """``"1..512"`` or ``"1k..128k token"``-style bounds → (low, high) as numbers or text."""
    low, sep, high = text.partition("..")
    if not sep or not low.strip() or not high.strip():
        raise typer.BadParameter(f"expected LO..HI, e.g. 1..512; got {text!r}",
                                 param_hint=option)
    return number_or_text(low.strip()), number_or_text(high.strip())


def number_or_text(value: str) -> object:
    try:
        return float(value.replace("_", ""))
    except ValueError:
        return value


# --- output ------------------------------------------------------------------------------


def echo(*parts) -> None:
    """Print strings as they are and rich tables laid out to the terminal, on stdout.

    Strings (derivation trees, wrapped paragraphs) are never re-wrapped; tables lose the
    trailing spaces rich pads them with, so the output is the same on every terminal.
    """
    width = shutil.get_terminal_size((100, 24)).columns
    lines: list[str] = []
    for part in parts:
        if isinstance(part, str):
            lines.extend(part.splitlines() or [""])
            continue
        buffer = io.StringIO()
        out = Console(file=buffer, width=width, highlight=False, soft_wrap=False,
                      color_system=None, markup=False, emoji=False)  # names hold [ ] and :x:
        out.print(part)
        lines.extend(line.rstrip() for line in buffer.getvalue().splitlines())
    typer.echo("\n".join(lines))


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {nouns or noun + 's'}"


def one_line(text: str | None) -> str:
    """Text from a YAML file (folded, with trailing newlines) as one line for a table cell."""
    return " ".join((text or "").split())


def wrapped(label: str, text: str, indent: str = "  ") -> str:
    """``label: text`` wrapped to the terminal, continuation lines indented under it."""
    width = shutil.get_terminal_size((100, 24)).columns
    return textwrap.fill(one_line(text), width, initial_indent=f"{indent}{label}",
                         subsequent_indent=indent + "    ", break_on_hyphens=False,
                         break_long_words=False)


def table(*columns: str, title: str | None = None) -> Table:
    """A plain table: one look for every listing."""
    t = Table(*columns, title=title, box=box.SIMPLE_HEAD, title_justify="left",
              header_style="bold", show_edge=False, pad_edge=False)
    return t


def warn(messages) -> None:
    """Each warning on its own line on stderr (stdout stays the result, e.g. JSON)."""
    for message in messages:
        typer.echo(f"warning: {message}", err=True)


def echo_json(data) -> None:
    """JSON on stdout, stable key order, readable indent."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def check_diagram_path(path: Path | None) -> None:
    """Refuse an unknown diagram extension before any work is done."""
    if path is None:
        return
    from costgraph.render_image import format_for

    try:
        format_for(path)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--output") from None


def save_diagram(diagram, path: Path) -> None:
    """Write a diagram and say where on stderr (stdout stays the result, e.g. JSON)."""
    check_diagram_path(path)
    diagram.save(path)
    typer.echo(f"wrote {path}", err=True)


# --- errors --------------------------------------------------------------------------------


def fail(message: str) -> NoReturn:
    """Stop with one line on stderr and exit status 1, as for any costgraph error."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


class CostgraphGroup(TyperGroup):
    """The command group: a user's mistake becomes one line on stderr and exit status 1."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except CostgraphError as exc:
            fail(str(exc))

    def list_commands(self, ctx: typer.Context) -> list[str]:
        """Commands in the order they were registered (the order of ``COMMANDS``)."""
        return list(self.commands)
