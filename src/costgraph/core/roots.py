"""The one root finder: narrow, per element, where a monotone condition flips.

Values are searched on a scale that is linear near zero and logarithmic far from it, so one
bracket can span 0 to 1e30; each step also tries the false-position estimate, so brackets
around nearly linear margins close in a few steps instead of ~50. ``bisect`` serves seek's
searches and the charts' constraint boundaries; ``sign_root``, built on it, the exact and
the compiled solves of an equation used backwards.

>>> import numpy as np
>>> root = sign_root(lambda rows, x: x * x - 2.0, np.array([1.0]), np.array([2.0]))
>>> abs(float(root[0]) - 2 ** 0.5) < 1e-15
True
"""

from __future__ import annotations

import numpy as np

MAX_BISECT = 200  # steps; log-spaced halving alone reaches 1e-13 within ~110
REL_TOL = 1e-13  # a real bracket is closed when this narrow, relative
ABS_TOL = 1e-12  # ... or this narrow in the variable's declared unit, near zero


def scale(x):
    """The search scale: linear near zero, logarithmic far from it, sign kept.

    Bisecting on this scale brackets a value anywhere from 1e-12 to 1e30 in ~110 steps.
    """
    return np.sign(x) * np.log1p(np.abs(x))


def inverse(u):
    return np.sign(u) * np.expm1(np.abs(u))


def bisect(pred, x_true, x_false, integer: bool, prune=None, *, rel_tol: float = REL_TOL,
           abs_tol: float = ABS_TOL):
    """Per element, narrow [x_true, x_false] to adjacent points, ``pred`` True at the first.

    ``pred(rows, x)`` answers for the elements ``rows`` at values ``x`` with ``(holds,
    value)``: ``holds`` must be True at ``x_true`` and False at ``x_false`` (either may be the
    larger), and ``value`` is a continuous signed measure of it (>= 0 roughly where it
    holds; NaN when there is none). Whole-number brackets end one apart; real ones within
    ``rel_tol`` (or ``abs_tol`` near zero), or where float precision runs out.

    Each step evaluates three points at once: the midpoint on the search scale, which at
    least halves the bracket, and two points just either side of the false-position
    estimate from ``value``, which close it at once when the estimate is good (the margins
    of cost rules are often linear in the variable). So a bracket from 0 to 1e30 usually
    closes in a few steps, and never takes more than plain bisection.

    ``prune(x_true, x_false)``, if given, marks elements that need no further narrowing
    (their brackets are left as they are).
    """
    x_true, x_false = np.array(x_true, float), np.array(x_false, float)
    n = x_true.size
    v_true, v_false = np.full(n, np.nan), np.full(n, np.nan)
    guess = np.full(n, np.nan)
    active = ~_adjacent(x_true, x_false, integer, rel_tol, abs_tol)
    for _ in range(MAX_BISECT):
        if prune is not None:
            active &= ~prune(x_true, x_false)
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        a, b = x_true[rows], x_false[rows]
        mid = _midpoint(a, b, integer)
        estimate = _false_position(a, b, v_true[rows], v_false[rows])
        near, far = _straddle(a, b, estimate, guess[rows], mid, integer, rel_tol, abs_tol)
        guess[rows] = estimate
        points = np.concatenate([mid, near, far])
        holds, value = pred(np.tile(rows, 3), points)
        holds = np.asarray(holds, dtype=bool).reshape(3, -1)
        value = np.broadcast_to(np.asarray(value, float), (3 * rows.size,)).reshape(3, -1)
        x_true[rows], v_true[rows], x_false[rows], v_false[rows] = _tighten(
            a, b, v_true[rows], v_false[rows], points.reshape(3, -1), holds, value)
        stuck = (x_true[rows] == a) & (x_false[rows] == b)  # float precision exhausted
        active[rows] = ~stuck & ~_adjacent(x_true[rows], x_false[rows], integer, rel_tol,
                                           abs_tol)
    return x_true, x_false


