"""The command line against hostile input: each case is (argv, exit status, a fragment of the
one line it must print). Failures print that line on stderr and nothing on stdout; successes
print the fragment on stdout. No case may print a traceback.

Statuses: 0 done, 1 costgraph refuses the question, 2 the command line cannot be read (the
option is named with an example), 3 an infeasible answer, 70 a bug. Cases marked xfail are known gaps outside the
command line (the parsers, the engine): what they should print once fixed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import TRIP, runner
from costgraph.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = str(ROOT / "README.md")
NO_RULES = str(ROOT / "tests" / "fixtures")  # a folder with no rule file in it
S = ["solve", "--find", "cost_per_mtok"]
SEEK = ["seek", "--maximize", "context_len", "--vary", "batch=1..512"]
SWEEP = ["sweep", "batch=1..3", "--find", "cost_per_mtok"]
PARETO = ["pareto", "step_time", "cost_per_mtok"]


CASES = [
    # --set: its form (status 2), then its value as the engine reads it (status 1)
    ([*S, "--set", "batch"], 2, "invalid value for --set: 'batch' has no '='; write NAME=VALUE, "
                                "e.g. --set batch=128"),
    ([*S, "--set", "batch="], 2, "'batch=' has no value after '='"),
    ([*S, "--set", "=128"], 2, "'=128' has no name before '='"),
    ([*S, "--set", "batch=nan"], 2, "'batch=nan': nan is not a finite number"),
    ([*S, "--set", "batch=-inf"], 2, "-inf is not a finite number"),
    ([*S, "--set", "batch=1e400"], 2, "1e400 is not a finite number"),
    ([*S, "--set", "batch=3", "--set", "batch=4"], 2, "batch is set twice (3, then 4); give it "
                                                      "once"),
    ([*S, "--set", "batch=-5"], 1, "batch = -5 request is outside its bounds [1, inf]"),
    ([*S, "--set", "batch=2.5"], 1, "batch = 2.5 request must be a whole number"),
    ([*S, "--set", "batch=é"], 1, "given batch = 'é': cannot read 'é' as a number"),
    ([*S, "--set", "context_len=12 kg"], 1, "given context_len: expected a value in token, got "
                                            "12 kg"),
    ([*S, "--set", "batch=__import__('os')"], 1, "cannot read \"__import__('os')\" as a number"),
    ([*S, "--set", "nosuch=3"], 1, "unknown quantity 'nosuch' in given"),
    ([*S, "--set", "batch=１２８"], 1, "'１' is not an ASCII digit"),  # look-alike digits
    # names
    (["solve", "--find", ""], 2, "invalid value for --find: an empty name; e.g. --find "
                                 "cost_per_mtok"),
    (["solve", "--find", "cost_per_mtøk"], 1, "unknown quantity 'cost_per_mtøk' in find; did you "
                                              "mean cost_per_mtok"),
    (["solve"], 2, "missing option '--find' / '-f' (see `costgraph solve --help`)"),
    (["explain", ""], 2, "invalid value for NAME: an empty name"),
    (["graph", ""], 2, "invalid value for NAME: an empty name"),
    (["quantities", "--kind", "foo"], 2, "invalid value for '--kind'"),
    (["rules", "nope"], 1, "no rule, constraint or derived quantity named 'nope'"),
    (["presets", "nope"], 1, "unknown preset 'nope'"),
    (["slove"], 2, "no such command 'slove'. Did you mean 'solve', 'serve'?"),
    # presets and rules folders
    ([*S, "-p", "nope"], 1, "-p/--preset: unknown preset 'nope'"),
    ([*S, "-p", ""], 1, "-p/--preset: unknown preset ''"),
    ([*S, "--rules", README], 1, f"--rules {README}: this is a file, not a folder; give the "
                                 f"folder that holds the rule files, e.g. --rules {ROOT}"),
    ([*S, "--rules", "/nonexistent-costgraph"], 1, "--rules /nonexistent-costgraph: no such "
                                                   "folder"),
    ([*S, "--rules", NO_RULES], 1, f"no rule files: this folder has no *.yaml file"),
    # seek: --vary, --where, the objective
    (["seek", "--maximize", "context_len", "--vary", "batch=512..1"], 2,
     "'batch=512..1' runs from 512 down to 1; write the low end first: --vary batch=1..512"),
    (["seek", "--maximize", "context_len", "--vary", "batch=1-512"], 2,
     "'batch=1-512' is not NAME=LO..HI; e.g. --vary batch=1..512"),
    (["seek", "--maximize", "context_len", "--vary", "=1..5"], 2, "'=1..5' has no name"),
    (["seek", "--maximize", "context_len", "--vary", "batch=1..inf"], 2,
     "'batch=1..inf': inf is not a finite number"),
    (["seek", "--maximize", "context_len", "--vary", "batch=1..4", "--vary", "batch=1..8"], 2,
     "batch is varied twice; give it once"),
    (["seek", "--maximize", "context_len", "--vary", "batch=0..0"], 1,
     "batch = 0 request is outside its bounds [1, inf]"),
    ([*SEEK, "--where", "cost_per_mtok"], 1,
     "--where: a constraint must be one comparison such as `a <= b` in `cost_per_mtok`; e.g. "
     "--where \"step_time <= 50 ms\""),
    ([*SEEK, "--where", ""], 2, "invalid value for --where: an empty constraint"),
    ([*SEEK, "--where", "cost_per_mtok == 2 USD/Mtok"], 1, "--where: == is not allowed"),
    ([*SEEK, "--where", "1 <= 2"], 1, "--where: `1 <= 2`: names no quantity, so it holds "
                                      "everywhere or nowhere"),
    ([*SEEK, "--where", "a <= b <= c"], 1, "chained comparisons are not allowed"),
    ([*SEEK, "--where", "cost_per_mtok <= 2 s"], 1, "expected a value in USD/Mtok, got s"),
    ([*SEEK, "--where", "cost_per_mtk <= 2 USD/Mtok"], 1,
     "--where: unknown quantity 'cost_per_mtk' in constraint"),
    ([*SEEK, "--where", "cost_per_mtok <= 0.0001 USD/Mtok"], 1,
     "cost_per_mtok is 0.13 USD/Mtok at best"),
    (["seek", "--maximize", "context_len", "--minimize", "batch"], 2,
     "give exactly one of --maximize NAME or --minimize NAME"),
    (["seek", "--maximize", ""], 2, "invalid value for --maximize: an empty name"),
    # sweep: axes, zero points, outputs
    (["sweep", "batch=512..1", "--find", "cost_per_mtok"], 1, "vary batch: no values to sweep"),
    (["sweep", "batch=1..4:0", "--find", "cost_per_mtok"], 1, "needs at least one point"),
    (["sweep", "batch=1,,4", "--find", "cost_per_mtok"], 1, "'' is not a number"),
    (["sweep", "batch", "--find", "cost_per_mtok"], 2, "'batch' is not NAME=VALUES"),
    (["sweep", "batch=1..3", "batch=4..5", "--find", "cost_per_mtok"], 2,
     "batch is given twice ('1..3', then '4..5'); give it once"),
    (["sweep", "batch=1..3", "--find", "nosuch"], 1, "unknown quantity 'nosuch' in --find"),
    (["sweep", "batch=1..3", "--find", ""], 2, "invalid value for --find: an empty name"),
    ([*SWEEP, "-o", "grid.png"], 2, "cannot write grid.png: use one of .csv, .json"),
    ([*SWEEP, "-o", "/nonexistent-costgraph/grid.csv"], 1,
     "cannot write /nonexistent-costgraph/grid.csv: the folder /nonexistent-costgraph does not "
     "exist"),
    # levers, uncertainty, pareto
    (["levers", "cost_per_mtok", "--range", "batch=5..1"], 2,
     "'batch=5..1' runs from 5 down to 1; write the low end first: --range batch=1..5"),
    (["levers", "cost_per_mtok", "--range", "batch"], 2, "'batch' is not NAME=VALUES"),
    (["levers", "batch"], 1, "it is an input; levers need a derived quantity"),
    (["levers", "cost_per_mtok", "--rank", "foo"], 1, "rank must be 'elasticity' or 'swing'"),
    (["levers", ""], 2, "invalid value for TARGET: an empty name"),
    (["uncertainty", "cost_per_mtok", "--seed", "-1"], 2, "invalid value for '--seed'"),
    (["uncertainty", "cost_per_mtok", "-n", "1"], 2, "invalid value for '--samples' / '-n'"),
    ([*PARETO, "--vary", "batch=4..1"], 1, "vary batch: no values to sweep"),
    ([*PARETO, "--vary", "batch=1..4", "--where", "1 <= 2"], 1, "names no quantity"),
    (["pareto", "step_time", "nosuch", "--vary", "batch=1..4"], 1,
     "unknown quantity 'nosuch' in X Y"),
    ([*PARETO, "--vary", "batch=1..4", "--maximize", "foo"], 1,
     "maximize names foo, which is neither x (step_time) nor y (cost_per_mtok)"),
    # plot
    (["plot", "pie", "-o", "x.png"], 2, "'pie' is not a kind of plot"),
    (["plot", "stack", "--samples", "10", "-o", "x.png"], 2,
     "--samples does not apply to stack plots"),
    (["plot", "stack", "--scenario", "foo", "-o", "x.csv"], 2, "'foo' is not NAME=VALUES"),
    (["plot", "stack", "--scenario", "a=nope", "-o", "x.csv"], 1,
     "--scenario: unknown preset 'nope'"),
    (["plot", "regions", "--region", "nope", "-o", "x.csv"], 1, "--region: unknown preset 'nope'"),
    (["plot", "pareto", "--quantities", "a", "-o", "x.csv"], 2, "'a' is not two names X,Y"),
    (["plot", "stack", "-o", "x.txt"], 2, "cannot write x.txt: use one of .csv, .json, .png"),
    # graph and diagrams
    (["graph", "cost_per_mtok", "--depth", "-1"], 2, "invalid value for '--depth'"),
    (["graph", "cost_per_mtok", "--format", "mermaid", "-o", "x.svg"], 2,
     "'mermaid' is for the text printed without --output"),
    ([*S, "-o", ""], 1, "no file name given; give a file name, e.g. cost.svg"),
    ([*S, "-o", "cost.jpeg"], 2, "cannot tell the diagram format of 'cost.jpeg'"),
    ([*S, "-o", "/nonexistent-costgraph/cost.svg"], 1,
     "cannot write /nonexistent-costgraph/cost.svg: the folder /nonexistent-costgraph does not "
     "exist; create it first (mkdir -p /nonexistent-costgraph)"),
    # numbers that cannot be real, refused by the engine and the parsers
    ([*S, "--set", "hbm_bandwidth=0 TB/s"], 1,
     "given hbm_bandwidth = 0 TB/s: rule throughput.lm_head_time divides by it (through effective_bandwidth)"),
    ([*S, "--set", "context_len=1e308 token"], 1, "not a finite number"),
    ([*S, "--set", "pue=1.2.3"], 1, "cannot read '1.2.3'"),
    ([*S, "--set", "batch=1;2"], 1, "cannot read '1;2'"),
    ([*S, "--set", "gpu_power=1e999 W"], 1, "1e999 is too large: values must be finite"),
    (["sweep", "batch=1e400", "--find", "cost_per_mtok"], 1,
     "1e400 is too large: values must be finite"),
    ([*S, "--set", "n_sliding_layers=100"], 1,
     "n_full_attention_layers = -20: below its lower bound 0"),
    ([*S, "--set", "experts_per_token=9"], 1, "expert_choice_fraction = 9: above its upper bound 1"),
    ([*S, "--set", "utilisation=0"], 1, "rule capital.capital_cost_per_gpu_hour divides by it"),
]


def ids(case) -> str:
    argv = case.values[0] if hasattr(case, "values") else case[0]
    return " ".join(a if a else "''" for a in argv)


@pytest.fixture
def in_scratch(tmp_path, monkeypatch):
    """Run in an empty folder: no case may leave a file behind in the checkout."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("argv, code, fragment", CASES, ids=[ids(c) for c in CASES])
