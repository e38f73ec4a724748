"""Reading rules folders: only regular files, bounded YAML, one clear problem per mistake."""

from __future__ import annotations

import os
import time

import pytest
import yaml
from typer.testing import CliRunner

import costgraph as cg
from costgraph.lang import yaml_reader
from costgraph.cli import app
from costgraph.errors import RuleSetError
from costgraph.model import bundled_rules_path

from conftest import TINY_PRESETS, TINY_RULES
from time_limit import deadline


def load_error(root) -> str:
    with deadline(5), pytest.raises(RuleSetError) as info:
        cg.load(root, cache=False)
    return str(info.value)


def tiny_folder(make_rules, **extra):
    return make_rules(core=TINY_RULES, presets={"scenarios": TINY_PRESETS}, **extra)


# --- only regular files ------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_named_like_a_rule_file_does_not_block_loading(make_rules):
    root = tiny_folder(make_rules)
    os.mkfifo(root / "x.yaml")
    assert load_error(root) == ("1 error in rules/x.yaml:\n  - not a regular file but a FIFO "
                                "(named pipe); rule and preset files must be plain files")


def test_a_directory_named_like_a_preset_file_is_refused(make_rules):
    root = tiny_folder(make_rules)
    (root / "presets" / "more.yaml").mkdir()
    assert load_error(root) == ("1 error in rules/presets/more.yaml:\n  - not a regular file "
                                "but a directory; rule and preset files must be plain files")


def test_a_yml_file_is_not_silently_ignored(make_rules):
    root = tiny_folder(make_rules)
    (root / "extra.yml").write_text("description: x\n")
    assert load_error(root) == ("1 error in rules/extra.yml:\n  - rule and preset files end "
                                "in .yaml: rename it to extra.yaml (it is not read as it is)")


def test_a_file_that_changes_while_read_is_read_again(make_rules, monkeypatch):
    root = tiny_folder(make_rules)
    read = yaml_reader._read_regular
    calls = []

    def read_then_touch(path, label):
        data = read(path, label)
        calls.append(path.name)
        if len(calls) == 1:  # the first read of core.yaml races a writer
            with open(path, "a") as f:
                f.write("\n")
        return data

    monkeypatch.setattr(yaml_reader, "_read_regular", read_then_touch)
    model = cg.load(root, cache=False)
    assert "batch" in model.ruleset.quantities
    assert calls[:2] == ["core.yaml", "core.yaml"]


def test_a_file_that_keeps_changing_is_refused(make_rules, monkeypatch):
    root = tiny_folder(make_rules)
    read = yaml_reader._read_regular

    def read_then_touch(path, label):
        data = read(path, label)
        if path.name == "core.yaml":
            with open(path, "a") as f:
                f.write("\n")
        return data

    monkeypatch.setattr(yaml_reader, "_read_regular", read_then_touch)
    assert load_error(root) == ("1 error in rules/core.yaml:\n  - the file changed while it "
                                "was being read, twice; load again once it is no longer being "
                                "written")


def test_text_that_is_not_utf8_names_its_line(make_rules):
    root = tiny_folder(make_rules)
    (root / "bad.yaml").write_bytes(b"description: ok\nquantities:\n  x: {unit: \xff}\n")
    assert load_error(root) == ("1 error in rules/bad.yaml:\n  - line 3: not UTF-8 text: byte "
                                "0xff cannot be decoded; save the file as UTF-8")


# --- bounded YAML ----------------------------------------------------------------------------


@pytest.mark.parametrize("text, where", [
    ("description: " + "[" * 50_000, "line 1, column"),
    ("description: x\nquantities:\n" + "- " * 50_000 + "x\n", "line 3, column"),
    ("description: x\n" + "".join(" " * i + f"k{i}:\n" for i in range(100)), "line 66"),
])
def test_deeply_nested_yaml_is_refused_before_it_crashes_the_parser(make_rules, text, where):
    root = tiny_folder(make_rules)
    (root / "deep.yaml").write_text(text)
    with deadline(1):
        message = load_error(root)
    assert message.startswith(f"1 error in rules/deep.yaml:\n  - {where}")
    assert "nest" in message


