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

from costgraph.validation.measurements import METRICS, STEPS, validation_files
from costgraph.units import format_quantity
from costgraph.validation.validate import ValidationReport, signed_percent

DOC = Path(__file__).resolve().parents[1] / "docs" / "validation.md"
BLOCK = re.compile(r"(<!-- generated: ([\w-]+) -->\n)(.*?)(<!-- end of generated -->)", re.S)
# each file's stack, and the values of it that were fitted to the file (the rest are cited
# defaults, assumptions, or values the fit cannot pin, which the stack inherits from trtllm)
FITS = {
    "mlperf-inference-v4.1.yaml": ("mlperf", ("flops_efficiency", "layer_overhead",
                                              "request_overhead")),
    "trtllm-v0.17.yaml": ("trtllm-0.17", ("bw_efficiency", "flops_efficiency", "layer_overhead",
                                          "request_overhead", "all_reduce_latency",
                                          "link_efficiency", "expert_gemm_efficiency",
                                          "matmul_overlap_loss")),
    "trtllm-v0.5-v0.6.1.yaml": ("trtllm-0.5", ("flops_efficiency", "bw_efficiency",
                                               "layer_overhead", "kv_group_reread_share")),
    "trtllm-v0.20.yaml": ("trtllm-0.20", ("layer_overhead", "request_overhead",
                                          "all_reduce_latency", "link_efficiency")),
    "trtllm-v1.0.yaml": ("trtllm", ("flops_efficiency", "flops_efficiency_fp4",
                                    "layer_overhead", "request_overhead", "all_reduce_latency",
                                    "link_efficiency")),
    # energy per token is power over throughput, each fitted on its own file: none to these
    "ml-energy.yaml": ("vllm", ()),
    "ml-energy-power.yaml": ("h100-sxm", ("active_power_fraction",)),
    "ml-energy-throughput.yaml": ("vllm", ("layer_overhead", "all_reduce_latency",
                                           "link_efficiency")),
}
HOME = "trtllm-v1.0.yaml"  # the default stack's own file; the others test it out of sample


def _pct(x) -> str:
    return "—" if x is None else f"{x:.1%}"


def metrics_block(model, runs) -> str:
    rows = ["| metric | predicted by | evaluated | step and its terms |", "|---|---|---|---|"]
    for m in METRICS.values():
        step = STEPS[m.step]
        terms = ", ".join(f"{label} `{q}`" for label, q in step.terms)
        rows.append(f"| `{m.name}` | `{m.quantity}` | {m.how} | `{step.total}`: {terms} |")
    return "\n".join(rows)


def _value(x: float) -> str:
    """A fitted value to three figures; one pressed against a bound of 0 reads as 0."""
    return "0" if abs(x) < 1e-9 else f"{x:.3g}"


def summary_table(report) -> str:
    rows = ["| file | software | points | median \\|error\\| | worst \\|error\\| | within ±10% "
            "| within ±20% |", "|---|---|---|---|---|---|---|"]
    for s in [*report.by_file(), report.summary]:
        versions = sorted({f"{r.point.software} {r.point.version}" for r in report
                           if s.label in ("all", r.point.file)})
        software = "(all)" if s.label == "all" else ", ".join(versions)
        rows.append(f"| {s.label} | {software} | {s.points} | {_pct(s.median)} | "
                    f"{_pct(s.worst)} | {_pct(s.within_10)} | {_pct(s.within_20)} |")
    return "\n".join(rows)


def stacks_block(model, runs) -> str:
    return summary_table(runs["stacks"])


def roofline_block(model, runs) -> str:
    return summary_table(runs["roofline"])


def transfer_block(model, runs) -> str:
    return summary_table(runs["transfer"])


def calibration_block(model, runs) -> str:
    rows = ["| file | stack | fitted (± standard uncertainty) | fit: median, worst \\|error\\| | "
            "leave-one-out: median, worst | leave-one-configuration-out: median, worst, "
            "within ±20% |", "|---|---|---|---|---|---|"]
    for file, cal in runs["calibrations"].items():
        values = "; ".join(
            f"`{f.name}` {_value(f.value)}"
            + (f" ± {f.sigma:.2g}" if math.isfinite(f.sigma) else "")
            + f" {f.unit}".rstrip()
            + ("" if f.pinned else f" (**not pinned**: {f.reason})") for f in cal.fitted)
        fit, loo = cal.summary, cal.loo_summary
        unseen = runs["configurations"][file].loo_summary
        stack = FITS[Path(file).name][0]
        held = ("(one configuration: nothing to fit it from)" if unseen.median is None else
                f"{_pct(unseen.median)}, {_pct(unseen.worst)}, {_pct(unseen.within_20)}")
        rows.append(f"| {file} | `{stack}` | {values} | {_pct(fit.median)}, {_pct(fit.worst)} | "
                    f"{_pct(loo.median)}, {_pct(loo.worst)} | {held} |")
    return "\n".join(rows)


