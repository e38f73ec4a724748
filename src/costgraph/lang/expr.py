"""Safe expressions: rule text is translated through a whitelist, never evaluated.

``parse_expression`` reads the text with ``ast.parse(mode="eval")`` and accepts only the
nodes in the tables of ``grammar``. One walker then translates the checked tree through a *backend*:
to sympy (for planning, inversion and compiled code), to pint quantities (exact
evaluation), or to pint units alone (the dimension check at load time). sympy's
``sympify``/``parse_expr`` call ``eval`` and are never used on rule text.

Unit literals are written in braces, ``{1 token/request}``; pint's own tokenizer reads
what is inside (it does not call ``eval`` either).
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field

import pint

from .. import lazy
from ..errors import DimensionError, ExpressionError, ValueTextError
from .grammar import (BINARY_OPS, COMPARE_OPS, MAX_LENGTH, NAME_PATTERN, check_characters,
                      check_tree, describe, expand_overlap, literal_number, segment_text)
from ..quiet import silenced
from ..units import Quantity, format_unit, parse_quantity, parse_unit, to_base, ureg

sympy = lazy.module("sympy")  # only the translation to sympy needs it

_LITERAL = re.compile(r"\{([^{}]*)\}")
_VALUE_START = frozenset("0123456789+-.$")  # a literal holding a value, not a bare unit


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, its syntax tree, the names it uses, its literals."""

    text: str
    tree: ast.Expression = field(repr=False, compare=False)
    names: frozenset[str] = field(compare=False)
    literals: dict = field(repr=False, compare=False)
    source: str = field(repr=False, compare=False)  # text with literals as placeholders

    @property
    def is_comparison(self) -> bool:
        return isinstance(self.tree.body, ast.Compare)

    def segment(self, node) -> str:
        """The text of a sub-expression, literals shown as written."""
        return segment_text(self.source, self.literals, node)

    def part(self, node) -> "Expression":
        """The sub-expression at ``node`` (e.g. one side of a comparison) on its own."""
        return Expression(self.segment(node), ast.Expression(body=node), self.names,
                          self.literals, self.source)

    def sides(self) -> tuple[ast.AST, str, ast.AST]:
        """(left, operator, right) of a comparison."""
        body = self.tree.body
        return body.left, COMPARE_OPS[type(body.ops[0])], body.comparators[0]


def parse_expression(text: str, comparison: bool = False) -> Expression:
    """Check ``text`` against the grammar and return it parsed.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"batch * {1 token/request} / step_time"``.
    comparison : bool
        Whether the expression must be a single comparison (a constraint).

    Raises
    ------
    ExpressionError
        For anything outside the grammar, with the column where it starts.

    Examples
    --------
    >>> sorted(parse_expression("a * {2 s} + b").names)
    ['a', 'b']
    """
    if not isinstance(text, str):
        raise ExpressionError(repr(text), "an expression must be text")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(text[:60] + "…", f"expression longer than {MAX_LENGTH} characters")
    text = " ".join(text.split())  # folded YAML keeps line breaks; they mean nothing here
    source, literals = _extract_literals(text)
    check_characters(text, source)
    try:
        with silenced(SyntaxWarning):  # "invalid decimal literal" for `5x`: the error says it
            tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(text, f"syntax error: {exc.msg}", exc.offset) from None
    except (ValueError, MemoryError, RecursionError) as exc:  # the parser's own limits
        raise ExpressionError(text, f"cannot parse: {exc}") from None
    names = check_tree(tree, text, source.strip(), literals)
    if comparison != isinstance(tree.body, ast.Compare):
        reason = ("a constraint must be one comparison such as `a <= b`" if comparison
                  else "a comparison is only allowed in a constraint or a where() condition")
        raise ExpressionError(text, reason)
    if "overlap" in source:  # the only call written out before the backends see it
        tree = expand_overlap(tree)
    return Expression(text, tree, frozenset(names), literals, source.strip())


def _extract_literals(text: str):
    literals: dict[str, tuple[str, pint.Quantity]] = {}

    def replace(match):
        inner = match.group(1).strip()
        try:
            q = parse_quantity(inner) if inner[:1] in _VALUE_START else Quantity(
                1.0, parse_unit(inner))
            finite = math.isfinite(to_base(q))
        except ValueTextError as exc:
            raise ExpressionError(text, f"cannot read unit literal {{{inner}}}: {exc.reason}",
                                  match.start() + 1) from None
        if not finite:
            raise ExpressionError(text, f"unit literal {{{inner}}} is too large: values must "
                                        "be finite", match.start() + 1)
        placeholder = f"_L{len(literals)}"
        placeholder += "_" * max(0, len(match.group(0)) - len(placeholder))
        literals[placeholder] = (match.group(0), q)
        return placeholder

    return _LITERAL.sub(replace, text), literals


