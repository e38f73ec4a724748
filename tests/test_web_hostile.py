"""Bad input never hurts the web explorer: each case gets one clean error, and the server
keeps answering afterwards, quickly."""

from __future__ import annotations

import time

import pytest

from web_helpers import client, error_of

BILLION_LAUGHS = b"""\
source: laughs
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
claims: [*c, *c, *c, *c, *c, *c, *c, *c, *c]
"""
HUGE_POWER_CLAIM = b"""\
source: a claim whose value would take minutes to read
claims:
  - {id: x, quantity: batch, value: "9**9**9 request"}
"""

# (method, url, body, status, error type, text the message holds)
CASES = [
    ("GET", "/api/solve?find=cost_per_mtk", None, 400, "UnknownQuantityError",
     "did you mean cost_per_mtok"),
    ("GET", "/api/solve?find=cost_per_mtok&set=cost_per_mtk=1", None, 400,
     "UnknownQuantityError", "unknown quantity 'cost_per_mtk'"),
    ("GET", "/api/solve?find=__import__('os')", None, 400, "UnknownQuantityError",
     "unknown quantity"),
    ("GET", "/api/solve?find=cost_per_mtok&set=batch=9**9**9", None, 400, "QueryError",
     "set batch: '9**9**9' has an exponent that is not a small number"),
    ("GET", "/api/solve?find=cost_per_mtok&set=batch=9^9^9", None, 400, "QueryError",
     "not a small number"),
    ("GET", "/api/solve?find=cost_per_mtok&set=batch=2**2**2**2", None, 400, "QueryError",
     "raises to a power 3 times"),
    ("GET", "/api/solve?find=cost_per_mtok&set=batch=1e999999", None, 400, "QueryError",
     "is not a finite number"),
    ("GET", "/api/solve?find=cost_per_mtok&set=batch=" + "9" * 5000, None, 400, "QueryError",
     "at most 300 are accepted"),
    ("GET", "/api/solve?find=cost_per_mtok&set=batch=-5", None, 400, "BoundsError",
     "outside its bounds"),
    ("GET", "/api/solve?find=cost_per_mtok&set=batch=12.5", None, 400, "NotWholeError",
     "batch = 12.5 request must be a whole number"),
    ("GET", "/api/solve?find=cost_per_mtok&set=batch=12 parsec", None, 400, "DimensionError",
     "expected a value in request"),
    ("GET", "/api/solve?find=cost_per_mtok&set=hbm_bandwidth=4.8 TB/ss", None, 400,
     "InvalidValueError", "'ss' is not defined"),
    ("GET", "/api/solve?find=cost_per_mtok&set=hbm_bandwidth=TB/s", None, 400,
     "InvalidValueError", "it has no number"),
    ("GET", "/api/solve?find=cost_per_mtok&set=batch", None, 400, "QueryError",
     "set: 'batch' has no '='; write NAME=VALUE"),
    ("GET", "/api/solve?find=cost_per_mtok&set=hbm_bandwidth=0 TB/s", None, 400,
     "InvalidValueError", "rule throughput.lm_head_time divides by it (through effective_bandwidth)"),
    ("GET", "/api/solve?find=cost_per_mtok&set=batch=<script>alert(1)</script>", None, 400,
     "InvalidValueError", "<script>"),
    ("GET", "/api/solve?find=cost_per_mtok&p=../../etc/passwd", None, 400,
     "UnknownPresetError", "unknown preset '../../etc/passwd'"),
    ("GET", "/api/solve?find=cost_per_mtok&p=%00", None, 400, "UnknownPresetError", ""),
    ("GET", "/api/solve?" + "&".join(["find=cost_per_mtok"] * 40), None, 400, "QueryError",
     "find: 40 values given; this server takes at most 32"),
    ("GET", "/api/solve", None, 400, "QueryError", "find: give at least one quantity"),
    ("GET", "/api/seek?maximize=batch&where=cost_per_mtok <= 9**9**9 USD/Mtok&vary=batch",
     None, 400, "QueryError", "not a small number"),
    ("GET", "/api/seek?maximize=batch&where=__import__('os').system('x')&vary=batch", None,
     400, "ExpressionError", "only calls to the function table are allowed"),
    ("GET", "/api/seek?maximize=batch&where=cost_per_mtok <= 2 m&vary=batch", None, 400,
     "DimensionError", "cannot compare values of different dimensions"),
    ("GET", "/api/seek?maximize=batch&minimize=batch&vary=batch", None, 400, "QueryError",
     "give exactly one of maximize= or minimize="),
    ("GET", "/api/seek?minimize=cost_per_mtok&vary=batch=5..1", None, 400, "QueryError",
     "runs from 5 down to 1; write the low end first"),
    ("GET", "/api/seek?minimize=cost_per_mtok&vary=batch=1-5", None, 400, "QueryError",
     "is not NAME=LO..HI"),
    ("GET", "/api/sweep?vary=batch=1..1000000000&find=cost_per_mtok", None, 400,
     "QueryError", "1,000,000,000 points asked for"),
    ("GET", "/api/sweep?vary=context_len=1..2:999999999999&find=cost_per_mtok", None, 400,
     "QueryError", "999,999,999,999 points asked for"),
    ("GET", "/api/sweep?vary=batch=1..300&vary=context_len=1..1k:300&find=cost_per_mtok",
     None, 400, "QueryError", "90,000 points asked for"),
    ("GET", "/api/sweep?vary=precision=fp16,nonexistent&find=cost_per_mtok", None, 400,
     "UnknownQuantityError", "precision"),
    ("GET", "/api/sweep?find=cost_per_mtok", None, 400, "QueryError", "vary: give a quantity"),
    ("GET", "/api/uncertainty?samples=1000000000", None, 400, "QueryError",
     "1,000,000,000 draws asked for"),
    ("GET", "/api/uncertainty?samples=abc", None, 422, "RequestValidationError", "samples"),
    ("GET", "/api/graph?name=cost_per_mtok&depth=-1", None, 422, "RequestValidationError",
     "depth"),
    ("GET", "/api/graph?name=cost_per_mtok&format=exe", None, 422, "RequestValidationError",
     "format"),
    ("GET", "/api/levers?target=nope", None, 400, "UnknownQuantityError", "'nope'"),
    ("GET", "/api/levers?rank=bogus", None, 422, "RequestValidationError", "rank"),
    ("GET", "/api/explain?name=", None, 400, "QueryError", "name: give a quantity"),
    ("GET", "/api/compare?col=a&col=b&col=c&col=d&col=e", None, 400, "QueryError",
     "compare at most 4"),
    ("GET", "/api/compare?col=h200&col=nope", None, 400, "UnknownPresetError", "'nope'"),
    ("GET", "/api/presets?name=../../x", None, 400, "UnknownPresetError", "'../../x'"),
    ("GET", "/api/quantities?name=..%2F..%2Fetc", None, 400, "UnknownQuantityError", ""),
    ("GET", "/api/audit?upload=../../etc/passwd", None, 422, "RequestValidationError",
     "upload"),
    ("GET", "/api/audit?upload=0123456789abcdef", None, 400, "QueryError",
     "no upload 0123456789abcdef on this server"),
    ("POST", "/api/audit", b"claims: [unclosed", 400, "ClaimsFileError", "not valid YAML"),
    ("POST", "/api/audit", b"- just\n- a list\n", 400, "ClaimsFileError",
     "expected a mapping with `source` and `claims`"),
    ("POST", "/api/audit", b"\xff\xfe\x00garbage", 400, "ClaimsFileError", "not UTF-8"),
    ("POST", "/api/audit", b"", 400, "QueryError", "no claims file given"),
    ("POST", "/api/audit", BILLION_LAUGHS, 400, "ClaimsFileError",
     "anchors and aliases are not accepted"),
    ("POST", "/api/audit", HUGE_POWER_CLAIM, 400, "QueryError", "not a small number"),
    ("POST", "/api/audit", b"source: x\nclaims: [{id: a, quantity: batch, value: 1, bogus: 2}]\n",
     400, "ClaimsFileError", "bogus"),
    ("POST", "/api/audit", b"x" * 2_000_000, 413, "BodyTooLarge", "larger than 1,048,576"),
    ("GET", "/api/../../etc/passwd", None, 404, "NotFound", ""),
    ("GET", "/static/..%2F..%2Fapp.py", None, 404, "NotFound", ""),
    ("DELETE", "/api/solve", None, 405, "MethodNotAllowed", ""),
]


