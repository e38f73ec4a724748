"""The bibliography: the citation grammar of `source:`, its checks at load, `costgraph sources`
and Model.source(s), and every bundled source resolving to an entry a user can open."""

from __future__ import annotations

import dataclasses
import doctest
import json
import re
from pathlib import Path

import pytest
import yaml

import costgraph as cg
from costgraph.lang import bibliography
from costgraph.lang.bibliography import RESERVED, Citation, cited_keys, parse_source, titled
from costgraph.errors import ClaimsFileError, RuleSetError, UnknownSourceError

from cli_helpers import expect, run

ROOT = Path(__file__).resolve().parents[1]

SOURCES = """
description: Test bibliography.
entries:
  road-atlas:
    author: A. Cartographer
    title: The Road Atlas
    date: 2020
    url: https://example.org/atlas
  fuel-survey:
    author: Fuel Office
    title: Fuel prices survey
    date: 2024-05-01
    repository: example/fuel
    path: data/prices.csv
    commit: abcdef1
    note: >
      Monthly
      averages.
  unused-report:
    author: Nobody
    title: A report nothing cites
    date: undated
    no_url: Printed only.
"""

TRIP = """
description: Trip cost.
quantities:
  distance: {unit: km, description: how far, source: "[road-atlas] p. 12"}
  price: {unit: USD/km, description: price per km}
  cost: {unit: USD, description: trip cost}
rules:
  - id: trip.cost
    defines: cost
    expr: distance * price
    description: distance times price
    source: "[derivation]"
constraints:
  - id: trip.budget
    expr: cost <= 100 USD
    description: stay in budget
    source: "[assumption] a budget"
"""

SCENARIOS = """
kind: scenario
description: Test scenarios.
presets:
  default:
    description: A trip.
    source: "[fuel-survey] May row"
    values:
      distance: {value: 200 km, source: "[road-atlas] route 7; [choice] a route"}
      price: 0.2 USD/km
"""


@pytest.fixture
def cited(make_rules):
    """A rules folder with a bibliography, and a function to break one of its files."""

    def make(trip=TRIP, sources=SOURCES, scenarios=SCENARIOS):
        return make_rules(trip=trip, sources=sources, presets={"s": scenarios})

    return make


def load_problems(folder) -> str:
    with pytest.raises(RuleSetError) as info:
        cg.load(folder, cache=False)
    return str(info.value)


# --- the grammar ----------------------------------------------------------------------------


def test_a_source_is_citations_with_optional_locators():
    assert parse_source("[a-paper] §2, table 3; [derivation]; [b.c-2] p. 4 (fig. 1)") == (
        Citation("a-paper", "§2, table 3"), Citation("derivation", None),
        Citation("b.c-2", "p. 4 (fig. 1)"))


@pytest.mark.parametrize("text, error", [
    ("facts.md §2.1", "source 'facts.md §2.1' is not a citation; write [key] or [key] locator, "
                      "several separated by ';' (keys are in sources.yaml; list them with "
                      "`costgraph sources`)"),
    ("[a] x; see b", "source '[a] x; see b': 'see b' is not a citation; write [key] or [key] "
                     "locator, several separated by ';' (keys are in sources.yaml; list them "
                     "with `costgraph sources`)"),
    ("[a]x", "source '[a]x' is not a citation; write [key] or [key] locator, several separated "
             "by ';' (keys are in sources.yaml; list them with `costgraph sources`)"),
    ("[a] the [b] row", "source '[a] the [b] row' is not a citation; write [key] or [key] "
                        "locator, several separated by ';' (keys are in sources.yaml; list "
                        "them with `costgraph sources`)"),
    ("[a];", "source '[a];' has an empty citation (nothing between two ';' or after the last)"),
    ("[a];  ; [b]", "source '[a];  ; [b]' has an empty citation (nothing between two ';' or "
                    "after the last)"),
    ("   ", "source is empty; write [key] or [key] locator, several separated by ';' (keys "
            "are in sources.yaml; list them with `costgraph sources`)"),
    ("[] p. 3", "source '[] p. 3' has an empty key '[]'"),
    ("[Road_Atlas]", "source '[Road_Atlas]' cites [Road_Atlas], which is not a key (keys are "
                     "lower case: letters, digits, '.', '-')"),
])
def test_text_outside_the_grammar_is_refused_with_its_reason(text, error):
    with pytest.raises(ValueError) as info:
        parse_source(text)
    assert str(info.value) == error


def test_the_module_examples_run():
    failed, attempted = doctest.testmod(bibliography)
    assert attempted >= 3 and failed == 0


def test_cited_keys_keeps_each_key_once_and_free_text_as_is():
    assert cited_keys("[a] p. 1; [b]; [a] p. 2") == "a; b"
    assert cited_keys("a note, not a citation") == "a note, not a citation"