def test_an_alias_bomb_is_refused(make_rules):
    lines = ["description: x", "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    root = tiny_folder(make_rules)
    (root / "bomb.yaml").write_text("\n".join(lines) + "\n")
    with deadline(1):
        message = load_error(root)
    assert message == ("1 error in rules/bomb.yaml:\n  - line 6, column 55: the file holds "
                       "more than 100,000 values, counting each alias as a copy of its anchor")


def test_an_alias_inside_its_own_anchor_is_refused(make_rules):
    root = tiny_folder(make_rules)
    (root / "loop.yaml").write_text("description: x\nquantities: &q {a: *q}\n")
    assert load_error(root) == ("1 error in rules/loop.yaml:\n  - line 2, column 20: alias *q "
                                "is inside its own anchor &q (a cycle)")


def test_an_alias_to_another_files_anchor_is_explained(make_rules):
    root = tiny_folder(make_rules, other="""
        description: another layer
        quantities:
          spare: &common {unit: "1", description: a spare}
        """)
    (root / "third.yaml").write_text("description: x\nquantities:\n  again: *common\n")
    assert load_error(root) == (
        "1 error in rules/third.yaml:\n  - line 3, column 10: alias *common has no anchor "
        "&common in this file (&common is defined in rules/other.yaml): anchors are per "
        "file, so define &common in this file before using it")


def test_yaml_tags_that_build_objects_name_the_tag(make_rules):
    root = tiny_folder(make_rules)
    (root / "evil.yaml").write_text('description: !!python/object/apply:os.system ["true"]\n')
    assert load_error(root) == (
        "1 error in rules/evil.yaml:\n  - line 1, column 14: not valid YAML: tag "
        "tag:yaml.org,2002:python/object/apply:os.system is not allowed (rule files hold "
        "text, numbers, true/false, null, lists and mappings)")


def test_a_huge_integer_in_yaml_is_refused(make_rules):
    root = tiny_folder(make_rules)
    (root / "big.yaml").write_text("description: x\nquantities:\n  n: {unit: 1, description: "
                                   "n, bounds: [0, " + "9" * 10_000 + "]}\n")
    with deadline(1):
        assert load_error(root) == ("1 error in rules/big.yaml:\n  - line 3, column 44: a "
                                    "number longer than 40 characters")


# --- the loader: one problem per mistake, with its line ----------------------------------


def test_a_duplicate_key_in_a_rule_is_refused_with_both_lines(make_rules):
    root = make_rules(core="""
        description: two expressions in one rule
        quantities:
          a: {unit: "1", description: a}
          b: {unit: "1", description: b}
        rules:
          - id: r.b
            defines: b
            expr: a + 1
            expr: a + 2
            description: the second expr used to win silently
            source: test
        """)
    assert load_error(root) == (
        "1 error in rules/core.yaml:\n  - line 10, column 5: key 'expr' is given twice in one "
        "mapping (first at line 9); YAML would keep only the last: remove one")


def test_a_duplicate_preset_is_refused(make_rules):
    root = make_rules(core=TINY_RULES, presets={"p": """
        kind: scenario
        description: x
        presets:
          default: {description: a, values: {batch: 1}}
          default: {description: b, values: {batch: 2}}
        """})
    assert load_error(root) == (
        "1 error in rules/presets/p.yaml:\n  - line 6, column 3: key 'default' is given twice "
        "in one mapping (first at line 5); YAML would keep only the last: remove one")


def test_a_yaml_syntax_error_is_one_problem_not_a_cascade(make_rules):
    """A broken file declares nothing; the rules elsewhere that use its names are not listed."""
    root = make_rules(
        inputs="""
        description: the inputs, with a syntax error
        quantities:
          a: {unit: "1", description: a
          b: {unit: "1", description: b}
        """,
        derived="""
        description: uses the inputs
        quantities:
          c: {unit: "1", description: c}
          d: {unit: "1", description: d}
        rules:
          - {id: r.c, defines: c, expr: a + b, description: x, source: test}
          - {id: r.d, defines: d, expr: a * b, description: x, source: test}
        """)
    assert load_error(root) == (
        "1 error in rules/inputs.yaml:\n  - line 5, column 4: not valid YAML: did not find "
        "expected ',' or '}' (while parsing a flow mapping)")


def test_problems_in_several_files_name_file_line_and_column(make_rules):
    root = make_rules(one="description: [\n", two="description: x\nrules: 1\nrules: 2\n")
    assert load_error(root) == (
        "2 errors loading rules:\n"
        "  - rules/one.yaml:2:1: not valid YAML: did not find expected node content (while "
        "parsing a flow node)\n"
        "  - rules/two.yaml:3:1: key 'rules' is given twice in one mapping (first at line 2); "
        "YAML would keep only the last: remove one")


def test_every_load_problem_carries_its_line(make_rules):
    root = make_rules(core="""
        description: a unit that does not exist

        quantities:
          ok: {unit: s, description: fine}
          speed: {unit: furlongs_per_jiffy, description: no such unit}
        """)
    with pytest.raises(RuleSetError) as info:
        cg.load(root, cache=False)
    [problem] = info.value.problems
    assert (problem.file, problem.item, problem.line) == ("rules/core.yaml", "quantity speed", 6)


def test_a_broken_quantity_does_not_cascade_into_unknown_names(make_rules):
    root = make_rules(core="""
        description: x
        quantities:
          speed: {unit: furlongs_per_jiffy, description: no such unit}
          twice: {unit: "1", description: uses speed}
        rules:
          - {id: r.twice, defines: twice, expr: 2 * speed, description: x, source: test}
        """)
    message = load_error(root)
    assert message.count("\n  - ") == 1
    assert "quantity speed: unknown unit 'furlongs_per_jiffy'" in message


def test_an_empty_rules_folder_says_so(tmp_path):
    (tmp_path / "empty" / "presets").mkdir(parents=True)
    assert load_error(tmp_path / "empty") == (
        f"1 error in {tmp_path / 'empty'}:\n  - no rule files: this folder has no *.yaml file "
        "(a rules folder holds rule files such as memory.yaml, and presets/*.yaml)")


def test_the_cli_on_an_empty_rules_folder_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["solve", "--rules", str(tmp_path / "empty"),
                                      "--find", "cost_per_mtok"])
    assert result.exit_code == 1
    assert "no rule files: this folder has no *.yaml file" in result.output
    assert "unknown quantity" not in result.output


