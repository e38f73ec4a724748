"""The web explorer's JSON API: the same answers as the command line's --json, and every
mistake a clean JSON error."""

from __future__ import annotations

import json

import pytest

import costgraph as cg

from cli_helpers import TRIP, run
from web_helpers import SMALL_CLAIMS, client, error_of, small_claims


@pytest.fixture(scope="module")
def api():
    return client()


def cli_json(*args: str):
    return json.loads(run(*args, "--json").stdout)


# --- the same JSON as the command line ----------------------------------------------------


@pytest.mark.parametrize("url, args", [
    ("/api/solve?find=cost_per_mtok&find=ttft&p=default&p=b200&set=batch=128",
     ["solve", "--find", "cost_per_mtok", "--find", "ttft", "-p", "default", "-p", "b200",
      "--set", "batch=128"]),
    ("/api/seek?maximize=context_len&where=cost_per_mtok <= 2 USD/Mtok&vary=batch=1..512",
     ["seek", "--maximize", "context_len", "--where", "cost_per_mtok <= 2 USD/Mtok",
      "--vary", "batch=1..512"]),
    ("/api/explain?name=kv_bytes_per_token&p=default&p=bf16",
     ["explain", "kv_bytes_per_token", "-p", "default", "-p", "bf16"]),
    ("/api/graph?name=weight_bytes&depth=2", ["graph", "weight_bytes", "--depth", "2"]),
    ("/api/sweep?vary=batch=1..8&vary=context_len=1k,4k&find=cost_per_mtok",
     ["sweep", "batch=1..8", "context_len=1k,4k", "--find", "cost_per_mtok"]),
    ("/api/levers?target=cost_per_mtok&range=batch=32..128",
     ["levers", "cost_per_mtok", "--range", "batch=32..128"]),
    ("/api/uncertainty?target=cost_per_mtok&samples=2000&seed=3",
     ["uncertainty", "cost_per_mtok", "--samples", "2000", "--seed", "3"]),
    ("/api/presets?kind=hardware", ["presets", "--kind", "hardware"]),
    ("/api/presets?name=h200", ["presets", "h200"]),
    ("/api/quantities?kind=input", ["quantities", "--kind", "input"]),
    ("/api/quantities?name=hbm_capacity", ["quantities", "hbm_capacity"]),
    ("/api/rules", ["rules"]),
])
def test_answers_are_the_command_lines_json(api, url, args):
    response = api.get(url)
    assert response.status_code == 200, response.text
    assert response.json() == cli_json(*args)


def test_audit_of_an_upload_is_the_command_lines_json(api, tmp_path):
    claims = tmp_path / "claims.yaml"
    claims.write_bytes(small_claims())
    response = api.post("/api/audit?p=default", content=claims.read_bytes())
    assert response.status_code == 200, response.text
    answer = response.json()
    expected = cli_json("audit", str(claims), "-p", "default")
    # the file is named by its path on the command line and arrives as a mapping here
    assert answer.pop("file") == "<mapping>" and expected.pop("file") == str(claims)
    assert answer == expected
    assert answer["counts"]["CONTRADICTED"] > 0 and len(answer["claims"]) == SMALL_CLAIMS


def test_audit_accepts_a_form_upload_and_a_stored_digest(api):
    form = api.post("/api/audit", files={"claims": ("mine.yaml", small_claims())},
                    data={"p": "default"})
    assert form.status_code == 200
    page = api.post("/audit", files={"claims": ("mine.yaml", small_claims())},
                    data={"p": "default"}, follow_redirects=False)
    assert page.status_code == 303
    location = page.headers["location"]
    assert location.startswith("/audit?upload=") and location.endswith("&p=default")
    digest = location.split("upload=")[1].split("&")[0]
    stored = api.get(f"/api/audit?upload={digest}&p=default")
    assert stored.json() == form.json()
    csv = api.get(f"/api/audit?upload={digest}&p=default&format=csv").text
    assert csv.splitlines()[0] == "id,where,quantity,claimed,derived,ratio,verdict"
    assert len(csv.splitlines()) == SMALL_CLAIMS + 1
    markdown = api.get(f"/api/audit?upload={digest}&format=markdown")
    assert markdown.text.startswith("# Audit: ")


