"""Safe expressions: rule text is translated through a whitelist, never evaluated.

``parse_expression`` reads the text with ``ast.parse(mode="eval")`` and accepts only the
nodes in the tables below. One walker then translates the checked tree through a *backend*:
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
import sympy

from .errors import DimensionError, ExpressionError
from .units import Quantity, format_unit, parse_quantity, to_base, ureg

# Caps, each so that a hostile or mistaken file fails at once instead of hanging:
MAX_LENGTH = 2000  # characters: longer than any real rule; bounds the parser's work
MAX_DEPTH = 40  # nesting: Python's parser and our recursive walk stay far from their limits
MAX_NODES = 500  # syntax nodes: bounds the sympy expression a single rule can build
MAX_NUMBER_CHARS = 30  # a literal like 1e999999 or 999...9 cannot blow up arithmetic
MAX_EXPONENT = 16  # `x ** 9**9` style blow-ups: exponents are small number literals

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_LITERAL = re.compile(r"\{([^{}]*)\}")

BINARY_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
COMPARE_OPS = {ast.LtE: "<=", ast.GtE: ">=", ast.Lt: "<", ast.Gt: ">"}
FUNCTIONS = {  # name: (min args, max args)
    "min": (2, 16), "max": (2, 16), "ceil": (1, 1), "floor": (1, 1),
    "sqrt": (1, 1), "log": (1, 1), "exp": (1, 1), "where": (3, 3),
}
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Constant,
            ast.Name, ast.Load, ast.Call, ast.Compare, *BINARY_OPS, *COMPARE_OPS)


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
        seg = ast.get_source_segment(self.source, node) or ""
        for placeholder, (written, _) in self.literals.items():
            seg = seg.replace(placeholder, written)
        return seg.strip()

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
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(text, f"syntax error: {exc.msg}", exc.offset) from None
    names = _check(tree, text, source.strip(), set(literals))
    if comparison != isinstance(tree.body, ast.Compare):
        reason = ("a constraint must be one comparison such as `a <= b`" if comparison
                  else "a comparison is only allowed in a constraint or a where() condition")
        raise ExpressionError(text, reason)
    return Expression(text, tree, frozenset(names), literals, source.strip())


def _extract_literals(text: str):
    literals: dict[str, tuple[str, pint.Quantity]] = {}

    def replace(match):
        inner = match.group(1).strip()
        try:
            q = parse_quantity(inner) if re.match(r"^[-+.\d]", inner) else Quantity(
                1.0, ureg.Unit(inner))
        except Exception as exc:  # pint's parser raises several types on malformed text
            raise ExpressionError(text, f"cannot read unit literal {{{inner}}} ({exc})",
                                  match.start() + 1) from None
        placeholder = f"_L{len(literals)}"
        placeholder += "_" * max(0, len(match.group(0)) - len(placeholder))
        literals[placeholder] = (match.group(0), q)
        return placeholder

    return _LITERAL.sub(replace, text), literals


def _check(tree: ast.Expression, text: str, source: str, placeholders: set) -> set[str]:
    names: set[str] = set()
    count = 0

    def fail(node, reason):
        raise ExpressionError(text, reason, getattr(node, "col_offset", -1) + 1)

    def visit(node, depth, in_where_condition=False):
        nonlocal count
        count += 1
        if count > MAX_NODES:
            fail(node, f"expression has more than {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            fail(node, f"expression nested deeper than {MAX_DEPTH} levels")
        if not isinstance(node, _ALLOWED):
            fail(node, f"{_describe(node)} is not allowed")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                fail(node, f"{_describe(node)} is not allowed")
            written = ast.get_source_segment(source, node) or ""
            if len(written) > MAX_NUMBER_CHARS or not math.isfinite(float(node.value)):
                fail(node, f"number literal longer than {MAX_NUMBER_CHARS} characters")
        elif isinstance(node, ast.Name):
            if not (NAME_PATTERN.match(node.id) or node.id in placeholders):
                fail(node, f"name '{node.id}' is not allowed (names are lower_snake_case)")
            if NAME_PATTERN.match(node.id):
                if node.id in FUNCTIONS:
                    fail(node, f"'{node.id}' is a function; call it with arguments")
                names.add(node.id)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = _literal_number(node.right)
            if exponent is None:
                fail(node.right, "an exponent must be a number literal")
            if abs(exponent) > MAX_EXPONENT:
                fail(node.right, f"exponent {exponent:g} is larger than {MAX_EXPONENT}")
        elif isinstance(node, ast.Call):
            _check_call(node, fail)
        elif isinstance(node, ast.Compare):
            if type(node.ops[0]) not in COMPARE_OPS:
                fail(node, f"{_describe(node)} is not allowed; use <=, >=, < or >")
            if len(node.ops) != 1:
                fail(node, "chained comparisons are not allowed; use one comparison")
            if depth > 1 and not in_where_condition:
                fail(node, "a comparison is only allowed in a constraint or a where() condition")
        for i, child in enumerate(_children(node)):
            is_condition = isinstance(node, ast.Call) and node.func.id == "where" and i == 0
            visit(child, depth + 1, is_condition)

    visit(tree.body, 1)
    return names


def _check_call(node: ast.Call, fail):
    if not isinstance(node.func, ast.Name):
        fail(node, "only calls to the function table are allowed "
                   f"({', '.join(sorted(FUNCTIONS))})")
    name = node.func.id
    if name not in FUNCTIONS:
        fail(node, f"function '{name}' is not allowed; allowed: {', '.join(sorted(FUNCTIONS))}")
    if node.keywords:
        fail(node, f"{name}() takes no keyword arguments")
    low, high = FUNCTIONS[name]
    if not low <= len(node.args) <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        fail(node, f"{name}() takes {wanted} arguments, got {len(node.args)}")
    if any(isinstance(a, ast.Starred) for a in node.args):
        fail(node, f"{name}() takes no *arguments")
    if name == "where" and not isinstance(node.args[0], ast.Compare):
        fail(node.args[0], "where() needs a comparison as its first argument")


def _children(node):
    if isinstance(node, ast.Call):
        return list(node.args)  # the function name was checked by _check_call
    return [c for c in ast.iter_child_nodes(node)
            if not isinstance(c, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop))]


def _literal_number(node):
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(
            node.value, bool):
        return sign * node.value
    return None


def _describe(node) -> str:
    kinds = {
        ast.Attribute: "attribute access", ast.Subscript: "subscript", ast.Lambda: "lambda",
        ast.ListComp: "comprehension", ast.GeneratorExp: "comprehension",
        ast.DictComp: "comprehension", ast.SetComp: "comprehension", ast.List: "a list",
        ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set", ast.BoolOp: "and/or",
        ast.IfExp: "if-else (use where())", ast.NamedExpr: "assignment",
        ast.Starred: "*arguments", ast.JoinedStr: "a string", ast.Await: "await",
        ast.Yield: "yield", ast.BitXor: "^ (use ** for powers)", ast.Mod: "%",
        ast.FloorDiv: "// (use floor(a / b))", ast.Eq: "==", ast.NotEq: "!=",
        ast.Not: "not",
    }
    if isinstance(node, ast.Constant):
        return "a string" if isinstance(node.value, (str, bytes)) else f"constant {node.value!r}"
    if isinstance(node, ast.BinOp):
        return _describe(node.op)
    if isinstance(node, ast.Compare):
        return _describe(node.ops[0])
    return kinds.get(type(node), type(node).__name__)


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
                return backend.power(walk(node.left), _literal_number(node.right), expr, node)
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
        raise ExpressionError(expr.text, f"{_describe(node)} is not allowed")  # unreachable

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


def parse_constraint(text: str) -> Expression:
    """A constraint such as ``"cost_per_mtok <= 500 USD/Mtok"``.

    A right-hand side that is a number with a unit may be written without braces.
    """
    match = re.match(r"^(.*?)(<=|>=|<|>)(.*)$", text.strip()) if isinstance(text, str) else None
    if match:
        left, op, right = match.groups()
        right = right.strip()
        if right and not right.startswith("{") and re.match(r"^[-+]?[\d.]", right):
            try:
                parse_expression(right)
            except ExpressionError:
                return parse_expression(f"{left.strip()} {op} {{{right}}}", comparison=True)
    return parse_expression(text, comparison=True)
