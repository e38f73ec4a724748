"""The web explorer's pages, read as HTML: what each shows, that its state is its URL, and
that its JSON and CSV links answer with the same numbers."""

from __future__ import annotations

import re
from html import escape, unescape

import pytest

from costgraph.units import format_quantity
from web_helpers import SMALL_CLAIMS, client, small_claims


@pytest.fixture(scope="module")
def web():
    return client()


def links(html: str, pattern: str = "") -> list[str]:
    return [unescape(h) for h in re.findall(r'href="([^"]+)"', html) if pattern in h]


def selected(html: str, kind: str) -> str:
    """The option chosen in the first preset select of ``kind``."""
    block = re.search(rf'data-kind="{kind}".*?</select>', html, re.S).group(0)
    found = re.search(r'<option value="([^"]*)"[^>]*selected', block)
    return found.group(1) if found else ""


def exports(web, html: str) -> dict[str, str]:
    found = re.findall(r'<a class="export" href="([^"]+)">([^<]+)</a>', html)
    return {label: unescape(url) for url, label in found}


def test_the_scenario_page_shows_the_numbers_the_api_gives(web, model):
    html = web.get("/").text
    result = model.solve(find=["cost_per_mtok", "ttft", "tpot", "tokens_per_second"])
    for name in ("cost_per_mtok", "ttft", "tpot", "tokens_per_second"):
        card = re.search(rf'<a class="number" href="([^"]+)" data-name="{name}".*?'
                         r'<span class="value">([^<]+)</span>', html, re.S)
        assert card.group(2) == format_quantity(result[name])
        assert unescape(card.group(1)) == f"/derivation?name={name}"
    assert selected(html, "scenario") == "default" and selected(html, "hardware") == ""
    assert "as in the scenario: h200" in html
    stack = re.search(r'<div class="chart-box" id="stack">(.*?)</div>', html, re.S).group(1)
    assert stack.startswith("<svg") and stack.count("<rect") >= 12  # 6 layers and their keys
    for layer in ("capital", "power", "facility", "nand", "network", "labour"):
        assert f"{layer} " in stack
    assert "fits" in re.search(r'id="fit">(.*?)</div>', html, re.S).group(1)
    assert re.search(r'<td title="[^"]*">memory.hbm_fit</td>\s*<td class="status">holds', html)


def test_the_scenario_page_state_is_its_url(web, model):
    html = web.get("/?p=default&p=b200&set=batch=128").text
    assert selected(html, "hardware") == "b200"
    cost = model.solve(find="cost_per_mtok", presets=["default", "b200"], given={"batch": 128})
    assert f'<span class="value">{format_quantity(cost["cost_per_mtok"])}</span>' in html
    assert 'data-name="batch" data-original="batch=128"' not in html
    assert re.search(r'data-name="batch" data-original="128" data-given="1"', html)
    api = exports(web, html)
    assert set(api) == {"JSON", "CSV"}
    answer = web.get(api["JSON"]).json()
    assert answer["presets"] == ["default", "b200"]
    assert answer["values"]["cost_per_mtok"]["value"] == pytest.approx(
        cost["cost_per_mtok"].magnitude)
    assert web.get(api["CSV"]).text.startswith("quantity,value,unit,how,rule,source\n")


def test_the_derivation_page_links_every_quantity_to_its_own(web, model):
    html = web.get("/derivation?name=cost_per_mtok&p=default&p=h100-sxm").text
    diagram = re.search(r'<div class="diagram fit" id="diagram">(.*?)</div>', html, re.S).group(1)
    titles = re.findall(r"<title>q:([a-z0-9_]+)</title>", diagram)
    hrefs = re.findall(r'xlink:href="([^"]+)"', diagram)
    assert len(titles) >= 8 and len(hrefs) == len(titles)
    assert {unescape(h) for h in hrefs} == {
        f"/derivation?name={t}&p=default&p=h100-sxm" for t in titles}
    r = model.solve(find=["cost_per_mtok", "tokens_per_second"], presets=["default", "h100-sxm"])
    cost = format_quantity(r["cost_per_mtok"])
    assert f'<pre class="explain" id="explain">cost_per_mtok = {cost}' in html
    assert "source: [essay-true-cost-of-a-token] §8.2" in unescape(html)
    upstream = web.get("/derivation?name=tokens_per_second&p=default&p=h100-sxm")
    rate = format_quantity(r["tokens_per_second"])
    assert upstream.status_code == 200 and f"tokens_per_second = {rate}" in upstream.text
    assert exports(web, html)["SVG"].startswith("/api/graph?name=cost_per_mtok")


def test_the_derivation_page_folds_zero_terms_and_unfolds_on_request(web):
    def diagram_titles(url):
        html = web.get(url).text
        diagram = re.search(r'<div class="diagram fit" id="diagram">(.*?)</div>', html,
                            re.S).group(1)
        return set(re.findall(r"<title>(q:[a-z0-9_]+|folded)</title>", diagram)), html

    url = "/derivation?name=kv_bytes_per_token&depth=all"
    folded, html = diagram_titles(url)
    assert "folded" in folded and "q:kv_lora_rank" not in folded
    assert "zero here: kv_lora_rank" in html and 'name="unfold" value="1">' in html
    unfolded, html = diagram_titles(url + "&unfold=1")
    assert "folded" not in unfolded and "q:kv_lora_rank" in unfolded
    assert "zero here" not in html and 'name="unfold" value="1" checked>' in html
    # a quantity clicked in the unfolded diagram opens unfolded too
    assert "unfold=1" in re.search(r'xlink:href="([^"]+)"', html).group(1)
    api = web.get("/api/graph?name=kv_bytes_per_token&unfold=true").json()
    assert api["folded"] == [] and "q:kv_lora_rank" in {n["id"] for n in api["nodes"]}
    assert "kv_lora_rank" in web.get("/api/graph?name=kv_bytes_per_token").json()["folded"]


