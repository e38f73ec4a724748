"""costgraph: what does an LLM output token cost, and why?

A declarative rule-graph engine: quantities with units, rules as data, solved forward,
inverted for targets, and every number traceable to its inputs.

>>> import costgraph as cg
>>> model = cg.load()
>>> r = model.solve(find="cost_per_mtok")           # the `default` scenario
>>> r["cost_per_mtok"].units
<Unit('USD / Mtok')>
"""

import sys as _sys

from . import lazy as _lazy

# pint imports dask's core when dask is installed (for dask arrays of quantities, which
# costgraph never makes): a tenth of a second at every start. Hidden while pint loads, so
# pint sees no dask; importing dask later (the dask backend) works as usual. pint also
# imports all of scipy, for its one use of it (``to_preferred``): it gets a stand-in that
# imports scipy when pint first reads from it, so a start that never needs scipy skips it.
if "pint" not in _sys.modules and "dask" not in _sys.modules:
    _hidden = {"dask": None}
    if "scipy" not in _sys.modules:
        _hidden["scipy"] = _lazy.module("scipy")
    _sys.modules.update(_hidden)
    try:
        import pint as _pint  # noqa: F401
    finally:
        for _name, _stand_in in _hidden.items():
            if _sys.modules.get(_name, 0) is _stand_in:
                del _sys.modules[_name]


from . import errors  # noqa: E402
from .model import Model, QuantityInfo, bundled_rules_path, load  # noqa: E402
from .core.provenance import ConstraintStatus, Result, Step  # noqa: E402
from .units import Quantity, ureg  # noqa: E402

__all__ = ["load", "Model", "Result", "Step", "ConstraintStatus", "QuantityInfo", "Quantity",
           "ureg", "errors", "bundled_rules_path"]
from .version import __version__  # noqa: E402
