"""Laying diagrams out as images with Graphviz, and writing diagrams to files.

Graphviz comes from pygraphviz, a dependency wherever its wheels exist (they carry Graphviz
itself, so a plain install needs no system package); elsewhere the `render` extra builds it.
Without it, a ``dot`` program on PATH does the same job; without either, the error says
exactly what to install.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..errors import MissingExtraError
from ..files import writing

TEXT_FORMATS = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid"}
IMAGE_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}


def pipe(source: str, format: str) -> bytes:
    """DOT ``source`` laid out by Graphviz's ``dot`` into ``format`` (svg, png, pdf)."""
    pygraphviz = _pygraphviz()
    if pygraphviz is None:
        return _pipe_program(source, format)
    graph = pygraphviz.AGraph(string=source)
    return graph.draw(format=format, prog="dot")


def require_layout(format: str) -> None:
    """Raise MissingExtraError now if ``format`` needs Graphviz and neither way to it is here.

    Lets a caller refuse before the work whose result it would fail to draw.
    """
    if format in TEXT_FORMATS.values() or _pygraphviz() is not None:
        return
    if shutil.which("dot") is None:
        raise _missing(format)


def _pygraphviz():
    """The pygraphviz module, or None when it is not installed (or cannot load Graphviz)."""
    try:
        import pygraphviz
    except ImportError:
        return None
    return pygraphviz


def _missing(format: str) -> MissingExtraError:
    return MissingExtraError(f"rendering {format.upper()}", "render", "pygraphviz>=2.0")


def _pipe_program(source: str, format: str) -> bytes:
    program = shutil.which("dot")
    if program is None:
        raise _missing(format)
    done = subprocess.run([program, f"-T{format}"], input=source.encode("utf-8"),
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{program} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def format_for(path: Path, format: str | None = None) -> str:
    """The output format a path asks for: by its extension unless ``format`` is given."""
    if format:
        return format
    suffix = path.suffix.lower()
    known = {**TEXT_FORMATS, **IMAGE_FORMATS}
    if suffix not in known:
        choices = ", ".join(sorted(known))
        raise ValueError(f"cannot tell the diagram format of {path.name!r}: "
                         f"use one of the extensions {choices}")
    return known[suffix]


def save(diagram, path: Path, format: str | None = None) -> Path:
    """Write ``diagram`` to ``path`` in the format its extension names; returns the path."""
    fmt = format_for(path, format)
    if fmt == "dot":
        content: str | bytes = diagram.source
    elif fmt == "mermaid":
        content = diagram.mermaid
    else:
        content = pipe(diagram.source, fmt)
    with writing(path):
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return path
