"""The planner's block order: strongly connected components in a deterministic dependency
order, the same as networkx's condensation sorted lexicographically (which it replaces, so
that an inverted solve never imports networkx; see tests/test_cold_start.py)."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from costgraph.core.plan import ordered_components

NAMES = [f"q{i}" for i in range(9)]


def networkx_order(needs):
    deps = nx.DiGraph()
    deps.add_nodes_from(needs)
    for name, before in needs.items():
        for other in before:
            deps.add_edge(other, name)
    condensed = nx.condensation(deps)
    order = nx.lexicographical_topological_sort(
        condensed, key=lambda c: min(condensed.nodes[c]["members"]))
    return [tuple(sorted(condensed.nodes[c]["members"])) for c in order]


@st.composite
def dependency_maps(draw):
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=9, unique=True))
    return {n: set(draw(st.lists(st.sampled_from(names), max_size=4))) - {n} for n in names}


@settings(max_examples=300, deadline=None)
@given(dependency_maps())
def test_ordered_components_match_networkx(needs):
    assert ordered_components(needs) == networkx_order(needs)


def test_a_cycle_is_one_block_after_what_it_needs():
    needs = {"x": {"y", "w"}, "y": {"x"}, "w": set(), "z": {"x"}}
    assert ordered_components(needs) == [("w",), ("x", "y"), ("z",)]

