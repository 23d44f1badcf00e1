"""The web pages in a real browser: Debian's headless Chromium driven by Playwright (its own
browser download is not used), against a real `mql serve` on 127.0.0.1. A seller signs in,
sees only their team's leads, accepts one, rejects one with a reason and sees it leave the
queue, opens a lead page whose ledger adds up to the score it shows, and an account page;
marketing sees the funnel; a forged form is refused; another team's lead stays closed.
Every page is checked with axe-core (no serious or critical violation) and saved as a
screenshot under out/web-screenshots (not committed).

Without chromium or axe-core (`make clients` installs it) these tests skip locally and fail
under CI=true, as the real-client tests do.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import MINE, THEIRS, Site

ROOT = Path(__file__).parents[2]
AXE = ROOT / "tests" / "clients" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "out" / "web-screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _need(what: str, found: object) -> None:
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{what} is missing; CI must run the browser tests (.ci/run installs "
                        "chromium, `make clients` axe-core)")
        pytest.skip(f"{what} not found (`make clients` installs axe-core; apt chromium)")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    _need("chromium", executable)
    _need("axe-core in tests/clients/node_modules", AXE.is_file())
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 900})
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    browser.clear_cookies()
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()


def _sign_in(page: Any, site: Site, role: str) -> None:
    page.goto(f"{site.url}/")
    assert page.url.endswith("/signin")
    page.fill("#token", site.keys[role])
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _check(page: Any, name: str) -> None:
    """Save a screenshot of the page and refuse serious or critical axe-core violations."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.html)}));
    }""")
    bad = [v for v in found if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: {bad}"


def _article(page: Any, email: str) -> Any:
    return page.locator(f"article.lead[data-email='{email}']")


def test_a_seller_works_the_queue_in_the_browser(site: Site, page: Any) -> None:
    _sign_in(page, site, "sales")
    assert page.url.endswith("/queue")
    shown = page.locator("article.lead").evaluate_all("els => els.map(e => e.dataset.email)")
    assert sorted(shown) == sorted(MINE) and THEIRS not in shown
    _check(page, "queue")
    page.screenshot(path=str(SHOTS / "queue-view.png"))  # the first screen (README)
    first, second = MINE[0], MINE[1]
    _article(page, first).locator("button[data-action=accept]").click()
    accepted = page.locator(f"article.done[data-email='{first}']")
    accepted.wait_for()
    assert "mql → sal" in accepted.inner_text()
    row = _article(page, second)
    row.locator("select[name=reason]").select_option("bad_timing")
    row.locator("button[data-action=reject]").click()
    rejected = page.locator(f"article.done[data-email='{second}']")
    rejected.wait_for()
    assert "bad_timing" in rejected.inner_text()
    page.reload()
    left = page.locator("article.lead[data-stage=mql]").evaluate_all(
        "els => els.map(e => e.dataset.email)")
    assert left == [MINE[2]]
    assert second not in page.inner_text("main")  # rejected: back to nurture, not here


def test_a_lead_page_adds_up_to_the_score_it_shows(site: Site, page: Any) -> None:
    _sign_in(page, site, "sales")
    page.goto(f"{site.url}/leads/{MINE[2]}")
    total = float(page.get_attribute("#score-total", "data-value") or "nan")
    lines = page.locator("#contributions td.counted").evaluate_all(
        "els => els.map(e => parseFloat(e.dataset.value))")
    assert lines and total > 0
    assert sum(lines) == pytest.approx(total, abs=1e-9)
    assert page.locator("#chart canvas").count() >= 1  # uPlot drew the score history
    assert "demo_request" in page.inner_text("#contributions") or \
        "demo" in page.inner_text("#contributions")
    _check(page, "lead")
    page.click(f"a[href='/accounts/{MINE[2].split('@')[1]}']")
    page.wait_for_load_state()
    assert "Buying committee" in page.inner_text("main")
    assert MINE[2] in page.inner_text("#contacts ~ table, main")
    _check(page, "account")


def test_another_teams_lead_is_closed_to_a_seller(site: Site, page: Any) -> None:
    _sign_in(page, site, "sales")
    answer = page.goto(f"{site.url}/leads/{THEIRS}")
    assert answer is not None and answer.status == 403
    assert "Not allowed" in page.inner_text("h1")
    _check(page, "forbidden")


def test_a_forged_form_without_the_csrf_token_is_refused(site: Site, page: Any) -> None:
    _sign_in(page, site, "sales")
    with page.expect_navigation():
        page.evaluate(f"""() => {{
            const f = document.createElement("form");
            f.method = "post"; f.action = "/leads/{MINE[2]}/accept";
            document.body.appendChild(f); f.submit();
        }}""")
    assert "security token" in page.inner_text("main")
    page.goto(f"{site.url}/queue")
    assert MINE[2] in page.inner_text("main")  # still waiting: nothing was accepted


def test_marketing_sees_the_funnel(site: Site, page: Any) -> None:
    _sign_in(page, site, "marketing")
    assert page.url.endswith("/funnel")  # marketing's home page
    assert "Funnel by cohort" in page.inner_text("main")
    assert page.locator("table[data-report=funnel] tbody tr").count() >= 1
    _check(page, "funnel")
    for name in ("models", "models/calibration", "models/1/backtest", "operations"):
        page.goto(f"{site.url}/{name}")
        assert "Traceback" not in page.content() and "Error" not in page.title()
        _check(page, name.replace("/", "-"))


def test_the_sign_in_page_is_accessible(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/signin")
    _check(page, "signin")
