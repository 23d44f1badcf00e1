"""Webhook deliveries: versioned JSON payloads, HMAC-SHA256 signatures, retries.

Every delivery carries a stable delivery id (receivers de-duplicate on it: delivery is at
least once), a timestamp and a signature over ``"{timestamp}.{body}"`` so a receiver can
check both origin and freshness:

    X-MQL-Delivery: 5f0c...          the delivery id, the same on every retry
    X-MQL-Event: mql.qualified       the payload type
    X-MQL-Signature: t=1767225600,v1=<hex HMAC-SHA256(secret, "t.body")>

A failed attempt (connection error, timeout, 5xx, 429) is retried with exponential
backoff; after `max_attempts` the delivery is dead-lettered and stays retriable. A 4xx
other than 408/429 is a permanent failure: the receiver refused the payload.

>>> sign("s3cret", 1767225600, b'{"a":1}')
't=1767225600,v1=7d4120fcebf444efab10ba7cd6c651bf463cefb039db5fad37ff9f7231ac8a4a'
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx

PAYLOAD_VERSION = 1
EVENT_TYPES = ("mql.qualified", "lead.assigned", "sla.breached", "lead.recycled",
               "account.engaged")
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: True when `header` signs `body` and is at most `tolerance`
    seconds old."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = sign(secret, timestamp, body)
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(expected, header)


def body_of(event_type: str, delivery_id: str, occurred_at: datetime,
            data: Mapping[str, Any]) -> bytes:
    """The JSON body of a delivery (keys sorted, so a retry sends the same bytes)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}; one of {EVENT_TYPES}")
    envelope = {
        "version": PAYLOAD_VERSION,
        "type": event_type,
        "delivery_id": delivery_id,
        "occurred_at": occurred_at.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), default=str).encode()


def backoff(attempt: int, *, base: float = 30.0, cap: float = 3600.0) -> timedelta:
    """The wait before attempt `attempt + 1` (attempt counts from 1): 30 s, 1 min, 2 min,
    ... capped at one hour, so a receiver down for an hour still gets everything.

    >>> [backoff(n).total_seconds() for n in (1, 2, 3, 10)]
    [30.0, 60.0, 120.0, 3600.0]
    """
    return timedelta(seconds=min(cap, base * 2 ** (attempt - 1)))


Outcome = Literal["delivered", "retry", "dead", "refused"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt did, and what to do next."""

    outcome: Outcome
    status: int | None
    error: str | None
    next_attempt_at: datetime | None


def deliver(
    client: httpx.Client,
    url: str,
    secret: str,
    *,
    event_type: str,
    delivery_id: str,
    body: bytes,
    attempt: int,
    now: datetime,
    max_attempts: int = 12,
) -> Attempt:
    """Send one attempt of a delivery and classify the result.

    The caller (the worker) stores the outcome with the outbox row: `retry` comes back at
    `next_attempt_at`, `dead` and `refused` wait for `mql outbox retry`.
    """
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "mql-webhooks/1",
        "X-MQL-Delivery": delivery_id,
        "X-MQL-Event": event_type,
        "X-MQL-Signature": sign(secret, int(now.timestamp()), body),
    }
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        status, error = None, "timed out"
    except httpx.TransportError as exc:
        status, error = None, f"cannot reach the receiver: {exc.__class__.__name__}: {exc}"
    else:
        if response.is_success:
            return Attempt("delivered", response.status_code, None, None)
        status = response.status_code
        error = f"receiver answered {status}: {response.text[:200]}"
        if status not in RETRYABLE_STATUS:
            return Attempt("refused", status, error, None)
    if attempt >= max_attempts:
        return Attempt("dead", status, error, None)
    return Attempt("retry", status, error, now + backoff(attempt))
