"""Levers: which input moves a quantity most, exactly, at the point the presets describe.

For each leaf input of the target (a value the presets or ``given`` fix, that the target
depends on) the elasticity ∂ln(target)/∂ln(input) is the derivative of the rules themselves:
the target's composite expression (``Planner.composite``) is differentiated by sympy. Where
the rules branch — ``max(memory_time, compute_time)``, ``where(...)`` — the branch active at
the point is taken before differentiating, so a memory-bound step has zero elasticity to
peak FLOPs; ``floor`` and ``ceil`` are constant between their jumps and contribute none.
Elasticities are computed over base-unit magnitudes, which changes nothing: a ratio of
relative changes does not depend on the unit.

Where an input's range is known (``low``/``high`` on its preset value, or stated through
``ranges``), the target is also evaluated at each end with everything else fixed — the swing
a tornado chart draws.

Levers are an analysis, not an answer: they are computed at a point that breaks a declared
constraint too (BF16 weights and KV that do not fit in HBM), and say so. The table carries
the point's constraint statuses (``feasible``, ``violated``), and each range end the
constraints it breaks (``breaks_low``, ``breaks_high``), from the compiled slacks there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pint

from .. import lazy
from ..core.compile_cache import compiled
from ..errors import NoSolutionError, QueryError, UnknownQuantityError
from ..core.plan import active_branches
from ..core.provenance import ConstraintStatus, Method, broken, infeasible_line
from ..table import Table
from ..units import Quantity, format_number, format_quantity, from_base, to_base

sympy = lazy.module("sympy")  # to differentiate: imported when levers are asked for

if TYPE_CHECKING:
    from ..core.engine import Engine

Z95 = 1.6448536269514722  # the standard normal's 95th percentile: low/high are P5/P95


@dataclass(frozen=True)
class Lever:
    """One input's pull on the target.

    Attributes
    ----------
    name : str
        The input quantity.
    value : pint.Quantity
        Its value at the point.
    elasticity : float
        ∂ln(target)/∂ln(name): the target's relative change per relative change of the input.
    source : str
        Where the value came from (preset and citation, or ``given``).
    low, high : pint.Quantity or None
        The input's range, when known.
    target_low, target_high : pint.Quantity or None
        The target with the input at ``low`` and at ``high``, everything else fixed.
    range_source : str or None
        ``"preset"`` or ``"stated"``.
    breaks_low, breaks_high : tuple of str
        The declared constraints broken with the input at its low and at its high end.
    """

    name: str
    value: pint.Quantity
    elasticity: float
    source: str
    low: pint.Quantity | None = None
    high: pint.Quantity | None = None
    target_low: pint.Quantity | None = None
    target_high: pint.Quantity | None = None
    range_source: str | None = None
    breaks_low: tuple[str, ...] = ()
    breaks_high: tuple[str, ...] = ()

    @property
    def feasible_low(self) -> bool | None:
        """Whether every declared constraint holds with the input at its low end (None
        without a range)."""
        return None if self.low is None else not self.breaks_low

    @property
    def feasible_high(self) -> bool | None:
        """As ``feasible_low``, at the high end."""
        return None if self.high is None else not self.breaks_high

    @property
    def mark_low(self) -> str:
        """``!`` when the low end breaks a declared constraint, else empty."""
        return END_MARK if self.breaks_low else ""

    @property
    def mark_high(self) -> str:
        """``!`` when the high end breaks a declared constraint, else empty."""
        return END_MARK if self.breaks_high else ""

    @property
    def swing(self) -> float | None:
        """``|target_high - target_low|`` in the target's unit, or None without a range."""
        if self.target_low is None:
            return None
        return abs(float((self.target_high - self.target_low).to(self.target_low.units).magnitude))


