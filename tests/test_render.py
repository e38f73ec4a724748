"""Derivation diagrams: golden DOT and Mermaid on a small fixed rule set, images, and errors.

Golden files live in tests/golden/. After a deliberate change to the diagrams, rewrite them
with ``COSTGRAPH_UPDATE_GOLDEN=1 python -m pytest tests/test_render.py`` and review the diff.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import costgraph as cg
from costgraph.render import image as render_image
from costgraph.errors import MissingExtraError, UnknownQuantityError
from costgraph.render import ROLES, derivation_graph

HERE = Path(__file__).resolve().parent
TRIP = HERE / "fixtures" / "trip"
GOLDEN = HERE / "golden"


@pytest.fixture(scope="module")
def trip():
    return cg.load(TRIP)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("COSTGRAPH_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


# each case: (golden file, find, given, what it shows)
CASES = [
    ("trip_violated.dot", "cost_per_passenger", {"distance": "800 km"},
     "given, preset, derived, target, a violated constraint"),
    ("trip_solved.dot", "distance", {"trip_cost": "45 USD"},
     "a value solved by inverting a rule"),
    ("trip_binding.dot", "fuel", {"distance": "750 km"},
     "a constraint with no slack left"),
]


@pytest.mark.parametrize("golden, find, given, shows", CASES, ids=[c[0] for c in CASES])
def test_golden_dot(trip, golden, find, given, shows):
    result = trip.solve(given=given, find=[find])
    check_golden(golden, result.graph(find).source)


def test_golden_mermaid(trip):
    result = trip.solve(given={"distance": "800 km"}, find=["cost_per_passenger"])
    check_golden("trip_violated.mmd", result.graph().mermaid)


def test_roles_follow_the_result(trip):
    result = trip.solve(given={"distance": "800 km"}, find=["cost_per_passenger"])
    d = result.graph()
    roles = {n.id: n.role for n in d.nodes}
    assert roles["q:distance"] == "given"
    assert roles["q:consumption"] == "preset"
    assert roles["q:trip_cost"] == "derived"
    assert roles["c:trip.tank"] == "violated"
    assert [n.id for n in d.nodes if n.target] == ["q:cost_per_passenger"]
    assert d.roles == ["given", "preset", "derived", "target", "rule", "violated"]


def test_solved_value_is_drawn_from_its_inverted_rule(trip):
    d = trip.solve(given={"trip_cost": "45 USD"}, find=["distance"]).graph()
    roles = {n.id: n.role for n in d.nodes}
    assert roles["q:distance"] == "solved" and roles["r:trip.cost"] == "inverted"
    assert ("q:trip_cost", "r:trip.cost") in {(e.tail, e.head) for e in d.edges}
    assert ("r:trip.cost", "q:distance") in {(e.tail, e.head) for e in d.edges}


def test_binding_can_be_named_by_a_seek(trip):
    result = trip.solve(find=["fuel"])  # 30 L of a 45 L tank: slack left
    assert {n.role for n in result.graph().nodes if n.id.startswith("c:")} == {"holds"}
    marked = derivation_graph(result, "fuel", binding=["trip.tank"])
    assert {n.role for n in marked.nodes if n.id.startswith("c:")} == {"binding"}


def test_depth_and_constraints_options(trip):
    result = trip.solve(find=["cost_per_passenger"])
    shallow = result.graph(depth=1, constraints=False)
    assert sorted(n.id for n in shallow.nodes) == [
        "q:cost_per_passenger", "q:passengers", "q:trip_cost", "r:trip.cost", "r:trip.share"]


def test_dot_is_deterministic_and_sorted(model):
    first = model.solve(find=["cost_per_mtok"]).graph().source
    second = model.solve(find=["cost_per_mtok"]).graph().source
    assert first == second
    top = [line[1:] for line in first.splitlines() if line.startswith("\t")
           and not line.startswith("\t\t") and line.split(" ", 1)[0] not in
           ("\tgraph", "\tnode", "\tedge", "\tsubgraph")]
    node_ids = [line.split(" [", 1)[0].strip('"') for line in top if "->" not in line]
    assert node_ids == sorted(node_ids) and "folded" in node_ids
    edges = [tuple(end.strip('"') for end in line.split(" [", 1)[0].split(" -> "))
             for line in top if "->" in line]
    assert edges == sorted(edges) and len(edges) > 100


def test_bundled_cost_diagram_reaches_every_layer(model):
    d = model.solve(find=["cost_per_mtok"], presets=["default", "fp16"]).graph()
    ids = {n.id for n in d.nodes}
    for name in ("cost_per_mtok", "tokens_per_second", "step_time", "gemm_time",
                 "capital_cost_per_gpu_hour", "power_cost_per_gpu_hour", "batch",
                 "context_len", "hbm_bandwidth", "gpu_price"):
        assert f"q:{name}" in ids
    assert "c:memory.hbm_fit" in ids  # FP16 weights and batch 64 overflow the KV pool
    legend = [line for line in d.source.splitlines() if '"legend:' in line]
    assert len(legend) == len(d.roles) >= 4


def test_every_role_has_a_legend_and_a_look():
    for role in ROLES.values():
        assert role.legend and role.fill.startswith("#") and role.border.startswith("#")


def test_svg_and_png_are_written(trip, tmp_path):
    d = trip.solve(find=["cost_per_passenger"]).graph()
    svg, png = d.save(tmp_path / "trip.svg"), d.render(tmp_path / "trip.png")
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "cost_per_passenger" in d.pipe_svg()


def test_text_formats_by_extension(trip, tmp_path):
    d = trip.solve(find=["fuel"]).graph()
    assert d.save(tmp_path / "a.dot").read_text() == d.source
    assert d.save(tmp_path / "a.gv").read_text() == d.source
    assert d.save(tmp_path / "a.mmd").read_text() == d.mermaid
    with pytest.raises(ValueError, match=r"cannot tell the diagram format of 'a.txt'"):
        d.save(tmp_path / "a.txt")


def test_notebook_shows_table_and_diagram(trip):
    html = trip.solve(find=["fuel"])._repr_html_()
    assert "<table>" in html and "<svg" in html


def test_unknown_name_suggests_the_closest(trip):
    result = trip.solve(find=["fuel"])
    with pytest.raises(UnknownQuantityError, match="did you mean fuel"):
        result.graph("fuell")


def test_without_pygraphviz_a_dot_program_on_path_is_used(trip, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nimport sys\nsys.stdin.read()\n"
                    "sys.stdout.write('<svg>' + sys.argv[1] + '</svg>')\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setitem(sys.modules, "pygraphviz", None)  # import fails
    monkeypatch.setenv("PATH", str(fake.parent))
    assert trip.solve(find=["fuel"]).graph().pipe_svg() == "<svg>-Tsvg</svg>"


def test_without_graphviz_the_error_says_how_to_install_it(trip, monkeypatch):
    monkeypatch.setitem(sys.modules, "pygraphviz", None)
    monkeypatch.setattr(render_image.shutil, "which", lambda name: None)
    with pytest.raises(MissingExtraError) as err:
        trip.solve(find=["fuel"]).graph().pipe("png")
    assert str(err.value) == ("rendering PNG needs the `render` extra (pygraphviz>=2.0): "
                              "pip install 'costgraph[render]'")


def test_dot_is_built_by_the_graphviz_package_and_quotes_hostile_text():
    import graphviz
    import pygraphviz

    from costgraph.render import Diagram, Edge, Node

    label = ('say "hi" \\ back', "<b>not html</b>", "a:b -> c")
    d = Diagram("x y", 'title "quoted"', (Node("q:a", "derived", label, "tip \\n"),
                                         Node("q:b", "given", ("b",))),
                (Edge("q:b", "q:a"),))
    assert isinstance(d.digraph, graphviz.Digraph) and d.digraph.source == d.source
    parsed = pygraphviz.AGraph(string=d.source)
    assert sorted(parsed.nodes()) == ["legend:derived", "legend:given", "q:a", "q:b"]
    assert parsed.edges() == [("q:b", "q:a")]
    # DOT's escapes: \\ is one backslash, \n a centred line break; nothing read as HTML
    assert parsed.get_node("q:a").attr["label"] == (
        'say "hi" \\\\ back\\n<b>not html</b>\\na:b -> c')
    assert parsed.get_node("q:a").attr["tooltip"] == "tip \\\\n"


PLAIN_RENDER = """\
import shutil, sys
from pathlib import Path
import costgraph as cg
assert shutil.which("dot") is None, shutil.which("dot")
d = cg.load(sys.argv[1]).solve(find=["cost_per_passenger"]).graph()
out = Path(sys.argv[2])
print(d.save(out / "trip.svg").read_text()[:5], d.save(out / "trip.png").read_bytes()[:4])
"""


def test_svg_and_png_render_without_any_graphviz_program_on_path(tmp_path):
    empty = tmp_path / "empty-path"
    empty.mkdir()
    done = subprocess.run([sys.executable, "-c", PLAIN_RENDER, str(TRIP), str(tmp_path)],
                          env={**os.environ, "PATH": str(empty)}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "<?xml b'\\x89PNG'\n"
    assert "cost_per_passenger" in (tmp_path / "trip.svg").read_text()


def test_a_plain_install_brings_the_renderer_with_graphviz():
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    core = [Requirement(r) for r in requires("costgraph")]
    renderer = [r for r in core if r.name == "pygraphviz"
                and (r.marker is None or r.marker.evaluate({"extra": ""}))]
    assert [str(r.specifier) for r in renderer] == [">=2.0"]


def _layout_entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("layout-*.pickle"))


def test_a_layout_drawn_before_comes_from_the_cache(trip, tmp_path, monkeypatch):
    monkeypatch.setenv("COSTGRAPH_CACHE_DIR", str(tmp_path))
    source = trip.solve(find=["fuel"]).graph().source
    drawn = render_image.pipe(source, "svg")
    assert drawn.startswith(b"<?xml") and len(_layout_entries(tmp_path)) == 1
    monkeypatch.setattr(render_image, "_layout", lambda *a: pytest.fail("laid out again"))
    assert render_image.pipe(source, "svg") == drawn


def test_a_tampered_layout_entry_is_drawn_again(trip, tmp_path, monkeypatch):
    monkeypatch.setenv("COSTGRAPH_CACHE_DIR", str(tmp_path))
    source = trip.solve(find=["fuel"]).graph().source
    drawn = render_image.pipe(source, "svg")
    (entry,) = _layout_entries(tmp_path)
    data = entry.read_bytes()
    entry.write_bytes(data.replace(b"fuel", b"FUEL"))  # same length, HMAC no longer matches
    assert render_image.pipe(source, "svg") == drawn


def test_another_format_or_dot_program_is_another_layout(trip, tmp_path, monkeypatch):
    monkeypatch.setenv("COSTGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    source = trip.solve(find=["fuel"]).graph().source
    render_image.pipe(source, "svg")
    render_image.pipe(source, "png")
    assert len(_layout_entries(tmp_path / "cache")) == 2
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nimport sys\nsys.stdin.read()\n"
                    "sys.stdout.write('<svg>fake</svg>')\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setitem(sys.modules, "pygraphviz", None)
    monkeypatch.setenv("PATH", str(fake.parent))
    assert render_image.pipe(source, "svg") == b"<svg>fake</svg>"


def test_a_cached_layout_never_imports_pygraphviz(tmp_path):
    code = ("import sys, costgraph as cg\n"
            f"r = cg.load({str(TRIP)!r}).solve(find=['fuel'])\n"
            "r.graph().save(__import__('pathlib').Path(sys.argv[1]))\n"
            "print('pygraphviz' in sys.modules)\n")
    env = {**os.environ, "COSTGRAPH_CACHE_DIR": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", code, str(tmp_path / f"{n}.svg")],
                           capture_output=True, text=True, env=env, timeout=120)
            for n in (1, 2)]
    assert [r.stdout for r in runs] == ["True\n", "False\n"], [r.stderr for r in runs]
    assert (tmp_path / "1.svg").read_bytes() == (tmp_path / "2.svg").read_bytes()
