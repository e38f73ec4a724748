"""The compiled path's expressions: the rules translated with min, max and where left unevaluated.

sympy's ``Min``/``Max`` simplify their arguments whenever they are built, comparing every
pair symbolically, and ``Piecewise`` does the same with its conditions; substituting one
rule into another, then the fixed values into the result, rebuilds them at every step, and
that simplification was most of the time of a compile. The compiled path needs none of it:
numpy evaluates ``maximum``/``minimum``/``where`` element-wise whatever their arguments. So
its expressions use opaque functions (``cg_max``, ``cg_min``, ``cg_where``) that sympy
keeps as they are, and ``numpy_function`` maps them onto numpy (``compile_namespace``).
"""

from __future__ import annotations

import threading
import weakref

import sympy

from ..lang.expr import SympyBackend, translate


class cg_max(sympy.Function):  # noqa: N801 - the name lambdify prints and NUMPY_FUNCS maps
    """max of its arguments, folded only when every one is a number."""

    @classmethod
    def eval(cls, *args):
        if all(a.is_Number for a in args):
            return max(args)
        return None


class cg_min(sympy.Function):  # noqa: N801
    """min of its arguments, folded only when every one is a number."""

    @classmethod
    def eval(cls, *args):
        if all(a.is_Number for a in args):
            return min(args)
        return None


class cg_where(sympy.Function):  # noqa: N801
    """``a`` where ``cond`` holds, else ``b``; a condition known when built picks its branch
    (so a branch undefined where it is not chosen, a division by a zero, never reaches numpy)."""

    nargs = 3

    @classmethod
    def eval(cls, cond, a, b):
        if cond is sympy.true:
            return a
        if cond is sympy.false:
            return b
        return None



OPAQUE = (cg_max, cg_min, cg_where)


class UnevaluatedBackend(SympyBackend):
    """SympyBackend whose min, max and where stay as written (no symbolic simplification)."""

    def where(self, cond, a, b, expr, node):
        return cg_where(cond, a(), b())

    def call(self, name, args, expr, node):
        if name == "min":
            return cg_min(*args)
        if name == "max":
            return cg_max(*args)
        return super().call(name, args, expr, node)


class _Composer:
    """One model's rules as unevaluated expressions, translated on first use, and their
    composites per set of known quantities."""

    def __init__(self, model):
        self._model = weakref.ref(model)
        self._exprs: dict[str, sympy.Expr] = {}
        self._composites: dict[tuple[str, frozenset], sympy.Expr] = {}

    def expr(self, name: str) -> sympy.Expr:
        found = self._exprs.get(name)
        if found is None:
            model = self._model()
            rule = model.ruleset.rule_for(name)
            found = self._exprs.setdefault(name, translate(rule.expr,
                                                           UnevaluatedBackend(model.symbols)))
        return found

    def composite(self, name: str, known: frozenset) -> sympy.Expr:
        key = (name, known)
        found = self._composites.get(key)
        if found is not None:
            return found
        model = self._model()
        subs = {}
        for dep in model.ruleset.rule_for(name).expr.names:
            if dep not in known and model.ruleset.rule_for(dep) is not None:
                subs[model.symbols[dep]] = self.composite(dep, known)
        expr = self.expr(name)
        expr = expr.xreplace(subs) if subs else expr
        if len(self._composites) > 8192:  # many distinct known sets: start again, bounded
            self._composites.clear()
        return self._composites.setdefault(key, expr)


_COMPOSERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def composite(model, name: str, known: frozenset) -> sympy.Expr:
    """``name``'s rule with every unknown derived input expanded, min/max/where unevaluated.

    The compiled path's counterpart of ``Planner.composite``: the same expression up to the
    simplification sympy would make of its min, max and where.
    """
    composer = _COMPOSERS.get(model)
    if composer is None:
        with _LOCK:
            composer = _COMPOSERS.setdefault(model, _Composer(model))
    return composer.composite(name, frozenset(known))
