"""The audit on a tiny decode chain built in tmp_path: each verdict, each likely-cause
detector, the claims-file checks (exact text), ratio claims, preset substitution, reports.

The chain, at its `default` preset: weights 70 GB, KV 1 MB per token at 1000 tokens of context
(1 GB per request), batch 8, 3.9 TB/s, 141 GB of HBM, 4 pJ/bit, $3.60 per GPU-hour. So a step
reads 78 GB in 20 ms, 400 tokens/s, $2.50 per 1M tokens, 2.496 J of HBM energy per step.
"""

from __future__ import annotations

import json
import pickle
import textwrap

import pytest
from typer.testing import CliRunner

import costgraph as cg
from costgraph.audit import INFEASIBLE, NOT_MODELLED, REPRODUCED, UNIT_MISMATCH, VERDICTS
from costgraph.audit import CONTRADICTED, AuditReport, Verdict, rederive
from costgraph.cli import app
from costgraph.errors import ClaimsFileError

CHAIN = """
description: A tiny decode chain for the audit's tests.
quantities:
  batch: {unit: request, description: sequences per step, integer: true, bounds: [1, 100000]}
  n_layers: {unit: "1", description: blocks (barely matters here), integer: true, bounds: [1, 1000]}
  context_len: {unit: token, description: context per sequence}
  kv_bytes_per_token: {unit: byte/token, description: KV per context token}
  kv_bytes_per_request: {unit: GB/request, description: KV per sequence}
  weight_bytes: {unit: GB, description: resident weights}
  hbm_bandwidth: {unit: TB/s, description: HBM bandwidth}
  hbm_capacity: {unit: GB, description: HBM capacity}
  hbm_required: {unit: GB, description: weights plus the batch's KV}
  bytes_per_step: {unit: GB, description: bytes read per step}
  step_time: {unit: ms, description: one decode step}
  tokens_per_second: {unit: token/s, description: output rate}
  energy_per_bit: {unit: pJ/bit, description: HBM energy per bit}
  energy_per_step: {unit: J, description: HBM energy per step}
  gpu_hour_price: {unit: USD/h, description: price of a GPU-hour}
  cost_per_mtok: {unit: USD/Mtok, description: cost of 1M output tokens}
rules:
  - {id: m.kv, defines: kv_bytes_per_request, expr: "kv_bytes_per_token * context_len / {1 request}",
     description: KV of one sequence, source: test}
  - {id: m.required, defines: hbm_required, expr: weight_bytes + batch * kv_bytes_per_request,
     description: what must be resident, source: test}
  - {id: m.bytes, defines: bytes_per_step, expr: weight_bytes + batch * kv_bytes_per_request,
     description: weights once and every sequence's KV, source: test}
  - {id: t.step, defines: step_time, expr: "bytes_per_step / hbm_bandwidth + n_layers * {1 ns}",
     description: bytes over bandwidth and a launch per layer, source: test}
  - {id: t.tps, defines: tokens_per_second, expr: "batch * {1 token/request} / step_time",
     description: one token per sequence per step, source: test}
  - {id: e.step, defines: energy_per_step, expr: energy_per_bit * bytes_per_step,
     description: joules of the step's bytes, source: test}
  - {id: c.cost, defines: cost_per_mtok, expr: gpu_hour_price / tokens_per_second,
     description: price over rate, source: test}
constraints:
  - {id: m.fit, expr: hbm_required <= hbm_capacity, description: the batch fits in HBM, source: test}
"""

PRESETS = """
kind: scenario
description: Test scenarios.
presets:
  default:
    description: A 70 GB model on a 141 GB GPU at batch 8.
    source: test
    values:
      batch: 8
      n_layers: 8
      context_len: 1000 token
      kv_bytes_per_token: 1000000 byte/token
      weight_bytes: 70 GB
      hbm_bandwidth: 3.9 TB/s
      hbm_capacity: 141 GB
      energy_per_bit: 4 pJ/bit
      gpu_hour_price: 3.6 USD/h
  fast:
    description: The same on a GPU with twice the bandwidth.
    source: test
    includes: [default]
    values:
      hbm_bandwidth: 7.8 TB/s
  big-batch:
    description: Batch 16.
    source: test
    values:
      batch: 16
"""


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("audit") / "rules"
    (root / "presets").mkdir(parents=True)
    (root / "chain.yaml").write_text(textwrap.dedent(CHAIN))
    (root / "presets" / "scenarios.yaml").write_text(textwrap.dedent(PRESETS))
    return cg.load(root, cache=False)


