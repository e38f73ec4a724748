"""What one web request may ask for: counts, sizes, time, and values screened before use.

A server shared by several people must answer every request in bounded time and memory,
so each question is checked against ``Limits`` before costgraph is called, and anything
over a limit gets one error naming the limit and what to do instead (the command line has
no such limits). Value text is screened too: pint reads ``9**9**9`` as an integer power
that would hold the interpreter for minutes, so nested or large powers are refused here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from costgraph.errors import QueryError


@dataclass(frozen=True)
class Limits:
    """The bounds every request is held to; ``costgraph serve`` uses the defaults.

    Attributes
    ----------
    timeout_s : float
        Seconds a request's computation may take before it answers 503.
    workers : int
        Computations running at once (a thread each); more wait their turn.
    max_items : int
        Values of one repeatable parameter (``find``, ``set``, ``where``, ``vary``, ``p``...).
    max_text : int
        Characters of one parameter value (a ``set`` value, a ``where`` inequality...).
    max_sweep_points : int
        Grid points of one sweep (the product of the varied values' counts).
    max_samples : int
        Draws of one uncertainty propagation.
    max_body_bytes : int
        Bytes of an uploaded claims file.
    max_claims_in_url : int
        Characters of a claims file carried in a URL; larger ones are uploaded.
    max_uploads : int
        Uploaded claims files kept in memory so their URLs keep working.
    """

    timeout_s: float = 20.0
    workers: int = 4
    max_items: int = 32
    max_text: int = 300
    max_sweep_points: int = 50_000
    max_samples: int = 200_000
    max_body_bytes: int = 1_048_576
    max_claims_in_url: int = 8_000
    max_uploads: int = 64
    max_compare: int = 4

    def items(self, name: str, values: list[str] | None, assigned: bool = False) -> list[str]:
        """The non-empty values of a repeatable parameter, each within ``max_text``.

        ``assigned``: the values are NAME=VALUE, and an error names the NAME.
        """
        values = [v for v in (values or []) if v is not None and v.strip()]
        if len(values) > self.max_items:
            raise QueryError(name, f"{len(values)} values given; this server takes at most "
                                   f"{self.max_items} (use the command line for more)")
        for value in values:
            key, sep, rest = value.partition("=")
            if assigned and sep:
                self.text(f"{name} {key.strip()}", rest.strip())
            else:
                self.text(name, value)
        return values

    def text(self, name: str, value: str) -> str:
        """``value`` if it is short enough and holds no runaway arithmetic; else QueryError."""
        if len(value) > self.max_text:
            raise QueryError(name, f"value of {len(value):,} characters; at most "
                                   f"{self.max_text} are accepted")
        screen_powers(name, value)
        return value

    def points(self, total: int) -> None:
        if total > self.max_sweep_points:
            raise QueryError("sweep", f"{total:,} points asked for; this server evaluates at "
                                      f"most {self.max_sweep_points:,} per request (use fewer "
                                      "points, or `costgraph sweep` for large grids)")

    def samples(self, n: int) -> None:
        if n > self.max_samples:
            raise QueryError("samples", f"{n:,} draws asked for; this server draws at most "
                                        f"{self.max_samples:,} per request")


_POWER = re.compile(r"\*\*|\^")
_SMALL_EXPONENT = re.compile(r"\s*\(?\s*[-+]?\d{1,2}(\.\d+)?\s*\)?")
MAX_POWERS = 2  # unit text such as m**2/s**2 needs two; a number raised twice is runaway


def screen_powers(name: str, value: str) -> None:
    """Refuse powers that could make pint compute a gigantic integer (``9**9**9``).

    Units need only small integer exponents (``m**2``, ``s^-1``), so a value may hold at
    most ``MAX_POWERS`` of them, each a number of at most two digits, none chained.
    """
    found = list(_POWER.finditer(value))
    if len(found) > MAX_POWERS:
        raise QueryError(name, f"{value!r} raises to a power {len(found)} times; write the "
                               "number out (e.g. 1e30)")
    for match in found:
        exponent = _SMALL_EXPONENT.match(value, match.end())
        after = value[exponent.end():] if exponent else ""
        if exponent is None or _POWER.match(after.lstrip()):
            raise QueryError(name, f"{value!r} has an exponent that is not a small number; "
                                   "write the number out (e.g. 1e30)")
