"""A small HTTP/1.1 load generator, run as its own process so it does not share the
server's core: `concurrency` keep-alive connections on raw asyncio streams (uvloop when
installed), each sending its next request as soon as the previous answer arrived, for a
bounded time. Prints one JSON object: requests, non-2xx answers, latencies (p50/p99, ms).

    python bench/loadgen.py URL KIND SECONDS CONCURRENCY [AUTH_USER]

KIND is `health` (GET), `track` (one Segment track message) or `batch` (100 of them).
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


def track_message(n: int, stamp: str) -> str:
    """One Segment track message as JSON text (n picks the contact and the event)."""
    return (f'{{"type":"track","messageId":"m{n:x}-{time.monotonic_ns():x}",'
            f'"userId":"u{n % CONTACTS}@co{n % 100}.example",'
            f'"event":"{EVENTS[n % 3]}","timestamp":"{stamp}","properties":{{"n":{n}}}}}')


def request_bytes(kind: str, n: int, host: str, auth: str) -> bytes:
    """The whole HTTP request for the `n`-th call of `kind`."""
    if kind == "health":
        return f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    stamp = datetime.now(UTC).isoformat()
    if kind == "track":
        path, body = "/v1/track", track_message(n, stamp)
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


async def load(url: str, kind: str, seconds: float, concurrency: int, user: str
               ) -> dict[str, object]:
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
                request = request_bytes(kind, next(counter), f"{host}:{port}", auth)
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
            "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000}


def main() -> None:
    url, kind, seconds, concurrency = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(
        sys.argv[4])
    user = sys.argv[5] if len(sys.argv) > 5 else ""
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(load(url, kind, seconds, concurrency, user))
    else:
        result = uvloop.run(load(url, kind, seconds, concurrency, user))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
