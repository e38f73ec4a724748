"""The engine: plans, solves, compiles and explains a loaded rule set.

It imports the rule language (``costgraph.lang``) and the diagram data (``costgraph.render``)
and nothing above them: no analysis, no façade, no command line.
"""
