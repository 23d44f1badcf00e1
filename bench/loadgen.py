"""A small HTTP/1.1 load generator, run as its own process so it does not share the
server's core: `concurrency` keep-alive connections on raw asyncio streams (uvloop when
installed), each sending its next request as soon as the previous answer arrived, for a
bounded time. Prints one JSON object: requests, non-2xx answers, latencies (p50/p99, ms).

    python bench/loadgen.py URL KIND SECONDS CONCURRENCY [AUTH_USER [WORLD_CONTACTS]]

KIND is `health` (GET), `track` (one Segment track message), `batch` (100 of them) or
`world` (100 messages of a realistic world: `world_message`).
Every message has a fresh `messageId`, so none is dropped as a resend. httpx costs about
as much CPU per request as the server does, which is why this is hand-written: a load
generator must be cheaper than what it measures.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

CONTACTS = 500  # known visitors (the bench creates them first): the steady state of a site
EVENTS = ("Page Viewed", "Pricing Viewed", "Webinar Attended")
WORLD_CONTACTS = 50_000  # the realistic world: people over accounts
WORLD_ACCOUNTS = 5_000
WORLD_EVENTS = ("Pricing Viewed", "Webinar Attended", "Whitepaper Downloaded", "Demo Requested",
                "Trial Started")


def world_contact(c: int) -> tuple[str, str, str]:
    """(email, anonymous id, account domain) of the world's contact `c`."""
    domain = f"acct{c % WORLD_ACCOUNTS}.example"
    return f"p{c}@{domain}", f"v{c:07d}", domain


def world_message(n: int, stamp: str, contacts: int = WORLD_CONTACTS) -> dict[str, object]:
    """The `n`-th message of the realistic world: 20% page views of anonymous visitors,
    10% identify calls (a visitor tells who they are: the cookie joins the contact and
    its earlier page views follow), 5% group calls with firmographics, 65% tracks of
    known people; the contact is spread over `contacts` people and 1 in 10 accounts."""
    c = (n * 7919) % contacts
    email, anonymous, domain = world_contact(c)
    base: dict[str, object] = {"messageId": f"w{n:x}-{time.monotonic_ns():x}",
                               "timestamp": stamp}
    slot = n % 20
    if slot < 4:
        return {**base, "type": "page", "anonymousId": anonymous, "name": "Pricing",
                "properties": {"path": "/pricing"}}
    if slot < 6:
        return {**base, "type": "identify", "userId": email, "anonymousId": anonymous,
                "traits": {"email": email, "first_name": f"P{c}", "title": "VP Engineering",
                           "company": f"Account {c % WORLD_ACCOUNTS}"}}
    if slot == 6:
        return {**base, "type": "group", "userId": email, "groupId": domain,
                "traits": {"website": domain, "name": f"Account {c % WORLD_ACCOUNTS}",
                           "employees": 50 + (c % 5000), "industry": "Software"}}
    return {**base, "type": "track", "userId": email, "anonymousId": anonymous,
            "event": WORLD_EVENTS[n % len(WORLD_EVENTS)], "properties": {"n": n}}


def track_message(n: int, stamp: str) -> str:
    """One Segment track message as JSON text (n picks the contact and the event)."""
    return (f'{{"type":"track","messageId":"m{n:x}-{time.monotonic_ns():x}",'
            f'"userId":"u{n % CONTACTS}@co{n % 100}.example",'
            f'"event":"{EVENTS[n % 3]}","timestamp":"{stamp}","properties":{{"n":{n}}}}}')


def request_bytes(kind: str, n: int, host: str, auth: str,
                  contacts: int = WORLD_CONTACTS) -> bytes:
    """The whole HTTP request for the `n`-th call of `kind` (`contacts`: the size of the
    realistic world)."""
    if kind == "health":
        return f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    stamp = datetime.now(UTC).isoformat()
    if kind == "track":
        path, body = "/v1/track", track_message(n, stamp)
    elif kind == "world":
        path = "/v1/batch"
        body = json.dumps({"batch": [world_message(n * 100 + i, stamp, contacts)
                                     for i in range(100)]})
    else:
        path = "/v1/batch"
        body = '{"batch":[' + ",".join(track_message(n * 100 + i, stamp)
                                       for i in range(100)) + "]}"
    data = body.encode()
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
            ).encode() + data


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one response; its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def load(url: str, kind: str, seconds: float, concurrency: int, user: str,
               contacts: int = WORLD_CONTACTS) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    auth = base64.b64encode(f"{user}:".encode()).decode()
    counter = itertools.count()
    latencies: list[float] = []
    failures = 0
    stop = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop:
                request = request_bytes(kind, next(counter), f"{host}:{port}", auth, contacts)
                start = time.perf_counter()
                writer.write(request)
                status = await _answer(reader)
                latencies.append(time.perf_counter() - start)
                if status >= 300:
                    failures += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"requests": len(latencies), "failures": failures, "seconds": elapsed,
            "sent": next(counter),
            "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000}


def main() -> None:
    url, kind, seconds, concurrency = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(
        sys.argv[4])
    user = sys.argv[5] if len(sys.argv) > 5 else ""
    contacts = int(sys.argv[6]) if len(sys.argv) > 6 else WORLD_CONTACTS
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(load(url, kind, seconds, concurrency, user, contacts))
    else:
        result = uvloop.run(load(url, kind, seconds, concurrency, user, contacts))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
