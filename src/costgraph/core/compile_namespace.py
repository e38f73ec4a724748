"""The names a compiled function's code reads: numpy, numpy.linalg, and min/max/where.

lambdify prints code that calls these by name; ``core.compile`` hands them to it, and
``core.compile_store`` rebuilds kept code over the same objects. Nothing here needs sympy,
so a function read back from disk runs without importing it.
"""

from __future__ import annotations

import functools

import numpy as np

# what the opaque min, max and where of the compiled path's expressions (core.compile_exprs)
# become: element-wise, whatever their arguments
NUMPY_FUNCS = {"cg_max": lambda *a: functools.reduce(np.maximum, a),
               "cg_min": lambda *a: functools.reduce(np.minimum, a),
               "cg_where": lambda c, a, b: np.where(c, a, b)}

# What lambdify's "numpy" adds to the numpy module's own names: its imaginary unit and
# Heaviside, and numpy.linalg's names, which its `from numpy.linalg import *` binds over
# numpy's. Handing lambdify the numpy module itself, with these, gives the same namespace
# without its `from numpy import *`, which imports every lazily loaded numpy submodule
# (f2py, testing, ...) on first use: a tenth of a second of every compiling command's start.
NUMPY_NAMES = {"I": 1j, "Heaviside": np.heaviside,
               **{name: getattr(np.linalg, name) for name in np.linalg.__all__}}

# what lambdify binds a compiled function's names to, first found first
NAMESPACE = (NUMPY_FUNCS, NUMPY_NAMES, np)
