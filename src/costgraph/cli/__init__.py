"""The ``costgraph`` command line: a thin layer over the Python API.

Each command group lives in its own module under ``costgraph.cli`` and exposes
``register(app)``, which adds its commands to the app with ``@app.command(...)``. To add a
command group:

1. write ``costgraph/cli/<group>.py`` with a ``register(app: typer.Typer)`` function, taking
   the shared options (``PresetOpt``, ``SetOpt``, ``RulesOpt``, ``JsonOpt``...) from
   ``costgraph.cli.common`` and putting an ``Example:`` in every command's help;
2. add the module's name to ``COMMANDS`` below (one line).

A command needs no error handling of its own: whatever it raises, the group prints as one
line on stderr with an exit status (1 for a ``CostgraphError``, 2 for a command line that
cannot be read, 70 for a bug; an answer that breaks a declared constraint exits with 3), and as a JSON error object on stdout under ``--json`` (see
``costgraph.cli.failures``). Check what can be checked (option values with
``common.parse_*``/``check_*``, output paths with ``check_output``) before the work.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Optional

import typer

from .common import CostgraphGroup

# command modules, in the order `costgraph --help` lists them
COMMANDS = ["solve", "seek", "explain", "graph", "listing", "sources", "sweep", "plot", "audit",
            "serve", "validate"]

_SETTINGS = dict(
    name="costgraph",
    cls=CostgraphGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: stable text, paragraphs and examples kept as written
    help="What does an LLM output token cost, and why? Solve, seek and explain costs "
         "derived from first principles by a graph of rules with units.\n\n"
         "Example:\n\n    costgraph solve --find cost_per_mtok --explain\n\n"
         "Exit status: 0 done, 1 an error (one line on stderr; under --json also a JSON "
         "error object on stdout), 2 a command line that cannot be read, 3 an answer "
         "that breaks a constraint (printed, flagged INFEASIBLE), 70 a bug in costgraph: "
         "set COSTGRAPH_DEBUG=1 to see its traceback.",
)
app = typer.Typer(**_SETTINGS)


def _version(value: bool):
    if value:
        from costgraph import __version__

        typer.echo(f"costgraph {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None):
    """What does an LLM output token cost, and why?"""


for _name in COMMANDS:
    importlib.import_module(f"{__name__}.{_name}").register(app)


def main() -> None:
    """The console script ``costgraph`` and ``python -m costgraph``."""
    _app_for(sys.argv[1:])(prog_name="costgraph")


def _app_for(args: list[str]) -> typer.Typer:
    """The app to run ``args`` with: for ``costgraph COMMAND ...``, one holding only that
    command, so that the start builds one command's options instead of every command's;
    the whole app for anything else (``--help``, ``--version``, an unknown command)."""
    name = args[0] if args else None
    commands = [c for c in app.registered_commands if c.name == name]
    if not commands:
        return app
    only = typer.Typer(**_SETTINGS)
    only.registered_callback = app.registered_callback
    only.registered_commands = commands
    return only
