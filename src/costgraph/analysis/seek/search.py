"""The numeric search behind ``seek``: vectorised bisection, enumeration, grid and refine.

This module knows nothing about rules or units. It sees decision variables with bounds
(real or whole) and a vectorised ``evaluate`` returning, per point, a score to maximise and
each constraint's relative margin (>= 0 where it holds). The strategy:

* **A line variable.** If, on a sample of the space, the score and every margin are monotone
  in one variable with the others fixed, then for each setting of the others the feasible
  values of that variable form one interval, found by bisecting where the constraints that
  rise with it start to hold and where those that fall with it stop holding. The best point
  is one end of that interval. Whole-number variables bisect on whole numbers, so the
  answer is the integer optimum, not a rounded real one.
* **The other variables** are enumerated when they are all whole numbers with few enough
  combinations (the answer is then exact); otherwise a grid is searched and refined around
  its best points.
* No monotone variable: the grid-and-refine search runs over every variable.

Open bounds are searched up to a cap; an optimum on the cap is reported as unbounded.
Ties (scores within ``TIE``) go to the smallest values of the variables.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ...core.roots import bisect, inverse, scale
from .line import TIE, Line, Problem, Scores, Variable, better, direct

ENUMERATE_LIMIT = 8192  # whole-number combinations evaluated one by one (exact answer)
GRID_BUDGET = 2048  # points in the first grid when enumeration is out of reach
REFINE_POINTS = 9  # points per variable in each refinement box
REFINE_KEEP = 3  # best points whose neighbourhoods are refined each round
MAX_ROUNDS = 60  # refinement rounds; real boxes shrink 4x a round, so 60 reaches 1e-30
SAMPLE_LINE = 49  # points along a candidate line variable when checking monotonicity
SAMPLE_OTHERS = 64  # settings of the other variables when checking monotonicity
HAIR = 1e-12  # how far inside an unsnapped real boundary the optimum is kept, relative
NEIGHBOUR = 1e-7  # nearest real neighbour of an optimum the binding test looks at (scale)

__all__ = ["Outcome", "Problem", "Variable", "choose_line", "search"]


# --- which variable is a line ---------------------------------------------------------------


def choose_line(problem: Problem) -> Variable | None:
    """The first variable along which score and margins are monotone on a sample.

    Candidates in order: the objective when it is a decision variable, then real variables,
    then whole ones from the widest range down (bisecting the widest saves the most).
    """
    order = sorted(problem.variables,
                   key=lambda v: (v.name != problem.objective, v.integer, -v.count(), v.name))
    for var in order:
        if _monotone_along(problem, var):
            return var
    return None


def _monotone_along(problem: Problem, var: Variable) -> bool:
    others = [v for v in problem.variables if v is not var]
    per = max(2, int(SAMPLE_OTHERS ** (1 / len(others)))) if others else 1
    settings = list(itertools.product(*(v.grid(per) for v in others))) or [()]
    xs = var.grid(SAMPLE_LINE)
    if xs.size < 3:
        return True
    points = {v.name: np.repeat([s[i] for s in settings], xs.size)
              for i, v in enumerate(others)}
    points[var.name] = np.tile(xs, len(settings))
    score, margins = problem.run(points)
    rows = list(margins)
    if problem.objective != var.name:
        rows.append(score)
    for values in rows:
        for line in values.reshape(len(settings), xs.size):
            if not _monotone(line):
                return False
    return True


def _monotone(values: np.ndarray) -> bool:
    v = np.nan_to_num(values, nan=-1e300, posinf=1e300, neginf=-1e300)
    d = np.diff(v)
    size = np.maximum(np.abs(v[:-1]), np.abs(v[1:]))
    d = np.where(np.abs(d) <= 1e-9 * size, 0.0, d)
    return bool(np.all(d >= 0) or np.all(d <= 0))


# --- the whole search ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What the search found, in declared units."""

    point: dict  # name -> value at the optimum (or the least-bad point when infeasible)
    feasible: bool
    score: float
    binding: tuple[str, ...] = ()
    limiting: tuple[str, ...] = ()  # constraints that stop the line variable at the optimum
    line: str | None = None
    method: str = ""
    evaluations: int = 0
    unbounded: tuple[str, str] | None = None  # (variable, "upper" | "lower")
    end: str = ""  # "max" or "min": the end of its feasible range the line variable took
    least: float = math.nan  # the least-bad point's worst margin, when infeasible


