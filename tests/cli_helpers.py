"""Running the CLI in tests: a fixed terminal width, the exit status checked."""

import textwrap
from pathlib import Path

from typer.testing import CliRunner

from costgraph.cli import app

TRIP = str(Path(__file__).resolve().parent / "fixtures" / "trip")
runner = CliRunner()


def run(*args: str, code: int = 0):
    """Invoke the CLI at a fixed width; check the exit status; return the result."""
    result = runner.invoke(app, list(args), env={"COLUMNS": "100"})
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


def expect(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")