@dataclass(frozen=True)
class LeverTable:
    """The target at the point and its levers, ranked (largest first).

    ``constraints`` are the declared constraints checked at the point (exactly, as
    ``Model.solve`` checks them): a point that breaks one still has levers, and ``feasible``
    says it does not hold.
    """

    target: str
    value: pint.Quantity
    levers: tuple[Lever, ...]
    scenario: str
    rank: str
    constraints: tuple[ConstraintStatus, ...] = ()

    @property
    def violated(self) -> tuple[ConstraintStatus, ...]:
        """The declared constraints the point breaks."""
        return broken(self.constraints)

    @property
    def feasible(self) -> bool:
        """False when the point breaks a declared constraint (see ``violated``)."""
        return not self.violated

    @property
    def failing(self) -> tuple[str, ...]:
        """The ids of the declared constraints the point breaks."""
        return tuple(c.id for c in self.violated)

    @property
    def broken_at_ends(self) -> tuple[str, ...]:
        """Every constraint some range end breaks, sorted."""
        return tuple(sorted({c for lv in self.levers for c in (*lv.breaks_low,
                                                                 *lv.breaks_high)}))

    def infeasible_line(self) -> str | None:
        """``INFEASIBLE: the point breaks memory.hbm_fit (...)``, or None when it holds."""
        return None if self.feasible else infeasible_line(self.violated, "the point")

    def end_legend(self) -> str | None:
        """The line explaining the ``!`` that marks a range end breaking a constraint."""
        broken = self.broken_at_ends
        if not broken:
            return None
        return f"{END_MARK} with the input at this end, the point breaks {', '.join(broken)}"

    def __iter__(self) -> Iterator[Lever]:
        return iter(self.levers)

    def __len__(self) -> int:
        return len(self.levers)

    def __getitem__(self, name: str) -> Lever:
        for lever in self.levers:
            if lever.name == name:
                return lever
        raise KeyError(f"{name} is not a lever of {self.target}; levers: "
                       f"{', '.join(lv.name for lv in self.levers)}")

    @property
    def title(self) -> str:
        return f"Levers on {self.target} ({self.scenario})"

    def table(self) -> Table:
        """One row per lever: value, elasticity, range, the target at each end, and whether
        each end keeps the declared constraints (``feasible_low``, ``feasible_high``, and
        ``feasible`` for both; empty without a range)."""
        unit = f"{self.value.units:~P}"
        rows = self.levers

        def column(get):
            return np.array([np.nan if get(lv) is None else get(lv) for lv in rows], dtype=float)

        columns = {
            "input": np.array([lv.name for lv in rows], dtype=str),
            "value": column(lambda lv: float(lv.value.magnitude)),
            "unit": np.array([f"{lv.value.units:~P}" for lv in rows], dtype=str),
            "elasticity": column(lambda lv: lv.elasticity),
            "low": column(lambda lv: lv.low and float(lv.low.magnitude)),
            "high": column(lambda lv: lv.high and float(lv.high.magnitude)),
            f"{self.target}_at_low": column(lambda lv: lv.target_low and
                                            float(lv.target_low.to(unit).magnitude)),
            f"{self.target}_at_high": column(lambda lv: lv.target_high and
                                             float(lv.target_high.to(unit).magnitude)),
            "swing": column(lambda lv: lv.swing),
            "feasible_low": _optional([lv.feasible_low for lv in rows]),
            "feasible_high": _optional([lv.feasible_high for lv in rows]),
            "feasible": _optional([None if lv.low is None else
                                   lv.feasible_low and lv.feasible_high for lv in rows]),
            "violates": np.array([";".join(dict.fromkeys((*lv.breaks_low, *lv.breaks_high)))
                                  for lv in rows], dtype=str),
        }
        units = {f"{self.target}_at_low": unit, f"{self.target}_at_high": unit, "swing": unit}
        return Table.build(self.title, columns, units)

    def to_csv(self, path=None):
        return self.table().to_csv(path)

    def to_dict(self) -> dict:
        """JSON-ready: the point, whether it keeps the declared constraints, every lever."""
        return {"target": self.target, "value": float(self.value.magnitude),
                "unit": f"{self.value.units:~P}", "scenario": self.scenario, "rank": self.rank,
                "feasible": self.feasible, "failing": list(self.failing),
                "constraints": [c.to_dict() for c in self.constraints],
                "levers": [_lever_dict(lv) for lv in self.levers]}

    def text(self) -> str:
        """A plain ranked table for terminals and logs.

        When the point breaks a declared constraint the first line says so; a range end
        that breaks one is marked ``!`` and a last line names what breaks.
        """
        lines = [line for line in (self.infeasible_line(),) if line]
        lines += [f"{self.target} = {format_quantity(self.value)}  ({self.scenario})",
                  f"{'input':<28} {'value':>16} {'elasticity':>11} {'low .. high':>26} "
                  f"{'swing':>12}"]
        for lv in self.levers:
            span = "" if lv.low is None else \
                f"{format_number(lv.low.magnitude)}{lv.mark_low} .. " \
                f"{format_number(lv.high.magnitude)}{lv.mark_high}"
            swing = "" if lv.swing is None else format_number(lv.swing)
            lines.append(f"{lv.name:<28} {format_quantity(lv.value):>16} "
                         f"{lv.elasticity:>+11.4f} {span:>26} {swing:>12}")
        lines += [line for line in (self.end_legend(),) if line]
        return "\n".join(lines)


