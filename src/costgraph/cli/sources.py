"""``costgraph sources [KEY]``: the bibliography the rules cite, and what cites each entry."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import JsonOpt, RulesOpt, echo, echo_json, fail, one_line, plural, table, wrapped

KeyArg = Annotated[Optional[str], typer.Argument(
    metavar="KEY", help="Show this entry in full, with every rule and preset value citing it.")]
UnusedOpt = Annotated[bool, typer.Option(
    "--unused", help="List only the entries that no rule, constraint or preset cites.")]


def sources(key: KeyArg = None, unused: UnusedOpt = False, json: JsonOpt = False,
            rules: RulesOpt = None):
    """List the sources the rules cite (key, author, title, date), or show one in full.

    A `source:` in a rule or preset file cites entries of the bibliography (sources.yaml)
    by key, as [key] followed by where in the source; KEY is such a key. The reserved keys
    [derivation], [assumption], [convention] and [choice] mark what has no external source.

    Example:

    \b
        costgraph sources
        costgraph sources stas00-ml-engineering
        costgraph sources --unused
    """
    import costgraph as cg

    model = cg.load(rules)
    if key is not None:
        if unused:
            fail("--unused filters the list; give it without KEY")
        return _one(model.source(key), json)
    entries = model.sources(unused=unused)
    if json:
        return echo_json([_summary(e) for e in entries])
    if model.ruleset.bibliography is None:
        return echo("this rules folder has no bibliography (sources.yaml): its sources are "
                    "free text")
    listed = [e for e in entries if not e.reserved]
    t = table("key", "author / publisher", "title", "date")
    for column in (t.columns[0], t.columns[3]):  # a key is typed as shown: never cut it
        column.no_wrap = True
    t.columns[2].overflow = "fold"  # a long path in a title wraps instead of being cut
    for e in listed:
        t.add_row(e.key, _short(e.author), one_line(e.title), e.date)
    reserved = ", ".join(f"[{e.key}]" for e in entries if e.reserved)
    tail = [plural(len(listed), "unused source" if unused else "source")]
    if reserved:
        tail.append(("reserved keys no source cites: " if unused else
                     "reserved keys, for what has no external source: ") + reserved)
    echo(t, *tail)


def _short(author: str | None) -> str:
    """The first of several authors, "et al." for the rest."""
    names = (author or "").split(", ")
    return f"{names[0]} et al." if len(names) > 2 else author or ""


def _summary(entry) -> dict:
    data = entry.to_dict()
    del data["cited_by"]
    data["citations"] = len(entry.cited_by)
    return data


def _one(entry, json):
    if json:
        return echo_json(entry.to_dict())
    if entry.reserved:
        lines = [f"[{entry.key}]  reserved key", wrapped("", entry.title)]
    else:
        lines = [entry.key, wrapped("author: ", entry.author), wrapped("title: ", entry.title),
                 f"  date: {entry.date}"]
        if entry.version:
            lines.append(f"  version: {entry.version}")
        lines.append(wrapped("address: ", entry.address or f"none recorded. {entry.no_url}"))
        if entry.note:
            lines.append(wrapped("note: ", entry.note))
    if not entry.cited_by:
        return echo(*lines, "not cited by any rule, constraint or preset")
    t = table("cited by", "where in the source")
    t.columns[1].overflow = "fold"
    for c in entry.cited_by:
        item = c.item + (f" (for {', '.join(c.values)})" if c.values else "")
        t.add_row(item, c.locator or "")
    echo(*lines, "", t, plural(len(entry.cited_by), "citation"))


def register(app: typer.Typer) -> None:
    app.command("sources")(sources)
