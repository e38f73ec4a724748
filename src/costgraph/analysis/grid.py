"""A sweep's grid: its axes read from values and ranges, its compiled functions, and its
points evaluated chunk by chunk in grid order - what in-memory, streamed and dask sweeps share.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pint

from ..core.compile_cache import compiled
from ..errors import ConflictError, DimensionError, QueryError, UnknownQuantityError
from ..lang.scenario import preset_names
from ..units import format_quantity, format_unit, parse_quantity, same_dimension

if TYPE_CHECKING:
    from ..core.engine import Engine

_CHUNK = 262_144  # points per compiled call: bounds memory and paces the progress bar


@dataclass(frozen=True)
class Axis:
    """One varied name and its values.

    ``kind`` is ``"quantity"`` (``values`` are floats in the declared unit) or ``"preset"``
    (``values`` are labels, ``presets`` the preset names each label applies).
    """

    name: str
    kind: str
    values: np.ndarray
    presets: tuple[tuple[str, ...], ...] = ()

    def __len__(self) -> int:
        return len(self.values)


class Grid:
    """A sweep's grid, its compiled functions, and its points evaluated chunk by chunk.

    ``chunks()`` yields ``(start, stop, at, outputs, slacks)`` in grid order: the flat
    points ``start:stop``, their index along each axis (``at``), and each found quantity's
    and each constraint's values there. A preset axis's points are each evaluated by the
    function compiled for its presets (compiles are shared, see ``compile_cache``).
    """

    def __init__(self, model, vary: Mapping, find, given=None, presets=None,
                 constraints="declared"):
        self.model = model
        self.find = list(dict.fromkeys([find] if isinstance(find, str) else find))
        self.given = dict(given or {})
        self.presets = presets
        self.constraints_arg = constraints
        self.axes = [make_axis(model, name, values) for name, values in vary.items()]
        for axis in self.axes:
            if axis.name in self.given:
                raise ConflictError(f"vary {axis.name}", f"given {axis.name}",
                                    "a varied name cannot also be given; drop it from given")
        self.shape = tuple(len(a) for a in self.axes)
        self.total = math.prod(self.shape)
        self.qaxes = [(i, a) for i, a in enumerate(self.axes) if a.kind == "quantity"]
        self.paxes = [(i, a) for i, a in enumerate(self.axes) if a.kind == "preset"]
        base = preset_names(presets, model.ruleset)
        self.functions = {}
        self.constraints: dict[str, str] = {}
        for choice in itertools.product(*(range(len(a)) for _, a in self.paxes)):
            extra = [p for (_, a), k in zip(self.paxes, choice) for p in a.presets[k]]
            f = compiled(model, self.find, [a.name for _, a in self.qaxes], given=self.given,
                         presets=[*base, *extra], constraints=constraints)
            self.functions[choice] = f
            self.constraints.update({c.id: c.expr.text for c in f.constraints})
        self.scenario = scenario_label(model, presets, self.given)
        self.title = (f"{', '.join(self.find)} over {' x '.join(a.name for a in self.axes)}"
                      f" ({self.scenario})")

    def units(self) -> dict[str, str]:
        rs = self.model.ruleset
        units = {a.name: "" if a.kind == "preset" else rs.quantities[a.name].unit
                 for a in self.axes}
        units.update({n: rs.quantities[n].unit for n in self.find})
        return units

    def integer(self) -> set[str]:
        rs = self.model.ruleset
        return {n for n in [*(a.name for a in self.axes), *self.find]
                if n in rs.quantities and rs.quantities[n].integer}

    def chunks(self, size: int | None = None):
        """Evaluate the grid ``size`` points at a time (default ``_CHUNK``), in grid order."""
        return self.chunks_between(0, self.total, size)

    def chunks_between(self, first: int, last: int, size: int | None = None):
        """Evaluate the flat points ``first:last`` ``size`` at a time, in grid order."""
        size = size or _CHUNK
        for start in range(first, last, size):
            stop = min(start + size, last)
            at = np.unravel_index(np.arange(start, stop), self.shape) if self.shape else ()
            if not self.paxes:
                f = self.functions[()]
                found, slacks = f.evaluate(**{a.name: a.values[at[i]] for i, a in self.qaxes})
                found = {n: np.broadcast_to(v, (stop - start,)) for n, v in found.items()}
                slacks = {c: np.broadcast_to(v, (stop - start,)) for c, v in slacks.items()}
                yield start, stop, at, found, slacks
                continue
            found = {n: np.full(stop - start, np.nan) for n in self.find}
            slacks = {c: np.full(stop - start, np.nan) for c in self.constraints}
            key = np.ravel_multi_index([at[i] for i, _ in self.paxes],
                                       [len(a) for _, a in self.paxes])
            for k in np.unique(key):
                choice = np.unravel_index(k, [len(a) for _, a in self.paxes])
                mask = key == k
                f = self.functions[tuple(int(c) for c in choice)]
                out, margins = f.evaluate(**{a.name: a.values[at[i][mask]]
                                             for i, a in self.qaxes})
                for n, v in out.items():
                    found[n][mask] = v
                for c, v in margins.items():
                    slacks[c][mask] = v
            yield start, stop, at, found, slacks


def broken_summary(broken: int, total: int, breaks: Mapping[str, int], verb: str = "") -> str:
    """``3 of 64 points break a constraint: memory.hbm_fit 3`` (each constraint broken
    somewhere, with its count); ``verb`` is added after the count (``and are left out``)."""
    text = f"{broken:,} of {total:,} points break a constraint{verb}"
    counts = [f"{cid} {n:,}" for cid, n in breaks.items() if n]
    return text + (": " + ", ".join(counts) if counts else "")


def grid_column(values: np.ndarray, axis: int, shape) -> np.ndarray:
    """Axis ``axis``'s value at every point of the grid, in grid order (last axis fastest)."""
    along = [1] * len(shape)
    along[axis] = len(values)
    return np.broadcast_to(values.reshape(along), shape).ravel()  # one pass, one copy


