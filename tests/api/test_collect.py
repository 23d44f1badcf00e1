"""Segment-shaped collection through a real server: acks once in the inbox and applied right
behind, quarantine of bad messages, idempotent retries, gzip bodies and the 32 KB / 500 KB
limits."""

from __future__ import annotations

import gzip
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from mql.store.db import connect
from mql.store.tables import events
from tests.api.conftest import Server


def _track(email: str, event: str = "Demo Requested", **extra: Any) -> dict[str, Any]:
    return {"type": "track", "messageId": str(uuid.uuid4()), "userId": email, "event": event,
            "timestamp": "2026-03-01T09:00:00Z", "properties": {"plan": "pro"}, **extra}


def _events_with(server: Server, message_ids: list[str]) -> int:
    server.applied()
    engine = connect(server.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(events)
                                    .where(events.c.event_id.in_(message_ids))).scalar_one())
    finally:
        engine.dispose()


def test_track_is_acknowledged_once_stored_and_the_lead_reads_back_once_applied(
        server: Server) -> None:
    message = _track("ada@acme.example")
    with server.client("writer") as c:
        answer = c.post("/v1/track", json=message)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"success": True, "received": 1, "accepted": 1, "rejected": []}
    assert _events_with(server, [message["messageId"]]) == 1
    identify = {"messageId": str(uuid.uuid4()), "userId": "ada@acme.example",
                "traits": {"email": "ada@acme.example", "title": "VP Marketing"},
                "timestamp": "2026-03-01T08:00:00Z"}
    with server.client("writer") as c:
        assert c.post("/v1/identify", json=identify).status_code == 200
    server.applied()
    with server.client("read-only") as c:
        lead = c.get("/v1/leads/ada@acme.example")
    assert lead.status_code == 200, lead.text
    assert lead.json()["email"] == "ada@acme.example"
    decision = lead.json()["decision"]
    # a VP (senior_title, 20 fit points) with no account data; the "Demo Requested" track
    # is the model's demo_request (40 points, half-life 45 days), decayed from its time to
    # the moment of the decision (the server's clock: the fast track's 30 days are over)
    age = datetime.fromisoformat(decision["as_of"]) - datetime(2026, 3, 1, 9, tzinfo=UTC)
    intent = 40.0 * 2 ** (-age.total_seconds() / (45 * 86400))
    assert decision["mql"] is False
    assert decision["scores"] == pytest.approx(
        {"fit": 20.0, "intent": intent, "security_intent": 0.0, "total": 20.0 + intent},
        rel=1e-9)


