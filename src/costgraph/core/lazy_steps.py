"""A Result's steps kept as floats until read: each derived Step is built on first access.

An exact solve derives some eighty values, and most callers read one or two of them; building
a pint Quantity and a provenance Step for every value took most of a solve. ``LazySteps`` is
a read-only mapping holding the known Steps as they are, and each derived value as its float
magnitude (in its quantity's declared unit) beside what deriving it used; a Step is built
the first time it is read and kept, so that it is the same object ever after. Read in any
way, it gives exactly the Steps an eager solve would have built.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import floatpath


class LazySteps(Mapping):
    """name -> Step for ``names`` (in order): ``known`` Steps as given, ``derived`` ones built
    from ``values[name]`` on first access.

    Parameters
    ----------
    names : tuple of str
        The names held, in the order they iterate.
    keep : frozenset of str
        The same names, for membership.
    known : dict
        name -> Step of the values the solve started from (shared, never changed).
    derived : dict
        name -> what deriving it used (``floatpath.derivation``), for each derived name.
    values : dict
        name -> float in the declared unit, for every derived name (owned by this mapping).
    """

    __slots__ = ("_names", "_keep", "_known", "_derived", "_values", "_built")

    def __init__(self, names, keep, known, derived, values):
        self._names, self._keep = names, keep
        self._known, self._derived, self._values = known, derived, values
        self._built: dict = {}

    def __getitem__(self, name):
        step = self._built.get(name)
        if step is not None:
            return step
        if name not in self._keep:
            raise KeyError(name)
        d = self._derived.get(name)
        if d is None:
            return self._known[name]
        step = floatpath.derived_step(d, floatpath.fast_quantity(self._values[name], d.unit))
        return self._built.setdefault(name, step)  # two readers at once: both get the first

    def __contains__(self, name) -> bool:
        return name in self._keep

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return repr(dict(self))

    def __reduce__(self):
        return dict, (dict(self),)  # pickled, copied or deep-copied: a plain dict of Steps
