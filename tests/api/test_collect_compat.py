"""What real Segment and RudderStack clients send, against a real server on 127.0.0.1:
analytics.js's short paths with `text/plain` JSON and the write key in the body, CORS per
write key, one error shape, compressed bodies, ids, times and aliases."""

from __future__ import annotations

import gzip
import json
import socket
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import HTTPException
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.api.app import create_app
from mql.api.routes.segment import inflate
from mql.service.keys import create_key
from mql.settings import Settings
from mql.store.db import connect
from mql.store.tables import contacts, events
from tests.api.conftest import (
    SECRET,
    T0,
    Server,
    make_keys,
    make_workspace,
    running,
    settings_for,
)

SITE = "http://127.0.0.1:8123"  # the origin listed for the "website" write key


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose "website" write key may be used from `SITE`, with a second write key
    ("partner") listed for no origin."""
    url = make_workspace(tmp_path_factory.mktemp("compat"))
    keys = make_keys(url)
    engine = connect(url)
    keys["partner"] = create_key(engine, kind="write_key", name="partner", role=None,
                                 team=None, server_secret=SECRET, actor="test", now=T0).secret
    engine.dispose()
    settings = settings_for(url, cors_origins={"website": (SITE,)})
    with running(create_app(settings)) as base:
        yield Server(base, url, keys)


def _track(**extra: Any) -> dict[str, Any]:
    return {"type": "track", "messageId": str(uuid.uuid4()), "userId": "ann@acme.example",
            "event": "Demo Requested", "timestamp": "2026-03-01T09:00:00Z", **extra}


def _rows(server: Server, where: Any) -> list[Any]:
    server.applied()
    engine = connect(server.database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(events).where(where)))
    finally:
        engine.dispose()


def _one(server: Server, message_id: str) -> Any:
    [row] = _rows(server, events.c.event_id == message_id)
    return row


def test_every_error_has_code_and_message_validation_404_and_405_included(
        server: Server) -> None:
    with server.client("admin") as c:
        invalid = c.post("/v1/keys", json={"kind": "write_key"})  # no name
        missing = c.get("/v1/nowhere")
    with server.client("writer") as c:
        method = c.get("/v1/track")
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["code"] == "invalid_request"
    assert "body.name" in body["message"] and body["errors"][0]["field"] == "body.name"
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert method.status_code == 405 and method.json()["code"] == "method_not_allowed"
    for answer in (invalid, missing, method):
        assert isinstance(answer.json()["message"], str) and answer.json()["message"]


def test_analytics_js_short_paths_take_text_plain_with_the_write_key_in_the_body(
        server: Server) -> None:
    page = {"type": "page", "messageId": str(uuid.uuid4()), "anonymousId": "anon-short",
            "name": "Pricing", "category": "Docs", "timestamp": "2026-03-01T09:00:00Z",
            "writeKey": server.keys["writer"], "properties": {"url": f"{SITE}/pricing"}}
    single = httpx.post(f"{server.url}/v1/p", content=json.dumps(page),
                        headers={"Content-Type": "text/plain"})
    track = _track(writeKey=server.keys["writer"])  # analytics.js repeats it in each item
    unknown = {**_track(writeKey=server.keys["writer"]), "userId": None}  # quarantined
    batch = httpx.post(f"{server.url}/v1/b", content=json.dumps(
        {"writeKey": server.keys["writer"], "batch": [track, unknown],
         "sentAt": "2026-03-01T09:00:00Z"}), headers={"Content-Type": "text/plain"})
    assert single.status_code == 200, single.text
    assert batch.status_code == 200, batch.text
    stored = _one(server, page["messageId"])
    assert stored.type == "page_view" and stored.source == "website"
    assert stored.properties["category"] == "Docs" and "writeKey" not in stored.properties
    assert _one(server, track["messageId"]).type == "demo_request"
    with server.client("read-only") as c:
        [held] = [q for q in c.get("/v1/quarantine").json()
                  if unknown["messageId"] in q["raw"]]
    assert server.keys["writer"] not in held["raw"]  # the write key is never stored


def test_a_wrong_write_key_in_the_body_is_401_in_the_error_shape(server: Server) -> None:
    answer = httpx.post(f"{server.url}/v1/t", content=json.dumps(
        {**_track(), "writeKey": "mql_000000000000_nope"}), headers={"Content-Type": "text/plain"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"


def test_cors_preflight_and_origin_are_answered_per_write_key(server: Server) -> None:
    ask = {"Origin": SITE, "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization,content-type"}
    preflight = httpx.options(f"{server.url}/v1/t", headers=ask)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SITE
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "authorization,content-type"
    stranger = httpx.options(f"{server.url}/v1/t", headers={**ask, "Origin": "http://evil.example"})
    assert stranger.status_code == 403
    assert "access-control-allow-origin" not in stranger.headers

    message = _track()
    sent = httpx.post(f"{server.url}/v1/t", content=json.dumps(
        {**message, "writeKey": server.keys["writer"]}), headers={
        "Content-Type": "text/plain", "Origin": SITE})
    assert sent.status_code == 200, sent.text
    assert sent.headers["access-control-allow-origin"] == SITE
    # the origin is listed for "website" only: the partner key may not be used from it
    other = httpx.post(f"{server.url}/v1/t", content=json.dumps(
        {**_track(), "writeKey": server.keys["partner"]}), headers={
        "Content-Type": "text/plain", "Origin": SITE})
    assert other.status_code == 403 and other.json()["code"] == "forbidden"
    assert other.headers["access-control-allow-origin"] == SITE  # so the page reads why
    evil = httpx.post(f"{server.url}/v1/t", content=json.dumps(
        {**_track(), "writeKey": server.keys["writer"]}), headers={
        "Content-Type": "text/plain", "Origin": "http://evil.example"})
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    assert len(_rows(server, events.c.event_id == message["messageId"])) == 1


@pytest.mark.parametrize("encoding", ["deflate-zlib", "deflate-raw", "gzip-members"])
def test_deflate_and_multi_member_gzip_bodies_land(server: Server, encoding: str) -> None:
    messages = [_track(), _track()]
    text = json.dumps({"batch": messages}).encode()
    if encoding == "deflate-zlib":
        body, header = zlib.compress(text), "deflate"
    elif encoding == "deflate-raw":
        raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body, header = raw.compress(text) + raw.flush(), "deflate"
    else:
        half = len(text) // 2
        body, header = gzip.compress(text[:half]) + gzip.compress(text[half:]), "gzip"
    with server.client("writer") as c:
        answer = c.post("/v1/batch", content=body, headers={"Content-Encoding": header})
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 2
    assert len(_rows(server, events.c.event_id.in_([m["messageId"] for m in messages]))) == 2


def test_an_identify_sent_to_track_is_quarantined_not_processed(server: Server) -> None:
    message = {"type": "identify", "messageId": str(uuid.uuid4()),
               "userId": "wrong-route@acme.example", "timestamp": "2026-03-01T09:00:00Z",
               "traits": {"email": "wrong-route@acme.example", "title": "CEO"}}
    with server.client("writer") as c:
        answer = c.post("/v1/track", json=message)
    assert answer.status_code == 200
    [rejected] = answer.json()["rejected"]
    assert rejected["field"] == "type" and "/v1/identify" in rejected["reason"]
    assert _rows(server, events.c.event_id == message["messageId"]) == []
    engine = connect(server.database_url)
    with engine.connect() as conn:
        found = conn.execute(sa.select(contacts.c.id).where(
            contacts.c.email == "wrong-route@acme.example")).all()
    engine.dispose()
    assert found == []
    with server.client("read-only") as c:
        held = c.get("/v1/quarantine").json()
    assert [q["field"] for q in held if message["messageId"] in q["raw"]] == ["type"]


def test_epoch_millisecond_timestamps_on_a_single_route(server: Server) -> None:
    message = _track(timestamp=1772445600000)  # 2026-03-02T10:00:00Z
    with server.client("writer") as c:
        answer = c.post("/v1/track", json=message)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
    assert _one(server, message["messageId"]).at.replace(tzinfo=UTC) == \
        datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_a_message_id_over_200_characters_is_refused_alike_in_batch_and_single(
        server: Server) -> None:
    long_id = "x" * 201
    with server.client("writer") as c:
        single = c.post("/v1/track", json=_track(messageId=long_id))
        batch = c.post("/v1/batch", json={"batch": [_track(messageId=long_id), _track()]})
    assert single.status_code == batch.status_code == 200
    [one] = single.json()["rejected"]
    [other] = batch.json()["rejected"]
    assert one["field"] == other["field"] == "messageId"
    assert one["reason"] == other["reason"] and "at most 200" in one["reason"]
    assert batch.json()["accepted"] == 1


def test_no_message_id_gets_a_deterministic_one_so_a_retry_lands_once(server: Server) -> None:
    message = {"type": "track", "userId": "curl@acme.example", "event": "Signed Up",
               "timestamp": "2026-03-01T09:00:00Z"}
    with server.client("writer") as c:
        first = c.post("/v1/track", json={**message, "sentAt": "2026-03-01T09:00:01Z"})
        again = c.post("/v1/track", json={**message, "sentAt": "2026-03-01T09:00:09Z"})
    assert first.json()["accepted"] == again.json()["accepted"] == 1
    stored = _rows(server, events.c.type == "signed_up")
    assert len(stored) == 1 and stored[0].event_id.startswith("mql-")


def _contact_of(server: Server, email: str) -> int:
    server.applied()
    engine = connect(server.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(contacts.c.id).where(
                contacts.c.email == email)).scalar_one())
    finally:
        engine.dispose()


def test_alias_links_the_anonymous_history_to_the_user_within_the_guardrails(
        server: Server) -> None:
    visit = {"type": "page", "messageId": str(uuid.uuid4()), "anonymousId": "anon-alias",
             "name": "Pricing", "timestamp": "2026-03-01T08:00:00Z"}
    with server.client("writer") as c:
        assert c.post("/v1/page", json=visit).status_code == 200
        server.applied()
        assert _one(server, visit["messageId"]).contact_id is None
        assert c.post("/v1/alias", json={
            "messageId": str(uuid.uuid4()), "previousId": "anon-alias",
            "userId": "alias@acme.example", "timestamp": "2026-03-01T09:00:00Z"}
            ).status_code == 200
    owner = _contact_of(server, "alias@acme.example")
    assert _one(server, visit["messageId"]).contact_id == owner
    # the cookie is taken: aliasing it to somebody else leaves the history where it is
    with server.client("writer") as c:
        assert c.post("/v1/alias", json={
            "messageId": str(uuid.uuid4()), "previousId": "anon-alias",
            "userId": "thief@acme.example", "timestamp": "2026-03-01T10:00:00Z"}
            ).status_code == 200
    assert _one(server, visit["messageId"]).contact_id == owner


def test_clock_skew_is_measured_from_when_the_request_arrived(server: Server) -> None:
    """A slow upload (headers now, body a second later) is not clock skew: the client's
    clock is right, so the event keeps its own timestamp."""
    now = datetime.now(UTC)
    message = _track(timestamp=now.isoformat(), sentAt=now.isoformat())
    body = json.dumps(message).encode()
    host, port = server.url.removeprefix("http://").split(":")
    head = (f"POST /v1/track HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Authorization: Basic {_basic(server.keys['writer'])}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(head)
        time.sleep(1.0)
        s.sendall(body)
        answer = s.recv(65536)
    assert b" 200 " in answer.split(b"\r\n", 1)[0], answer
    stored = _one(server, message["messageId"]).at.replace(tzinfo=UTC)
    assert abs(stored - now) < timedelta(seconds=0.5), (stored, now)


def _basic(key: str) -> str:
    import base64
    return base64.b64encode(f"{key}:".encode()).decode()


def test_write_keys_have_their_own_rate_limit(tmp_path: Path) -> None:
    """Tokens here may send 5 requests at once; a write key sends a website's traffic."""
    assert Settings(database_url="sqlite://").api_write_key_rate_per_second >= 1000
    url = make_workspace(tmp_path)
    keys = make_keys(url)
    settings = settings_for(url, api_rate_per_second=1.0, api_rate_burst=5)
    with running(create_app(settings)) as base:
        with httpx.Client(base_url=base, auth=(keys["writer"], "")) as c:
            statuses = {c.post("/v1/track", json=_track()).status_code for _ in range(30)}
        with httpx.Client(base_url=base, headers={
                "Authorization": f"Bearer {keys['sales']}"}) as c:
            reads = [c.get("/v1/inbox") for _ in range(10)]
    assert statuses == {200}
    assert [r.status_code for r in reads[:5]] == [200] * 5
    strict = settings_for(url, api_write_key_rate_per_second=0.5, api_write_key_rate_burst=2)
    with running(create_app(strict)) as base, httpx.Client(
            base_url=base, auth=(keys["writer"], "")) as c:
        sent = [c.post("/v1/track", json=_track()) for _ in range(3)]
    assert [r.status_code for r in sent] == [200, 200, 429]
    assert sent[2].json()["code"] == "too_many_requests"  # what the clients retry
    assert reads[-1].status_code == 429 and reads[-1].json()["code"] == "too_many_requests"
    assert int(reads[-1].headers["retry-after"]) >= 1