def test_csv_and_text_formats(api, model):
    csv = api.get("/api/solve?find=cost_per_mtok&find=batch&format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    header, cost, batch = csv.text.splitlines()
    assert header == "quantity,value,unit,how,rule,source"
    exact = model.solve(find=["cost_per_mtok"])["cost_per_mtok"].to("USD/Mtok").magnitude
    assert cost.startswith(f"cost_per_mtok,{exact!r}")
    assert ",USD/Mtok,derived,cost.cost_per_mtok," in cost
    assert batch.startswith("batch,64.0,request,preset,,\"batch-64; ")
    text = api.get("/api/explain?name=kv_bytes_per_token&format=text").text
    assert text == run("explain", "kv_bytes_per_token").stdout.rstrip("\n")
    dot = api.get("/api/graph?name=weight_bytes&format=dot").text
    assert dot == run("graph", "weight_bytes").stdout
    svg = api.get("/api/graph?name=weight_bytes&format=svg")
    assert svg.headers["content-type"] == "image/svg+xml" and "<svg" in svg.text
    seek = api.get("/api/seek?minimize=cost_per_mtok&where=step_time <= 30 ms"
                   "&vary=batch=1..512&format=csv").text.splitlines()
    assert seek[0] == "row,name,status,value_or_left,right,unit,ratio"
    best = model.seek(minimize="cost_per_mtok", where=["step_time <= 30 ms"],
                      vary={"batch": (1, 512)})
    assert seek[1].startswith(f"point,cost_per_mtok,,{best.value.magnitude!r}")
    assert seek[2] == f"point,batch,,{best.point['batch'].magnitude!r},,request,"
    for c in best.binding:
        assert any(line.startswith(f"constraint,{c.id},binding,") for line in seek)


def test_compare_puts_scenarios_side_by_side(api, model):
    response = api.get("/api/compare?col=h100-sxm&col=b200;batch=128&find=cost_per_mtok")
    scenarios = response.json()["scenarios"]
    assert [s["label"] for s in scenarios] == ["h100-sxm", "b200;batch=128"]
    alone = api.get("/api/solve?find=cost_per_mtok&p=default&p=b200&set=batch=128").json()
    assert scenarios[1]["result"] == alone
    csv = api.get("/api/compare?col=h100-sxm&col=h200&find=cost_per_mtok&format=csv").text
    assert csv.splitlines()[0] == "quantity,unit,h100-sxm,h200"
    h100 = model.solve(find=["cost_per_mtok"], presets=["default", "h100-sxm"])
    assert csv.splitlines()[1].startswith(
        f"cost_per_mtok,USD/Mtok,{h100['cost_per_mtok'].to('USD/Mtok').magnitude!r},")


def test_an_infeasible_seek_names_the_least_bad_point(api, model):
    error = error_of(api.get("/api/seek?maximize=batch&where=ttft <= 1 ms&vary=batch=1..100"))
    assert error["type"] == "InfeasibleError"
    with pytest.raises(cg.errors.InfeasibleError) as direct:
        model.seek(maximize="batch", where=["ttft <= 1 ms"], vary={"batch": (1, 100)})
    assert error["message"] == str(direct.value)
    assert error["message"].startswith("ttft is ") and "at best (batch 1 request)" in error["message"]
    assert error["least_bad"]["point"] == {"batch": {"value": 1.0, "unit": "request"}}
    assert [c["id"] for c in error["least_bad"]["violated"]] == ["ttft <= 1 ms"]


def test_errors_carry_the_command_lines_message(api):
    error = error_of(api.get("/api/solve?find=cost_per_mtk"))
    assert error == {"type": "UnknownQuantityError", "message": run(
        "solve", "--find", "cost_per_mtk", code=1).stderr.strip().removeprefix("error: ")}
    bad_unit = run("solve", "--find", "cost_per_mtok", "--set", "batch=12 parsec", code=1)
    assert error_of(api.get("/api/solve?find=cost_per_mtok&set=batch=12 parsec"))["message"] \
        == bad_unit.stderr.strip().removeprefix("error: ")


def test_schema_errors_are_422_in_the_same_shape(api):
    error = error_of(api.get("/api/graph?name=weight_bytes&depth=abc"), 422)
    assert error == {"type": "RequestValidationError",
                     "message": "depth: Input should be a valid integer, unable to parse string "
                                "as an integer"}
    assert error_of(api.get("/api/graph"), 422)["message"] == "name: Field required"


def test_openapi_describes_every_endpoint(api):
    spec = api.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/api/solve", "/api/seek", "/api/explain", "/api/graph", "/api/sweep",
            "/api/levers", "/api/presets", "/api/quantities", "/api/audit"} <= paths
    assert not any(not p.startswith("/api/") for p in paths), "pages are not API endpoints"
    names = {p["name"] for p in spec["paths"]["/api/solve"]["get"]["parameters"]}
    assert names == {"find", "p", "set", "format"}


def test_any_rules_folder_is_served():
    trip = client(TRIP)
    answer = trip.get("/api/solve?find=cost_per_passenger&p=default&p=van").json()
    assert answer["values"]["cost_per_passenger"]["value"] == pytest.approx(22.5)
    page = trip.get("/?find=cost_per_passenger")
    assert page.status_code == 200 and "cost_per_passenger" in page.text
    assert "Cost stack" not in page.text  # no cost layers in these rules
    assert trip.get("/derivation?name=fuel").status_code == 200


def test_concurrent_requests_get_their_own_answers():
    """Requests served at once by the worker pool (one shared Model) answer as alone."""
    import asyncio

    import httpx

    from costgraph.web import create_app

    app = create_app()
    urls = [f"/api/solve?find=cost_per_mtok&p=default&p={hw}&set=batch={b}"
            for hw in ("h100-sxm", "h200", "b200", "mi300x") for b in (8, 64, 128)]
    urls += [f"/api/seek?minimize=cost_per_mtok&where=step_time <= {ms} ms&vary=batch=1..512"
             for ms in (25, 30, 40)]
    urls += ["/api/sweep?vary=batch=1..64&find=cost_per_mtok", "/api/levers"]

    async def fetch_all(together: bool):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            if together:
                return [r.json() for r in await asyncio.gather(*(c.get(u) for u in urls))]
            return [(await c.get(u)).json() for u in urls]

    alone = asyncio.run(fetch_all(False))
    for _ in range(2):
        assert asyncio.run(fetch_all(True)) == alone
