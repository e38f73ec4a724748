"""Reading a rules folder's ``sources.yaml``: its schema, its entries checked one by one, and
every ``source:`` of the folder checked against them, with who cites each key recorded.

Only loading imports this module (its schemas are pydantic models); a rule set from the
on-disk cache carries the finished ``Bibliography`` and never does.
"""

from __future__ import annotations

import datetime
import re

from pydantic import Field, ValidationError, field_validator
from pydantic import model_validator

from ..errors import did_you_mean
from .bibliography import KEY, RESERVED, Bibliography, Citer, SourceEntry, parse_source
from .schema import Schema, schema_text

_DATE = re.compile(r"^(undated|\d{4}(-\d{2}(-\d{2})?)?)$")


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
