"""Every error costgraph raises, under one base class.

Each error also subclasses the builtin a caller would naturally catch (``ValueError``,
``KeyError``), keeps structured fields, builds its text in ``__str__`` and pickles
(``__reduce__`` replays the keyword arguments), so it survives multiprocessing.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Sequence


class CostgraphError(Exception):
    """Base class of every costgraph error."""

    def __init__(self, **fields):
        for key, value in fields.items():
            setattr(self, key, value)
        super().__init__(*fields.values())

    def __reduce__(self):
        return (_rebuild, (type(self), self.args, self.__dict__))

    def __str__(self) -> str:  # pragma: no cover - every subclass overrides
        return self.message()

    def message(self) -> str:
        raise NotImplementedError


def _rebuild(cls, args, state):
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The declared names that look most like ``name`` (for "did you mean")."""
    if not isinstance(name, str):  # a caller passed a number or None as a name
        return []
    return difflib.get_close_matches(name, sorted(candidates), n=n, cutoff=0.6)


def did_you_mean(name: str, candidates: Iterable[str], otherwise: str = "") -> str:
    """``"; did you mean a, b?"`` naming the candidates closest to ``name``, else ``otherwise``.

    >>> did_you_mean("batchh", ["batch", "context_len"])
    '; did you mean batch?'
    """
    return _did_you_mean(closest(name, candidates)) or otherwise


def _did_you_mean(suggestions: Sequence[str]) -> str:
    if not suggestions:
        return ""
    return "; did you mean " + ", ".join(suggestions) + "?"


def ascii_hint(name) -> str:
    """Why a name with a look-alike character (fullwidth ``ｂ``, Cyrillic ``а``) is not the
    ASCII name it resembles; empty for an ASCII name."""
    bad = next((i for i, c in enumerate(str(name)) if ord(c) > 127), None)
    if bad is None:
        return ""
    char = str(name)[bad]
    return (f" ('{char}' at column {bad + 1} is U+{ord(char):04X} "
            f"{unicodedata.name(char, '')}, not ASCII: names are plain ASCII, so retype it)")


# --- loading ---------------------------------------------------------------------------


class Problem:
    """One problem found while loading: where it is and what is wrong.

    ``line`` and ``column`` (1-based) say where in the file, when the YAML gives it.
    """

    __slots__ = ("file", "item", "text", "line", "column")

    def __init__(self, file: str, item: str, text: str, line: int | None = None,
                 column: int | None = None):
        self.file, self.item, self.text = file, item, text
        self.line, self.column = line, column

    def sort_key(self):
        return (self.file, self.line or 0, self.item, self.text)

    def location(self) -> str:
        """``line 8`` or ``line 3, column 12``; empty when the line is not known."""
        if self.line is None:
            return ""
        return f"line {self.line}" + (f", column {self.column}" if self.column else "")

    def qualified(self) -> str:
        """The problem with its file first, compiler style: ``rules/x.yaml:8: rule a: ...``."""
        where = self.file + "".join(f":{n}" for n in (self.line, self.column) if n)
        return ": ".join(part for part in (where, self.item, self.text) if part)

    def __str__(self) -> str:
        return ": ".join(part for part in (self.location(), self.item, self.text) if part)

    def __repr__(self) -> str:
        return (f"Problem({self.file!r}, {self.item!r}, {self.text!r}, {self.line!r}, "
                f"{self.column!r})")

    def __eq__(self, other):
        return isinstance(other, Problem) and self.sort_key() == other.sort_key()

    def __hash__(self):
        return hash(self.sort_key())

    def __reduce__(self):
        return (Problem, (self.file, self.item, self.text, self.line, self.column))


class RuleSetError(CostgraphError, ValueError):
    """Loading found problems; all of them are listed, sorted by file and item."""

    def __init__(self, problems: Sequence[Problem]):
        super().__init__(problems=sorted(set(problems), key=Problem.sort_key))

    def message(self) -> str:
        files = sorted({p.file for p in self.problems})
        n = len(self.problems)
        noun = "error" if n == 1 else "errors"
        if len(files) == 1:
            head = f"{n} {noun} in {files[0]}:"
            lines = [f"  - {p}" for p in self.problems]
        else:
            head = f"{n} {noun} loading rules:"
            lines = [f"  - {p.qualified()}" for p in self.problems]
        return "\n".join([head, *lines])


