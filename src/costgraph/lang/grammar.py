"""The expression grammar: which Python syntax a rule may use, checked node by node.

``check_tree`` walks a tree from ``ast.parse(mode="eval")`` and refuses every node outside
the tables below, with the column where it starts; it computes the constant parts (numbers
and unit literals only) so that one that overflows is refused too. Nothing is evaluated
beyond those constants. ``expr`` builds on it: parsing, unit literals, translation.
"""

from __future__ import annotations

import ast
import math
import re
import unicodedata

from ..errors import ExpressionError
from ..units import to_base

# Caps, each so that a hostile or mistaken file fails at once instead of hanging:
MAX_LENGTH = 2000  # characters: longer than any real rule; bounds the parser's work
MAX_DEPTH = 40  # nesting: Python's parser and our recursive walk stay far from their limits
MAX_NODES = 500  # syntax nodes: bounds the sympy expression a single rule can build
MAX_NUMBER_CHARS = 30  # a literal like 1e999999 or 999...9 cannot blow up arithmetic
MAX_EXPONENT = 16  # `x ** 9**9` style blow-ups: exponents are small number literals

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_NOT_ASCII = re.compile(r"[^\x20-\x7e]")

BINARY_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
COMPARE_OPS = {ast.LtE: "<=", ast.GtE: ">=", ast.Lt: "<", ast.Gt: ">"}
FUNCTIONS = {  # name: (min args, max args)
    "min": (2, 16), "max": (2, 16), "ceil": (1, 1), "floor": (1, 1),
    "sqrt": (1, 1), "log": (1, 1), "exp": (1, 1), "where": (3, 3), "overlap": (3, 3),
}
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Constant,
            ast.Name, ast.Load, ast.Call, ast.Compare, *BINARY_OPS, *COMPARE_OPS)


def check_characters(text: str, source: str):
    """Names are ASCII as written: Python's parser would NFKC-normalise ``ｂatch`` to ``batch``.

    Unit literals (already replaced by placeholders of the same width in ``source``) are
    pint's to read; everything else must be printable ASCII.
    """
    bad = _NOT_ASCII.search(source)
    if bad is None:
        return
    char = bad.group()
    code = f"U+{ord(char):04X}"
    if char.isprintable():
        hint = (f"'{char}' ({code} {unicodedata.name(char, '')}) is not ASCII; names and "
                "operators are plain ASCII: retype it (a look-alike letter is another name)")
    else:
        hint = f"control character {code} is not allowed"
    raise ExpressionError(text, hint, bad.start() + 1)