def violations(margins, n) -> np.ndarray:
    text = np.full(n, "", dtype=object)
    for cid, margin in margins.items():
        broken = ~(margin >= 0)
        text[broken] = np.where(text[broken] == "", cid, text[broken] + ";" + cid)
    return text.astype(str)


# axes ----------------------------------------------------------------------------------


def make_axis(model: Engine, name: str, values) -> Axis:
    """An Axis for ``name``: quantity values checked for unit, bounds and integrality."""
    rs = model.ruleset
    if name not in rs.quantities:
        # text lists presets: "fp16,fp8" or "fp8+kv-fp16,fp4" (a + applies several together)
        labels = [v.split("+") for v in values.split(",")] if isinstance(values, str) \
            else list(values)
        options = [(v,) if isinstance(v, str) else tuple(v) if isinstance(v, (list, tuple))
                   else (v,) for v in labels]
        if options and all(isinstance(p, str) and p in rs.presets for o in options for p in o):
            return Axis(name, "preset", np.array(["+".join(o) for o in options]),
                        tuple(options))
        raise UnknownQuantityError(name, [*rs.quantities, *rs.presets],
                                   "vary (a name to vary is a quantity, or an axis of preset names)")
    array = parse_values(model, name, values)
    if array.size == 0:
        raise QueryError(f"vary {name}", "no values to sweep")
    _check_values(model, name, array)
    return Axis(name, "quantity", array)


def _check_values(model: Engine, name, array):
    q = model.ruleset.quantities[name]
    low = -math.inf if q.low is None else q.low
    high = math.inf if q.high is None else q.high
    bad = ~((array >= low) & (array <= high))
    if q.integer:
        bad |= array != np.round(array)
    if q.values is not None:
        bad |= ~np.isin(array, q.values)
    if bad.any():
        model.coerce(name, float(array[np.argmax(bad)]), "vary")  # raises with the reason


