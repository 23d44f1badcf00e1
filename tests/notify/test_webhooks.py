"""Webhooks against a real HTTP receiver on 127.0.0.1 that fails, times out and recovers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from mql.notify.webhooks import backoff, body_of, deliver, sign, verify

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
SECRET = "whsec-test"


class Receiver:
    """A webhook receiver whose next answers are scripted: a status code or "hang"."""

    def __init__(self) -> None:
        self.script: list[int | str] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                action = receiver.script.pop(0) if receiver.script else 200
                if action == "hang":
                    receiver.release.wait(5)
                    return
                receiver.received.append((dict(self.headers), body))
                self.send_response(int(action))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/mql"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=0.5) as c:
        yield c


def _body() -> bytes:
    return body_of("mql.qualified", "d-1", NOW, {"contact": "jane@acme.example", "grade": "A1"})


def _send(client: httpx.Client, url: str, attempt: int, now: datetime = NOW):
    return deliver(client, url, SECRET, event_type="mql.qualified", delivery_id="d-1",
                   body=_body(), attempt=attempt, now=now)


def test_a_delivery_is_signed_and_the_receiver_can_verify_it(receiver, client) -> None:
    result = _send(client, receiver.url, 1)
    assert result.outcome == "delivered"
    headers, body = receiver.received[0]
    assert headers["X-MQL-Delivery"] == "d-1"
    assert verify(SECRET, headers["X-MQL-Signature"], body, now=int(NOW.timestamp()))
    assert not verify("wrong", headers["X-MQL-Signature"], body, now=int(NOW.timestamp()))
    assert not verify(SECRET, headers["X-MQL-Signature"], body + b" ", now=int(NOW.timestamp()))
    old = int((NOW + timedelta(hours=1)).timestamp())
    assert not verify(SECRET, headers["X-MQL-Signature"], body, now=old)
    payload = json.loads(body)
    assert (payload["version"], payload["type"]) == (1, "mql.qualified")


def test_failures_and_timeouts_are_retried_until_the_receiver_recovers(receiver, client) -> None:
    receiver.script = [503, "hang", 500]
    outcomes, now = [], NOW
    for attempt in range(1, 6):
        result = _send(client, receiver.url, attempt, now)
        outcomes.append(result.outcome)
        if result.outcome != "retry":
            break
        assert result.next_attempt_at == now + backoff(attempt)
        now = result.next_attempt_at
    assert outcomes == ["retry", "retry", "retry", "delivered"]
    bodies = {body for _, body in receiver.received}
    assert len(bodies) == 1  # every retry sends the same bytes and delivery id


def test_a_receiver_down_for_an_hour_loses_nothing(client) -> None:
    down = "http://127.0.0.1:9/unreachable"  # discard port: nothing listens
    now, attempt = NOW, 1
    while True:
        result = _send(client, down, attempt, now)
        assert result.outcome == "retry"
        now, attempt = result.next_attempt_at, attempt + 1
        if now - NOW > timedelta(hours=1):
            break
    assert attempt <= 12  # still within the attempts budget after more than an hour


def test_after_the_last_attempt_the_delivery_is_dead_lettered(client) -> None:
    result = _send(client, "http://127.0.0.1:9/unreachable", attempt=12)
    assert result.outcome == "dead"
    assert "cannot reach the receiver" in (result.error or "")


def test_a_receiver_refusing_the_payload_is_not_retried(receiver, client) -> None:
    receiver.script = [400]
    result = _send(client, receiver.url, 1)
    assert (result.outcome, result.status) == ("refused", 400)


def test_signatures_are_hmac_sha256_over_timestamp_and_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("k", 1_700_000_000, b"{}") == f"t=1700000000,v1={expected}"
