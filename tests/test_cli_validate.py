"""costgraph validate and costgraph calibrate on the tiny model: full output, exit codes,
--json, --markdown, -o, and the shipped set by name."""

from __future__ import annotations

import json

import pytest
import yaml

from cli_helpers import expect, run
from validation_model import make_model, point, write


@pytest.fixture
def files(make_rules, tmp_path):
    model = make_model(make_rules)
    path = write(tmp_path / "p.yaml", [
        point("best", "4000 token/s"),
        point("at", "3000 token/s", metric="throughput_at", concurrency=50),
        point("ttft", "100 ms", metric="ttft_at", concurrency=1)])
    return str(model.ruleset.root), str(path)


TABLE = """
id     metric           measured        predicted       error    batch   limited by   step shares                software   source
──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
best   max_throughput   4,000 token/s   5,000 token/s   +25.0%   100     m.fit        memory 100%, compute 50%   bench 1    bench-page
at     throughput_at    3,000 token/s   3,333 token/s   +11.1%   50      —            memory 100%, compute 33%   bench 1    bench-page
ttft   ttft_at          100 ms          90 ms           -10.0%   1       —            —                          bench 1    bench-page

all: 3 points; median |error| 11.1%, worst 25.0% (best); within ±10%: 33%, within ±20%: 67%
"""


def test_validate_prints_every_point_and_the_summary(files):
    rules, path = files
    assert run("validate", path, "--rules", rules).stdout == expect(TABLE)


def test_max_error_exits_1_naming_the_points_beyond_it(files):
    rules, path = files
    out = run("validate", path, "--rules", rules, "--max-error", "20%", code=1).stdout
    assert out == expect(TABLE) + "1 of 3 points beyond ±20% or without a prediction: best\n"
    run("validate", path, "--rules", rules, "--max-error", "0.25")  # exit 0: 25% is within
    bad = run("validate", path, "--rules", rules, "--max-error", "abc", code=2)
    assert "expected a fraction such as 0.25 or a percentage such as 25%, got 'abc'" in bad.stderr


def test_validate_writes_json_and_markdown(files, tmp_path):
    rules, path = files
    out = tmp_path / "report.md"
    data = json.loads(run("validate", path, "--rules", rules, "--json", "--markdown",
                          str(out)).stdout)
    assert [p["id"] for p in data["points"]] == ["best", "at", "ttft"]
    assert data["points"][0]["error"] == pytest.approx(0.25)
    assert data["summary"]["worst_id"] == "best"
    text = out.read_text()
    assert text.startswith("| id | metric | measured | predicted | error | batch |")
    assert "- all: 3 points; median |error| 11.1%" in text


def test_a_bad_file_is_one_error_and_exit_1(files, tmp_path):
    rules, _ = files
    bad = write(tmp_path / "bad.yaml", [point("x", "1 token/s", metric="max_thruput")])
    result = run("validate", str(bad), "--rules", rules, code=1)
    assert result.stderr == (f"error: 1 error in measurements file {bad}:\n"
                             "  - point x: unknown metric 'max_thruput'; did you mean "
                             "max_throughput?\n")


CALIBRATION = """
fitted bw_efficiency, flops_efficiency to 3 points of {path} (presets over every point's own: none)

quantity           value    uncertainty   bounds   pinned
─────────────────────────────────────────────────────────
bw_efficiency      0.8485   ± 0.04997     [0, 1]   yes
flops_efficiency   0.9      ± 0.07496     [0, 1]   yes

id     measured        predicted       error   LOO predicted   LOO error
────────────────────────────────────────────────────────────────────────
best   4,000 token/s   4,243 token/s   +6.1%   4,500 token/s   +12.5%
at     3,000 token/s   2,828 token/s   -5.7%   2,667 token/s   -11.1%
ttft   100 ms          100 ms          +0.0%   100 ms          +0.0%

fit: 3 points; median |error| 5.7%, worst 6.1% (best); within ±10%: 100%, within ±20%: 100%
leave-one-out: 3 points; median |error| 11.1%, worst 12.5% (best); within ±10%: 33%, within ±20%: 100%
"""


def test_calibrate_prints_the_fit_each_residual_and_leave_one_out(files, tmp_path):
    """bw from the two throughput points (a geometric mean of 4000/5000 and 3000/3333),
    flops from the first token alone: 90 ms at the roofline, 100 ms measured."""
    rules, path = files
    out = tmp_path / "fitted.yaml"
    result = run("calibrate", path, "--rules", rules, "--fit", "bw_efficiency",
                 "--fit", "flops_efficiency", "--loo", "-o", str(out), "--name", "bench-fit")
    assert result.stdout == expect(CALIBRATION).format(path=path)
    assert result.stderr == f"wrote {out} (stack preset bench-fit)\n"
    preset = yaml.safe_load(out.read_text())["presets"]["bench-fit"]
    assert preset["values"]["flops_efficiency"]["value"] == 0.9
    assert preset["includes"] == ["roofline"]


def test_calibrate_leaves_out_whole_configurations_with_loo_by(files):
    rules, path = files
    out = run("calibrate", path, "--rules", rules, "--fit", "flops_efficiency",
              "--loo-by", "configuration").stdout
    assert "LOO predicted" in out
    # the three points share their presets: one configuration, with nothing to fit it from
    assert out.splitlines()[-1] == "leave-one-configuration-out: 3 points, none predicted"
    bad = run("calibrate", path, "--rules", rules, "--fit", "flops_efficiency",
              "--loo-by", "model", code=2)
    assert "expected point or configuration, got 'model'" in bad.stderr


def test_calibrate_reports_a_quantity_the_points_do_not_pin(files):
    rules, path = files
    data = json.loads(run("calibrate", path, "--rules", rules, "--fit",
                          "flops_efficiency,overhead", "--json").stdout)
    overhead = data["fitted"][1]
    assert overhead["pinned"] is False and overhead["sigma"] is None
    assert overhead["reason"] == "no point depends on it (its Jacobian column is ~0)"
    text = run("calibrate", path, "--rules", rules, "--fit", "overhead").stdout
    assert ("overhead   1 ms    unbounded     [0, inf]   NO: no point depends on it (its "
            "Jacobian column is ~0)") in text


def test_a_shipped_file_is_found_by_its_name():
    out = run("validate", "mlperf-inference-v4.1").stdout
    assert out.splitlines()[-1].startswith("all: 4 points;")
    missing = run("validate", "trtllm-v9", code=1)
    assert missing.stderr.startswith("error: 1 error in measurements file trtllm-v9:\n  - no "
                                     "such file, and no file of that name in the shipped "
                                     "validation set (ml-energy-power, ml-energy-throughput, "
                                     "ml-energy, mlperf-inference-v4.1, trtllm-v0.17,")
