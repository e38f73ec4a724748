"""Streamed outputs: a sweep written chunk by chunk equals the in-memory one, in bounded
memory; Parquet; the progress callback per chunk; uncertainty evaluated in chunks."""

from __future__ import annotations

import io
import sys
import tracemalloc

import numpy as np
import pytest
from typer.testing import CliRunner

import costgraph.analysis.grid as grid_module
import costgraph.analysis.uncertainty as uncertainty_module
from costgraph.cli import app
from costgraph.errors import MissingExtraError
from costgraph.analysis.stream import stream_sweep

from toymodel import build

runner = CliRunner()
VARY = {"context_len": "1k..128k:log:9", "batch": "1..256:log:7",
        "precision": ["fp16", "fp8"]}


def test_a_streamed_sweep_writes_the_in_memory_csv_exactly(model):
    find = ["cost_per_mtok", "step_time"]
    whole = model.sweep(VARY, find)
    out = io.StringIO()
    summary = stream_sweep(model, VARY, find, [out], chunk=10)  # chunks cut across presets
    assert out.getvalue() == whole.to_csv()
    assert summary.summary() == whole.summary()
    assert summary.breaks == whole.breaks and summary.points == len(whole)


def test_a_sweep_written_to_a_file_equals_its_text(model, tmp_path):
    whole = model.sweep(VARY, "cost_per_mtok")
    path = tmp_path / "grid.csv"
    whole.to_csv(path)
    assert path.read_text() == whole.to_csv()


def test_parquet_holds_the_same_columns_with_their_units(model, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="Parquet needs the `parquet` extra")
    whole = model.sweep(VARY, "cost_per_mtok")
    path = tmp_path / "grid.parquet"
    stream_sweep(model, VARY, "cost_per_mtok", [path], chunk=16)
    table = pq.read_table(path)
    exported = whole.export()
    assert table.column_names == list(exported.columns)
    assert table.schema.field("cost_per_mtok").metadata == {b"unit": b"USD/Mtok"}
    np.testing.assert_array_equal(table.column("cost_per_mtok").to_numpy(),
                                  exported.columns["cost_per_mtok"])
    assert table.column("precision").to_pylist() == exported.columns["precision"].tolist()
    assert table.num_rows == len(whole)


def test_parquet_without_pyarrow_says_which_extra(model, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(MissingExtraError) as info:
        stream_sweep(model, {"batch": [1, 2]}, "cost_per_mtok", [tmp_path / "g.parquet"])
    assert str(info.value) == ("writing Parquet needs the `parquet` extra (pyarrow): "
                               "pip install 'costgraph[parquet]'")
    assert not (tmp_path / "g.parquet").exists()


def test_a_streamed_sweep_never_holds_the_grid(make_rules, tmp_path):
    pytest.importorskip("pyarrow.parquet", reason="Parquet needs the `parquet` extra")
    toy = build(make_rules)
    vary = {"context_len": "1k..128k:log:2000", "batch": "1..1000"}  # 2e6 points
    stream_sweep(toy, {"batch": [1, 2]}, "cost_per_mtok", [tmp_path / "warm.parquet"])
    tracemalloc.start()
    try:
        summary = stream_sweep(toy, vary, ["cost_per_mtok", "step_time"],
                               [tmp_path / "grid.parquet"], chunk=65_536)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.points == 2_000_000
    # one full-length column alone is 16 MB, and the table has 8; chunks keep it to a few
    assert peak < 24 * 2**20, f"{peak / 2**20:.1f} MiB"


def test_progress_advances_once_per_chunk(monkeypatch, model):
    monkeypatch.setattr(grid_module, "_CHUNK", 50)
    calls = []
    model.sweep({"context_len": "1k..128k:log:13", "batch": "1..256:log:11"}, "cost_per_mtok",
                progress=lambda done, total: calls.append((done, total)))
    assert calls == [(d, 143) for d in (50, 100, 143)]


def test_uncertainty_in_chunks_equals_one_pass(monkeypatch, model):
    whole = model.uncertainty("cost_per_mtok", samples=3000, seed=5)
    monkeypatch.setattr(uncertainty_module, "CHUNK", 256)
    calls = []
    chunked = model.uncertainty("cost_per_mtok", samples=3000, seed=5,
                                progress=lambda done, total: calls.append(done))
    np.testing.assert_array_equal(whole.samples, chunked.samples)
    np.testing.assert_array_equal(whole.feasible, chunked.feasible)
    assert calls == [*range(256, 3000, 256), 3000]


def test_cli_sweep_streams_csv_and_parquet(tmp_path):
    pytest.importorskip("pyarrow.parquet", reason="Parquet needs the `parquet` extra")
    csv_path, pq_path = tmp_path / "g.csv", tmp_path / "g.parquet"
    result = runner.invoke(app, ["sweep", "batch=1..64:log:4", "--find", "cost_per_mtok",
                                 "-o", str(csv_path), "-o", str(pq_path)])
    assert result.exit_code == 0, result.output
    assert f"wrote {csv_path}" in result.output and f"wrote {pq_path}" in result.output
    assert csv_path.read_text().splitlines()[0].startswith("batch [request],cost_per_mtok")
    import pyarrow.parquet as pq

    assert pq.read_table(pq_path).num_rows == 4


def test_cli_uncertainty_writes_samples_to_parquet(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="Parquet needs the `parquet` extra")
    path = tmp_path / "u.parquet"
    result = runner.invoke(app, ["uncertainty", "cost_per_mtok", "-n", "500", "-o", str(path)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(path)
    assert table.num_rows == 500 and "cost_per_mtok" in table.column_names


def test_a_streamed_write_the_disk_refuses_is_one_output_error(model, tmp_path, monkeypatch):
    import costgraph.analysis.stream as stream
    from costgraph.errors import OutputError

    def full(self, chunk):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(stream._CsvSink, "write", full)
    target = tmp_path / "grid.csv"
    with pytest.raises(OutputError) as info:
        model.sweep({"batch": [1, 2]}, "cost_per_mtok", out=[target])
    assert str(info.value) == (f"cannot write {target}: no space left on the device; free "
                               "some space or write elsewhere")


def test_sweep_out_streams_through_the_public_api(model, tmp_path):
    target = tmp_path / "grid.csv"
    summary = model.sweep(VARY, "cost_per_mtok", out=[target])
    whole = model.sweep(VARY, "cost_per_mtok")
    assert target.read_text() == whole.to_csv() and summary.summary() == whole.summary()
