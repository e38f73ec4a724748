"""Diagrams: the derivation as nodes and edges, written as DOT, Mermaid, SVG or PNG.

Its modules, lowest first: ``style`` (the one table of roles), ``text`` (DOT and Mermaid),
``image`` (SVG and PNG through Graphviz), ``diagram`` (a Result's derivation as a Diagram).
"""

from .diagram import Diagram, derivation_graph
from .style import ROLES, Role

__all__ = ["Diagram", "ROLES", "Role", "derivation_graph"]
