"""Columns of values with units: what sweeps, fronts and plots hand back, and how they export.

A ``Table`` is read-only: its arrays are flagged non-writeable and its mappings are proxies,
so a result can be shared without anyone changing it underneath another reader. CSV and JSON
are written in a fixed column order with shortest round-trip float text, so the same table
always exports to the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .files import writing
from .units import Quantity, format_unit, parse_unit


def frozen_array(values) -> np.ndarray:
    """A read-only copy-free view of ``values`` as an array."""
    array = np.asarray(values)
    if array.flags.writeable:
        array = array.view()
        array.flags.writeable = False
    return array


def frozen_mapping(mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Table:
    """Named columns of equal length, each with a unit ("" for dimensionless or text).

    Parameters
    ----------
    title : str
        What the table shows, including the scenario (used as a plot title and in JSON).
    columns : Mapping[str, numpy.ndarray]
        Column name to values, in display order. Text columns (preset labels) are string
        arrays, yes/no columns (``feasible``) bool arrays, yes/no columns that may not apply
        object arrays of True, False and None (written empty in CSV, null in JSON);
        everything else is float.
    units : Mapping[str, str]
        Column name to unit text (``USD/Mtok``); ``""`` when dimensionless or text.
    integer : frozenset[str]
        Columns whose values are whole numbers (written without a decimal point).

    Examples
    --------
    >>> t = Table.build("demo", {"batch": [1, 2]}, {"batch": "request"}, integer={"batch"})
    >>> print(t.to_csv(), end="")
    batch [request]
    1
    2
    """

    title: str
    columns: Mapping[str, np.ndarray]
    units: Mapping[str, str]
    integer: frozenset = field(default=frozenset())

    @classmethod
    def build(cls, title, columns, units, integer=()) -> "Table":
        """A Table from plain mappings: arrays are frozen, lengths checked."""
        arrays = {name: frozen_array(values) for name, values in columns.items()}
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns differ in length: { {n: len(a) for n, a in arrays.items()} }")
        # compact unit text; "" (not "1") for dimensionless, so headers read `utilisation`
        return cls(title, frozen_mapping(arrays),
                   frozen_mapping({n: format_unit(units.get(n) or "") for n in arrays}),
                   frozenset(integer))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, name: str):
        """Column ``name`` as a pint Quantity array (text columns as plain arrays)."""
        values = self.columns[name]
        if values.dtype.kind in "USbO":
            return values
        return Quantity(values, parse_unit(self.units[name]))

    def rows(self) -> Iterator[dict]:
        """One dict per row, values as Python numbers or text (units in ``self.units``)."""
        lists = {n: plain_values(n, a, self.integer) for n, a in self.columns.items()}
        for i in range(len(self)):
            yield {n: values[i] for n, values in lists.items()}

    def header(self) -> list[str]:
        return [f"{n} [{self.units[n]}]" if self.units[n] else n for n in self.columns]

    def to_csv(self, path: str | Path | None = None) -> str | None:
        """Write CSV (header ``name [unit]``) to ``path``, or return it as text."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.header())
        lists = [plain_values(n, a, self.integer) for n, a in self.columns.items()]
        writer.writerows(zip(*lists))
        return _deliver(buffer.getvalue(), path)

    def to_dict(self) -> dict:
        """JSON-ready: title and, per column, its unit and values (NaN becomes null)."""
        def values(name, array):
            if array.dtype == bool:
                return array.tolist()
            if array.dtype == object:
                return [None if v is None else bool(v) for v in array.tolist()]
            return [_json_number(v) for v in plain_values(name, array, self.integer)]

        return {"title": self.title,
                "columns": {n: {"unit": self.units[n], "values": values(n, a)}
                            for n, a in self.columns.items()}}

    def to_json(self, path: str | Path | None = None) -> str | None:
        """Write ``to_dict()`` as JSON to ``path``, or return it as text."""
        return write_json(self.to_dict(), path)


def plain_values(name, array, integer) -> list:
    if array.dtype.kind in "US":
        return array.tolist()
    if array.dtype == bool:
        return ["true" if v else "false" for v in array.tolist()]
    if array.dtype == object:  # yes/no that may not apply
        return ["" if v is None else "true" if v else "false" for v in array.tolist()]
    if name in integer:
        return [int(v) if math.isfinite(v) else v for v in array.tolist()]
    return array.astype(float).tolist()


def _json_number(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(data: dict, path=None) -> str | None:
    """``data`` as one line of JSON written to ``path``, or returned as text."""
    return _deliver(json.dumps(data) + "\n", path)


def _deliver(text: str, path) -> str | None:
    if path is None:
        return text
    with writing(path):
        Path(path).write_text(text, encoding="utf-8")
    return None
