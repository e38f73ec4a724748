"""sympy's ``solve`` kept in memory and on disk: the same equation is solved once, ever.

Rearranging a rule for an input (compiling a query whose varied quantity moves another) and
the closed form of an optimum each call ``sympy.solve``, often the slowest step of a command
that asks them. The equations depend only on the rules (and, for a closed form, on numbers
the query fixes), so their solutions are kept: per process by the expression itself, and
across processes in the on-disk cache (``costgraph.diskcache``: HMAC-checked before it is
unpickled), named by a hash of the equation's full structure (``sympy.srepr``) and of the
sympy and costgraph versions.
"""

from __future__ import annotations

import hashlib
import threading

from .. import diskcache, lazy
from ..quiet import silenced

sympy = lazy.module("sympy")

_MEMORY: dict = {}
_LOCK = threading.Lock()
_MEMORY_SIZE = 512


def solve(equation, unknown, **options) -> tuple:
    """``tuple(sympy.solve(equation, unknown, **options))``, from a cache when it was solved.

    An exception from sympy (an equation it cannot solve) is raised as sympy raises it, and
    nothing is kept.
    """
    key = (equation, unknown, tuple(sorted(options.items())))
    found = _MEMORY.get(key)
    if found is not None:
        return found
    name = _entry(equation, unknown, options)
    found = diskcache.load_object(name) if name else None
    if not isinstance(found, tuple):
        with silenced():
            found = tuple(sympy.solve(equation, unknown, **options))
        if name:
            diskcache.store_object(name, found)
    with _LOCK:
        if len(_MEMORY) >= _MEMORY_SIZE:
            _MEMORY.clear()
        _MEMORY[key] = found
    return found


def _entry(equation, unknown, options) -> str | None:
    if not diskcache.enabled():
        return None
    from ..version import __version__

    text = "\0".join([sympy.__version__, __version__, sympy.srepr(equation),
                      sympy.srepr(unknown), repr(sorted(options.items()))])
    return f"solve-{hashlib.sha256(text.encode()).hexdigest()[:32]}.pickle"
