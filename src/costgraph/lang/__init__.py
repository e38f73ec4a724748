"""The rule language: expressions, file schemas, the loader and preset composition.

Nothing here solves anything; these modules read rule files into validated definitions and
translate formulas, and they import only ``costgraph.errors``, ``costgraph.units`` and each
other.
"""