END_MARK = "!"  # after a range end at which a declared constraint breaks


def _optional(values) -> np.ndarray:
    """A yes/no column that may not apply (None), as ``Table`` holds one."""
    return np.array(values, dtype=object)


def _lever_dict(lv: Lever) -> dict:
    def q(x):
        return None if x is None else float(x.magnitude)

    return {"name": lv.name, "value": q(lv.value), "unit": f"{lv.value.units:~P}",
            "elasticity": lv.elasticity, "source": lv.source, "low": q(lv.low),
            "high": q(lv.high), "target_low": q(lv.target_low),
            "target_high": q(lv.target_high), "swing": lv.swing,
            "range_source": lv.range_source, "feasible_low": lv.feasible_low,
            "feasible_high": lv.feasible_high, "breaks_low": list(lv.breaks_low),
            "breaks_high": list(lv.breaks_high)}


def levers(model: Engine, target: str, *, presets=None, given: Mapping | None = None,
           inputs=None, ranges: Mapping | None = None, rank: str = "elasticity",
           include_zero: bool = False) -> LeverTable:
    """Rank the leaf inputs of ``target`` by how strongly they move it.

    Parameters
    ----------
    model : costgraph.Model
    target : str
        A derived quantity, e.g. ``"cost_per_mtok"``.
    presets, given
        The point, as for ``Model.solve``.
    inputs : list of str, optional
        Restrict to these leaf inputs (default: every leaf input of the target).
    ranges : mapping, optional
        Name to ``(low, high)`` (numbers in the declared unit, or text with units); overrides
        the presets' ranges and adds ranges for inputs that have none (``batch``).
    rank : {"elasticity", "swing"}
        Order by ``|elasticity|`` or by swing (inputs without a range last).
    include_zero : bool
        Keep inputs with zero elasticity and no range (conventions, unused branches).

    Returns
    -------
    LeverTable
        With the point's declared constraint statuses, and at each range end the
        constraints broken there.

    Examples
    --------
    >>> import costgraph as cg
    >>> table = cg.load().levers("cost_per_mtok")
    >>> round(table["utilisation"].elasticity, 6)
    -1.0
    >>> cg.load().levers("cost_per_mtok", presets=["default", "bf16"]).failing
    ('memory.hbm_fit',)
    """
    if rank not in ("elasticity", "swing"):
        raise QueryError("levers", f"rank must be 'elasticity' or 'swing', not {rank!r}")
    point = Point.at(model, target, presets, given)
    names = point.leaves if inputs is None else _checked(model, point, inputs)
    elasticities = point.elasticities(names)
    spans = _ranges(model, point, names, ranges or {}, presets)
    at_ends = _ends(model, point, presets, given, spans)
    rows = []
    for name in names:
        low, high, how = spans.get(name, (None, None, None))
        ends = at_ends.get(name, (None, None, (), ()))
        if not include_zero and elasticities[name] == 0 and low is None:
            continue
        rows.append(Lever(name, point.steps[name].value, elasticities[name],
                          point.steps[name].source or point.steps[name].kind,
                          low, high, *ends[:2], how, *ends[2:]))
    if rank == "swing":
        rows.sort(key=lambda lv: (lv.swing is None, -(lv.swing or 0), lv.name))
    else:
        rows.sort(key=lambda lv: (-abs(lv.elasticity), lv.name))
    from .sweep import scenario_label

    statuses = model.solve(find=[target], given=given, presets=presets).constraints
    return LeverTable(target, point.value, tuple(rows), scenario_label(model, presets, given),
                      rank, statuses)


