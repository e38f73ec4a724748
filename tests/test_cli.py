"""The command line: exact output of every command on a small fixed rule set, JSON that
parses, the bundled rules through the same commands, and user mistakes as one clean line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import costgraph as cg
from costgraph.cli import COMMANDS, app
from costgraph.units import format_quantity

from cli_helpers import TRIP, expect, run


# --- exact output on the trip fixture -------------------------------------------------------


def test_solve_prints_answer_presets_and_constraints():
    out = run("solve", "--rules", TRIP, "--find", "cost_per_passenger", "--set", "distance=800km",
              code=3)
    assert out.stdout == expect("""
        quantity             value      how       rule or source
        ────────────────────────────────────────────────────────
        cost_per_passenger   21.6 USD   derived   trip.share
        presets: default

        constraint   status     left   right   ratio
        ────────────────────────────────────────────
        trip.tank    VIOLATED   48 l   45 l    1.07

        INFEASIBLE: this answer breaks trip.tank (48 l against 45 l, ratio 1.07)
        """)
    assert out.stderr == ""


def test_issue_16_an_infeasible_solve_is_flagged_and_exits_3(model):
    out = run("solve", "--find", "batch", "--set", "tpot=250 ms", code=3)
    assert "memory.hbm_fit        VIOLATED" in out.stdout
    assert "INFEASIBLE: this answer breaks memory.hbm_fit (" in out.stdout
    as_json = run("solve", "--find", "batch", "--set", "tpot=250 ms", "--json", code=3)
    data = json.loads(as_json.stdout)
    assert (data["feasible"], data["failing"]) == (False, ["memory.hbm_fit"])
    feasible = run("solve", "--find", "batch", "--set", "tpot=200 ms", "--json")
    assert json.loads(feasible.stdout)["feasible"] is True


def test_find_takes_names_comma_separated_as_if_repeated():
    joined = run("solve", "--find", "cost_per_mtok,ttft", "--json").stdout
    repeated = run("solve", "--find", "cost_per_mtok", "--find", "ttft", "--json").stdout
    assert joined == repeated and set(json.loads(joined)["values"]) >= {"cost_per_mtok", "ttft"}
    sweep = run("sweep", "batch=1,8", "--find", "cost_per_mtok,ttft").stdout
    assert sweep.splitlines()[0].split(",")[:3] == ["batch [request]", "cost_per_mtok [USD/Mtok]",
                                                    "ttft [s]"]
    empty = run("solve", "--find", "cost_per_mtok,,ttft", code=2)
    assert "invalid value for --find: an empty name" in empty.stderr


def test_solve_inverts_a_rule_and_explains():
    out = run("solve", "--rules", TRIP, "--find", "distance", "--set", "trip_cost=45 USD",
              "--explain")
    assert out.stdout == expect("""
        quantity   value      how          rule or source
        ─────────────────────────────────────────────────
        distance   416.7 km   solved for   trip.cost
        presets: default

        constraint   status   left   right   ratio
        ──────────────────────────────────────────
        trip.tank    holds    25 l   45 l    0.556

        distance = 416.7 km  [solved: rule trip.cost]
          = trip_cost/(consumption*fuel_price)
          = (45 USD)/((0.06 l/km)*(1.8 USD/l))
          (solved symbolically; trip_cost = 45 USD, rule trip.cost rearranged for distance through trip.fuel)
          source: definition of price
        ├─ consumption = 0.06 l/km  [preset hatchback; test fixture]
        ├─ fuel_price = 1.8 USD/l  [preset default; test fixture]
        └─ trip_cost = 45 USD  [given]
        """)


def test_solve_with_presets_composed_in_order():
    out = run("solve", "--rules", TRIP, "-p", "default", "-p", "van", "--find", "fuel")
    assert out.stdout.splitlines()[2] == "fuel       50 l    derived   trip.fuel"
    assert out.stdout.splitlines()[3] == "presets: default, van"


def test_explain_prints_the_tree():
    out = run("explain", "fuel", "--rules", TRIP, "--set", "distance=200")
    assert out.stdout == expect("""
        fuel = 12 l  [derived: rule trip.fuel]
          = distance * consumption
          = (200 km) * (0.06 l/km)
          source: definition of consumption
        ├─ consumption = 0.06 l/km  [preset hatchback; test fixture]
        └─ distance = 200 km  [given]
        """)


def test_quantities_lists_and_shows_one():
    assert run("quantities", "--rules", TRIP).stdout == expect("""
        quantity             unit    kind      description
        ──────────────────────────────────────────────────────────────────────────
        consumption          L/km    input     Fuel burnt per kilometre.
        cost_per_passenger   USD     derived   Each passenger's share of the bill.
        distance             km      input     Length of the trip.
        fuel                 L       derived   Fuel the trip burns.
        fuel_price           USD/L   input     Price of a litre of fuel.
        passengers           1       input     People sharing the bill.
        tank                 L       input     What the tank holds.
        trip_cost            USD     derived   The fuel bill of the trip.
        8 quantities
        """)
    assert run("quantities", "fuel", "--rules", TRIP).stdout == expect("""
        fuel  [L]  derived
          Fuel the trip burns.
          rule trip.fuel: fuel = distance * consumption
          bounds: [0, inf]
          declared in: trip.yaml
          source: definition of consumption
          inputs it rests on: consumption, distance
          feeds: cost_per_passenger, trip_cost
        """)
    inputs = run("quantities", "--kind", "input", "--rules", TRIP).stdout
    assert "derived" not in inputs and inputs.endswith("5 quantities\n")


def test_rules_lists_rules_and_constraints_and_shows_one():
    assert run("rules", "--rules", TRIP).stdout == expect("""
        rule         defines              expression
        ────────────────────────────────────────────────────────
        trip.cost    trip_cost            fuel * fuel_price
        trip.fuel    fuel                 distance * consumption
        trip.share   cost_per_passenger   trip_cost / passengers
        3 rules

        constraint   inequality
        ─────────────────────────
        trip.tank    fuel <= tank
        1 constraint
        """)
    by_quantity = run("rules", "trip_cost", "--rules", TRIP).stdout
    assert by_quantity == expect("""
        rule trip.cost
          trip_cost = fuel * fuel_price
          Fuel times its price.
          source: definition of price
          declared in: trip.yaml
        """)
    assert run("rules", "trip.cost", "--rules", TRIP).stdout == by_quantity


def test_presets_lists_and_shows_one():
    assert run("presets", "--rules", TRIP).stdout == expect("""
        kind       preset      description
        ─────────────────────────────────────────────────────────────────
        scenario   default     Four people drive 500 km in the hatchback.
        workload   hatchback   A small car.
        workload   van         A large car.
        3 presets
        """)
    assert run("presets", "van", "--rules", TRIP).stdout == expect("""
        van  (workload)
          A large car.
          declared in: presets/cars.yaml

        quantity      value      range   source
        ──────────────────────────────────────────────────────
        consumption   0.1 l/km           a guess  (assumption)
        tank          70 l               test fixture
        """)
    assert run("presets", "--kind", "scenario", "--rules", TRIP).stdout.endswith("1 preset\n")


# --- JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["solve", "--find", "fuel"], ["explain", "fuel"], ["graph", "fuel"],
    ["quantities"], ["quantities", "fuel"], ["rules"], ["rules", "trip.tank"],
    ["presets"], ["presets", "default"],
], ids=lambda a: "-".join(a))
def test_json_parses(args):
    data = json.loads(run(*args, "--json", "--rules", TRIP).stdout)
    assert data


def test_solve_json_carries_values_units_and_derivation():
    data = json.loads(run("solve", "--find", "fuel", "--json", "--rules", TRIP).stdout)
    assert data["targets"] == ["fuel"]
    assert data["values"]["fuel"]["value"] == pytest.approx(30.0)
    assert data["values"]["fuel"]["unit"] == "l"
    assert data["values"]["fuel"]["inputs"] == ["consumption", "distance"]
    assert data["constraints"][0]["id"] == "trip.tank" and data["constraints"][0]["holds"]


# --- the bundled rules --------------------------------------------------------------------


def test_solve_default_scenario_matches_the_api(model):
    out = run("solve", "--find", "cost_per_mtok").stdout
    expected = format_quantity(model.solve(find=["cost_per_mtok"])["cost_per_mtok"])
    row = out.splitlines()[2].split()
    assert row[:4] == ["cost_per_mtok", *expected.split(), "derived"]
    assert "presets: default" in out and "memory.hbm_fit" in out


def test_set_values_take_units_or_the_declared_unit(model):
    with_unit = run("solve", "--find", "kv_bytes_per_request", "--set", "context_len=32ktok",
                    code=3)  # 32K tokens are past Llama-3-70B's context: flagged, still shown
    bare = run("solve", "--find", "kv_bytes_per_request", "--set", "context_len=32000", code=3)
    assert with_unit.stdout == bare.stdout
    r = model.solve(find=["kv_bytes_per_request"], given={"context_len": "32000 token"})
    assert format_quantity(r["kv_bytes_per_request"]) in with_unit.stdout


def test_explain_walks_to_the_presets():
    out = run("explain", "cost_per_mtok").stdout
    assert out.startswith("cost_per_mtok = ")
    for line in ("[derived: rule cost.cost_per_mtok]", "[preset h200;", "[preset llama-3-70b;"):
        assert line in out


def test_listings_of_the_bundled_rules(model):
    names = run("quantities").stdout
    assert f"{len(model.quantities())} quantities" in names and "cost_per_mtok" in names
    assert "context_len  [token]  derived" in run("quantities", "context_len").stdout
    scenarios = run("presets", "--kind", "scenario").stdout
    assert "default" in scenarios and "essay" in scenarios
    assert "includes, in order: " in run("presets", "default").stdout


def test_every_command_has_an_example_and_is_in_the_readme():
    """Every registered command, whoever wrote it, shows an example and is documented."""
    import typer.main

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    commands = typer.main.get_command(app).commands
    assert {"solve", "seek", "explain", "graph", "quantities", "rules", "presets"} <= set(commands)
    listed = run("--help").stdout
    for command in commands:
        assert f"  {command} " in listed
        assert "Example:" in run(command, "--help").stdout, command
        assert f"costgraph {command}" in readme, f"README does not show `costgraph {command}`"


def test_commands_are_registered_by_module():
    assert COMMANDS[:5] == ["solve", "seek", "explain", "graph", "listing"]


def test_python_dash_m_runs_the_same_cli():
    done = subprocess.run([sys.executable, "-m", "costgraph", "explain", "fuel", "--rules", TRIP],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("fuel = 30 l  [derived: rule trip.fuel]\n")


def test_version():
    assert run("--version").stdout == f"costgraph {cg.__version__}\n"


# --- user mistakes: one line, non-zero, no traceback ----------------------------------------


@pytest.mark.parametrize("args, message", [
    (["solve", "--find", "fule"], "error: unknown quantity 'fule' in find; did you mean fuel?"),
    (["solve", "--find", "fuel", "--set", "distance=3 USD"],
     "error: given distance: expected a value in km, got 3 USD (give it as e.g. '1 km')"),
    (["solve", "--find", "fuel", "--set", "passengers=12"],
     "error: passengers = 12 is outside its bounds [1, 9]"),
    (["solve", "--find", "fuel", "-p", "vann"],
     "error: -p/--preset: unknown preset 'vann'; did you mean van? "
     "(list them with model.presets() or `costgraph presets`)"),
    (["explain", "distanse"],
     "error: unknown quantity 'distanse' in find; did you mean distance?"),
    (["quantities", "tnak"], "error: unknown quantity 'tnak'; did you mean tank?"),
    (["rules", "trip.fule"],
     "error: no rule, constraint or derived quantity named 'trip.fule'; did you mean "
     "trip.fuel, trip.share? (list them with `costgraph rules`)"),
], ids=lambda v: v if isinstance(v, str) else "-".join(v))
def test_errors_are_one_clean_line(args, message):
    out = run(*args, "--rules", TRIP, code=1)
    assert out.stdout == ""
    assert out.stderr == message + "\n"


def test_bad_set_syntax_is_a_usage_error():
    out = run("solve", "--find", "fuel", "--set", "distance", "--rules", TRIP, code=2)
    assert out.stderr == ("error: invalid value for --set: 'distance' has no '='; write "
                          "NAME=VALUE, e.g. --set batch=128 or --set context_len=\"32768 token\" "
                          "(see `costgraph solve --help`)\n")


def test_missing_rules_folder(tmp_path):
    out = run("quantities", "--rules", str(tmp_path / "nowhere"), code=1)
    assert out.stderr == (f"error: --rules {tmp_path / 'nowhere'}: no such folder; give a "
                          "folder of rule files (*.yaml), or leave --rules out to use the "
                          "bundled rules\n")