def test_hostile_input(argv, code, fragment, in_scratch):
    result = runner.invoke(app, argv, env={"COLUMNS": "100"})
    assert "Traceback" not in result.output
    assert result.exit_code == code, (result.stdout, result.stderr)
    if code == 0:
        assert fragment in result.stdout
        return
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    # one line, or a rules folder's problems: a head line, then each problem as "  - ..."
    assert len(lines) == 1 or all(line.startswith("  - ") for line in lines[1:]), result.stderr
    assert result.stderr.startswith("error: ") and fragment in result.stderr, result.stderr
    assert list(in_scratch.iterdir()) == []


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("argv, fragment", [
    (["audit", "/nonexistent-costgraph.yaml"], "cannot read the file"),
    (["audit", README], "not valid YAML"),
])
def test_a_file_with_several_problems_lists_them_under_one_error(argv, fragment, in_scratch):
    """Loading errors list every problem, one per line, under one `error:` line."""
    result = runner.invoke(app, argv)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: 1 error in claims file ")
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_trip_fixture_cases_too():
    """A rule set other than the bundled one goes through the same checks."""
    result = runner.invoke(app, ["solve", "--find", "fuel", "--rules", TRIP, "--set",
                                 "passengers=1e400"])
    assert result.exit_code == 2
    assert "1e400 is not a finite number" in result.stderr
