"""Which files a rules folder holds, read as YAML and validated against the file schemas.

``read_files`` reads every ``*.yaml`` of a rules folder and of its ``presets/`` through
``yaml_reader`` (regular files only, bounded, duplicate keys refused, lines kept), and
validates each against the frozen pydantic schemas of ``schema`` item by item, so one bad
item hides no other. It raises at once when a file cannot be read as YAML at all: nothing
else is checked then, since everything that uses that file's names would look wrong too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from .bibliography import BIBLIOGRAPHY_FILE
from ..errors import Problem, RuleSetError
# which files a folder holds lives in `folders`; kept here under their old address
from .folders import CHARTS_FILE, KINDS_FILE, bundled_rules_path, fingerprint  # noqa: F401
from .folders import rule_file_paths
from .schema import (ChartsFileSpec, ConstraintSpec, KindsFileSpec, PresetFileSpec, PresetSpec, QuantitySpec,
                     RuleFileSpec, RuleSpec, entry_place, schema_text)
from .yaml_reader import YamlDocument, parse_yaml, read_text


@dataclass
class RuleFiles:
    """A folder's files as schema objects (None where a file failed as a whole)."""

    rules: list = field(default_factory=list)  # (label, RuleFileSpec | None)
    presets: list = field(default_factory=list)  # (label, PresetFileSpec | None)
    kinds: tuple | None = None  # (label, KindsFileSpec | None) of presets/kinds.yaml, if any
    bibliography: tuple | None = None  # (label, YAML data) of sources.yaml, if any
    charts: tuple | None = None  # (label, ChartsFileSpec | None) of charts.yaml, if any
    problems: list = field(default_factory=list)
    lines: dict = field(default_factory=dict)  # (label, item) -> line, e.g. "rule memory.kv"
    broken: set = field(default_factory=set)  # quantities whose own declaration is refused


def read_files(root: Path) -> RuleFiles:
    """Every rule and preset file of ``root``, validated; see the module docstring."""
    reader = _Reader(root)
    documents = reader.read_all()
    presets = reader.label(root / "presets") + "/"
    kinds = reader.label(root / "presets" / KINDS_FILE)
    sources = reader.label(root / BIBLIOGRAPHY_FILE)
    charts = reader.label(root / CHARTS_FILE)
    for label, doc in documents:
        if label == sources:  # checked by the bibliography, against every citation
            reader.files.bibliography = (label, doc.data)
            continue
        if label == kinds:
            reader.files.kinds = (label, reader.validate(label, doc, KindsFileSpec))
            continue
        if label == charts:
            reader.files.charts = (label, reader.validate(label, doc, ChartsFileSpec))
            continue
        spec = reader.validate(label, doc, PresetFileSpec if label.startswith(presets)
                               else RuleFileSpec)
        (reader.files.presets if label.startswith(presets) else reader.files.rules).append(
            (label, spec))
    return reader.files