def search(problem: Problem) -> Outcome:
    """Find the best feasible point, or the least-bad one; see the module docstring."""
    line = choose_line(problem)
    outer = [v for v in problem.variables if v is not line]

    def score_settings(others: dict, drop=None, n=None) -> Scores:
        if line is not None:
            return Line(problem, line, others, drop, n).solve()
        return direct(problem, others, drop)

    settings, scores, method, steps = _outer_search(problem, outer, score_settings)
    best = _pick(settings, scores, outer)
    feasible = bool(scores.feasible[best])
    point = {v.name: float(settings[v.name][best]) for v in outer}
    if line is not None:
        point[line.name] = float(scores.x[best] if feasible else scores.least_x[best])
    parts = [f"{line.name} by bisection (score and constraints monotone in it)"
             if line is not None else "no variable is monotone"] + ([method] if method else [])
    method = "; ".join(parts)
    if not feasible:
        return Outcome(point, False, -math.inf, line=line.name if line else None,
                       method=method, evaluations=problem.evaluations,
                       least=float(scores.least[best]))
    limiting, end = _settle_line(problem, line, point, scores, best) if line else ((), "")
    score, _ = problem.run({k: np.array([v]) for k, v in point.items()})
    unbounded = next(((v.name, v.at_cap(point[v.name])) for v in problem.variables
                      if v.at_cap(point[v.name])), None)
    binding = () if unbounded else _binding(problem, outer, line, point, float(score[0]),
                                            steps, score_settings)
    return Outcome(point, True, float(score[0]), binding, limiting,
                   line.name if line else None, method, problem.evaluations, unbounded, end=end)


def _settle_line(problem, line, point, scores, best):
    """Place the line variable: at the plateau's start when the score stops improving
    before the range ends (ties go to the smaller value), else at its end, snapped to a
    short value if one holds. Returns the constraints that stop it there, and which end."""
    x, low, past = point[line.name], float(scores.low[best]), float(scores.beyond[best])
    if problem.objective != line.name and x > low:
        start = _plateau_start(problem, line, point, low, float(scores.score[best]))
        if start < x:
            point[line.name] = start
            return (), ""
    if not math.isfinite(past):
        return (), ""
    point[line.name] = _snap(problem, line, point, past)
    if point[line.name] == x and not line.integer:
        # a boundary no short number meets: keep a hair inside it, so that the exact
        # (pint) check agrees it holds despite rounding in the last bits
        inside = x - math.copysign(HAIR * max(abs(x), 1.0), past - x)
        if not _violated_at(problem, {**point, line.name: inside}):
            point[line.name] = inside
    return _violated_at(problem, {**point, line.name: past}), "max" if past > x else "min"


def _plateau_start(problem, line, point, low, score) -> float:
    """The smallest value of the line variable whose score ties the best (exactly, for a
    real variable: a real tie short of the end is a plateau, not rounding)."""
    target = score - (TIE * abs(score) if line.integer else 0.0)
    fixed = {k: np.array([v]) for k, v in point.items() if k != line.name}

    def reaches(rows, x):
        s, _ = problem.run({**{k: np.repeat(v, len(rows)) for k, v in fixed.items()},
                            line.name: np.asarray(x, float)})
        return s >= target, s - target

    if reaches([0], np.array([low]))[0][0]:
        return low
    x_true, _ = bisect(reaches, np.array([point[line.name]]), np.array([low]), line.integer)
    return float(x_true[0])


