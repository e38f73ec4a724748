"""costgraph: what does an LLM output token cost, and why?

A declarative rule-graph engine: quantities with units, rules as data, solved forward,
inverted for targets, and every number traceable to its inputs.

>>> import costgraph as cg
>>> model = cg.load()
>>> r = model.solve(find="cost_per_mtok")           # the `default` scenario
>>> r["cost_per_mtok"].units
<Unit('USD / Mtok')>
"""

from . import errors
from .model import Model, QuantityInfo, bundled_rules_path, load
from .core.provenance import ConstraintStatus, Result, Step
from .units import Quantity, ureg

__all__ = ["load", "Model", "Result", "Step", "ConstraintStatus", "QuantityInfo", "Quantity",
           "ureg", "errors", "bundled_rules_path"]
__version__ = "0.1.0"
