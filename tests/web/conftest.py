"""A real `mql serve` on 127.0.0.1 for the web pages, over a fresh workspace with the
example model and leads in two sales teams; one token per role and a second seller in
another team."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mql.service.keys import create_key
from mql.service.store import init_workspace
from mql.store.db import connect
from tests.api.conftest import SECRET, T0, free_port, make_keys, start_serve, wait_applied

# the example model routes large US software accounts to na_enterprise (the "sales"
# token's team) and European ones to emea
MINE = ("ada@north.example", "bob@north.example", "cy@north.example")
THEIRS = "eva@south.example"


@dataclass(frozen=True)
class Site:
    url: str
    database_url: str
    keys: dict[str, str]

    @contextmanager
    def signed_in(self, role: str) -> Iterator[httpx.Client]:
        """An httpx client signed in through the sign-in form as `role`."""
        with httpx.Client(base_url=self.url, timeout=30) as c:
            form = c.get("/signin")
            assert form.status_code == 200, form.text
            answer = c.post("/signin", data={"token": self.keys[role],
                                             "csrf": csrf_of(form.text)})
            assert answer.status_code == 303, answer.text
            yield c


def csrf_of(html: str) -> str:
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def _message(kind: str, email: str, **fields: Any) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    return {"type": kind, "messageId": str(uuid.uuid4()), "userId": email, "timestamp": at,
            **fields}


def hand_raiser(url: str, write_key: str, email: str, *, country: str, region: str,
                employees: int = 3000) -> None:
    """A VP at a large software account who asks for a demo: an MQL by fast track. The
    demo form records consent to email (GDPR needs it before a seller may call on a
    European lead: docs/compliance.md)."""
    domain = email.rsplit("@", 1)[1]
    batch = [
        _message("identify", email, traits={"email": email, "title": "VP Marketing",
                                            "department": "marketing", "country": country,
                                            "consent_email": True}),
        _message("group", email, groupId=domain, traits={
            "website": domain, "employees": employees, "industry": "software",
            "country": country, "region": region}),
        _message("track", email, event="Demo Request"),
        _message("page", email, name="Pricing", properties={"path": "/pricing"}),
    ]
    answer = httpx.post(f"{url}/v1/batch", json={"batch": batch}, auth=(write_key, ""),
                        timeout=30)
    assert answer.status_code == 200 and answer.json()["rejected"] == [], answer.text


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder: Path = tmp_path_factory.mktemp("web")
    url = init_workspace(folder, now=T0).database_url
    keys = make_keys(url)
    engine = connect(url)
    try:
        keys["other-sales"] = create_key(engine, kind="token", name="kai-emea", role="sales",
                                         team="emea", server_secret=SECRET, actor="test",
                                         now=T0).secret
    finally:
        engine.dispose()
    port = free_port()
    server = start_serve(url, port, {"MQL_API_KEY_CACHE_SECONDS": "0",
                                     "MQL_API_APPLY_DELAY_SECONDS": "0"}, within=60)
    base = f"http://127.0.0.1:{port}"
    try:
        for email in MINE:
            hand_raiser(base, keys["writer"], email, country="US", region="NA")
        hand_raiser(base, keys["writer"], THEIRS, country="DE", region="EMEA")
        wait_applied(base, keys["read-only"])
        yield Site(base, url, keys)
    finally:
        server.terminate()
        server.wait(timeout=30)
