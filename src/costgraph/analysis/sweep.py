"""Sweeps: quantities evaluated over the grid of varied inputs, through the compiled path.

``sweep(model, vary={"context_len": [...], "batch": [...]}, find=["cost_per_mtok"])``
evaluates every point of the product of the varied values. A varied name is either a
quantity (values in its declared unit, text with units, or a range such as
``"1k..128k:log:32"``) or, when it names no quantity, an axis of presets (``"precision":
["fp16", "fp8"]``), each value applied after ``presets``. Points that break a declared
constraint are kept and marked: every constraint's relative slack is a column, and
``feasible`` says whether all of them hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import itertools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pint

from ..errors import ConflictError, DimensionError, QueryError, UnknownQuantityError
from ..lang.scenario import preset_names
from ..table import Table, frozen_array, frozen_mapping, write_json
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


@dataclass(frozen=True)
class SweepResult:
    """The grid, the values found at every point, and each constraint's slack there.

    Attributes
    ----------
    table : Table
        One column per varied name, then one per found quantity, grid order (the last
        varied name changes fastest).
    vary, find : tuple of str
        The varied names and the found quantities.
    shape : tuple of int
        The grid's shape: one length per varied name.
    margins : Mapping[str, numpy.ndarray]
        Constraint id to relative slack (``costgraph.core.slack``), >= 0 where it holds.
    constraints : Mapping[str, str]
        Constraint id to its text.
    scenario : str
        The presets and given values, for titles.
    """

    table: Table
    vary: tuple[str, ...]
    find: tuple[str, ...]
    shape: tuple[int, ...]
    margins: Mapping[str, np.ndarray]
    constraints: Mapping[str, str]
    scenario: str

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, name: str):
        """A column as a pint Quantity array (a preset axis as its labels)."""
        return self.table[name]

    def values(self, name: str) -> np.ndarray:
        """A column's magnitudes in its unit (or labels)."""
        return self.table.columns[name]

    def unit(self, name: str) -> str:
        return self.table.units[name]

    def grid(self, name: str) -> np.ndarray:
        """A column reshaped to the grid: ``grid(n)[i, j]`` is at the i-th and j-th values."""
        return self.values(name).reshape(self.shape)

    @property
    def feasible(self) -> np.ndarray:
        """Whether every constraint holds at each point (an unknown slack counts as broken)."""
        ok = np.ones(len(self), dtype=bool)
        for margin in self.margins.values():
            ok &= margin >= 0
        return ok

    def violated(self, index: int) -> tuple[str, ...]:
        """The ids of the constraints broken at point ``index``."""
        return tuple(cid for cid, m in self.margins.items() if not m[index] >= 0)

    @property
    def breaks(self) -> dict[str, int]:
        """Constraint id to the number of points that break it (a point may break several)."""
        return {cid: int(np.count_nonzero(~(m >= 0))) for cid, m in self.margins.items()}

    def summary(self) -> str:
        """``12 of 64 points break a constraint: memory.hbm_fit 12, context.max_context 3``."""
        return broken_summary(len(self) - int(np.count_nonzero(self.feasible)), len(self),
                              self.breaks)

    def export(self) -> Table:
        """The table with ``feasible``, ``violates`` and one ``slack:<id>`` column added."""
        columns = dict(self.table.columns)
        units = dict(self.table.units)
        columns["feasible"] = self.feasible
        columns["violates"] = _violations(self.margins, len(self))
        for cid, margin in self.margins.items():
            columns[f"slack:{cid}"] = margin
        return Table.build(self.table.title, columns, units, self.table.integer)

    def to_csv(self, path=None):
        """CSV of ``export()``: every point, broken ones marked, not dropped."""
        return self.export().to_csv(path)

    def to_dict(self) -> dict:
        """JSON-ready: ``export()``'s columns, the grid, and how many points break each
        constraint (``infeasible``, ``breaks``)."""
        out = self.export().to_dict()
        out.update(vary=list(self.vary), find=list(self.find), shape=list(self.shape),
                   scenario=self.scenario, constraints=dict(self.constraints),
                   points=len(self), infeasible=len(self) - int(np.count_nonzero(self.feasible)),
                   breaks=self.breaks)
        return out

    def to_json(self, path=None):
        """Write ``to_dict()`` as JSON to ``path``, or return it as text."""
        return write_json(self.to_dict(), path)


