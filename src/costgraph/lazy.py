"""Modules imported on first use: sympy, networkx and scipy cost a command that never needs them.

``sympy = lazy.module("sympy")`` stands for the module: the first attribute read imports it,
and every read after that is the real module's attribute. Only what is read through the
stand-in is delayed; ``import sympy`` anywhere else imports it as usual.
"""

from __future__ import annotations

import importlib
import types


class _LazyModule(types.ModuleType):
    """A stand-in for a module, imported when an attribute of it is first read."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__["_lazy_real"] = None

    def __getattr__(self, attr):
        real = self.__dict__["_lazy_real"]
        if real is None:
            real = importlib.import_module(self.__name__)
            self.__dict__["_lazy_real"] = real
        value = getattr(real, attr)
        self.__dict__[attr] = value  # found directly from now on, without __getattr__
        return value

    def __repr__(self) -> str:
        return f"<lazy module {self.__name__!r}>"


def module(name: str) -> types.ModuleType:
    """The module ``name``, imported when one of its attributes is first read."""
    return _LazyModule(name)
