"""Diagrams: the derivation as nodes and edges, written as DOT, Mermaid, SVG or PNG.

Its modules, lowest first: ``style`` (the one table of roles), ``folding`` (which zero-valued
branches a reader can skip), ``dot`` (DOT by the graphviz package), ``text`` (Mermaid),
``image`` (SVG and PNG through Graphviz), ``diagram`` (a Result's derivation as a Diagram).
"""

from .diagram import Diagram, Edge, Node, derivation_graph
from .style import ROLES, Role

__all__ = ["Diagram", "Edge", "Node", "ROLES", "Role", "derivation_graph"]