# --- translation ---------------------------------------------------------------------------


def translate(expr: Expression, backend):
    """Walk ``expr`` through ``backend`` (see SympyBackend, PintBackend, DimensionBackend)."""

    def walk(node):
        if isinstance(node, ast.Constant):
            return backend.number(node.value)
        if isinstance(node, ast.Name):
            if node.id in expr.literals:
                return backend.literal(expr.literals[node.id][1])
            return backend.name(node.id)
        if isinstance(node, ast.UnaryOp):
            value = walk(node.operand)
            return backend.neg(value) if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            op = BINARY_OPS[type(node.op)]
            if op == "**":
                return backend.power(walk(node.left), literal_number(node.right), expr, node)
            return backend.binary(op, walk(node.left), walk(node.right), expr, node)
        if isinstance(node, ast.Compare):
            op = COMPARE_OPS[type(node.ops[0])]
            return backend.compare(op, walk(node.left), walk(node.comparators[0]), expr, node)
        if isinstance(node, ast.Call):
            name = node.func.id
            if name == "where":
                cond, a, b = node.args
                return backend.where(walk(cond), lambda: walk(a), lambda: walk(b), expr, node)
            return backend.call(name, [walk(a) for a in node.args], expr, node)
        raise ExpressionError(expr.text, f"{describe(node)} is not allowed")  # unreachable

    return walk(expr.tree.body)


def to_sympy_number(value):
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15:
        return sympy.Integer(int(value))
    return sympy.Float(value, 17)


class SympyBackend:
    """Builds a sympy expression over base-unit magnitudes; ``symbols`` maps names."""

    def __init__(self, symbols):
        self.symbols = symbols

    def number(self, v):
        return sympy.Rational(str(v)) if isinstance(v, float) and len(str(v)) < 12 else \
            to_sympy_number(v)

    def literal(self, q):
        return to_sympy_number(to_base(q))

    def name(self, n):
        return self.symbols[n]

    def neg(self, a):
        return -a

    def binary(self, op, a, b, expr, node):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        return a * b if op == "*" else a / b

    def power(self, a, exponent, expr, node):
        return a ** (sympy.Rational(str(exponent)) if isinstance(exponent, float) else exponent)

    def compare(self, op, a, b, expr, node):
        return {"<=": sympy.Le, ">=": sympy.Ge, "<": sympy.Lt, ">": sympy.Gt}[op](a, b)

    def where(self, cond, a, b, expr, node):
        return sympy.Piecewise((a(), cond), (b(), True))

    def call(self, name, args, expr, node):
        table = {"min": sympy.Min, "max": sympy.Max, "ceil": sympy.ceiling,
                 "floor": sympy.floor, "sqrt": sympy.sqrt, "log": sympy.log, "exp": sympy.exp}
        return table[name](*args)


class PintBackend:
    """Evaluates with pint quantities: units checked again at every operation."""

    def __init__(self, values):
        self.values = values

    def number(self, v):
        return Quantity(float(v), ureg.dimensionless)

    def literal(self, q):
        return q

    def name(self, n):
        return self.values[n]

    def neg(self, a):
        return -a

    def binary(self, op, a, b, expr, node):
        try:
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            return a * b if op == "*" else a / b
        except pint.errors.DimensionalityError:
            raise _dimension_error(expr, node, a.units, b.units, op) from None

    def power(self, a, exponent, expr, node):
        return a ** exponent

    def compare(self, op, a, b, expr, node):
        try:
            b = b.to(a.units)
        except pint.errors.DimensionalityError:
            raise _dimension_error(expr, node, a.units, b.units, op) from None
        return {"<=": a.magnitude <= b.magnitude, ">=": a.magnitude >= b.magnitude,
                "<": a.magnitude < b.magnitude, ">": a.magnitude > b.magnitude}[op]

    def where(self, cond, a, b, expr, node):
        return a() if cond else b()

    def call(self, name, args, expr, node):
        if name in ("min", "max"):
            first = args[0]
            try:
                mags = [a.to(first.units).magnitude for a in args]
            except pint.errors.DimensionalityError as exc:
                raise _dimension_error(expr, node, exc.units1, exc.units2, name) from None
            return Quantity((min if name == "min" else max)(mags), first.units)
        if name == "sqrt":
            return args[0] ** 0.5
        x = _dimensionless(args[0], name, expr, node)
        return Quantity({"ceil": math.ceil, "floor": math.floor, "log": math.log,
                         "exp": math.exp}[name](x), ureg.dimensionless)