def audit(model, *claims, presets=None, **defaults):
    return model.audit({"source": "a test", "defaults": {"presets": ["default"], **defaults},
                        "claims": list(claims)}, presets=presets)


def one(model, **claim):
    return audit(model, {"id": "c", **claim})["c"]


# --- the chain itself ---------------------------------------------------------------------------


def test_the_chain_gives_the_numbers_the_tests_rely_on(chain):
    r = chain.solve(find=["tokens_per_second", "cost_per_mtok", "energy_per_step"])
    assert r["tokens_per_second"].magnitude == pytest.approx(400, rel=1e-6)
    assert r["cost_per_mtok"].magnitude == pytest.approx(2.5, rel=1e-6)
    assert r["energy_per_step"].magnitude == pytest.approx(2.496, rel=1e-6)


# --- verdicts ----------------------------------------------------------------------------------


def test_reproduced_within_tolerance(chain):
    v = one(chain, quantity="tokens_per_second", value="408 token/s")  # +2%: the default
    assert (v.verdict, v.agrees, v.causes) == (REPRODUCED, True, ())
    assert v.ratio == pytest.approx(1.02, rel=1e-6)
    assert v.derived_text() == "400 token/s"


def test_contradicted_outside_tolerance_with_the_ratio(chain):
    v = one(chain, quantity="tokens_per_second", value="410 token/s")
    assert (v.verdict, v.agrees) == (CONTRADICTED, False)
    assert v.ratio == pytest.approx(1.025, rel=1e-6)
    assert one(chain, quantity="tokens_per_second", value="410 token/s",
               tolerance="3%").verdict == REPRODUCED


def test_a_figure_is_reproduced_when_the_derivation_rounds_to_it_as_printed(chain):
    # 2.496 J: "2.5" and "2.50" state 2.45-2.55 and 2.495-2.505; "2.500" does not hold it
    verdicts = [one(chain, quantity="energy_per_step", value=text, tolerance="0%").verdict
                for text in ("2.5 J", "2.50 J", "2.500 J")]
    assert verdicts == [REPRODUCED, REPRODUCED, CONTRADICTED]
    # a whole number is a round figure, not a precision: only the tolerance counts
    assert one(chain, quantity="energy_per_step", value="3 J", tolerance="0%").verdict \
        == CONTRADICTED


def test_a_range_is_reproduced_when_the_value_is_inside_it(chain):
    assert one(chain, quantity="tokens_per_second",
               value=["350 token/s", "450 token/s"]).verdict == REPRODUCED
    v = one(chain, quantity="tokens_per_second", value=["500 token/s", "600 token/s"])
    assert (v.verdict, v.ratio) == (CONTRADICTED, pytest.approx(1.25))
    assert v.claim.value.text == "500–600 token/s"
    assert one(chain, quantity="tokens_per_second", value=["300 token/s", None]).verdict \
        == REPRODUCED


def test_infeasible_names_the_constraint_and_by_how_much_and_still_compares(chain):
    # batch 100: 70 GB + 100 x 1 GB = 170 GB of 141 GB
    v = one(chain, quantity="tokens_per_second", value="4000 token/s", given={"batch": 100})
    assert (v.verdict, v.agrees) == (INFEASIBLE, False)
    assert [b.id for b in v.breaches] == ["m.fit"]
    assert v.reasons()[:2] == [
        "m.fit fails: hbm_required <= hbm_capacity with 170 GB against 141 GB "
        "(1.206×, off by 29 GB)",
        "the value also disagrees: the claim is 1.744× the derivation"]
    assert v.derived.magnitude == pytest.approx(100 / 0.04359, rel=1e-3)
    right = one(chain, quantity="tokens_per_second", value="2294 token/s", given={"batch": 100})
    assert (right.verdict, right.agrees) == (INFEASIBLE, True)
    assert "the value itself agrees with the derivation" in right.reasons()


