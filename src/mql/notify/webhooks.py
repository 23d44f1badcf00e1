"""Webhook deliveries: versioned JSON payloads, HMAC-SHA256 signatures, retries.

Every delivery carries a stable delivery id (receivers de-duplicate on it: delivery is at
least once), a timestamp and a signature over ``"{timestamp}.{body}"`` so a receiver can
check both origin and freshness:

    X-MQL-Delivery: 5f0c...          the delivery id, the same on every retry
    X-MQL-Event: mql.qualified       the payload type
    X-MQL-Signature: t=1767225600,v1=<hex HMAC-SHA256(secret, "t.body")>

While a secret is being rotated the header carries one `v1` per live secret (the new one
first), as Stripe does; a receiver accepts the request when any of them matches.

A failed attempt (connection error, no answer within the deadline, 408, 425, 429, any
5xx) is retried with exponential backoff plus jitter, never sooner than a `Retry-After`
asks; after `max_attempts` the delivery is dead-lettered and stays retriable. Any other
answer (a 3xx, a 4xx, a URL that cannot be sent to) refuses the delivery, with the reason.

>>> sign("s3cret", 1767225600, b'{"a":1}')
't=1767225600,v1=7d4120fcebf444efab10ba7cd6c651bf463cefb039db5fad37ff9f7231ac8a4a'
>>> header = "t=1767225600, v1=00, v1=" + _mac("s3cret", 1767225600, b'{"a":1}')
>>> verify("s3cret", header, b'{"a":1}', now=1767225700)
True
"""

from __future__ import annotations

import asyncio
import base64
import difflib
import hashlib
import hmac
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from mql.errors import ConfigError

PAYLOAD_VERSION = 2  # 2: contact, account and transition are objects; sequence
EVENT_TYPES = ("mql.qualified", "lead.assigned", "lead.owner_changed", "sla.breached",
               "lead.recycled", "lead.accepted", "lead.converted", "account.engaged",
               "mql.nurture.enrolled", "mql.nurture.unenrolled",
               "model.drift", "account.mqa", "webhook.test")
TOPICS = tuple(t for t in EVENT_TYPES if t != "webhook.test")  # what one can subscribe to
RETRYABLE_4XX = frozenset({408, 425, 429})
MAX_RETRY_AFTER = timedelta(hours=6)  # a Retry-After beyond this is read as this


def retryable(status: int) -> bool:
    """Whether an answer with `status` is worth another attempt: 408, 425, 429, any 5xx.

    >>> [retryable(s) for s in (500, 501, 505, 507, 599, 429, 404, 301)]
    [True, True, True, True, True, True, False, False]
    """
    return status in RETRYABLE_4XX or 500 <= status <= 599


# -- subscriptions: what may be stored ---------------------------------------------------

