"""The real, maintained clients work unchanged against `mql serve` on 127.0.0.1, on SQLite
and PostgreSQL: the Segment and RudderStack Python libraries (PyPI), the Node library
`@segment/analytics-node` and the browser's analytics.js (`@segment/analytics-next`, the
npm bundle in headless Chromium, on a page served from another port of 127.0.0.1).

The npm packages are installed at setup (`make clients`: `npm ci` in tests/clients); here
nothing is downloaded. Without node, the packages or chromium these tests skip locally and
fail under CI=true.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from rudderstack.analytics.client import Client as RudderClient
from rudderstack.analytics.request import APIError as RudderError
from segment.analytics.client import Client as SegmentClient

from mql.service.store import init_workspace
from mql.store.db import connect
from mql.store.tables import accounts, contacts, events
from tests.api.conftest import T0, free_port, make_keys, start_serve, wait_applied

CLIENTS = Path(__file__).parents[1] / "clients"
MODULES = CLIENTS / "node_modules" / "@segment"


def _need(what: str, found: object) -> None:
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{what} is missing; CI must run the client tests (.ci/run installs "
                        "it)")
        pytest.skip(f"{what} not found (`make clients` installs the npm packages)")


@dataclass(frozen=True)
class Live:
    """A running `mql serve`: base URL, database URL, keys, and the origin of the page
    server whose origin the "website" write key allows."""

    url: str
    database_url: str
    keys: dict[str, str]
    site: str
    site_root: Path

    def applied(self) -> None:
        wait_applied(self.url, self.keys["read-only"])

    def rows(self, query: Any) -> list[Any]:
        self.applied()
        engine = connect(self.database_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(query))
        finally:
            engine.dispose()

    def contact(self, email: str) -> dict[str, Any]:
        [row] = self.rows(sa.select(contacts).where(contacts.c.email == email))
        return dict(row._mapping)

    def event_types(self, email: str) -> set[str]:
        """The types of the events of `email`'s contact (anonymous ones it was linked to
        included)."""
        cid = self.contact(email)["id"]
        return {r.type for r in self.rows(sa.select(events.c.type).where(
            sa.or_(events.c.email == email, events.c.contact_id == cid)))}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _serve(url: str, port: int, site: str) -> subprocess.Popen[bytes]:
    return start_serve(url, port, {"MQL_API_KEY_CACHE_SECONDS": "0",
                                   "MQL_API_APPLY_DELAY_SECONDS": "0",
                                   "MQL_CORS_ORIGINS": json.dumps({"website": [site]})},
                       within=60)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp(f"clients-{request.param}")
    given = None if request.param == "sqlite" else \
        request.getfixturevalue("pg_cluster").new_database()
    url = init_workspace(folder, now=T0, database_url=given).database_url
    keys = make_keys(url)
    root = folder / "site"
    root.mkdir()
    pages = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            partial(_Quiet, directory=str(root)))
    site = f"http://127.0.0.1:{pages.server_address[1]}"
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    port = free_port()
    server = _serve(url, port, site)
    try:
        yield Live(f"http://127.0.0.1:{port}", url, keys, site, root)
    finally:
        server.terminate()
        server.wait(timeout=30)
        pages.shutdown()
        pages.server_close()


def _person(live: Live, name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@globex.example"


def test_segment_python_library(live: Live) -> None:
    email = _person(live, "kim")
    errors: list[Exception] = []
    client = SegmentClient(live.keys["writer"], host=live.url, gzip=True, sync_mode=True,
                           max_retries=0, on_error=lambda exc, _batch: errors.append(exc))
    client.identify(email, {"email": email, "title": "Head of Data", "firstName": "Kim"})
    client.group(email, "globex", {"name": "Globex", "website": "https://globex.example"})
    client.page(email, "Docs", "Pricing", {"url": "https://mql.example/pricing"})
    client.track(email, "Demo Requested", {"plan": "team"})
    client.flush()
    assert errors == []
    assert {"identify", "group", "page_view", "demo_request"} <= live.event_types(email)
    assert live.contact(email)["attributes"]["title"] == "Head of Data"
    [page] = live.rows(sa.select(events.c.properties).where(
        events.c.email == email, events.c.type == "page_view"))
    assert page.properties["category"] == "Docs"
    assert live.rows(sa.select(accounts.c.id).where(accounts.c.domain == "globex.example"))


def test_segment_python_library_alias_of_a_known_email_merges_the_contacts(live: Live) -> None:
    """`alias(previous_id, user_id)` with the address a person was known by: one person."""
    old, new = _person(live, "lee"), _person(live, "lee.park")
    errors: list[Exception] = []
    client = SegmentClient(live.keys["writer"], host=live.url, sync_mode=True, max_retries=0,
                           on_error=lambda exc, _batch: errors.append(exc))
    client.identify(old, {"email": old})
    client.track(old, "Demo Requested")
    client.identify(new, {"email": new, "title": "CTO"})
    client.flush()
    live.applied()
    client.alias(previous_id=old, user_id=new)
    client.flush()
    assert errors == []
    survivor = live.contact(new)["id"]
    assert live.contact(old)["merged_into"] == survivor
    assert "demo_request" in {r.type for r in live.rows(sa.select(events.c.type).where(
        events.c.contact_id == survivor))}


def test_rudderstack_python_sdk_traits_from_context_reach_the_contact(live: Live) -> None:
    email = _person(live, "ravi")
    errors: list[Exception] = []
    client = RudderClient(live.keys["writer"], host=live.url, gzip=True, sync_mode=True,
                          max_retries=0, on_error=lambda exc, _batch: errors.append(exc))
    client.page(anonymous_id="anon-" + email, name="Pricing",
                properties={"url": "https://mql.example/pricing"})
    client.identify(email, {"email": email, "firstName": "Ravi", "title": "CTO",
                            "company": "Globex"}, anonymous_id="anon-" + email)
    client.track(email, "Demo Requested", {"plan": "team"})
    client.flush()
    assert errors == []
    attributes = live.contact(email)["attributes"]
    assert (attributes["first_name"], attributes["title"], attributes["company"]) == (
        "Ravi", "CTO", "Globex")
    assert {"identify", "page_view", "demo_request"} <= live.event_types(email)


def test_rudderstack_python_sdk_reads_our_errors(live: Live) -> None:
    """Its client reads `code` and `message` of an error (a KeyError before): a message
    over 32 KB is quarantined and answered 413, a wrong key 401; neither is retried."""
    client = RudderClient(live.keys["writer"], host=live.url, sync_mode=True, max_retries=0)
    email = _person(live, "big")
    with pytest.raises(RudderError) as big:
        client.track(email, "Huge", {"blob": "x" * 40_000})
    wrong = RudderClient("mql_000000000000_wrong", host=live.url, sync_mode=True,
                         max_retries=0)
    with pytest.raises(RudderError) as refused:
        wrong.track(email, "Nope")
    assert (big.value.status, big.value.code) == (413, "message_too_large")
    assert "32 KB" in big.value.message
    assert (refused.value.status, refused.value.code) == (401, "unauthorized")
    with httpx.Client(base_url=live.url, headers={
            "Authorization": f"Bearer {live.keys['read-only']}"}) as c:
        live.applied()
        held = c.get("/v1/quarantine").json()
    assert [q for q in held if email in q["raw"] and "32 KB" in q["reason"]]


def test_node_analytics_library(live: Live) -> None:
    node = shutil.which("node")
    _need("node", node)
    _need("@segment/analytics-node in tests/clients/node_modules",
          (MODULES / "analytics-node").is_dir())
    email = _person(live, "noor")
    done = subprocess.run([str(node), str(CLIENTS / "send_node.cjs"), live.url,
                           live.keys["writer"], email, "anon-" + email],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"errors": []}
    assert {"identify", "group", "page_view", "demo_request"} <= live.event_types(email)
    assert live.contact(email)["attributes"]["first_name"] == "Noor"
    [page] = live.rows(sa.select(events).where(events.c.anonymous_id == "anon-" + email,
                                                events.c.type == "page_view"))
    assert page.email == email or page.contact_id == live.contact(email)["id"]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.parametrize("settings", ["inline", "server", "batching"])
def test_browser_analytics_js_page_view_and_form_identify(live: Live, settings: str) -> None:
    """analytics.js with its settings inline, loaded from mql (`cdnURL`) as it loads them
    from Segment's CDN, or inline with batched delivery (`/v1/b`)."""
    browser = _chromium()
    _need("chromium", browser)
    bundle = MODULES / "analytics-next" / "dist" / "umd"
    _need("@segment/analytics-next in tests/clients/node_modules", bundle.is_dir())
    email = _person(live, "lea")
    if not (live.site_root / "analytics").exists():
        shutil.copytree(bundle, live.site_root / "analytics")
    page = (CLIENTS / "page.html").read_text().replace("__EMAIL__", email).replace(
        "__WRITE_KEY__", live.keys["writer"]).replace("__API_HOST__",
                                                      live.url.removeprefix("http://"))
    name = f"page-{uuid.uuid4().hex[:6]}.html"
    (live.site_root / name).write_text(page)
    with tempfile.TemporaryDirectory() as profile:
        shown = subprocess.run([str(browser), "--headless", "--no-sandbox", "--disable-gpu",
                                "--disable-background-networking",
                                "--disable-component-update", "--disable-sync",
                                "--no-first-run", f"--user-data-dir={profile}",
                                "--virtual-time-budget=20000", "--dump-dom",
                                f"{live.site}/{name}?settings={settings}"],
                               capture_output=True, text=True, timeout=120, check=False)
    assert '<pre id="out">sent</pre>' in shown.stdout, shown.stdout[-2000:] + shown.stderr[-2000:]
    assert {"identify", "page_view"} <= live.event_types(email)
    attributes = live.contact(email)["attributes"]
    assert (attributes["first_name"], attributes["title"]) == ("Lea", "Head of Growth")
    # the page view came before the identify, from the same browser: it is Lea's now
    [view] = live.rows(sa.select(events).where(events.c.type == "page_view",
                                                events.c.contact_id == live.contact(email)["id"]))
    assert view.properties["category"] == "Docs" and view.source == "website"
