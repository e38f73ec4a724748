"""Settled scenarios kept per model, so that presets are coerced once, not at every solve.

``Model.scenario`` reads every preset value through the unit parser and checks its bounds;
the same presets, given values and question settle the same way each time. A forward-only
question is also kept prepared up to its arithmetic (``prepared_solve``), in a cache of its
own. And the presets' coerced values are kept per list of presets, and a prepared question
by its shape (its presets, the names given and known, what is asked), so that a question at
given values never asked before (a loop over batch) coerces only those values and takes its
plan, closures and checks from the last question of its shape (``PreparedSolve.at``; one
with a derived value given in place of its rule is prepared afresh). Entries live as long as
their model, at most ``CACHE_SIZE`` of each per model, least recently used first out.
"""

from __future__ import annotations

from .compile_cache import value_key
from .model_cache import ModelCache
from .prepared_solve import prepare

CACHE_SIZE = 128

_CACHE = ModelCache(CACHE_SIZE)
_PREPARED = ModelCache(CACHE_SIZE)  # apart, so that as many scenarios are kept as before
_PRESETS = ModelCache(CACHE_SIZE)  # presets coerced once, for any given values over them
_SHAPES = ModelCache(CACHE_SIZE)  # a prepared question by what it knows, not its values


def _presets_key(presets):
    """The list of presets as a tuple (one name alone is a list of one)."""
    return None if presets is None else tuple([presets] if isinstance(presets, str) else presets)


def _key(presets, given, find):
    """The question as a hashable key, or None when a value cannot be keyed."""
    try:
        key = (_presets_key(presets),
               tuple(sorted((str(n), value_key(v)) for n, v in given.items())) if given else (),
               tuple(find))
        hash(key)
    except TypeError:
        return None
    return key


def scenario(model, presets=None, given=None, find=()):
    """``model.scenario(presets, given, find=find)``, settled once per distinct question.

    The Scenario returned is shared: callers copy its ``steps`` and ``fallback`` before
    changing them (as ``Model.solve`` does).
    """
    key = _key(presets, given, find)
    if key is None:  # a value that cannot be keyed: settle it afresh
        return model.scenario(presets, given, find=find)
    return _CACHE.get_or_build(model, key, lambda: model.scenario(presets, given, find=find))


def prepared(model, presets, given: dict, find):
    """``find`` asked over ``presets`` with ``given``, prepared once (``prepared_solve``), or
    None when the question is not forward-only or cannot be keyed."""
    key = _key(presets, given, find)
    if key is None:
        return None

    def build():
        settled = scenario(model, presets, given, find)
        # the same presets, the same names given and the same names known: the same plan
        shape = (key[0], tuple(name for name, _ in key[1]), key[2],
                 frozenset(settled.steps))
        kept = _SHAPES.get(model, shape)
        if kept is not None and not settled.fallback:
            return kept.at(model, settled)
        ready = prepare(model, settled, tuple(find), given)
        if ready is not None and not ready.overridden:
            _SHAPES.get_or_build(model, shape, lambda: ready)
        return ready

    return _PREPARED.get_or_build(model, key, build)


def presets(model, presets=None):
    """``model.preset_steps(presets)``, coerced once per list of presets: a question with new
    given values over the same presets coerces only its given values. Shared: callers copy."""
    try:
        key = _presets_key(presets)
        hash(key)
    except TypeError:  # a list holding something unhashable: compose it afresh
        return model.preset_steps(presets)
    return _PRESETS.get_or_build(model, key, lambda: model.preset_steps(presets))
