"""Folding zero-valued branches in diagrams and derivations, and unfolding them on request.

The rule set is a car trip with a toll road it does not take: the toll share is zero, so the
tolled distance and the toll are zero, and the toll rate is used by nothing else.
"""

from __future__ import annotations

import textwrap

import pytest

import costgraph as cg
from costgraph.render.folding import zero_branches
from cli_helpers import run

RULES = """\
description: A car trip with a toll road it does not take.
quantities:
  distance: {unit: km, description: Length of the trip.}
  consumption: {unit: L/km, description: Fuel burnt per kilometre.}
  fuel_price: {unit: USD/L, description: Price of a litre of fuel.}
  fuel: {unit: L, description: Fuel the trip burns.}
  fuel_cost: {unit: USD, description: The fuel bill.}
  toll_share: {unit: "1", description: Part of the distance on toll roads.}
  toll_km: {unit: km, description: Distance on toll roads.}
  toll_rate: {unit: USD/km, description: Toll per kilometre.}
  toll_cost: {unit: USD, description: The tolls paid.}
  tank: {unit: L, description: What the tank holds.}
  trip_cost: {unit: USD, description: What the trip costs.}
rules:
  - {id: trip.fuel, defines: fuel, expr: distance * consumption, description: d, source: s}
  - {id: trip.fuel_cost, defines: fuel_cost, expr: fuel * fuel_price, description: d,
     source: s}
  - {id: trip.toll_km, defines: toll_km, expr: distance * toll_share, description: d,
     source: s}
  - {id: trip.toll_cost, defines: toll_cost, expr: toll_km * toll_rate, description: d,
     source: s}
  - {id: trip.cost, defines: trip_cost, expr: fuel_cost + toll_cost, description: d,
     source: s}
constraints:
  - {id: trip.tank, expr: fuel <= tank, description: One tank., source: s}
"""
SCENARIO = """\
kind: scenario
description: Trips.
presets:
  default:
    description: A trip off the toll roads.
    source: test fixture
    values: {distance: 500 km, consumption: 0.06 L/km, fuel_price: 1.8 USD/L,
             toll_share: 0, toll_rate: 0.1 USD/km, tank: 45 L}
"""
TOLL = {"toll_cost", "toll_km", "toll_rate", "toll_share"}  # the branch that folds


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tolls")
    (folder / "trip.yaml").write_text(RULES, encoding="utf-8")
    (folder / "presets").mkdir()
    (folder / "presets" / "scenarios.yaml").write_text(SCENARIO, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def trip(folder):
    return cg.load(folder)


def quantity_ids(diagram) -> set[str]:
    return {n.id[2:] for n in diagram.nodes if n.id.startswith("q:")}


def test_a_zero_valued_unused_branch_is_folded_into_one_node(trip):
    d = trip.solve(find=["trip_cost"]).graph()
    assert d.folded == tuple(sorted(TOLL))
    assert not quantity_ids(d) & TOLL
    assert not {"r:trip.toll_km", "r:trip.toll_cost"} & {n.id for n in d.nodes}
    fold = next(n for n in d.nodes if n.id == "folded")
    assert fold.role == "folded"
    assert fold.label == ("zero here:", "toll_cost", "and 3 more that only they use",
                          "unfold to show them")
    # the fold feeds where the zero term fed, and nothing feeds the fold
    assert [(e.tail, e.head) for e in d.edges if "folded" in (e.tail, e.head)] == [
        ("folded", "r:trip.cost")]
    assert d.to_dict()["folded"] == sorted(TOLL)
    assert "folded" in d.roles


def test_a_nonzero_input_that_a_shown_quantity_uses_is_never_folded(trip):
    # distance feeds the zero toll_km too, but fuel needs it: it stays
    d = trip.solve(find=["trip_cost"]).graph()
    assert {"distance", "consumption", "fuel", "fuel_cost", "fuel_price",
            "trip_cost", "tank"} <= quantity_ids(d)


def test_a_nonzero_branch_is_never_folded(trip):
    result = trip.solve(find=["trip_cost"], given={"toll_share": "0.25"})
    d = result.graph()
    assert d.folded == () and "folded" not in {n.id for n in d.nodes}
    assert TOLL <= quantity_ids(d)
    assert "zero here" not in result.explain()


def test_unfold_draws_every_quantity(trip):
    result = trip.solve(find=["trip_cost"])
    unfolded = result.graph(unfold=True)
    assert unfolded.folded == () and TOLL <= quantity_ids(unfolded)
    assert quantity_ids(unfolded) == quantity_ids(result.graph()) | TOLL


def test_a_zero_asked_for_or_given_is_drawn(trip):
    asked = trip.solve(find=["toll_cost"]).graph()
    assert "toll_cost" in quantity_ids(asked) and "toll_cost" not in asked.folded
    given = trip.solve(find=["trip_cost"], given={"toll_share": "0"}).graph()
    assert "toll_share" in quantity_ids(given)
    assert given.folded == ("toll_cost", "toll_km", "toll_rate")


def test_a_quantity_a_drawn_constraint_compares_is_drawn(trip):
    # the tank holds no fuel here: zero, but the constraint on it is drawn, so it stays
    result = trip.solve(find=["trip_cost"], given={"consumption": "0 L/km"})
    d = result.graph()
    assert {"fuel", "tank"} <= quantity_ids(d) and "fuel" not in d.folded
    assert "fuel_cost" in d.folded  # zero too, and no constraint compares it
    assert "fuel" in zero_branches(result, result.steps, keep=["trip_cost"])


def test_explain_folds_the_same_branch(trip):
    result = trip.solve(find=["trip_cost"])
    text = result.explain()
    assert "├─ zero here: toll_cost  (unfold to show them)" in text.splitlines()
    for name in TOLL:
        assert f"─ {name} =" not in text
    unfolded = result.explain(unfold=True)
    assert "zero here" not in unfolded
    for name in TOLL:
        assert f"─ {name} =" in unfolded


def test_explain_folds_a_zero_in_a_tree_exactly(trip):
    assert trip.solve(find=["trip_cost"]).explain() == textwrap.dedent("""\
        trip_cost = 54 USD  [derived: rule trip.cost]
          = fuel_cost + toll_cost
          = (54 USD) + (0 USD)
          source: s
        ├─ zero here: toll_cost  (unfold to show them)
        └─ fuel_cost = 54 USD  [derived: rule trip.fuel_cost]
             = fuel * fuel_price
             = (30 l) * (1.8 USD/l)
             source: s
           ├─ fuel = 30 l  [derived: rule trip.fuel]
           │    = distance * consumption
           │    = (500 km) * (0.06 l/km)
           │    source: s
           │  ├─ consumption = 0.06 l/km  [preset default; test fixture]
           │  └─ distance = 500 km  [preset default; test fixture]
           └─ fuel_price = 1.8 USD/l  [preset default; test fixture]""")


def test_explain_of_a_zero_asked_for_folds_only_its_zero_inputs(trip):
    text = trip.solve(find=["toll_cost"]).explain()
    assert text.splitlines()[0] == "toll_cost = 0 USD  [derived: rule trip.toll_cost]"
    assert text.splitlines()[-2:] == [
        "├─ zero here: toll_km  (unfold to show them)",
        "└─ toll_rate = 0.1 USD/km  [preset default; test fixture]"]


def test_cli_graph_and_explain_unfold(folder):
    args = ["--rules", str(folder)]
    folded = run("graph", "trip_cost", "--json", *args).stdout
    unfolded = run("graph", "trip_cost", "--json", "--unfold", *args).stdout
    assert '"q:toll_rate"' not in folded and '"q:toll_rate"' in unfolded
    text = run("explain", "trip_cost", *args).stdout
    assert "zero here: toll_cost" in text and "toll_rate" not in text
    assert "toll_rate = 0.1 USD/km" in run("explain", "trip_cost", "--unfold", *args).stdout
