"""Webhook use cases: managing subscriptions (with the audit log) and delivering the outbox.

Deliveries never run inside a database transaction. A subscription's due rows are claimed
in a short transaction (held until a lease runs out, so a worker that dies gives them
back), sent outside any transaction, and each result is recorded in its own short
transaction as soon as it is known. Different subscriptions are served concurrently (at
most `concurrency` at once), each in order, so a slow or dead receiver delays only
itself; every attempt is bounded by a total deadline.

Stopping (`Deliverer.stop`, SIGTERM in `mql worker`) finishes the attempts in flight,
records them, and releases the claimed rows not yet sent: nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from mql.errors import ConfigError, MQLError, NotFound
from mql.notify import webhooks as wire
from mql.settings import EXAMPLE_SECRET, Settings
from mql.store import handoff as store
from mql.store import merges as merge_store
from mql.store.db import translate_errors


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    """How the worker delivers: `deadline` seconds per attempt (all of it), at most
    `concurrency` subscriptions at once, `claim` rows claimed per subscription at a time,
    `max_attempts` before a delivery is dead-lettered; `server_secret` unseals the
    subscriptions' secrets."""

    deadline: float = 10.0
    concurrency: int = 8
    claim: int = 10
    max_attempts: int = 12
    server_secret: str = EXAMPLE_SECRET

    @classmethod
    def of(cls, settings: Settings) -> DeliveryOptions:
        return cls(deadline=settings.webhook_deadline_seconds,
                   concurrency=settings.webhook_concurrency, claim=settings.webhook_claim,
                   max_attempts=settings.webhook_max_attempts,
                   server_secret=settings.secret_key)

    @property
    def lease(self) -> timedelta:
        """How long a claim holds: long enough to send every claimed row."""
        return timedelta(seconds=self.deadline * (self.claim + 1) + 5)


@dataclass
class DeliveryCounts:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, outcome: str) -> None:
        if outcome == "delivered":
            self.delivered += 1
        elif outcome == "retry":
            self.retried += 1
        else:
            self.failed += 1


def _secrets(hook: dict[str, Any], now: datetime, server_secret: str) -> list[str]:
    """The secrets a delivery is signed with: the current one, and during a rotation's
    grace period the previous one."""
    out = [wire.unseal(hook["secret"], server_secret)]
    if hook.get("previous_secret") and hook.get("previous_until") and \
            hook["previous_until"] > now:
        out.append(wire.unseal(hook["previous_secret"], server_secret))
    return out


