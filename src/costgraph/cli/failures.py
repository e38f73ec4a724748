"""How a command's failure reaches the user: one line on stderr, JSON on stdout, a status.

Every exception a command raises ends here (``guarded``), never as a traceback:

==========================================  =======  =======================================
what failed                                 status   the line on stderr
==========================================  =======  =======================================
the command line cannot be read             2        ``error: invalid value for --set: ...``
(an unknown option, a malformed value)
a ``CostgraphError`` (unknown name, unit,   1        ``error: <the error's text>``
bounds, infeasible, an unwritable output,
a missing optional package)
memory runs out, or the system refuses a    1        ``error: out of memory: ...``
file (``MemoryError``, ``OSError``)
anything else: a bug in costgraph           70       ``error: internal error: <type>: <msg>``
==========================================  =======  =======================================

An answer that comes out but breaks a constraint the rules declare is not a failure: it is
printed, flagged INFEASIBLE, and the command exits with status 3 (``INFEASIBLE_EXIT`` in
``costgraph.cli.common``). 70 is the conventional status of an internal software error.

With ``--json`` among the arguments, stdout carries one JSON document whatever happens: the
result, or ``{"error": {"type": ..., "message": ..., <the error's fields>}}``. What the
command printed before failing is discarded then, so a script never reads half a result.

Setting the environment variable ``COSTGRAPH_DEBUG=1`` prints the traceback above the
error line (the status stays the same).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import typer

from costgraph.errors import CostgraphError, Problem

try:  # newer typer carries its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - typer on the click package
    from click import exceptions as click_errors

UsageError = click_errors.UsageError
# help asked for by giving no arguments, shown as help, not as an error (newer click only)
NoArgsIsHelp = getattr(click_errors, "NoArgsIsHelpError", ())

DEBUG_VARIABLE = "COSTGRAPH_DEBUG"
USAGE, ERROR, INTERNAL = 2, 1, 70  # exit statuses; 0 is success, 3 an infeasible answer


class CommandError(Exception):
    """A refusal a command words itself, when no CostgraphError says it: status 1."""


class OptionError(Exception):
    """A costgraph error raised while reading one option's value.

    The line names the option first and ends with an example of the right form; the JSON
    keeps the original error's type and fields, plus ``option`` and ``example``.

    Examples
    --------
    >>> from costgraph.errors import QueryError
    >>> str(OptionError("--where", QueryError("`1 <= 2`", "it names no quantity"),
    ...                 '--where "step_time <= 50 ms"'))
    '--where: `1 <= 2`: it names no quantity; e.g. --where "step_time <= 50 ms"'
    """

    def __init__(self, option: str, error: CostgraphError, example: str = ""):
        super().__init__(option, error, example)
        self.option, self.error, self.example = option, error, example

    def __str__(self) -> str:
        example = f"; e.g. {self.example}" if self.example else ""
        return f"{self.option}: {self.error}{example}"


@dataclass(frozen=True)
class Failure:
    """What the user is told: the exit status, the line, the JSON error object."""

    status: int
    line: str
    error: dict

    @classmethod
    def of(cls, exc: BaseException, command: str = "costgraph") -> "Failure":
        """The failure ``exc`` stands for, raised by ``command`` (``costgraph solve``)."""
        if isinstance(exc, OptionError):
            fields = {**_fields(exc.error), "option": exc.option, "example": exc.example}
            return cls(ERROR, str(exc), _error(exc.error, str(exc), fields))
        if isinstance(exc, CostgraphError):
            return cls(ERROR, str(exc), _error(exc, str(exc), _fields(exc)))
        if isinstance(exc, CommandError):
            return cls(ERROR, str(exc), _error(exc, str(exc), {}))
        if isinstance(exc, UsageError):
            return cls._usage(exc, command)
        if isinstance(exc, MemoryError):
            line = (f"out of memory: {exc or 'an allocation failed'}; ask for less at once "
                    "(fewer sweep points, fewer samples)")
            return cls(ERROR, line, _error(exc, line, {}))
        if isinstance(exc, OSError):
            path = exc.filename if exc.filename is not None else ""
            line = f"{path}: {exc.strerror or exc}" if path else f"{exc.strerror or exc}"
            return cls(ERROR, line, _error(exc, line, {"path": str(path), "errno": exc.errno}))
        hint = "" if debugging() else f" (rerun with {DEBUG_VARIABLE}=1 to see the traceback)"
        line = f"internal error: {type(exc).__name__}: {_one_line(str(exc))}{hint}"
        return cls(INTERNAL, line, _error(exc, line, {"internal": True}))

    @classmethod
    def _usage(cls, exc, command: str) -> "Failure":
        text = _one_line(exc.format_message()).rstrip(".")
        text = text[:1].lower() + text[1:] if text[1:2].islower() else text
        line = f"{text} (see `{command} --help`)"
        option = getattr(exc, "param_hint", None)
        param = getattr(exc, "param", None)
        if option is None and param is not None:
            option = list(getattr(param, "opts", None) or [param.name])
        if option is not None and not isinstance(option, str):
            option = " / ".join(option)
        fields = {} if option is None else {"option": option}
        return cls(USAGE, line, {"type": "UsageError", "message": line, **fields})


def debugging() -> bool:
    """Whether ``COSTGRAPH_DEBUG`` asks for tracebacks (set, and not empty or 0)."""
    return os.environ.get(DEBUG_VARIABLE, "").strip() not in ("", "0")


def wants_json(args: list[str]) -> bool:
    """Whether ``--json`` is among a command's arguments (before a ``--`` that ends options).

    Read from the raw arguments, so that a command line too broken to parse still gets
    its error as JSON.
    """
    for arg in args:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def guarded(run: Callable, args: list[str], command: str = "costgraph"):
    """Call ``run()``; turn any exception into the failure it stands for and exit with it.

    ``args`` are the command's raw arguments (for ``--json``). Exits, help, aborts and
    interrupts pass through; a closed pipe (``| head``) is left to the caller's handling.
    """
    as_json = wants_json(args)
    buffer = io.StringIO() if as_json else None
    try:
        with contextlib.redirect_stdout(buffer) if as_json else contextlib.nullcontext():
            result = run()
    except (typer.Exit, typer.Abort, NoArgsIsHelp, BrokenPipeError):
        if buffer is not None:
            sys.stdout.write(buffer.getvalue())
        raise
    except Exception as exc:  # every failure becomes one line: that is this function's job
        failure = _failure(exc, command)
        if debugging():
            traceback.print_exception(exc, file=sys.stderr)
        if as_json:
            typer.echo(json.dumps({"error": failure.error}, indent=2, ensure_ascii=False))
        typer.echo(f"error: {failure.line}", err=True)
        raise typer.Exit(failure.status) from None
    if buffer is not None:
        sys.stdout.write(buffer.getvalue())
    return result


def _failure(exc: Exception, command: str) -> Failure:
    """``Failure.of(exc)``; should describing it fail too, the plainest line instead."""
    try:
        return Failure.of(exc, command)
    except Exception:  # a bug in the description must not bring the traceback back
        line = f"internal error: {type(exc).__name__}: {_one_line(repr(exc))}"
        return Failure(INTERNAL, line, {"type": type(exc).__name__, "message": line,
                                        "internal": True})


# --- the JSON error object -------------------------------------------------------------------


def _error(exc: BaseException, message: str, fields: dict) -> dict:
    reserved = {"type", "message"}
    extra = {k: v for k, v in fields.items() if k not in reserved}
    return {"type": type(exc).__name__, "message": message, **extra}


def _fields(exc: CostgraphError) -> dict:
    """An error's structured fields, as JSON-ready data."""
    return {name: plain(value) for name, value in vars(exc).items()
            if not name.startswith("_")}


def plain(value):
    """``value`` as JSON-ready data: quantities as value and unit, objects by their to_dict."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Problem):
        return {"file": value.file, "item": value.item, "text": value.text}
    if hasattr(value, "magnitude") and hasattr(value, "units"):
        from costgraph.units import format_unit

        return {"value": plain(float(value.magnitude)), "unit": format_unit(value.units)}
    if hasattr(value, "to_dict"):
        return plain(value.to_dict())
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _one_line(text: str) -> str:
    return " ".join(text.split())
