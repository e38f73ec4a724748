"""What every command shares: its options, turning them into a query, output, and errors.

Options are declared once here as ``Annotated`` types; a command lists the ones it takes as
parameters. Values on the command line are read one way everywhere: ``--set NAME=VALUE``
where VALUE is a number with a unit as one argument (``--set context_len="32768 token"``,
``--set hbm_bandwidth=4.8TB/s``), or a bare number meaning the quantity's declared unit
(``--set batch=128``). Units are pint's, so ``ktok`` is 1,000 tokens: a "32K context" of
32,768 tokens is written in tokens.

A value that is not in its option's form (``--set batch``, ``--vary batch=1-512``) is a
usage error, status 2; the engine's verdict on a well-formed value (an unknown name, a
wrong unit) is a ``CostgraphError``, status 1. Both are one line that names the option and
shows the right form (see ``costgraph.cli.failures``).
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import sys
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
from costgraph.errors import (CostgraphError, ExpressionError, QueryError, UnknownPresetError,
                              UnknownQuantityError)
from costgraph.files import check_writable

from .failures import CommandError, OptionError, guarded

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
    "--explain", help="Also print the derivation: every step, its formula, numbers and source "
                      "(the --json output always holds it).")]
UnfoldOpt = Annotated[bool, typer.Option(
    "--unfold", help="Show every quantity: without it, the zero-valued terms of features the "
                     "scenario does not use (and what only they use) are folded into one line.")]
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
    """The model (bundled rules, or ``--rules DIR``), presets and ``--set`` values.

    Everything is checked before any work: the option syntax, the folder, the presets.
    """
    given = parse_sets(sets)
    model = load_model(rules)
    check_presets(model, presets)
    return Query(model, list(presets) if presets else None, given)


def load_model(rules: Path | None) -> cg.Model:
    """The bundled rules, or the folder ``--rules`` names once it is seen to be one."""
    if rules is not None:
        check_rules_folder(Path(rules))
    return cg.load(rules)


def check_rules_folder(folder: Path) -> None:
    """Refuse a ``--rules`` that is missing or a file, naming the option."""
    where = f"--rules {folder}"
    if not folder.exists():
        raise QueryError(where, "no such folder; give a folder of rule files (*.yaml), or "
                                "leave --rules out to use the bundled rules")
    if not folder.is_dir():
        raise QueryError(where, "this is a file, not a folder; give the folder that holds "
                                f"the rule files, e.g. --rules {folder.parent}")
    # a folder without rule files is the loader's to say, as for the Python API


def check_presets(model: cg.Model, presets: list[str] | None,
                  option: str = "-p/--preset") -> None:
    """Refuse an unknown preset, naming the option and the closest known names."""
    known = [p.name for p in model.presets()]
    for name in presets or []:
        if name not in known:
            raise OptionError(option, UnknownPresetError(name, known))


WHERE_EXAMPLE = '--where "step_time <= 50 ms"'


def check_where(model: cg.Model, texts: list[str] | None) -> list[str]:
    """The ``--where`` texts, each checked to be an inequality between known quantities."""
    for text in texts or []:
        if not text.strip():
            raise typer.BadParameter(f"an empty constraint; e.g. {WHERE_EXAMPLE}",
                                     param_hint="--where")
        if text in model.ruleset.constraints:
            continue  # a declared constraint's id: it applies anyway
        try:
            names = model.constraint(text).names
        except ExpressionError as exc:  # not in the form of an inequality: show the form
            raise OptionError("--where", exc, WHERE_EXAMPLE) from None
        except CostgraphError as exc:  # an inequality, but of unknown names or units
            raise OptionError("--where", exc) from None
        if not names:
            raise OptionError("--where", QueryError(
                f"`{text}`", "names no quantity, so it holds everywhere or nowhere"),
                WHERE_EXAMPLE)
    return list(texts or [])


def check_quantities(model: cg.Model, names: list[str], option: str) -> list[str]:
    """Refuse a name no rule file declares, saying which option gave it."""
    known = model.ruleset.quantities
    for name in names:
        if name not in known:
            raise UnknownQuantityError(name, list(known), option)
    return names


def check_names(names: list[str] | None, option: str, example: str) -> list[str]:
    """Refuse an empty NAME given to ``option`` (``--find ""``) with an example.

    A repeatable option also takes its names comma-separated (``--find a,b`` is ``--find a
    --find b``; no quantity name has a comma): the names are returned one by one.
    """
    out = []
    for name in names or []:
        parts = name.split(",")
        if any(not part.strip() for part in parts):
            raise typer.BadParameter(f"an empty name; e.g. {example}", param_hint=option)
        out += [part.strip() for part in parts]
    return out


def parse_sets(items: list[str] | None) -> dict[str, object]:
    """``["batch=128", "pue=1.2", "gpu_power=1kW"]`` → ``{"batch": 128.0, "pue": 1.2,
    "gpu_power": "1kW"}``.

    The engine reads the values (units, bounds, integrality), so its errors name the
    quantity and the unit it expects. A name set twice is refused: which one was meant?
    """
    example = '--set batch=128 or --set context_len="32768 token"'
    given: dict[str, object] = {}
    written: dict[str, str] = {}  # name -> the value as typed, to quote it back
    for item in items or []:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep:
            problem = f"{item!r} has no '='; write NAME=VALUE, e.g. {example}"
        elif not name:
            problem = f"{item!r} has no name before '='; e.g. {example}"
        elif not value:
            problem = f"{item!r} has no value after '='; e.g. {example}"
        elif name in given:
            problem = f"{name} is set twice ({written[name]}, then {value}); give it once"
        else:
            given[name], written[name] = number_or_text(value, "--set", item), value
            continue
        raise typer.BadParameter(problem, param_hint="--set")
    return given


def parse_range(text: str, option: str, name: str = "batch") -> tuple[object, object]:
    """``"1..512"`` or ``"1k..128k token"``-style bounds → (low, high) as numbers or text."""
    low, sep, high = (part.strip() for part in text.partition(".."))
    shown = f"{name}={text}"
    if not sep or not low or not high:
        raise typer.BadParameter(f"{shown!r} is not NAME=LO..HI; e.g. {option} {name}=1..512",
                                 param_hint=option)
    low, high = number_or_text(low, option, shown), number_or_text(high, option, shown)
    if isinstance(low, float) and isinstance(high, float) and low > high:
        raise typer.BadParameter(
            f"{shown!r} runs from {low:g} down to {high:g}; write the low end first: "
            f"{option} {name}={high:g}..{low:g}", param_hint=option)
    return low, high


def parse_assignments(items, option: str, example: str) -> dict[str, str]:
    """``["batch=1..256", "precision=fp16,fp8"]`` → ``{"batch": "1..256", ...}``.

    ``example`` is the right form, shown when an item is not NAME=VALUES or names a
    quantity twice.
    """
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, spec = (part.strip() for part in item.partition("="))
        if not sep or not name or not spec:
            raise typer.BadParameter(f"{item!r} is not NAME=VALUES; e.g. {example}",
                                     param_hint=option)
        if name in out:
            raise typer.BadParameter(f"{name} is given twice ({out[name]!r}, then {spec!r}); "
                                     "give it once", param_hint=option)
        out[name] = spec
    return out


def number_or_text(value: str, option: str = "", item: str = "") -> object:
    """A plain number as a float (``1_000`` too), anything else as text for the engine.

    ``nan``, ``inf`` and numbers too large for a float are refused: no quantity takes them.
    """
    if not value.isascii():  # Python's float() reads look-alike digits: the engine refuses them
        return value
    try:
        number = float(value.replace("_", ""))
    except ValueError:
        return value
    if not math.isfinite(number):
        raise typer.BadParameter(f"{item or value!r}: {value} is not a finite number",
                                 param_hint=option or None)
    return number


# --- output ------------------------------------------------------------------------------

UNLIMITED = 10_000  # columns: wide enough for any table cell, never a cut


def table_width() -> int:
    """The width tables are laid out to.

    ``COLUMNS`` when set; else the terminal's width at a terminal; else (piped to a file or
    another program) no limit, so that no cell is cut or wrapped.
    """
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        at_terminal = sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdout
        at_terminal = False
    return shutil.get_terminal_size((100, 24)).columns if at_terminal else UNLIMITED


def text_width() -> int:
    """The width paragraphs wrap to: the terminal's, ``COLUMNS``, or 100."""
    return shutil.get_terminal_size((100, 24)).columns