def test_the_example_workspace_has_no_origins(tmp_path: Path) -> None:
    """Without MQL_CORS_ORIGINS no browser origin may send events."""
    url = make_workspace(tmp_path)
    keys = make_keys(url)
    with running(create_app(settings_for(url))) as base:
        answer = httpx.post(f"{base}/v1/t", content=json.dumps(
            {**_track(), "writeKey": keys["writer"]}), headers={"Origin": SITE})
    assert answer.status_code == 403
    assert "MQL_CORS_ORIGINS" in answer.json()["message"]


@given(text=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 2000), max_size=4))
@settings(max_examples=50, deadline=None)
def test_inflate_joins_every_gzip_member_and_never_exceeds_the_limit(
        text: bytes, cuts: list[int]) -> None:
    bounds = sorted({0, len(text), *(min(c, len(text)) for c in cuts)})
    body = b"".join(gzip.compress(text[a:b]) for a, b in pairwise(bounds))
    assert inflate(body or gzip.compress(b""), "gzip", 2000) == text
    if len(text) > 10:
        with pytest.raises(HTTPException) as refused:
            inflate(body, "gzip", 10)
        assert refused.value.status_code == 413


def test_analytics_js_settings_point_at_this_server_for_a_live_write_key(
        server: Server) -> None:
    key = server.keys["writer"]
    found = httpx.get(f"{server.url}/v1/projects/{key}/settings", headers={"Origin": SITE})
    assert found.status_code == 200, found.text
    assert found.headers["access-control-allow-origin"] == SITE
    assert found.json()["integrations"]["Segment.io"] == {
        "apiKey": key, "apiHost": server.url.removeprefix("http://") + "/v1",
        "protocol": "http"}
    wrong = httpx.get(f"{server.url}/v1/projects/mql_000000000000_nope/settings")
    assert wrong.status_code == 401 and wrong.json()["code"] == "unauthorized"
    token = httpx.get(f"{server.url}/v1/projects/{server.keys['admin']}/settings")
    assert token.status_code == 403
    partner = httpx.get(f"{server.url}/v1/projects/{server.keys['partner']}/settings",
                        headers={"Origin": SITE})
    assert partner.status_code == 403
