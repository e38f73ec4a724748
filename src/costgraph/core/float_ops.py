"""The float path's arithmetic closures, one for each operation and shape of its operands.

A closure per syntax-tree node costs a call per node at every evaluation; these read a name's
value or a constant in place instead of calling a closure for it (shapes: N a name, read
from the values; C a constant; F any other closure, called). Each does the same operation on
the same floats in the same order as the node-per-closure tree would, so results are equal
to the last bit. ``SCALED`` also multiplies the result by ``k`` (a rule's final conversion
to its declared unit), after the operation, as pint converts it. ``COMPARED`` calls a
comparison's ``check`` on its two operands, ``PICKED`` is a where() of two branches, and
``PICKED_BY_NAME`` one whose condition compares a name with a constant, read in place.

``LEFT`` and ``RIGHT`` fuse one level more, a product of two leaves (shapes NN, NC, CN: the
commonest operand in the rules) with the operand beside it: ``(x * y) op z`` and
``z op (x * y)``, z a name, a constant or a closure.
"""

from __future__ import annotations

FUSED = {
    ("*", "NN"): lambda a, b: lambda env: env[a] * env[b],
    ("*", "NC"): lambda a, b: lambda env: env[a] * b,
    ("*", "CN"): lambda a, b: lambda env: a * env[b],
    ("*", "NF"): lambda a, b: lambda env: env[a] * b(env),
    ("*", "FN"): lambda a, b: lambda env: a(env) * env[b],
    ("*", "CF"): lambda a, b: lambda env: a * b(env),
    ("*", "FC"): lambda a, b: lambda env: a(env) * b,
    ("*", "FF"): lambda a, b: lambda env: a(env) * b(env),
    ("/", "NN"): lambda a, b: lambda env: env[a] / env[b],
    ("/", "NC"): lambda a, b: lambda env: env[a] / b,
    ("/", "CN"): lambda a, b: lambda env: a / env[b],
    ("/", "NF"): lambda a, b: lambda env: env[a] / b(env),
    ("/", "FN"): lambda a, b: lambda env: a(env) / env[b],
    ("/", "CF"): lambda a, b: lambda env: a / b(env),
    ("/", "FC"): lambda a, b: lambda env: a(env) / b,
    ("/", "FF"): lambda a, b: lambda env: a(env) / b(env),
    ("+", "NN"): lambda a, b: lambda env: env[a] + env[b],
    ("+", "NC"): lambda a, b: lambda env: env[a] + b,
    ("+", "CN"): lambda a, b: lambda env: a + env[b],
    ("+", "NF"): lambda a, b: lambda env: env[a] + b(env),
    ("+", "FN"): lambda a, b: lambda env: a(env) + env[b],
    ("+", "CF"): lambda a, b: lambda env: a + b(env),
    ("+", "FC"): lambda a, b: lambda env: a(env) + b,
    ("+", "FF"): lambda a, b: lambda env: a(env) + b(env),
    ("-", "NN"): lambda a, b: lambda env: env[a] - env[b],
    ("-", "NC"): lambda a, b: lambda env: env[a] - b,
    ("-", "CN"): lambda a, b: lambda env: a - env[b],
    ("-", "NF"): lambda a, b: lambda env: env[a] - b(env),
    ("-", "FN"): lambda a, b: lambda env: a(env) - env[b],
    ("-", "CF"): lambda a, b: lambda env: a - b(env),
    ("-", "FC"): lambda a, b: lambda env: a(env) - b,
    ("-", "FF"): lambda a, b: lambda env: a(env) - b(env),
}

