"""Compiled functions kept per model, so that sweeps, Pareto fronts and uncertainty reuse them.

A compile translates, composes and lambdifies the rules behind a query; the same query
(outputs, inputs, given values, presets and constraints) asked again gets the function built
the first time. Entries live as long as their model and at most ``CACHE_SIZE`` per model,
least recently used first out.
"""

from __future__ import annotations

from .model_cache import ModelCache

CACHE_SIZE = 32  # compiled functions kept per model; one costs ~20-200 ms to build

_CACHE = ModelCache(CACHE_SIZE)


def compiled(model, find, inputs, given=None, presets=None, constraints=()):
    """``model.compile(find, inputs, ...)``, built once per distinct query and reused.

    Arguments are as for ``Model.compile``. A query whose parts cannot be keyed (a given
    value that is neither a number, text nor a quantity) is compiled without caching.
    """
    try:
        key = _key(find, inputs, given, presets, constraints)
        hash(key)
    except TypeError:
        return model.compile(find, inputs, given=given, presets=presets, constraints=constraints)
    return _CACHE.get_or_build(model, key, lambda: model.compile(
        find, inputs, given=given, presets=presets, constraints=constraints))


def _key(find, inputs, given, presets, constraints) -> tuple:
    single = isinstance(find, str)
    return (single, tuple([find] if single else find),
            tuple([inputs] if isinstance(inputs, str) else inputs),
            tuple(sorted((str(n), value_key(v)) for n, v in (given or {}).items())),
            None if presets is None else tuple([presets] if isinstance(presets, str) else presets),
            _constraints_key(constraints))


def value_key(value):
    if isinstance(value, (str, int, float)):
        return (type(value).__name__, value)
    magnitude = getattr(value, "magnitude", None)
    units = getattr(value, "units", None)
    if isinstance(magnitude, (int, float)) and units is not None:
        return ("quantity", float(magnitude), str(units))
    raise TypeError("not a cacheable value")


def _constraints_key(constraints):
    if isinstance(constraints, str):
        return ("text", constraints)
    out = []
    for c in constraints:
        if isinstance(c, str):
            out.append(("text", c))
        else:  # a ConstraintDef: its id and text say what it checks
            out.append(("def", c.id, c.expr.text, getattr(c, "description", "")))
    return tuple(out)
