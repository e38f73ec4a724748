"""Quantities as sympy symbols and rules as sympy expressions, each made on first use.

The forward solve runs on floats and never needs sympy; inverting a rule, compiling and
levers do. These mappings stand where dicts of every symbol and every translated rule stood,
and make an entry (importing sympy the first time) only when it is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .rules import QuantityDef, RuleSet

if TYPE_CHECKING:
    import sympy


class Symbols(Mapping):
    """Quantity name to its sympy Symbol (with its sign assumptions), each made on first use."""

    def __init__(self, ruleset: RuleSet):
        self._quantities = ruleset.quantities
        self._made: dict = {}

    def __getitem__(self, name):
        found = self._made.get(name)
        if found is None:
            found = self._made.setdefault(name, _symbol(self._quantities[name]))
        return found

    def __iter__(self):
        return iter(self._quantities)

    def __len__(self):
        return len(self._quantities)


class RuleExpressions(Mapping):
    """Derived quantity to its rule as a sympy expression, each translated on first use."""

    def __init__(self, ruleset: RuleSet, symbols: Mapping):
        self._rules = {r.defines: r for r in ruleset.rules.values()}
        self._symbols = symbols
        self._made: dict = {}

    def __getitem__(self, name):
        found = self._made.get(name)
        if found is None:
            from .expr import SympyBackend, translate

            found = self._made.setdefault(name, translate(self._rules[name].expr,
                                                          SympyBackend(self._symbols)))
        return found

    def __iter__(self):
        return iter(self._rules)

    def __len__(self):
        return len(self._rules)


def _symbol(q: QuantityDef) -> "sympy.Symbol":
    import sympy

    if q.low is not None and q.low > 0:
        return sympy.Symbol(q.name, positive=True)
    if q.low is not None and q.low == 0:
        return sympy.Symbol(q.name, nonnegative=True)
    return sympy.Symbol(q.name, real=True)
