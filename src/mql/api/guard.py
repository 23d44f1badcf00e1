"""What every request with a body goes through before it is parsed: the caller's key, a
size limit by route, and a bound on JSON nesting.

`GuardedRoute` authenticates the caller (401, 429 with Retry-After) *before* reading the
body, then reads the body in chunks and stops at the route's limit (413), then checks how
deeply the JSON nests (400), so an unknown caller costs nothing and a known one at most the
route's limit. The dependencies of `mql.api.deps` reuse the principal found here.

>>> json_depth(b'{"a": [1, {"b": "[[[["}]}')
3
>>> json_depth(b'"a string with \\\\" and {"')
0
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from itertools import accumulate
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from mql.api.deps import principal_of

BODY_LIMIT = 64 * 1024  # keys, sales actions, retries: small JSON objects
MODEL_LIMIT = 2 * 1024 * 1024  # a model file's text (at most 1,000,000 characters) as JSON
RETRY_AFTER = 2  # seconds a refused collection request should wait (backpressure)
MAX_JSON_DEPTH = 32  # the deepest body of these routes nests 3 levels
_LIMITS = {"/v1/models": MODEL_LIMIT, "/v1/models/check": MODEL_LIMIT}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(body: bytes) -> int:
    """How deeply the arrays and objects of the JSON text `body` nest (brackets inside
    strings do not count); linear in the size, without parsing."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    return max(accumulate(_STEP[b] for b in brackets), default=0)


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise HTTPException(400, f"the JSON body has the number {text[:40]}, which is beyond "
                            "the range of a 64-bit float")
    return value


def _no_constant(text: str) -> float:
    raise HTTPException(400, f"the JSON body has {text}, which is not JSON; send a number "
                        "or null")


class JsonRequest(Request):
    """A request whose JSON body must be UTF-8 and may not hold NaN, Infinity or a number
    that overflows to infinity (Python's parser accepts them; no JSON answer could echo them
    back): each is a 400 saying so."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise HTTPException(400, f"the body is not UTF-8 text (byte {exc.start}: "
                                    f"{body[exc.start:exc.start + 1]!r}); JSON is sent as "
                                    "UTF-8") from None
            self._json = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
        return self._json


def check_depth(body: bytes, limit: int) -> None:
    """400 when `body` nests deeper than `limit` (Python's JSON parser recurses)."""
    if json_depth(body) > limit:
        raise HTTPException(400, f"the JSON body nests more than {limit} levels deep; "
                            "no request of this API needs that")


@contextmanager
def closing_on_refusal() -> Iterator[None]:
    """Refusals raised inside end the connection (`Connection: close`): the server then
    stops receiving the rest of a body it will not read, instead of draining it."""
    try:
        yield
    except HTTPException as exc:
        exc.headers = {**(exc.headers or {}), "Connection": "close"}
        raise


def check_backpressure(request: Request) -> None:
    """503 with Retry-After while the applier is further behind than the server's bound
    (`MQL_API_MAX_INBOX_LAG_SECONDS`): collection then stores nothing new, so the lag and
    the inbox stay bounded however fast clients send; their retries land once it caught up."""
    writer = request.app.state.mql.writer
    if writer.overloaded():
        raise HTTPException(503, f"the server is {writer.lag:.0f} s behind applying collected "
                            f"events (its bound is {writer.max_lag:g} s); nothing of this "
                            "request was stored: send it again after Retry-After",
                            headers={"Retry-After": str(RETRY_AFTER)})


async def read_limited(request: Request, limit: int) -> bytes:
    """The body of `request`, read in chunks; 413 as soon as it passes `limit` bytes
    (a Content-Length above the limit is refused before reading anything)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, _too_big(request, limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, _too_big(request, limit))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_big(request: Request, limit: int) -> str:
    return (f"the request body is more than {limit:,} bytes; {request.url.path} takes at "
            f"most {limit // 1024:,} KB")


class GuardedRoute(APIRoute):
    """A route that, for a request with a body, checks the key, then reads at most the
    route's limit, then bounds the JSON nesting, before FastAPI parses anything."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        limit = _LIMITS.get(self.path, BODY_LIMIT)

        async def handler(request: Request) -> Response:
            request = JsonRequest(request.scope, request.receive)
            if request.method in _BODY_METHODS:
                with closing_on_refusal():
                    await principal_of(request)
                    body = await read_limited(request, limit)
                check_depth(body, MAX_JSON_DEPTH)
                request._body = body  # what Request.body() returns from now on
            return await original(request)

        return handler