SCALED = {
    ("*", "NN"): lambda a, b, k: lambda env: env[a] * env[b] * k,
    ("*", "NC"): lambda a, b, k: lambda env: env[a] * b * k,
    ("*", "CN"): lambda a, b, k: lambda env: a * env[b] * k,
    ("*", "NF"): lambda a, b, k: lambda env: env[a] * b(env) * k,
    ("*", "FN"): lambda a, b, k: lambda env: a(env) * env[b] * k,
    ("*", "CF"): lambda a, b, k: lambda env: a * b(env) * k,
    ("*", "FC"): lambda a, b, k: lambda env: a(env) * b * k,
    ("*", "FF"): lambda a, b, k: lambda env: a(env) * b(env) * k,
    ("/", "NN"): lambda a, b, k: lambda env: env[a] / env[b] * k,
    ("/", "NC"): lambda a, b, k: lambda env: env[a] / b * k,
    ("/", "CN"): lambda a, b, k: lambda env: a / env[b] * k,
    ("/", "NF"): lambda a, b, k: lambda env: env[a] / b(env) * k,
    ("/", "FN"): lambda a, b, k: lambda env: a(env) / env[b] * k,
    ("/", "CF"): lambda a, b, k: lambda env: a / b(env) * k,
    ("/", "FC"): lambda a, b, k: lambda env: a(env) / b * k,
    ("/", "FF"): lambda a, b, k: lambda env: a(env) / b(env) * k,
    ("+", "NN"): lambda a, b, k: lambda env: (env[a] + env[b]) * k,
    ("+", "NC"): lambda a, b, k: lambda env: (env[a] + b) * k,
    ("+", "CN"): lambda a, b, k: lambda env: (a + env[b]) * k,
    ("+", "NF"): lambda a, b, k: lambda env: (env[a] + b(env)) * k,
    ("+", "FN"): lambda a, b, k: lambda env: (a(env) + env[b]) * k,
    ("+", "CF"): lambda a, b, k: lambda env: (a + b(env)) * k,
    ("+", "FC"): lambda a, b, k: lambda env: (a(env) + b) * k,
    ("+", "FF"): lambda a, b, k: lambda env: (a(env) + b(env)) * k,
    ("-", "NN"): lambda a, b, k: lambda env: (env[a] - env[b]) * k,
    ("-", "NC"): lambda a, b, k: lambda env: (env[a] - b) * k,
    ("-", "CN"): lambda a, b, k: lambda env: (a - env[b]) * k,
    ("-", "NF"): lambda a, b, k: lambda env: (env[a] - b(env)) * k,
    ("-", "FN"): lambda a, b, k: lambda env: (a(env) - env[b]) * k,
    ("-", "CF"): lambda a, b, k: lambda env: (a - b(env)) * k,
    ("-", "FC"): lambda a, b, k: lambda env: (a(env) - b) * k,
    ("-", "FF"): lambda a, b, k: lambda env: (a(env) - b(env)) * k,
}

COMPARED = {
    "NN": lambda check, a, b: lambda env: check(env[a], env[b]),
    "NC": lambda check, a, b: lambda env: check(env[a], b),
    "CN": lambda check, a, b: lambda env: check(a, env[b]),
    "NF": lambda check, a, b: lambda env: check(env[a], b(env)),
    "FN": lambda check, a, b: lambda env: check(a(env), env[b]),
    "CF": lambda check, a, b: lambda env: check(a, b(env)),
    "FC": lambda check, a, b: lambda env: check(a(env), b),
    "FF": lambda check, a, b: lambda env: check(a(env), b(env)),
    "CC": lambda check, a, b: lambda env: check(a, b),
}

PICKED = {
    "NN": lambda cond, a, b: lambda env: env[a] if cond(env) else env[b],
    "NC": lambda cond, a, b: lambda env: env[a] if cond(env) else b,
    "CN": lambda cond, a, b: lambda env: a if cond(env) else env[b],
    "NF": lambda cond, a, b: lambda env: env[a] if cond(env) else b(env),
    "FN": lambda cond, a, b: lambda env: a(env) if cond(env) else env[b],
    "CF": lambda cond, a, b: lambda env: a if cond(env) else b(env),
    "FC": lambda cond, a, b: lambda env: a(env) if cond(env) else b,
    "FF": lambda cond, a, b: lambda env: a(env) if cond(env) else b(env),
    "CC": lambda cond, a, b: lambda env: a if cond(env) else b,
}

