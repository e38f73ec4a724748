"""What a start imports: each "never imports X" of a cold start, checked in a fresh process.

A command's start is mostly imports, so a module that creeps back in (pydantic through a
schema, scipy through pint, numpy's f2py through lambdify) is time lost at every start. Each
test runs a fresh interpreter with its own on-disk cache, warms that cache with one run,
and then asserts what a second, cached run left out of ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SOLVE = """
import costgraph as cg
cg.load().solve(find="cost_per_mtok")
"""

COMPILE = """
import costgraph as cg
f = cg.load().compile("cost_per_mtok", ["batch"])
f(batch=[1.0, 8.0])
"""

INVERTED = """
import costgraph as cg
r = cg.load().solve(given={"context_len": "8192 token"}, find=["cost_per_mtok"])
assert r.steps["input_len"].method.value == "solved"
"""

# the README's seek example, exactly as the README runs it (the diagram into the cwd)
CLI_SEEK = """
import sys
from costgraph.cli import main
sys.argv = ["costgraph", "seek", "--maximize", "context_len", "--where",
            "cost_per_mtok <= 2 USD/Mtok", "--vary", "batch=1..512", "--explain",
            "-o", "context.svg"]
try:
    main()
except SystemExit as stop:
    assert not stop.code, stop.code
"""

CLI_SOLVE = """
import sys
from costgraph.cli import main
sys.argv = ["costgraph", "solve", "--find", "cost_per_mtok"]
try:
    main()
except SystemExit:
    pass
"""


def _modules_after(code: str, cache_dir, warm: bool = True, cwd=None) -> set[str]:
    """The top-level and numpy modules imported by ``code`` in a fresh interpreter."""
    env = {**os.environ, "COSTGRAPH_CACHE_DIR": str(cache_dir)}
    env.pop("COSTGRAPH_NO_CACHE", None)
    report = code + "\nimport json, sys\nprint('\\n' + json.dumps(sorted(sys.modules)))\n"
    runs = 2 if warm else 1  # the first run fills the on-disk cache
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", report], capture_output=True, text=True,
                              env=env, timeout=120, cwd=cwd)
        assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def cached_solve(tmp_path_factory):
    return _modules_after(SOLVE, tmp_path_factory.mktemp("cache"))


def test_a_cached_solve_never_imports_pydantic(cached_solve):
    # the rule set from the on-disk cache is never validated, so the file schemas stay out
    assert "pydantic" not in cached_solve
    assert "costgraph.lang.schema" not in cached_solve
    assert "costgraph.lang.bibliography_file" not in cached_solve


def test_a_cached_solve_never_imports_yaml(cached_solve):
    assert "yaml" not in cached_solve
    assert "costgraph.lang.rule_files" not in cached_solve


def test_a_solve_never_imports_scipy(cached_solve):
    # pint imports scipy for to_preferred alone; it gets a stand-in instead
    assert "scipy" not in cached_solve


def test_a_solve_never_imports_sympy_or_networkx(cached_solve):
    assert "sympy" not in cached_solve
    assert "networkx" not in cached_solve


def test_an_inverted_solve_never_imports_networkx(tmp_path):
    # the planner orders its blocks itself (core.plan.ordered_components)
    assert "networkx" not in _modules_after(INVERTED, tmp_path)


def test_a_cached_inverted_solve_never_imports_sympy(tmp_path):
    # input_len's root at the given context_len, and its formula, come from the disk cache
    assert not {"sympy", "networkx"} & _modules_after(INVERTED, tmp_path)


def test_the_readme_seek_example_cached_never_imports_sympy(tmp_path):
    # the compiled evaluator, the exact answer's inversion, the closed form's outcome and the
    # diagram's layout all come from the disk cache
    found = _modules_after(CLI_SEEK, tmp_path / "cache", cwd=tmp_path)
    assert not {"sympy", "networkx", "scipy", "yaml", "pygraphviz"} & found
    assert (tmp_path / "context.svg").read_bytes().startswith(b"<?xml")


def test_a_compile_never_imports_numpys_lazy_submodules(tmp_path):
    # lambdify's "numpy" namespace star-imports numpy, loading f2py, testing and the rest
    found = _modules_after(COMPILE, tmp_path)
    assert not {"numpy.f2py", "numpy.testing", "numpy.polynomial"} & found


def test_the_cli_solve_never_imports_sympy_scipy_yaml_or_pydantic(tmp_path):
    # pydantic: typer is held below 0.29, which validates every option through it
    found = _modules_after(CLI_SOLVE, tmp_path)
    assert not {"sympy", "networkx", "scipy", "yaml", "pydantic"} & found


def test_pint_still_reaches_scipy_through_its_stand_in():
    # the stand-in imports scipy when pint first reads from it, and is not left behind
    code = ("import sys, costgraph as cg, pint.compat\n"
            "assert 'scipy' not in sys.modules and pint.compat.HAS_SCIPY\n"
            "milp = pint.compat.scipy.optimize.milp\n"
            "print(milp.__module__, type(sys.modules['scipy']).__name__)\n"
            "print(cg.ureg.Quantity(1, 'kWh').to_preferred([cg.ureg.J, cg.ureg.W]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["scipy.optimize._milp module", "3600000.0 J"]


@pytest.mark.parametrize("args", [
    ["solve", "--find", "cost_per_mtok"],
    ["solve", "--bogus"],
    ["seek", "--help"],
    ["presets", "--kind", "hardware"],
    ["explain"],
])
def test_a_command_runs_alone_exactly_as_in_the_whole_app(args):
    # main() builds only the command asked for; its output and status are the whole app's
    from typer.testing import CliRunner

    from costgraph import cli

    alone = cli._app_for(args)
    assert [c.name for c in alone.registered_commands] == [args[0]]
    runner = CliRunner()
    whole, single = runner.invoke(cli.app, args), runner.invoke(alone, args)
    assert (single.exit_code, single.output) == (whole.exit_code, whole.output)


@pytest.mark.parametrize("args", [[], ["--help"], ["--version"], ["solv"], ["--bogus"]])
def test_anything_but_a_command_runs_the_whole_app(args):
    from costgraph import cli

    assert cli._app_for(args) is cli.app
