"""Event collection in the shape of the Segment HTTP tracking API.

`POST /v1/identify`, `/v1/track`, `/v1/page`, `/v1/screen`, `/v1/group`, `/v1/alias` take
one message, `/v1/batch` and `/v1/import` take `{"batch": [...]}`. The write key is the HTTP
Basic username; bodies may be gzip-compressed (`Content-Encoding: gzip`). As in Segment's
spec a message may be 32 KB and a batch 500 KB (uncompressed), else 413. The answer comes
once the messages are committed to the inbox, and the server applies them to the store right
behind (see `mql.api.writer`); messages that cannot be read are listed in `rejected` and
quarantined with the reason, the others land. A resent message (same `messageId`) counts
once.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.routing import APIRoute

from mql.api.deps import EventSender, State, principal_of
from mql.api.guard import JsonRequest, check_backpressure, check_depth, closing_on_refusal
from mql.api.schemas import ERRORS, AckOut, RejectedOut, SegmentBatchIn, SegmentMessageIn
from mql.errors import InputError
from mql.ingest.segment import parse_message

MESSAGE_LIMIT = 32 * 1024
BATCH_LIMIT = 500 * 1024
_BATCH_PATHS = ("/v1/batch", "/v1/import")
MAX_MESSAGE_DEPTH = 64  # a batch, its message, properties and their nested values


class _LimitedRequest(JsonRequest):
    """A request whose body is gunzipped when sent compressed, and refused (413) beyond
    `limit` bytes, without reading or inflating more than that."""

    limit = MESSAGE_LIMIT

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            chunks: list[bytes] = []
            size = 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > self.limit:
                    raise HTTPException(413, self._too_big("more than"))
                chunks.append(chunk)
            raw = b"".join(chunks)
            if self.headers.get("content-encoding", "").lower() == "gzip":
                inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                try:
                    raw = inflate.decompress(raw, self.limit + 1)
                except zlib.error as exc:
                    raise HTTPException(400, f"the body says Content-Encoding: gzip but is "
                                        f"not gzip data ({exc})") from None
                if len(raw) > self.limit or inflate.unconsumed_tail:
                    raise HTTPException(413, self._too_big("more than"))
            self._body = raw
        return self._body

    def _too_big(self, how: str) -> str:
        what = "a batch" if self.url.path in _BATCH_PATHS else "a single message"
        return (f"the request body is {how} {self.limit:,} bytes uncompressed; {what} may be "
                f"at most {self.limit // 1024} KB (Segment's limits: 32 KB per message, "
                "500 KB per batch); send smaller batches")


class CollectRoute(APIRoute):
    """A route that reads its body through `_LimitedRequest` with the path's limit."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        limit = BATCH_LIMIT if self.path in _BATCH_PATHS else MESSAGE_LIMIT

        async def handler(request: Request) -> Response:
            limited = _LimitedRequest(request.scope, request.receive)
            limited.limit = limit
            with closing_on_refusal():  # the key first: an unknown caller's body is not read
                await principal_of(limited)
                check_backpressure(limited)
                body = await limited.body()
            check_depth(body, MAX_MESSAGE_DEPTH)
            return await original(limited)

        return handler


router = APIRouter(route_class=CollectRoute, tags=["collect"], responses=ERRORS)


def _rejections(payloads: list[dict[str, Any]], source: str) -> tuple[
        list[dict[str, Any]], list[RejectedOut]]:
    """Messages to store (readable ones and those to quarantine), and the rejections."""
    keep: list[dict[str, Any]] = []
    rejected: list[RejectedOut] = []
    for index, payload in enumerate(payloads):
        size = len(json.dumps(payload, default=str))
        if size > MESSAGE_LIMIT:
            rejected.append(RejectedOut(index=index, field=None, quarantined=False,
                                        reason=f"the message is {size:,} bytes; a message "
                                        "may be at most 32 KB"))
            continue
        keep.append(payload)
        try:
            parse_message(payload, source=source, row=index + 1)
        except InputError as exc:
            rejected.append(RejectedOut(index=index, field=exc.field, reason=exc.reason,
                                        quarantined=True))
    return keep, rejected


async def _collect(state: State, key: EventSender, payloads: list[dict[str, Any]]) -> AckOut:
    received = state.clock.now().isoformat()
    for payload in payloads:
        payload.setdefault("receivedAt", received)
    keep, rejected = _rejections(payloads, key.name)
    if keep:
        await state.writer.write(keep, source=key.name)
    return AckOut(success=True, received=len(payloads),
                  accepted=len(payloads) - len(rejected), rejected=rejected)


def _single(body: SegmentMessageIn, kind: str) -> list[dict[str, Any]]:
    payload = body.model_dump(exclude_none=True)
    payload.setdefault("type", kind)
    return [payload]


def _batch(body: SegmentBatchIn) -> list[dict[str, Any]]:
    shared: Mapping[str, Any] = {k: v for k, v in (("sentAt", body.sentAt),
                                                     ("context", body.context)) if v}
    return [{**shared, **item} for item in body.batch]


@router.post("/v1/identify", summary="Identify a contact (Segment identify)")
async def identify(body: SegmentMessageIn, state: State, key: EventSender) -> AckOut:
    """Store an identify call: the contact's traits and an `identify` event."""
    return await _collect(state, key, _single(body, "identify"))


@router.post("/v1/track", summary="Track an event (Segment track)")
async def track(body: SegmentMessageIn, state: State, key: EventSender) -> AckOut:
    """Store a track call: an event named by `event` (e.g. "Demo Requested")."""
    return await _collect(state, key, _single(body, "track"))


@router.post("/v1/page", summary="Record a page view (Segment page)")
async def page(body: SegmentMessageIn, state: State, key: EventSender) -> AckOut:
    """Store a page call as a `page_view` event."""
    return await _collect(state, key, _single(body, "page"))


@router.post("/v1/screen", summary="Record a screen view (Segment screen)")
async def screen(body: SegmentMessageIn, state: State, key: EventSender) -> AckOut:
    """Store a screen call as a `screen_view` event."""
    return await _collect(state, key, _single(body, "screen"))


@router.post("/v1/group", summary="Associate a contact with an account (Segment group)")
async def group(body: SegmentMessageIn, state: State, key: EventSender) -> AckOut:
    """Store a group call: the account's traits (by `website`/`domain`) and an event."""
    return await _collect(state, key, _single(body, "group"))


@router.post("/v1/alias", summary="Link two identities (Segment alias)")
async def alias(body: SegmentMessageIn, state: State, key: EventSender) -> AckOut:
    """Store an alias call."""
    return await _collect(state, key, _single(body, "alias"))


@router.post("/v1/batch", summary="Send many messages (Segment batch)")
async def batch(body: SegmentBatchIn, state: State, key: EventSender) -> AckOut:
    """Store every message of `batch`; the readable ones land, the others are quarantined
    and listed in `rejected` by their index."""
    return await _collect(state, key, _batch(body))


@router.post("/v1/import", summary="Import historical messages (Segment import)")
async def import_(body: SegmentBatchIn, state: State, key: EventSender) -> AckOut:
    """The same as /v1/batch, for historical data."""
    return await _collect(state, key, _batch(body))