def _outer_search(problem, outer, score_settings):
    if not outer:
        return {}, score_settings({}), "", {}
    sizes = [v.count() for v in outer]
    total = math.prod(sizes)
    if total <= ENUMERATE_LIMIT:
        grids = [v.grid(int(c)) for v, c in zip(outer, sizes)]
        settings = _product(outer, grids)
        names = ", ".join(v.name for v in outer)
        return (settings, score_settings(settings),
                f"{names} enumerated ({int(total):,} values)",
                {v.name: 1.0 for v in outer})
    return _refine(outer, score_settings)


def _product(variables, grids) -> dict:
    mesh = np.meshgrid(*grids, indexing="ij")
    return {v.name: m.ravel() for v, m in zip(variables, mesh)}


def _refine(outer, score_settings):
    """Grid over the outer variables, then zoom on the best few points, round after round.

    Each point remembers how far its neighbourhood reaches (on the search scale, per
    variable); exploring a neighbourhood shrinks it, so a point that stays on top is looked
    at ever more closely. Whole-number neighbourhoods always include the next value either
    way, and stop yielding new points once they are enumerated.
    """
    k = len(outer)
    first = max(REFINE_POINTS, int(GRID_BUDGET ** (1 / k)))
    seen: dict[tuple, tuple] = {}
    reach: dict[tuple, list] = {}
    todo = [(None, tuple((v.search_low, v.search_high) for v in outer), first)]
    rounds = 0
    for rounds in range(1, MAX_ROUNDS + 1):
        new: dict[tuple, list] = {}
        for owner, box, n in todo:
            grids = [v.grid(n, lo, hi) for v, (lo, hi) in zip(outer, box)]
            if owner is not None:  # the owner's next look is closer
                reach[owner] = [_step(g) / 2 for g in grids]
            steps = [_local_steps(g) for g in grids]
            for index in itertools.product(*(range(len(g)) for g in grids)):
                p = tuple(float(g[i]) for g, i in zip(grids, index))
                if p not in seen and p not in new:
                    new[p] = [st[i] for st, i in zip(steps, index)]
        if not new:
            break
        pts = list(new)
        arrays = {v.name: np.array([p[i] for p in pts]) for i, v in enumerate(outer)}
        s = score_settings(arrays)
        for i, p in enumerate(pts):
            seen[p] = (s.x[i], s.score[i], s.feasible[i], s.beyond[i], s.least_x[i], s.least[i],
                       s.low[i])
            reach[p] = new[p]
        todo = [(p, _box(outer, p, reach[p]), REFINE_POINTS) for p in _top(seen, REFINE_KEEP)]
    pts = sorted(seen)
    settings = {v.name: np.array([p[i] for p in pts]) for i, v in enumerate(outer)}
    cols = list(zip(*(seen[p] for p in pts)))
    scores = Scores(*(np.array(c, dtype=float) for c in cols))
    scores.feasible = scores.feasible.astype(bool)
    best = _pick(settings, scores, outer)
    steps = {v.name: reach[pts[best]][i] for i, v in enumerate(outer)}
    names = ", ".join(v.name for v in outer)
    return settings, scores, f"{names} by grid and refinement ({len(pts):,} points, " \
                             f"{rounds} rounds)", steps


def _step(grid: np.ndarray) -> float:
    """The widest spacing of a grid on the search scale."""
    return float(np.max(np.diff(scale(grid)))) if grid.size > 1 else 0.0


def _local_steps(grid: np.ndarray) -> np.ndarray:
    """For each grid point, the distance to its farther neighbour on the search scale."""
    t = scale(grid)
    if t.size < 2:
        return np.zeros_like(t)
    gaps = np.diff(t)
    return np.maximum(np.concatenate([[gaps[0]], gaps]), np.concatenate([gaps, [gaps[-1]]]))


