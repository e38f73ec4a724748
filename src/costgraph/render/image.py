"""Laying diagrams out as images with Graphviz, and writing diagrams to files.

Graphviz comes from pygraphviz, a dependency wherever its wheels exist (they carry Graphviz
itself, so a plain install needs no system package); elsewhere the `render` extra builds it.
Without it, a ``dot`` program on PATH does the same job; without either, the error says
exactly what to install.

A layout depends only on the DOT text, the format and the Graphviz that lays it out, so it
is kept in the on-disk cache (``costgraph.diskcache``: HMAC-checked, keyed by all three),
and a diagram drawn before is written again without importing pygraphviz or running ``dot``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

from .. import diskcache
from ..errors import MissingExtraError
from ..files import writing

TEXT_FORMATS = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid"}
IMAGE_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}


def pipe(source: str, format: str) -> bytes:
    """DOT ``source`` laid out by Graphviz's ``dot`` into ``format`` (svg, png, pdf)."""
    engine = _engine()
    name = None if engine is None else diskcache.entry_name("layout", engine, format, source)
    kept = None if name is None else diskcache.read(name)
    if kept is not None:
        return kept
    drawn, by_library = _layout(source, format)
    # kept only when drawn by the engine the key names (not by `dot` in place of a
    # pygraphviz that is installed but cannot load)
    if name is not None and by_library == engine.startswith("pygraphviz="):
        diskcache.write(name, drawn)
    return drawn


def _layout(source: str, format: str) -> tuple[bytes, bool]:
    """(the layout, whether pygraphviz drew it rather than a ``dot`` program)."""
    pygraphviz = _pygraphviz()
    if pygraphviz is None:
        return _pipe_program(source, format), False
    graph = pygraphviz.AGraph(string=source)
    return graph.draw(format=format, prog="dot"), True


def _engine() -> str | None:
    """Which Graphviz a layout would come from, as text for a cache key (None: neither).

    pygraphviz's wheels carry Graphviz itself, so its version names the layout engine; a
    ``dot`` program is named by its path, size and modification time. Nothing is imported.
    """
    if _has_pygraphviz():
        from importlib import metadata

        try:
            return f"pygraphviz={metadata.version('pygraphviz')}"
        except metadata.PackageNotFoundError:
            return None  # importable but not installed as a package: no key to trust
    program = shutil.which("dot")
    if program is None:
        return None
    try:
        st = os.stat(program)
    except OSError:
        return None
    return f"dot={os.path.realpath(program)}:{st.st_size}:{st.st_mtime_ns}"


def require_layout(format: str) -> None:
    """Raise MissingExtraError now if ``format`` needs Graphviz and neither way to it is here.

    Lets a caller refuse before the work whose result it would fail to draw. Whether
    pygraphviz is installed is looked up, not imported (a layout from the cache needs none).
    """
    if format in TEXT_FORMATS.values() or _has_pygraphviz():
        return
    if shutil.which("dot") is None:
        raise _missing(format)


def _has_pygraphviz() -> bool:
    """Whether pygraphviz can be imported, found without importing it."""
    try:
        return importlib.util.find_spec("pygraphviz") is not None
    except (ImportError, ValueError):  # a broken entry in sys.modules
        return False


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