def check_url(url: str) -> str:
    """`url` when a delivery can be POSTed to it (absolute http or https with a host);
    `ConfigError` naming what is wrong otherwise.

    >>> check_url("https://crm.example/hooks/mql")
    'https://crm.example/hooks/mql'
    >>> check_url("http://[::1/x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    mql.errors.ConfigError: webhook URL 'http://[::1/x' is not a valid URL: ...
    >>> check_url("not-a-url")
    Traceback (most recent call last):
    mql.errors.ConfigError: webhook URL 'not-a-url' must start with http:// or https://
    """
    if len(url) > 2000:
        raise ConfigError(f"webhook URL {url[:60]!r}... is longer than 2000 characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise ConfigError(f"webhook URL {url!r} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise ConfigError(f"webhook URL {url!r} must start with http:// or https://")
    if not parsed.host:
        raise ConfigError(f"webhook URL {url!r} names no host")
    return url


def check_topics(names: Iterable[str]) -> list[str]:
    """The topics, cleaned and checked against the documented list (`*`: all of them);
    a typo is refused with the nearest name.

    >>> check_topics([" mql.qualified", "lead.assigned"])
    ['mql.qualified', 'lead.assigned']
    >>> check_topics(["mql.qualifed"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    mql.errors.ConfigError: unknown webhook topic 'mql.qualifed' (did you mean 'mql.qualified'?)...
    """
    clean = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not clean:
        raise ConfigError("a webhook needs at least one topic (or * for all)")
    for name in clean:
        if name != "*" and name not in TOPICS:
            near = difflib.get_close_matches(name, TOPICS, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(f"unknown webhook topic {name!r}{hint}; topics: "
                              f"{', '.join(TOPICS)} or *")
    return clean


def check_secret(secret: str) -> str:
    """A signing secret: not empty, no surrounding spaces."""
    if not secret or not secret.strip():
        raise ConfigError("a webhook needs a non-empty signing secret")
    if len(secret) > 500:
        raise ConfigError("the webhook secret is longer than 500 characters")
    if secret != secret.strip():
        raise ConfigError("the webhook secret starts or ends with spaces; remove them")
    return secret


# -- secrets at rest: encrypted with the server secret ------------------------------------

def _fernet(server_secret: str) -> Any:
    from cryptography.fernet import Fernet

    key = hashlib.sha256(b"mql webhook secrets\x00" + server_secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str, server_secret: str) -> str:
    """`secret` encrypted (Fernet, keyed from the server secret) for the store.

    >>> unseal(seal("whsec", "server"), "server")
    'whsec'
    """
    return "fernet:" + str(_fernet(server_secret).encrypt(secret.encode()).decode())


def unseal(stored: str, server_secret: str) -> str:
    """The secret sealed in `stored`; `ConfigError` when the server secret is not the one
    it was sealed with. A value without the `fernet:` mark is a secret stored before
    encryption, returned as it is."""
    if not stored.startswith("fernet:"):
        return stored
    from cryptography.fernet import InvalidToken

    try:
        return str(_fernet(server_secret).decrypt(stored.removeprefix("fernet:").encode())
                   .decode())
    except InvalidToken:
        raise ConfigError("cannot decrypt a webhook secret: MQL_SECRET_KEY is not the key it "
                          "was stored with") from None


# -- signatures ---------------------------------------------------------------------------

def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str | Sequence[str], timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (Unix seconds): one `v1`
    per secret (several while a secret is rotated, the newest first)."""
    secrets = [secret] if isinstance(secret, str) else list(secret)
    return ",".join([f"t={timestamp}", *(f"v1={_mac(s, timestamp, body)}" for s in secrets)])


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: True when one of the header's `v1` values signs `body` and its
    timestamp is at most `tolerance` seconds from `now`, in the past or in the future.
    Spaces around the parts are allowed."""
    stamps: list[str] = []
    macs: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key.strip() == "t":
            stamps.append(value.strip())
        elif key.strip() == "v1":
            macs.append(value.strip())
    if len(stamps) != 1 or not macs:
        return False
    try:
        timestamp = int(stamps[0])
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = _mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, m) for m in macs)