def ranges_block(model, runs) -> str:
    lines = []
    for r in runs["stacks"]:
        for name, (low, high) in sorted(r.point.ranges.items()):
            lo, hi = r.span_errors
            lines.append(f"- `{r.point.id}`: with `{name}` from {format_quantity(low)} to "
                         f"{format_quantity(high)}, the error at the `{r.point.presets[-1]}` stack spans "
                         f"{signed_percent(lo)} to {signed_percent(hi)} ({signed_percent(r.error)} at "
                         f"{format_quantity(r.point.given[name])})")
    return "\n".join(lines)


def points_block(model, runs) -> str:
    parts = []
    report = runs["stacks"]
    for s in report.by_file():
        own = ValidationReport(tuple(r for r in report if r.point.file == s.label), ())
        parts += [f"<details><summary>{s.label}: {s.points} points</summary>", "",
                  own.table(), "", "</details>", ""]
    return "\n".join(parts).rstrip("\n")


BLOCKS = {"metrics": metrics_block, "stacks": stacks_block, "roofline": roofline_block,
          "calibration": calibration_block, "transfer": transfer_block,
          "ranges": ranges_block, "points": points_block}


@pytest.fixture(scope="module")
def runs(model):
    files = validation_files()
    return {
        "stacks": model.validate(),  # every file at its own stack (its defaults say which)
        "roofline": model.validate(presets=["roofline"]),
        "transfer": model.validate([f.stem for f in files if f.name != HOME],
                                   presets=["trtllm"]),
        "calibrations": {f"validation/{f.name}": model.calibrate([f], fit=FITS[f.name][1],
                                                                 loo=True)
                         for f in files if FITS[f.name][1]},
        "configurations": {f"validation/{f.name}": model.calibrate(
            [f], fit=FITS[f.name][1], loo="configuration") for f in files if FITS[f.name][1]},
    }


@pytest.fixture(scope="module")
def generated(model, runs):
    return {name: make(model, runs) + "\n" for name, make in BLOCKS.items()}


def test_every_file_has_its_stack_and_fit():
    assert sorted(FITS) == sorted(f.name for f in validation_files())


@pytest.mark.parametrize("file", sorted(FITS))
def test_each_shipped_stack_is_what_calibrate_fits(model, runs, file):
    """A stack's fitted values are the calibration of its file, to the digits it ships with;
    a value the fit cannot pin is not one the stack may claim was fitted."""
    stack, names = FITS[file]
    if not names:
        assert f"validation/{file}" not in runs["calibrations"]
        return
    values = next(p for p in model.presets() if p.name == stack).values
    fitted = runs["calibrations"][f"validation/{file}"].fitted
    assert [f.name for f in fitted] == list(names)
    for f in fitted:
        shipped = values[f.name].quantity.to(f.unit or "dimensionless").magnitude
        if not f.pinned and math.isfinite(f.sigma):
            # the points do not pin it: any value within its uncertainty is what they say
            assert abs(f.value - shipped) <= f.sigma, (stack, f.name, f.value, shipped)
            continue
        assert float(f"{f.value:.3g}") == pytest.approx(shipped, rel=1e-9, abs=1e-9), \
            (stack, f.name, f.value, shipped)


def test_the_fidelity_targets_hold(runs):
    """What the product promises of its numbers: every file at the stack of the software that
    measured it, and the default stack on the tables it describes, within a 10% median and a
    25% worst error; each configuration of those tables held out of the fit whole still within
    ±20% for at least 85% of its points."""
    every = runs["stacks"].summary
    assert every.median <= 0.10 and every.worst <= 0.25, (every.median, every.worst_id)
    home = next(s for s in runs["stacks"].by_file() if s.label == f"validation/{HOME}")
    assert home.median <= 0.10 and home.worst <= 0.25, (home.median, home.worst)
    unseen = runs["configurations"][f"validation/{HOME}"].loo_summary
    assert unseen.within_20 >= 0.85, unseen.within_20


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
