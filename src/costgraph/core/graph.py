"""The rule graph: quantities and rules as a networkx DiGraph.

Edges run from a rule's inputs to the rule and from the rule to the quantity it defines,
so "upstream" means "what a value is made of" and "downstream" means "what it feeds".
"""

from __future__ import annotations

import networkx as nx

from ..errors import UnknownQuantityError
from ..lang.rules import RuleSet


def walk_up(ruleset: RuleSet, names, stop=()) -> list[str]:
    """``names`` and every quantity reached from them up the rules, in the order visited;
    the rule of a name in ``stop`` is not followed. The one upstream walk: the planner and
    the lineage questions both take it."""
    seen, order, stack = set(), [], list(names)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        order.append(name)
        if name not in stop:
            stack.extend(_inputs_of(ruleset, name))
    return order


def _inputs_of(ruleset: RuleSet, name: str):
    rule = ruleset.rule_for(name)
    return rule.expr.names if rule is not None else ()


class RuleGraph:
    """Lineage questions over a RuleSet; every answer is a sorted list of names."""

    def __init__(self, ruleset: RuleSet):
        self.ruleset = ruleset
        g = nx.DiGraph()
        for name in ruleset.quantities:
            g.add_node(name, kind="quantity")
        for rule in ruleset.rules.values():
            node = ("rule", rule.id)
            g.add_node(node, kind="rule")
            for name in rule.expr.names:
                g.add_edge(name, node)
            g.add_edge(node, rule.defines)
        self.nx = g

    def _check(self, name: str):
        if name not in self.ruleset.quantities:
            raise UnknownQuantityError(name, list(self.ruleset.quantities))

    def upstream_of(self, name: str) -> list[str]:
        """Every quantity ``name`` is derived from, directly or not."""
        self._check(name)
        return sorted(n for n in nx.ancestors(self.nx, name) if isinstance(n, str))

    def downstream_of(self, name: str) -> list[str]:
        """Every quantity derived from ``name``, directly or not."""
        self._check(name)
        return sorted(n for n in nx.descendants(self.nx, name) if isinstance(n, str))

    def reached_from(self, names, stop=()) -> set[str]:
        """The quantities reached by walking up the rules from ``names`` (each of which is
        walked from even when in ``stop``); a reached name in ``stop`` is not walked past."""
        inputs = [dep for name in names for dep in _inputs_of(self.ruleset, name)]
        return set(walk_up(self.ruleset, inputs, stop))

    def inputs_for(self, name: str) -> list[str]:
        """The leaf quantities (inputs, no rule) that a value of ``name`` needs."""
        return sorted(n for n in self.upstream_of(name) if self.ruleset.rule_for(n) is None)

    def is_input(self, name: str) -> bool:
        self._check(name)
        return self.ruleset.rule_for(name) is None