def check_tree(tree: ast.Expression, text: str, source: str, literals: dict) -> set[str]:
    """The quantity names ``tree`` uses; raises ``ExpressionError`` at the first bad node.

    ``source`` is ``text`` with unit literals replaced by the placeholders in ``literals``
    (placeholder to (written text, Quantity)).
    """
    names: set[str] = set()
    placeholders = literals.keys()
    count = 0

    def fail(node, reason):
        raise ExpressionError(text, reason, getattr(node, "col_offset", -1) + 1)

    def visit(node, depth, in_where_condition=False):
        """Check ``node``; return its value when it is a constant (no quantity in it)."""
        nonlocal count
        count += 1
        if count > MAX_NODES:
            fail(node, f"expression has more than {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            fail(node, f"expression nested deeper than {MAX_DEPTH} levels")
        if not isinstance(node, _ALLOWED):
            fail(node, f"{describe(node)} is not allowed")
        if isinstance(node, ast.Constant):
            return _check_number(node, source, fail)
        if isinstance(node, ast.Name):
            if node.id in placeholders:
                return to_base(literals[node.id][1])
            if not NAME_PATTERN.match(node.id):
                fail(node, f"name '{node.id}' is not allowed (names are lower_snake_case)")
            if node.id in FUNCTIONS:
                fail(node, f"'{node.id}' is a function; call it with arguments")
            names.add(node.id)
            return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = literal_number(node.right)
            if exponent is None:
                fail(node.right, "an exponent must be a number literal")
            if abs(exponent) > MAX_EXPONENT:
                fail(node.right, f"exponent {exponent:g} is larger than {MAX_EXPONENT}")
        elif isinstance(node, ast.Call):
            _check_call(node, fail)
        elif isinstance(node, ast.Compare):
            if type(node.ops[0]) not in COMPARE_OPS:
                fail(node, f"{describe(node)} is not allowed; use <=, >=, < or >")
            if len(node.ops) != 1:
                fail(node, "chained comparisons are not allowed; use one comparison")
            if depth > 1 and not in_where_condition:
                fail(node, "a comparison is only allowed in a constraint or a where() condition")
        values = []
        for i, child in enumerate(_children(node)):
            is_condition = isinstance(node, ast.Call) and node.func.id == "where" and i == 0
            values.append(visit(child, depth + 1, is_condition))
        if None in values or isinstance(node, ast.Compare):
            return None
        return _fold(node, values, fail, lambda n: segment_text(source, literals, n))

    visit(tree.body, 1)
    return names


def _check_number(node: ast.Constant, source: str, fail) -> float:
    if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
        fail(node, f"{describe(node)} is not allowed")
    written = ast.get_source_segment(source, node) or ""
    if len(written) > MAX_NUMBER_CHARS:
        fail(node, f"number literal longer than {MAX_NUMBER_CHARS} characters")
    value = float(node.value)
    if not math.isfinite(value):
        fail(node, f"number literal {written} is too large: values must be finite")
    return value


# A constant part of an expression (numbers and unit literals only) is computed here, in
# base units, so that one that overflows or is undefined (`1e300 ** 2`, `{1 s} / 0`,
# `log(0)`) is refused at load instead of failing inside every solve that uses the rule.
_FOLD = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b,
}
_FOLD_CALLS = {"min": min, "max": max, "ceil": math.ceil, "floor": math.floor,
               "sqrt": math.sqrt, "log": math.log, "exp": math.exp,
               "overlap": lambda a, b, loss: max(a, b) + loss * min(a, b)}


def expand_overlap(tree: ast.Expression) -> ast.Expression:
    """``overlap(a, b, loss)`` written out as ``max(a, b) + loss * min(a, b)``: two times of
    which the longer hides all but ``loss`` of the shorter. One definition for every operator
    whose two ceilings overlap, so the backends (sympy, pint, units, floats) see only max,
    min, + and *. Every node made keeps the call's place in the text, for errors and
    sub-expression text."""
    return _ExpandOverlap().visit(tree)


class _ExpandOverlap(ast.NodeTransformer):
    def visit_Call(self, node):
        self.generic_visit(node)
        if node.func.id != "overlap":
            return node
        longer, shorter = _call("max", node), _call("min", node)
        scaled = ast.copy_location(ast.BinOp(left=node.args[2], op=ast.Mult(), right=shorter),
                                   node)
        return ast.copy_location(ast.BinOp(left=longer, op=ast.Add(), right=scaled), node)


def _call(name: str, at: ast.Call) -> ast.Call:
    """``name(a, b)`` of the first two arguments of ``at``, placed where ``at`` is."""
    func = ast.copy_location(ast.Name(id=name, ctx=ast.Load()), at)
    return ast.copy_location(ast.Call(func=func, args=list(at.args[:2]), keywords=[]), at)


def _fold(node, values, fail, segment):
    try:
        if isinstance(node, ast.UnaryOp):
            value = -values[0] if isinstance(node.op, ast.USub) else values[0]
        elif isinstance(node, ast.BinOp):
            value = _FOLD[type(node.op)](*values)
        elif isinstance(node, ast.Call) and node.func.id in _FOLD_CALLS:
            value = _FOLD_CALLS[node.func.id](*values)
        else:
            return None
        value = float(value)
    except (OverflowError, ZeroDivisionError, ValueError, TypeError):
        value = math.nan
    if not math.isfinite(value):
        fail(node, f"the constant `{segment(node)}` overflows or is undefined: "
                   "values must be finite")
    return value


def segment_text(source: str, literals: dict, node) -> str:
    seg = ast.get_source_segment(source, node) or ""
    for placeholder, (written, _) in literals.items():
        seg = seg.replace(placeholder, written)
    return seg.strip()


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


def literal_number(node):
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(
            node.value, bool):
        return sign * node.value
    return None


def describe(node) -> str:
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
        return describe(node.op)
    if isinstance(node, ast.Compare):
        return describe(node.ops[0])
    return kinds.get(type(node), type(node).__name__)
