"""Compiled functions kept on disk: lambdify's code, rebuilt in the next process without
translating a rule or printing an expression again.

A compile is a function of the rule set, the question and the versions of what builds it,
so its result is kept in the on-disk cache (``costgraph.diskcache``: HMAC-checked, so only
this user's own processes wrote what is loaded) under a key naming all of them: the entry
the rule set itself came from (``diskcache.ruleset_key``: its files and the versions), the
question, the sympy version that printed the code and the source of the modules that build
it. A rule set built without the cache has no key, and its compiles are not kept.

Each compiled function is kept as its code object (``marshal``) and rebuilt over the
namespace ``numpy_function`` gives lambdify. It is kept only when every global name its code
reads is that very object in the rebuilt namespace, so a rebuilt function computes exactly
what the original did; anything else (a closure, a name from elsewhere) is not kept.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib.util
import marshal
import types
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import diskcache, units
from . import compile as compile_module
from . import compile_namespace
from ..lang import expr as expr_module

if TYPE_CHECKING:
    from .engine import Engine

# the modules whose source decides what a compile prints: a change to any is a new key
# (compile_exprs is found, not imported: it builds sympy classes, and a kept compile needs
# no sympy)
_BUILDERS = (compile_module.__file__,
             importlib.util.find_spec(f"{__package__}.compile_exprs").origin,
             compile_namespace.__file__, expr_module.__file__, units.__file__, __file__)


def kept(model: Engine, kind: str, question: tuple, build):
    """``build()``'s result for ``question``, from disk when a process built it before.

    ``kind`` names what ``build`` returns: ``"compiled"`` (a CompiledFunction) or
    ``"functions"`` (a tuple whose callables are lambdify's functions).
    """
    name = _entry(model, kind, question)
    if name is None:
        return build()
    state = diskcache.load_object(name)
    if state is not None:
        try:
            return _thaw(model, kind, state)
        except (ValueError, TypeError, KeyError, EOFError):  # a layout it cannot read
            pass  # built and stored again below
    value = build()
    state = _freeze(kind, value)
    if state is not None:
        diskcache.store_object(name, state)
    return value


def _entry(model: Engine, kind: str, question: tuple) -> str | None:
    rules = diskcache.ruleset_key(model.ruleset)
    if rules is None:
        return None
    return diskcache.entry_name(f"compiled-{kind}", rules, repr(question), _builders())


_BUILDERS_KEY: list[str] = []


def _builders() -> str:
    """The sympy version and a hash of the builders' source (read once per process)."""
    if not _BUILDERS_KEY:
        from importlib import metadata

        digest = hashlib.sha256()
        for path in _BUILDERS:
            digest.update(Path(path).read_bytes())
        try:
            sympy_version = metadata.version("sympy")
        except metadata.PackageNotFoundError:
            sympy_version = "none"
        _BUILDERS_KEY.append(f"sympy={sympy_version};{digest.hexdigest()}")
    return _BUILDERS_KEY[0]


# --- functions as code --------------------------------------------------------------------


def _namespace() -> dict:
    """The globals lambdify gives ``numpy_function``'s code, built the way it builds them."""
    names: dict = {}
    for module in reversed(compile_module.NAMESPACE):
        names.update(module if isinstance(module, dict) else vars(module))
    names.update({"builtins": builtins, "range": range})
    return names


def _code(fn, namespace: dict) -> bytes | None:
    """``fn``'s code as bytes, or None when rebuilding it over ``namespace`` would differ."""
    code = fn.__code__
    if code.co_freevars or fn.__defaults__ or fn.__kwdefaults__:
        return None
    for name in code.co_names:
        missing = object()
        mine = fn.__globals__.get(name, getattr(builtins, name, missing))
        if mine is missing or mine is not namespace.get(name, getattr(builtins, name, missing)):
            return None
    return marshal.dumps(code)


def _function(data: bytes, namespace: dict):
    code = marshal.loads(data)
    return types.FunctionType(code, namespace, code.co_name)


# --- freezing and thawing -------------------------------------------------------------------


def _freeze(kind: str, value):
    namespace = _namespace()
    if kind == "functions":
        parts = tuple(("fn", _code(v, namespace)) if isinstance(v, types.FunctionType)
                      else ("value", v) for v in value)
        return None if any(k == "fn" and c is None for k, c in parts) else parts
    return _freeze_compiled(value, namespace)


def _freeze_compiled(cf, namespace):
    outputs = {n: _code(fn, namespace) for n, fn in cf._outputs.items()}
    margins = {c: _code(fn, namespace) for c, fn in cf._margins.items()}
    stages = [(s.name, _code(s.residual, namespace), s.low, s.high,
               None if s.direct is None else _code(s.direct, namespace)) for s in cf._stages]
    codes = [*outputs.values(), *margins.values(), *(frozen[1] for frozen in stages),
             *(frozen[4] for frozen, stage in zip(stages, cf._stages) if stage.direct is not None)]
    if any(c is None for c in codes):
        return None
    return {"find": cf.find, "inputs": cf.inputs, "single": cf.single,
            "constraints": cf.constraints, "plan": cf.plan, "in_factor": cf._in_factor,
            "in_bounds": cf._in_bounds, "out_factor": cf._out_factor, "stages": stages,
            "outputs": outputs, "margins": margins}


def _thaw(model: Engine, kind: str, state):
    namespace = _namespace()
    if kind == "functions":
        return tuple(_function(v, namespace) if k == "fn" else v for k, v in state)
    cf = object.__new__(compile_module.CompiledFunction)
    cf.model = model
    cf.find, cf.inputs, cf.single = state["find"], state["inputs"], state["single"]
    cf.constraints, cf.plan = state["constraints"], state["plan"]
    cf._in_factor = np.asarray(state["in_factor"])
    cf._in_bounds, cf._out_factor = state["in_bounds"], state["out_factor"]
    cf._stages = [compile_module.Stage(name, _function(residual, namespace), low, high,
                                       None if direct is None else _function(direct, namespace))
                  for name, residual, low, high, direct in state["stages"]]
    cf._outputs = {n: _function(c, namespace) for n, c in state["outputs"].items()}
    cf._margins = {c: _function(code, namespace) for c, code in state["margins"].items()}
    return cf
