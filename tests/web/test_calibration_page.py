"""The calibration and backtest pages (Models) over HTTP on a simulated world with
outcomes: the conversion curve of `mql calibrate` as a chart and a table, the
recommended threshold, and a page (never a traceback) for a store without outcomes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from mql.clock import FixedClock
from mql.service.calibration import run_calibration
from mql.service.demo import run_demo
from mql.service.store import init_workspace
from mql.store.db import connect
from mql.web.app import create_app
from tests.api.conftest import make_keys, running, settings_for
from tests.web.conftest import Site, csrf_of
from tests.web.test_models_page import _looser


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str], datetime]:
    folder: Path = tmp_path_factory.mktemp("calibration")
    url = init_workspace(folder, now=datetime(2025, 1, 1, tzinfo=UTC)).database_url
    engine = connect(url)
    try:
        report = run_demo(engine, accounts=80, months=6, seed=7)
    finally:
        engine.dispose()
    return url, make_keys(url), report.end + timedelta(days=1)


def _signed_in(base: str, token: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=120)
    c.post("/signin", data={"token": token, "csrf": csrf_of(c.get("/signin").text)})
    return c


def test_the_calibration_page_draws_the_curve_mql_calibrate_computes(
        world: tuple[str, dict[str, str], datetime]) -> None:
    url, keys, now = world
    engine = connect(url)
    try:
        want = run_calibration(engine, now=now, outcome="sql").to_json()
    finally:
        engine.dispose()
    curve = [p for p in want["curve"] if p is not None]
    assert want["outreaches"] > 0 and curve
    with running(create_app(settings_for(url), clock=FixedClock(now))) as base:
        c = _signed_in(base, keys["marketing"])
        try:
            models = c.get("/models")
            page = c.get("/models/calibration", params={"outcome": "sql"})
            bad = c.get("/models/calibration", params={"outcome": "revenue"})
        finally:
            c.close()
        with httpx.Client(base_url=base) as stranger:
            anonymous = stranger.get("/models/calibration")
    assert 'href="/models/calibration"' in models.text
    assert page.status_code == 200 and "Conversion by threshold" in page.text
    data = re.search(r"data-curve='([^']*)'", page.text)
    assert data is not None
    chart = json.loads(data.group(1).replace("&#34;", '"').replace("&quot;", '"'))
    assert chart["threshold"] == [p["threshold"] for p in curve]
    assert chart["rate"] == [p["rate_above"] for p in curve]
    assert page.text.count("<tr>") == len(curve) + 1  # the header and one row a threshold
    assert f"{want['outreaches']} outreaches" in page.text
    assert bad.status_code == 400 and "choose one of" in bad.text
    assert "Traceback" not in bad.text
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")


def test_a_store_without_outcomes_gets_a_page_saying_so(site: Site) -> None:
    with site.signed_in("marketing") as c:
        page = c.get("/models/calibration", params={"outcome": "won"})
    assert page.status_code == 200 and 'id="no-curve"' in page.text
    assert "Traceback" not in page.text


def test_the_backtest_page_charts_mqls_per_week_of_a_version_against_the_live_one(
        world: tuple[str, dict[str, str], datetime]) -> None:
    url, keys, now = world
    with running(create_app(settings_for(url), clock=FixedClock(now))) as base:
        with httpx.Client(base_url=base, timeout=120, headers={
                "Authorization": f"Bearer {keys['marketing']}"}) as api:
            uploaded = api.post("/v1/models", json={"text": _looser(),
                                                    "source": "looser.yaml"})
            assert uploaded.status_code == 201, uploaded.text
            vid = uploaded.json()["id"]
            want = api.get("/v1/reports/backtest", params={"version": vid}).json()
        c = _signed_in(base, keys["marketing"])
        try:
            models = c.get("/models")
            page = c.get(f"/models/{vid}/backtest")
            missing = c.get("/models/999/backtest")
        finally:
            c.close()
    assert f'href="/models/{vid}/backtest"' in models.text
    assert page.status_code == 200 and "MQLs per week" in page.text
    data = re.search(r"data-weekly='([^']*)'", page.text)
    assert data is not None
    chart = json.loads(data.group(1).replace("&#34;", '"').replace("&quot;", '"'))
    ours, live = want["summary"]["candidate"], want["summary"]["against"]
    assert sum(chart["candidate"]) == sum(ours["weekly"].values())
    assert sum(chart["live"]) == sum(live["weekly"].values())
    assert ours["mqls"] >= live["mqls"]  # a lower intent line qualifies at least as many
    assert f"<td>{ours['mqls']}</td><td>{live['mqls']}</td>" in page.text
    assert f"{len(want['newly_qualified'])} would newly qualify" in page.text
    assert missing.status_code == 404 and "no model version 999" in missing.text
