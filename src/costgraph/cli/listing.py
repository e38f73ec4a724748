"""``costgraph quantities|rules|presets``: what the rules declare, with units and sources."""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from costgraph.errors import UnknownPresetError, UnknownQuantityError, did_you_mean
from costgraph.lang.names import PRESET_KINDS
from costgraph.units import format_quantity

from .common import (JsonOpt, RulesOpt, echo, echo_json, fail, load_model, one_line, plural,
                     table, wrapped)

QuantityKind = Enum("QuantityKind", {k: k for k in ("input", "derived")}, type=str)
PresetKind = Enum("PresetKind", {k: k for k in PRESET_KINDS}, type=str)
NameArg = Annotated[Optional[str], typer.Argument(
    metavar="NAME", help="Show this one in full instead of listing all.")]


# --- quantities --------------------------------------------------------------------------


def quantities(name: NameArg = None,
               kind: Annotated[Optional[QuantityKind], typer.Option(
                   "--kind", metavar="KIND",
                   help="Only `input` (set by presets) or `derived` (by a rule).")
               ] = None,
               json: JsonOpt = False, rules: RulesOpt = None):
    """List the quantities the rules declare, with units, or show one in full.

    Example:

    \b
        costgraph quantities --kind input
        costgraph quantities context_len
    """
    model = load_model(rules)
    infos = model.quantities()
    if name is not None:
        return _one_quantity(model, infos, name, json)
    infos = [q for q in infos if kind is None or q.kind == kind.value]
    if json:
        return echo_json([dataclasses.asdict(q) for q in infos])
    t = table("quantity", "unit", "kind", "description")
    for q in infos:
        t.add_row(q.name, q.unit, q.kind, one_line(q.description))
    echo(t, plural(len(infos), "quantity", "quantities"))


def quantity_detail(model, name: str, infos=None) -> dict:
    """One quantity in full, as ``costgraph quantities NAME --json`` prints it."""
    infos = infos if infos is not None else model.quantities()
    info = next((q for q in infos if q.name == name), None)
    if info is None:
        raise UnknownQuantityError(name, [q.name for q in infos])
    setters = sorted(p.name for p in model.presets() if name in p.values)
    data = {**dataclasses.asdict(info), "inputs": model.inputs_for(name),
            "feeds": model.downstream_of(name), "set_by_presets": setters}
    rule = next((r for r in model.rules() if r.id == info.rule), None)
    data["expr"] = rule.expr.text if rule else None
    return data


def _one_quantity(model, infos, name, json):
    data = quantity_detail(model, name, infos)
    info = next(q for q in infos if q.name == name)
    rule = next((r for r in model.rules() if r.id == info.rule), None)
    setters = data["set_by_presets"]
    if json:
        return echo_json(data)
    low, high = info.bounds
    lines = [f"{name}  [{info.unit or '1'}]  {info.kind}", wrapped("", info.description)]
    if rule:
        lines.append(wrapped(f"rule {rule.id}: ", f"{name} = {rule.expr.text}"))
    lines.append(f"  bounds: [{_bound(low, '-inf')}, {_bound(high, 'inf')}]"
                 + ("  (whole number)" if info.integer else ""))
    lines.append(f"  declared in: {in_folder(info.file)}")
    if info.source:
        lines.append(wrapped("source: ", info.source))
    for label, names in (("inputs it rests on", data["inputs"]), ("feeds", data["feeds"]),
                         ("set by presets", setters)):
        if names:
            lines.append(wrapped(f"{label}: ", ", ".join(names)))
    echo("\n".join(lines))


def in_folder(file: str) -> str:
    """A rule file's path inside its rules folder (``presets/hardware.yaml``).

    Definitions name their file after the folder (``rules/...`` in a checkout,
    ``bundled_rules/...`` once installed); within the folder it reads the same everywhere.
    """
    parts = Path(file).parts
    return str(Path(*parts[1:])) if len(parts) > 1 else file


def _bound(value, open_end: str) -> str:
    return open_end if value is None else f"{value:g}"


# --- rules --------------------------------------------------------------------------------


def rules_(name: NameArg = None, json: JsonOpt = False, rules: RulesOpt = None):
    """List the rules (equations) and constraints, or show one rule or constraint in full.

    NAME is a rule or constraint id, or a quantity (the rule that defines it).

    Example:

    \b
        costgraph rules
        costgraph rules memory.kv_bytes_per_token
        costgraph rules step_time
    """
    model = load_model(rules)
    all_rules, constraints = model.rules(), model.constraints()
    if name is not None:
        return _one_rule(all_rules, constraints, name, json)
    if json:
        return echo_json({"rules": [rule_dict(r) for r in all_rules],
                          "constraints": [constraint_dict(c) for c in constraints]})
    t = table("rule", "defines", "expression")
    for r in all_rules:
        t.add_row(r.id, r.defines, r.expr.text)
    c = table("constraint", "inequality")
    for con in constraints:
        c.add_row(con.id, con.expr.text)
    echo(t, plural(len(all_rules), "rule"), "", c, plural(len(constraints), "constraint"))


