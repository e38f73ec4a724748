"""The hostile corpus (tests/hostile/*.yaml): every entry is refused with a CostgraphError
within a second; none hangs, crashes or is accepted. tests/hostile/README.md has the format."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest
import yaml

import costgraph as cg
from costgraph import errors
from costgraph.lang.expr import parse_expression
from costgraph.units import parse_quantity, parse_unit

from conftest import TINY_PRESETS, TINY_RULES
from time_limit import deadline

CORPUS = Path(__file__).parent / "hostile"
TIME_LIMIT = 1.0  # seconds: a refusal is immediate, or something is evaluating too much


def build_input(spec):
    """An entry's input: a list of parts (text, or {repeat: TEXT, times: N}) is joined into
    one text; anything else (text, a number, a list of numbers) is used as it is."""
    def is_part(part):
        return isinstance(part, str) or isinstance(part, dict) and "repeat" in part

    if not isinstance(spec, list) or not spec or not all(is_part(p) for p in spec):
        return spec
    return "".join(part if isinstance(part, str) else part["repeat"] * part["times"]
                   for part in spec)


def load_corpus() -> list[dict]:
    entries = []
    for path in sorted(CORPUS.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            entries.append({**entry, "file": path.name})
    return entries


# --- one runner per kind: each takes the entry and a scratch folder --------------------------


def tiny_folder(tmp: Path) -> Path:
    root = tmp / "rules"
    (root / "presets").mkdir(parents=True)
    (root / "core.yaml").write_text(textwrap.dedent(TINY_RULES))
    (root / "presets" / "scenarios.yaml").write_text(textwrap.dedent(TINY_PRESETS))
    return root


def run_rule_expr(entry, tmp):
    root = tiny_folder(tmp)
    (root / "hostile.yaml").write_text(yaml.safe_dump({
        "description": "one hostile rule",
        "quantities": {"hostile_out": {"unit": entry.get("unit", "1"), "description": "x"}},
        "rules": [{"id": "hostile.rule", "defines": "hostile_out", "expr": entry["input"],
                   "description": "x", "source": "corpus"}]}, allow_unicode=True))
    cg.load(root, cache=False)


def run_rule_file(entry, tmp):
    root = tiny_folder(tmp)
    (root / "hostile.yaml").write_text(entry["input"], encoding="utf-8")
    cg.load(root, cache=False)


def run_preset_file(entry, tmp):
    root = tiny_folder(tmp)
    (root / "presets" / "hostile.yaml").write_text(entry["input"], encoding="utf-8")
    cg.load(root, cache=False)


def run_folder(entry, tmp):
    root = tiny_folder(tmp)
    name = entry.get("name", "x.yaml")
    make = entry["make"]
    if make == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this system")
        os.mkfifo(root / name)
    elif make == "directory":
        (root / name).mkdir()
    elif make == "file":
        (root / name).write_text(entry.get("input", ""))
    elif make == "no rule files":
        (root / "core.yaml").unlink()
    elif make == "missing":
        root = tmp / "nowhere"
    cg.load(root, cache=False)


def run_given(entry, tmp, model):
    model.solve(given={entry.get("quantity", "batch"): entry["input"]}, find=["cost_per_mtok"])


def run_vary(entry, tmp, model):
    model.sweep({entry.get("quantity", "batch"): entry["input"]}, "cost_per_mtok")


RUNNERS = {
    "value": lambda entry, tmp: parse_quantity(entry["input"], entry.get("unit")),
    "unit": lambda entry, tmp: parse_unit(entry["input"]),
    "expression": lambda entry, tmp: parse_expression(entry["input"]),
    "constraint": lambda entry, tmp, model: model.constraint(entry["input"]),
    "rule_expr": run_rule_expr,
    "rule_file": run_rule_file,
    "preset_file": run_preset_file,
    "folder": run_folder,
    "given": run_given,
    "vary": run_vary,
    "load": lambda entry, tmp: cg.load(entry["input"], cache=False),
}
NEEDS_MODEL = {"constraint", "given", "vary"}

ENTRIES = load_corpus()


def test_the_corpus_is_well_formed():
    ids = [e["id"] for e in ENTRIES]
    assert len(ids) == len(set(ids)), "ids are unique across the corpus"
    assert len(ENTRIES) >= 80
    for entry in ENTRIES:
        assert entry["kind"] in RUNNERS, f"{entry['id']}: unknown kind {entry['kind']!r}"
        assert ("make" in entry) == (entry["kind"] == "folder"), entry["id"]
        assert "input" in entry or entry["kind"] == "folder", entry["id"]
        if "error" in entry:
            assert issubclass(getattr(errors, entry["error"]), errors.CostgraphError)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_hostile_input_is_refused_fast_and_clearly(entry, tmp_path, request):
    entry = {**entry, "input": build_input(entry.get("input"))}
    args = (request.getfixturevalue("model"),) if entry["kind"] in NEEDS_MODEL else ()
    expected = getattr(errors, entry.get("error", "CostgraphError"))

    start = time.perf_counter()
    with deadline(5 * TIME_LIMIT, entry["id"]):  # a hang fails; timing is below
        with pytest.raises(expected) as info:
            RUNNERS[entry["kind"]](entry, tmp_path, *args)
    elapsed = time.perf_counter() - start
    assert elapsed < TIME_LIMIT, f"refused, but after {elapsed:.2f} s"
    for text in [entry["says"]] if isinstance(entry.get("says"), str) else entry.get("says", []):
        assert text in str(info.value)
