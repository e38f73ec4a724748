"""Every error costgraph raises, under one base class.

Each error is a dataclass of its fields (what was wrong, where, what would fix it), as
pint's errors are; it also subclasses the builtin a caller would naturally catch
(``ValueError``, ``KeyError``), builds its text in ``message`` (``str``) and pickles with its
fields, so it survives multiprocessing. A load problem carries its file, line and column.

>>> error = NotWholeError("batch", "64.5 request")
>>> error.name, str(error)
('batch', 'batch = 64.5 request must be a whole number')
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import InitVar, dataclass, field


class CostgraphError(Exception):
    """Base class of every costgraph error; each subclass is a dataclass of its fields.

    A subclass that settles a field in ``__post_init__`` calls this one's after it.
    """

    def __post_init__(self):
        self.args = tuple(vars(self).values())  # what the builtin shows and pickles

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


@dataclass(frozen=True, eq=False)
class Problem:
    """One problem found while loading: where it is and what is wrong.

    ``line`` and ``column`` (1-based) say where in the file, when the YAML gives it. Two
    problems that differ only in the column are the same problem.
    """

    file: str
    item: str
    text: str
    line: int | None = None
    column: int | None = None

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

    def __eq__(self, other):
        return isinstance(other, Problem) and self.sort_key() == other.sort_key()

    def __hash__(self):
        return hash(self.sort_key())


@dataclass(eq=False)
class RuleSetError(CostgraphError, ValueError):
    """Loading found problems; all of them are listed, sorted by file, line and item."""

    problems: Sequence[Problem]

    def __post_init__(self):
        self.problems = sorted(set(self.problems), key=Problem.sort_key)
        super().__post_init__()

    @property
    def lines(self) -> list[int | None]:
        """The line of each problem (None where the file gives none), in the listed order."""
        return [p.line for p in self.problems]

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


@dataclass(eq=False)
class _FileProblems(CostgraphError, ValueError):
    """A data file's problems, all of them, sorted; ``noun`` names the kind of file."""

    file: str
    problems: Sequence[str]

    noun = "file"

    def __post_init__(self):
        self.problems = sorted(set(self.problems))
        super().__post_init__()

    def message(self) -> str:
        n = len(self.problems)
        noun = "error" if n == 1 else "errors"
        return "\n".join([f"{n} {noun} in {self.noun} {self.file}:",
                          *(f"  - {p}" for p in self.problems)])


@dataclass(eq=False)
class ClaimsFileError(_FileProblems):
    """A claims file for the audit has problems; all of them are listed, sorted."""

    noun = "claims file"


@dataclass(eq=False)
class MeasurementsFileError(_FileProblems):
    """A measurements file for validate or calibrate has problems; all of them, sorted."""

    noun = "measurements file"


@dataclass(eq=False)
class ExpressionError(CostgraphError, ValueError):
    """An expression is not in the grammar, or is unsafe; nothing was evaluated."""

    expr: str
    reason: str
    column: int | None = None

    def message(self) -> str:
        where = f" at column {self.column}" if self.column is not None else ""
        return f"{self.reason}{where} in `{self.expr}`"


# --- names, units, values --------------------------------------------------------------


@dataclass(eq=False)
class UnknownQuantityError(CostgraphError, KeyError):
    """A name that no rule file declares; ``suggestions`` are the closest declared names."""

    name: str
    known: InitVar[Sequence[str]] = ()
    suggestions: list[str] = field(init=False, default_factory=list)
    context: str = ""

    def __post_init__(self, known):
        self.suggestions = closest(self.name, known)
        super().__post_init__()

    def message(self) -> str:
        ctx = f" in {self.context}" if self.context else ""
        return (f"unknown quantity '{self.name}'{ctx}{_did_you_mean(self.suggestions)}"
                f"{ascii_hint(self.name)}")


@dataclass(eq=False)
class UnknownPresetError(CostgraphError, KeyError):
    """A preset name that no preset file defines; ``suggestions`` are the closest ones."""

    name: str
    known: InitVar[Sequence[str]] = ()
    suggestions: list[str] = field(init=False, default_factory=list)

    def __post_init__(self, known):
        self.suggestions = closest(self.name, known)
        super().__post_init__()

    def message(self) -> str:
        return (f"unknown preset '{self.name}'{_did_you_mean(self.suggestions)}"
                f"{ascii_hint(self.name)} (list them with model.presets() or "
                "`costgraph presets`)")


@dataclass(eq=False)
class UnknownSourceError(CostgraphError, KeyError):
    """A key that the rules folder's bibliography does not hold."""

    key: str
    known: InitVar[Sequence[str]] = ()
    suggestions: list[str] = field(init=False, default_factory=list)
    file: str | None = None

    def __post_init__(self, known):
        self.suggestions = closest(self.key, known)
        super().__post_init__()

    def message(self) -> str:
        if self.file is None:
            return (f"unknown source '{self.key}': this rules folder has no bibliography "
                    "(sources.yaml)")
        return (f"unknown source '{self.key}'{_did_you_mean(self.suggestions)}"
                f" (the keys are in {self.file}; list them with `costgraph sources`)")