@dataclass(frozen=True)
class Point:
    """The target's composite expression with its active branches at one point."""

    model: object
    target: str
    steps: dict
    leaves: tuple[str, ...]
    expr: sympy.Expr  # active branches only
    subs: dict
    value: pint.Quantity

    @classmethod
    def at(cls, model, target, presets=None, given=None) -> "Point":
        rs = model.ruleset
        if target not in rs.quantities:
            raise UnknownQuantityError(target, list(rs.quantities), "levers")
        if rs.rule_for(target) is None:
            raise QueryError(f"levers of {target}", "it is an input; levers need a derived "
                                                    "quantity such as cost_per_mtok")
        steps = model.known_steps(presets, given)
        steps.pop(target, None)
        known = frozenset(steps)
        plan = model.planner.plan(known, (target,))  # raises when under-determined
        if plan.blocks:
            raise NoSolutionError(target, "levers differentiate the rules forward; "
                                          f"{', '.join(plan.solved)} would have to be solved "
                                          "for first: give it instead of the value that pins it")
        leaves = leaf_inputs(model, target, known)
        subs = {model.symbols[n]: sympy.Float(to_base(steps[n].value), 17) for n in leaves}
        expr = active_branches(model.planner.composite(target, known), subs,
                               steps_as_constants=True)
        magnitude = float(expr.xreplace(subs))
        unit = rs.quantities[target].unit
        return cls(model, target, steps, leaves, expr, subs, from_base(magnitude, unit))

    def elasticities(self, names) -> dict[str, float]:
        """Exact ∂ln(target)/∂ln(x) for each name (0 where the target does not use x)."""
        f0 = float(self.expr.xreplace(self.subs))
        out = {}
        for name in names:
            symbol = self.model.symbols[name]
            if symbol not in self.expr.free_symbols or f0 == 0:
                out[name] = 0.0
                continue
            slope = sympy.diff(self.expr, symbol).xreplace(self.subs)
            out[name] = float(slope) * float(self.subs[symbol]) / f0 + 0.0
        return out


def leaf_inputs(model: Engine, target: str, known) -> tuple[str, ...]:
    """The known names the target's value flows from (walking up, stopping at known ones)."""
    return tuple(sorted(model.graph.reached_from([target], stop=known) & set(known)))


def _checked(model: Engine, point, inputs) -> tuple[str, ...]:
    names = []
    for name in ([inputs] if isinstance(inputs, str) else inputs):
        if name not in model.ruleset.quantities:
            raise UnknownQuantityError(name, list(model.ruleset.quantities), "levers inputs")
        if name not in point.leaves:
            raise QueryError(f"levers of {point.target}", f"{name} is not a leaf input of it "
                                                           f"here; leaf inputs: "
                                                           f"{', '.join(point.leaves)}")
        names.append(name)
    return tuple(dict.fromkeys(names))


def _ranges(model: Engine, point, names, stated, presets) -> dict:
    """name -> (low, high, "preset"|"stated") in the declared unit, for names with a range."""
    from ..lang.scenario import resolve_presets

    for name in stated:
        if name not in names:
            raise QueryError(f"levers of {point.target}", f"a range is stated for {name}, "
                                                           f"which is not one of the levers: "
                                                           f"{', '.join(names)}")
    resolved = resolve_presets(model.ruleset, presets)
    out = {}
    for name in names:
        if name in stated:
            low, high = stated[name]
            out[name] = (model.coerce(name, low, "range"), model.coerce(name, high, "range"),
                         "stated")
            continue
        # a given value replaces the preset's, and with it the preset's range
        if point.steps[name].method is not Method.PRESET or name not in resolved:
            continue
        span = preset_span(resolved[name].value)
        if span is not None:
            unit = model.ruleset.quantities[name].pint_unit
            out[name] = (span[0].to(unit), span[1].to(unit), "preset")
    return out


def preset_span(value) -> tuple | None:
    """(low, high) of a preset value: its stated ends, or value ± 1.645 sd for a normal."""
    if value.low is not None and value.high is not None:
        return value.low, value.high
    if value.sd is not None:
        return value.quantity - Z95 * value.sd, value.quantity + Z95 * value.sd
    return None


def _ends(model: Engine, point, presets, given, spans) -> dict:
    """name -> (target at low, at high, constraints broken at low, at high): each ranged
    input at one end, all else fixed."""
    if not spans:
        return {}
    names = sorted(spans)
    f = compiled(model, point.target, names, given=given, presets=presets,
                 constraints="declared")
    base = {n: float(point.steps[n].value.magnitude) for n in names}
    arrays = {n: np.full(2 * len(names), base[n]) for n in names}
    for i, name in enumerate(names):
        arrays[name][2 * i] = spans[name][0].magnitude
        arrays[name][2 * i + 1] = spans[name][1].magnitude
    values = f(**arrays)
    margins = f.margins(**arrays)
    unit = model.ruleset.quantities[point.target].pint_unit

    def broken(k):  # NaN (the end cannot be) counts as broken, as in sweeps
        return tuple(cid for cid, m in margins.items() if not m[k] >= 0)

    return {n: (Quantity(values[2 * i], unit), Quantity(values[2 * i + 1], unit),
                broken(2 * i), broken(2 * i + 1)) for i, n in enumerate(names)}
