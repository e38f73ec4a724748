"""The dask backend: sweeps and uncertainty as dask blocks give the single-process numbers,
on the threaded scheduler and on a dask.distributed LocalCluster by address."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import costgraph as cg
import costgraph.analysis.backends as backends
from costgraph.cli import app
from costgraph.errors import MissingExtraError, QueryError

runner = CliRunner()
VARY = {"context_len": "1k..128k:log:23", "batch": "1..256:log:9",
        "precision": ["fp16", "fp8"]}
NEEDS_DASK = "the dask backend needs the `dask` extra: pip install 'costgraph[dask]'"


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(backends, "BLOCK", 97)  # many blocks, cut across preset values


def test_dask_sweep_equals_numpy_sweep(model, small_blocks):
    pytest.importorskip("dask.array", reason=NEEDS_DASK)
    find = ["cost_per_mtok", "step_time"]
    here = model.sweep(VARY, find)
    there = model.sweep(VARY, find, backend="dask")
    assert there.to_csv() == here.to_csv()
    assert there.breaks == here.breaks


def test_dask_uncertainty_draws_the_same_samples(model, small_blocks):
    pytest.importorskip("dask.array", reason=NEEDS_DASK)
    here = model.uncertainty("cost_per_mtok", samples=4000, seed=11)
    there = model.uncertainty("cost_per_mtok", samples=4000, seed=11, backend="dask")
    np.testing.assert_array_equal(there.samples, here.samples)
    np.testing.assert_array_equal(there.feasible, here.feasible)
    assert there.to_dict() == here.to_dict()


def test_a_block_of_draws_is_that_slice_of_one_pass():
    dists = [type("D", (), {"name": n})() for n in ("a", "b", "c")]
    rng = np.random.default_rng(4)
    whole = {d.name: rng.random(1000) for d in dists}
    block = backends.draws(dists, 4, 1000, 300, 420)
    for name, levels in block.items():
        np.testing.assert_array_equal(levels, whole[name][300:420])


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("dask.distributed", reason=NEEDS_DASK)
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as running:
        yield running


def test_dask_sweep_on_a_local_cluster_by_address(cluster, model, small_blocks):
    find = "cost_per_mtok"
    here = model.sweep(VARY, find)
    there = model.sweep(VARY, find, backend="dask", scheduler=cluster.scheduler_address)
    assert there.to_csv() == here.to_csv()


def test_dask_on_a_cluster_loads_the_rules_folder_by_path(cluster, make_rules, small_blocks):
    from toymodel import PRESETS, RULES

    toy = cg.load(make_rules(core=RULES, presets={"toy": PRESETS}))
    vary = {"batch": "1..512", "context_len": "100,1000,10000"}
    here = toy.sweep(vary, ["cost_per_mtok", "step_time"])
    there = toy.sweep(vary, ["cost_per_mtok", "step_time"], backend="dask",
                      scheduler=cluster.scheduler_address)
    assert there.to_csv() == here.to_csv()
    samples = toy.uncertainty("cost_per_mtok", samples=3000, seed=2, backend="dask",
                              scheduler=cluster.scheduler_address)
    np.testing.assert_array_equal(samples.samples,
                                  toy.uncertainty("cost_per_mtok", samples=3000,
                                                  seed=2).samples)


def test_cli_sweep_on_a_cluster(cluster, tmp_path):
    path = tmp_path / "g.csv"
    result = runner.invoke(app, ["sweep", "batch=1..64:log:4", "--find", "cost_per_mtok",
                                 "--backend", "dask", "--scheduler",
                                 cluster.scheduler_address, "-o", str(path)])
    assert result.exit_code == 0, result.output
    expected = runner.invoke(app, ["sweep", "batch=1..64:log:4", "--find", "cost_per_mtok"])
    assert path.read_text() == expected.stdout.split("0 of 4")[0]


def test_an_unknown_backend_is_one_clear_error(model):
    with pytest.raises(QueryError) as info:
        model.sweep({"batch": [1, 2]}, "cost_per_mtok", backend="spark")
    assert str(info.value) == "backend: 'spark' is not a backend; choose one of numpy, dask"


def test_a_scheduler_needs_the_dask_backend(model):
    with pytest.raises(QueryError) as info:
        model.uncertainty("cost_per_mtok", samples=10, scheduler="tcp://127.0.0.1:8786")
    assert str(info.value) == "scheduler: a scheduler address needs backend='dask'"


def test_dask_uncertainty_needs_a_seed(model):
    pytest.importorskip("dask.array", reason=NEEDS_DASK)
    with pytest.raises(QueryError) as info:
        model.uncertainty("cost_per_mtok", samples=10, seed=None, backend="dask")
    assert "needs a seed" in str(info.value)


def test_without_dask_the_backend_says_which_extra(model, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(MissingExtraError) as info:
        model.sweep({"batch": [1, 2]}, "cost_per_mtok", backend="dask")
    assert str(info.value) == ("the dask backend needs the `dask` extra "
                               "(dask[array,distributed]): pip install 'costgraph[dask]'")


def test_cli_refuses_a_scheduler_without_dask_before_any_work():
    result = runner.invoke(app, ["sweep", "batch=1..4", "--find", "cost_per_mtok",
                                 "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "--scheduler" in result.output and "needs --backend dask" in result.output
