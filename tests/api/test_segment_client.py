"""The Segment Python library (segment-analytics-python, from PyPI), configured with our host
and a write key, works unchanged: identify, group, page and track land in the store."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from segment.analytics.client import Client
from segment.analytics.request import APIError

from mql.store.db import connect
from mql.store.tables import accounts, events
from tests.api.conftest import Server


def _stored(server: Server) -> tuple[set[str], set[str]]:
    server.applied()
    engine = connect(server.database_url)
    try:
        with engine.connect() as conn:
            types = set(conn.execute(sa.select(events.c.type)).scalars())
            domains = set(conn.execute(sa.select(accounts.c.domain)).scalars())
        return types, domains
    finally:
        engine.dispose()


def _send(client: Client) -> None:
    user = "kim@globex.example"
    client.identify(user, {"email": user, "title": "Head of Data", "firstName": "Kim"})
    client.group(user, "globex", {"name": "Globex", "website": "https://globex.example",
                                  "employees": 250})
    client.page(user, "Docs", "Pricing", {"url": "https://mql.example/pricing"})
    client.track(user, "Demo Requested", {"plan": "team"})
    client.flush()


def test_the_segment_library_sends_batches_to_our_server(server: Server) -> None:
    errors: list[Exception] = []
    client = Client(server.keys["writer"], host=server.url, sync_mode=True, max_retries=0,
                    on_error=lambda exc, _batch: errors.append(exc))
    _send(client)
    assert errors == []
    types, domains = _stored(server)
    assert {"identify", "group", "page_view", "demo_request"} <= types
    assert "globex.example" in domains


def test_the_segment_library_with_gzip_and_its_background_thread(server: Server) -> None:
    errors: list[Exception] = []
    client = Client(server.keys["writer"], host=server.url, gzip=True, max_retries=0,
                    on_error=lambda exc, _batch: errors.append(exc))
    client.track("lou@initech.example", "Trial Started", {"seats": 3})
    client.flush()
    client.shutdown()
    assert errors == []
    types, _ = _stored(server)
    assert "trial_signup" in types


def test_the_segment_library_reports_a_wrong_write_key(server: Server) -> None:
    client = Client("mql_000000000000_wrong", host=server.url, sync_mode=True, max_retries=0)
    with pytest.raises(APIError) as caught:
        client.track("max@initech.example", "Trial Started")
    assert caught.value.status == 401
    assert "unknown, wrong or revoked" in caught.value.message