def test_a_batch_stores_valid_messages_and_quarantines_invalid_ones_with_reasons(
        server: Server) -> None:
    good = [_track("bob@acme.example"), _track("bob@acme.example", "Pricing Viewed")]
    bad = {"type": "track", "messageId": str(uuid.uuid4()), "event": "x",
           "timestamp": "2026-03-01T09:00:00Z"}  # no userId nor anonymousId
    with server.client("writer") as c:
        answer = c.post("/v1/batch", json={"batch": [good[0], bad, good[1]],
                                           "sentAt": "2026-03-01T09:00:01Z"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["received"], body["accepted"]) == (3, 2)
    [rejected] = body["rejected"]
    assert rejected["index"] == 1 and rejected["field"] == "userId"
    assert rejected["quarantined"] is True and "anonymousId" in rejected["reason"]
    assert _events_with(server, [m["messageId"] for m in good]) == 2
    with server.client("read-only") as c:
        held = c.get("/v1/quarantine").json()
    [row] = [q for q in held if q["field"] == "userId" and q["source"] == "website"]
    with server.client("admin") as c:
        retried = c.post("/v1/quarantine/retry", json={"ids": [row["id"]]})
    assert retried.status_code == 200, retried.text
    assert retried.json()["loaded"] == [] and retried.json()["failed"][0]["id"] == row["id"]


def test_a_retried_batch_is_not_counted_twice(server: Server) -> None:
    batch = {"batch": [_track("cy@acme.example"), _track("cy@acme.example", "Webinar")]}
    with server.client("writer") as c:
        first = c.post("/v1/import", json=batch)
        again = c.post("/v1/import", json=batch)
    assert first.status_code == again.status_code == 200
    ids = [m["messageId"] for m in batch["batch"]]
    assert _events_with(server, ids) == 2


def test_gzip_bodies_are_accepted(server: Server) -> None:
    message = _track("dee@acme.example")
    body = gzip.compress(json.dumps({"batch": [message]}).encode())
    with server.client("writer") as c:
        answer = c.post("/v1/batch", content=body, headers={
            "Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert _events_with(server, [message["messageId"]]) == 1


def _quarantined(server: Server, message_id: str) -> list[dict[str, Any]]:
    server.applied()
    with server.client("read-only") as c:
        held = c.get("/v1/quarantine").json()
    return [q for q in held if json.loads(q["raw"]).get("messageId") == message_id]


def test_a_message_over_32_kb_is_quarantined_and_answered_413_in_the_error_shape(
        server: Server) -> None:
    message = _track("eve@acme.example", properties={"blob": "x" * 33_000})
    with server.client("writer") as c:
        answer = c.post("/v1/track", json=message)
    assert answer.status_code == 413
    body = answer.json()
    assert body["code"] == "message_too_large" and "32 KB" in body["message"]
    assert (body["received"], body["accepted"]) == (1, 0)
    assert _events_with(server, [message["messageId"]]) == 0
    [held] = _quarantined(server, message["messageId"])
    assert "at most 32 KB" in held["reason"]


def test_a_batch_up_to_4_mb_lands_and_above_is_refused_even_when_gzip_makes_it_small(
        server: Server) -> None:
    near = {"batch": [_track("fay@acme.example", properties={"blob": "y" * 20_000})
                      for _ in range(190)]}  # 3.8 MB: what RudderStack sends
    with server.client("writer") as c:
        answer = c.post("/v1/batch", json=near)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 190
    over = {"batch": [_track("fay@acme.example", properties={"blob": "y" * 20_000})
                      for _ in range(220)]}  # 4.4 MB
    body = gzip.compress(json.dumps(over).encode())
    assert len(body) < 200_000
    with server.client("writer") as c:
        answer = c.post("/v1/batch", content=body, headers={
            "Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.json()["code"] == "body_too_large"
    assert "4,194,304 bytes" in answer.json()["message"]


def test_an_oversized_message_inside_a_batch_is_quarantined_and_the_rest_lands(
        server: Server) -> None:
    big = _track("gus@acme.example", properties={"blob": "z" * 40_000})
    small = _track("gus@acme.example")
    with server.client("writer") as c:
        answer = c.post("/v1/batch", json={"batch": [big, small]})
    assert answer.status_code == 413, answer.text
    body = answer.json()
    assert body["code"] == "message_too_large"
    assert (body["received"], body["accepted"]) == (2, 1)
    [rejected] = body["rejected"]
    assert rejected["index"] == 0 and "32 KB" in rejected["reason"]
    assert rejected["quarantined"] is True
    assert _events_with(server, [small["messageId"]]) == 1
    assert len(_quarantined(server, big["messageId"])) == 1


def test_collection_without_a_key_or_with_a_token_is_refused_clearly(server: Server) -> None:
    with server.client() as c:
        anonymous = c.post("/v1/track", json=_track("hal@acme.example"))
    assert anonymous.status_code == 401
    assert "HTTP Basic username" in anonymous.json()["detail"]
    with server.client("admin") as c:
        token = c.post("/v1/track", json=_track("hal@acme.example"))
    assert token.status_code == 403
    assert "write key" in token.json()["detail"]
    with httpx.Client(base_url=server.url, auth=("mql_000000000000_nope", "")) as c:
        wrong = c.post("/v1/track", json=_track("hal@acme.example"))
    assert wrong.status_code == 401
    assert "unknown, wrong or revoked" in wrong.json()["detail"]


def test_the_same_batch_sent_concurrently_lands_once(server: Server) -> None:
    batch = {"batch": [_track("ivy@acme.example", f"Step {n}") for n in range(20)]}

    def send(_: int) -> int:
        with server.client("writer") as c:
            return c.post("/v1/batch", json=batch).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, range(8)))
    assert statuses == [200] * 8
    ids = [m["messageId"] for m in batch["batch"]]
    assert _events_with(server, ids) == 20