# --- look-alike names -----------------------------------------------------------------------


def test_a_look_alike_quantity_name_is_refused_with_a_hint(make_rules):
    root = make_rules(core="""
        description: x
        quantities:
          ｂatch: {unit: request, description: a fullwidth b}
        """)
    assert load_error(root) == (
        "1 error in rules/core.yaml:\n  - line 4: quantity ｂatch: names are lower_snake_case, "
        "starting with a letter ('ｂ' at column 1 is U+FF42 FULLWIDTH LATIN SMALL LETTER B, not "
        "ASCII: names are plain ASCII, so retype it)")


def test_a_look_alike_name_in_a_preset_is_not_taken_for_the_real_one(make_rules):
    root = make_rules(core=TINY_RULES, presets={"p": """
        kind: workload
        description: x
        presets:
          b:
            description: sets a look-alike of batch
            values: {ｂatch: 8}
        """})
    assert load_error(root) == (
        "1 error in rules/presets/p.yaml:\n  - line 7: preset b: ｂatch: sets unknown quantity "
        "'ｂatch'; did you mean batch? ('ｂ' at column 1 is U+FF42 FULLWIDTH LATIN SMALL LETTER "
        "B, not ASCII: names are plain ASCII, so retype it)")


# --- values in files --------------------------------------------------------------------------


@pytest.mark.parametrize("value, reason", [
    (".nan", "cannot read 'nan' as a number with a unit: values must be finite"),
    (".inf", "cannot read 'inf' as a number with a unit: values must be finite"),
    ("9**9**9 request", "cannot read '9**9**9 request' as a number with a unit: a power of a "
                        "power (a**b**c) is not allowed; write (a**b)**c (at column 5)"),
])
def test_a_preset_value_that_is_not_finite_is_refused(make_rules, value, reason):
    presets = TINY_PRESETS.replace("      batch: 64", f"      batch: {value}")
    root = make_rules(core=TINY_RULES, presets={"scenarios": presets})
    with deadline(1):
        message = load_error(root)
    assert message == ("1 error in rules/presets/scenarios.yaml:\n"
                       f"  - line 9: preset default: batch: {reason}")