@pytest.fixture(scope="module")
def api():
    return client()


@pytest.mark.parametrize("method, url, body, status, kind, text", CASES,
                         ids=[f"{i}-{c[1][:40]}" for i, c in enumerate(CASES)])
def test_hostile_input_gets_one_clean_error(api, method, url, body, status, kind, text):
    start = time.perf_counter()
    response = api.request(method, url, content=body)
    assert time.perf_counter() - start < 10
    error = error_of(response, status)
    if kind:
        assert error["type"] == kind, error
    assert text in error["message"], error
    assert "\n" not in error["message"] or error["type"] == "ClaimsFileError"


def test_there_are_at_least_thirty_hostile_cases():
    assert len(CASES) >= 30


def test_the_server_keeps_serving_after_the_hostile_list(api, model):
    for method, url, body, *_ in CASES:
        api.request(method, url, content=body)
    answer = api.get("/api/solve?find=cost_per_mtok")
    assert answer.status_code == 200
    exact = model.solve(find=["cost_per_mtok"])["cost_per_mtok"].to("USD/Mtok").magnitude
    assert answer.json()["values"]["cost_per_mtok"]["value"] == exact
    assert api.get("/").status_code == 200


@pytest.mark.parametrize("value", ["9" * 250, "1e300", "1.7e308"])
def test_huge_but_valid_numbers_are_answered(api, value):
    """Answered with their values, or, where the arithmetic breaks down, one clean error."""
    answer = api.get(f"/api/solve?find=cost_per_mtok&find=tokens_per_second&set=batch={value}")
    assert "NaN" not in answer.text and "Infinity" not in answer.text  # JSON any parser reads
    if answer.status_code == 200:
        assert answer.json()["values"]["batch"]["value"] == float(value)
    else:
        assert error_of(answer)["type"] == "InvalidValueError"  # names what cannot be


def test_pages_answer_bad_input_with_the_error_in_the_page(api):
    page = api.get("/?set=batch=9**9**9")
    assert page.status_code == 400
    assert "set batch: &#39;9**9**9&#39; has an exponent" in page.text
    assert '<form id="scenario-form"' in page.text  # the form is still there to fix it
    assert "<script>alert" not in api.get("/?set=batch=<script>alert(1)</script>").text


def test_a_computation_over_the_time_limit_answers_503():
    slow = client(timeout_s=0.001)
    error = error_of(slow.get("/api/seek?minimize=cost_per_mtok&vary=batch=1..512"
                              "&vary=n_gpus=1..8&where=step_time <= 40 ms"), 503)
    assert error["type"] == "Timeout"
    assert error["message"].startswith("the computation took longer than 0.001 s")
    page = slow.get("/seek?minimize=cost_per_mtok&vary=batch=1..512&vary=n_gpus=1..8")
    assert page.status_code == 503 and "Timeout" in page.text
