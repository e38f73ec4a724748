"""Where rules folders are and which files they hold: the bundled folder, the file list, and
the cheap fingerprint that tells whether a loaded folder changed.

Nothing here reads a file's contents, so a start whose rule set comes from a cache needs
neither YAML nor the file schemas.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

KINDS_FILE = "kinds.yaml"  # in presets/: the declared kinds (optional)
CHARTS_FILE = "charts.yaml"  # what the charts draw unless told otherwise (optional)


def bundled_rules_path() -> Path:
    """Where the rules shipped with costgraph live (installed, or in a source checkout)."""
    spec = importlib.util.find_spec("costgraph.bundled_rules")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(__file__).resolve().parents[3] / "rules"


def rule_file_paths(folder: Path) -> list[Path]:
    """The files a rules folder's loading reads (and ``.yml`` files, which it refuses)."""
    paths = []
    for directory in (folder, folder / "presets"):
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        paths += sorted(directory / name for name in entries
                        if name.endswith((".yaml", ".yml")) and not name.startswith("."))
    return paths


def fingerprint(folder: str | Path) -> tuple | None:
    """What identifies a rules folder's contents: each file's path, size, mtime_ns, inode.

    Cheap (one ``stat`` per file, nothing read); None for a folder that is gone. Any file
    added, removed, grown, touched or replaced gives another fingerprint.
    """
    root = Path(folder)
    try:
        if not root.is_dir():
            return None
    except (OSError, ValueError):
        return None
    stamps = []
    for path in rule_file_paths(root):
        try:
            st = os.stat(path)
        except OSError:
            stamps.append((str(path), None))
            continue
        stamps.append((str(path), st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(stamps)
