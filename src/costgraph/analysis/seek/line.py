"""The search's view of a question, and the solve along one variable with the others fixed.

A ``Problem`` holds the decision variables (bounds in declared units, real or whole) and a
vectorised evaluation: per point, a score to maximise and each constraint's relative margin
(>= 0 where it holds). ``Line`` finds, for many settings of the other variables at once,
the interval of one variable where every constraint holds, and the better of its two ends.
Nothing here knows about rules or units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...core.roots import bisect, inverse, scale

CAP_REAL = 1e30  # stands in for an open bound on a real variable, in its declared unit
CAP_INT = 2.0 ** 53  # the largest whole number a float holds exactly
TIE = 1e-11  # relative score difference treated as a tie


@dataclass(frozen=True)
class Variable:
    """A decision variable: its bounds in its declared unit, and whether it is whole."""

    name: str
    low: float
    high: float
    integer: bool = False

    @property
    def cap(self) -> float:
        return CAP_INT if self.integer else CAP_REAL

    @property
    def search_low(self) -> float:
        return self.low if math.isfinite(self.low) else -self.cap

    @property
    def search_high(self) -> float:
        return self.high if math.isfinite(self.high) else self.cap

    def at_cap(self, x: float) -> str | None:
        """"upper" or "lower" when ``x`` sits on a cap standing in for an open bound."""
        if not math.isfinite(self.high) and x >= self.cap:
            return "upper"
        if not math.isfinite(self.low) and x <= -self.cap:
            return "lower"
        return None

    def count(self, low: float | None = None, high: float | None = None) -> float:
        """How many whole values lie in [low, high] (inf for a real variable)."""
        if not self.integer:
            return math.inf
        low = self.search_low if low is None else low
        high = self.search_high if high is None else high
        return math.floor(high) - math.ceil(low) + 1

    def grid(self, n: int, low: float | None = None, high: float | None = None) -> np.ndarray:
        """``n`` points from low to high, evenly spaced on the search scale (ends included)."""
        low = self.search_low if low is None else low
        high = self.search_high if high is None else high
        if self.integer and self.count(low, high) <= n:
            return np.arange(math.ceil(low), math.floor(high) + 1, dtype=float)
        points = inverse(np.linspace(scale(low), scale(high), max(n, 2)))
        points[0], points[-1] = low, high
        if self.integer:
            points = np.clip(np.round(points), math.ceil(low), math.floor(high))
        return np.unique(points)


class Problem:
    """What the search sees: decision variables and a vectorised evaluation.

    ``evaluate(points)`` takes ``{name: array}`` (declared units, equal shapes) and returns
    ``(score, margins)``: the score to maximise, shape (n,), and constraint margins, shape
    (m, n), relative slack >= 0 where a constraint holds. ``strict`` marks ``<`` and ``>``
    constraints, which hold only where the margin is above zero.
    """

    def __init__(self, variables, evaluate, constraint_ids, strict, objective=None):
        self.variables = tuple(variables)
        self.by_name = {v.name: v for v in self.variables}
        self._evaluate = evaluate
        self.constraint_ids = tuple(constraint_ids)
        self.strict = np.asarray(strict, dtype=bool).reshape(-1, 1)
        self.objective = objective  # the name of a decision variable that is the objective
        self.evaluations = 0

    def run(self, points: dict) -> tuple[np.ndarray, np.ndarray]:
        """Score and margins with NaN read as the worst value (undefined never holds)."""
        n = len(next(iter(points.values()))) if points else 1
        self.evaluations += n
        score, margins = self._evaluate(points)
        score = np.nan_to_num(np.broadcast_to(np.asarray(score, float), (n,)), nan=-np.inf,
                              posinf=np.inf, neginf=-np.inf)
        margins = np.asarray(margins, dtype=float).reshape(len(self.constraint_ids), n)
        return score, np.where(np.isnan(margins), -np.inf, margins)

    def ok(self, margins: np.ndarray) -> np.ndarray:
        return np.where(self.strict, margins > 0, margins >= 0)


@dataclass
class Scores:
    """Per setting of the outer variables: the best point found and how it ranks."""

    x: np.ndarray  # the line variable's best value (NaN without a line variable)
    score: np.ndarray
    feasible: np.ndarray
    beyond: np.ndarray  # first infeasible value past x, where bisection found the end
    least_x: np.ndarray  # the least-bad value of the line variable where infeasible
    least: np.ndarray  # the worst margin at the least-bad point (maximised)
    low: np.ndarray  # the lower end of the line variable's feasible range (NaN: none)


class Line:
    """Solve along ``var`` for many settings ``others`` of the outer variables at once.

    ``drop`` (one constraint index per row, -1 for none) ignores that constraint in that
    row: the binding test asks what each constraint costs by solving without it. ``n`` is
    the number of rows when there are no outer variables.
    """

    def __init__(self, problem: Problem, var: Variable, others: dict, drop=None, n=None):
        self.problem, self.var, self.others = problem, var, others
        self.n = len(next(iter(others.values()))) if others else (n or 1)
        self.drop = None if drop is None else np.asarray(drop)

    def eval(self, rows, x):
        points = {k: v[rows] for k, v in self.others.items()}
        points[self.var.name] = np.broadcast_to(np.asarray(x, float), (len(rows),))
        score, margins = self.problem.run(points)
        if self.drop is not None:
            _drop(margins, self.drop[rows])
        return score, margins

    def solve(self) -> Scores:
        every = np.arange(self.n)
        lo = np.full(self.n, self.var.search_low)
        hi = np.full(self.n, self.var.search_high)
        s_lo, m_lo = self.eval(every, lo)
        s_hi, m_hi = self.eval(every, hi)
        rising, falling = m_hi > m_lo, m_hi < m_lo
        steady = ~(rising | falling)
        ok_lo, ok_hi = self.problem.ok(m_lo), self.problem.ok(m_hi)
        steady_ok = np.all(ok_lo | ~steady, axis=0)
        ends = (lo, hi, ok_lo, ok_hi)
        # rows that cannot win may stop early, but only where the score is the variable
        # itself (so a bracket bounds it) and every row is one question (no dropped constraint)
        prune = self.drop is None and self.problem.objective == self.var.name
        if prune and s_hi[0] < s_lo[0]:  # minimising the variable: the lower end decides
            b, b_past = self._end(*ends, falling, lower=False)
            a, a_past = self._end(*ends, rising, lower=True,
                                  rival=np.where(steady_ok, b, np.nan))
        else:
            a, a_past = self._end(*ends, rising, lower=True)
            b, b_past = self._end(*ends, falling, lower=False,
                                  rival=np.where(steady_ok, a, np.nan) if prune else None)
        feasible = steady_ok & np.isfinite(a) & np.isfinite(b) & (a <= b)
        x, beyond = np.full(self.n, np.nan), np.full(self.n, np.nan)
        score = np.full(self.n, -np.inf)
        rows = np.flatnonzero(feasible)
        if rows.size:
            s_a, _ = self.eval(rows, a[rows])
            s_b, _ = self.eval(rows, b[rows])
            # the better end; on a tie the lower one, unless it is only a cap
            take_b = better(s_b, s_a) | (~better(s_a, s_b) & self._capped(a[rows])
                                          & ~self._capped(b[rows]))
            x[rows] = np.where(take_b, b[rows], a[rows])
            beyond[rows] = np.where(take_b, b_past[rows], a_past[rows])
            score[rows] = np.where(take_b, s_b, s_a)
        least_x, least = self._least_bad(np.flatnonzero(~feasible), lo, hi,
                                         (rising, falling, steady), m_lo)
        return Scores(x, score, feasible, beyond, least_x, least, np.where(feasible, a, np.nan))

    def _capped(self, x):
        v = self.var
        return ((x >= v.cap) & (not math.isfinite(v.high))) | \
            ((x <= -v.cap) & (not math.isfinite(v.low)))

    def _end(self, lo, hi, ok_lo, ok_hi, group, lower, rival=None):
        """The lower end (where the rising constraints start to hold) or the upper end (where
        the falling ones stop), NaN where there is none; and the first value past it.

        With ``rival`` (the other end of each row's range), this end is the row's score: a row
        stops early once its bracket lies wholly behind a value another row surely reaches.
        """
        at_lo = np.all(ok_lo | ~group, axis=0)
        at_hi = np.all(ok_hi | ~group, axis=0)
        end, past = np.full(self.n, np.nan), np.full(self.n, np.nan)
        whole = at_lo if lower else at_hi
        end[whole] = (lo if lower else hi)[whole]
        need = np.flatnonzero(~whole & (at_hi if lower else at_lo))
        if need.size:
            def holds(sub, x):
                _, margins = self.eval(need[sub], x)
                mine = group[:, need[sub]]
                worst = np.where(mine, margins, np.inf).min(axis=0)
                return np.all(self.problem.ok(margins) | ~mine, axis=0), worst

            inside, outside = (hi, lo) if lower else (lo, hi)
            behind = None if rival is None else _behind(rival[need], -1.0 if lower else 1.0)
            end[need], past[need] = bisect(holds, inside[need], outside[need], self.var.integer,
                                           behind)
        return end, past

    def _least_bad(self, rows, lo, hi, groups, m_lo):
        """Where no value works: the value whose worst margin is largest.

        The worst rising margin rises and the worst falling one falls, so the best compromise
        is where they cross: a bisection on which of the two is worse.
        """
        least_x, least = np.full(self.n, np.nan), np.full(self.n, np.nan)
        if rows.size == 0:
            return least_x, least
        rising, falling, steady = groups

        def worst(r, margins, group):
            return np.where(group[:, r], margins, np.inf).min(axis=0, initial=np.inf)

        def rising_worse_no_more(r, x):
            _, margins = self.eval(r, x)
            with np.errstate(invalid="ignore"):  # inf - inf: neither side has constraints
                gap = worst(r, margins, rising) - worst(r, margins, falling)
            return ~(gap < 0), gap

        at_lo = rising_worse_no_more(rows, lo[rows])[0]
        at_hi = rising_worse_no_more(rows, hi[rows])[0]
        first, second = np.where(at_lo, lo[rows], hi[rows]), np.where(at_lo, lo[rows], hi[rows])
        need = np.flatnonzero(~at_lo & at_hi)
        if need.size:
            x_true, x_false = bisect(lambda sub, x: rising_worse_no_more(rows[need[sub]], x),
                                     hi[rows[need]], lo[rows[need]], self.var.integer)
            first[need], second[need] = x_true, x_false
        steady_worst = worst(rows, m_lo[:, rows], steady)
        values = []
        for cand in (first, second):
            _, margins = self.eval(rows, cand)
            values.append(np.minimum.reduce([worst(rows, margins, rising),
                                             worst(rows, margins, falling), steady_worst]))
        take = values[1] > values[0]
        least_x[rows] = np.where(take, second, first)
        least[rows] = np.where(take, values[1], values[0])
        return least_x, least


def _behind(rival, direction):
    """``prune(x_true, x_false)`` for bisect: rows whose best possible value is beaten.

    Along ``direction`` (+1: larger is better), a row surely reaches its ``x_true`` when its
    range is not empty there (its rival end is not past it); a row whose ``x_false`` lies
    behind the best of those by more than a tie cannot win, nor tie.
    """
    def prune(x_true, x_false):
        t, f, r = direction * x_true, direction * x_false, direction * rival
        sure = r <= t  # NaN rival: the row has no range, it proves nothing
        if not sure.any():
            return np.zeros(t.shape, dtype=bool)
        best = t[sure].max()
        return f < best - TIE * abs(best)
    return prune


def _drop(margins, drop):
    """Mark constraint ``drop[j]`` as holding in column j (-1: keep every constraint)."""
    hit = np.flatnonzero(drop >= 0)
    margins[drop[hit], hit] = np.inf


def better(a, b):
    """a beats b by more than a tie."""
    size = np.maximum(np.abs(a), np.abs(b))
    tie = np.where(np.isfinite(size), TIE * np.where(np.isfinite(size), size, 0.0), 0.0)
    with np.errstate(invalid="ignore"):
        return a > b + tie


def direct(problem: Problem, points: dict, drop=None) -> Scores:
    """Score points where every variable is given (no line variable)."""
    score, margins = problem.run(points)
    n = score.shape[0]
    if drop is not None:
        _drop(margins, np.asarray(drop))
    feasible = np.all(problem.ok(margins), axis=0)
    worst = margins.min(axis=0) if margins.size else np.full(n, np.inf)
    nan = np.full(n, np.nan)
    return Scores(nan, np.where(feasible, score, -np.inf), feasible, nan, nan, worst, nan)
