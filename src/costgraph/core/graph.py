"""The rule graph: quantities and rules as a networkx DiGraph.

Edges run from a rule's inputs to the rule and from the rule to the quantity it defines,
so "upstream" means "what a value is made of" and "downstream" means "what it feeds".
"""

from __future__ import annotations


from .. import lazy
from ..errors import UnknownQuantityError
from ..lang.rules import RuleSet

nx = lazy.module("networkx")



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
        # quantity -> the quantities its rule reads, and the reverse: lineage is a walk over
        # these, no graph library needed (a command asking it pays no networkx import)
        self._reads = {r.defines: tuple(r.expr.names) for r in ruleset.rules.values()}
        self._read_by: dict[str, list[str]] = {}
        for defines, names in self._reads.items():
            for name in names:
                self._read_by.setdefault(name, []).append(defines)

    @property
    def nx(self):
        """The rules as a networkx DiGraph: quantities, ("rule", id) nodes, and edges from
        each rule's inputs to it and from it to what it defines."""
        g = nx.DiGraph()
        for name in self.ruleset.quantities:
            g.add_node(name, kind="quantity")
        for rule in self.ruleset.rules.values():
            node = ("rule", rule.id)
            g.add_node(node, kind="rule")
            for name in rule.expr.names:
                g.add_edge(name, node)
            g.add_edge(node, rule.defines)
        return g

    def _check(self, name: str):
        if name not in self.ruleset.quantities:
            raise UnknownQuantityError(name, list(self.ruleset.quantities))

    @staticmethod
    def _walk(start: str, edges) -> set[str]:
        seen, stack = set(), list(edges.get(start, ()))
        while stack:
            name = stack.pop()
            if name not in seen:
                seen.add(name)
                stack.extend(edges.get(name, ()))
        return seen

    def upstream_of(self, name: str) -> list[str]:
        """Every quantity ``name`` is derived from, directly or not."""
        self._check(name)
        return sorted(self._walk(name, self._reads))

    def downstream_of(self, name: str) -> list[str]:
        """Every quantity derived from ``name``, directly or not."""
        self._check(name)
        return sorted(self._walk(name, self._read_by))

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
