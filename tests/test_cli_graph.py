"""``costgraph graph``: the same diagrams as the API, printed or written by extension."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costgraph.cli import app

HERE = Path(__file__).resolve().parent
TRIP = str(HERE / "fixtures" / "trip")
GOLDEN = HERE / "golden"
runner = CliRunner()


def run(*args: str, code: int = 0):
    result = runner.invoke(app, [*args, "--rules", TRIP], env={"COLUMNS": "100"})
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


def test_prints_the_golden_dot():
    out = run("graph", "cost_per_passenger", "--set", "distance=800km")
    assert out.stdout == (GOLDEN / "trip_violated.dot").read_text()


def test_prints_the_golden_mermaid():
    out = run("graph", "cost_per_passenger", "--set", "distance=800km", "--format", "mermaid")
    assert out.stdout == (GOLDEN / "trip_violated.mmd").read_text()


@pytest.mark.parametrize("suffix, start", [
    (".dot", b"digraph fuel {"), (".gv", b"digraph fuel {"), (".mmd", b"%% fuel = 30 l"),
    (".svg", b"<?xml"), (".png", b"\x89PNG\r\n\x1a\n"),
])
def test_writes_by_extension(tmp_path, suffix, start):
    path = tmp_path / f"fuel{suffix}"
    out = run("graph", "fuel", "-o", str(path))
    assert out.stdout == "" and out.stderr == f"wrote {path}\n"
    assert path.read_bytes().startswith(start) and path.stat().st_size > 200


def test_depth_direction_and_json():
    data = json.loads(run("graph", "cost_per_passenger", "--depth", "1", "--no-constraints",
                          "--direction", "TB", "--json").stdout)
    assert data["rankdir"] == "TB"
    assert [n["id"] for n in data["nodes"]] == [
        "q:cost_per_passenger", "q:passengers", "q:trip_cost", "r:trip.cost", "r:trip.share"]
    assert {"tail": "r:trip.share", "head": "q:cost_per_passenger", "kind": "flow"} in data["edges"]


def test_unknown_extension_is_refused_before_any_work(tmp_path):
    out = run("graph", "fuel", "-o", str(tmp_path / "fuel.jpeg"), code=2)
    assert "cannot tell the diagram format of 'fuel.jpeg': use one of the extensions " \
           ".dot, .gv, .mmd, .pdf, .png, .svg" in out.stderr
    assert not (tmp_path / "fuel.jpeg").exists()
