"""The Python examples in docs/sweeps.md run as written, and what they print is what it shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


def shown_after_print(block: str) -> list[str]:
    """The comment lines right under a ``print(...)`` line: what the page says it prints."""
    shown, lines = [], block.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("print("):
            for following in lines[i + 1:]:
                if not following.startswith("# "):
                    break
                shown.append(following[2:])
    return shown


def test_sweeps_page_examples_run_and_print_what_they_show(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write out.csv, front.csv, charts
    monkeypatch.setattr("sys.argv", ["docs"])
    namespace: dict = {}
    blocks = python_blocks(DOCS / "sweeps.md")
    assert len(blocks) >= 5
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, "docs/sweeps.md", "exec"), namespace)
        printed = out.getvalue()
        for line in shown_after_print(block):
            assert line in printed