def test_a_per_request_property_is_not_made_infeasible_by_a_batch_that_does_not_fit(chain):
    # KV per request does not depend on the batch: it is true whatever batch was asked for
    v = one(chain, quantity="kv_bytes_per_request", value="1 GB/request", given={"batch": 100})
    assert (v.verdict, v.breaches) == (REPRODUCED, ())


def test_unit_mismatch_says_what_each_side_measures(chain):
    v = one(chain, quantity="cost_per_mtok", value="3.6 USD/h")
    assert (v.verdict, v.derived, v.ratio) == (UNIT_MISMATCH, None, None)
    assert v.detail == ("claimed in USD/h, but cost_per_mtok is in USD/Mtok: they measure "
                        "different things")
    per_step = one(chain, quantity="kv_bytes_per_request", value="1 GB")
    assert per_step.detail == ("claimed in GB, but kv_bytes_per_request is in GB/request: "
                               "they measure different things")


def test_not_modelled_names_the_closest_declared_quantities(chain):
    v = one(chain, quantity="bytes_per_token", value="9.75 GB/token")
    assert (v.verdict, v.result) == (NOT_MODELLED, None)
    assert v.detail == ("no quantity 'bytes_per_token' is declared in the rules; closest "
                        "declared: kv_bytes_per_token, bytes_per_step, cost_per_mtok")


def test_ratio_claims_compare_a_quantity_between_two_configurations(chain):
    # batch 16 reads 86 GB in 22.05 ms: 725.6 token/s, 1.814 times batch 8's 400
    v = one(chain, quantity="tokens_per_second", value=1.814, given={"batch": 16},
            relative_to={"given": {"batch": 8}})
    assert (v.verdict, v.claim.shown_quantity) == (REPRODUCED, "tokens_per_second ratio")
    assert v.derived.magnitude == pytest.approx(1.8139, rel=1e-3)
    other = one(chain, quantity="step_time", value=2, relative_to={"presets": ["fast"]})
    assert (other.verdict, other.ratio) == (REPRODUCED, pytest.approx(1.0, rel=1e-3))
    assert one(chain, quantity="step_time", value="2 s", relative_to={"presets": ["fast"]}
               ).detail == "a ratio is a plain number, but the claim is in s"
    mixed = one(chain, quantity="step_time", value=1, relative_to={"quantity": "cost_per_mtok"})
    assert mixed.verdict == UNIT_MISMATCH
    assert mixed.detail == ("step_time (ms) and cost_per_mtok (USD/Mtok) measure different "
                            "things, so their ratio is not a plain number")


def test_every_verdict_kind_is_listed_in_order():
    assert VERDICTS == ("REPRODUCED", "CONTRADICTED", "INFEASIBLE", "UNIT MISMATCH",
                        "NOT MODELLED")


# --- likely causes -----------------------------------------------------------------------------


def kinds(verdict):
    return [(c.kind, c.name, c.claim) for c in verdict.causes]


def test_power_of_ten_is_a_unit_prefix_slip(chain):
    v = one(chain, quantity="energy_per_bit", value="4 nJ/bit")
    assert kinds(v) == [("power_of_ten", None, None)]
    assert v.causes[0].factor == pytest.approx(1000)
    assert v.causes[0].text == ("the claim is 10^3 times the derivation: a unit-prefix slip "
                                "(e.g. nJ for pJ, per 1K for per 1M)")


def test_binary_prefix_is_a_mib_figure_written_as_mb(chain):
    # 1,000,000 byte is 0.9537 MiB; written as "0.9537 MB" it is 4.6% short
    v = one(chain, quantity="kv_bytes_per_token", value="0.9537 MB/token")
    assert kinds(v) == [("binary_prefix", None, None)]
    assert v.causes[0].text == ("the claim is 0.9537× the derivation = (1000/1024)^2: a MiB "
                                "figure written as MB")


