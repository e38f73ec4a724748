"""The one definition of a constraint's slack and of when a constraint binds.

A constraint ``left <= right`` (or ``<``) has the slack ``right - left``, and ``left >= right``
(or ``>``) has ``left - right``: positive while it holds, negative by how much it fails. The
relative slack divides by the size of the right side, so that constraints in different units
compare; against a right side of zero (``headroom >= 0 GB``) by the size of the left. A constraint binds
when its two sides agree to ``BINDING_RTOL``. The exact path (``ConstraintStatus``), the
compiled path (``CompiledFunction.margins``), seek, sweep and the diagrams all read these.

>>> slack(3.0, 5.0, "<=")
2.0
>>> float(relative_slack(6.0, 5.0, "<="))
-0.2
>>> binds(1.0 + 1e-9)
True
"""

from __future__ import annotations

import numpy as np

from .. import lazy

sympy = lazy.module("sympy")  # for the compiled path's expression only
BINDING_RTOL = 1e-6  # two sides that agree this closely leave no slack


def is_upper(op: str) -> bool:
    """Whether ``op`` bounds its left side from above (``<=`` or ``<``)."""
    return op in ("<=", "<")


def slack(left, right, op: str):
    """How far ``left op right`` is from failing, in the sides' own unit (< 0: it fails).

    Works alike on numbers, pint quantities, numpy arrays and sympy expressions.
    """
    return right - left if is_upper(op) else left - right


def relative_slack(left, right, op: str, *, zero_right: str = "left") -> np.ndarray:
    """The slack over ``|right|``, as numpy.

    Where the right side is zero it is over ``|left|`` (``zero_right="left"``: ``headroom >=
    0 GB`` reads +1 or -1), or the slack itself (``zero_right="absolute"``): a search needs a
    margin that goes on falling as a right side it moves shrinks to zero, where one over the
    left would jump back to -1 and make the margin look non-monotone.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        left, right = np.asarray(left, float), np.asarray(right, float)
        diff = slack(left, right, op)
        size = np.abs(right)
        if zero_right == "left":
            size = np.where(size > 0, size, np.abs(left))
        return np.where(size > 0, diff / np.where(size > 0, size, 1.0), diff)


def relative_slack_expr(left: sympy.Expr, right: sympy.Expr, op: str) -> sympy.Expr:
    """``relative_slack`` (over the left side against zero) as an expression of the
    compiled path, its choices left unevaluated (``compile_exprs.cg_where``)."""
    from .compile_exprs import cg_where

    diff = slack(left, right, op)
    return cg_where(sympy.Ne(right, 0), diff / sympy.Abs(right),
                    cg_where(sympy.Ne(left, 0), diff / sympy.Abs(left), 0))


def binds(ratio: float | None) -> bool:
    """Whether a constraint whose sides stand at ``ratio`` (left / right) has no slack left."""
    return ratio is not None and abs(ratio - 1) <= BINDING_RTOL
