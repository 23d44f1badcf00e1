"""One delivery attempt against real receivers on 127.0.0.1 (healthy, failing, slow,
dribbling, unreachable, not even a URL): every one ends in a classified result, within
the deadline, and never in an exception."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from mql.errors import ConfigError
from mql.notify.webhooks import (
    Attempt,
    backoff,
    body_of,
    check_topics,
    check_url,
    deliver,
    seal,
    sign,
    unseal,
    verify,
)
from tests.notify.receivers import Receiver, closed_port

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
SECRET = "whsec-test"
DOCS = Path(__file__).parents[2] / "docs" / "webhooks.md"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _body() -> bytes:
    return body_of("mql.qualified", "d-1", NOW, {"contact": {"email": "jane@acme.example"}})


def _send(url: str, attempt: int = 1, now: datetime = NOW, deadline: float = 2.0,
          secrets: str | list[str] = SECRET, seed: int = 1) -> Attempt:
    async def go() -> Attempt:
        async with httpx.AsyncClient() as client:
            return await deliver(client, url, secrets, event_type="mql.qualified",
                                 delivery_id="d-1", body=_body(), attempt=attempt, now=now,
                                 deadline=deadline, rng=random.Random(seed))
    return asyncio.run(go())


def test_a_delivery_is_signed_and_the_receiver_can_verify_it(receiver) -> None:
    result = _send(receiver.url)
    assert result.outcome == "delivered"
    _, headers, body = receiver.log[0]
    assert headers["X-MQL-Delivery"] == "d-1"
    now = int(NOW.timestamp())
    assert verify(SECRET, headers["X-MQL-Signature"], body, now=now)
    assert not verify("wrong", headers["X-MQL-Signature"], body, now=now)
    assert not verify(SECRET, headers["X-MQL-Signature"], body + b" ", now=now)
    assert not verify(SECRET, headers["X-MQL-Signature"], body, now=now + 3600)  # too old
    assert not verify(SECRET, headers["X-MQL-Signature"], body, now=now - 3600)  # future
    payload = json.loads(body)
    assert (payload["version"], payload["type"]) == (2, "mql.qualified")


def test_during_a_rotation_the_header_carries_both_signatures_and_either_verifies(
        receiver) -> None:
    assert _send(receiver.url, secrets=["new-secret", "old-secret"]).outcome == "delivered"
    _, headers, body = receiver.log[0]
    header = headers["X-MQL-Signature"]
    assert header.count("v1=") == 2 and header.startswith("t=")
    now = int(NOW.timestamp())
    assert verify("new-secret", header, body, now=now)
    assert verify("old-secret", header, body, now=now)
    assert not verify("other", header, body, now=now)
    spaced = header.replace(",", " , ").replace("=", " = ")
    assert verify("old-secret", spaced, body, now=now)


def test_failures_are_retried_until_the_receiver_recovers() -> None:
    r = Receiver(script=[503, 500, 502])
    try:
        outcomes, now = [], NOW
        for attempt in range(1, 6):
            result = _send(r.url, attempt, now)
            outcomes.append(result.outcome)
            if result.outcome != "retry":
                break
            wait = result.next_attempt_at - now
            assert backoff(attempt) <= wait <= backoff(attempt) * 1.1  # plus jitter
            now = result.next_attempt_at
    finally:
        r.close()
    assert outcomes == ["retry", "retry", "retry", "delivered"]
    assert len({body for _, _, body in r.log}) == 1  # every retry sends the same bytes


@pytest.mark.parametrize("status", [500, 501, 505, 507, 599, 408, 425, 429])
def test_every_5xx_and_the_busy_4xx_are_retried(status: int) -> None:
    r = Receiver(script=[status])
    try:
        assert _send(r.url).outcome == "retry"
    finally:
        r.close()


@pytest.mark.parametrize("status", [400, 401, 404, 410, 301])
def test_a_receiver_refusing_the_payload_is_not_retried(status: int) -> None:
    r = Receiver(script=[status])
    try:
        result = _send(r.url)
    finally:
        r.close()
    assert (result.outcome, result.status) == ("refused", status)


def test_retry_after_is_honoured() -> None:
    r = Receiver(script=[(503, {"Retry-After": "900"}), (429, {"Retry-After": "1"})])
    try:
        first, second = _send(r.url, 1), _send(r.url, 5)
    finally:
        r.close()
    assert first.next_attempt_at - NOW == timedelta(seconds=900)  # more than 30 s backoff
    # a shorter Retry-After does not shorten the backoff of attempt 5 (8 min)
    assert timedelta(minutes=8) <= second.next_attempt_at - NOW <= timedelta(minutes=8.8)


def test_a_dribbling_receiver_is_cut_at_the_total_deadline() -> None:
    r = Receiver(dribble=0.2)  # one header line every 0.2 s: no single read times out
    try:
        started = time.monotonic()
        result = _send(r.url, deadline=1.0)
        took = time.monotonic() - started
    finally:
        r.close()
    assert result.outcome == "retry"
    assert "no complete answer within 1 s" in (result.error or "")
    assert 0.9 <= took < 2.0


def test_a_slow_receiver_is_cut_at_the_deadline() -> None:
    r = Receiver(delay=3)
    try:
        started = time.monotonic()
        result = _send(r.url, deadline=0.5)
        assert time.monotonic() - started < 1.5
    finally:
        r.close()
    assert result.outcome == "retry"


@pytest.mark.parametrize("url", ["http://[::1/x", "not-a-url", "ftp://example.com/x", "http://"])
def test_a_url_that_cannot_be_sent_to_is_a_refused_result_not_a_crash(url: str) -> None:
    result = _send(url)
    assert result.outcome == "refused"
    assert "cannot send" in (result.error or "")
    with pytest.raises(ConfigError, match="webhook URL"):
        check_url(url)


def test_a_receiver_that_is_down_is_retried_and_dead_lettered_after_the_last_attempt() -> None:
    down = f"http://127.0.0.1:{closed_port()}/hooks"
    first = _send(down, 1)
    assert first.outcome == "retry" and "cannot reach the receiver" in (first.error or "")
    assert _send(down, 12).outcome == "dead"


def test_twelve_attempts_take_what_the_docs_say() -> None:
    waits = sum((backoff(n) for n in range(1, 12)), timedelta())
    assert waits == timedelta(hours=5, minutes=3, seconds=30)
    text = " ".join(DOCS.read_text().split())
    assert "12 attempts" in text and "5 h 3 min 30 s" in text
    assert "a receiver down for an hour loses nothing" in text.lower()
    assert backoff(1) + backoff(2) + backoff(3) + backoff(4) + backoff(5) + backoff(6) \
        + backoff(7) + backoff(8) > timedelta(hours=1)  # attempt 9 comes after an hour


def test_signatures_are_hmac_sha256_over_timestamp_and_body() -> None:
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("k", 1_700_000_000, b"{}") == f"t=1700000000,v1={expected}"


def test_topics_are_checked_and_a_typo_names_the_nearest() -> None:
    assert check_topics(["*"]) == ["*"]
    with pytest.raises(ConfigError, match=r"did you mean 'mql\.qualified'"):
        check_topics(["mql.qualifed"])
    with pytest.raises(ConfigError, match="at least one topic"):
        check_topics([" ", ""])


def test_secrets_are_sealed_with_the_server_secret() -> None:
    sealed = seal("whsec-1", "server-key")
    assert "whsec-1" not in sealed
    assert unseal(sealed, "server-key") == "whsec-1"
    with pytest.raises(ConfigError, match="MQL_SECRET_KEY"):
        unseal(sealed, "another-key")