def test_an_input_counted_twice(chain):
    # 400 token/s x batch 8; n_layers is 8 too but the step barely depends on it (8 ns of 20 ms)
    v = one(chain, quantity="tokens_per_second", value="3200 token/s")
    assert kinds(v) == [("input_ratio", "batch", None)]
    assert v.causes[0].text == ("the claim is the derivation times batch (8 request): batch "
                                "applied once too often (counted twice)")
    divided = one(chain, quantity="step_time", value="2.5 ms")
    assert kinds(divided) == [("input_ratio", "batch", None)]
    assert divided.causes[0].text.startswith("the claim is the derivation divided by batch")


def test_no_cause_is_guessed_from_a_two_digit_figure_or_a_range(chain):
    # 3.1 x 1000 would be a power of ten only to 3%: a figure this coarse proves nothing
    assert one(chain, quantity="energy_per_step", value="3.1 kJ").causes == ()
    assert one(chain, quantity="energy_per_bit", value=["3 nJ/bit", "5 nJ/bit"]).causes == ()


def test_a_value_stated_elsewhere_reproduces_the_claim(chain):
    # with 1.2 GB per request, a step reads 79.6 GB: 20.41 ms, 391.96 token/s
    report = audit(chain,
                   {"id": "kv", "quantity": "kv_bytes_per_request", "value": "1.2 GB/request"},
                   {"id": "tps", "quantity": "tokens_per_second", "value": "391.96 token/s"},
                   {"id": "twice", "quantity": "tokens_per_second", "value": "3135.7 token/s"})
    # (the two throughput claims also disagree with each other at the same inputs)
    assert kinds(report["tps"]) == [("stated_elsewhere", "kv_bytes_per_request", "kv"),
                                    ("inconsistent", None, "twice")]
    assert report["tps"].causes[0].text == (
        "reproduced when kv_bytes_per_request = 1.2 GB/request as claim kv states (the rules "
        "give 1 GB/request)")
    # and a ratio that becomes an input once that value is used: the batch counted twice
    assert kinds(report["twice"]) == [("stated_elsewhere", "kv_bytes_per_request", "kv"),
                                      ("inconsistent", None, "tps")]
    assert report["twice"].causes[0].then == "input_ratio"
    assert report["twice"].causes[0].text == (
        "with kv_bytes_per_request = 1.2 GB/request as claim kv states, the claim is the "
        "derivation times batch (8 request): batch applied once too often (counted twice)")


def test_a_value_stated_for_other_inputs_is_not_used(chain):
    # 1.2 GB per request at 2000 tokens of context says nothing about 1000 tokens
    report = audit(chain,
                   {"id": "kv", "quantity": "kv_bytes_per_request", "value": "1.2 GB/request",
                    "given": {"context_len": "2000 token"}},
                   {"id": "tps", "quantity": "tokens_per_second", "value": "391.96 token/s"})
    assert report["tps"].causes == ()


def test_figures_that_disagree_at_the_same_inputs(chain):
    report = audit(chain,
                   {"id": "a", "quantity": "kv_bytes_per_request", "value": "1.3 GB/request"},
                   {"id": "b", "quantity": "kv_bytes_per_request", "value": "1.3 MB/request"})
    assert kinds(report["a"]) == [("inconsistent", None, "b")]
    assert report["a"].causes[0].text == (
        "the file also states kv_bytes_per_request = 1.3 MB/request at the same inputs (claim "
        "b); this claim is 1,000× that: a power of ten (10^3) apart, a unit-prefix slip "
        "between them")


def test_rederive_matches_a_fresh_solve(chain):
    r = chain.solve(find=["cost_per_mtok"])
    change = {"kv_bytes_per_request": chain.coerce("kv_bytes_per_request", "1.2 GB/request"),
              "batch": chain.coerce("batch", 16)}
    fresh = chain.solve(find=["cost_per_mtok"], given=change)["cost_per_mtok"]
    assert rederive(chain, r, "cost_per_mtok", change).magnitude == pytest.approx(
        fresh.magnitude, rel=1e-12)


# --- presets -----------------------------------------------------------------------------------


