"""The one guarded call into ``sympy.solve``: asked only where its answer can be relied on.

``sympy.solve`` can run for minutes, or give up with one of several exceptions, on shapes the
rules produce: an unknown inside ``exp`` or ``log`` with float coefficients (it may expand
``exp(c*x)`` into a vast polynomial), a step (``where``, ``floor``, ``ceil``), or a very large
expression. The exact solve, its closed forms, the compiled path and seek's closed form all
ask through ``solvable`` and ``guarded_solve``, so each of those shapes is refused alike.

>>> import sympy
>>> x, y = sympy.symbols("x y", positive=True)
>>> guarded_solve(sympy.Eq(y, 2 * x), x) if solvable(2 * x, x, 200) else None
[y/2]
>>> solvable(sympy.exp(x) + x, x, 200)
False
"""

from __future__ import annotations

from .. import lazy
from . import symbolic_cache

sympy = lazy.module("sympy")  # the forward solve runs on floats: only inversion needs sympy


def _steps() -> tuple:
    """The functions no single formula crosses: a step (where, floor, ceil)."""
    return sympy.Piecewise, sympy.ceiling, sympy.floor


def _gave_up() -> tuple:
    """What sympy raises when it gives up on an equation instead of answering."""
    return NotImplementedError, ValueError, TypeError, sympy.PolynomialError


def solvable(expr, unknown, max_ops: int) -> bool:
    """Whether ``sympy.solve`` may be asked for ``unknown`` in ``expr``: no step, at most
    ``max_ops`` operations, and the unknown inside no ``exp`` or ``log``."""
    if expr.has(*_steps()) or sympy.count_ops(expr) > max_ops:
        return False
    return not any(a.has(unknown) for a in expr.atoms(sympy.exp, sympy.log))


def guarded_solve(equation, unknown, **options) -> list | None:
    """``sympy.solve(equation, unknown, **options)``, kept in memory and on disk
    (``symbolic_cache``), its warnings silenced; None when sympy gives up (raises)."""
    try:
        return list(symbolic_cache.solve(equation, unknown, **options))
    except _gave_up():
        return None
