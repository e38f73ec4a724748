"""Diagrams: the derivation as nodes and edges, written as DOT, Mermaid, SVG or PNG."""
