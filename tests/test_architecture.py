"""The package's shape, checked from its source: layers, cycles, private names, module size.

Every import of one costgraph module by another is read with ``ast``, function-local imports
included (an import inside a function is still a dependency; it only runs later). Imports
under ``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "costgraph"
MAX_LINES = 500

# The layers, lowest first. A module may import its own package and any lower layer, never a
# higher one. Two packages of one layer do not import each other, except in the layers named in
# MIXING (single modules whose order the cycle test keeps, and the two front ends, where the
# web pages reuse the command line's option parsing).
LAYERS = [
    ("foundation", ["costgraph.version", "costgraph.errors", "costgraph.lazy",
                    "costgraph.diskcache", "costgraph.units", "costgraph.quiet",
                    "costgraph.files", "costgraph.table"]),
    ("language", ["costgraph.lang"]),
    ("diagrams", ["costgraph.render"]),
    ("engine", ["costgraph.core"]),
    ("analyses", ["costgraph.analysis", "costgraph.audit", "costgraph.validation"]),
    ("charts", ["costgraph.plots"]),
    ("façade", ["costgraph.model", "costgraph"]),
    ("front ends", ["costgraph.cli", "costgraph.web", "costgraph.__main__"]),
]
MIXING = {"foundation", "façade", "front ends"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Each import node that runs, skipping ``if TYPE_CHECKING:`` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _imports_in(child))
            continue
        yield from _imports_in(node)


def _imports_in(node: ast.AST):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    else:
        yield from _imports(node)


def _target(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
    parts = package.split(".")
    parts = parts[: len(parts) - node.level + 1]
    return ".".join(parts + ([node.module] if node.module else []))


def imports_of(module: str):
    """(imported module, imported names) for each costgraph import in ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    for node in _imports(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "costgraph":
                    yield alias.name, ()
            continue
        target = _target(module, node)
        if target.split(".")[0] != "costgraph":
            continue
        names = tuple(alias.name for alias in node.names)
        submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
        yield from ((sub, ()) for sub in submodules)
        rest = tuple(n for n in names if f"{target}.{n}" not in MODULES)
        if rest or not submodules:
            yield target, rest


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(MODULES)
    for module in MODULES:
        for target, _ in imports_of(module):
            assert target in MODULES, f"{module} imports {target}, which does not exist"
            if target != module:
                graph.add_edge(module, target)
    return graph


def layer_of(module: str) -> tuple[int, str]:
    """The layer index and the package (the layer entry) that ``module`` belongs to."""
    best = None
    for index, (_, packages) in enumerate(LAYERS):
        for package in packages:
            if module == package or module.startswith(package + "."):
                if best is None or len(package) > len(best[1]):
                    best = (index, package)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best


def test_no_import_cycle_function_local_imports_included():
    cycles = sorted(sorted(c) for c in nx.simple_cycles(import_graph()))
    assert cycles == []


def test_every_import_points_down_the_layers():
    upward = []
    for module, target in import_graph().edges:
        (low, here), (high, there) = layer_of(module), layer_of(target)
        if high > low:
            upward.append(f"{module} -> {target}")
        elif high == low and here != there and LAYERS[low][0] not in MIXING:
            upward.append(f"{module} -> {target} (sibling packages)")
    assert upward == []


def test_no_private_name_is_imported_across_modules():
    private = [f"{module} imports {name} from {target}"
               for module in MODULES for target, names in imports_of(module)
               for name in names
               if name.startswith("_") and not name.startswith("__") and target != module]
    assert private == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by job"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_says_its_one_job_first(module):
    doc = ast.get_docstring(ast.parse(MODULES[module].read_text()))
    assert doc, f"{module} has no docstring"
    first = doc.splitlines()[0]
    assert first.strip() and not first.startswith(" "), f"{module}: {first!r}"


# --- docs/architecture.md draws the layers as the code has them ----------------------------

DIAGRAM_IDS = {"foundation": "foundation", "language": "lang", "diagrams": "render",
               "engine": "core", "analyses": "analyses", "charts": "plots", "façade": "facade",
               "front ends": "front"}


def layer_edges() -> set[tuple[str, str]]:
    """The arrows between layers that the code's imports make, as diagram ids."""
    edges = set()
    for module, target in import_graph().edges:
        low, high = layer_of(module)[0], layer_of(target)[0]
        if low != high:
            edges.add((DIAGRAM_IDS[LAYERS[low][0]], DIAGRAM_IDS[LAYERS[high][0]]))
    return edges


def test_the_architecture_diagram_draws_the_real_imports():
    text = (SRC.parent / "docs" / "architecture.md").read_text()
    block = text.split("<!-- layers:start -->")[1].split("<!-- layers:end -->")[0]
    drawn = {tuple(part.strip() for part in line.split("-->"))
             for line in block.splitlines() if "-->" in line}
    assert drawn == layer_edges()
