"""Large outputs written chunk by chunk: CSV and Parquet in bounded memory.

A sweep of 1e8 points is 1e8 rows; building them all before writing (and a CSV's text, or
its Python floats, all at once) takes many times the memory of the numbers. Here a sweep is
evaluated one chunk of the grid at a time (``sweep.Grid``), each chunk is written and
forgotten, and only the counts a summary needs are kept. The same sinks write an in-memory
table (a sweep's or the uncertainty's samples) a slice at a time.

CSV is written as ``Table.to_csv`` writes it; Parquet (``.parquet``) needs the ``parquet``
extra (pyarrow), each chunk one row group, each column's unit in its field's metadata.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MissingExtraError
from ..files import writing
from ..table import Table, plain_values

SUFFIXES = (".csv", ".parquet")
ROWS = 65_536  # rows per written slice of an in-memory table


def require_pyarrow():
    try:
        import pyarrow.parquet  # noqa: F401 - pyarrow and its Parquet writer
    except ImportError:
        raise MissingExtraError("writing Parquet", "parquet", "pyarrow") from None


class _CsvSink:
    def __init__(self, target):
        self._target = target
        self._file = None
        self._writer = None

    def write(self, chunk: Table) -> None:
        if self._writer is None:
            self._file = (self._target if hasattr(self._target, "write")
                          else open(self._target, "w", encoding="utf-8", newline=""))
            self._writer = csv.writer(self._file, lineterminator="\n")
            self._writer.writerow(chunk.header())
        lists = [plain_values(n, a, chunk.integer) for n, a in chunk.columns.items()]
        buffer = io.StringIO()  # one write per chunk: fewer, larger writes to the file
        csv.writer(buffer, lineterminator="\n").writerows(zip(*lists))
        self._file.write(buffer.getvalue())

    def close(self) -> None:
        if self._file is not None and self._file is not self._target:
            self._file.close()
        elif self._file is not None:
            self._file.flush()


class _ParquetSink:
    def __init__(self, path):
        require_pyarrow()
        self._path = path
        self._writer = None

    def write(self, chunk: Table) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = {n: pa.array(a) for n, a in chunk.columns.items()}
        if self._writer is None:
            fields = [pa.field(n, arrays[n].type, metadata={"unit": chunk.units[n]})
                      for n in chunk.columns]
            self._schema = pa.schema(fields, metadata={"title": chunk.title})
            self._writer = pq.ParquetWriter(self._path, self._schema)
        self._writer.write_table(pa.Table.from_arrays(list(arrays.values()),
                                                      schema=self._schema))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _sink(path):
    if path is None or hasattr(path, "write"):
        return _CsvSink(path or sys.stdout)
    if Path(path).suffix.lower() == ".parquet":
        return _ParquetSink(path)
    return _CsvSink(path)  # CSV, whatever else the name ends in (as Table.to_csv writes)


def write_chunks(paths, chunks: Iterable[Table]) -> None:
    """Write every chunk (Tables with the same columns) to each path, one after another.

    ``None`` (or a file object) in ``paths`` is CSV to stdout (or to that file). A path the
    system refuses becomes one OutputError naming it (see ``files.writing``).
    """
    sinks = [_sink(p) for p in paths]
    try:
        for chunk in chunks:
            for path, sink in zip(paths, sinks):
                with _guard(path):
                    sink.write(chunk)
    finally:
        for path, sink in zip(paths, sinks):
            with _guard(path):
                sink.close()


def _guard(path):
    import contextlib

    return writing(path) if isinstance(path, (str, Path)) else contextlib.nullcontext()


def table_slices(table: Table, rows: int = ROWS):
    """``table`` as Tables of at most ``rows`` rows each, in order."""
    n = len(table)
    for start in range(0, max(n, 1), rows):
        yield Table.build(table.title, {c: a[start:start + rows] for c, a in
                                        table.columns.items()}, dict(table.units),
                          table.integer)


def write_table(table: Table, paths) -> None:
    """Write an in-memory table to each path (``.csv``/``.parquet``) a slice at a time.

    A CSV of one slice or less is written in one piece, as ``Table.to_csv`` writes it.
    """
    paths = list(paths)
    if len(table) <= ROWS and all(isinstance(p, (str, Path)) and
                                  Path(p).suffix.lower() != ".parquet" for p in paths):
        for path in paths:
            table.to_csv(path)
        return
    write_chunks(paths, table_slices(table))


# a sweep, never held whole ------------------------------------------------------------------


@dataclass(frozen=True)
class StreamedSweep:
    """What a streamed sweep leaves: its counts and where it went (no points are kept)."""

    vary: tuple[str, ...]
    find: tuple[str, ...]
    shape: tuple[int, ...]
    points: int
    infeasible: int
    breaks: Mapping[str, int]
    constraints: Mapping[str, str]
    scenario: str

    def summary(self) -> str:
        from .grid import broken_summary

        return broken_summary(self.infeasible, self.points, self.breaks)


def stream_sweep(model, vary: Mapping, find, paths, *, given=None, presets=None,
                 constraints="declared", progress=None, title=None,
                 chunk: int | None = None) -> StreamedSweep:
    """Evaluate a sweep's grid chunk by chunk and write each chunk to every path.

    The rows are those of ``SweepResult.to_csv`` (the same columns, order and text), so a
    streamed CSV equals the in-memory one; ``.parquet`` paths get the same columns. Memory
    is bounded by the chunk, whatever the grid's size.

    Parameters are as for ``Model.sweep``; ``paths`` lists the files (``None`` for CSV on
    stdout).
    """
    from .grid import Grid, violations

    paths = list(paths)
    if any(isinstance(p, (str, Path)) and Path(p).suffix.lower() == ".parquet" for p in paths):
        require_pyarrow()
    grid = Grid(model, vary, find, given, presets, constraints)
    ids = sorted(grid.constraints)
    breaks = dict.fromkeys(ids, 0)
    counts = {"infeasible": 0}
    units, integer = grid.units(), grid.integer()
    name = title or grid.title

    def chunks():
        for start, stop, at, found, slacks in grid.chunks(chunk):
            n = stop - start
            columns = {a.name: a.values[at[i]] if grid.shape else a.values
                       for i, a in enumerate(grid.axes)}
            columns.update({f: np.asarray(found[f], dtype=float) for f in grid.find})
            margins = {c: np.asarray(slacks[c], dtype=float) for c in ids}
            feasible = np.ones(n, dtype=bool)
            for c in ids:
                held = margins[c] >= 0
                breaks[c] += int(n - np.count_nonzero(held))
                feasible &= held
            counts["infeasible"] += int(n - np.count_nonzero(feasible))
            columns["feasible"] = feasible
            columns["violates"] = violations(margins, n)
            for c in ids:
                columns[f"slack:{c}"] = margins[c]
            yield Table.build(name, columns, units, integer)
            if progress is not None:
                progress(stop, grid.total)

    write_chunks(paths, chunks())
    return StreamedSweep(tuple(a.name for a in grid.axes), tuple(grid.find), grid.shape,
                         grid.total, counts["infeasible"], breaks,
                         dict(sorted(grid.constraints.items())), grid.scenario)
