"""A failing command is one line on stderr and a status, never a traceback: costgraph errors,
unwritable outputs, missing optional packages, bugs; and under --json an error object that is
all of stdout."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

import costgraph as cg
from costgraph.cli import app
from costgraph.errors import OutputError

from cli_helpers import TRIP, run, runner

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real console entry point in a subprocess: stdout and stderr as a shell sees them."""
    environment = {**os.environ, "COLUMNS": "100", **(env or {})}
    environment.pop("COSTGRAPH_DEBUG", None) if "COSTGRAPH_DEBUG" not in (env or {}) else None
    return subprocess.run([sys.executable, "-m", "costgraph", *args], capture_output=True,
                          text=True, env=environment, check=False, timeout=120)


def crashing(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The CLI in a subprocess where Model.solve has a bug (it divides by zero)."""
    code = ("import sys, costgraph.model as m\n"
            "def broken(*a, **k):\n    return 1 / 0\n"
            "m.Model.solve = broken\n"
            "from costgraph.cli import main\nsys.argv = ['costgraph', *sys.argv[1:]]\nmain()\n")
    environment = {**os.environ, **(env or {})}
    if "COSTGRAPH_DEBUG" not in (env or {}):
        environment.pop("COSTGRAPH_DEBUG", None)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=environment, check=False, timeout=120)


# --- a bug: "internal error", status 70, the traceback only on request ---------------------------


INTERNAL = ("error: internal error: ZeroDivisionError: division by zero (rerun with "
            "COSTGRAPH_DEBUG=1 to see the traceback)\n")


def test_a_bug_is_one_line_with_status_70_and_a_pointer_to_the_debug_variable():
    done = crashing("solve", "--find", "fuel", "--rules", TRIP)
    assert (done.returncode, done.stdout, done.stderr) == (70, "", INTERNAL)


def test_costgraph_debug_shows_the_traceback_and_keeps_the_status():
    done = crashing("solve", "--find", "fuel", "--rules", TRIP, env={"COSTGRAPH_DEBUG": "1"})
    assert done.returncode == 70
    assert done.stderr.startswith("Traceback (most recent call last):\n")
    assert "in broken\n" in done.stderr
    assert done.stderr.endswith("error: internal error: ZeroDivisionError: division by zero\n")


def test_costgraph_debug_0_is_off():
    done = crashing("solve", "--find", "fuel", "--rules", TRIP, env={"COSTGRAPH_DEBUG": "0"})
    assert (done.returncode, done.stderr) == (70, INTERNAL)


def test_a_bug_under_json_is_a_json_error_too():
    done = crashing("solve", "--find", "fuel", "--rules", TRIP, "--json")
    assert done.returncode == 70 and done.stderr == INTERNAL
    assert json.loads(done.stdout) == {"error": {
        "type": "ZeroDivisionError", "message": INTERNAL[len("error: "):-1], "internal": True}}


def test_a_bug_in_process_is_caught_the_same_way(monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(cg.Model, "solve", broken)
    out = run("explain", "fuel", "--rules", TRIP, code=70)
    assert out.stderr == ("error: internal error: KeyError: 'boom' (rerun with "
                          "COSTGRAPH_DEBUG=1 to see the traceback)\n")


def test_running_out_of_memory_is_a_plain_error(monkeypatch):
    def too_big(*args, **kwargs):
        raise MemoryError("Unable to allocate 745. GiB for an array")

    monkeypatch.setattr(cg.Model, "sweep", too_big)
    out = run("sweep", "distance=1..3", "--find", "fuel", "--rules", TRIP, code=1)
    assert out.stderr == ("error: out of memory: Unable to allocate 745. GiB for an array; ask "
                          "for less at once (fewer sweep points, fewer samples)\n")


# --- outputs that cannot be written: refused before the work, with what to do ------------------


def test_output_into_a_missing_folder_is_refused_before_the_work(tmp_path):
    target = tmp_path / "out" / "fuel.svg"
    out = run("solve", "--find", "fuel", "--rules", TRIP, "-o", str(target), code=1)
    assert out.stdout == ""  # nothing was solved, so nothing printed
    assert out.stderr == (f"error: cannot write {target}: the folder {tmp_path / 'out'} does not "
                          f"exist; create it first (mkdir -p {tmp_path / 'out'}) or write "
                          "somewhere else\n")
    assert not (tmp_path / "out").exists()


def test_a_missing_folder_names_the_outermost_one_missing(tmp_path):
    target = tmp_path / "a" / "b" / "front.csv"
    out = run("sweep", "distance=1..3", "--find", "fuel", "--rules", TRIP, "-o", str(target),
              code=1)
    assert out.stderr.startswith(f"error: cannot write {target}: the folder {tmp_path / 'a'} "
                                 f"does not exist; create it first (mkdir -p {target.parent})")


def test_a_folder_given_as_the_output_file(tmp_path):
    for args in (["solve", "--find", "fuel"], ["graph", "fuel"], ["plot", "stack"],
                 ["sweep", "distance=1..3", "--find", "fuel"]):
        out = run(*args, "--rules", TRIP, "-o", str(tmp_path), code=1)
        assert out.stderr == f"error: cannot write {tmp_path}: it is a folder; give a file " \
                             "name inside it\n", args


def test_a_file_on_the_way_to_the_output(tmp_path):
    (tmp_path / "notes").write_text("x")
    target = tmp_path / "notes" / "fuel.dot"
    out = run("graph", "fuel", "--rules", TRIP, "-o", str(target), code=1)
    assert out.stderr == (f"error: cannot write {target}: {tmp_path / 'notes'} is a file, not a "
                          "folder; give a path inside a folder\n")


def test_a_read_only_place_is_refused_before_the_work(tmp_path, monkeypatch):
    """Permissions cannot stop root, so the system's refusal is simulated where costgraph
    asks for it; the real refusal is below."""
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if str(path).startswith(str(tmp_path)):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    target = tmp_path / "fuel.csv"
    out = run("sweep", "distance=1..3", "--find", "fuel", "--rules", TRIP, "-o", str(target),
              code=1)
    assert out.stderr == (f"error: cannot write {target}: permission denied; give a path you "
                          "can write to\n")


def read_only_folder(tmp_path) -> Path:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    if os.access(folder, os.W_OK):  # root: try the kernel's own read-only tree instead
        folder = Path("/sys")
        try:
            (folder / "costgraph-probe").write_text("x")
        except OSError:
            return folder
        pytest.skip("no folder this user cannot write to")
    return folder


def test_a_really_read_only_folder(tmp_path):
    target = read_only_folder(tmp_path) / "fuel.svg"
    done = cli("graph", "fuel", "--rules", TRIP, "-o", str(target))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (f"error: cannot write {target}: permission denied; give a path you "
                           "can write to\n")


def test_a_write_refused_after_the_work_is_still_one_line(tmp_path, monkeypatch):
    """The check cannot foresee everything (a disk filling up): the write itself is guarded."""
    target = tmp_path / "fuel.csv"

    def full(self, *args, **kwargs):
        raise OSError(28, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full)
    out = run("sweep", "distance=1..3", "--find", "fuel", "--rules", TRIP, "-o", str(target),
              code=1)
    assert out.stderr.endswith(f"error: cannot write {target}: no space left on the device; free "
                               "some space or write elsewhere\n")


def test_output_error_is_an_os_error_that_pickles():
    import pickle

    error = OutputError("out/x.svg", "the folder out does not exist", "create it", 2)
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, OSError) and again.errno == 2
    assert str(again) == "cannot write out/x.svg: the folder out does not exist; create it"


def test_the_python_api_raises_output_error_too(tmp_path):
    result = cg.load(TRIP).solve(find=["fuel"])
    with pytest.raises(OutputError, match="the folder .*missing does not exist"):
        result.graph("fuel").save(tmp_path / "missing" / "fuel.dot")
    with pytest.raises(OSError):
        cg.load(TRIP).sweep({"distance": "1..3"}, ["fuel"]).to_csv(tmp_path / "no" / "x.csv")


def test_audit_markdown_into_a_missing_folder(tmp_path):
    target = tmp_path / "reports" / "audit.md"
    out = run("audit", str(ROOT / "examples" / "essay-claims.yaml"), "--markdown", str(target),
              code=1)
    assert out.stdout == ""
    assert out.stderr.startswith(f"error: cannot write {target}: the folder ")


# --- optional packages: the extra to install, before the work -----------------------------------


PLOT_EXTRA = ("error: plotting needs the `plot` extra (matplotlib): "
              "pip install 'costgraph[plot]'\n")


@pytest.fixture
def no_matplotlib(monkeypatch):
    """matplotlib as if not installed: importing it fails."""
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def test_plot_without_matplotlib_names_the_extra(no_matplotlib, tmp_path):
    png = tmp_path / "stack.png"
    out = run("plot", "stack", "-o", str(png), code=1)
    assert (out.stdout, out.stderr) == ("", PLOT_EXTRA)
    assert not png.exists()


def test_every_chart_command_without_matplotlib(no_matplotlib, tmp_path, make_rules):
    from toymodel import PRESETS, RULES

    rules = str(make_rules(core=RULES, presets={"toy": PRESETS}))
    for args in (["levers", "cost_per_mtok", "--plot"],
                 ["uncertainty", "cost_per_mtok", "-n", "100", "-o", str(tmp_path / "u.svg")],
                 ["pareto", "step_time", "cost_per_mtok", "--vary", "batch=1,8",
                  "-o", str(tmp_path / "p.pdf")]):
        out = run(*args, "--rules", rules, code=1)
        assert (out.stdout, out.stderr) == ("", PLOT_EXTRA), args


def test_chart_data_needs_no_matplotlib(no_matplotlib, tmp_path):
    csv = tmp_path / "roofline.csv"
    run("plot", "roofline", "--lines", "1,64", "-o", str(csv))
    assert csv.read_text().count("\n") > 2


def test_the_chart_object_itself_says_so(no_matplotlib, tmp_path):
    from costgraph.errors import MissingExtraError
    from costgraph.plots import roofline

    chart = roofline(cg.load(), batches="1,64")
    with pytest.raises(MissingExtraError, match=r"pip install 'costgraph\[plot\]'"):
        chart.save(tmp_path / "stack.png")


@pytest.fixture
def no_graphviz(monkeypatch):
    """Neither pygraphviz nor a `dot` program."""
    import costgraph.render.image as render_image

    monkeypatch.setitem(sys.modules, "pygraphviz", None)
    monkeypatch.setattr(render_image.shutil, "which", lambda name: None)


def test_svg_without_graphviz_names_the_extra_before_the_work(no_graphviz, tmp_path):
    for suffix in ("svg", "png", "pdf"):
        target = tmp_path / f"fuel.{suffix}"
        out = run("solve", "--find", "fuel", "--rules", TRIP, "-o", str(target), code=1)
        assert out.stdout == ""
        assert out.stderr == (f"error: rendering {suffix.upper()} needs the `render` extra "
                              "(pygraphviz>=2.0): pip install 'costgraph[render]'\n")
        assert not target.exists()


def test_text_diagrams_need_no_graphviz(no_graphviz, tmp_path):
    for name in ("fuel.dot", "fuel.mmd"):
        run("graph", "fuel", "--rules", TRIP, "-o", str(tmp_path / name))
        assert (tmp_path / name).read_text()


# --- --json: stdout is one JSON document, whatever happens --------------------------------------


def json_commands() -> list[str]:
    """Every registered command with a --json option, whoever wrote it."""
    commands = typer.main.get_command(app).commands
    return sorted(name for name, command in commands.items()
                  if any("--json" in p.opts for p in command.params))


def test_the_commands_that_print_results_take_json():
    assert {"solve", "seek", "explain", "graph", "quantities", "rules", "presets", "sweep",
            "levers", "uncertainty", "pareto", "audit"} <= set(json_commands())


@pytest.mark.parametrize("command", json_commands())
def test_every_json_command_fails_as_json(command, tmp_path):
    """Whatever the command needs besides, a missing rules folder fails it: as JSON."""
    out = runner.invoke(app, [command, "--json", "--rules", str(tmp_path / "none")],
                        env={"COLUMNS": "100"})
    assert out.exit_code in (1, 2), out.output
    error = json.loads(out.stdout)["error"]
    assert set(error) >= {"type", "message"}
    assert out.stderr == f"error: {error['message']}\n"


@pytest.mark.parametrize("args, expected", [
    (["solve", "--find", "fule"],
     {"type": "UnknownQuantityError",
      "message": "unknown quantity 'fule' in find; did you mean fuel?",
      "name": "fule", "suggestions": ["fuel"], "context": "find"}),
    (["explain", "fuel", "--set", "passengers=12"],
     {"type": "BoundsError", "message": "passengers = 12 is outside its bounds [1, 9]",
      "name": "passengers", "value": "12", "low": "1", "high": "9", "hint": ""}),
    (["seek", "--maximize", "distance", "--where", "distance <= 1 USD"],
     {"type": "DimensionError",
      "message": "--where: `distance <= {1 USD}`: expected a value in km, got USD (cannot "
                 "compare values of different dimensions)",
      "where": "`distance <= {1 USD}`", "expected": "km", "got": "USD",
      "detail": "cannot compare values of different dimensions", "option": "--where",
      "example": ""}),
    (["presets", "vann"],
     {"type": "UnknownPresetError",
      "message": "unknown preset 'vann'; did you mean van? (list them with model.presets() or "
                 "`costgraph presets`)", "name": "vann", "suggestions": ["van"]}),
    (["solve", "--find", "fuel", "--set", "distance"],
     {"type": "UsageError", "option": "--set",
      "message": "invalid value for --set: 'distance' has no '='; write NAME=VALUE, e.g. --set "
                 "batch=128 or --set context_len=\"32768 token\" (see `costgraph solve --help`)"}),
    (["sweep", "distance=1..3"],
     {"type": "UsageError", "option": "--find / -f",
      "message": "missing option '--find' / '-f' (see `costgraph sweep --help`)"}),
], ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_json_error_objects_carry_the_structured_fields(args, expected):
    out = runner.invoke(app, [*args, "--rules", TRIP, "--json"], env={"COLUMNS": "100"})
    assert json.loads(out.stdout) == {"error": expected}
    assert out.exit_code == (2 if expected["type"] == "UsageError" else 1)


def test_an_infeasible_seek_under_json_keeps_its_least_bad_point():
    out = runner.invoke(app, ["seek", "--rules", TRIP, "--maximize", "distance", "--vary",
                              "passengers", "--where", "cost_per_passenger <= 1 USD",
                              "--where", "distance >= 900 km", "--json"])
    assert out.exit_code == 1
    error = json.loads(out.stdout)["error"]
    assert error["type"] == "InfeasibleError"
    assert error["point"]["passengers"] == {"value": 9.0, "unit": ""}
    assert {v["id"] for v in error["violations"]} >= {"cost_per_passenger <= 1 USD"}


def test_json_stdout_is_only_the_error_when_a_write_fails_after_printing(tmp_path,
                                                                          monkeypatch):
    """solve prints its JSON, then writes the diagram: a refused write leaves no half result."""
    from costgraph.render import Diagram

    def refused(self, path, format=None):
        raise OutputError(path, "no space left on the device", "free some space", 28)

    monkeypatch.setattr(Diagram, "save", refused)
    target = tmp_path / "fuel.dot"
    out = runner.invoke(app, ["solve", "--find", "fuel", "--rules", TRIP, "--json",
                              "-o", str(target)])
    assert out.exit_code == 1
    assert json.loads(out.stdout)["error"]["type"] == "OutputError"
    assert json.loads(out.stdout)["error"]["path"] == str(target)


def test_json_failure_through_a_real_pipe():
    done = cli("solve", "--find", "fule", "--rules", TRIP, "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["type"] == "UnknownQuantityError"
    assert done.stderr == "error: unknown quantity 'fule' in find; did you mean fuel?\n"


def test_json_success_is_untouched():
    out = run("solve", "--find", "fuel", "--rules", TRIP, "--json")
    assert json.loads(out.stdout)["values"]["fuel"]["value"] == 30.0


def test_the_readme_shows_the_json_error_the_tool_prints():
    readme = (ROOT / "README.md").read_text()
    shown = re.search(r"`--json` prints:\n\n```json\n(.*?)```\n", readme, re.S).group(1)
    out = runner.invoke(app, ["solve", "--find", "cost_per_mtk", "--json"])
    assert out.exit_code == 1 and out.stdout == shown


# --- usage errors: one line too ------------------------------------------------------------------


@pytest.mark.parametrize("args, line", [
    (["solve"], "error: missing option '--find' / '-f' (see `costgraph solve --help`)"),
    (["solve", "--fnd", "fuel"],
     "error: no such option: --fnd (Possible options: --find) (see `costgraph solve --help`)"),
    (["slove"], "error: no such command 'slove'. Did you mean 'solve', 'serve'? (see `costgraph --help`)"),
    (["--bogus"], "error: no such option: --bogus (see `costgraph --help`)"),
    (["graph", "fuel", "--depth", "-1"],
     "error: invalid value for '--depth': -1 is not in the range x>=0 "
     "(see `costgraph graph --help`)"),
])
def test_usage_errors_are_one_line_with_status_2(args, line):
    out = run(*args, code=2)
    assert (out.stdout, out.stderr) == ("", line + "\n")


def test_help_and_version_still_exit_0():
    assert run("solve", "--help").stdout.startswith("Usage: costgraph solve")
    assert run("--version").stdout == f"costgraph {cg.__version__}\n"
    assert "Usage: costgraph" in runner.invoke(app, []).output  # no arguments: the help


# --- the mistakes people make most, word for word ------------------------------------------------


@pytest.mark.parametrize("args, code, line", [
    (["solve", "--find", "fuel", "--set", "distance"], 2,
     "error: invalid value for --set: 'distance' has no '='; write NAME=VALUE, e.g. --set "
     "batch=128 or --set context_len=\"32768 token\" (see `costgraph solve --help`)"),
    (["solve", "--find", "fuel", "--set", "distance="], 2,
     "error: invalid value for --set: 'distance=' has no value after '='; e.g. --set batch=128 "
     "or --set context_len=\"32768 token\" (see `costgraph solve --help`)"),
    (["seek", "--maximize", "distance", "--vary", "passengers=9..1"], 2,
     "error: invalid value for --vary: 'passengers=9..1' runs from 9 down to 1; write the low "
     "end first: --vary passengers=1..9 (see `costgraph seek --help`)"),
    (["seek", "--maximize", "distance", "--where", "fuel"], 1,
     "error: --where: a constraint must be one comparison such as `a <= b` in `fuel`; e.g. "
     "--where \"step_time <= 50 ms\""),
    (["solve", "--find", "fuel", "-p", "vann"], 1,
     "error: -p/--preset: unknown preset 'vann'; did you mean van? (list them with "
     "model.presets() or `costgraph presets`)"),
], ids=["set-without-equals", "set-empty-value", "vary-downwards", "where-not-an-inequality",
        "unknown-preset"])
def test_the_common_mistakes_word_for_word(args, code, line):
    out = run(*args, "--rules", TRIP, code=code)
    assert (out.stdout, out.stderr) == ("", line + "\n")


def test_rules_pointing_at_a_file_word_for_word():
    rule_file = Path(TRIP) / "trip.yaml"
    out = run("solve", "--find", "fuel", "--rules", str(rule_file), code=1)
    assert out.stderr == (f"error: --rules {rule_file}: this is a file, not a folder; give the "
                          f"folder that holds the rule files, e.g. --rules {TRIP}\n")


@pytest.mark.parametrize("module", ["costgraph.cli.failures", "costgraph.files"])
def test_docstring_examples_run(module, tmp_path, monkeypatch):
    import doctest
    import importlib

    monkeypatch.chdir(tmp_path)  # the examples name folders that must not exist
    failures, attempted = doctest.testmod(importlib.import_module(module),
                                          optionflags=doctest.ELLIPSIS)
    assert failures == 0 and attempted > 0