class ClaimsFileError(CostgraphError, ValueError):
    """A claims file for the audit has problems; all of them are listed, sorted."""

    def __init__(self, file: str, problems: Sequence[str]):
        super().__init__(file=file, problems=sorted(set(problems)))

    def message(self) -> str:
        n = len(self.problems)
        noun = "error" if n == 1 else "errors"
        return "\n".join([f"{n} {noun} in claims file {self.file}:",
                          *(f"  - {p}" for p in self.problems)])


class MeasurementsFileError(CostgraphError, ValueError):
    """A measurements file for validate or calibrate has problems; all of them, sorted."""

    def __init__(self, file: str, problems: Sequence[str]):
        super().__init__(file=file, problems=sorted(set(problems)))

    def message(self) -> str:
        n = len(self.problems)
        noun = "error" if n == 1 else "errors"
        return "\n".join([f"{n} {noun} in measurements file {self.file}:",
                          *(f"  - {p}" for p in self.problems)])


class ExpressionError(CostgraphError, ValueError):
    """An expression is not in the grammar, or is unsafe; nothing was evaluated."""

    def __init__(self, expr: str, reason: str, column: int | None = None):
        super().__init__(expr=expr, reason=reason, column=column)

    def message(self) -> str:
        where = f" at column {self.column}" if self.column is not None else ""
        return f"{self.reason}{where} in `{self.expr}`"


# --- names, units, values --------------------------------------------------------------


class UnknownQuantityError(CostgraphError, KeyError):
    """A name that no rule file declares."""

    def __init__(self, name: str, known: Sequence[str] = (), context: str = ""):
        super().__init__(name=name, suggestions=closest(name, known), context=context)

    def message(self) -> str:
        ctx = f" in {self.context}" if self.context else ""
        return (f"unknown quantity '{self.name}'{ctx}{_did_you_mean(self.suggestions)}"
                f"{ascii_hint(self.name)}")


class UnknownPresetError(CostgraphError, KeyError):
    def __init__(self, name: str, known: Sequence[str] = ()):
        super().__init__(name=name, suggestions=closest(name, known))

    def message(self) -> str:
        return (f"unknown preset '{self.name}'{_did_you_mean(self.suggestions)}"
                f"{ascii_hint(self.name)} (list them with model.presets() or "
                "`costgraph presets`)")


class UnknownSourceError(CostgraphError, KeyError):
    """A key that the rules folder's bibliography does not hold."""

    def __init__(self, key: str, known: Sequence[str] = (), file: str | None = None):
        super().__init__(key=key, suggestions=closest(key, known), file=file)

    def message(self) -> str:
        if self.file is None:
            return (f"unknown source '{self.key}': this rules folder has no bibliography "
                    "(sources.yaml)")
        return (f"unknown source '{self.key}'{_did_you_mean(self.suggestions)}"
                f" (the keys are in {self.file}; list them with `costgraph sources`)")


class DimensionError(CostgraphError, ValueError):
    """Two things that must share a dimension do not."""

    def __init__(self, where: str, expected: str, got: str, detail: str = ""):
        super().__init__(where=where, expected=expected, got=got, detail=detail)

    def message(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.where}: expected a value in {self.expected}, got {self.got}{detail}"


class BoundsError(CostgraphError, ValueError):
    def __init__(self, name: str, value: str, low: str, high: str, hint: str = ""):
        super().__init__(name=name, value=value, low=low, high=high, hint=hint)

    def message(self) -> str:
        hint = f"; {self.hint}" if self.hint else ""
        return f"{self.name} = {self.value} is outside its bounds [{self.low}, {self.high}]{hint}"


class NotWholeError(CostgraphError, ValueError):
    """A count (batch, layers, GPUs) given a fractional value."""

    def __init__(self, name: str, value: str):
        super().__init__(name=name, value=value)

    def message(self) -> str:
        return f"{self.name} = {self.value} must be a whole number"


class InvalidValueError(CostgraphError, ValueError):
    """A value for a quantity that cannot be used: unreadable, not finite, or one a rule
    cannot take (zero where it divides); names the quantity, the value and where it came from."""

    def __init__(self, where: str, name: str, value: str, reason: str):
        super().__init__(where=where, name=name, value=value, reason=reason)

    def message(self) -> str:
        return f"{self.where} {self.name} = {self.value}: {self.reason}"


