"""Values kept per model, least recently used first out: the one cache behind compiles,
settled scenarios and seek's evaluators.

An entry lives as long as its model (the models are held weakly) and at most ``size`` are
kept per model. One model may serve many threads: a read takes no lock (``get`` and
``move_to_end`` are each atomic, and an entry another thread evicts between the two is still
a good value, only its recency is lost); an insert and its eviction run under a lock, so that
recency and size stay consistent. Builds run outside the lock: two threads building the same
key at once both build, and both get the one stored first.

>>> cache = ModelCache(2)
>>> class Owner: pass
>>> owner = Owner()
>>> [cache.get_or_build(owner, k, lambda k=k: k * 10) for k in (1, 2, 1, 3)]
[10, 20, 10, 30]
>>> list(cache[owner])  # 2 was the least recently used
[1, 3]
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

_MISSING = object()


class ModelCache:
    """Up to ``size`` values per model, keyed by anything hashable."""

    def __init__(self, size: int):
        self.size = size
        self._models: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()  # held for the dict operations of an insert, never a build

    def __getitem__(self, model) -> OrderedDict:
        return self._models[model]

    def forget(self, model) -> None:
        """Drop every value kept for ``model``."""
        self._models.pop(model, None)

    def get(self, model, key):
        """The value kept under ``key`` for ``model``, or None (nothing built)."""
        entries = self._models.get(model)
        return None if entries is None else entries.get(key)

    def get_or_build(self, model, key, build):
        """The value kept under ``key`` for ``model``, ``build()`` when there is none."""
        entries = self._models.get(model)
        value = _MISSING if entries is None else entries.get(key, _MISSING)
        if value is not _MISSING:
            try:
                entries.move_to_end(key)
            except KeyError:  # evicted by another thread since the get
                pass
            return value
        built = build()
        with self._lock:
            entries = self._models.setdefault(model, OrderedDict())
            value = entries.setdefault(key, built)
            entries.move_to_end(key)
            while len(entries) > self.size:
                entries.popitem(last=False)
        return value
