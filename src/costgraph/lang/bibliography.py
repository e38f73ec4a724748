"""A rules folder's bibliography: its entries, the citation grammar of ``source:``, who cites what.

A rules folder may carry ``sources.yaml``: every public source its rules and presets rest on,
each under a short key. When it does, every ``source:`` in the folder must be a list of
citations, each a key in square brackets with an optional locator, separated by ``;``::

    [stas00-ml-engineering] accelerator table, H200 row; [derivation]

Four reserved keys stand for what has no external source (``RESERVED``). Loading checks every
citation (unknown keys come with "did you mean"), and records who cites each key, so that
``Model.source(key)`` can say which rules and preset values rest on it. A folder without
``sources.yaml`` keeps free-text sources, unchecked.

>>> [(c.key, c.locator) for c in parse_source("[a-paper] §2; [derivation]")]
[('a-paper', '§2'), ('derivation', None)]
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic import model_validator

from ..errors import UnknownSourceError, did_you_mean
from .schema import Schema, schema_text

BIBLIOGRAPHY_FILE = "sources.yaml"
KEY = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
# one citation: "[key]" and, after a space, a locator that holds no brackets
_CITATION = re.compile(r"^\[([^\[\]]*)\](?:\s+([^\[\]]+))?$")
_DATE = re.compile(r"^(undated|\d{4}(-\d{2}(-\d{2})?)?)$")

RESERVED = {
    "assumption": "A modelling assumption, not a cited fact: the locator and the item's "
                  "description say what is assumed.",
    "choice": "A setting a preset chooses (a workload, a deployment, a composition of "
              "presets), not a claim about the world.",
    "convention": "One of several defensible ways to count or define something; the "
                  "locator says which one and why.",
    "derivation": "Follows from the definitions of the quantities involved, from arithmetic, "
                  "or from the rules the locator names; the item's description states it.",
}

GRAMMAR_HINT = "write [key] or [key] locator, several separated by ';'"


# --- the file format ------------------------------------------------------------------------


class EntrySpec(Schema):
    """One entry of sources.yaml; rules/README.md documents each key."""

    author: str = Field(min_length=1)
    title: str = Field(min_length=1)
    date: str
    url: str | None = None
    repository: str | None = Field(default=None, pattern=r"^[\w.-]+/[\w.-]+$")
    path: str | None = None
    commit: str | None = Field(default=None, pattern=r"^[0-9a-f]{7,40}$")
    version: str | None = None
    no_url: str | None = None
    note: str | None = None

    @field_validator("date", "version", mode="before")
    @classmethod
    def _text(cls, v):
        # YAML reads 2024-10-17 as a date and 2023 as a number; both mean their text
        if isinstance(v, (datetime.date, int, float)) and not isinstance(v, bool):
            return v.isoformat() if isinstance(v, datetime.date) else str(v)
        return v

    @field_validator("date")
    @classmethod
    def _date(cls, v):
        if not _DATE.match(v):
            raise ValueError("write YYYY, YYYY-MM, YYYY-MM-DD or 'undated'")
        return v

    @model_validator(mode="after")
    def _one_address(self):
        given = [k for k in ("url", "repository", "no_url") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of url, repository (with commit) or no_url "
                             "(why there is no address)")
        if self.repository and not self.commit:
            raise ValueError("a repository needs the commit that was read")
        if (self.path or self.commit) and not self.repository:
            raise ValueError("path and commit belong to a repository")
        return self


class BibliographyFileSpec(Schema):
    description: str = Field(min_length=1)
    entries: dict[str, dict]


# --- what loading hands out (read-only) -----------------------------------------------------


@dataclass(frozen=True)
class Citation:
    """One ``[key] locator`` of a source."""

    key: str
    locator: str | None


@dataclass(frozen=True)
class Citer:
    """A definition whose source cites a key: ``item`` reads like ``rule memory.kv``.

    ``values`` lists, for a preset's own source, the values that carry no source of their
    own and so rest on it.
    """

    item: str
    file: str
    locator: str | None
    values: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"item": self.item, "file": self.file, "locator": self.locator,
                "values": list(self.values)}


@dataclass(frozen=True)
class SourceEntry:
    """One bibliography entry (or a reserved key) and everything that cites it."""

    key: str
    author: str | None
    title: str
    date: str | None
    url: str | None = None
    repository: str | None = None
    path: str | None = None
    commit: str | None = None
    version: str | None = None
    no_url: str | None = None
    note: str | None = None
    reserved: bool = False
    cited_by: tuple[Citer, ...] = ()

    @property
    def address(self) -> str | None:
        """Where to read it: the URL, or the repository file at its commit."""
        if self.url:
            return self.url
        if self.repository:
            tail = f"blob/{self.commit}/{self.path}" if self.path else f"tree/{self.commit}"
            return f"https://github.com/{self.repository}/{tail}"
        return None

    def to_dict(self) -> dict:
        return {"key": self.key, "author": self.author, "title": self.title,
                "date": self.date, "url": self.url, "repository": self.repository,
                "path": self.path, "commit": self.commit, "version": self.version,
                "no_url": self.no_url, "address": self.address, "note": self.note,
                "reserved": self.reserved,
                "cited_by": [c.to_dict() for c in self.cited_by]}


@dataclass(frozen=True)
class Bibliography:
    """The entries of one sources.yaml, the reserved keys, and who cites each."""

    file: str
    description: str
    entries: dict[str, SourceEntry]  # by key, reserved keys included

    def keys(self) -> list[str]:
        return sorted(self.entries)


def parse_source(text: str, file: str = BIBLIOGRAPHY_FILE) -> tuple[Citation, ...]:
    """The citations of a ``source:`` text; ValueError saying what breaks the grammar.

    ``file`` names the bibliography in the hint of an error.
    """
    hint = f"{GRAMMAR_HINT} (keys are in {file}; list them with `costgraph sources`)"
    parts = text.split(";")
    citations = []
    for part in parts:
        part = part.strip()
        if not part:
            raise ValueError(f"source {text!r} has an empty citation (nothing between "
                             "two ';' or after the last)" if len(parts) > 1 else
                             "source is empty; " + hint)
        match = _CITATION.match(part)
        if match is None:
            where = f"source {text!r}" + (f": {part!r}" if part != text.strip() else "")
            raise ValueError(f"{where} is not a citation; " + hint)
        key, locator = match.group(1).strip(), match.group(2)
        if not key:
            raise ValueError(f"source {text!r} has an empty key '[]'")
        if not KEY.match(key):
            raise ValueError(f"source {text!r} cites [{key}], which is not a key (keys are "
                             "lower case: letters, digits, '.', '-')")
        citations.append(Citation(key, locator.strip() if locator else None))
    return tuple(citations)


def cited_keys(text: str) -> str:
    """A source as just the keys it cites, ``"a; b"``: short enough for a derivation tree.

    Text outside the citation grammar comes back unchanged.

    >>> cited_keys("[a-paper] §2, table 3; [derivation] by arithmetic")
    'a-paper; derivation'
    """
    try:
        citations = parse_source(text)
    except ValueError:
        return text
    return "; ".join(dict.fromkeys(c.key for c in citations))


def titled(bib: Bibliography | None, text: str) -> str:
    """``text`` for a heading: each citation as its entry's title, locator and key.

    Free text (or a folder without a bibliography) comes back unchanged; an unknown key
    raises ``UnknownSourceError``.

    >>> titled(None, "a note")
    'a note'
    """
    if bib is None:
        return text
    try:
        citations = parse_source(text)
    except ValueError:
        return text
    parts = []
    for c in citations:
        entry = bib.entries.get(c.key)
        if entry is None:
            raise UnknownSourceError(c.key, bib.keys(), bib.file)
        head = f"[{c.key}]" if entry.reserved else f"{entry.title} [{c.key}]"
        parts.append(head + (f" {c.locator}" if c.locator else ""))
    return "; ".join(parts)


# --- loading ------------------------------------------------------------------------------


def load_bibliography(label: str, data,
                      problem) -> tuple[str, dict[str, SourceEntry]] | None:
    """The description and entries of a sources.yaml read as ``data`` (None when unusable).

    The entries include the reserved keys.

    Each problem goes to ``problem(file, item, text)``. Entries are checked one by one, so
    one mistake hides no other; a bad entry still counts as a key.
    """
    if not isinstance(data, dict):
        problem(label, "", "expected a mapping with `description` and `entries`")
        return None  # reported; checking every citation against nothing would bury it
    try:
        spec = BibliographyFileSpec.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            where = "key " + ".".join(str(p) for p in err["loc"]) if err["loc"] else ""
            problem(label, where, _schema_text(err))
        return None  # reported; checking every citation against nothing would bury it
    entries = {key: SourceEntry(key, None, text, None, reserved=True)
               for key, text in RESERVED.items()}
    for key, raw in spec.entries.items():
        item = f"entry {key}"
        if key in RESERVED:
            problem(label, item, f"[{key}] is reserved for what has no external source; "
                                 "choose another key")
            continue
        if not KEY.match(key):
            problem(label, item, "keys are lower case: letters, digits, '.', '-'")
            continue
        try:
            entry = EntrySpec.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                rest = ".".join(str(p) for p in err["loc"])
                problem(label, item + (f" key {rest}" if rest else ""), _schema_text(err))
            # still a key, so that its citations are not reported as unknown too
            entries[key] = SourceEntry(key, None, "(invalid entry)", None)
            continue
        # folded YAML text keeps its line breaks and a final newline: one line each
        fields = {k: " ".join(v.split()) if isinstance(v, str) else v
                  for k, v in entry.model_dump().items()}
        entries[key] = SourceEntry(key, **fields)
    return spec.description, entries


def _schema_text(err) -> str:
    text = schema_text(err, "check the spelling against rules/README.md")
    return text.removeprefix("Value error, ")


def cite_all(entries: dict[str, SourceEntry], label: str, description: str, loader,
             problem) -> Bibliography:
    """Check every source the loader read against ``entries``; record who cites what.

    ``loader`` has the loaded ``quantities``, ``rules``, ``constraints`` and ``presets``.
    """
    cited: dict[str, list[Citer]] = {key: [] for key in entries}

    def check(file, item, text, values=()):
        try:
            citations = parse_source(text, label)
        except ValueError as exc:
            problem(file, item, str(exc))
            return
        for c in citations:
            if c.key not in entries:
                problem(file, item, f"source cites unknown key [{c.key}]" + did_you_mean(
                    c.key, entries,
                    f" (add it to {label}, or list the keys with `costgraph sources`)"))
            else:
                cited[c.key].append(Citer(item, file, c.locator, tuple(values)))

    for q in loader.quantities.values():
        if q.source is not None:
            check(q.file, f"quantity {q.name}", q.source)
    for kind, defs in (("rule", loader.rules), ("constraint", loader.constraints)):
        for d in defs.values():
            check(d.file, f"{kind} {d.id}", d.source)
    for p in loader.presets.values():
        inherits = sorted(n for n, v in p.values.items() if v.source == p.source)
        if p.source is not None:
            check(p.file, f"preset {p.name}", p.source, inherits)
        for qname, v in sorted(p.values.items()):
            if v.source is not None and v.source != p.source:
                check(p.file, f"preset {p.name}: {qname}", v.source)
    final = {key: _with_citers(e, cited[key]) for key, e in entries.items()}
    return Bibliography(label, description, final)


_KIND_ORDER = ("rule", "constraint", "quantity", "preset")


def _with_citers(entry: SourceEntry, citers: list[Citer]) -> SourceEntry:
    # rules first, then constraints, quantities and presets, each in name order
    ordered = tuple(sorted(citers, key=lambda c: (_KIND_ORDER.index(c.item.split()[0]),
                                                  c.item, c.locator or "")))
    return SourceEntry(**{**entry.__dict__, "cited_by": ordered})


def bibliography(read: tuple | None, loader, problem) -> Bibliography | None:
    """Check every source of ``loader`` against the folder's sources.yaml, ``read`` as
    (label, YAML data) by the loader.

    None when the folder has no bibliography (its sources stay free text).
    """
    if read is None:
        return None
    label, data = read
    loaded = load_bibliography(label, data, problem)
    if loaded is None:
        return None
    description, entries = loaded
    return cite_all(entries, label, description, loader, problem)