def parse_values(model: Engine, name: str, values) -> np.ndarray:
    """Values for quantity ``name`` as floats in its declared unit.

    ``values`` is a range string (``"1k..128k:log:32"``, ``"1..256"``, ``"1,8,64"``), a
    pint Quantity (array or scalar), or an iterable of numbers (declared unit), text with
    units or Quantities.
    """
    q = model.ruleset.quantities[name]
    if isinstance(values, str):
        def convert(text):
            return float(model.coerce(name, text.strip(), "vary").magnitude)

        return parse_range(values, integer=q.integer, convert=convert)
    if isinstance(values, pint.Quantity):
        if not same_dimension(values.units, q.pint_unit):
            raise DimensionError(f"vary {name}", format_unit(q.pint_unit) or "1",
                                 format_unit(values.units) or "1")
        return np.atleast_1d(np.asarray(values.to(q.pint_unit).magnitude, dtype=float))
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return values.astype(float).ravel()
    out = []
    for value in ([values] if isinstance(values, (int, float)) else values):
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            out.append(float(value))
        else:
            out.append(float(model.coerce(name, value, "vary").magnitude))
    return np.array(out, dtype=float)


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_VALUE = re.compile(rf"^\s*{_NUMBER}[kKMG]?\s*$")  # a bare number, read by parse_quantity
_RANGE = re.compile(r"^(?P<lo>[^.:,]+(?:\.\d+)?)\.\.(?P<hi>[^:,]+?)"
                    r"(?::(?P<scale>lin|log))?(?::(?P<n>\d+))?$")
DEFAULT_POINTS = 32
MAX_POINTS = 1_000_000  # one range's points: ":999999999999" must not allocate terabytes


def parse_range(text: str, integer: bool = False, convert=None) -> np.ndarray:
    """Values from a range or list string.

    Grammar: ``LO..HI[:lin|:log][:N]`` or ``V1,V2,...`` or one value. A number may end in
    ``k``, ``M`` or ``G``: thousands, millions, billions, as ``units.parse_quantity`` reads
    them everywhere (``128k`` is 128,000; a 128K context of 131,072 tokens is written
    ``131072``). Any other
    value, such as one with a unit (``4ktok``, ``"3 TB/s"``), is read by ``convert`` when
    given. A linear range of a whole-number quantity without ``N`` takes every whole number
    from LO to HI; otherwise ``N`` defaults to 32. Whole-number quantities are rounded and
    duplicates dropped.

    Examples
    --------
    >>> parse_range("1..4", integer=True).tolist()
    [1.0, 2.0, 3.0, 4.0]
    >>> parse_range("1k..4k:log:3").tolist()
    [1000.0, 2000.0, 4000.0]
    >>> parse_range("0.5,0.75").tolist()
    [0.5, 0.75]
    """
    text = text.strip()
    match = _RANGE.match(text)
    if match is None:
        values = np.array([_number(v, text, convert) for v in text.split(",")])
        return np.unique(np.round(values)) if integer else values
    lo, hi = (_number(match[k], text, convert) for k in ("lo", "hi"))
    scale = match["scale"] or "lin"
    if scale == "log" and (lo <= 0 or hi <= 0):
        raise QueryError(f"range {text!r}", "a log range needs positive ends")
    if match["n"] is None and integer and scale == "lin":
        if hi - lo >= MAX_POINTS:
            raise QueryError(f"range {text!r}", f"at most {MAX_POINTS:,} points per range; "
                                                "give N, e.g. 1..1e9:log:32")
        return np.arange(math.ceil(lo), math.floor(hi) + 1, dtype=float)
    n = int(match["n"]) if match["n"] else DEFAULT_POINTS
    if n < 1:
        raise QueryError(f"range {text!r}", "needs at least one point")
    if n > MAX_POINTS:
        raise QueryError(f"range {text!r}", f"at most {MAX_POINTS:,} points per range")
    values = np.geomspace(lo, hi, n) if scale == "log" else np.linspace(lo, hi, n)
    if integer:
        return np.unique(np.round(values))
    # 12 significant digits: 2048, not 2047.9999999999989, from the floating-point steps
    return np.array([float(f"{v:.12g}") for v in values])


def _number(text: str, whole: str, convert=None) -> float:
    if _VALUE.match(text):
        return float(parse_quantity(text).magnitude)
    if convert is not None and text.strip():
        return convert(text)
    raise QueryError(f"range {whole!r}", f"{text.strip()!r} is not a number (write e.g. "
                                         "1k..128k:log:32, 1..256 or 1,8,64)")


# scenario labels -------------------------------------------------------------------------


def scenario_label(model: Engine, presets=None, given: Mapping | None = None) -> str:
    """The presets and given values in words, for titles: ``default + texas, batch = 128 request``."""
    names = preset_names(presets, model.ruleset)
    parts = [" + ".join(names) if names else "no presets"]
    for name, raw in (given or {}).items():
        value = model.coerce(name, raw) if name in model.ruleset.quantities else parse_quantity(raw)
        parts.append(f"{name} = {format_quantity(value)}")
    return ", ".join(parts)