class NotAllowedError(CostgraphError, ValueError):
    """A value outside the finite set a quantity may take (tensor-parallel sizes)."""

    def __init__(self, name: str, value: str, allowed: str):
        super().__init__(name=name, value=value, allowed=allowed)

    def message(self) -> str:
        return f"{self.name} = {self.value} is not allowed: {self.allowed}"


# --- planning and solving --------------------------------------------------------------


class CycleError(CostgraphError, ValueError):
    def __init__(self, cycle: Sequence[str]):
        super().__init__(cycle=list(cycle))

    def message(self) -> str:
        return "cycle of definitions: " + " -> ".join(self.cycle)


class UnderdeterminedError(CostgraphError, ValueError):
    """Not enough is known to answer; ``fix`` lists what to give."""

    def __init__(self, target: str, fix: Sequence[str], reason: str = "",
                 all_needed: bool = False):
        super().__init__(target=target, fix=list(fix), reason=reason, all_needed=all_needed)

    def message(self) -> str:
        reason = f": {self.reason}" if self.reason else ""
        fix = ", ".join(self.fix)
        if self.all_needed:
            verb = "give values for"
        else:
            verb = "fix one of" if len(self.fix) > 1 else "fix"
        return f"cannot determine {self.target}{reason}; {verb}: {fix}"


class ConflictError(CostgraphError, ValueError):
    """Two stated values cannot both hold."""

    def __init__(self, first: str, second: str, detail: str):
        super().__init__(first=first, second=second, detail=detail)

    def message(self) -> str:
        return f"{self.first} and {self.second} cannot both hold: {self.detail}"


class NoSolutionError(CostgraphError, ValueError):
    def __init__(self, target: str, reason: str):
        super().__init__(target=target, reason=reason)

    def message(self) -> str:
        return f"no solution for {self.target}: {self.reason}"


class InfeasibleError(CostgraphError, ValueError):
    """A seek found no point meeting every constraint; carries the least-bad one."""

    def __init__(self, summary: str, point: dict | None = None, violations: Sequence = ()):
        super().__init__(summary=summary, point=point or {}, violations=list(violations))

    def message(self) -> str:
        return self.summary


class UnboundedError(CostgraphError, ValueError):
    def __init__(self, objective: str, reason: str):
        super().__init__(objective=objective, reason=reason)

    def message(self) -> str:
        return f"{self.objective} is unbounded: {self.reason}"


class QueryError(CostgraphError, ValueError):
    """A question asked in a way that cannot be answered as written; says what to change."""

    def __init__(self, where: str, reason: str):
        super().__init__(where=where, reason=reason)

    def message(self) -> str:
        return f"{self.where}: {self.reason}"


class MissingExtraError(CostgraphError, ImportError):
    def __init__(self, feature: str, extra: str, package: str):
        super().__init__(feature=feature, extra=extra, package=package)

    def message(self) -> str:
        return (f"{self.feature} needs the `{self.extra}` extra ({self.package}): "
                f"pip install 'costgraph[{self.extra}]'")


class ValueTextError(CostgraphError, ValueError):
    """Text that cannot be read as a value with a unit (or as a unit); nothing was evaluated."""

    def __init__(self, text: str, reason: str, what: str = "a number with a unit",
                 column: int | None = None):
        super().__init__(text=text, reason=reason, what=what, column=column)

    def message(self) -> str:
        where = f" (at column {self.column})" if self.column is not None else ""
        text = self.text if len(self.text) <= 80 else self.text[:60] + "…"
        return f"cannot read {text!r} as {self.what}: {self.reason}{where}"


class OutputError(CostgraphError, OSError):
    """A file that was asked for cannot be written there; says what to do instead.

    Also an ``OSError`` (with the system's ``errno`` where there is one), so code that
    catches a failed write the usual way still catches it.
    """

    def __init__(self, path: str, problem: str, fix: str = "", errno: int | None = None):
        self.path, self.problem, self.fix = str(path), problem, fix
        OSError.__init__(self, errno, problem, str(path))

    def __reduce__(self):
        return (type(self), (self.path, self.problem, self.fix, self.errno))

    def message(self) -> str:
        fix = f"; {self.fix}" if self.fix else ""
        return f"cannot write {self.path}: {self.problem}{fix}"
