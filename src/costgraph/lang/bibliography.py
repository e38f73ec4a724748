"""A rules folder's bibliography: its entries, the citation grammar of ``source:``, who cites what.

A rules folder may carry ``sources.yaml``: every public source its rules and presets rest on,
each under a short key. When it does, every ``source:`` in the folder must be a list of
citations, each a key in square brackets with an optional locator, separated by ``;``::

    [stas00-ml-engineering] accelerator table, H200 row; [derivation]

Four reserved keys stand for what has no external source (``RESERVED``). Loading checks every
citation (unknown keys come with "did you mean") and records who cites each key, so that
``Model.source(key)`` can say which rules and preset values rest on it; that reading and
checking lives in ``bibliography_file``, which only loading imports (it needs pydantic), and
this module holds what a loaded rule set carries. A folder without ``sources.yaml`` keeps
free-text sources, unchecked.

>>> [(c.key, c.locator) for c in parse_source("[a-paper] §2; [derivation]")]
[('a-paper', '§2'), ('derivation', None)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UnknownSourceError

BIBLIOGRAPHY_FILE = "sources.yaml"
KEY = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
# one citation: "[key]" and, after a space, a locator that holds no brackets
_CITATION = re.compile(r"^\[([^\[\]]*)\](?:\s+([^\[\]]+))?$")

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