# --- checked at load -------------------------------------------------------------------------


def test_every_source_is_resolved_and_its_citers_recorded(cited):
    model = cg.load(cited(), cache=False)
    by_key = {e.key: e for e in model.sources()}
    assert [c.item for c in by_key["road-atlas"].cited_by] == [
        "quantity distance", "preset default: distance"]
    assert [c.locator for c in by_key["road-atlas"].cited_by] == ["p. 12", "route 7"]
    survey = by_key["fuel-survey"].cited_by
    assert [(c.item, c.locator, c.values) for c in survey] == [("preset default", "May row",
                                                                 ("price",))]
    assert [c.item for c in by_key["derivation"].cited_by] == ["rule trip.cost"]
    assert [c.item for c in by_key["assumption"].cited_by] == ["constraint trip.budget"]
    assert by_key["fuel-survey"].note == "Monthly averages."  # folded text, one line


def test_unknown_keys_and_bad_grammar_are_load_problems_naming_file_and_item(cited):
    trip = TRIP.replace("[derivation]", "[derivaton]").replace("[assumption] a budget",
                                                               "a budget")
    scenarios = SCENARIOS.replace("[fuel-survey] May row", "[fuel-survey] May; ; [x]") \
        .replace("[choice] a route", "[road-atlas-2020]").replace("[road-atlas] route 7",
                                                                  "[zzz] route 7")
    assert load_problems(cited(trip=trip, scenarios=scenarios)) == expect("""
        5 errors loading rules:
          - rules/presets/s.yaml:5: preset default: source '[fuel-survey] May; ; [x]' has an empty citation (nothing between two ';' or after the last)
          - rules/presets/s.yaml:9: preset default: distance: source cites unknown key [road-atlas-2020]; did you mean road-atlas?
          - rules/presets/s.yaml:9: preset default: distance: source cites unknown key [zzz] (add it to rules/sources.yaml, or list the keys with `costgraph sources`)
          - rules/trip.yaml:8: rule trip.cost: source cites unknown key [derivaton]; did you mean derivation?
          - rules/trip.yaml:14: constraint trip.budget: source 'a budget' is not a citation; write [key] or [key] locator, several separated by ';' (keys are in rules/sources.yaml; list them with `costgraph sources`)""").rstrip("\n")


def test_bibliography_entries_are_checked_one_by_one(cited):
    sources = SOURCES.replace("    title: The Road Atlas\n", "") \
        .replace("    no_url: Printed only.\n", "    no_url: Printed only.\n    url: https://x\n") \
        + textwrap_entries("""
          derivation: {author: X, title: Y, date: 2020, url: https://x}
          Bad_Key: {author: X, title: Y, date: 2020, url: https://x}
          no-commit: {author: X, title: Y, date: 2020, repository: a/b}
          stray-path: {author: X, title: Y, date: 2020, url: https://x, path: a.txt}
          bad-date: {author: X, title: Y, date: last spring, url: https://x}
          extra: {author: X, title: Y, date: 2020, url: https://x, colour: red}""")
    # road-atlas is broken, yet still a key: its citations are not reported as unknown too
    assert load_problems(cited(sources=sources)) == expect("""
        8 errors in rules/sources.yaml:
          - entry Bad_Key: keys are lower case: letters, digits, '.', '-'
          - entry bad-date key date: write YYYY, YYYY-MM, YYYY-MM-DD or 'undated'
          - entry derivation: [derivation] is reserved for what has no external source; choose another key
          - entry extra key colour: unknown key (check the spelling against rules/README.md)
          - entry no-commit: a repository needs the commit that was read
          - entry road-atlas key title: required key is missing
          - entry stray-path: path and commit belong to a repository
          - entry unused-report: give exactly one of url, repository (with commit) or no_url (why there is no address)""").rstrip("\n")


def textwrap_entries(text: str) -> str:
    return "\n".join("  " + line.strip() for line in text.strip().splitlines()) + "\n"


def test_a_bibliography_that_is_not_a_mapping_is_one_problem(cited):
    assert load_problems(cited(sources="- a\n- b\n")) == (
        "1 error in rules/sources.yaml:\n"
        "  - expected a mapping with `description` and `entries`")


def test_without_a_bibliography_sources_stay_free_text(make_rules):
    model = cg.load(make_rules(trip=TRIP.replace("[derivation]", "by definition"),
                               presets={"s": SCENARIOS}), cache=False)
    assert model.ruleset.bibliography is None
    assert model.sources() == []
    with pytest.raises(UnknownSourceError) as info:
        model.source("road-atlas")
    assert str(info.value) == ("unknown source 'road-atlas': this rules folder has no "
                               "bibliography (sources.yaml)")


