"""Rule and preset files: loading them into a checked, read-only RuleSet.

Loading reads every file through ``rule_files`` (safe YAML, validated item by item against
the frozen pydantic schemas in ``schema``, imported only when files are read; unknown keys
are errors), translates every expression through ``expr`` (never ``eval``), checks every
rule's dimensions, and raises one ``RuleSetError`` listing every problem found, sorted,
each with its file, item and reason.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import pint

from .. import lazy
from .definitions import (SCENARIO_KIND, ConstraintDef, KindDef, PresetDef, PresetValue,
                          QuantityDef, RuleDef, RuleSet, default_kinds)
from ..errors import (DimensionError, ExpressionError, Problem, RuleSetError, ValueTextError,
                     ascii_hint, did_you_mean)
from .expr import NAME_PATTERN, DimensionBackend, Expression, parse_constraint, parse_expression
from .expr import translate
from .folders import KINDS_FILE, fingerprint
from .names import PRESET_NAME, RULE_ID
from ..units import format_unit, parse_quantity, parse_unit

if TYPE_CHECKING:
    from .schema import ConstraintSpec, PresetSpec, QuantitySpec, RuleSpec

nx = lazy.module("networkx")  # the cycle check at load; a cached rule set needs none


__all__ = ["ConstraintDef", "PresetDef", "PresetValue", "QuantityDef", "RuleDef", "RuleSet",
           "fingerprint", "load_ruleset"]


# --- loading -----------------------------------------------------------------------------


def load_ruleset(folder: str | Path) -> RuleSet:
    """Load and check every rule file in ``folder`` and preset file in ``folder/presets``."""
    root = Path(folder)
    try:
        is_folder = root.is_dir()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte
        reason = getattr(exc, "strerror", None) or exc
        raise RuleSetError([Problem(str(root)[:200], "", f"not a usable path: {reason}")]) from None
    if not is_folder:
        what = "is a file, not a rules folder" if root.exists() else "no such rules folder"
        raise RuleSetError([Problem(str(root), "", what)])
    loader = _Loader(root)
    return loader.run()


class _Loader:
    def __init__(self, root: Path):
        self.root = root
        self.problems: list[Problem] = []
        self.quantities: dict[str, QuantityDef] = {}
        self.rules: dict[str, RuleDef] = {}
        self.constraints: dict[str, ConstraintDef] = {}
        self.presets: dict[str, PresetDef] = {}
        self.definers: dict[str, tuple[str, str]] = {}  # quantity -> (rule id, file)
        self.descriptions: dict[str, str] = {}
        self.kinds: dict[str, KindDef] = default_kinds()
        self.lines: dict[tuple[str, str], int] = {}  # (file, item) -> line
        self.broken: set[str] = set()  # quantities declared with a problem of their own
        self.units: dict[str, str] = {}  # quantity -> unit text, for constraints' values

    def problem(self, file: str, item: str, text: str):
        self.problems.append(Problem(file, item, text, self.lines.get((file, item))))

    def run(self) -> RuleSet:
        # reading and validating files needs YAML and pydantic: imported here, so that a
        # rule set from the on-disk cache (which is never validated again) needs neither
        from .bibliography_file import bibliography
        from .rule_files import read_files

        files = read_files(self.root)
        self.problems, self.lines, self.broken = files.problems, files.lines, files.broken
        if any(spec is None for _, spec in files.rules):
            # a rule file refused as a whole declares nothing: the unknown names that would
            # cause in other files are not worth listing
            raise RuleSetError(self.problems)
        for file, spec in files.rules:
            self.descriptions[file] = spec.description
            for name, q in spec.quantities.items():
                self.add_quantity(file, name, q)
        self.units = {name: q.unit for name, q in self.quantities.items()}
        for file, spec in files.rules:
            for rule in spec.rules:
                self.add_rule(file, rule)
            for constraint in spec.constraints:
                self.add_constraint(file, constraint)
        self.check_cycles()
        self.check_declarations()
        if files.kinds is not None:
            self.add_kinds(*files.kinds)
        for file, spec in files.presets:
            if spec is not None:
                self.descriptions[file] = spec.description
                if spec.kind not in self.kinds:
                    self.problem(file, "key kind",
                                 _unknown(spec.kind, self.kinds, "uses", kind="preset kind")
                                 + f" (declare it in presets/{KINDS_FILE})")
                    continue
                for name, preset in spec.presets.items():
                    self.add_preset(file, spec.kind, name, preset)
        self.check_includes()
        self.check_kinds()
        stack = self.stack_scenarios(files.charts)
        # every source cites the folder's sources.yaml, when it has one
        sources = bibliography(files.bibliography, self, self.problem)
        if self.problems:
            raise RuleSetError(self.problems)
        return RuleSet(self.root, self.quantities, self.rules, self.constraints, self.presets,
                       self.descriptions, self.kinds, files.kinds is not None, sources, stack)

    def stack_scenarios(self, charts) -> dict[str, dict]:
        """The stack chart's bars from charts.yaml, each naming declared presets and inputs."""
        file, spec = charts or (None, None)
        if spec is None or spec.stack is None:
            return {}
        self.descriptions[file] = spec.description
        out = {}
        for label, scenario in spec.stack.scenarios.items():
            item = f"stack scenario {label!r}"
            for name in scenario.presets:
                if name not in self.presets:
                    self.problem(file, item, _unknown(name, self.presets, "uses", kind="preset"))
            for name in scenario.given:
                if name not in self.quantities:
                    self.problem(file, item, _unknown(name, self.quantities, "gives"))
            out[label] = {"presets": list(scenario.presets),
                          **({"given": dict(scenario.given)} if scenario.given else {})}
        return out

    def add_quantity(self, file, name, spec: QuantitySpec):
        item = f"quantity {name}"
        if not NAME_PATTERN.match(name):
            self.broken.add(name)
            self.problem(file, item, "names are lower_snake_case, starting with a letter"
                         + ascii_hint(name))
            return
        if name in self.quantities:
            self.problem(file, item, f"declared twice (also in {self.quantities[name].file})")
            return
        try:
            unit = parse_unit(spec.unit)
        except ValueError as exc:
            self.broken.add(name)
            reason = exc.reason if isinstance(exc, ValueTextError) else str(exc)
            self.problem(file, item, f"unknown unit {spec.unit!r}: {reason}")
            return
        low, high = 0.0, None
        if spec.bounds is not None:
            try:
                low, high = (_bound(b, unit) for b in spec.bounds)
                if low is not None and high is not None and low > high:
                    raise ValueError(f"the low bound {low:g} is above the high bound {high:g}")
            except ValueError as exc:
                # still declare it, so rules using it do not report it as unknown too
                self.problem(file, item, f"bad bounds: {exc}")
                low, high = 0.0, None
        values = None
        if spec.values is not None:
            values = tuple(sorted(set(float(v) for v in spec.values)))
            bad = [v for v in values if (low is not None and v < low)
                   or (high is not None and v > high) or (spec.integer and not v.is_integer())]
            if not values or bad:
                self.problem(file, item, "values must be a non-empty list inside the bounds"
                             + (" of whole numbers" if spec.integer else "")
                             + (f"; {', '.join(f'{v:g}' for v in bad)} is not" if bad else ""))
                values = None
        self.quantities[name] = QuantityDef(name, spec.unit, spec.description, low, high,
                                            spec.integer, spec.source, file, values,
                                            tuple(spec.divides), spec.moves)

    def add_rule(self, file, spec: RuleSpec):
        item = f"rule {spec.id}"
        if not RULE_ID.match(spec.id):
            self.problem(file, item, "rule ids are lower case: letters, digits, '.', '_', '-'")
        if spec.id in self.rules or spec.id in self.constraints:
            self.problem(file, item, "id used twice")
            return
        expr = self.parse(file, item, spec.expr, comparison=False)
        if spec.defines not in self.quantities:
            self.problem(file, item, _unknown(spec.defines, self.quantities, "defines"))
            return
        if spec.defines in self.definers:
            other_id, other_file = self.definers[spec.defines]
            self.problem(file, item, f"quantity {spec.defines} is defined twice "
                                     f"(also by rule {other_id} in {other_file})")
            return
        self.definers[spec.defines] = (spec.id, file)
        if expr is None:
            return
        self.rules[spec.id] = RuleDef(spec.id, spec.defines, expr, spec.description,
                                      spec.source, file)
        got = self.dimension(file, item, expr)
        want = self.quantities[spec.defines].pint_unit
        if got is not None and got.dimensionality != want.dimensionality:
            self.problem(file, item, f"dimension mismatch: {spec.defines} is in "
                                     f"{format_unit(want) or '1'} but the expression gives "
                                     f"{format_unit(got) or '1'}")

    def add_constraint(self, file, spec: ConstraintSpec):
        item = f"constraint {spec.id}"
        if spec.id in self.rules or spec.id in self.constraints:
            self.problem(file, item, "id used twice")
            return
        expr = self.parse(file, item, spec.expr, comparison=True)
        if expr is not None:
            self.constraints[spec.id] = ConstraintDef(spec.id, expr, spec.description,
                                                      spec.source, file)
            self.dimension(file, item, expr)

    def parse(self, file, item, text, comparison):
        try:
            # a constraint's right side may be a value, as in `x >= 0 GB` (or `x >= 0`,
            # in x's unit)
            expr = parse_constraint(text, self.units) if comparison else parse_expression(text)
        except ExpressionError as exc:
            self.problem(file, item, str(exc))
            return None
        unknown = sorted(expr.names - self.quantities.keys())
        for name in unknown:
            if name not in self.broken:  # its declaration's own problem says why
                self.problem(file, item, _unknown(name, self.quantities, "expression uses"))
        return None if unknown else expr

    def dimension(self, file, item, expr):
        units = {n: self.quantities[n].pint_unit for n in expr.names}
        try:
            return translate(expr, DimensionBackend(units)).units
        except DimensionError as exc:
            self.problem(file, item, f"dimension mismatch: {exc}")
            return None

    def check_declarations(self):
        """What quantities say about others: the input a given value moves, what they divide."""
        for name, q in self.quantities.items():
            item = f"quantity {name}"
            for other in q.divides:
                if other not in self.quantities:
                    self.problem(q.file, item, _unknown(other, self.quantities, "divides"))
            if q.moves is None:
                continue
            rule = self.rules.get(self.definers.get(name, ("",))[0])
            if rule is None:
                self.problem(q.file, item, "moves is for a derived quantity: it names the "
                                           "input solved for when this quantity is given")
            elif q.moves not in self.quantities:
                self.problem(q.file, item, _unknown(q.moves, self.quantities, "moves"))
            elif q.moves not in rule.expr.names or q.moves in self.definers:
                self.problem(q.file, item, f"moves must name an input of rule {rule.id} "
                                           f"({', '.join(rule.inputs)}) that no rule defines")

    def check_cycles(self):
        graph = nx.DiGraph()
        for rule in self.rules.values():
            for name in rule.expr.names:
                graph.add_edge(name, rule.defines)
        for cycle in sorted(sorted(c) for c in nx.simple_cycles(graph)):
            rule = self.rules[next(r for r in self.rules if self.rules[r].defines == cycle[0])]
            ordered = nx.find_cycle(graph.subgraph(cycle), source=cycle[0])
            path = [edge[0] for edge in ordered] + [ordered[0][0]]
            self.problem(rule.file, f"quantity {cycle[0]}",
                         "cycle of definitions: " + " -> ".join(path))

    # presets ----------------------------------------------------------------------------

    def add_kinds(self, file: str, spec):
        """The declared preset kinds replace the built-in list (which merges every kind)."""
        if spec is None:  # its problems are reported
            return
        self.descriptions[file] = spec.description
        self.kinds = {}
        for name, kind in spec.kinds.items():
            for qname in kind.requires:
                if qname not in self.quantities:
                    self.problem(file, f"kind {name}", _unknown(qname, self.quantities,
                                                                "requires"))
            self.kinds[name] = KindDef(name, kind.description, kind.compose,
                                       tuple(kind.requires), file)
        if SCENARIO_KIND not in self.kinds:
            self.problem(file, "", f"declare the kind `{SCENARIO_KIND}`: its presets are the "
                                   "base layer every composition starts from")

    def add_preset(self, file, kind, name, spec: PresetSpec):
        item = f"preset {name}"
        if not PRESET_NAME.match(name):
            self.problem(file, item, "preset names are lower case: letters, digits, '.', '-'"
                         + ascii_hint(name))
        if name in self.presets:
            self.problem(file, item, f"defined twice (also in {self.presets[name].file})")
            return
        values = {}
        for qname, raw in spec.values.items():
            value = self.preset_value(file, f"{item}: {qname}", qname, raw, spec.source)
            if value is not None:
                values[qname] = value
        self.presets[name] = PresetDef(name, kind, spec.description, tuple(spec.includes),
                                       values, file, spec.source, spec.partial)

    def preset_value(self, file, item, qname, raw, default_source):
        q = self.quantities.get(qname)
        if q is None:
            self.problem(file, item, _unknown(qname, self.quantities, "sets"))
            return None
        from .schema import PresetValueSpec

        spec = raw if isinstance(raw, PresetValueSpec) else PresetValueSpec(value=raw)
        try:
            parts = {key: None if getattr(spec, key) is None else
                     _value(getattr(spec, key), q) for key in ("value", "low", "high", "sd")}
        except ValueError as exc:
            self.problem(file, item, str(exc))
            return None
        problem = _out_of_bounds(parts["value"], q)
        if problem:
            self.problem(file, item, problem)
            return None
        if spec.distribution and (parts["low"] is None or parts["high"] is None) and \
                not (spec.distribution == "normal" and parts["sd"] is not None):
            self.problem(file, item, f"a {spec.distribution} distribution needs low and high")
        return PresetValue(parts["value"], spec.source or default_source, spec.note,
                           spec.assumption, parts["low"], parts["high"], parts["sd"],
                           spec.distribution)

    def check_kinds(self):
        """A preset includes only its own kind (a scenario any), and sets what its kind needs."""
        for preset in sorted(self.presets.values(), key=lambda p: p.name):
            item = f"preset {preset.name}"
            kind = self.kinds.get(preset.kind)
            if kind is None:
                continue
            if kind.name != SCENARIO_KIND:
                for inc in preset.includes:
                    other = self.presets.get(inc)
                    if other is not None and other.kind != preset.kind:
                        self.problem(preset.file, item,
                                     f"includes {inc}, a {other.kind} preset; a {preset.kind} "
                                     f"preset includes only {preset.kind} presets (a "
                                     f"{SCENARIO_KIND} may combine kinds)")
            if preset.partial or not kind.requires:
                continue
            missing = [q for q in kind.requires if q not in self.flat_values(preset.name)]
            if missing:
                self.problem(preset.file, item,
                             f"a {preset.kind} preset must set {', '.join(missing)} (kind "
                             f"{preset.kind} requires {', '.join(kind.requires)}); set "
                             f"{'it' if len(missing) == 1 else 'them'} or mark the preset "
                             "`partial: true` if other presets build on it")

    def flat_values(self, name, seen=()) -> set[str]:
        """Every quantity a preset sets, its includes' included (cycles reported elsewhere)."""
        preset = self.presets.get(name)
        if preset is None or name in seen:
            return set()
        names = set(preset.values)
        for inc in preset.includes:
            names |= self.flat_values(inc, (*seen, name))
        return names

    def check_includes(self):
        graph = nx.DiGraph()
        for preset in self.presets.values():
            graph.add_node(preset.name)
            for inc in preset.includes:
                if inc not in self.presets:
                    self.problem(preset.file, f"preset {preset.name}",
                                 _unknown(inc, self.presets, "includes", kind="preset"))
                else:
                    graph.add_edge(preset.name, inc)
        for cycle in sorted(sorted(c) for c in nx.simple_cycles(graph)):
            self.problem(self.presets[cycle[0]].file, f"preset {cycle[0]}",
                         "presets include each other: " + " -> ".join(cycle + cycle[:1]))