def test_presets_replace_the_files_defaults_everywhere_they_are_named(chain):
    claims = ({"id": "plain", "quantity": "step_time", "value": "20 ms"},
              {"id": "named", "quantity": "step_time", "value": "22.05 ms",
               "presets": ["default", "big-batch"]})
    base = audit(chain, *claims)
    assert [v.verdict for v in base] == [REPRODUCED, REPRODUCED]
    fast = audit(chain, *claims, presets=["fast"])
    assert fast.presets == ("fast",)
    assert [v.claim.presets for v in fast] == [("fast",), ("fast", "big-batch")]
    assert [v.ratio for v in fast] == [pytest.approx(2.0, rel=1e-4), pytest.approx(2.0, rel=1e-4)]


# --- the claims file ---------------------------------------------------------------------------


def test_every_problem_in_a_claims_file_is_reported_at_once(chain):
    with pytest.raises(ClaimsFileError) as info:
        chain.audit({"source": "bad", "defaults": {"presets": ["defualt"]}, "claims": [
            {"id": "a", "quantity": "batch", "value": "8 request", "given": {"batchh": 8}},
            {"id": "a", "quantity": "batch", "value": "eight", "tolerance": "200%"},
            {"id": "b", "quantity": "batch", "value": "8 request", "given": {"batch": "8 GB"}},
            {"id": "c", "quantity": "batch", "value": ["9 request", "8 request"]},
        ]})
    assert str(info.value) == "\n".join([
        "7 errors in claims file <mapping>:",
        "  - claim a: the id is used twice",
        "  - claim a: tolerance '200%' is out of range: write a percentage such as '5%'",
        "  - claim a: unknown quantity 'batchh' in given; did you mean batch?",
        "  - claim a: value cannot read 'eight' as a number with a unit: it has no number "
        "(write e.g. '4096 token' or '4.8 TB/s')",
        "  - claim b: given batch: expected a value in request, got 8 GB (give it as e.g. "
        "'1 request')",
        "  - claim c: value ['9 request', '8 request']: the low end is above the high end",
        "  - defaults: unknown preset 'defualt'; did you mean default?"])


def test_unknown_keys_and_a_missing_file_are_refused(chain, tmp_path):
    with pytest.raises(ClaimsFileError) as info:
        chain.audit({"source": "x", "claims": [{"id": "a", "quantity": "batch", "value": 8,
                                                "quotes": "typo"}]})
    assert str(info.value) == ("1 error in claims file <mapping>:\n"
                               "  - claim a key quotes: unknown key (see docs/audit.md for the "
                               "format)")
    with pytest.raises(ClaimsFileError) as missing:
        chain.audit(tmp_path / "nowhere.yaml")
    assert str(missing.value).startswith(f"1 error in claims file {tmp_path / 'nowhere.yaml'}:\n"
                                         "  - cannot read the file: ")


def test_a_value_of_the_wrong_type_gets_one_line_saying_what_is_expected(chain):
    with pytest.raises(ClaimsFileError) as info:
        chain.audit({"source": "x", "claims": [{"id": "a", "quantity": "batch",
                                                "value": {"low": 1}, "tolerance": [2]}]})
    assert str(info.value) == (
        "2 errors in claims file <mapping>:\n"
        "  - claim a key tolerance: expected a percentage such as '5%'\n"
        "  - claim a key value: expected a number with a unit ('5 GB'), a plain number, or a "
        "range [low, high]")


def test_an_error_pickles_with_its_fields():
    error = ClaimsFileError("f.yaml", ["b", "a"])
    again = pickle.loads(pickle.dumps(error))
    assert (again.file, again.problems, str(again)) == ("f.yaml", ["a", "b"], str(error))


# --- reports -----------------------------------------------------------------------------------


def test_verdicts_are_frozen_and_serialise_the_same_way_twice(chain):
    claims = ({"id": "ok", "quantity": "tokens_per_second", "value": "400 token/s",
               "quote": "400 tokens per second", "where": "§1"},
              {"id": "slip", "quantity": "energy_per_bit", "value": "4 nJ/bit"})
    first, second = audit(chain, *claims), audit(chain, *claims)
    assert isinstance(first, AuditReport) and isinstance(first[0], Verdict)
    with pytest.raises(AttributeError):
        first["ok"].verdict = CONTRADICTED
    text = json.dumps(first.to_dict(), sort_keys=True)
    assert text == json.dumps(second.to_dict(), sort_keys=True)
    data = json.loads(text)
    assert data["counts"] == {"REPRODUCED": 1, "CONTRADICTED": 1, "INFEASIBLE": 0,
                              "UNIT MISMATCH": 0, "NOT MODELLED": 0}
    assert data["claims"][1]["causes"][0]["kind"] == "power_of_ten"
    assert data["claims"][0]["derived"] == {"value": pytest.approx(400), "unit": "token/s",
                                            "text": "400 token/s"}
    assert not first.passed and first.summary() == "2 claims: 1 REPRODUCED, 1 CONTRADICTED"


