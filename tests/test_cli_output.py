"""What the commands write: tables that are never cut when piped, every output format a --help
offers actually written, and every --help with an example."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from costgraph.cli import app

from cli_helpers import TRIP, run, runner

LONG = ("A preset whose description runs well past a hundred columns, so that a table laid out "
        "to a terminal's width would have to wrap or cut it, which a file must never see.")
PRESETS = f"""
kind: workload
description: Long descriptions.
presets:
  default:
    description: {LONG}
    source: test
    values:
      distance: 500 km
      fuel_price: 1.8 USD/L
      passengers: 1
  hatchback:
    description: A small car.
    source: test
    values:
      consumption: 0.06 L/km
      tank: 45 L
"""


@pytest.fixture
def long_rules(tmp_path):
    """The trip rules with a preset description longer than any terminal line."""
    root = tmp_path / "rules"
    (root / "presets").mkdir(parents=True)
    (root / "trip.yaml").write_text((Path(TRIP) / "trip.yaml").read_text())
    (root / "presets" / "cars.yaml").write_text(PRESETS)
    return str(root)


def preset_row(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("workload   default")]


# --- tables: never cut when stdout is not a terminal ---------------------------------------------


def test_a_table_piped_to_a_file_keeps_every_cell_whole(long_rules):
    out = runner.invoke(app, ["presets", "--rules", long_rules], env={"COLUMNS": None})
    assert out.exit_code == 0, out.output
    assert preset_row(out.stdout) == [f"workload   default     {LONG}"]


def test_columns_is_honoured_when_set(long_rules):
    out = run("presets", "--rules", long_rules)  # COLUMNS=100, as the README is rendered
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert len(preset_row(out.stdout)) == 1 and LONG not in out.stdout
    assert " ".join(out.stdout.split()).count(" ".join(LONG.split())) == 1  # wrapped, not cut


def test_a_narrow_columns_wraps_but_loses_nothing(long_rules):
    out = runner.invoke(app, ["presets", "--rules", long_rules], env={"COLUMNS": "60"})
    assert max(len(line) for line in out.stdout.splitlines()) <= 60
    words = " ".join(out.stdout.split())
    assert all(word in words for word in LONG.split())


def test_a_real_pipe_gets_whole_rows(long_rules):
    environment = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-m", "costgraph", "presets", "--rules", long_rules],
                          capture_output=True, text=True, env=environment, check=True)
    assert preset_row(done.stdout) == [f"workload   default     {LONG}"]
    assert done.stdout.splitlines()[-1] == "2 presets"


def test_a_table_title_is_one_line_whatever_the_table_width(make_rules):
    from toymodel import PRESETS as TOY, RULES

    rules = str(make_rules(core=RULES, presets={"toy": TOY}))
    out = run("pareto", "step_time", "cost_per_mtok", "--rules", rules, "--vary", "batch=1,8")
    assert out.stdout.splitlines()[0] == ("Pareto front: min step_time / min cost_per_mtok "
                                          "(default): 2 of 2 points")


def test_a_closed_pipe_is_not_a_traceback():
    """`costgraph sweep ... | head -1`: the rest of the output has nowhere to go."""
    reader = subprocess.Popen([sys.executable, "-m", "costgraph", "sweep", "distance=1..5000",
                               "--find", "fuel", "--rules", TRIP], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    reader.stdout.readline()
    reader.stdout.close()
    stderr = reader.stderr.read().decode()
    reader.wait(timeout=120)
    assert "Traceback" not in stderr and "Exception ignored" not in stderr


# --- every output a --help offers is written ----------------------------------------------------


@pytest.mark.parametrize("suffix", [".dot", ".gv", ".mmd", ".svg", ".png", ".pdf"])
def test_every_diagram_format_of_solve_seek_and_graph(suffix, tmp_path):
    for args in (["solve", "--find", "fuel"], ["graph", "fuel"],
                 ["seek", "--maximize", "distance"]):
        target = tmp_path / f"{args[0]}{suffix}"
        run(*args, "--rules", TRIP, "-o", str(target))
        assert target.stat().st_size > 100, args


@pytest.mark.parametrize("command", ["levers", "uncertainty", "pareto"])
def test_every_format_of_levers_uncertainty_and_pareto(command, tmp_path, make_rules):
    from toymodel import PRESETS as TOY, RULES

    rules = str(make_rules(core=RULES, presets={"toy": TOY}))
    args = {"levers": ["cost_per_mtok"], "uncertainty": ["cost_per_mtok", "-n", "200"],
            "pareto": ["step_time", "cost_per_mtok", "--vary", "batch=1,8,64"]}[command]
    files = [tmp_path / f"{command}{suffix}" for suffix in (".csv", ".json", ".png", ".svg",
                                                            ".pdf")]
    run(command, *args, "--rules", rules, *[a for f in files for a in ("-o", str(f))])
    assert all(f.stat().st_size > 50 for f in files)
    assert json.loads(files[1].read_text())  # the JSON file is JSON


def test_sweep_offers_only_the_data_it_writes(tmp_path):
    help_text = run("sweep", "--help").stdout
    output_help = help_text[help_text.index("-o, --output"):help_text.index("-p, --preset")]
    assert " ".join(output_help.split()) == ("-o, --output FILE Write the grid to FILE: .csv, "
                                             ".parquet or .json. Repeatable.")
    pyarrow = importlib.util.find_spec("pyarrow") is not None
    for suffix in (".csv", ".json", *((".parquet",) if pyarrow else ())):
        run("sweep", "distance=1..3", "--find", "fuel", "--rules", TRIP,
            "-o", str(tmp_path / f"grid{suffix}"))
    assert (tmp_path / "grid.csv").read_text().startswith("distance [km],fuel [l]")
    assert json.loads((tmp_path / "grid.json").read_text())["columns"]["fuel"]["unit"] == "l"
    if pyarrow:
        assert (tmp_path / "grid.parquet").read_bytes()[:4] == b"PAR1"
    out = run("sweep", "distance=1..3", "--find", "fuel", "--rules", TRIP,
              "-o", str(tmp_path / "grid.png"), code=2)
    assert "cannot write grid.png: use one of .csv, .json, .parquet" in out.stderr


def test_every_help_has_an_example():
    for name in typer.main.get_command(app).commands:
        assert "\n  Example:\n" in run(name, "--help").stdout, name


def test_graph_refuses_a_format_it_would_ignore(tmp_path):
    out = run("graph", "fuel", "--rules", TRIP, "--format", "mermaid",
              "-o", str(tmp_path / "x.svg"), code=2)
    assert out.stderr == ("error: invalid value for --format: 'mermaid' is for the text printed "
                          f"without --output; with --output {tmp_path / 'x.svg'} its extension "
                          "picks the format (.dot, .mmd for Mermaid, .svg...) "
                          "(see `costgraph graph --help`)\n")
    assert not (tmp_path / "x.svg").exists()
    out = run("graph", "fuel", "--rules", TRIP, "--format", "dot", "--json", code=2)
    assert "--json prints the nodes and edges" in out.stderr