def _unknown(name, known, verb, kind="quantity"):
    return f"{verb} unknown {kind} '{name}'{did_you_mean(name, known)}{ascii_hint(name)}"


def _bound(value, unit):
    """A quantity's bound in ``unit``: a number, text with a unit, or None (open)."""
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):  # YAML's .inf and .nan
        raise ValueError(f"{value!r}: bounds must be finite; write null for an open end")
    q = parse_quantity(value, unit)  # "1e9" is text to YAML; it is a bare number here
    try:
        return float(q.to(unit).magnitude)
    except pint.errors.DimensionalityError:
        raise ValueError(f"{value!r} is not in {format_unit(unit) or '1'}") from None


def _value(raw, q: QuantityDef) -> pint.Quantity:
    """A preset value: a number in the quantity's unit, or text (a bare number in it too)."""
    quantity = parse_quantity(raw, q.pint_unit)
    if quantity.dimensionality != q.pint_unit.dimensionality:
        raise ValueError(f"{raw!r} is not in {format_unit(q.pint_unit) or '1'} "
                         f"({q.name} is in {q.unit})")
    return quantity.to(q.pint_unit)


def _out_of_bounds(value: pint.Quantity, q: QuantityDef) -> str | None:
    """Why a preset value breaks its quantity's bounds or integrality, or None."""
    x = float(value.magnitude)
    if (q.low is not None and x < q.low) or (q.high is not None and x > q.high):
        low = "-inf" if q.low is None else f"{q.low:g}"
        high = "inf" if q.high is None else f"{q.high:g}"
        hint = "; a fraction is expected (write 0.65, or '65 percent')" if (
            q.high == 1 and 1 < x <= 100) else ""
        return f"{x:g} is outside the bounds [{low}, {high}] of {q.name}{hint}"
    if q.integer and not x.is_integer():
        return f"{x:g} is not a whole number, and {q.name} counts whole things"
    if q.values is not None and x not in q.values:
        return f"{x:g} is not one of the values {q.name} may take: " + \
            ", ".join(f"{v:g}" for v in q.values)
    return None


