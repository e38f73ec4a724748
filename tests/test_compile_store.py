"""Compiled functions kept on disk (core.compile_store): rebuilt functions compute exactly
what the originals did, and an entry is only ever found for the rule set it was built from."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import costgraph as cg
from costgraph import diskcache
from costgraph.core import compile_store
from costgraph.core.compile import numpy_function

SEEK = dict(maximize="context_len", where=["cost_per_mtok <= 2 USD/Mtok"],
            vary={"batch": (1, 512)})


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty on-disk cache, and no model kept in memory (each test loads afresh)."""
    monkeypatch.setenv(diskcache.ENV_DIR, str(tmp_path))
    monkeypatch.delenv(diskcache.ENV_OFF, raising=False)
    cg.model._CACHE.clear()
    yield tmp_path
    cg.model._CACHE.clear()


def _entries(folder, kind="compiled"):
    return sorted(folder.glob(f"compiled-{kind}-*.pickle"))


def test_a_compile_from_disk_computes_what_the_compile_did(cache):
    model = cg.load()
    question = ("test", "cost_per_mtok over batch and context_len")

    def build():
        return model.compile(["cost_per_mtok", "step_time"], ["batch", "context_len"],
                             constraints="declared")

    fresh = compile_store.kept(model, "compiled", question, build)
    assert len(_entries(cache)) == 1
    again = compile_store.kept(model, "compiled", question, lambda: pytest.fail("compiled"))
    assert again is not fresh
    rng = np.random.default_rng(7)
    points = {"batch": rng.integers(1, 600, 2000).astype(float),
              "context_len": rng.uniform(300, 200_000, 2000)}
    for mine, theirs in zip(fresh.evaluate(**points), again.evaluate(**points)):
        assert mine.keys() == theirs.keys()
        for name in mine:
            np.testing.assert_array_equal(mine[name], theirs[name])


def test_lambdified_functions_from_disk_are_the_same_functions(cache):
    import sympy

    model = cg.load()
    x, y = sympy.symbols("x y")
    made = ("names", numpy_function([x, y], sympy.Max(x, y) * sympy.ceiling(x / y)), "<=")
    kept = compile_store.kept(model, "functions", ("test", 1), lambda: made)
    again = compile_store.kept(model, "functions", ("test", 1), lambda: pytest.fail("built"))
    a, b = np.array([0.5, 7.0, 3.0]), np.array([2.0, 2.0, 3.0])
    assert again[0] == "names" and again[2] == "<="
    np.testing.assert_array_equal(again[1](a, b), kept[1](a, b))


def test_an_entry_it_cannot_read_is_built_again(cache):
    import sympy

    model = cg.load()
    name = compile_store._entry(model, "functions", ("test", 2))
    assert diskcache.store_object(name, {"not": "a tuple of functions"})
    built = ("names", numpy_function([], sympy.Integer(1)), "<=")
    assert compile_store.kept(model, "functions", ("test", 2), lambda: built) is built
    again = compile_store.kept(model, "functions", ("test", 2), lambda: pytest.fail("built"))
    assert again[1]() == 1


def test_a_function_reading_a_name_from_elsewhere_is_not_kept():
    namespace = compile_store._namespace()
    offset = 3.0

    def closure(v):
        return v + offset

    def foreign(v):
        return json.dumps(v)

    assert compile_store._code(closure, namespace) is None
    assert compile_store._code(foreign, namespace) is None


def test_a_rule_set_read_without_the_cache_keeps_no_compile(cache):
    model = cg.load(cache=False)
    assert diskcache.ruleset_key(model.ruleset) is None
    model.seek(**SEEK)
    assert _entries(cache) == [] and _entries(cache, "functions") == []


def test_another_rules_folder_is_another_entry(cache, tmp_path_factory):
    import shutil

    model = cg.load()
    model.seek(**SEEK)
    assert len(_entries(cache)) == 1
    copy = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(cg.bundled_rules_path(), copy)
    cg.load(copy).seek(**SEEK)
    assert len(_entries(cache)) == 2  # its own key: nothing found for the bundled folder's


def test_a_tampered_compile_entry_is_compiled_again(cache):
    model = cg.load()
    first = model.seek(**SEEK).to_dict()
    for entry in _entries(cache):
        entry.write_bytes(entry.read_bytes()[:-10] + b"0123456789")
    cg.model._CACHE.clear()  # a fresh model: nothing kept in memory
    assert cg.load().seek(**SEEK).to_dict() == first
    assert len(_entries(cache)) == 1  # compiled again and stored again


_SEEK_IN_A_PROCESS = """
import json, sys, costgraph as cg
found = cg.load().seek(maximize="context_len", where=["cost_per_mtok <= 2 USD/Mtok"],
                       vary={"batch": (1, 512)})
print(json.dumps(found.to_dict(), sort_keys=True))
"""


def test_a_seek_from_the_kept_compile_gives_the_same_answer(tmp_path):
    env = {**os.environ, diskcache.ENV_DIR: str(tmp_path)}
    env.pop(diskcache.ENV_OFF, None)
    runs = [subprocess.run([sys.executable, "-c", _SEEK_IN_A_PROCESS], capture_output=True,
                           text=True, env=env, timeout=300) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    assert _entries(tmp_path) and runs[0].stdout == runs[1].stdout