@dataclass(eq=False)
class DimensionError(CostgraphError, ValueError):
    """Two things that must share a dimension do not."""

    where: str
    expected: str
    got: str
    detail: str = ""

    def message(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.where}: expected a value in {self.expected}, got {self.got}{detail}"


@dataclass(eq=False)
class BoundsError(CostgraphError, ValueError):
    """A value outside the bounds its quantity declares."""

    name: str
    value: str
    low: str
    high: str
    hint: str = ""

    def message(self) -> str:
        hint = f"; {self.hint}" if self.hint else ""
        return f"{self.name} = {self.value} is outside its bounds [{self.low}, {self.high}]{hint}"


@dataclass(eq=False)
class NotWholeError(CostgraphError, ValueError):
    """A count (batch, layers, GPUs) given a fractional value."""

    name: str
    value: str

    def message(self) -> str:
        return f"{self.name} = {self.value} must be a whole number"


@dataclass(eq=False)
class InvalidValueError(CostgraphError, ValueError):
    """A value for a quantity that cannot be used: unreadable, not finite, or one a rule
    cannot take (zero where it divides); names the quantity, the value and where it came from."""

    where: str
    name: str
    value: str
    reason: str

    def message(self) -> str:
        return f"{self.where} {self.name} = {self.value}: {self.reason}"


@dataclass(eq=False)
class NotAllowedError(CostgraphError, ValueError):
    """A value outside the finite set a quantity may take (tensor-parallel sizes)."""

    name: str
    value: str
    allowed: str

    def message(self) -> str:
        return f"{self.name} = {self.value} is not allowed: {self.allowed}"


# --- planning and solving --------------------------------------------------------------


@dataclass(eq=False)
class CycleError(CostgraphError, ValueError):
    """Definitions that depend on each other in a ring."""

    cycle: Sequence[str]

    def __post_init__(self):
        self.cycle = list(self.cycle)
        super().__post_init__()

    def message(self) -> str:
        return "cycle of definitions: " + " -> ".join(self.cycle)


@dataclass(eq=False)
class UnderdeterminedError(CostgraphError, ValueError):
    """Not enough is known to answer; ``fix`` lists what to give."""

    target: str
    fix: Sequence[str]
    reason: str = ""
    all_needed: bool = False

    def __post_init__(self):
        self.fix = list(self.fix)
        super().__post_init__()

    def message(self) -> str:
        reason = f": {self.reason}" if self.reason else ""
        fix = ", ".join(self.fix)
        if self.all_needed:
            verb = "give values for"
        else:
            verb = "fix one of" if len(self.fix) > 1 else "fix"
        return f"cannot determine {self.target}{reason}; {verb}: {fix}"


@dataclass(eq=False)
class ConflictError(CostgraphError, ValueError):
    """Two stated values cannot both hold."""

    first: str
    second: str
    detail: str

    def message(self) -> str:
        return f"{self.first} and {self.second} cannot both hold: {self.detail}"


@dataclass(eq=False)
class NoSolutionError(CostgraphError, ValueError):
    """No value of ``target`` gives what was asked for; ``reason`` says why."""

    target: str
    reason: str

    def message(self) -> str:
        return f"no solution for {self.target}: {self.reason}"


@dataclass(eq=False)
class InfeasibleError(CostgraphError, ValueError):
    """A seek found no point meeting every constraint; carries the least-bad one."""

    summary: str
    point: dict | None = None
    violations: Sequence = ()

    def __post_init__(self):
        self.point = self.point or {}
        self.violations = list(self.violations)
        super().__post_init__()

    def message(self) -> str:
        return self.summary


@dataclass(eq=False)
class UnboundedError(CostgraphError, ValueError):
    """A seek's objective grows without limit; ``reason`` says what bound is missing."""

    objective: str
    reason: str

    def message(self) -> str:
        return f"{self.objective} is unbounded: {self.reason}"


@dataclass(eq=False)
class QueryError(CostgraphError, ValueError):
    """A question asked in a way that cannot be answered as written; says what to change."""

    where: str
    reason: str

    def message(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(eq=False)
class MissingExtraError(CostgraphError, ImportError):
    """An optional feature whose extra is not installed; says how to install it."""

    feature: str
    extra: str
    package: str

    def message(self) -> str:
        return (f"{self.feature} needs the `{self.extra}` extra ({self.package}): "
                f"pip install 'costgraph[{self.extra}]'")


@dataclass(eq=False)
class ValueTextError(CostgraphError, ValueError):
    """Text that cannot be read as a value with a unit (or as a unit); nothing was evaluated."""

    text: str
    reason: str
    what: str = "a number with a unit"
    column: int | None = None

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
