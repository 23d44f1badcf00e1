"""The write path of collection: acknowledge once in the inbox, apply right behind.

Every collection request puts its messages on a queue and waits; one task takes everything
queued (up to `max_messages`) and commits it to the inbox (`mql.service.collect.receive`)
in one transaction in a worker thread, then wakes the requests: under load many requests
share one commit. The applier (`mql.service.collect.run_applier`: identity, scores,
hand-off, the costly part) runs in a child process, so scoring never holds the server's
interpreter lock while requests wait; it is restarted if it dies, and at start it applies
what a stopped server left. A request's latency is the inbox commit's, and a burst is
absorbed by the inbox and applied in larger, cheaper groups. `pending()` tells how far the
applier is behind (`GET /v1/inbox`). Backpressure: a gauge task reads the inbox every
`GAUGE_SECONDS` and estimates the lag ahead: the larger of the oldest message's age and the
time the applier needs for what waits (pending messages / the rate of its last group, which
the applier process reports).
While that passes `max_lag`, `overloaded()` says so and collection refuses new messages
(with Retry-After) until the applier has caught up, so the lag stays near the bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from mql.clock import Clock
from mql.identity.merge import IdentityRules
from mql.service.collect import pending, receive, run_applier
from mql.store.inbox import Pending, open_inbox

log = logging.getLogger("mql.api")
GAUGE_SECONDS = 0.25  # how often the inbox's lag is read for backpressure
_SPAWN = multiprocessing.get_context("spawn")  # no fork of a running event loop and threads


@dataclass(slots=True)
class _Job:
    source: str
    payloads: Sequence[Mapping[str, Any]]
    done: asyncio.Future[None]


class Writer:
    """Commits queued messages to the inbox in groups (`await write(...)` returns once they
    are stored), with an applier process applying the inbox to the store behind them."""

    def __init__(self, engine: Engine, database_url: str, *, rules: IdentityRules,
                 clock: Clock, max_messages: int = 5000, apply_delay: float = 0.2,
                 max_lag: float | None = None) -> None:
        self._engine = engine
        self._url = database_url
        self._inbox = open_inbox(engine)
        self._rules = rules
        self._clock = clock
        self._max = max_messages
        self._delay = apply_delay
        self._queue: asyncio.Queue[_Job] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._applier: Any = None  # multiprocessing's process object (SpawnProcess)
        self._stop: Any = None  # our end of the pipe the applier polls: closed means stop
        self._stopping = False
        self.max_lag = max_lag
        self.lag = 0.0  # the lag ahead at the last gauge reading, in seconds
        # messages per second of the applier's last group, written by the applier process
        self._rate: Any = _SPAWN.Value("d", 0.0)

    def overloaded(self) -> bool:
        """Whether the applier is more than `max_lag` seconds behind (at the last reading):
        then collection should refuse new messages until it has caught up."""
        return self.max_lag is not None and self.lag > self.max_lag

    async def start(self) -> None:
        """Start the writer task and the applier process."""
        self._queue = asyncio.Queue()
        self._stopping = False
        self._start_applier()
        self._tasks = [asyncio.create_task(self._run()), asyncio.create_task(self._watch())]
        if self.max_lag is not None:
            self._tasks.append(asyncio.create_task(self._gauge()))

    async def stop(self) -> None:
        """Stop the writer and the applier (what is in the inbox is applied at next start)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._stopping = True
        if self._applier is not None:
            self._stop.close()
            await asyncio.to_thread(self._applier.join, 30)
            if self._applier.is_alive():
                self._applier.terminate()
        if self._inbox is not self._engine:
            self._inbox.dispose()

    async def write(self, payloads: Sequence[Mapping[str, Any]], *, source: str) -> None:
        """Store `payloads` (Segment messages) from `source` in the inbox; returns once they
        are committed. Store errors are raised here."""
        if self._queue is None:
            raise RuntimeError("the writer is not started; create_app() starts it")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(source, payloads, done))
        await done

    async def pending(self) -> Pending:
        """Messages stored but not applied yet, and the oldest one's arrival."""
        return await asyncio.to_thread(pending, self._inbox)

    async def _gauge(self) -> None:
        """Keep `lag` current for `overloaded()`."""
        while True:
            try:
                waiting = await self.pending()
            except Exception as exc:  # the store is down: requests will say so themselves
                log.warning("reading the inbox's lag failed: %s", exc)
            else:
                age = 0.0 if waiting.oldest is None else max(
                    0.0, (self._clock.now() - waiting.oldest).total_seconds())
                rate = self._rate.value  # what the applier's last group took
                ahead = waiting.count / rate if rate > 0 else 0.0
                self.lag = max(age, ahead)
            await asyncio.sleep(GAUGE_SECONDS)

    def _start_applier(self) -> None:
        # the applier stops when our end of the pipe closes: at stop(), or when this
        # process dies in any way, so it never outlives the server
        theirs, self._stop = _SPAWN.Pipe(duplex=False)
        self._applier = _SPAWN.Process(
            target=run_applier, name="mql-applier", daemon=True, args=(self._url,),
            kwargs={"rules": self._rules, "clock": self._clock, "delay": self._delay,
                    "stop": theirs, "max_lag": self.max_lag, "rate": self._rate})
        self._applier.start()
        theirs.close()

    async def _watch(self) -> None:
        """Restart the applier when it died (a crash, or killed by the system)."""
        while True:
            await asyncio.sleep(1.0)
            if not self._applier.is_alive() and not self._stopping:
                log.error("the applier process exited (code %s); restarting it",
                          self._applier.exitcode)
                self._stop.close()
                self._start_applier()

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            jobs = [await self._queue.get()]
            count = len(jobs[0].payloads)
            while count < self._max and not self._queue.empty():
                job = self._queue.get_nowait()
                jobs.append(job)
                count += len(job.payloads)
            try:
                await asyncio.to_thread(receive, self._inbox,
                                        [(job.source, job.payloads) for job in jobs],
                                        now=self._clock.now())
            except Exception as exc:  # every waiting request gets the store's error
                for job in jobs:
                    if not job.done.done():
                        job.done.set_exception(exc)
                continue
            for job in jobs:
                if not job.done.done():
                    job.done.set_result(None)