def _box(outer, p, steps):
    box = []
    for v, x, step in zip(outer, p, steps):
        lo = max(float(inverse(scale(x) - step)), v.search_low)
        hi = min(float(inverse(scale(x) + step)), v.search_high)
        if v.integer:
            lo, hi = max(min(lo, x - 1), v.search_low), min(max(hi, x + 1), v.search_high)
        box.append((lo, hi))
    return tuple(box)


def _top(seen: dict, k: int) -> list:
    def key(p):
        _, score, feasible, _, _, least, _ = seen[p]
        return (not feasible, -score if feasible else -least, p)
    return sorted(seen, key=key)[:k]


def _pick(settings: dict, scores: Scores, outer) -> int:
    """Index of the best setting: feasible first, ties to the smallest values."""
    n = len(scores.score)
    order = np.lexsort([settings[v.name] for v in reversed(outer)]) if outer else np.arange(n)
    if scores.feasible.any():
        best = np.max(scores.score[scores.feasible])
        close = scores.feasible & ~better(np.full(n, best), scores.score)
    else:
        best = np.nanmax(scores.least)
        close = scores.least >= best - TIE * abs(best) if np.isfinite(best) else \
            scores.least == best
    return int(next(i for i in order if close[i]))


def _snap(problem, line, point, past) -> float:
    """A shorter real value between the optimum and the first infeasible value, if any holds.

    Bisection stops 1e-13 short of a boundary such as ``context_len <= 8192``; the boundary
    itself, when it holds, reads better and is the true optimum.
    """
    x = point[line.name]
    if line.integer:
        return x
    lo, hi = min(x, past), max(x, past)
    for digits in range(1, 16):
        r = float(f"{x:.{digits}g}")
        if lo <= r <= hi and r != x:
            _, margins = problem.run({k: np.array([r if k == line.name else v])
                                      for k, v in point.items()})
            if np.all(problem.ok(margins)):
                return r
    return x


def _violated_at(problem, point) -> tuple[str, ...]:
    _, margins = problem.run({k: np.array([v]) for k, v in point.items()})
    ok = problem.ok(margins)[:, 0]
    return tuple(c for c, good in zip(problem.constraint_ids, ok) if not good)


def _binding(problem, outer, line, point, score, steps, score_settings) -> tuple[str, ...]:
    """Constraints whose removal alone lets in a better point that breaks them.

    Candidates: the optimum and one step either way in each outer variable (one whole
    number, or the last grid spacing but at least ``NEIGHBOUR`` on the search scale), each
    re-solved along the line variable without the constraint. A constraint binds when that
    gives a better score at a point where the constraint fails.
    """
    m = len(problem.constraint_ids)
    if m == 0:
        return ()
    near = [tuple(point[v.name] for v in outer)]
    for i, v in enumerate(outer):
        step = max(steps.get(v.name, 0.0), NEIGHBOUR)
        for sign in (-1, 1):
            x = point[v.name]
            y = x + sign if v.integer else float(inverse(scale(x) + sign * step))
            y = min(max(y, v.search_low), v.search_high)
            if y != x:
                near.append(tuple(y if j == i else c for j, c in enumerate(near[0])))
    rows = [(p, c) for c in range(m) for p in near]
    others = {v.name: np.array([p[i] for p, _ in rows]) for i, v in enumerate(outer)}
    dropped = np.array([c for _, c in rows])
    s = score_settings(others, dropped, len(rows))
    improves = np.flatnonzero(s.feasible & better(s.score, np.full(len(rows), score)))
    if improves.size == 0:
        return ()
    at = {k: v[improves] for k, v in others.items()}
    if line is not None:
        at[line.name] = s.x[improves]
    _, margins = problem.run(at)
    broken = ~problem.ok(margins)[dropped[improves], np.arange(improves.size)]
    hit = set(dropped[improves][broken])
    return tuple(cid for c, cid in enumerate(problem.constraint_ids) if c in hit)