def test_a_bound_that_is_not_finite_is_refused(make_rules):
    root = make_rules(core="""
        description: x
        quantities:
          a: {unit: "1", description: a, bounds: [0, .inf]}
        """)
    assert load_error(root) == (
        "1 error in rules/core.yaml:\n  - line 4: quantity a: bad bounds: inf: bounds must be "
        "finite; write null for an open end")


# --- the in-process cache ---------------------------------------------------------------------


def test_the_cache_returns_the_same_model_while_nothing_changes(make_rules):
    root = tiny_folder(make_rules)
    assert cg.load(root) is cg.load(root)


def test_the_cache_notices_a_changed_added_or_removed_file(make_rules):
    root = tiny_folder(make_rules)
    first = cg.load(root)
    core = root / "core.yaml"
    core.write_text(core.read_text().replace("bounds: [1, 100000]", "bounds: [1, 1000]"))
    second = cg.load(root)
    assert second is not first and second.ruleset.quantities["batch"].high == 1000
    (root / "extra.yaml").write_text("description: more\nquantities:\n"
                                     "  spare: {unit: '1', description: spare}\n")
    third = cg.load(root)
    assert "spare" in third.ruleset.quantities
    (root / "extra.yaml").unlink()
    assert "spare" not in cg.load(root).ruleset.quantities


def test_the_cache_notices_a_touched_file_of_the_same_size(make_rules):
    root = tiny_folder(make_rules)
    first = cg.load(root)
    preset = root / "presets" / "scenarios.yaml"
    preset.write_text(preset.read_text().replace("batch: 64", "batch: 32"))
    os.utime(preset, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert cg.load(root).solve(find="batch").steps["batch"].value.magnitude == 32
    assert first.solve(find="batch").steps["batch"].value.magnitude == 64


def test_a_deleted_folder_is_no_such_rules_folder_not_a_stale_model(make_rules):
    root = tiny_folder(make_rules)
    cg.load(root)
    for path in sorted(root.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    root.rmdir()
    assert load_error(root).endswith("  - no such rules folder")
    with pytest.raises(RuleSetError, match="no such rules folder"):
        cg.load(root)



@pytest.mark.parametrize("parser", ["libyaml", "python"])
def test_the_reader_builds_what_yaml_safe_load_builds(monkeypatch, parser):
    """Same data as PyYAML's own safe loader for every bundled file, with either parser."""
    if parser == "python":
        monkeypatch.setattr(yaml_reader, "_PARSER", yaml.SafeLoader)
        monkeypatch.setattr(yaml_reader, "_RESOLVER", yaml.SafeLoader(""))
    elif not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without libyaml")
    root = bundled_rules_path()
    paths = sorted(root.glob("*.yaml")) + sorted((root / "presets").glob("*.yaml"))
    assert len(paths) > 20
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert yaml_reader.parse_yaml(text, path.name).data == yaml.safe_load(text), path


def test_a_look_alike_name_given_to_the_api_says_why_it_is_unknown(model):
    with pytest.raises(cg.errors.UnknownQuantityError) as quantity:
        model.solve(given={"ｂatch": 3}, find=["batch"])
    assert str(quantity.value) == (
        "unknown quantity 'ｂatch' in given; did you mean batch? ('ｂ' at column 1 is U+FF42 "
        "FULLWIDTH LATIN SMALL LETTER B, not ASCII: names are plain ASCII, so retype it)")
    with pytest.raises(cg.errors.UnknownPresetError) as preset:
        model.solve(presets=["dеfault"], find=["batch"])  # a Cyrillic е
    assert str(preset.value).startswith(
        "unknown preset 'dеfault'; did you mean default? ('е' at column 2 is U+0435 CYRILLIC "
        "SMALL LETTER IE, not ASCII")