def sign_root(f, low, high, *, rel_tol: float = 4 * np.finfo(float).eps, abs_tol: float = 0.0):
    """Per element, where ``f`` changes sign between ``low`` and ``high`` (NaN where either
    end is not finite): of the closed bracket's two ends, the one where ``|f|`` is smaller.

    ``f(rows, x)`` evaluates the elements ``rows`` at values ``x``. The defaults narrow to
    float precision, as an exact solve wants.
    """
    low, high = np.asarray(low, float), np.asarray(high, float)
    out = np.full(low.shape, np.nan)
    rows = np.flatnonzero(np.isfinite(low) & np.isfinite(high))
    if rows.size == 0:
        return out
    with np.errstate(all="ignore"):
        side = np.sign(_values(f, rows, low[rows]))  # the sign that counts as holding

        def same_side(sub, x):
            value = _values(f, rows[sub], x) * side[sub]
            return value > 0, value

        a, b = bisect(same_side, low[rows], high[rows], False, rel_tol=rel_tol, abs_tol=abs_tol)
        fa, fb = np.abs(_values(f, rows, a)), np.abs(_values(f, rows, b))
    out[rows] = np.where(fb < fa, b, a)
    return out


def _values(f, rows, x):
    return np.broadcast_to(np.asarray(f(rows, x), float), np.shape(x))


def _false_position(a, b, va, vb):
    """Where the straight line through (a, va) and (b, vb) crosses zero; NaN if unknown."""
    with np.errstate(all="ignore"):
        x = a - va * (b - a) / (vb - va)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return np.where(np.isfinite(x) & (x > lo) & (x < hi), x, np.nan)


def _straddle(a, b, estimate, previous, mid, integer, rel_tol, abs_tol):
    """Two points either side of the estimate, as far apart as its last move (or a hair)."""
    if integer:
        near, far = np.floor(estimate), np.floor(estimate) + 1
    else:
        spread = np.abs(estimate - previous)
        spread = np.where(np.isfinite(spread), spread, 0.0)
        spread = np.maximum(spread, 4 * rel_tol * np.abs(estimate) + abs_tol)
        near, far = estimate - spread, estimate + spread
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    inside = lambda x: np.where(np.isfinite(x) & (x > lo) & (x < hi), x, mid)  # noqa: E731
    return inside(near), inside(far)


def _tighten(a, b, va, vb, points, holds, value):
    """The new bracket: the holding point nearest the far end, the failing one nearest the
    near end (monotonicity makes every holding point lie on the near side of every failing one)."""
    toward = np.sign(b - a)
    position = (points - a) * toward
    gap = (b - a) * toward
    pos_true = np.where(holds & (position > 0) & (position < gap), position, -np.inf)
    pos_false = np.where(~holds & (position > 0) & (position < gap), position, np.inf)
    i_true, i_false = pos_true.argmax(axis=0), pos_false.argmin(axis=0)
    cols = np.arange(points.shape[1])
    move_true = np.isfinite(pos_true[i_true, cols])
    move_false = np.isfinite(pos_false[i_false, cols])
    new_a = np.where(move_true, points[i_true, cols], a)
    new_va = np.where(move_true, value[i_true, cols], va)
    new_b = np.where(move_false, points[i_false, cols], b)
    new_vb = np.where(move_false, value[i_false, cols], vb)
    return new_a, new_va, new_b, new_vb


def _adjacent(a, b, integer, rel_tol, abs_tol):
    gap = np.abs(a - b)
    if integer:
        return gap <= 1
    return (gap <= rel_tol * np.maximum(np.abs(a), np.abs(b))) | (gap <= abs_tol)


def _midpoint(a, b, integer):
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    mid = inverse(0.5 * (scale(lo) + scale(hi)))
    mid = np.where((mid > lo) & (mid < hi), mid, lo + 0.5 * (hi - lo))
    if integer:
        mid = np.clip(np.floor(mid), lo + 1, hi - 1)
    return mid