class _Reader:
    def __init__(self, root: Path):
        self.root = root
        self.files = RuleFiles()

    def problem(self, file: str, item: str, text: str, line: int | None = None):
        self.files.problems.append(Problem(file, item, text, line))

    def label(self, path: Path) -> str:
        return path.relative_to(self.root.parent).as_posix()

    def read_all(self) -> list[tuple[str, YamlDocument]]:
        """Every file as YAML data; raises at once when any file cannot be read as YAML.

        Nothing else is checked then: a file that cannot be read would make everything
        that uses its names look wrong too.
        """
        paths = rule_file_paths(self.root)
        if not any(p.parent == self.root and p.suffix == ".yaml" for p in paths):
            raise RuleSetError([Problem(str(self.root), "", "no rule files: this folder has "
                                        "no *.yaml file (a rules folder holds rule files "
                                        "such as memory.yaml, and presets/*.yaml)")])
        texts: dict[str, str] = {}
        for path in paths:
            label = self.label(path)
            if path.suffix == ".yml":
                self.problem(label, "", f"rule and preset files end in .yaml: rename it to "
                                        f"{path.stem}.yaml (it is not read as it is)")
                continue
            try:
                texts[label] = read_text(path, label)
            except RuleSetError as exc:
                self.files.problems.extend(exc.problems)
        documents = []
        for label, text in texts.items():
            try:
                documents.append((label, parse_yaml(text, label, _anchor_finder(label, texts))))
            except RuleSetError as exc:
                self.files.problems.extend(exc.problems)
        if self.files.problems:
            raise RuleSetError(self.files.problems)
        return documents

    def validate(self, file: str, doc: YamlDocument, schema):
        """Validate one file item by item, so one bad item hides no other."""
        data = doc.data
        if not isinstance(data, dict):
            what = "the file is empty" if data is None else "the file holds no mapping"
            self.problem(file, "", f"{what}: expected a mapping at the top level, with "
                                   f"{', '.join(schema.model_fields)}")
            return None
        self.remember_lines(file, doc)
        items = {"quantities": dict, "rules": list, "constraints": list, "presets": dict}
        clean = dict(data)
        for key, kind in items.items():
            if key not in data or key not in schema.model_fields:
                continue
            entries = data[key] or kind()
            if not isinstance(entries, kind):
                continue  # the whole-file validation below reports the wrong type
            good = self.valid_entries(file, doc, key, entries)
            clean[key] = good
        try:
            return schema.model_validate(clean)
        except ValidationError as exc:
            for err in exc.errors():
                self.problem(file, _location(data, err["loc"]), _pydantic_text(err),
                             doc.line_of(*err["loc"]))
            return None

    def remember_lines(self, file: str, doc: YamlDocument):
        """The line of every quantity, rule, constraint, preset and preset value."""
        data = doc.data
        for key, noun in (("quantities", "quantity"), ("presets", "preset")):
            if isinstance(data.get(key), dict):
                for name, entry in data[key].items():
                    self.files.lines[(file, f"{noun} {name}")] = doc.line_of(key, name)
                    values = entry.get("values") if isinstance(entry, dict) else None
                    for qname in values if isinstance(values, dict) else ():
                        self.files.lines[(file, f"preset {name}: {qname}")] = doc.line_of(
                            key, name, "values", qname)
        for key, noun in (("rules", "rule"), ("constraints", "constraint")):
            if isinstance(data.get(key), list):
                for index, entry in enumerate(data[key]):
                    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                        item = f"{noun} {entry['id']}"
                        self.files.lines[(file, item)] = doc.line_of(key, index)

    def valid_entries(self, file, doc, key, entries):
        """The entries of one section that pass their schema; problems for the others."""
        data = doc.data
        schema = {"quantities": QuantitySpec, "rules": RuleSpec, "constraints": ConstraintSpec,
                  "presets": PresetSpec}[key]
        pairs = entries.items() if isinstance(entries, dict) else enumerate(entries)
        good = {} if isinstance(entries, dict) else []
        for index, entry in pairs:
            try:
                schema.model_validate(entry)
            except ValidationError as exc:
                for err in exc.errors():
                    loc = (key, index, *err["loc"])
                    self.problem(file, _location(data, loc), _pydantic_text(err),
                                 doc.line_of(*loc))
                if key == "quantities":
                    self.files.broken.add(index)
                continue
            if isinstance(good, dict):
                good[index] = entry
            else:
                good.append(entry)
        return good


def _location(data, loc) -> str:
    """Say where a schema error is in words: 'rule memory.kv', 'quantity batch'."""
    if not loc:
        return ""
    head = loc[0]
    entry = entry_place(data, loc, "rules", "rule") or \
        entry_place(data, loc, "constraints", "constraint", by_id=False)
    if entry is not None:
        place, rest = entry
        return place + (f" key {'.'.join(map(str, rest))}" if rest else "")
    if head in ("quantities", "presets") and len(loc) > 1:
        rest = ".".join(str(p) for p in loc[2:] if not str(p).startswith(("str", "float",
                                                                          "PresetValue")))
        return f"{head[:-1] if head == 'presets' else 'quantity'} {loc[1]}" + (
            f" key {rest}" if rest else "")
    return "key " + ".".join(str(p) for p in loc)


def _pydantic_text(err) -> str:
    return schema_text(err, "check the spelling against rules/README.md")


def _anchor_finder(label: str, texts: dict[str, str]):
    """``find(name)``: another file whose text defines the anchor ``&name``, or None."""
    def find(name: str) -> str | None:
        pattern = re.compile(rf"(?<![\w&])&{re.escape(name)}(?![^\s,\]}}])")
        return next((other for other, text in texts.items()
                     if other != label and pattern.search(text)), None)
    return find