def rule_dict(r) -> dict:
    """A rule as `costgraph rules --json` prints it."""
    return {"id": r.id, "defines": r.defines, "expr": r.expr.text, "inputs": list(r.inputs),
            "description": r.description, "source": r.source, "file": r.file}


def constraint_dict(c) -> dict:
    """A constraint as `costgraph rules --json` prints it."""
    return {"id": c.id, "expr": c.expr.text, "names": list(c.names),
            "description": c.description, "source": c.source, "file": c.file}


def _one_rule(all_rules, constraints, name, json):
    found = next((r for r in all_rules if name in (r.id, r.defines)), None)
    if found is not None:
        data = rule_dict(found)
        head = f"rule {found.id}\n" + wrapped("", f"{found.defines} = {found.expr.text}")
    else:
        con = next((c for c in constraints if c.id == name), None)
        if con is None:
            known = [r.id for r in all_rules] + [c.id for c in constraints] \
                + [r.defines for r in all_rules]
            fail(f"no rule, constraint or derived quantity named {name!r}"
                 + did_you_mean(name, known) + " (list them with `costgraph rules`)")
        data = constraint_dict(con)
        head = f"constraint {con.id}\n" + wrapped("", con.expr.text)
    if json:
        return echo_json(data)
    lines = [head, wrapped("", data["description"]), wrapped("source: ", data["source"]),
             f"  declared in: {in_folder(data['file'])}"]
    echo("\n".join(lines))


# --- presets ------------------------------------------------------------------------------


def presets(name: NameArg = None,
            kind: Annotated[Optional[PresetKind], typer.Option(
                "--kind", metavar="KIND", help="Only presets of this kind: "
                + ", ".join(PRESET_KINDS) + ".")] = None,
            json: JsonOpt = False, rules: RulesOpt = None):
    """List the presets (hardware, models, precisions, facilities, scenarios...) or show one.

    Presets compose in order and later ones win; a scenario mostly includes others. The
    `default` scenario applies whenever no preset is chosen.

    Example:

    \b
        costgraph presets --kind hardware
        costgraph presets h200
    """
    model = load_model(rules)
    found = model.presets(kind.value if kind else None)
    if name is not None:
        preset = next((p for p in model.presets() if p.name == name), None)
        if preset is None:
            raise UnknownPresetError(name, [p.name for p in model.presets()])
        return _one_preset(preset, json)
    if json:
        return echo_json([preset_dict(p) for p in found])
    t = table("kind", "preset", "description")
    for p in found:
        t.add_row(p.kind, p.name, one_line(p.description))
    echo(t, plural(len(found), "preset"))


def preset_dict(p) -> dict:
    """A preset as `costgraph presets --json` prints it."""
    values = {}
    for qname, v in sorted(p.values.items()):
        values[qname] = {"value": format_quantity(v.quantity), "source": v.source or p.source,
                         "note": v.note, "assumption": v.assumption,
                         "low": None if v.low is None else format_quantity(v.low),
                         "high": None if v.high is None else format_quantity(v.high),
                         "distribution": v.distribution}
    return {"name": p.name, "kind": p.kind, "description": p.description,
            "source": p.source, "includes": list(p.includes), "values": values,
            "file": p.file}


def _one_preset(p, json):
    data = preset_dict(p)
    if json:
        return echo_json(data)
    parts = [f"{p.name}  ({p.kind})", wrapped("", p.description)]
    if p.includes:
        parts.append(wrapped("includes, in order: ", ", ".join(p.includes)))
    parts.append(f"  declared in: {in_folder(p.file)}")
    if data["values"]:
        t = table("quantity", "value", "range", "source")
        for qname, v in data["values"].items():
            span = f"{v['low']} .. {v['high']}" if v["low"] is not None else ""
            source = one_line(v["source"]) + ("  (assumption)" if v["assumption"] else "")
            t.add_row(qname, v["value"], span, source)
        parts += ["", t]
    echo(*parts)


def register(app: typer.Typer) -> None:
    app.command("quantities")(quantities)
    app.command("rules")(rules_)
    app.command("presets")(presets)
