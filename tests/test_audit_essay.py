"""`costgraph audit examples/essay-claims.yaml`, run as a user runs it, and the verdicts of
claims whose verdict follows from the essay's own stated inputs (the reasoning is next to
each). Then the same claims on a real H200 serving Llama-3.1-70B (`-p default`), and the
summary in docs/audit.md, which must be what the tool prints.

The essay scenario: 3.35 TB/s, 141 GB, 989 TFLOP/s; a 70B model of 70 GB at FP8 with 80 layers
of 64 KV heads x 128 (KV = 2 x 80 x 64 x 128 x 1 byte = 1,310,720 byte per token); batch 64 at
4,096 tokens; $32K GPU + $8K rack over 3 years at 65%; $0.07/kWh, PUE 1.12.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import costgraph as cg
from costgraph.audit.report import summary_markdown
from costgraph.cli import app

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "examples" / "essay-claims.yaml"
DOC = ROOT / "docs" / "audit.md"


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """One run of the command with every output: JSON on stdout, the Markdown report."""
    report = tmp_path_factory.mktemp("audit") / "essay.md"
    result = CliRunner().invoke(app, ["audit", str(CLAIMS), "--json", "--markdown",
                                      str(report), "--strict"], env={"COLUMNS": "100"})
    return result, report


@pytest.fixture(scope="module")
def essay(cli_run):
    result, _ = cli_run
    return {c["id"]: c for c in json.loads(result.stdout)["claims"]}


@pytest.fixture(scope="module")
def reports():
    model = cg.load()
    return model.audit(CLAIMS), model.audit(CLAIMS, presets=["default"])


def causes(claim):
    return [(c["kind"], c["name"], c["claim"]) for c in claim["causes"]]


def test_the_command_runs_on_the_essay_and_strict_fails_it(cli_run):
    result, report = cli_run
    assert result.exit_code == 1, result.stderr  # --strict: the essay is not reproduced
    assert result.stderr == f"wrote {report}\n"
    text = report.read_text()
    assert text.startswith("# Audit: The True Cost of a Token")
    assert "### s8.1.throughput — INFEASIBLE" in text


def test_figures_that_follow_from_the_essays_inputs_are_reproduced(essay):
    reproduced = {
        # 2 x 80 x (4 x 8192^2 + 2 x 8192 x 28672) = 118.1 GFLOP: the essay's own formula
        "s2.1.flops",
        # 70e9 parameters x 1 byte (FP8)
        "s2.2.weights",
        # 3.9 pJ/bit x 8 bit/byte = 31.2 pJ/byte
        "s3.1.pj-per-byte",
        # (70 GB + 2,048 x 1,310,720 byte) / 3.35 TB/s = 21.7 ms, "≈ 21.6 ms"
        "s3.1.memory-time",
        # ($32,000 + $8,000) / (3 x 8,766 h x 0.65) = $2.34 per GPU-hour
        "s5.2.capital-hour",
        # 1.9 TB x $0.11/GB = $209
        "s6.1.nand-base",
        # 2 x 64 x 128 x 80 x 2 bytes = 2,621,440 bytes per token at FP16
        "s9.1.kv-tok-bytes",
        # capital per hour scales with 1/utilisation: 0.75 / 0.40 = 1.875, "1.9×"
        "s10.utilisation",
    }
    assert {cid: essay[cid]["verdict"] for cid in reproduced} == \
        {cid: "REPRODUCED" for cid in reproduced}


def test_a_unit_prefix_slip_nj_for_pj(essay):
    # 3.9 pJ/bit is 31.2 pJ/byte; the essay also calls it 31.2 nJ/byte, 1,000 times more
    claim = essay["s3.1.nj-per-byte"]
    assert claim["verdict"] == "CONTRADICTED"
    assert claim["ratio"] == pytest.approx(1000)
    assert causes(claim)[0] == ("power_of_ten", None, None)


def test_mib_and_gib_figures_written_as_mb_and_gb(essay):
    # 1,310,720 byte = 1.25 MiB, written "1.25 MB"; 4,096 x that = 5.0 GiB, written "5.0 GB"
    kv_token, kv_4k = essay["s9.1.kv-tok-fp8"], essay["s9.1.kv-4k"]
    assert (kv_token["verdict"], kv_4k["verdict"]) == ("CONTRADICTED", "CONTRADICTED")
    assert kv_token["causes"][0]["text"].endswith("a MiB figure written as MB")
    assert kv_4k["causes"][0]["text"].endswith("a GiB figure written as GB")
    # and §7 says 4.4 GB for the same 4K context: the file disagrees with itself
    assert ("inconsistent", None, "s7.kv-4k") in causes(kv_4k)


def test_the_baseline_does_not_fit_and_its_throughput_counts_the_batch_twice(essay):
    # 70 GB + 64 x 5.37 GB = 413.6 GB of KV and weights on a 141 GB GPU: INFEASIBLE.
    # The essay's own arithmetic with its 4.4 GB: (70 + 64 x 4.4) GB / 3.35 TB/s = 105 ms per
    # step, 609.8 token/s; 39,024 is exactly 64 times that - the weights were divided by the
    # batch (per-token bytes) and the result multiplied by the batch again.
    claim = essay["s8.1.throughput"]
    assert (claim["verdict"], claim["agrees"]) == ("INFEASIBLE", False)
    assert claim["constraints"][0]["id"] == "memory.hbm_fit"
    assert claim["constraints"][0]["lhs"] == pytest.approx(413.6e9, rel=1e-3)
    first = claim["causes"][0]
    assert (first["kind"], first["name"], first["claim"], first["then"]) == \
        ("stated_elsewhere", "kv_bytes_per_request", "s7.kv-4k", "input_ratio")
    assert first["factor"] == pytest.approx(64)
    assert "batch applied once too often" in first["text"]
    # the 1.64 ms step: 105 ms divided by the batch once too often
    step = essay["s8.1.step-time"]
    assert step["causes"][0]["factor"] == pytest.approx(1 / 64)


def test_a_per_token_property_is_not_infeasible_though_the_batch_does_not_fit(essay):
    # KV bytes per token and weight FLOPs describe the model, whatever batch is asked for
    assert essay["s9.1.kv-tok-fp8"]["constraints"] == []
    assert essay["s2.1.flops"]["constraints"] == []


def test_the_ridge_point_follows_from_the_essays_own_peak_and_bandwidth(essay):
    # 989 TFLOP/s / 3.35 TB/s = 295 FLOP/byte, not "~148" (half of it)
    claim = essay["s2.2.ridge"]
    assert claim["verdict"] == "CONTRADICTED"
    assert claim["ratio"] == pytest.approx(148 / 295.22, rel=1e-3)


def test_hbm_power_cannot_exceed_its_bandwidth_times_its_energy_per_bit(essay):
    # at most 3.35 TB/s x 31.2 pJ/byte = 104.5 W of HBM traffic, not 217 W
    claim = essay["s4.1.hbm-power"]
    assert claim["agrees"] is False
    assert claim["derived"]["value"] == pytest.approx(104.52, rel=1e-3)


def test_the_abstracts_cost_is_a_thousandth_of_the_cost_table(essay):
    # "$0.18 per 1M" in the abstract, "$173.7" in §8.3 for the same configuration
    texts = [c["text"] for c in essay["abstract.cost"]["causes"]]
    assert any("(claim s8.3.total-mtok); this claim is 0.001036× that" in t for t in texts)


def test_the_two_texas_prices_disagree(essay):
    # the text says $0.038/kWh, the table $0.055/kWh for the same region
    claim = essay["s11.3.texas-text"]
    assert claim["verdict"] == "CONTRADICTED"
    assert causes(claim) == [("inconsistent", None, "s11.3.texas-table")]


def test_a_figure_the_rules_have_no_quantity_for(essay):
    # the rules count all-reduce bytes per step, not per all-reduce
    assert essay["s7.allreduce"]["verdict"] == "NOT MODELLED"


def test_the_power_section_with_power_that_follows_the_load(reports):
    essay, real = reports
    # not 700 W: the busy floor plus the step's energy over its time, at either inputs; the
    # essay's figure by hand is tests/test_power.py's essay_power(64): 588.0 W
    assert essay["s4.1.gpu-power"].derived.to("W").magnitude == pytest.approx(588.04, rel=1e-4)
    assert real["s4.1.gpu-power"].verdict == "CONTRADICTED"
    assert 330 < real["s4.1.gpu-power"].derived.to("W").magnitude < 700
    # data movement (HBM and the die) is about a third of the GPU's power on the real H200:
    # the busy floor is most of the rest
    assert 0.3 < real["s4.1.movement-share"].derived.magnitude < 0.45
    # FP8 draws about what FP16 draws at the same batch: the saving is per token, not in watts
    assert real["s4.1.fp8-power"].derived.magnitude > 0.9
    # moving data is under 1% of a token's cost in energy, not 55-62%
    assert real["abstract.mem-share"].verdict == "CONTRADICTED"
    assert real["abstract.mem-share"].derived.magnitude < 0.01


def test_on_a_real_h200_with_llama_3_70b_the_picture_changes(reports):
    essay, real = reports
    assert real.presets == ("default",)
    # the essay's inputs themselves are not the real hardware's
    assert real["abstract.bandwidth"].verdict == "CONTRADICTED"  # 4.8 TB/s, not 3.35
    assert real["s2.1.peak"].derived.magnitude == pytest.approx(1979)  # dense FP8
    # with 8 KV heads the baseline fits, so the throughput is a real (if different) figure
    assert essay["s8.1.throughput"].verdict == "INFEASIBLE"
    assert real["s8.1.throughput"].verdict == "CONTRADICTED"
    assert real["s8.1.throughput"].breaches == ()
    # arithmetic slips do not depend on the hardware
    assert real["s3.1.nj-per-byte"].causes[0].kind == "power_of_ten"


# --- docs/audit.md shows what the tool prints ----------------------------------------------------

SUMMARY_IDS = ["s8.1.throughput", "s8.1.step-time", "s8.3.total-mtok", "abstract.cost",
               "s3.1.nj-per-byte", "s9.1.kv-tok-fp8", "s9.1.kv-4k", "s7.kv-table",
               "s2.2.ridge", "s4.1.hbm-power", "s4.1.gpu-power", "s4.1.movement-share",
               "s4.1.fp8-power", "abstract.mem-share", "s8.3.network-hour", "s8.2.capital-share",
               "s9.1.max-batch-32k", "s11.3.texas-text"]
BLOCKS = {
    "counts": lambda essay, real: (f"- `essay` (the essay's inputs): {essay.summary()}\n"
                                   f"- `default` (real H200, Llama-3.1-70B): {real.summary()}\n"),
    "summary": lambda essay, real: summary_markdown(
        essay, SUMMARY_IDS, real, "on a real H200 + Llama-3.1-70B (`-p default`)"),
}
MARKER = re.compile(r"(<!-- audit:(\w+) -->\n)(.*?)(<!-- /audit:\2 -->)", re.S)


def test_docs_audit_md_shows_what_the_tool_prints(reports):
    """The tables between ``<!-- audit:NAME -->`` markers are regenerated from the audit;
    after a deliberate change to the rules run
    ``COSTGRAPH_UPDATE_DOCS=1 python -m pytest tests/test_audit_essay.py`` and review."""
    text = DOC.read_text()
    fresh = MARKER.sub(lambda m: m.group(1) + BLOCKS[m.group(2)](*reports) + m.group(4), text)
    assert sorted(m.group(2) for m in MARKER.finditer(text)) == sorted(BLOCKS)
    if os.environ.get("COSTGRAPH_UPDATE_DOCS") and fresh != text:
        DOC.write_text(fresh)
    assert fresh == text, "docs/audit.md is stale: rerun with COSTGRAPH_UPDATE_DOCS=1"


README = Path(__file__).resolve().parents[1] / "README.md"
README_IDS = ["s8.1.throughput", "s8.3.total-mtok", "abstract.cost", "s3.1.nj-per-byte",
              "s9.1.kv-4k", "s2.2.ridge", "s4.1.hbm-power", "s4.1.gpu-power",
              "abstract.mem-share"]


def test_readme_audit_table_is_what_the_tool_prints(reports):
    """The README's findings table is regenerated from the audit like docs/audit.md's
    (``COSTGRAPH_UPDATE_DOCS=1`` rewrites it)."""
    essay, real = reports
    table = summary_markdown(essay, README_IDS, real, "on a real H200 + Llama-3.1-70B")
    text = README.read_text()
    fresh = MARKER.sub(lambda m: m.group(1) + table + m.group(4)
                       if m.group(2) == "readme" else m.group(0), text)
    assert "<!-- audit:readme -->" in text
    if os.environ.get("COSTGRAPH_UPDATE_DOCS") and fresh != text:
        README.write_text(fresh)
    assert fresh == text, "README.md's audit table is stale: rerun with COSTGRAPH_UPDATE_DOCS=1"