PICKED_BY_NAME = {
    "NN": lambda check, n, c, a, b: lambda env: env[a] if check(env[n], c) else env[b],
    "NC": lambda check, n, c, a, b: lambda env: env[a] if check(env[n], c) else b,
    "CN": lambda check, n, c, a, b: lambda env: a if check(env[n], c) else env[b],
    "NF": lambda check, n, c, a, b: lambda env: env[a] if check(env[n], c) else b(env),
    "FN": lambda check, n, c, a, b: lambda env: a(env) if check(env[n], c) else env[b],
    "CF": lambda check, n, c, a, b: lambda env: a if check(env[n], c) else b(env),
    "FC": lambda check, n, c, a, b: lambda env: a(env) if check(env[n], c) else b,
    "FF": lambda check, n, c, a, b: lambda env: a(env) if check(env[n], c) else b(env),
    "CC": lambda check, n, c, a, b: lambda env: a if check(env[n], c) else b,
}

# (x * y) op z, keyed (shape of x * y, op, kind of z)
LEFT = {
    ("NN", "*", "N"): lambda x, y, z: lambda env: env[x] * env[y] * env[z],
    ("NN", "*", "C"): lambda x, y, z: lambda env: env[x] * env[y] * z,
    ("NN", "*", "F"): lambda x, y, z: lambda env: env[x] * env[y] * z(env),
    ("NN", "/", "N"): lambda x, y, z: lambda env: env[x] * env[y] / env[z],
    ("NN", "/", "C"): lambda x, y, z: lambda env: env[x] * env[y] / z,
    ("NN", "/", "F"): lambda x, y, z: lambda env: env[x] * env[y] / z(env),
    ("NN", "+", "N"): lambda x, y, z: lambda env: env[x] * env[y] + env[z],
    ("NN", "+", "C"): lambda x, y, z: lambda env: env[x] * env[y] + z,
    ("NN", "+", "F"): lambda x, y, z: lambda env: env[x] * env[y] + z(env),
    ("NN", "-", "N"): lambda x, y, z: lambda env: env[x] * env[y] - env[z],
    ("NN", "-", "C"): lambda x, y, z: lambda env: env[x] * env[y] - z,
    ("NN", "-", "F"): lambda x, y, z: lambda env: env[x] * env[y] - z(env),
    ("NC", "*", "N"): lambda x, y, z: lambda env: env[x] * y * env[z],
    ("NC", "*", "C"): lambda x, y, z: lambda env: env[x] * y * z,
    ("NC", "*", "F"): lambda x, y, z: lambda env: env[x] * y * z(env),
    ("NC", "/", "N"): lambda x, y, z: lambda env: env[x] * y / env[z],
    ("NC", "/", "C"): lambda x, y, z: lambda env: env[x] * y / z,
    ("NC", "/", "F"): lambda x, y, z: lambda env: env[x] * y / z(env),
    ("NC", "+", "N"): lambda x, y, z: lambda env: env[x] * y + env[z],
    ("NC", "+", "C"): lambda x, y, z: lambda env: env[x] * y + z,
    ("NC", "+", "F"): lambda x, y, z: lambda env: env[x] * y + z(env),
    ("NC", "-", "N"): lambda x, y, z: lambda env: env[x] * y - env[z],
    ("NC", "-", "C"): lambda x, y, z: lambda env: env[x] * y - z,
    ("NC", "-", "F"): lambda x, y, z: lambda env: env[x] * y - z(env),
    ("CN", "*", "N"): lambda x, y, z: lambda env: x * env[y] * env[z],
    ("CN", "*", "C"): lambda x, y, z: lambda env: x * env[y] * z,
    ("CN", "*", "F"): lambda x, y, z: lambda env: x * env[y] * z(env),
    ("CN", "/", "N"): lambda x, y, z: lambda env: x * env[y] / env[z],
    ("CN", "/", "C"): lambda x, y, z: lambda env: x * env[y] / z,
    ("CN", "/", "F"): lambda x, y, z: lambda env: x * env[y] / z(env),
    ("CN", "+", "N"): lambda x, y, z: lambda env: x * env[y] + env[z],
    ("CN", "+", "C"): lambda x, y, z: lambda env: x * env[y] + z,
    ("CN", "+", "F"): lambda x, y, z: lambda env: x * env[y] + z(env),
    ("CN", "-", "N"): lambda x, y, z: lambda env: x * env[y] - env[z],
    ("CN", "-", "C"): lambda x, y, z: lambda env: x * env[y] - z,
    ("CN", "-", "F"): lambda x, y, z: lambda env: x * env[y] - z(env),
}

