"""``costgraph seek``: the optimum, its point and constraints, diagrams, and honest failures.

Exact output is checked on the trip fixture, whose optima follow by hand: four people may
each pay 10 USD, so the trip may cost 40 USD = distance x 0.06 L/km x 1.8 USD/L, which is
370.4 km; with up to nine passengers the bill allows 833 km but the 45 L tank stops at 750 km.
"""

from __future__ import annotations

import json
import re



from cli_helpers import TRIP, expect, run


def test_price_binds():
    out = run("seek", "--rules", TRIP, "--maximize", "distance",
              "--where", "cost_per_passenger <= 10 USD")
    assert out.stdout == expect("""
        maximum distance = 370.4 km

        quantity   value
        ───────────────────
        distance   370.4 km

        constraint                     status    left      right    ratio
        ─────────────────────────────────────────────────────────────────
        trip.tank                      holds     22.22 l   45 l     0.494
        cost_per_passenger <= 10 USD   binding   10 USD    10 USD   1
        """)


def test_declared_constraint_binds_when_more_may_share():
    out = run("seek", "--rules", TRIP, "--maximize", "distance",
              "--where", "cost_per_passenger <= 10 USD", "--vary", "passengers=1..9")
    assert out.stdout == expect("""
        maximum distance = 750 km

        quantity     value
        ───────────────────
        distance     750 km
        passengers   9

        constraint                     status    left    right    ratio
        ───────────────────────────────────────────────────────────────
        trip.tank                      binding   45 l    45 l     1
        cost_per_passenger <= 10 USD   holds     9 USD   10 USD   0.9
        """)


def test_explain_adds_the_search_and_the_constrained_derivation():
    out = run("seek", "--rules", TRIP, "--maximize", "distance", "--where",
              "cost_per_passenger <= 10 USD", "--vary", "passengers", "--explain").stdout
    assert "optimum: distance = 750 km at passengers = 9\n" in out
    assert "  distance_max = tank/consumption\n" in out
    assert "cost_per_passenger = 9 USD  [derived: rule trip.share]\n" in out


def test_json_and_diagram(tmp_path):
    dot = tmp_path / "seek.dot"
    out = run("seek", "--rules", TRIP, "--maximize", "distance", "--where",
              "cost_per_passenger <= 10 USD", "--vary", "passengers=1..9", "--json",
              "-o", str(dot))
    data = json.loads(out.stdout)
    assert data["value"]["value"] == 750 and data["point"]["passengers"]["value"] == 9
    assert [c["id"] for c in data["binding"]] == ["trip.tank"]
    assert out.stderr.endswith(f"wrote {dot}\n")
    source = dot.read_text()
    assert '"legend:chosen"' in source and '"legend:binding"' in source
    assert re.search(r'"q:passengers" \[label="[^"]*" color="#00838f" fillcolor="#b2ebf2"',
                     source)
    assert re.search(r'"c:trip.tank" \[label="[^"]*" color="#f57f17" fillcolor="#fff59d"',
                     source)


def test_svg_and_png_of_the_bundled_seek(tmp_path):
    svg, png = tmp_path / "context.svg", tmp_path / "context.png"
    for path in (svg, png):
        run("seek", "--maximize", "context_len", "--where", "cost_per_mtok <= 2 USD/Mtok",
            "--vary", "batch=1..64", "-o", str(path))
    assert "<svg" in svg.read_text() and "context_len" in svg.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_infeasible_names_the_least_bad_point():
    out = run("seek", "--rules", TRIP, "--maximize", "distance", "--vary", "passengers",
              "--where", "cost_per_passenger <= 1 USD", "--where", "distance >= 900 km", code=1)
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no point meets every constraint")
    assert "least-bad point (passengers 9" in lines[0] and "above 1 USD" in lines[0]


def test_constraint_mistakes_are_one_line():
    unknown = run("seek", "--rules", TRIP, "--maximize", "distance",
                  "--where", "cost_per_pasenger <= 10 USD", code=1)
    assert unknown.stderr == ("error: --where: unknown quantity 'cost_per_pasenger' in "
                              "constraint `cost_per_pasenger <= 10 USD`; did you mean "
                              "cost_per_passenger?\n")
    unit = run("seek", "--rules", TRIP, "--maximize", "distance",
               "--where", "cost_per_passenger <= 10 km", code=1)
    assert unit.stderr.startswith("error: ") and "expected a value in USD" in unit.stderr
    assert len(unit.stderr.splitlines()) == 1


def test_exactly_one_objective():
    out = run("seek", "--rules", TRIP, "--where", "fuel <= 10 L", code=2)
    assert "give exactly one of --maximize NAME or --minimize NAME" in out.stderr


def test_bad_range_is_a_usage_error():
    out = run("seek", "--rules", TRIP, "--maximize", "distance", "--vary", "passengers=1-9",
              code=2)
    assert out.stderr == ("error: invalid value for --vary: 'passengers=1-9' is not "
                          "NAME=LO..HI; e.g. --vary passengers=1..512 "
                          "(see `costgraph seek --help`)\n")