def sweep(model: Engine, vary: Mapping, find, *, given: Mapping | None = None, presets=None,
          constraints="declared", progress: Callable[[int, int], None] | None = None,
          title: str | None = None) -> SweepResult:
    """Evaluate ``find`` at every point of the grid of ``vary``.

    Parameters
    ----------
    model : costgraph.Model
    vary : mapping
        Name to values. A quantity takes numbers (its declared unit), text or pint
        quantities with units, or a range string (see ``parse_values``). A name that is no
        quantity is an axis of presets: each value a preset name or a list of them.
    find : str or list of str
        Quantities to evaluate.
    given : mapping, optional
        Fixed values, as for ``Model.solve``; a varied name cannot also be given.
    presets : list of str, optional
        Base presets (default: ``default``); a preset axis's value is applied after them.
    constraints : "declared" or list
        Constraints whose slack is reported (ids, ConstraintDefs or text such as
        ``"step_time <= 50 ms"``).
    progress : callable, optional
        Called as ``progress(done, total)`` after each chunk of points.
    title : str, optional
        Overrides the table's title.

    Returns
    -------
    SweepResult

    Examples
    --------
    >>> import costgraph as cg
    >>> s = cg.load().sweep({"batch": [1, 64]}, "tokens_per_second")
    >>> s.table.names, len(s)
    (('batch', 'tokens_per_second'), 2)
    """
    find = list(dict.fromkeys([find] if isinstance(find, str) else find))
    given = dict(given or {})
    axes = [make_axis(model, name, values) for name, values in vary.items()]
    for axis in axes:
        if axis.name in given:
            raise ConflictError(f"vary {axis.name}", f"given {axis.name}",
                                "a varied name cannot also be given; drop it from given")
    shape = tuple(len(a) for a in axes)
    total = math.prod(shape)
    index = np.unravel_index(np.arange(total), shape) if axes else ()
    outputs = {n: np.full(total, np.nan) for n in find}
    margins: dict[str, np.ndarray] = {}
    texts: dict[str, str] = {}
    qaxes = [(i, a) for i, a in enumerate(axes) if a.kind == "quantity"]
    paxes = [(i, a) for i, a in enumerate(axes) if a.kind == "preset"]
    base = preset_names(presets, model.ruleset)
    done = 0
    for choice in itertools.product(*(range(len(a)) for _, a in paxes)):
        extra = [p for (_, a), k in zip(paxes, choice) for p in a.presets[k]]
        f = model.compile(find, [a.name for _, a in qaxes], given=given,
                          presets=[*base, *extra], constraints=constraints)
        texts.update({c.id: c.expr.text for c in f.constraints})
        positions = _positions(index, paxes, choice, total)
        for start in range(0, len(positions), _CHUNK):
            where = positions[start:start + _CHUNK]
            arrays = {a.name: a.values[index[i][where]] for i, a in qaxes}
            found = f(**arrays)
            for name in find:
                outputs[name][where] = found[name]
            for cid, slack in f.margins(**arrays).items():
                margins.setdefault(cid, np.full(total, np.nan))[where] = slack
            done += len(where)
            if progress is not None:
                progress(done, total)
    columns = {a.name: a.values[index[i]] for i, a in enumerate(axes)}
    columns.update(outputs)
    units = {n: "" if a.kind == "preset" else model.ruleset.quantities[n].unit
             for n, a in ((a.name, a) for a in axes)}
    units.update({n: model.ruleset.quantities[n].unit for n in find})
    integer = {n for n in columns if n in model.ruleset.quantities
               and model.ruleset.quantities[n].integer}
    scenario = scenario_label(model, presets, given)
    table = Table.build(title or f"{', '.join(find)} over {' x '.join(a.name for a in axes)}"
                        f" ({scenario})", columns, units, integer)
    return SweepResult(table, tuple(a.name for a in axes), tuple(find), shape,
                       frozen_mapping({c: frozen_array(m) for c, m in sorted(margins.items())}),
                       frozen_mapping(sorted(texts.items())), scenario)


def broken_summary(broken: int, total: int, breaks: Mapping[str, int], verb: str = "") -> str:
    """``3 of 64 points break a constraint: memory.hbm_fit 3`` (each constraint broken
    somewhere, with its count); ``verb`` is added after the count (``and are left out``)."""
    text = f"{broken:,} of {total:,} points break a constraint{verb}"
    counts = [f"{cid} {n:,}" for cid, n in breaks.items() if n]
    return text + (": " + ", ".join(counts) if counts else "")


def _positions(index, paxes, choice, total) -> np.ndarray:
    """The grid points (flat) whose preset axes take the values in ``choice``."""
    if not paxes:
        return np.arange(total)
    mask = np.ones(total, dtype=bool)
    for (i, _), k in zip(paxes, choice):
        mask &= index[i] == k
    return np.flatnonzero(mask)


def _violations(margins, n) -> np.ndarray:
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
