"""The web explorer in a real browser: a uvicorn server on a free port of 127.0.0.1, driven
in the system's headless Chromium through Playwright.

Needs Debian's `chromium` package and the `playwright` Python package (in the `test`
extra); Playwright's own browser download is never used. Without them these tests skip.
"""

from __future__ import annotations

import pytest

from costgraph.units import format_quantity

pytest.importorskip("fastapi", reason="the web explorer needs the `web` extra")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Playwright: pip install playwright")

from costgraph.web.local import LocalServer, chromium, chromium_path  # noqa: E402

if chromium_path() is None:
    pytest.skip("browser tests need Chromium: apt-get install chromium (Debian's package; "
                "never `playwright install`)", allow_module_level=True)

TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def server():
    with LocalServer() as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        launched = chromium(p)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


def cost(page) -> str:
    return page.inner_text('a.number[data-name="cost_per_mtok"] .value')


def shown(model, name, presets=("default",)):
    return format_quantity(model.solve(find=[name], presets=list(presets))[name])


def test_switching_the_hardware_changes_the_cost(page, server, model):
    page.goto(server.url)
    before = cost(page)
    assert before == shown(model, "cost_per_mtok")
    with page.expect_navigation():
        page.select_option('select[data-kind="hardware"]', "b200")
    assert "p=b200" in page.url
    assert cost(page) == shown(model, "cost_per_mtok", ("default", "b200")) != before


def test_clicking_the_cost_shows_its_diagram_and_walks_upstream(page, server, model):
    page.goto(server.url)
    with page.expect_navigation():
        page.click('a.number[data-name="cost_per_mtok"]')
    assert "/derivation?name=cost_per_mtok" in page.url
    assert page.locator("#diagram svg").count() == 1
    assert page.inner_text("#answer").startswith(f"cost_per_mtok = {shown(model, 'cost_per_mtok')}")
    assert "source: [essay-true-cost-of-a-token] §8.2" in page.inner_text("#explain")
    node = page.locator('#diagram a[href*="name=tokens_per_second"]').first
    with page.expect_navigation():
        node.click()
    assert "name=tokens_per_second" in page.url
    rate = shown(model, "tokens_per_second")
    assert page.inner_text("#answer").startswith(f"tokens_per_second = {rate}")


def test_a_seek_submitted_from_the_form_answers(page, server, model):
    page.goto(server.url + "seek")
    page.select_option("#sense", "minimize")
    page.fill("#objective", "cost_per_mtok")
    page.locator('input[name="where"]').first.fill("step_time <= 30 ms")
    page.locator('input[name="vary"]').first.fill("batch=1..512")
    with page.expect_navigation():
        page.click("#seek-submit")
    assert "minimize=cost_per_mtok" in page.url and "where=" not in page.url.split("where=", 2)[2:]
    best = model.seek(minimize="cost_per_mtok", where=["step_time <= 30 ms"],
                      vary={"batch": (1, 512)})
    assert page.inner_text(".optimum") == format_quantity(best.value)
    assert page.inner_text("strong.binding") == best.binding[0].id
    page.wait_for_selector("#seek-diagram svg")  # fetched after the answer
    assert page.locator('#seek-diagram a[href*="name=batch"]').count() >= 1


def test_an_edited_input_goes_into_the_url(page, server):
    page.goto(server.url)
    page.click("details#inputs summary")
    page.fill('input.input-value[data-name="batch"]', "128")
    with page.expect_navigation():
        page.click('#scenario-form button[type="submit"]')
    assert "set=batch%3D128" in page.url
    assert page.input_value('input.input-value[data-name="batch"]') == "128"
    assert "&set=&" not in page.url and not page.url.endswith("set=")


def test_a_shared_url_opens_the_same_view(browser, page, server):
    page.goto(server.url)
    with page.expect_navigation():
        page.select_option('select[data-kind="hardware"]', "mi300x")
    with page.expect_navigation():
        page.select_option('select[data-kind="precision"]', "fp16")
    shared, shown = page.url, cost(page)
    other = browser.new_context()
    fresh = other.new_page()
    fresh.goto(shared)
    assert cost(fresh) == shown
    assert fresh.input_value('select[data-kind="hardware"]') == "mi300x"
    assert fresh.input_value('select[data-kind="precision"]') == "fp16"
    other.close()
