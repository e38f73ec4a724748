"""Results as the JSON and CSV the web explorer offers for every view.

JSON is each result's own ``to_dict()`` (what the command line's ``--json`` prints), with
non-finite numbers written as ``null`` so that every browser's JSON parser reads it. CSV
is one row per value, with plain numbers and a unit column.
"""

from __future__ import annotations

import csv
import io
import math

from costgraph.units import format_unit


def json_safe(data):
    """``data`` with NaN and infinities replaced by None (JSON has no such numbers)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: json_safe(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_safe(v) for v in data]
    return data


def _csv(header: list[str], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _number(q) -> float:
    return float(q.magnitude)


def result_csv(result, names=None) -> str:
    """quantity, value, unit, how, rule, source: one row per asked-for quantity."""
    rows = []
    for name in names or result.targets:
        step = result.step(name)
        rows.append([name, repr(_number(step.value)), format_unit(step.value.units), step.kind,
                     step.rule or "", step.source or ""])
    return _csv(["quantity", "value", "unit", "how", "rule", "source"], rows)


def constraint_rows(statuses, binding=()) -> list[list[str]]:
    rows = []
    for c in statuses:
        d = c.to_dict()
        status = ("not evaluated" if c.holds is None else "VIOLATED" if not c.holds
                  else "binding" if c.id in binding else "holds")
        rows.append([c.id, status, d["lhs"], d["rhs"], d["unit"] or "",
                     "" if c.ratio is None else repr(c.ratio)])
    return rows


def seek_csv(found) -> str:
    """The optimum's point (quantity rows), then every constraint there (constraint rows)."""
    binding = {c.id for c in found.binding}
    rows = [["point", n, "", repr(_number(q)), "", format_unit(q.units), ""]
            for n, q in found.point.items()]
    rows += [["constraint", cid, status, lhs, rhs, unit, ratio]
             for cid, status, lhs, rhs, unit, ratio in constraint_rows(found.constraints,
                                                                       binding)]
    return _csv(["row", "name", "status", "value_or_left", "right", "unit", "ratio"], rows)


def compare_csv(results, labels: list[str], names: list[str]) -> str:
    """One row per quantity, one value column per scenario (in the first one's unit)."""
    rows = []
    for name in names:
        unit = results[0][name].units
        rows.append([name, format_unit(unit), *(repr(_number(r[name].to(unit)))
                                                for r in results)])
    return _csv(["quantity", "unit", *labels], rows)


def compare_dict(results, labels: list[str]) -> dict:
    return {"scenarios": [{"label": label, "result": r.to_dict()}
                          for label, r in zip(labels, results)]}


def audit_csv(report) -> str:
    """The verdict table the command line prints: one row per claim."""
    from costgraph.audit.report import table_rows

    return _csv(["id", "where", "quantity", "claimed", "derived", "ratio", "verdict"],
                table_rows(report))


def infeasible_dict(exc) -> dict:
    """The least-bad point of an infeasible seek and the constraints failing there."""
    return {"point": {n: {"value": _number(q), "unit": format_unit(q.units)}
                      for n, q in exc.point.items()},
            "violated": [c.to_dict() for c in exc.violations]}