def body_of(event_type: str, delivery_id: str, occurred_at: datetime,
            data: Mapping[str, Any], sequence: int | None = None) -> bytes:
    """The JSON body of a delivery (keys sorted, so a retry sends the same bytes).
    `sequence` counts the deliveries of one subscription (1, 2, 3 ... in the order their
    causes were committed)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}; one of {EVENT_TYPES}")
    envelope: dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "type": event_type,
        "delivery_id": delivery_id,
        "occurred_at": occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    if sequence is not None:
        envelope["sequence"] = sequence
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), default=str).encode()


# -- the retry schedule --------------------------------------------------------------------

def backoff(attempt: int, *, base: float = 30.0, cap: float = 3600.0) -> timedelta:
    """The wait before attempt `attempt + 1` (attempt counts from 1), before jitter: 30 s,
    1 min, 2 min, ... capped at one hour, so a receiver down for an hour still gets
    everything. The 11 waits of 12 attempts add up to 5 h 3 min 30 s.

    >>> [backoff(n).total_seconds() for n in (1, 2, 3, 10)]
    [30.0, 60.0, 120.0, 3600.0]
    >>> sum(backoff(n).total_seconds() for n in range(1, 12))
    18210.0
    """
    return timedelta(seconds=min(cap, base * 2 ** (attempt - 1)))


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The wait a `Retry-After` header asks for (seconds or an HTTP date), at most
    `MAX_RETRY_AFTER`; None when absent or unreadable.

    >>> t = datetime(2026, 3, 2, 10, tzinfo=UTC)
    >>> retry_after("120", t), retry_after("Mon, 02 Mar 2026 10:05:00 GMT", t)
    (datetime.timedelta(seconds=120), datetime.timedelta(seconds=300))
    """
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        wait = timedelta(seconds=int(text))
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wait = max(timedelta(0), when - now)
    return min(wait, MAX_RETRY_AFTER)


def next_wait(attempt: int, asked: timedelta | None, rng: random.Random,
              jitter: float = 0.1) -> timedelta:
    """The wait before the next attempt: the backoff plus up to `jitter` of it at random
    (so receivers recovering from an outage are not hit by every sender at once), never
    less than the receiver's `Retry-After`."""
    wait = backoff(attempt)
    wait += wait * (jitter * rng.random())
    return max(wait, asked) if asked is not None else wait


Outcome = Literal["delivered", "retry", "dead", "refused"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt did, and what to do next."""

    outcome: Outcome
    status: int | None
    error: str | None
    next_attempt_at: datetime | None
    seconds: float = 0.0  # how long the attempt took


async def deliver(
    client: httpx.AsyncClient,
    url: str,
    secrets: str | Sequence[str],
    *,
    event_type: str,
    delivery_id: str,
    body: bytes,
    attempt: int,
    now: datetime,
    deadline: float = 10.0,
    max_attempts: int = 12,
    rng: random.Random | None = None,
) -> Attempt:
    """Send one attempt of a delivery and classify the result; never raises.

    `deadline` bounds the whole attempt (connect, send, every header line and the body of
    the answer), so a receiver dribbling its answer cannot hold it longer. `now` is real
    time: it signs the request and schedules the retry. The caller stores the outcome with
    the outbox row: `retry` comes back at `next_attempt_at`, `dead` and `refused` wait for
    `mql outbox retry`.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    status: int | None = None
    asked: timedelta | None = None
    try:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "mql-webhooks/1",
            "X-MQL-Delivery": delivery_id,
            "X-MQL-Event": event_type,
            "X-MQL-Signature": sign(secrets, int(now.timestamp()), body),
        }
        async with asyncio.timeout(deadline):
            response = await client.post(url, content=body, headers=headers)
    except TimeoutError:
        error = f"no complete answer within {deadline:g} s"
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        return Attempt("refused", None, f"cannot send to {url!r}: {exc}", None,
                       loop.time() - started)
    except httpx.TimeoutException:
        error = f"no complete answer within {deadline:g} s"
    except httpx.TransportError as exc:
        error = f"cannot reach the receiver: {exc.__class__.__name__}: {exc}"
    except Exception as exc:  # anything else is this delivery's result, never a crash
        return Attempt("refused", None, f"cannot send: {exc.__class__.__name__}: {exc}",
                       None, loop.time() - started)
    else:
        took = loop.time() - started
        status = response.status_code
        if response.is_success:
            return Attempt("delivered", status, None, None, took)
        error = f"receiver answered {status}: {response.text[:200]}"
        if not retryable(status):
            return Attempt("refused", status, error, None, took)
        asked = retry_after(response.headers.get("Retry-After"), now)
    took = loop.time() - started
    if attempt >= max_attempts:
        return Attempt("dead", status, error, None, took)
    wait = next_wait(attempt, asked, rng or random.Random())
    return Attempt("retry", status, error, now + wait, took)
