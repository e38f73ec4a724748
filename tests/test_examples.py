"""The question scripts in examples/ run, and their answers hold together.

Each script is run as a program (``__main__``) and then through its ``main()`` for the values
it returns. The checks are relations that follow from the rules, not the numbers of the day:
a longer context costs more, a saving is a saving, power moves the total less than itself.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
QUESTIONS = ["cost_of_128k_context.py", "which_lever_matters.py", "does_region_matter.py"]


def load(name: str) -> dict:
    return runpy.run_path(str(EXAMPLES / name))


@pytest.mark.parametrize("name", QUESTIONS)
def test_runs_as_a_script(name, capsys, model):
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    out = capsys.readouterr().out
    assert out.strip() and "Traceback" not in out


def test_long_context_costs_more(model, capsys):
    best = load("cost_of_128k_context.py")["main"](model)
    out = capsys.readouterr().out
    for search in ("batch 1-512, 1 GPU", "batch 1-512, 1-8 GPUs"):
        assert best[("128K", search)] > best[("4K", search)]
    # batch 64 at 128K needs 64 KV caches of ~21 GB each: it cannot fit one H200
    assert "at batch 64  (does not fit: memory.hbm_fit)" in out
    assert best[("128K", "batch 1-512, 1-8 GPUs")] <= best[("128K", "batch 1-512, 1 GPU")]


def test_levers_are_ranked_and_the_batch_lever_respects_hbm(model, capsys):
    ranked = load("which_lever_matters.py")["main"](model)
    out = capsys.readouterr().out
    savings = [saving for _, saving in ranked]
    assert savings == sorted(savings, reverse=True) and all(s > 0 for s in savings)
    assert {lever for lever, _ in ranked} >= {"quantization", "utilisation", "power and PUE"}
    doubled = next(line for line in out.splitlines() if "batching x2" in line)
    assert "not servable: breaks memory.hbm_fit" in doubled


def test_region_moves_power_more_than_the_total(model):
    rows = load("does_region_matter.py")["main"](model)
    prices = [row["power_price"] for row in rows.values()]
    totals = [row["cost_per_mtok"] for row in rows.values()]
    power = [row["power_cost_per_mtok"] for row in rows.values()]
    order = sorted(range(len(prices)), key=lambda i: prices[i])
    assert [totals[i] for i in order] == sorted(totals)
    assert max(power) / min(power) > max(totals) / min(totals)
