"""Event collection in the shape of the Segment HTTP tracking API, as its clients send it.

`POST /v1/identify`, `/v1/track`, `/v1/page`, `/v1/screen`, `/v1/group`, `/v1/alias` take
one message, `/v1/batch` and `/v1/import` take `{"batch": [...]}`; analytics.js's short
paths `/v1/i`, `/v1/t`, `/v1/p`, `/v1/s`, `/v1/g`, `/v1/a` and `/v1/b` are the same routes,
and `GET /v1/projects/{writeKey}/settings` serves analytics.js the settings Segment's CDN
would, pointing at this server (load it with `cdnURL` set to the server).
The write key is the HTTP Basic username, or `writeKey` in the body (analytics.js); a body
is JSON whatever its Content-Type (analytics.js sends `text/plain`), and may be compressed
(`Content-Encoding: gzip`, several gzip members, or `deflate`).

A body may be `collect_batch_limit_bytes` (4 MB) uncompressed, else 413 before it is read
further. One message may be 32 KB: a larger one is quarantined with the reason, the others
land, and the answer is 413 in the error shape (`code` `message_too_large`, with the counts
and `rejected`), so the clients' error hooks see it and do not retry. A message sent to a
route of another type (`type: identify` to `/v1/track`) is quarantined too, not processed:
the route names what the caller meant. Other messages that cannot be read are listed in
`rejected` and quarantined with the reason (answer 200). `receivedAt` is the time the
request arrived (the clock skew of `sentAt` is measured against it). The answer comes once
the messages are committed to the inbox; the server applies them right behind (see
`mql.api.writer`). A resent message (same `messageId`, or the same content without one)
counts once.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from mql.api.deps import (
    ApiState,
    Presented,
    State,
    authenticate,
    authorize,
    presented_key,
    principal_of,
)
from mql.api.errors import error_body
from mql.api.guard import JsonRequest, check_backpressure, check_depth, closing_on_refusal
from mql.api.schemas import ERRORS, AckOut, RejectedOut, SegmentBatchIn, SegmentMessageIn
from mql.errors import InputError
from mql.ingest.segment import (
    MESSAGE_LIMIT,
    REFUSED,
    message_size,
    parse_message,
    refused,
)
from mql.service.keys import Principal

BATCH_ITEMS = 10_000  # messages in one batch at most
SINGLE = {"identify": "i", "track": "t", "page": "p", "screen": "s", "group": "g",
          "alias": "a"}
BATCH_PATHS = ("/v1/batch", "/v1/import", "/v1/b")
PATHS = frozenset({*(f"/v1/{k}" for k in SINGLE), *(f"/v1/{s}" for s in SINGLE.values()),
                   *BATCH_PATHS})
SETTINGS_PREFIX = "/v1/projects/"  # analytics.js's settings, what Segment's CDN serves


def inflate(raw: bytes, encoding: str, limit: int) -> bytes:
    """`raw` decoded by its Content-Encoding (identity, gzip with one or more members,
    deflate as zlib or raw data), never more than `limit` bytes (413) and 400 when the data
    is not what the header says.

    >>> import gzip
    >>> inflate(gzip.compress(b"ab") + gzip.compress(b"cd"), "gzip", 100)
    b'abcd'
    >>> inflate(zlib.compress(b"ab"), "deflate", 100)
    b'ab'
    """
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":  # zlib-wrapped as the RFC says; raw deflate as some send
        wrapped = len(raw) > 1 and (raw[0] & 0x0F) == 8 and int.from_bytes(raw[:2]) % 31 == 0
        if wrapped:
            try:
                return inflate_once(raw, zlib.MAX_WBITS, encoding, limit)
            except HTTPException as exc:
                if exc.status_code != 400:
                    raise
        return inflate_once(raw, -zlib.MAX_WBITS, encoding, limit)
    else:
        raise HTTPException(415, f"Content-Encoding {encoding!r} is not supported; send "
                            "gzip, deflate or an uncompressed body")
    return inflate_once(raw, wbits, encoding, limit)


def inflate_once(raw: bytes, wbits: int, encoding: str, limit: int) -> bytes:
    """`raw` inflated with zlib's `wbits` (every member of a gzip body), as `inflate`."""
    out: list[bytes] = []
    size = 0
    data = raw
    while data:
        inflater = zlib.decompressobj(wbits)
        try:
            chunk = inflater.decompress(data, limit + 1 - size)
        except zlib.error as exc:
            raise HTTPException(400, f"the body says Content-Encoding: {encoding} but is "
                                f"not {encoding} data ({exc})") from None
        size += len(chunk)
        out.append(chunk)
        if size > limit or inflater.unconsumed_tail:
            raise HTTPException(413, _too_big(limit))
        if not inflater.eof:
            raise HTTPException(400, f"the {encoding} body is truncated")
        data = inflater.unused_data if wbits > 16 else b""
        if data.strip(b"\0") == b"":
            break
    return b"".join(out)