def test_explain_and_markdown_carry_the_derivation(chain):
    report = audit(chain, {"id": "slip", "where": "§3", "quote": "4 nJ per bit",
                           "quantity": "energy_per_step", "value": "2.496 kJ"})
    explained = report["slip"].explain()
    assert explained.splitlines()[0] == ("slip (§3) CONTRADICTED: energy_per_step claimed "
                                         "2.496 kJ, derived 0.002496 kJ, ratio 1,000")
    assert "energy_per_step = 2.496 J  [derived: rule e.step]" in explained
    md = report.to_markdown()
    assert "| slip | §3 | energy_per_step | 2.496 kJ | 0.002496 kJ | 1,000 | CONTRADICTED |" in md
    assert "### slip — CONTRADICTED" in md and "> 4 nJ per bit (§3)" in md
    assert "<details><summary>derivation</summary>" in md


# --- the command line --------------------------------------------------------------------------


def write_claims(tmp_path, *claims):
    import yaml

    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump({"source": "a test", "defaults": {"presets": ["default"]},
                                    "claims": list(claims)}, sort_keys=False))
    return str(path)


def run(*args, code=0):
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "100"})
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


def test_cli_prints_the_table_the_reasons_and_the_counts(chain, tmp_path):
    path = write_claims(tmp_path,
                        {"id": "tps", "where": "§8", "quantity": "tokens_per_second",
                         "value": "400 token/s"},
                        {"id": "slip", "where": "§3", "quantity": "energy_per_bit",
                         "value": "4 nJ/bit"})
    out = run("audit", path, "--rules", str(chain.ruleset.root))
    assert out.stdout == textwrap.dedent("""\
        id     where   quantity            claimed       derived        ratio   verdict
        ────────────────────────────────────────────────────────────────────────────────────
        tps    §8      tokens_per_second   400 token/s   400 token/s    1       REPRODUCED
        slip   §3      energy_per_bit      4 nJ/bit      0.004 nJ/bit   1,000   CONTRADICTED

        why:
          slip: the claim is 10^3 times the derivation: a unit-prefix slip (e.g. nJ for pJ, per 1K for per
              1M)

        2 claims: 1 REPRODUCED, 1 CONTRADICTED
        """)
    assert out.stderr == ""


def test_cli_strict_json_and_markdown(chain, tmp_path):
    path = write_claims(tmp_path, {"id": "slip", "quantity": "energy_per_bit",
                                   "value": "4 nJ/bit"})
    rules = str(chain.ruleset.root)
    report = tmp_path / "out.md"
    out = run("audit", path, "--rules", rules, "--json", "--markdown", str(report), "--strict",
              code=1)
    assert json.loads(out.stdout)["claims"][0]["verdict"] == "CONTRADICTED"
    assert out.stderr == f"wrote {report}\n"
    assert report.read_text().startswith("# Audit: a test\n")
    fine = write_claims(tmp_path, {"id": "ok", "quantity": "energy_per_bit", "value": "4 pJ/bit"})
    assert run("audit", fine, "--rules", rules, "--strict").stdout.endswith(
        "1 claim: 1 REPRODUCED\n")
    run("audit", fine, "--rules", rules, "-p", "fast", "--strict")


def test_cli_reports_a_bad_claims_file_in_one_message(chain, tmp_path):
    out = run("audit", str(tmp_path / "none.yaml"), "--rules", str(chain.ruleset.root), code=1)
    assert out.stdout == ""
    assert out.stderr.startswith(f"error: 1 error in claims file {tmp_path / 'none.yaml'}:\n"
                                 "  - cannot read the file: ")
