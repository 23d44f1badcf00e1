"""Administration: keys (create, list, revoke), the collection inbox's lag, quarantine,
webhook subscriptions (create, list, update, pause, resume, rotate the secret, test,
remove: admin role, each in the audit log) and webhook deliveries (list, retry)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
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
    WebhookIn,
    WebhookOut,
    WebhookRemovedOut,
    WebhookRotateIn,
    WebhookTestOut,
    WebhookUpdateIn,
)
from mql.service import webhooks as hooks
from mql.service.admin_actions import retry_deliveries as requeue_deliveries
from mql.service.admin_actions import retry_quarantine
from mql.service.api_reads import deliveries as delivery_rows
from mql.service.keys import create_key, list_keys, revoke_key
from mql.service.store import quarantined

WebhookId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the webhook id")]
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


@router.post("/v1/webhooks", status_code=201, summary="Subscribe a URL to notifications")
async def create_webhook(body: WebhookIn, state: State, key: KeyAdmin) -> WebhookOut:
    """URL, topics and secret are checked (a typo'd topic names the nearest one); the
    secret is stored encrypted and never shown again."""
    hook_id = await run_in_threadpool(
        hooks.add_webhook, state.engine, body.url, secret=body.secret, topics=body.topics,
        now=state.clock.now(), server_secret=state.settings.secret_key, actor=key.actor)
    view = await run_in_threadpool(hooks.get_webhook, state.engine, hook_id)
    return WebhookOut(**asdict(view))


@router.get("/v1/webhooks", summary="Webhook subscriptions, without secrets")
async def list_webhooks(state: State, _: KeyAdmin,
                        removed: Annotated[bool, Query(description="include removed ones")]
                        = False) -> list[WebhookOut]:
    views = await run_in_threadpool(hooks.list_webhooks, state.engine, removed=removed,
                                    now=state.clock.now())
    return [WebhookOut(**asdict(v)) for v in views]


@router.patch("/v1/webhooks/{webhook_id}", summary="Change a subscription's URL or topics")
async def update_webhook(webhook_id: WebhookId, body: WebhookUpdateIn, state: State, key: KeyAdmin
                         ) -> WebhookOut:
    view = await run_in_threadpool(hooks.update_webhook, state.engine, webhook_id,
                                   actor=key.actor, now=state.clock.now(), url=body.url,
                                   topics=body.topics)
    return WebhookOut(**asdict(view))


@router.post("/v1/webhooks/{webhook_id}/pause", summary="Stop sending (notifications queue)")
async def pause_webhook(webhook_id: WebhookId, state: State, key: KeyAdmin) -> WebhookOut:
    view = await run_in_threadpool(hooks.pause_webhook, state.engine, webhook_id, paused=True,
                                   actor=key.actor, now=state.clock.now())
    return WebhookOut(**asdict(view))


@router.post("/v1/webhooks/{webhook_id}/resume", summary="Send again, queued ones in order")
async def resume_webhook(webhook_id: WebhookId, state: State, key: KeyAdmin) -> WebhookOut:
    view = await run_in_threadpool(hooks.pause_webhook, state.engine, webhook_id, paused=False,
                                   actor=key.actor, now=state.clock.now())
    return WebhookOut(**asdict(view))


@router.post("/v1/webhooks/{webhook_id}/rotate-secret", summary="Sign with a new secret")
async def rotate_webhook_secret(webhook_id: WebhookId, body: WebhookRotateIn, state: State,
                                key: KeyAdmin) -> WebhookOut:
    """During the grace period every delivery's signature header carries a `v1` for the
    new and one for the old secret; a receiver accepts any of them."""
    hours = (state.settings.webhook_rotation_grace_hours if body.grace_hours is None
             else body.grace_hours)
    view = await run_in_threadpool(
        hooks.rotate_secret, state.engine, webhook_id, secret=body.secret,
        grace=timedelta(hours=hours), actor=key.actor, now=state.clock.now(),
        server_secret=state.settings.secret_key)
    return WebhookOut(**asdict(view))


@router.post("/v1/webhooks/{webhook_id}/test", summary="Send one signed test delivery")
async def test_webhook(webhook_id: WebhookId, state: State, key: KeyAdmin) -> WebhookTestOut:
    """A `webhook.test` delivery now, outside the outbox; the answer is returned."""
    attempt = await run_in_threadpool(
        hooks.send_test, state.engine, webhook_id, actor=key.actor, clock=state.clock.now,
        options=hooks.DeliveryOptions.of(state.settings))
    return WebhookTestOut(outcome=attempt.outcome, status=attempt.status, error=attempt.error,
                          seconds=round(attempt.seconds, 3))


@router.delete("/v1/webhooks/{webhook_id}", summary="Remove a subscription")
async def remove_webhook(webhook_id: WebhookId, state: State, key: KeyAdmin) -> WebhookRemovedOut:
    """Its queued deliveries are refused, not sent."""
    n = await run_in_threadpool(hooks.remove_webhook, state.engine, webhook_id,
                                actor=key.actor, now=state.clock.now())
    return WebhookRemovedOut(id=webhook_id, pending_refused=n)