def test_sources_yaml_is_not_read_as_a_rule_file(cited):
    model = cg.load(cited(), cache=False)
    assert set(model.ruleset.file_descriptions) == {"rules/trip.yaml", "rules/presets/s.yaml"}


# --- the API -------------------------------------------------------------------------------


def test_model_source_opens_an_entry_by_key_with_or_without_brackets(cited):
    model = cg.load(cited(), cache=False)
    entry = model.source("[fuel-survey]")
    assert entry == model.source("fuel-survey")
    assert entry.address == "https://github.com/example/fuel/blob/abcdef1/data/prices.csv"
    assert model.source("road-atlas").address == "https://example.org/atlas"
    assert model.source("unused-report").address is None
    assert model.source("derivation").reserved
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.title = "changed"
    with pytest.raises(UnknownSourceError) as info:
        model.source("road-atlass")
    assert str(info.value) == ("unknown source 'road-atlass'; did you mean road-atlas? (the "
                               "keys are in rules/sources.yaml; list them with `costgraph "
                               "sources`)")


def test_sources_lists_entries_then_reserved_keys_and_unused_ones(cited):
    model = cg.load(cited(), cache=False)
    assert [e.key for e in model.sources()] == [
        "fuel-survey", "road-atlas", "unused-report", *sorted(RESERVED)]
    assert [e.key for e in model.sources(unused=True)] == ["unused-report", "convention"]


def test_titled_names_cited_entries_and_refuses_unknown_keys(cited):
    bib = cg.load(cited(), cache=False).ruleset.bibliography
    assert titled(bib, "[road-atlas] p. 12; [derivation]") == \
        "The Road Atlas [road-atlas] p. 12; [derivation]"
    assert titled(bib, "a note") == "a note"
    with pytest.raises(UnknownSourceError):
        titled(bib, "[nowhere]")


# --- the command -----------------------------------------------------------------------------


def test_sources_command_lists_every_entry(cited):
    out = run("sources", "--rules", str(cited()))
    assert out.stdout == expect("""
        key             author / publisher   title                    date
        ────────────────────────────────────────────────────────────────────────
        fuel-survey     Fuel Office          Fuel prices survey       2024-05-01
        road-atlas      A. Cartographer      The Road Atlas           2020
        unused-report   Nobody               A report nothing cites   undated
        3 sources
        reserved keys, for what has no external source: [assumption], [choice], [convention], [derivation]
        """)


def test_sources_command_shows_one_entry_and_what_cites_it(cited):
    folder = str(cited())
    assert run("sources", "road-atlas", "--rules", folder).stdout == expect("""
        road-atlas
          author: A. Cartographer
          title: The Road Atlas
          date: 2020
          address: https://example.org/atlas

        cited by                   where in the source
        ──────────────────────────────────────────────
        quantity distance          p. 12
        preset default: distance   route 7
        2 citations
        """)
    assert run("sources", "fuel-survey", "--rules", folder).stdout == expect("""
        fuel-survey
          author: Fuel Office
          title: Fuel prices survey
          date: 2024-05-01
          address: https://github.com/example/fuel/blob/abcdef1/data/prices.csv
          note: Monthly averages.

        cited by                     where in the source
        ────────────────────────────────────────────────
        preset default (for price)   May row
        1 citation
        """)
    assert run("sources", "unused-report", "--rules", folder).stdout == expect("""
        unused-report
          author: Nobody
          title: A report nothing cites
          date: undated
          address: none recorded. Printed only.
        not cited by any rule, constraint or preset
        """)


def test_sources_command_opens_a_reserved_key(cited):
    assert run("sources", "derivation", "--rules", str(cited())).stdout == expect("""
        [derivation]  reserved key
          Follows from the definitions of the quantities involved, from arithmetic, or from the rules the
              locator names; the item's description states it.

        cited by         where in the source
        ────────────────────────────────────
        rule trip.cost
        1 citation
        """)


def test_sources_command_unused(cited):
    assert run("sources", "--unused", "--rules", str(cited())).stdout == expect("""
        key             author / publisher   title                    date
        ─────────────────────────────────────────────────────────────────────
        unused-report   Nobody               A report nothing cites   undated
        1 unused source
        reserved keys no source cites: [convention]
        """)


def test_sources_command_json(cited):
    folder = str(cited())
    listed = json.loads(run("sources", "--json", "--rules", folder).stdout)
    assert [(e["key"], e["citations"]) for e in listed] == [
        ("fuel-survey", 1), ("road-atlas", 2), ("unused-report", 0), ("assumption", 1),
        ("choice", 1), ("convention", 0), ("derivation", 1)]
    one = json.loads(run("sources", "fuel-survey", "--json", "--rules", folder).stdout)
    assert one["address"] == "https://github.com/example/fuel/blob/abcdef1/data/prices.csv"
    assert one["cited_by"] == [{"item": "preset default", "file": "rules/presets/s.yaml",
                                "locator": "May row", "values": ["price"]}]


