"""docs/validation.md is current: its generated blocks are what the shipped validation set and
the bundled rules give today.

A block is the text between ``<!-- generated: NAME -->`` and ``<!-- end of generated -->``;
``BLOCKS`` says how each is made. After a deliberate change to the rules or the validation set,
rewrite them with ``COSTGRAPH_UPDATE_DOCS=1 python -m pytest tests/test_validation_docs.py``
and review the diff.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pytest

from costgraph.measurements import METRICS, STEPS, validation_files
from costgraph.units import format_quantity
from costgraph.validate import ValidationReport, signed_percent

DOC = Path(__file__).resolve().parents[1] / "docs" / "validation.md"
BLOCK = re.compile(r"(<!-- generated: ([\w-]+) -->\n)(.*?)(<!-- end of generated -->)", re.S)
FIT = ("bw_efficiency", "flops_efficiency")


def _pct(x) -> str:
    return "—" if x is None else f"{x:.1%}"


def metrics_block(model, report, calibrations) -> str:
    rows = ["| metric | predicted by | evaluated | step and its terms |", "|---|---|---|---|"]
    for m in METRICS.values():
        step = STEPS[m.step]
        terms = ", ".join(f"{label} `{q}`" for label, q in step.terms)
        rows.append(f"| `{m.name}` | `{m.quantity}` | {m.how} | `{step.total}`: {terms} |")
    return "\n".join(rows)


def roofline_block(model, report, calibrations) -> str:
    rows = ["| file | software | points | median \\|error\\| | worst \\|error\\| | within ±10% "
            "| within ±20% |", "|---|---|---|---|---|---|---|"]
    for s in [*report.by_file(), report.summary]:
        versions = sorted({f"{r.point.software} {r.point.version}" for r in report
                           if s.label in ("all", r.point.file)})
        software = "(all)" if s.label == "all" else ", ".join(versions)
        rows.append(f"| {s.label} | {software} | {s.points} | {_pct(s.median)} | "
                    f"{_pct(s.worst)} | {_pct(s.within_10)} | {_pct(s.within_20)} |")
    return "\n".join(rows)


def calibration_block(model, report, calibrations) -> str:
    rows = ["| file | fitted (± standard uncertainty) | fit: median, worst \\|error\\| | "
            "leave-one-out: median, worst |", "|---|---|---|---|"]
    for file, cal in calibrations.items():
        values = "; ".join(
            f"`{f.name}` {f.value:.3g}" + (f" ± {f.sigma:.2g}" if math.isfinite(f.sigma) else "")
            + ("" if f.pinned else f" (**not pinned**: {f.reason})") for f in cal.fitted)
        fit, loo = cal.summary, cal.loo_summary
        rows.append(f"| {file} | {values} | {_pct(fit.median)}, {_pct(fit.worst)} | "
                    f"{_pct(loo.median)}, {_pct(loo.worst)} |")
    return "\n".join(rows)


def ranges_block(model, report, calibrations) -> str:
    lines = []
    for r in report:
        for name, (low, high) in sorted(r.point.ranges.items()):
            lo, hi = r.span_errors
            lines.append(f"- `{r.point.id}`: with `{name}` from {format_quantity(low)} to "
                         f"{format_quantity(high)}, the error at the roofline spans "
                         f"{signed_percent(lo)} to {signed_percent(hi)} ({signed_percent(r.error)} at "
                         f"{format_quantity(r.point.given[name])})")
    return "\n".join(lines)


def points_block(model, report, calibrations) -> str:
    parts = []
    for s in report.by_file():
        own = ValidationReport(tuple(r for r in report if r.point.file == s.label), ())
        parts += [f"<details><summary>{s.label}: {s.points} points</summary>", "",
                  own.table(), "", "</details>", ""]
    return "\n".join(parts).rstrip("\n")


BLOCKS = {"metrics": metrics_block, "roofline": roofline_block,
          "calibration": calibration_block, "ranges": ranges_block, "points": points_block}


@pytest.fixture(scope="module")
def generated(model):
    report = model.validate()
    calibrations = {f"validation/{f.name}": model.calibrate([f], fit=FIT, loo=True)
                    for f in validation_files()}
    return {name: make(model, report, calibrations) + "\n" for name, make in BLOCKS.items()}


@pytest.fixture(scope="module")
def update():
    edits: dict[str, str] = {}
    yield edits if os.environ.get("COSTGRAPH_UPDATE_DOCS") else None
    if edits:
        text = DOC.read_text()
        DOC.write_text(BLOCK.sub(lambda m: m[1] + edits.get(m[2], m[3]) + m[4], text))


def test_every_block_is_in_the_page_once():
    names = [m[2] for m in BLOCK.finditer(DOC.read_text())]
    assert sorted(names) == sorted(BLOCKS)


@pytest.mark.parametrize("name", list(BLOCKS))
def test_the_block_is_current(name, generated, update):
    current = {m[2]: m[3] for m in BLOCK.finditer(DOC.read_text())}
    if update is not None:
        update[name] = generated[name]
        return
    assert current[name] == generated[name], (
        f"docs/validation.md block {name!r} is stale: rerun with COSTGRAPH_UPDATE_DOCS=1")
