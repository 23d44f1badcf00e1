"""Administration: keys (create, list, revoke), the collection inbox's lag, quarantine and
webhook deliveries (list, retry)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from mql.api.deps import KeyAdmin, QuarantineAdmin, Reader, State
from mql.api.guard import GuardedRoute
from mql.api.schemas import (
    ERRORS,
    CreatedKeyOut,
    DeliveryOut,
    DeliveryRetryIn,
    DeliveryRetryOut,
    InboxOut,
    KeyIn,
    KeyOut,
    QuarantinedOut,
    RetryIn,
    RetryOut,
)
from mql.service.admin_actions import retry_deliveries as requeue_deliveries
from mql.service.admin_actions import retry_quarantine
from mql.service.api_reads import deliveries as delivery_rows
from mql.service.keys import create_key, list_keys, revoke_key
from mql.service.store import quarantined

router = APIRouter(route_class=GuardedRoute, tags=["admin"], responses=ERRORS)


@router.post("/v1/keys", status_code=201, summary="Create a write key or token")
async def create(body: KeyIn, state: State, key: KeyAdmin) -> CreatedKeyOut:
    """A new key; its `secret` is shown in this answer only."""
    created = await run_in_threadpool(
        create_key, state.engine, kind=body.kind, name=body.name, role=body.role,
        team=body.team, server_secret=state.settings.secret_key, actor=key.actor,
        now=state.clock.now())
    return CreatedKeyOut.from_created(created)


@router.get("/v1/keys", summary="Keys, without secrets")
async def keys(state: State, _: KeyAdmin,
               revoked: Annotated[bool, Query(description="include revoked keys")] = False,
               ) -> list[KeyOut]:
    """The live keys (and revoked ones with `revoked=true`), oldest first."""
    found = await run_in_threadpool(list_keys, state.engine, include_revoked=revoked)
    return [KeyOut.from_view(k) for k in found]


@router.delete("/v1/keys/{key_id}", summary="Revoke a key")
async def revoke(key_id: str, state: State, key: KeyAdmin) -> KeyOut:
    """Revoke the key; it stops working within the key cache time (5 s by default)."""
    done = await run_in_threadpool(revoke_key, state.engine, key_id, actor=key.actor,
                                   now=state.clock.now())
    return KeyOut.from_view(done)


@router.get("/v1/quarantine", summary="Quarantined rows and messages")
async def quarantine(state: State, _: Reader,
                     status: Annotated[str, Query(pattern="^(open|resolved|all)$")] = "open",
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                     ) -> list[QuarantinedOut]:
    """Rows held by ingestion with the reason, oldest first."""
    rows = await run_in_threadpool(quarantined, state.engine,
                                   status=None if status == "all" else status, limit=limit)
    return [QuarantinedOut.from_row(q) for q in rows]


@router.post("/v1/quarantine/retry", summary="Retry quarantined rows")
async def retry(body: RetryIn, state: State, key: QuarantineAdmin) -> RetryOut:
    """Parse the rows again (every open one when `ids` is null) and load those that pass."""
    result = await run_in_threadpool(retry_quarantine, state.engine, body.ids,
                                     rules=state.settings.identity_rules(), actor=key.actor,
                                     now=state.clock.now())
    return RetryOut(loaded=result.loaded,
                    failed=[{"id": i, "reason": r} for i, r in result.failed])


@router.get("/v1/inbox", summary="Collected messages waiting to be applied")
async def inbox(state: State, _: Reader) -> InboxOut:
    """Collection answers once messages are in the inbox and applies them to leads right
    behind; this tells how far behind (normally 0, briefly more after a burst) and whether
    collection refuses new messages because the lag passed the server's bound."""
    waiting = await state.writer.pending()
    lag = 0.0 if waiting.oldest is None else max(
        0.0, (state.clock.now() - waiting.oldest).total_seconds())
    return InboxOut(pending=waiting.count, oldest_received_at=waiting.oldest, lag_seconds=lag,
                    max_lag_seconds=state.writer.max_lag,
                    refusing=state.writer.overloaded())


@router.get("/v1/deliveries", summary="Webhook deliveries (the dead-letter queue)")
async def deliveries(state: State, _: Reader,
                     status: Annotated[str, Query(
                         pattern="^(pending|delivered|dead|refused|all)$")] = "dead",
                     ) -> list[DeliveryOut]:
    """Deliveries of the outbox, oldest first; `dead` ones gave up after every retry."""
    rows = await run_in_threadpool(delivery_rows, state.engine,
                                   status=None if status == "all" else status)
    return [DeliveryOut.model_validate(r) for r in rows]


@router.post("/v1/deliveries/retry", summary="Send dead or refused deliveries again")
async def retry_deliveries(body: DeliveryRetryIn, state: State, key: QuarantineAdmin
                           ) -> DeliveryRetryOut:
    """Put dead or refused deliveries back in line (every one when `ids` is null)."""
    count = await run_in_threadpool(requeue_deliveries, state.engine, body.ids,
                                    actor=key.actor, now=state.clock.now())
    return DeliveryRetryOut(retried=count)