def _too_big(limit: int) -> str:
    return (f"the request body is more than {limit:,} bytes uncompressed, the most one "
            "request may carry (MQL_COLLECT_BATCH_LIMIT_BYTES); send smaller batches")


MAX_MESSAGE_DEPTH = 64  # a batch, its message, properties and their nested values


class _LimitedRequest(JsonRequest):
    """A request whose body is decompressed when sent compressed, and refused (413) beyond
    `limit` bytes, without reading or inflating more than that."""

    limit = 4 * 1024 * 1024

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            chunks: list[bytes] = []
            size = 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > self.limit:
                    raise HTTPException(413, _too_big(self.limit))
                chunks.append(chunk)
            self._body = inflate(b"".join(chunks), self.headers.get("content-encoding", ""),
                                 self.limit)
        return self._body


class CollectRoute(APIRoute):
    """A route that notes when its request arrived and reads its body through
    `_LimitedRequest` with the server's limit."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            state: ApiState = request.app.state.mql
            request.scope["mql.arrived"] = state.clock.now()
            limited = _LimitedRequest(request.scope, request.receive)
            limited.limit = state.settings.collect_batch_limit_bytes
            with closing_on_refusal():  # the key first: an unknown caller's body is not read
                if presented_key(limited) is not None:
                    await principal_of(limited)
                check_backpressure(limited)
                body = await limited.body()
            check_depth(body, MAX_MESSAGE_DEPTH)
            return await original(limited)

        return handler


router = APIRouter(route_class=CollectRoute, tags=["collect"], responses=ERRORS)


async def _json(request: Request) -> Any:
    """The body as JSON, whatever the Content-Type (UTF-8, no NaN, Infinity or overflowing
    numbers: `JsonRequest`); 400 naming the problem otherwise."""
    try:
        return await request.json()
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise HTTPException(400, f"the body is not JSON ({reason}); send a Segment message "
                            "as a JSON object") from None


def origin_allowed(origins: Mapping[str, tuple[str, ...]], key: Principal, origin: str) -> bool:
    """Whether a browser page at `origin` may send events with write key `key`: the
    origin (or "*") is listed for the key's name or id.

    >>> k = Principal("3f2a", "write_key", "writer", "website", None)
    >>> origin_allowed({"website": ("https://acme.example",)}, k, "https://acme.example")
    True
    >>> origin_allowed({"website": ("https://acme.example",)}, k, "https://evil.example")
    False
    """
    allowed = (*origins.get(key.name, ()), *origins.get(key.key_id, ()))
    return "*" in allowed or origin.rstrip("/") in {o.rstrip("/") for o in allowed}


async def _sender(request: Request, state: ApiState, presented: str | None) -> tuple[
        Principal, Any]:
    """The write key and the body: a key in the headers is checked before the body is
    read; else the body's `writeKey` (analytics.js) is the key. A browser's `Origin` must
    be allowed for the key (403)."""
    if presented:
        key = await principal_of(request)  # checked before the body was read
        data = await _json(request)
    else:
        data = await _json(request)
        body_key = data.get("writeKey") if isinstance(data, dict) else None
        key = await authenticate(state, body_key if isinstance(body_key, str) else None)
    authorize(key, "collect")
    origin = request.headers.get("origin")
    if origin and not origin_allowed(state.settings.cors_origins, key, origin):
        raise HTTPException(403, f"origin {origin!r} may not send events with write key "
                            f"{key.name!r}; list it for the key in MQL_CORS_ORIGINS "
                            f"(e.g. {{\"{key.name}\": [\"{origin}\"]}})")
    return key, data


def _messages(data: Any, kind: str | None, path: str) -> list[Any]:
    """The messages of a body: the object itself on a single route (`kind`), the items of
    `batch` on a batch route (with the batch's `sentAt` and `context`)."""
    if not isinstance(data, dict):
        raise HTTPException(400, f"the body must be a JSON object, not {type(data).__name__}")
    data.pop("writeKey", None)
    if kind is not None:
        given = data.get("type")
        if given in (None, ""):
            data["type"] = kind
        elif given != kind:
            route = f"/v1/{given}" if given in SINGLE else "/v1/batch"
            return [refused(data, "type", f"type {given!r} was sent to {path}, which takes "
                            f"{kind} messages; send it to {route} (it was not processed)")]
        return [data]
    items = data.get("batch")
    if not isinstance(items, list):
        raise HTTPException(400, "a batch body needs `batch`: a list of messages")
    if len(items) > BATCH_ITEMS:
        raise HTTPException(413, f"the batch has {len(items):,} messages; at most "
                            f"{BATCH_ITEMS:,} per request")
    shared = {k: data[k] for k in ("sentAt", "context") if data.get(k)}
    return [{**shared, **{k: v for k, v in item.items() if k != "writeKey"}}
            if isinstance(item, dict) else item for item in items]


async def _collect(request: Request, state: State, presented: Presented,
                   kind: str | None) -> Response:
    key, data = await _sender(request, state, presented)
    arrived: datetime = request.scope.get("mql.arrived") or state.clock.now()
    payloads = _messages(data, kind, request.url.path)
    received = arrived.isoformat()
    keep: list[Any] = []
    rejected: list[RejectedOut] = []
    too_big = 0
    for index, payload in enumerate(payloads):
        if isinstance(payload, dict) and REFUSED not in payload:
            payload["receivedAt"] = received  # the server's clock, when the request arrived
            size = message_size(payload)
            if size > MESSAGE_LIMIT:
                too_big += 1
                payload = refused(payload, None, f"the message is {size:,} bytes; a message "
                                  f"may be at most {MESSAGE_LIMIT // 1024} KB (Segment's "
                                  "limit); make it smaller and send it again")
        keep.append(payload)
        mark = payload.get(REFUSED) if isinstance(payload, dict) else None
        if isinstance(mark, dict):
            rejected.append(RejectedOut(index=index, field=mark.get("field"),
                                        reason=str(mark.get("reason")), quarantined=True))
            continue
        if not isinstance(payload, dict):
            keep[-1] = refused(payload, "message", "must be a JSON object")
            rejected.append(RejectedOut(index=index, field="message",
                                        reason="must be a JSON object", quarantined=True))
            continue
        try:
            parse_message(payload, source=key.name, row=index + 1)
        except InputError as exc:
            rejected.append(RejectedOut(index=index, field=exc.field, reason=exc.reason,
                                        quarantined=True))
    if keep:
        await state.writer.write(keep, source=key.name)
    ack = AckOut(success=too_big == 0, received=len(payloads),
                 accepted=len(payloads) - len(rejected), rejected=rejected)
    if too_big:
        body = error_body(413, f"{too_big} of {len(payloads)} messages are over "
                          f"{MESSAGE_LIMIT // 1024} KB and were quarantined, not stored; "
                          "the others were stored", "message_too_large")
        return JSONResponse({**body, **ack.model_dump()}, status_code=413)
    return JSONResponse(ack.model_dump())


def body_schemas() -> dict[str, Any]:
    """The request bodies' schemas, for the OpenAPI document's components (the routes
    read their bodies themselves, so FastAPI does not add them)."""
    return {m.__name__: m.model_json_schema(ref_template="#/components/schemas/{model}")
            for m in (SegmentMessageIn, SegmentBatchIn)}


def _body_doc(model: type[SegmentMessageIn] | type[SegmentBatchIn]) -> dict[str, Any]:
    content = {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
    return {"requestBody": {"required": True, "content": {"application/json": content,
                                                          "text/plain": content}}}


_DOCS = {
    "identify": ("Identify a contact (Segment identify)",
                 "Store an identify call: the contact's traits (from `traits` and "
                 "`context.traits`) and an `identify` event."),
    "track": ("Track an event (Segment track)",
              "Store a track call: an event named by `event` (e.g. \"Demo Requested\")."),
    "page": ("Record a page view (Segment page)",
             "Store a page call as a `page_view` event (with `name` and `category`)."),
    "screen": ("Record a screen view (Segment screen)",
               "Store a screen call as a `screen_view` event."),
    "group": ("Associate a contact with an account (Segment group)",
              "Store a group call: the account's traits (by `website`/`domain`) and an "
              "event."),
    "alias": ("Link two identities (Segment alias)",
              "Store an alias call and link `previousId` (the anonymous id) to `userId`."),
}


def _single_route(kind: str) -> None:
    summary, description = _DOCS[kind]

    async def endpoint(request: Request, state: State, presented: Presented) -> Response:
        return await _collect(request, state, presented, kind)

    endpoint.__name__ = kind
    router.add_api_route(f"/v1/{kind}", endpoint, methods=["POST"], summary=summary,
                         description=description, response_model=AckOut,
                         openapi_extra=_body_doc(SegmentMessageIn))
    router.add_api_route(f"/v1/{SINGLE[kind]}", endpoint, methods=["POST"],
                         include_in_schema=False)


for _kind in SINGLE:
    _single_route(_kind)


@router.post("/v1/batch", summary="Send many messages (Segment batch)", response_model=AckOut,
             openapi_extra=_body_doc(SegmentBatchIn))
async def batch(request: Request, state: State, presented: Presented) -> Response:
    """Store every message of `batch`; the readable ones land, the others are quarantined
    and listed in `rejected` by their index."""
    return await _collect(request, state, presented, None)


@router.post("/v1/import", summary="Import historical messages (Segment import)",
             response_model=AckOut, openapi_extra=_body_doc(SegmentBatchIn))
async def import_(request: Request, state: State, presented: Presented) -> Response:
    """The same as /v1/batch, for historical data."""
    return await _collect(request, state, presented, None)


router.add_api_route("/v1/b", batch, methods=["POST"], include_in_schema=False)


@router.get("/v1/projects/{write_key}/settings", include_in_schema=False)
async def browser_settings(request: Request, state: State, write_key: str) -> Response:
    """analytics.js's settings (what Segment's CDN serves), sending to this server: a page
    loads the library with `cdnURL` set to this server. The write key must be live (401)
    and the page's origin listed for it (403)."""
    key = authorize(await authenticate(state, write_key), "collect")
    origin = request.headers.get("origin")
    if origin and not origin_allowed(state.settings.cors_origins, key, origin):
        raise HTTPException(403, f"origin {origin!r} may not load settings for write key "
                            f"{key.name!r}; list it for the key in MQL_CORS_ORIGINS")
    host = request.headers.get("host") or request.url.netloc
    return JSONResponse({"integrations": {"Segment.io": {
        "apiKey": write_key, "apiHost": f"{host}/v1", "protocol": request.url.scheme}},
        "plan": {"track": {"__default": {"enabled": True}}}})