# z op (x * y), keyed (kind of z, op, shape of x * y)
RIGHT = {
    ("N", "*", "NN"): lambda x, y, z: lambda env: env[z] * (env[x] * env[y]),
    ("C", "*", "NN"): lambda x, y, z: lambda env: z * (env[x] * env[y]),
    ("F", "*", "NN"): lambda x, y, z: lambda env: z(env) * (env[x] * env[y]),
    ("N", "/", "NN"): lambda x, y, z: lambda env: env[z] / (env[x] * env[y]),
    ("C", "/", "NN"): lambda x, y, z: lambda env: z / (env[x] * env[y]),
    ("F", "/", "NN"): lambda x, y, z: lambda env: z(env) / (env[x] * env[y]),
    ("N", "+", "NN"): lambda x, y, z: lambda env: env[z] + (env[x] * env[y]),
    ("C", "+", "NN"): lambda x, y, z: lambda env: z + (env[x] * env[y]),
    ("F", "+", "NN"): lambda x, y, z: lambda env: z(env) + (env[x] * env[y]),
    ("N", "-", "NN"): lambda x, y, z: lambda env: env[z] - (env[x] * env[y]),
    ("C", "-", "NN"): lambda x, y, z: lambda env: z - (env[x] * env[y]),
    ("F", "-", "NN"): lambda x, y, z: lambda env: z(env) - (env[x] * env[y]),
    ("N", "*", "NC"): lambda x, y, z: lambda env: env[z] * (env[x] * y),
    ("C", "*", "NC"): lambda x, y, z: lambda env: z * (env[x] * y),
    ("F", "*", "NC"): lambda x, y, z: lambda env: z(env) * (env[x] * y),
    ("N", "/", "NC"): lambda x, y, z: lambda env: env[z] / (env[x] * y),
    ("C", "/", "NC"): lambda x, y, z: lambda env: z / (env[x] * y),
    ("F", "/", "NC"): lambda x, y, z: lambda env: z(env) / (env[x] * y),
    ("N", "+", "NC"): lambda x, y, z: lambda env: env[z] + (env[x] * y),
    ("C", "+", "NC"): lambda x, y, z: lambda env: z + (env[x] * y),
    ("F", "+", "NC"): lambda x, y, z: lambda env: z(env) + (env[x] * y),
    ("N", "-", "NC"): lambda x, y, z: lambda env: env[z] - (env[x] * y),
    ("C", "-", "NC"): lambda x, y, z: lambda env: z - (env[x] * y),
    ("F", "-", "NC"): lambda x, y, z: lambda env: z(env) - (env[x] * y),
    ("N", "*", "CN"): lambda x, y, z: lambda env: env[z] * (x * env[y]),
    ("C", "*", "CN"): lambda x, y, z: lambda env: z * (x * env[y]),
    ("F", "*", "CN"): lambda x, y, z: lambda env: z(env) * (x * env[y]),
    ("N", "/", "CN"): lambda x, y, z: lambda env: env[z] / (x * env[y]),
    ("C", "/", "CN"): lambda x, y, z: lambda env: z / (x * env[y]),
    ("F", "/", "CN"): lambda x, y, z: lambda env: z(env) / (x * env[y]),
    ("N", "+", "CN"): lambda x, y, z: lambda env: env[z] + (x * env[y]),
    ("C", "+", "CN"): lambda x, y, z: lambda env: z + (x * env[y]),
    ("F", "+", "CN"): lambda x, y, z: lambda env: z(env) + (x * env[y]),
    ("N", "-", "CN"): lambda x, y, z: lambda env: env[z] - (x * env[y]),
    ("C", "-", "CN"): lambda x, y, z: lambda env: z - (x * env[y]),
    ("F", "-", "CN"): lambda x, y, z: lambda env: z(env) - (x * env[y]),
}
