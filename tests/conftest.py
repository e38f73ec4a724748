"""Shared fixtures: the bundled model (loaded once) and tiny rule folders built in tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import costgraph as cg


@pytest.fixture(scope="session")
def model():
    """The bundled rules, loaded once for the whole session."""
    return cg.load()


@pytest.fixture
def make_rules(tmp_path):
    """Write a tiny rules folder: make_rules(core="yaml text", presets={"p": "yaml"}) -> Path."""

    def make(presets: dict[str, str] | None = None, **files: str) -> Path:
        root = tmp_path / "rules"
        (root / "presets").mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (root / f"{name}.yaml").write_text(textwrap.dedent(text))
        for name, text in (presets or {}).items():
            (root / "presets" / f"{name}.yaml").write_text(textwrap.dedent(text))
        return root

    return make
