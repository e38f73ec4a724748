"""Writing result files: a path checked before the work, and a refused write as OutputError.

Every writer of a diagram, chart, table or report goes through ``writing``, so a missing
folder, a folder given as a file or a read-only place is one ``OutputError`` that names the
path and what to do, never a bare ``FileNotFoundError``. ``check_writable`` asks the same
question before any work is done, so a long sweep does not end in an unwritable path.

>>> check_writable("no-such-folder/cost.svg")
Traceback (most recent call last):
...
costgraph.errors.OutputError: cannot write no-such-folder/cost.svg: the folder no-such-folder ...
"""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
from pathlib import Path

from .errors import OutputError


def check_writable(path: str | Path) -> Path:
    """``path`` as a Path, or OutputError when a file could not be written there.

    The check creates nothing that stays: where the file does not exist yet, it is created
    and removed again, which is the one sure test on every kind of file system.
    """
    path = Path(path)
    if str(path) in ("", "."):
        raise OutputError(str(path), "no file name given", "give a file name, e.g. cost.svg")
    if path.is_dir():
        raise OutputError(path, "it is a folder", "give a file name inside it", errno.EISDIR)
    if path.exists():
        if not os.access(path, os.W_OK):
            raise refused(path, PermissionError(errno.EACCES, "Permission denied", str(path)))
        return path
    with writing(path):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.close(descriptor)
    path.unlink()
    return path


@contextlib.contextmanager
def writing(path: str | Path):
    """Run a write to ``path``; an OSError raised inside becomes OutputError saying why."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # a closed stdout is not a bad path
            raise
        raise refused(Path(path), exc) from exc


def refused(path: Path, exc: OSError) -> OutputError:
    """The OutputError for the system's refusal ``exc`` to write ``path``."""
    parent = _nearest_missing(path.parent)
    if exc.errno == errno.ENOENT and parent is not None:
        problem = f"the folder {parent} does not exist"
        folder = shlex.quote(str(path.parent))
        fix = f"create it first (mkdir -p {folder}) or write somewhere else"
    elif exc.errno == errno.ENOTDIR:
        problem, fix = (f"{_file_on_the_way(path)} is a file, not a folder",
                        "give a path inside a folder")
    elif exc.errno == errno.EISDIR:
        problem, fix = "it is a folder", "give a file name inside it"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        problem, fix = "permission denied", "give a path you can write to"
    elif exc.errno == errno.EROFS:
        problem, fix = "the file system is read-only", "give a path you can write to"
    elif exc.errno == errno.ENOSPC:
        problem, fix = "no space left on the device", "free some space or write elsewhere"
    else:
        problem, fix = (exc.strerror or str(exc)).lower(), ""
    return OutputError(path, problem, fix, exc.errno)


def _nearest_missing(folder: Path) -> Path | None:
    """The outermost folder of ``folder`` that does not exist (None if all do)."""
    missing = None
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def _file_on_the_way(path: Path) -> Path:
    """The first part of ``path`` that exists and is not a folder."""
    for candidate in reversed(path.parents):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return path.parent
