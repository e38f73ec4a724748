"""The README is executed: its commands run, its printed outputs are what the tool prints,
its Python examples pass as doctests, and its two install commands are the ones CI runs.

README conventions this test reads:

- a ```console block holds ``$ costgraph ...`` commands, each followed by what it prints
  (stdout; for an example of a mistake, the ``error: ...`` line on stderr and exit status 1);
  an output that ends with a line ``(exit status N)`` is stdout of a command that exits with N;
  a line ``...`` alone stands for omitted lines (the text before it must start the output
  and the text after it must end it);
- a ```mermaid block right after ``<!-- output of: costgraph ... -->`` is that command's output;
- ```pycon blocks are doctests, run in order in one namespace.

After a deliberate change to the rules or the output, rewrite the printed outputs with
``COSTGRAPH_UPDATE_README=1 python -m pytest tests/test_readme.py`` and review the diff.
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costgraph.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```\n", re.S | re.M)
MERMAID_SOURCE = re.compile(r"<!-- output of: (costgraph .+?) -->\n```mermaid\n(.*?)^```\n",
                            re.S | re.M)
TEST_COMMAND = 'pip install ".[test]" && python -m pytest'
EXIT_STATUS = re.compile(r"^\(exit status (\d+)\)\n\Z", re.M)
WIDTH = "100"  # outputs in the README are as printed on a 100-column terminal
runner = CliRunner()


def blocks(kind: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README.read_text()) if lang == kind]


def console_examples() -> list[tuple[str, str]]:
    """(command, expected stdout) for every ``$ costgraph`` line of every console block."""
    examples = []
    for body in blocks("console"):
        for chunk in re.split(r"^\$ ", body, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output))
    return examples


def run(command: str, cwd: Path, code: int | None = 0) -> str:
    """What the command prints: stdout, or stderr when it fails (as a terminal shows it)."""
    argv = shlex.split(command)
    assert argv[0] == "costgraph", command
    previous = Path.cwd()
    os.chdir(cwd)  # diagrams named in the README are written into a scratch folder
    try:
        result = runner.invoke(app, argv[1:], env={"COLUMNS": WIDTH})
    finally:
        os.chdir(previous)
    if code is not None:
        assert result.exit_code == code, (command, result.stderr, result.exception)
    if result.exit_code == 1:  # an error: one line on stderr
        return result.stderr
    return result.stdout + ("" if result.exit_code == 0
                            else f"(exit status {result.exit_code})\n")


def _split(expected: str) -> tuple[str, str]:
    """The text before and after a ``...`` line (either may be empty)."""
    lines = expected.splitlines(keepends=True)
    cut = lines.index("...\n")
    return "".join(lines[:cut]), "".join(lines[cut + 1:])


def matches(expected: str, actual: str) -> bool:
    if "...\n" not in expected.splitlines(keepends=True):
        return expected == actual
    head, tail = _split(expected)
    return actual.startswith(head) and actual.endswith(tail) and \
        len(actual) >= len(head) + len(tail)


def refreshed(expected: str, actual: str) -> str:
    """The actual output, abridged where the README abridges (same number of lines kept)."""
    if "...\n" not in expected.splitlines(keepends=True):
        return actual
    head, tail = _split(expected)
    lines = actual.splitlines()
    keep_head, keep_tail = head.count("\n"), tail.count("\n")
    kept = lines[:keep_head] + ["..."] + (lines[-keep_tail:] if keep_tail else [])
    return "\n".join(kept) + "\n"


@pytest.fixture(scope="module")
def update():
    """In update mode, collect (old, new) replacements and write them once at the end."""
    edits: list[tuple[str, str]] = []
    yield edits if os.environ.get("COSTGRAPH_UPDATE_README") else None
    if edits:
        text = README.read_text()
        for old, new in edits:
            text = text.replace(old, new, 1)
        README.write_text(text)


@pytest.mark.parametrize("command, expected", console_examples(),
                         ids=[c for c, _ in console_examples()])
def test_console_example(command, expected, tmp_path, update):
    status = EXIT_STATUS.search(expected)
    code = 1 if expected.startswith("error: ") else int(status[1]) if status else 0
    actual = run(command, tmp_path, None if update is not None else code)
    if update is not None and not matches(expected, actual):
        update.append((f"$ {command}\n{expected}", f"$ {command}\n{refreshed(expected, actual)}"))
        return
    assert matches(expected, actual), f"README output of `{command}` differs:\n{actual}"


@pytest.mark.parametrize("command, expected", MERMAID_SOURCE.findall(README.read_text()))
def test_mermaid_diagram(command, expected, tmp_path, update):
    actual = run(command, tmp_path)
    if update is not None and actual != expected:
        update.append((f"{command} -->\n```mermaid\n{expected}",
                       f"{command} -->\n```mermaid\n{actual}"))
        return
    assert actual == expected


def test_python_examples():
    parser, runner_ = doctest.DocTestParser(), doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs: dict = {}
    for i, body in enumerate(blocks("pycon")):
        runner_.run(parser.get_doctest(body, globs, f"README pycon block {i + 1}", "README.md", 0))
    assert runner_.summarize(verbose=False).failed == 0
    assert runner_.summarize(verbose=False).attempted > 0


def test_install_commands():
    """The first sh block installs and runs the main job; the second is CI's test command."""
    install, tests = blocks("sh")[:2]
    assert tests.strip() == TEST_COMMAND
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text()
    first = install.strip()
    assert first.startswith("python -m venv .venv && . .venv/bin/activate && pip install")
    main_job = first.split(" && ")[-1]
    assert main_job.startswith("costgraph seek ")
    assert main_job in [c for c, _ in console_examples()], "the README shows its output"


def test_main_job_writes_its_diagram(tmp_path):
    main_job = blocks("sh")[0].strip().split(" && ")[-1]
    run(main_job, tmp_path)
    written = tmp_path / shlex.split(main_job)[-1]
    assert written.suffix == ".svg" and "<svg" in written.read_text()


def test_every_command_is_shown():
    """Each command of `costgraph --help` appears in the README (others may add sections)."""
    text = README.read_text()
    for command in ("solve", "seek", "explain", "graph", "quantities", "rules", "presets"):
        assert f"$ costgraph {command}" in text or f"output of: costgraph {command}" in text


def test_the_install_ships_every_package():
    """`pip install .` (not editable) installs only the packages pyproject lists: each package
    under src/costgraph must be listed, or the README's first command fails on a fresh clone."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    src = ROOT / "src"
    found = {".".join(p.parent.relative_to(src).parts) for p in src.glob("costgraph/**/__init__.py")}
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