class Deliverer:
    """Delivers the outbox: `round` once (everything due now), `serve` until `stop`."""

    def __init__(self, engine: Engine, options: DeliveryOptions | None = None, *,
                 clock: Callable[[], datetime], rng: random.Random | None = None) -> None:
        self.engine = engine
        self.options = options or DeliveryOptions()
        self.clock = clock
        self.rng = rng or random.Random()
        self.stopping = threading.Event()
        self.counts = DeliveryCounts()
        self._lock = threading.Lock()

    def stop(self) -> None:
        """Finish the attempts in flight, release the rest, claim nothing more."""
        self.stopping.set()

    # -- one subscription ---------------------------------------------------------------

    def _claim(self, hook_id: int) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        now = self.clock()
        with translate_errors("claiming webhook deliveries"), self.engine.begin() as conn:
            hook = store.webhook(conn, hook_id)
            if hook is None or not hook["active"] or hook["paused"]:
                return hook, []
            rows = store.claim_deliveries(conn, now, self.options.claim, webhook_id=hook_id,
                                          until=now + self.options.lease)
        return hook, rows

    def _record(self, row: dict[str, Any], attempt: wire.Attempt, at: datetime) -> None:
        status = {"delivered": "delivered", "retry": "pending"}.get(attempt.outcome,
                                                                    attempt.outcome)
        with translate_errors("recording a webhook delivery"), self.engine.begin() as conn:
            store.record_attempt(
                conn, row["id"], status=status, attempts=row["attempts"] + 1,
                available_at=attempt.next_attempt_at,
                delivered_at=at if attempt.outcome == "delivered" else None,
                error=attempt.error, at=at, outcome=attempt.outcome,
                http_status=attempt.status, seconds=round(attempt.seconds, 3))
        with self._lock:
            self.counts.add(attempt.outcome)

    def _release(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            with translate_errors("releasing webhook deliveries"), self.engine.begin() as conn:
                store.release_deliveries(conn, [r["id"] for r in rows])

    async def _send(self, client: httpx.AsyncClient, hook: dict[str, Any],
                    row: dict[str, Any]) -> wire.Attempt:
        now = self.clock()
        try:
            payload = row["payload"]
            body = wire.body_of(row["topic"], row["delivery_id"],
                                datetime.fromisoformat(payload["occurred_at"]),
                                payload["data"], row.get("sequence"))
        except (MQLError, ValueError, KeyError, TypeError) as exc:
            return wire.Attempt("refused", None, f"cannot build the delivery: {exc}", None)
        try:
            secrets = _secrets(hook, now, self.options.server_secret)
        except ConfigError as exc:  # the operator's key, not the delivery: try again later
            attempt = row["attempts"] + 1
            if attempt >= self.options.max_attempts:
                return wire.Attempt("dead", None, str(exc), None)
            return wire.Attempt("retry", None, str(exc),
                                now + wire.next_wait(attempt, None, self.rng))
        return await wire.deliver(
            client, hook["url"], secrets, event_type=row["topic"],
            delivery_id=row["delivery_id"], body=body, attempt=row["attempts"] + 1, now=now,
            deadline=self.options.deadline, max_attempts=self.options.max_attempts,
            rng=self.rng)

    async def _drain(self, client: httpx.AsyncClient, hook_id: int) -> None:
        """Send the due rows of one subscription, in order, until none is left."""
        while not self.stopping.is_set():
            hook, rows = await asyncio.to_thread(self._claim, hook_id)
            if hook is None or not rows:
                return
            for i, row in enumerate(rows):
                if self.stopping.is_set():
                    await asyncio.to_thread(self._release, rows[i:])
                    return
                attempt = await self._send(client, hook, row)
                await asyncio.to_thread(self._record, row, attempt, self.clock())

    # -- every subscription --------------------------------------------------------------

    def _due(self, busy: set[int]) -> list[int]:
        with translate_errors("reading webhook deliveries"), self.engine.connect() as conn:
            return store.due_subscriptions(conn, self.clock(), busy)

    async def round(self) -> DeliveryCounts:
        """Deliver everything due now (each subscription drained), then return."""
        limits = httpx.Limits(max_connections=self.options.concurrency * 2)
        async with httpx.AsyncClient(timeout=self.options.deadline, limits=limits) as client:
            pending = await asyncio.to_thread(self._due, set())
            gate = asyncio.Semaphore(self.options.concurrency)

            async def one(hook_id: int) -> None:
                async with gate:
                    await self._drain(client, hook_id)

            results = await asyncio.gather(*(one(h) for h in pending), return_exceptions=True)
        for r in results:
            if isinstance(r, MQLError):
                self.counts.notes.append(str(r))
            elif isinstance(r, BaseException):
                raise r
        return self.counts

    async def serve(self, poll: float = 1.0,
                    on_error: Callable[[MQLError], None] | None = None) -> DeliveryCounts:
        """Deliver as rows fall due until `stop`; a lost database is retried with back-off
        (`on_error` hears of it)."""
        limits = httpx.Limits(max_connections=self.options.concurrency * 2)
        running: dict[int, asyncio.Task[None]] = {}
        pause = poll
        async with httpx.AsyncClient(timeout=self.options.deadline, limits=limits) as client:
            while not self.stopping.is_set():
                for hook_id, task in list(running.items()):
                    if task.done():
                        del running[hook_id]
                        exc = task.exception()
                        if isinstance(exc, MQLError):
                            if on_error is not None:
                                on_error(exc)
                        elif exc is not None:
                            raise exc
                free = self.options.concurrency - len(running)
                try:
                    due = await asyncio.to_thread(self._due, set(running)) if free else []
                    pause = poll
                except MQLError as exc:
                    if on_error is not None:
                        on_error(exc)
                    due, pause = [], min(60.0, max(poll, pause * 2))
                for hook_id in due[:free]:
                    running[hook_id] = asyncio.create_task(self._drain(client, hook_id))
                waiting = [t for t in running.values() if not t.done()]
                if waiting:
                    await asyncio.wait(waiting, timeout=pause,
                                       return_when=asyncio.FIRST_COMPLETED)
                else:
                    await asyncio.to_thread(self.stopping.wait, pause)
            if running:
                await asyncio.gather(*running.values(), return_exceptions=True)
        return self.counts


def run_deliveries(engine: Engine, *, clock: Callable[[], datetime],
                   options: DeliveryOptions | None = None,
                   rng: random.Random | None = None) -> DeliveryCounts:
    """Send every delivery due now (real time from `clock`), subscriptions concurrently;
    each result recorded as it comes."""
    return asyncio.run(Deliverer(engine, options, clock=clock, rng=rng).round())


def bring_forward(engine: Engine, now: datetime) -> int:
    """Never-attempted deliveries dated after `now` (queued by a simulated run) due now."""
    with translate_errors("scheduling webhook deliveries"), engine.begin() as conn:
        return store.bring_forward(conn, now)


# -- management ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class WebhookView:
    """A subscription as shown to people: never its secret."""

    id: int
    url: str
    topics: list[str]
    paused: bool
    removed: bool
    rotating_until: datetime | None
    created_at: datetime
    pending: int = 0
    delivered: int = 0
    dead: int = 0
    refused: int = 0


def _view(hook: dict[str, Any], now: datetime | None = None) -> WebhookView:
    until = hook.get("previous_until")
    return WebhookView(
        id=int(hook["id"]), url=str(hook["url"]), topics=list(hook["topics"]),
        paused=bool(hook.get("paused")), removed=not hook["active"],
        rotating_until=until if until is not None and (now is None or until > now) else None,
        created_at=hook["created_at"], pending=int(hook.get("pending", 0)),
        delivered=int(hook.get("delivered", 0)), dead=int(hook.get("dead", 0)),
        refused=int(hook.get("refused", 0)))


def _hook(conn: Any, webhook_id: int) -> dict[str, Any]:
    hook = store.webhook(conn, webhook_id)
    if hook is None or not hook["active"]:
        raise NotFound(f"no webhook {webhook_id}; `mql webhooks list` shows them")
    return hook


def _audit(conn: Any, actor: str, action: str, webhook_id: int, detail: dict[str, Any],
           now: datetime) -> None:
    merge_store.audit(conn, actor, action, f"webhook:{webhook_id}", detail, now=now)


def add_webhook(engine: Engine, url: str, *, secret: str, topics: list[str], now: datetime,
                server_secret: str = EXAMPLE_SECRET, actor: str = "cli") -> int:
    """Subscribe `url` to `topics` (`*`: all); URL, topics and secret are checked, the
    secret stored encrypted. Returns the webhook id."""
    url, names = wire.check_url(url), wire.check_topics(topics)
    sealed = wire.seal(wire.check_secret(secret), server_secret)
    with translate_errors("adding a webhook"), engine.begin() as conn:
        hook_id = store.add_webhook(conn, url, sealed, names, now)
        _audit(conn, actor, "webhook.add", hook_id, {"url": url, "topics": names}, now)
        return hook_id


def list_webhooks(engine: Engine, *, removed: bool = False, now: datetime | None = None
                  ) -> list[WebhookView]:
    with translate_errors("reading webhooks"), engine.connect() as conn:
        return [_view(h, now) for h in store.webhook_rows(conn, removed=removed)]


def get_webhook(engine: Engine, webhook_id: int) -> WebhookView:
    with translate_errors("reading a webhook"), engine.connect() as conn:
        return _view(_hook(conn, webhook_id))


def remove_webhook(engine: Engine, webhook_id: int, *, actor: str, now: datetime) -> int:
    """Remove the subscription; its pending deliveries are refused (kept, and retriable
    only by subscribing again). Returns how many were pending."""
    with translate_errors("removing a webhook"), engine.begin() as conn:
        hook = _hook(conn, webhook_id)
        store.update_webhook(conn, webhook_id, active=False, updated_at=now)
        dropped = store.drop_pending(conn, webhook_id, now)
        _audit(conn, actor, "webhook.remove", webhook_id,
               {"url": hook["url"], "pending_refused": dropped}, now)
        return dropped


def pause_webhook(engine: Engine, webhook_id: int, *, paused: bool, actor: str,
                  now: datetime) -> WebhookView:
    """Pause (notifications queue, nothing is sent) or resume (the queue is sent in order)."""
    with translate_errors("pausing a webhook"), engine.begin() as conn:
        _hook(conn, webhook_id)
        store.update_webhook(conn, webhook_id, paused=paused, updated_at=now)
        _audit(conn, actor, "webhook.pause" if paused else "webhook.resume", webhook_id, {},
               now)
        return _view(_hook(conn, webhook_id), now)


def update_webhook(engine: Engine, webhook_id: int, *, actor: str, now: datetime,
                   url: str | None = None, topics: list[str] | None = None) -> WebhookView:
    """Change the URL and/or the topics (checked as on `add`); queued rows go to the new
    URL, new topics apply to notifications from now on."""
    values: dict[str, Any] = {}
    if url is not None:
        values["url"] = wire.check_url(url)
    if topics is not None:
        values["topics"] = wire.check_topics(topics)
    if not values:
        raise ConfigError("nothing to update: give a new URL and/or topics")
    with translate_errors("updating a webhook"), engine.begin() as conn:
        before = _hook(conn, webhook_id)
        store.update_webhook(conn, webhook_id, **values, updated_at=now)
        _audit(conn, actor, "webhook.update", webhook_id,
               {k: {"from": before[k], "to": v} for k, v in values.items()}, now)
        return _view(_hook(conn, webhook_id), now)


def rotate_secret(engine: Engine, webhook_id: int, *, secret: str, grace: timedelta,
                  actor: str, now: datetime, server_secret: str = EXAMPLE_SECRET
                  ) -> WebhookView:
    """Sign with the new `secret` from now on; during `grace` every delivery carries a
    `v1` for the new and one for the old secret, so receivers switch when they like."""
    sealed = wire.seal(wire.check_secret(secret), server_secret)
    if grace < timedelta(0):
        raise ConfigError("the grace period cannot be negative")
    with translate_errors("rotating a webhook secret"), engine.begin() as conn:
        hook = _hook(conn, webhook_id)
        store.update_webhook(conn, webhook_id, secret=sealed, previous_secret=hook["secret"],
                             previous_until=now + grace if grace else None, updated_at=now)
        _audit(conn, actor, "webhook.rotate_secret", webhook_id,
               {"grace_seconds": grace.total_seconds()}, now)
        return _view(_hook(conn, webhook_id), now)


def send_test(engine: Engine, webhook_id: int, *, actor: str, clock: Callable[[], datetime],
                 options: DeliveryOptions | None = None) -> wire.Attempt:
    """Send one signed `webhook.test` delivery now, outside the outbox; the attempt says
    what the receiver answered."""
    options = options or DeliveryOptions()
    now = clock()
    with translate_errors("reading a webhook"), engine.connect() as conn:
        hook = _hook(conn, webhook_id)
    body = wire.body_of("webhook.test", f"test-{now.timestamp():.0f}-{webhook_id}", now,
                        {"webhook_id": webhook_id, "topics": hook["topics"]})

    async def send() -> wire.Attempt:
        async with httpx.AsyncClient(timeout=options.deadline) as client:
            return await wire.deliver(
                client, hook["url"], _secrets(hook, now, options.server_secret),
                event_type="webhook.test", delivery_id=f"test-{webhook_id}", body=body,
                attempt=options.max_attempts, now=now, deadline=options.deadline,
                max_attempts=options.max_attempts)

    attempt = asyncio.run(send())
    with translate_errors("writing the audit log"), engine.begin() as conn:
        _audit(conn, actor, "webhook.test", webhook_id,
               {"outcome": attempt.outcome, "status": attempt.status, "error": attempt.error},
               now)
    return attempt


def attempts(engine: Engine, delivery: int) -> list[dict[str, Any]]:
    """Every attempt of one delivery, oldest first."""
    with translate_errors("reading delivery attempts"), engine.connect() as conn:
        return store.attempts_of(conn, delivery)
