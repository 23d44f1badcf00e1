"""CORS for the collection routes, so a website's analytics.js can send events.

Browsers ask first (a preflight `OPTIONS` with `Access-Control-Request-Method`: analytics.js
sends an `Authorization` header); the answer allows the origin when it is listed for any
write key in `Settings.cors_origins`, which a preflight cannot tell apart (it carries no
key). Every answer of a collection route to a listed origin carries
`Access-Control-Allow-Origin` with that origin, errors included, so the page can read them;
an origin listed for no key gets none. Whether the origin may use the key it sends is the
route's check (`mql.api.routes.segment.origin_allowed`, 403 otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_MAX_AGE = "600"


def listed(origins: Mapping[str, tuple[str, ...]], origin: str) -> bool:
    """Whether `origin` is listed for some write key (or some key allows "*").

    >>> listed({"website": ("https://acme.example/",)}, "https://acme.example")
    True
    >>> listed({"website": ("https://acme.example",)}, "null")
    False
    """
    every = {o.rstrip("/") for values in origins.values() for o in values}
    return "*" in every or origin.rstrip("/") in every


class CollectCors:
    """ASGI middleware answering preflights and adding CORS headers on `paths` and the
    paths under `prefix`."""

    def __init__(self, app: ASGIApp, *, paths: Collection[str], prefix: str) -> None:
        self.app = app
        self.paths = frozenset(paths)
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["path"] not in self.paths
                                       and not scope["path"].startswith(self.prefix)):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope["headers"]}
        origin = headers.get("origin")
        settings = scope["app"].state.mql.settings
        allowed = origin is not None and listed(settings.cors_origins, origin)
        if scope["method"] == "OPTIONS" and origin and \
                "access-control-request-method" in headers:
            await self._preflight(send, origin, allowed,
                                  headers.get("access-control-request-headers", ""))
            return
        if not allowed or origin is None:
            await self.app(scope, receive, send)
            return
        allow = origin.encode("latin-1")

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (b"access-control-allow-origin", allow), (b"vary", b"Origin")]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    async def _preflight(send: Send, origin: str, allowed: bool, requested: str) -> None:
        if allowed:
            status = 204
            body = b""
            extra = [(b"access-control-allow-origin", origin.encode("latin-1")),
                     (b"access-control-allow-methods", b"POST, OPTIONS"),
                     (b"access-control-allow-headers", requested[:1000].encode("latin-1")),
                     (b"access-control-max-age", _MAX_AGE.encode()), (b"vary", b"Origin")]
        else:
            status = 403
            message = (f"origin {origin!r} is not allowed to send events; list it for its "
                       "write key in MQL_CORS_ORIGINS")
            body = json.dumps({"detail": message, "code": "origin_not_allowed",
                               "message": message}).encode()
            extra = [(b"content-type", b"application/json"), (b"vary", b"Origin")]
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-length", str(len(body)).encode()), *extra]})
        await send({"type": "http.response.body", "body": body})
