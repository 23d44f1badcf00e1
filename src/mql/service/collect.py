"""Collection through the inbox: acknowledge once stored, apply right after.

`receive` commits messages to the inbox (`mql.store.inbox`) - what a collection request
waits for. `apply_inbox` takes the oldest messages, applies them to the store in one
transaction (`ingest_messages`' work: quarantine, identity, scores, hand-off) and removes
them; `run_applier` repeats it in a process of its own beside `mql serve`, so the store
follows within a fraction of a second under normal load and catches up after a burst.
A message whose apply fails (other than the store being unreachable, its schema outdated or
no model active: those keep the messages until fixed) is found by halving the group and
quarantined with the error, so one bad message never holds up the others.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any, Protocol

from sqlalchemy.engine import Connection, Engine

from mql.clock import Clock
from mql.errors import ConfigError, MQLError, SchemaOutdated, StoreUnavailable
from mql.identity.merge import IdentityRules
from mql.ingest.segment import held_id
from mql.service.ingest import (
    AccountDirectory,
    IngestSummary,
    ReadPayloads,
    apply_read,
    read_payloads,
)
from mql.store import inbox as inbox_store
from mql.store import quarantine as quarantine_store
from mql.store.db import connect, dumps, translate_errors

GROUP = 5000  # messages applied in one transaction at most
RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)  # the applier's back-off while the store is down
log = logging.getLogger("mql.applier")


class Stop(Protocol):
    """When to stop: `poll(t)` waits up to t seconds and tells whether it is time (the
    reading end of a `multiprocessing.Pipe` is one: a message or the parent's exit)."""

    def poll(self, timeout: float) -> bool: ...


def receive(inbox: Engine, batches: Sequence[tuple[str, Sequence[Mapping[str, Any]]]], *,
            now: datetime) -> None:
    """Store every (source, messages) of `batches` in the inbox in one transaction."""
    with translate_errors("storing messages in the inbox"), inbox.begin() as conn:
        for source, payloads in batches:
            inbox_store.put(conn, source, [dumps(p) for p in payloads], now=now)


def pending(inbox: Engine) -> inbox_store.Pending:
    """How many messages wait to be applied, and since when."""
    with translate_errors("reading the inbox"), inbox.connect() as conn:
        return inbox_store.pending(conn)


def apply_inbox(engine: Engine, inbox: Engine, *, rules: IdentityRules, now: datetime,
                accounts: AccountDirectory | None = None, limit: int = GROUP) -> int:
    """Apply the oldest `limit` inbox messages to the store; how many were taken (0: the
    inbox is empty). `StoreUnavailable` leaves them for the next call.

    On PostgreSQL (the inbox in the store's database) the messages are claimed, applied
    and removed in one transaction (`inbox_store.claim`): each applier of several servers
    on one store takes messages no other one holds, in arrival order, a crash frees its
    claim, and a message is applied or quarantined once."""
    if inbox is engine and engine.dialect.name == "postgresql":
        return _apply_claimed(engine, rules=rules, now=now, accounts=accounts, limit=limit)
    with translate_errors("reading the inbox"), inbox.connect() as conn:
        messages = inbox_store.take(conn, limit)
    if not messages:
        return 0
    same = inbox is engine  # then each apply removes its messages in its own transaction

    def attempt(part: Messages, run: Callable[[Connection], None]) -> None:
        with translate_errors("applying the inbox"), engine.begin() as conn:
            inbox_store.lock_applier(conn)
            run(conn)
            if same:
                inbox_store.remove(conn, [m.id for m in part])

    _isolating(attempt, messages, _read(messages, now), rules=rules, now=now,
               accounts=accounts)
    if not same:
        with translate_errors("clearing the inbox"), inbox.begin() as conn:
            inbox_store.remove(conn, [m.id for m in messages])
    return len(messages)


def _apply_claimed(engine: Engine, *, rules: IdentityRules, now: datetime,
                   accounts: AccountDirectory | None, limit: int) -> int:
    """`apply_inbox` on PostgreSQL: claim, apply (each attempt in a savepoint, so halving
    keeps the claim) and remove in one transaction.

    Messages are applied in arrival order as with one applier: one whose turn comes while
    an older claim of another applier is still unapplied gives its claim back (0: nothing
    taken, the loop tries again after its delay)."""
    try:
        with translate_errors("applying the inbox"), engine.begin() as conn:
            messages = inbox_store.claim(conn, limit)
            if not messages:
                return 0
            reads = _read(messages, now)  # before the turn: another applier may be applying
            inbox_store.lock_applier(conn)  # appliers take turns on the store's rows
            if inbox_store.has_before(conn, messages[0].id):
                raise _NotYet

            def attempt(part: Messages, run: Callable[[Connection], None]) -> None:
                with translate_errors("applying the inbox"), conn.begin_nested():
                    run(conn)

            _isolating(attempt, messages, reads, rules=rules, now=now, accounts=accounts)
            inbox_store.remove(conn, [m.id for m in messages])
    except _NotYet:
        return 0
    return len(messages)


class _NotYet(Exception):
    """Older messages are claimed by another applier and not applied yet."""


Messages = Sequence[inbox_store.InboxMessage]
Attempt = Callable[[Messages, Callable[[Connection], None]], None]


def _isolating(attempt: Attempt, messages: Messages, reads: Reads, *, rules: IdentityRules,
               now: datetime, accounts: AccountDirectory | None) -> None:
    """Apply `messages` in one attempt (a transaction); when that fails, apply halves,
    down to single messages, and quarantine each one that fails alone with the error."""
    if not messages:
        return
    try:
        attempt(messages, lambda conn: _apply(conn, messages, reads, rules=rules, now=now,
                                              accounts=accounts))
        return
    except (StoreUnavailable, SchemaOutdated, ConfigError):
        raise  # not the messages' fault: they stay in the inbox until it is fixed
    except Exception as exc:  # any failure of one message must not hold up the others
        log.warning("applying %d inbox messages failed (%s: %s)%s", len(messages),
                    type(exc).__name__, exc, "" if len(messages) == 1 else "; halving")
        if len(messages) == 1:
            error = exc
            attempt(messages, lambda conn: _quarantine(conn, messages[0], error, now))
            return
    half = len(messages) // 2
    for part in (messages[:half], messages[half:]):
        _isolating(attempt, part, reads, rules=rules, now=now, accounts=accounts)


Reads = Mapping[int, ReadPayloads | Exception]  # by inbox message id


def _read(messages: Messages, now: datetime) -> dict[int, ReadPayloads | Exception]:
    """Each message parsed and checked (`read_payloads`), numbered within its run of one
    source, before the store is involved; a message whose reading fails keeps the error
    (its apply raises it, so the halving quarantines it alone)."""
    reads: dict[int, ReadPayloads | Exception] = {}
    for source, group in groupby(messages, key=lambda m: m.source):
        for number, m in enumerate(group, start=1):
            try:
                reads[m.id] = read_payloads([json.loads(m.payload)], source=source, now=now,
                                            first=number)
            except Exception as exc:  # raised again by its apply
                reads[m.id] = exc
    return reads


def _apply(conn: Connection, messages: Messages, reads: Reads, *, rules: IdentityRules,
           now: datetime, accounts: AccountDirectory | None) -> None:
    for source, group in groupby(messages, key=lambda m: m.source):
        read = ReadPayloads()
        for m in group:
            found = reads[m.id]
            if isinstance(found, Exception):
                raise found
            read.extend(found)
        apply_read(conn, read, IngestSummary("events", source, "segment"), rules=rules,
                   now=now, source=source,
                   index=None if accounts is None else accounts.index(conn))


def _quarantine(conn: Connection, message: inbox_store.InboxMessage, exc: Exception,
                now: datetime) -> None:
    try:
        key: str | None = held_id(json.loads(message.payload))
    except ValueError:
        key = None
    quarantine_store.add(conn, [quarantine_store.Held(
        "segment", message.source, message.id, message.payload, None,
        f"applying it failed: {exc}", "segment", message_id=key)], now=now)


def group_size(seconds_per_message: float, max_lag: float | None) -> int:
    """How many messages the next group takes: `GROUP`, or fewer when a group would take
    more than half of `max_lag` (the server's lag bound) at the rate of the last one, so
    that a group being applied never holds the oldest message past the bound by much.

    >>> group_size(0.0002, 30.0), group_size(0.001, 2.0), group_size(0.01, 0.5)
    (5000, 1000, 100)
    """
    if max_lag is None or seconds_per_message <= 0:
        return GROUP
    return max(100, min(GROUP, int(max_lag / 2 / seconds_per_message)))


def run_applier(database_url: str, *, rules: IdentityRules, clock: Clock, delay: float,
                stop: Stop, max_lag: float | None = None, rate: Any = None) -> None:
    """Apply the inbox of the store at `database_url` until `stop` says so: what `mql serve`
    runs in a process of its own, beside the requests. After a partial group it waits
    `delay` seconds, so messages gather into larger, cheaper groups; while the store is
    unreachable it retries with back-off, the messages staying in the inbox. Groups are
    sized by `group_size` for the server's lag bound `max_lag`; `rate` (a shared
    `multiprocessing.Value`, if given) gets the messages per second of each group."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: [%(name)s] %(message)s")
    engine = connect(database_url)
    inbox = inbox_store.open_inbox(engine)
    accounts = AccountDirectory()
    failures = 0
    limit = group_size(0.001, max_lag)  # until measured: a millisecond a message
    try:
        while not stop.poll(0):
            started = time.monotonic()
            try:
                taken = apply_inbox(engine, inbox, rules=rules, now=clock.now(),
                                    accounts=accounts, limit=limit)
            except MQLError as exc:
                pause = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning("applying the inbox failed (%s); retrying in %.0f s", exc, pause)
                if stop.poll(pause):
                    break
                continue
            failures = 0
            if taken:
                took = max(time.monotonic() - started, 1e-6)
                full = taken >= min(limit, 500)  # a few messages say little of the speed
                limit = group_size(took / taken, max_lag)
                if rate is not None and full:
                    rate.value = taken / took
            if taken < limit and stop.poll(max(delay, 0.01)):
                break
    finally:
        if inbox is not engine:
            inbox.dispose()
        engine.dispose()
