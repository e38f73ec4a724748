"""Every module's docstring examples run, so the examples in the code cannot drift from it."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "costgraph"
MODULES = sorted(".".join(("costgraph", *p.relative_to(PACKAGE).with_suffix("").parts))
                 .removesuffix(".__init__") for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_the_examples_cover_the_layers():
    """Not every small module needs an example, but each layer shows how it is used."""
    with_examples = {name for name in MODULES
                     if doctest.DocTestFinder().find(importlib.import_module(name))
                     and any(t.examples for t in doctest.DocTestFinder().find(
                         importlib.import_module(name)))}
    for layer in ("costgraph.lang", "costgraph.core", "costgraph.analysis", "costgraph.audit",
                  "costgraph.render", "costgraph.model", "costgraph.units"):
        assert any(n == layer or n.startswith(layer + ".") for n in with_examples), layer
