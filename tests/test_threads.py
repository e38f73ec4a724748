"""One Model serves many threads: the same answers as one thread, and no errors.

The web explorer answers each request in a worker thread, and a notebook may do the same;
every question goes through one Model and its caches (the planner's, the compiled
functions seek keeps, sympy's rearrangements).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import costgraph as cg
from costgraph.analysis.seek import run as seek_module
from costgraph.quiet import silenced

THREADS = 8
ROUNDS = 3


def dump(data) -> str:
    """Every number at full precision, in a fixed order, so two runs compare exactly."""
    return json.dumps(data, sort_keys=True, default=str)


def questions(model):
    """A mix of every kind of call, each returning text that holds its whole answer."""
    bf16 = ["default", "bf16"]
    mixed = [
        lambda: dump(model.solve(find=["cost_per_mtok", "tokens_per_second"],
                                 given={"batch": 32}).to_dict()),
        lambda: dump(model.solve(find=["batch"], given={"tpot": "30 ms"}).to_dict()),
        lambda: dump(model.solve(find=["cost_per_mtok"], presets=bf16).to_dict()),
        lambda: dump(model.seek(maximize="batch", vary={"batch": (1, 4096)}).to_dict()),
        lambda: dump(model.seek(maximize="context_len", where="cost_per_mtok <= 2 USD/Mtok",
                                vary={"batch": (1, 512)}).to_dict()),
        lambda: model.sweep({"batch": [1, 8, 64, 256], "context_len": [4096, 16384]},
                            ["cost_per_mtok"]).to_csv(),
        lambda: dump(model.levers("cost_per_mtok", presets=bf16,
                                  ranges={"batch": (32, 128)}).to_dict()),
        lambda: repr({k: v.tolist() for k, v in model.compile(
            "cost_per_mtok", ["batch"], constraints="declared").margins(
            batch=np.array([1.0, 64.0, 256.0])).items()}),
        lambda: dump(model.uncertainty("cost_per_mtok", samples=2000, seed=1).to_dict()),
        lambda: dump(model.pareto("step_time", "cost_per_mtok",
                                  {"batch": "1..512:log:6"}).to_dict()),
    ]
    # distinct stated bounds: each seek adds its constraint to the compiled-function cache
    bounds = [lambda ms=ms: dump(model.seek(minimize="cost_per_mtok",
                                            where=f"step_time <= {ms} ms",
                                            vary={"batch": (1, 512)}).to_dict())
              for ms in range(25, 31)]
    return mixed + bounds


def test_one_model_in_many_threads_answers_as_one_thread(model):
    started = time.perf_counter()
    expected = [ask() for ask in questions(model)]
    # a model of its own, so the first round starts from empty caches, as a server does
    shared = cg.load(cache=False)
    for round_ in range(ROUNDS):
        with ThreadPoolExecutor(THREADS) as pool:
            futures = [pool.submit(ask) for ask in questions(shared)]
            answers = [f.result() for f in futures]  # re-raises any error of a thread
        wrong = [i for i, (got, want) in enumerate(zip(answers, expected)) if got != want]
        assert not wrong, f"round {round_}: questions {wrong} answered differently"
    assert time.perf_counter() - started < 60  # ~10 s here; a hang fails, not waits


class _Owner:
    """Stands for a Model as the cache's weak key."""


class _SlowKey:
    """A key whose hashing lets other threads run, as any key may between two dict calls."""

    def __init__(self, n: int):
        self.n = n

    def __hash__(self):
        time.sleep(0)
        return hash(self.n)

    def __eq__(self, other):
        return isinstance(other, _SlowKey) and self.n == other.n


def test_seek_cache_shared_by_threads_raises_no_keyerror():
    # 40 keys cycled through a cache of 32: entries are evicted while others read them,
    # which raised KeyError from move_to_end when the read was not guarded
    owner, errors = _Owner(), []

    def work(offset):
        try:
            for i in range(300):
                key = _SlowKey((7 * i + offset) % 40)
                got = seek_module._cached(owner, key, lambda k=key: ("built", k.n))
                assert got == ("built", key.n), got
        except Exception as exc:  # collected: a thread's exception would pass unseen
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(seek_module._CACHE[owner]) == seek_module.CACHE_SIZE


def test_silenced_blocks_in_many_threads_leave_the_warning_filters_as_they_were():
    # catch_warnings alone, entered by two threads at once, restores the filters in the
    # wrong order and leaves "ignore" in force for the whole process
    before = list(warnings.filters)

    def work():
        for _ in range(5000):
            with silenced():
                warnings.warn("inside", RuntimeWarning)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, inside the blocks too
    try:
        threads = [threading.Thread(target=work) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert warnings.filters == before
