"""Silencing warnings around one call, safely when many threads do it at once.

``warnings.catch_warnings`` saves the process-wide filter list on entry and puts it back
on exit. Two threads inside it at once restore each other's lists in the wrong order, and
the filter one of them added ("ignore everything") is left in force for the whole process
afterwards. Every silenced block of costgraph goes through ``silenced``, which holds one
lock while the filters are changed, so one Model can serve many threads and the caller's
warning filters come back exactly as they were.
"""

from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager

_LOCK = threading.RLock()  # re-entrant: a silenced call may reach another silenced block


@contextmanager
def silenced(category: type[Warning] = Warning):
    """Ignore warnings of ``category`` inside the block.

    The blocks it guards are symbolic solves, cached after their first call, and parsing,
    so the lock is rarely contended.

    Examples
    --------
    >>> import warnings
    >>> with silenced():
    ...     warnings.warn("not shown")
    """
    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", category)
        yield