def _dimensionless(q, name, expr, node):
    try:
        return q.to(ureg.dimensionless).magnitude
    except pint.errors.DimensionalityError:
        raise DimensionError(f"`{expr.segment(node)}`", "a dimensionless number",
                             format_unit(q.units) or "1", f"{name}() needs one") from None


def _dimension_error(expr, node, u1, u2, op):
    text = f"`{expr.segment(node)}`"
    verb = {"+": "add", "-": "subtract", "<=": "compare", ">=": "compare", "<": "compare",
            ">": "compare", "min": "take min of", "max": "take max of", "where": "choose"}
    return DimensionError(text, format_unit(u1) or "1", format_unit(u2) or "1",
                          f"cannot {verb.get(op, op)} values of different dimensions")


class DimensionBackend(PintBackend):
    """Works on pint units only: the load-time dimension check, no numbers involved."""

    def __init__(self, units):
        super().__init__({n: Quantity(1.0, u) for n, u in units.items()})

    def number(self, v):
        return Quantity(1.0, ureg.dimensionless)  # only units matter: no arithmetic on v

    def literal(self, q):
        return Quantity(1.0, q.units)

    def binary(self, op, a, b, expr, node):
        if op in "+-":
            if a.dimensionality != b.dimensionality:
                raise _dimension_error(expr, node, a.units, b.units, op)
            return Quantity(1.0, a.units)
        return Quantity(1.0, (a * b if op == "*" else a / b).units)

    def power(self, a, exponent, expr, node):
        return Quantity(1.0, (a ** exponent).units)

    def compare(self, op, a, b, expr, node):
        if a.dimensionality != b.dimensionality:
            raise _dimension_error(expr, node, a.units, b.units, op)
        return Quantity(1.0, a.units)

    def where(self, cond, a, b, expr, node):
        first, second = a(), b()
        if first.dimensionality != second.dimensionality:
            raise _dimension_error(expr, node, first.units, second.units, "where")
        return first

    def call(self, name, args, expr, node):
        if name in ("min", "max"):
            for other in args[1:]:
                if other.dimensionality != args[0].dimensionality:
                    raise _dimension_error(expr, node, args[0].units, other.units, name)
            return Quantity(1.0, args[0].units)
        if name == "sqrt":
            return Quantity(1.0, (args[0] ** 0.5).units)
        _dimensionless(args[0], name, expr, node)
        return Quantity(1.0, ureg.dimensionless)


def parse_constraint(text: str, units=None) -> Expression:
    """A constraint such as ``"cost_per_mtok <= 500 USD/Mtok"``.

    The right-hand side may be a value as ``units.parse_quantity`` reads it, without braces:
    ``500 USD/Mtok``, ``$0.15/kWh``, ``15 cent/kWh``. When the left side is one quantity
    whose unit ``units`` (name to unit text) gives, a bare number there (``50``, ``32k``)
    is in that unit, as a bare ``--set`` value is: ``step_time <= 50`` is 50 ms when
    step_time is declared in ms.
    """
    if not isinstance(text, str):
        raise ExpressionError(repr(text), "a constraint must be text")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(text[:60] + "…", f"expression longer than {MAX_LENGTH} characters")
    text = " ".join(text.split())
    # the first comparison operator splits the text; one linear search, no backtracking
    match = _COMPARISON.search(text)
    if match:
        left, op, right = text[:match.start()].strip(), match.group(), text[match.end():].strip()
        literal = _value_literal(left, right, units)
        if literal is not None:
            try:
                return parse_expression(f"{left} {op} {literal}", comparison=True)
            except ExpressionError as exc:
                braced_error = exc  # e.g. an unknown unit: more telling than a syntax error
            try:
                return parse_expression(text, comparison=True)  # the split was inside a call
            except ExpressionError:
                raise braced_error from None
    return parse_expression(text, comparison=True)


_COMPARISON = re.compile(r"<=|>=|==|!=|<|>")
_BARE_NUMBER = re.compile(r"[-+]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][-+]?\d+)?[kKMG]?")


def _value_literal(left: str, right: str, units) -> str | None:
    """The right side as a braced unit literal, when it is a value rather than an expression."""
    if not right or right[:1] not in _VALUE_START:
        return None
    unit = units.get(left) if units is not None and NAME_PATTERN.match(left) else None
    if _BARE_NUMBER.fullmatch(right):
        if unit is None or not format_unit(parse_unit(unit)):
            return None  # a plain number: dimensionless, as written
        return f"{{{right} {unit}}}"
    try:
        parse_expression(right)
        return None  # an expression such as `0.9 * hbm_capacity`
    except ExpressionError:
        return f"{{{right}}}"