def test_sources_command_mistakes_are_one_line(cited):
    folder = str(cited())
    out = run("sources", "road-atlass", "--rules", folder, code=1)
    assert out.stderr == ("error: unknown source 'road-atlass'; did you mean road-atlas? (the "
                          "keys are in rules/sources.yaml; list them with `costgraph "
                          "sources`)\n")
    out = run("sources", "road-atlas", "--unused", "--rules", folder, code=1)
    assert out.stderr == "error: --unused filters the list; give it without KEY\n"


def test_sources_command_on_a_folder_without_a_bibliography():
    from cli_helpers import TRIP as TRIP_FIXTURE

    assert run("sources", "--rules", TRIP_FIXTURE).stdout == (
        "this rules folder has no bibliography (sources.yaml): its sources are free text\n")
    assert json.loads(run("sources", "--json", "--rules", TRIP_FIXTURE).stdout) == []


# --- the bundled rules -----------------------------------------------------------------------


def bundled_sources(model):
    """(item, source text) of every source in the bundled rules and the example claims."""
    rs = model.ruleset
    for q in rs.quantities.values():
        if q.source:
            yield f"quantity {q.name}", q.source
    for d in [*rs.rules.values(), *rs.constraints.values()]:
        yield d.id, d.source
    for p in rs.presets.values():
        if p.source:
            yield f"preset {p.name}", p.source
        for qname, v in p.values.items():
            if v.source:
                yield f"preset {p.name}: {qname}", v.source
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        yield path.name, yaml.safe_load(path.read_text())["source"]


def test_every_bundled_source_resolves_to_an_entry(model):
    keys = set(model.ruleset.bibliography.entries)
    checked = 0
    for item, text in bundled_sources(model):
        for citation in parse_source(text):
            assert citation.key in keys, f"{item}: [{citation.key}]"
            checked += 1
    assert checked > 300


def test_no_bundled_source_cites_something_a_user_cannot_open(model):
    """Sources cite the public sources, never reference notes, work items or repo files."""
    forbidden = re.compile(r"facts\.md|peer-numbers|measurements\.md|\bissues?\b|"
                           r"(?<![\w/])(docs|examples|tests|bench|shared|reference)/", re.I)
    offending = [f"{item}: {text}" for item, text in bundled_sources(model)
                 if forbidden.search(text)]
    assert offending == []


def test_every_bundled_entry_has_an_address_or_says_why_not(model):
    for entry in model.sources():
        if not entry.reserved:
            assert entry.address or entry.no_url, entry.key
            assert entry.author and entry.title and entry.date, entry.key


def test_the_essay_is_an_entry_without_an_address(model):
    essay = model.source("essay-true-cost-of-a-token")
    assert (essay.author, essay.date, essay.address) == ("Manish KL", "undated", None)
    assert essay.title == "The True Cost of a Token: Inference Economics from Silicon to SLO"
    assert len(essay.cited_by) > 50


def test_explain_shows_only_keys_that_costgraph_sources_opens(model):
    text = model.solve(find="cost_per_mtok").explain()
    tags = re.findall(r"\[preset [^;\]]+; ([^\]]+)\]", text)
    shown = re.findall(r"source: (.*)", text)
    assert tags and shown
    for tag in tags:  # preset values: the cited keys alone
        for key in tag.split("; "):
            model.source(key)
    for source in shown:  # rules: the citations as written
        for citation in parse_source(source):
            model.source(citation.key)


def test_the_audit_heading_names_the_cited_entry(model, tmp_path):
    claims = {"source": "[essay-true-cost-of-a-token] §2.1", "defaults": {"presets": ["essay"]},
              "claims": [{"id": "c", "quantity": "n_layers", "value": 80}]}
    report = model.audit(claims)
    assert report.source == ("The True Cost of a Token: Inference Economics from Silicon to "
                             "SLO [essay-true-cost-of-a-token] §2.1")
    with pytest.raises(ClaimsFileError) as info:
        model.audit({**claims, "source": "[essay-true-cost]"})
    assert "source: unknown source 'essay-true-cost'; did you mean " \
           "essay-true-cost-of-a-token?" in str(info.value)


def test_unknown_source_error_pickles_and_keeps_its_text():
    import pickle

    error = UnknownSourceError("road-atlass", ["road-atlas"], "rules/sources.yaml")
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is UnknownSourceError and str(clone) == str(error)
    assert isinstance(clone, KeyError)
