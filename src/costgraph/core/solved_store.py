"""What sympy worked out at given numbers, kept as plain data: found again without sympy.

Inverting a rule (a given ``context_len`` solves ``input_len``), the formula a solved step is
restated as, and the closed form of a seek's optimum are each a function of the rule set,
the question and the numbers it is asked at. sympy's solutions are already kept on disk
(``symbolic_cache``), but finding one means building its equation, and so importing sympy,
which is most of what such a question costs at start. So the outcome itself is kept too,
as plain data (floats, text, tuples), in the on-disk cache (``costgraph.diskcache``:
HMAC-checked, so only this user's own processes wrote what is loaded), named by the rule
set's entry (``diskcache.ruleset_key``), the question with every number it reads, the sympy
version and the source of the modules that work it out. A different number, rule or module
is a different name, so a stale outcome is never found; a rule set built without the cache
has no key, and nothing of it is kept.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .. import diskcache, units
from ..lang import expr as expr_module
from ..lang import symbols as symbols_module
from . import graph as graph_module
from . import plan as plan_module
from . import symbolic

if TYPE_CHECKING:
    from .engine import Engine

_MEMORY: dict = {}  # entry name -> outcome, so a repeated question reads no file either
_MEMORY_SIZE = 1024
_LOCK = threading.Lock()
# the modules every outcome depends on (the engine's composites found, not imported: it
# imports the solve that keeps outcomes here); each caller adds the ones that work its
# outcome out
_SOURCES = (units.__file__, expr_module.__file__, symbols_module.__file__, graph_module.__file__,
            plan_module.__file__, symbolic.__file__,
            importlib.util.find_spec(f"{__package__}.engine").origin)
_DIGESTS: dict[tuple, str] = {}


def numbers(values: dict) -> tuple:
    """``values`` (name -> float) as a key's part: sorted, each number exactly (``repr``)."""
    return tuple((name, repr(float(v))) for name, v in sorted(values.items()))


def entry(model: Engine, kind: str, question: tuple, sources: tuple = ()) -> str | None:
    """The name ``question``'s outcome is kept under, or None when it cannot be kept.

    ``sources`` are the files of the modules that work the outcome out (beside the
    translation to sympy, the planner and the guarded solve, always counted).
    """
    if not diskcache.enabled():
        return None
    rules = diskcache.ruleset_key(model.ruleset)
    if rules is None:
        return None
    return diskcache.entry_name(f"solved-{kind}", rules, repr(question), _digest(sources))


def load(name: str | None):
    """``(True, outcome)`` when one is kept under ``name``, else ``(False, None)``."""
    if name is None:
        return False, None
    if name in _MEMORY:
        return True, _MEMORY[name]
    found = diskcache.load_object(name)
    if not (isinstance(found, tuple) and len(found) == 2 and found[0] == "outcome"):
        return False, None
    _remember(name, found[1])
    return True, found[1]


def store(name: str | None, outcome) -> None:
    """Keep ``outcome`` (plain data: numbers, text, tuples, None) under ``name``."""
    if name is None:
        return
    _remember(name, outcome)
    diskcache.store_object(name, ("outcome", outcome))


def kept(model: Engine, kind: str, question: tuple, build, sources: tuple = ()):
    """``build()``'s outcome for ``question``, from the cache when it was worked out before
    (``sources`` as for ``entry``). An exception from ``build`` propagates, and nothing is
    kept."""
    name = entry(model, kind, question, sources)
    found, outcome = load(name)
    if found:
        return outcome
    outcome = build()
    store(name, outcome)
    return outcome


def _remember(name: str, outcome) -> None:
    with _LOCK:
        if len(_MEMORY) >= _MEMORY_SIZE:
            _MEMORY.clear()
        _MEMORY[name] = outcome


def _digest(sources: tuple) -> str:
    """The sympy version and a hash of the sources (each set read once per process)."""
    found = _DIGESTS.get(sources)
    if found is None:
        from importlib import metadata

        digest = hashlib.sha256()
        for path in (*_SOURCES, *sources):
            digest.update(Path(path).read_bytes())
        try:
            sympy_version = metadata.version("sympy")
        except metadata.PackageNotFoundError:
            sympy_version = "none"
        found = _DIGESTS[sources] = f"sympy={sympy_version};{digest.hexdigest()}"
    return found
