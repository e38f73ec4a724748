"""Planning: which equations determine which unknowns, and in what order.

A query fixes some quantities (``known``: inputs or derived ones) and asks for others.
Every quantity is then one of:

* known — its value is given (a given derived quantity *overrides* its rule);
* forward — derived by its own rule from values upstream;
* free — an input with no value. A free input is determined by an *equation*: the rule of a
  known derived quantity that depends on it (the rule used against its usual direction).

The planner matches each free input to one equation (maximum bipartite matching), groups
inputs whose equations need each other (strongly connected components), and orders the
groups. Equations left over are checks (over-determination: two givens pinning the same
unknown) or overrides (a given derived value whose rule is not needed).
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Mapping
from dataclasses import dataclass

from .. import lazy
from ..errors import NoSolutionError, UnderdeterminedError, UnknownQuantityError
from ..lang.rules import RuleSet
from .graph import walk_up

sympy = lazy.module("sympy")


@dataclass(frozen=True)
class Block:
    """Free inputs solved together, each paired with the equation that pins it."""

    unknowns: tuple[str, ...]
    equations: tuple[str, ...]  # names of known derived quantities whose rules are used


@dataclass(frozen=True)
class Plan:
    known: frozenset[str]
    targets: tuple[str, ...]
    blocks: tuple[Block, ...]
    forward: tuple[str, ...]  # derived quantities evaluated by their rules, in order
    checks: tuple[str, ...]  # equations that must also hold (over-determined)
    overrides: tuple[str, ...]  # known derived quantities whose rule is set aside
    defaulted: tuple[str, ...] = ()  # targets read from `fallback` values, nothing pins them

    @property
    def solved(self) -> tuple[str, ...]:
        return tuple(x for b in self.blocks for x in b.unknowns)


class Planner:
    """Plans queries over one RuleSet; plans are cached by (known, targets)."""

    def __init__(self, ruleset: RuleSet, symbols: dict[str, sympy.Symbol],
                 forward_exprs: dict[str, sympy.Expr]):
        self.ruleset = ruleset
        self.symbols = symbols
        self.forward_exprs = forward_exprs  # quantity name -> sympy expr of its rule
        self.plan = functools.lru_cache(maxsize=256)(self._plan)

    # walking --------------------------------------------------------------------------------

    def walk(self, names, known) -> tuple[set[str], set[str], set[str]]:
        """(forward, free, known derived met) upstream of ``names``, stopping at known."""
        forward, free, met = set(), set(), set()
        for name in walk_up(self.ruleset, names, known):
            derived = self.ruleset.rule_for(name) is not None
            if name in known:
                if derived:
                    met.add(name)
            else:
                (forward if derived else free).add(name)
        return forward, free, met

    def _plan(self, known: frozenset[str], targets: tuple[str, ...],
              fallback: frozenset[str] = frozenset()) -> Plan:
        for name in targets:
            if name not in self.ruleset.quantities:
                raise UnknownQuantityError(name, list(self.ruleset.quantities), "find")
        forward, free0, met = self.walk(targets, known)
        equations = {}  # known derived quantity -> free inputs its rule needs
        for name in sorted(known):
            rule = self.ruleset.rule_for(name)
            if rule is not None:
                _, eq_free, _ = self.walk(rule.expr.names, known)
                equations[name] = eq_free
        match = self._match(free0, equations)
        solved, unmatched = self._closure(free0, match, equations)
        defaulted = {leaf for leaf in unmatched
                     if leaf in fallback and not any(leaf in f for f in equations.values())}
        if unmatched - defaulted:
            raise self._underdetermined(sorted(unmatched - defaulted), targets, known, match,
                                        equations)
        blocks = self._blocks(solved - defaulted, match, equations)
        used = {match[x] for x in solved - defaulted}
        checks = sorted(q for q, f in equations.items() if q not in used and f and f <= solved)
        for q in sorted(used | set(checks)):
            fw, _, m = self.walk(self.ruleset.rule_for(q).expr.names, known)
            forward |= fw
            met |= m
        # a given derived value used in place of its rule; when the rule can be evaluated
        # from what is known, the result reports what it would have given
        overrides = sorted(q for q in met if q not in used and q not in checks)
        for q in overrides:
            if not equations[q]:
                forward |= self.walk(self.ruleset.rule_for(q).expr.names, known)[0]
        order = self._order(forward)
        return Plan(known, tuple(targets), tuple(blocks), tuple(order), tuple(checks),
                    tuple(overrides), tuple(sorted(defaulted)))

    # matching ---------------------------------------------------------------------------------

    def _match(self, free0, equations):
        """Maximum matching of free inputs to equations (augmenting paths, Kuhn).

        Deterministic, and the inputs asked about are matched first, so that when there
        are fewer equations than unknowns the error names the inputs a user can fix.
        """
        reach, frontier = set(free0), sorted(free0)
        while frontier:
            leaf = frontier.pop()
            for eq_free in equations.values():
                if leaf in eq_free:
                    for other in sorted(eq_free - reach):
                        reach.add(other)
                        frontier.append(other)
        containing = {leaf: sorted(q for q, f in equations.items() if leaf in f)
                      for leaf in reach}
        owner: dict[str, str] = {}  # equation -> leaf

        def augment(leaf, seen):
            for q in containing[leaf]:
                if q not in seen:
                    seen.add(q)
                    if q not in owner or augment(owner[q], seen):
                        owner[q] = leaf
                        return True
            return False

        for leaf in [*sorted(free0), *sorted(reach - set(free0))]:
            augment(leaf, set())
        return {leaf: q for q, leaf in owner.items()}

    def _closure(self, free0, match, equations):
        solved, unmatched, queue = set(), set(), sorted(free0)
        while queue:
            leaf = queue.pop()
            if leaf in solved:
                continue
            solved.add(leaf)
            if leaf not in match:
                unmatched.add(leaf)
                continue
            queue.extend(sorted(equations[match[leaf]] - solved))
        return solved, unmatched

    def _blocks(self, solved, match, equations) -> list[Block]:
        needs = {leaf: {other for other in equations[match[leaf]]
                        if other != leaf and other in solved} for leaf in solved}
        return [Block(members, tuple(match[m] for m in members))
                for members in ordered_components(needs)]

    def _order(self, forward) -> list[str]:
        """``forward`` in dependency order, the smallest name first among those ready (the
        order of networkx's lexicographical topological sort, without importing it)."""
        waiting, children = {}, {name: [] for name in forward}
        for name in forward:
            deps = [d for d in self.ruleset.rule_for(name).expr.names if d in forward]
            waiting[name] = len(deps)
            for dep in deps:
                children[dep].append(name)
        return _lexicographic(waiting, children, lambda name: name)

    def _underdetermined(self, leaves, targets, known, match, equations):
        leaf = leaves[0]
        target = next((t for t in targets if leaf in self.walk([t], known)[1]), targets[0])
        if len(leaves) > 1:
            return UnderdeterminedError(target, leaves, f"{len(leaves)} inputs have no value "
                                                        "and nothing determines them",
                                        all_needed=True)
        # inputs that compete with `leaf` for the same equations: fixing any frees one
        rivals, frontier = {leaf}, [leaf]
        while frontier:
            x = frontier.pop()
            for q, eq_free in equations.items():
                if x in eq_free:
                    for other, q2 in match.items():
                        if q2 == q and other not in rivals:
                            rivals.add(other)
                            frontier.append(other)
        if len(rivals) == 1:
            reason = f"no value for {leaf}, and no given value depends on it"
        else:
            n = len(rivals) - 1
            reason = f"{len(rivals)} unknowns but {n} equation{'s' if n > 1 else ''}"
        return UnderdeterminedError(target, sorted(rivals), reason)

    # composite expressions ---------------------------------------------------------------

    def composite(self, name: str, known: frozenset[str]) -> sympy.Expr:
        """``name``'s rule with every unknown derived input expanded, recursively.

        The result is in the symbols of known quantities and free inputs only.
        """
        return self._composite(name, known)

    @functools.lru_cache(maxsize=4096)
    def _composite(self, name, known):
        expr = self.forward_exprs[name]
        subs = {}
        for dep in self.ruleset.rule_for(name).expr.names:
            if dep not in known and self.ruleset.rule_for(dep) is not None:
                subs[self.symbols[dep]] = self._composite(dep, known)
        return expr.xreplace(subs) if subs else expr


def active_branches(expr: sympy.Expr, subs, steps_as_constants: bool = False) -> sympy.Expr:
    """``expr`` with every max/min/where replaced by its branch active at ``subs``.

    ``subs`` maps symbols to numbers. A symbol a choice needs but ``subs`` lacks raises
    ``TypeError``. With ``steps_as_constants``, ``floor``/``ceil`` become their value there
    (constant between jumps, so their derivative is zero). Ties pick the first argument.
    """
    if not expr.args:
        return expr
    if isinstance(expr, sympy.Piecewise):
        for branch, condition in expr.args:
            if bool(condition.xreplace(subs)):
                return active_branches(branch, subs, steps_as_constants)
        raise NoSolutionError(str(expr), "no branch of where() holds at this point")
    args = [active_branches(a, subs, steps_as_constants) for a in expr.args]
    if isinstance(expr, (sympy.Max, sympy.Min)):
        values = [float(a.xreplace(subs)) for a in args]
        pick = max if isinstance(expr, sympy.Max) else min
        return args[values.index(pick(values))]
    if steps_as_constants and isinstance(expr, (sympy.floor, sympy.ceiling)):
        return sympy.Float(float(expr.func(args[0].xreplace(subs))), 17)
    return expr.func(*args)


def ordered_components(needs: Mapping[str, set[str]]) -> list[tuple[str, ...]]:
    """The strongly connected components of ``needs`` (name -> the names it needs first),
    each sorted, in dependency order; among components ready at once, the one whose first
    member sorts first comes first.

    The order of networkx's ``lexicographical_topological_sort`` of the condensation keyed
    by each component's first member, without importing networkx (a start that solves
    one input from a given value, as seek's exact answer does, needs no graph library).

    >>> ordered_components({"a": {"b"}, "b": {"a"}, "c": set(), "d": {"c", "a"}})
    [('a', 'b'), ('c',), ('d',)]
    """
    before = {name: set() for name in needs}  # name -> the names that need it
    for name, deps in needs.items():
        for dep in deps:
            before[dep].add(name)
    components = _components(needs, before)
    owner = {name: i for i, members in enumerate(components) for name in members}
    after = [set() for _ in components]  # component -> the components that need it
    for name, deps in needs.items():
        for dep in deps:
            if owner[dep] != owner[name]:
                after[owner[dep]].add(owner[name])
    waiting = dict.fromkeys(range(len(components)), 0)
    for followers in after:
        for i in followers:
            waiting[i] += 1
    return [components[i] for i in _lexicographic(waiting, after, lambda i: components[i][0])]


def _lexicographic(waiting: dict, children, key) -> list:
    """Kahn's topological order: ``waiting`` counts what each node waits for (changed in
    place), ``children[node]`` who waits on it; among the nodes ready, the smallest ``key``
    first."""
    ready = [(key(node), node) for node, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, node = heapq.heappop(ready)
        order.append(node)
        for child in children[node]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (key(child), child))
    return order


def _components(needs, before) -> list[tuple[str, ...]]:
    """Strongly connected components (Kosaraju, iterative), each as a sorted tuple."""
    finished, seen = [], set()
    for start in sorted(needs):
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(sorted(needs[start])))]
        while stack:
            name, rest = stack[-1]
            nxt = next((n for n in rest if n not in seen), None)
            if nxt is None:
                stack.pop()
                finished.append(name)
            else:
                seen.add(nxt)
                stack.append((nxt, iter(sorted(needs[nxt]))))
    components, placed = [], set()
    for start in reversed(finished):
        if start in placed:
            continue
        placed.add(start)
        members, stack = [start], [start]
        while stack:
            for other in before[stack.pop()]:
                if other not in placed:
                    placed.add(other)
                    members.append(other)
                    stack.append(other)
        components.append(tuple(sorted(members)))
    return components