def test_the_seek_page_answers_with_what_binds(web, model):
    html = web.get("/seek?minimize=cost_per_mtok&where=step_time <= 30 ms"
                   "&vary=batch=1..512").text
    best = model.seek(minimize="cost_per_mtok", where=["step_time <= 30 ms"],
                      vary={"batch": (1, 512)})
    assert f'<strong class="optimum">{format_quantity(best.value)}</strong>' in html
    for c in best.binding:
        assert f'<strong class="binding">{escape(c.id)}</strong>' in html
    assert 'name="minimize" value="cost_per_mtok"' in html
    assert 'value="step_time &lt;= 30 ms"' in html
    src = unescape(re.search(r'id="seek-diagram" data-src="([^"]+)"', html).group(1))
    diagram = web.get(src)
    assert diagram.headers["content-type"] == "image/svg+xml"
    assert diagram.text.startswith("<svg") and "href=\"/derivation?name=batch&amp;set=batch" \
        in diagram.text.replace("%3D", "=")
    scenario = next(h for h in links(html) if h.startswith("/?"))
    assert f"set=batch%3D{best.point['batch'].magnitude!r}+request" in scenario
    opened = web.get(scenario).text  # the optimum, opened as a scenario, costs the same
    assert f'<span class="value">{format_quantity(best.value)}</span>' in opened


def test_an_infeasible_seek_page_shows_the_least_bad_point(web, model):
    html = web.get("/seek?maximize=batch&where=ttft <= 1 ms&vary=batch=1..100").text
    ttft = model.solve(find=["ttft"], given={"batch": 1})["ttft"]
    assert 'id="least-bad"' in html and f"ttft is {format_quantity(ttft)} at best" in html
    assert re.search(r"<td>batch</td><td>1 request</td>", html)


def test_the_compare_page_highlights_what_differs(web):
    html = web.get("/compare").text
    heads = re.findall(r'<th><a href="[^"]+">([^<]+)</a></th>', html)
    assert heads == ["h100-sxm", "h200", "b200", "mi300x"]
    assert html.count('<div class="chart-box"><svg') == 4

    def cells(page, name):
        row = re.search(rf"<tr><td><code>{name}</code></td>(.*?)</tr>", page, re.S).group(1)
        return re.findall(r'<td class="(differs|same)">', row)

    assert "differs" in cells(html, "ttft")
    hopper = web.get("/compare?col=h100-sxm&col=h200&find=weight_bytes&find=ttft").text
    assert cells(hopper, "weight_bytes") == ["same", "same"]  # one model, one precision
    # the H200's sustained FP8 rate is 3.5% above the H100's (MAMF), so its prompt is faster
    assert cells(hopper, "ttft") == ["same", "differs"]
    api = exports(web, html)
    data = web.get(api["JSON"]).json()
    assert [s["label"] for s in data["scenarios"]] == heads


def test_the_sweep_page_draws_the_curve_and_the_tornado(web):
    html = web.get("/sweep?vary=batch=1..64&find=cost_per_mtok").text
    assert "64 points; 0 break a constraint" in html
    curves = re.search(r'<section id="curves">(.*?)</section>', html, re.S).group(1)
    assert curves.count("<path") == 1 and curves.count("<circle") == 64
    levers = re.search(r'<section id="levers">(.*?)</section>', html, re.S).group(1)
    assert "utilisation" in levers and "input at its low end" in levers
    api = exports(web, html)
    assert set(api) == {"sweep JSON", "sweep CSV", "levers JSON", "levers CSV"}
    assert len(web.get(api["sweep CSV"]).text.splitlines()) == 65


def test_a_sweep_over_presets_is_drawn_as_bars(web, model):
    html = web.get("/sweep?vary=precision=fp16,fp8,fp4&find=cost_per_mtok").text
    curves = re.search(r'<section id="curves">(.*?)</section>', html, re.S).group(1)
    bars = re.findall(r"<title>(fp16|fp8|fp4): [^<]+</title>", curves)
    assert bars == ["fp16", "fp8", "fp4"]
    fp16 = model.solve(find=["cost_per_mtok"], presets=["default", "fp16"])
    assert not fp16.feasible  # BF16-size weights overflow HBM
    number = format_quantity(fp16["cost_per_mtok"]).split()[0]
    assert f"fp16: {number} (breaks a constraint)" in curves


def test_the_audit_page_takes_an_upload_and_keeps_it_in_the_url(web):
    posted = web.post("/audit", files={"claims": ("essay-claims.yaml", small_claims())},
                      data={"p": "default"})
    assert posted.status_code == 200 and "/audit?upload=" in str(posted.url)
    html = posted.text
    assert f"{SMALL_CLAIMS} claims: " in html and "CONTRADICTED" in html
    assert html.count('<tr class="verdict-') == SMALL_CLAIMS
    again = web.get(str(posted.url).split("testserver")[1])
    assert again.text == html
    assert set(exports(web, html)) == {"JSON", "CSV", "Markdown"}


def test_a_bad_upload_page_says_why(web):
    page = web.post("/audit", files={"claims": ("bad.yaml", b"claims: [")})
    assert page.status_code == 400 and "not valid YAML" in page.text


def test_every_page_answers(web):
    for path in ("/", "/derivation", "/seek", "/compare", "/sweep", "/audit",
                 "/static/style.css", "/static/app.js", "/static/icon.svg"):
        assert web.get(path).status_code == 200, path