def echo(*parts) -> None:
    """Print strings as they are and rich tables laid out to ``table_width()``, on stdout.

    Strings (derivation trees, wrapped paragraphs) are never re-wrapped; tables lose the
    trailing spaces rich pads them with, so the output is the same on every terminal. A
    table's title is its own first line, never wrapped to the width of a narrow table.
    """
    width = table_width()
    lines: list[str] = []
    for part in parts:
        if isinstance(part, str):
            lines.extend(part.splitlines() or [""])
            continue
        if isinstance(part, Table) and part.title:
            lines.append(str(part.title))
            part.title = None
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
    """``label: text`` wrapped to ``text_width()``, continuation lines indented under it."""
    return textwrap.fill(one_line(text), text_width(), initial_indent=f"{indent}{label}",
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


def check_output(path: Path | None) -> Path | None:
    """Refuse, before any work, a path no file can be written to (``OutputError``)."""
    if path is not None:
        check_writable(path)
    return path


def check_diagram_path(path: Path | None) -> None:
    """Refuse an unknown diagram extension, an unwritable path or a missing Graphviz
    before any work is done."""
    if path is None:
        return
    from costgraph.render.image import format_for, require_layout

    if path.is_dir():
        check_output(path)  # "it is a folder" says more than "no extension"
    try:
        fmt = format_for(path)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--output") from None
    check_output(path)
    require_layout(fmt)


def save_diagram(diagram, path: Path) -> None:
    """Write a diagram and say where on stderr (stdout stays the result, e.g. JSON)."""
    check_diagram_path(path)
    diagram.save(path)
    typer.echo(f"wrote {path}", err=True)


# --- errors --------------------------------------------------------------------------------


def fail(message: str) -> NoReturn:
    """Stop with one line on stderr (``error: message``) and exit status 1.

    Under ``--json`` the message also goes to stdout as a JSON error object.
    """
    raise CommandError(message)


class CostgraphGroup(TyperGroup):
    """The command group: any failure of a command is one line on stderr, never a traceback
    (see ``costgraph.cli.failures`` for the statuses and the ``--json`` error object)."""

    def make_context(self, info_name, args, parent=None, **extra):
        """The root's own options (``costgraph --bogus``) fail the same way as a command's."""
        return guarded(lambda: super(CostgraphGroup, self).make_context(
            info_name, args, parent, **extra), list(args))

    def invoke(self, ctx: typer.Context):
        # the command and its arguments, not parsed yet (the attribute's name varies by click)
        protected = getattr(ctx, "_protected_args", None)
        args = [*(protected if protected is not None else ctx.protected_args), *ctx.args]
        command = f"costgraph {args[0]}" if args and args[0] in self.commands else "costgraph"
        return guarded(lambda: super(CostgraphGroup, self).invoke(ctx), args, command)

    def list_commands(self, ctx: typer.Context) -> list[str]:
        """Commands in the order they were registered (the order of ``COMMANDS``)."""
        return list(self.commands)
