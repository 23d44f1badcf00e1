"""The write path of collection: requests wait while one writer commits them together.

Every collection request puts its messages on a queue and waits; one task takes everything
queued (up to `max_messages`), applies it with one `ingest_messages` call per source — one
transaction — in a worker thread, and then wakes the requests. A request is answered only
after its transaction committed, and under load many requests share one commit, which is
what makes SQLite fast here (one writer, no lock contention, one fsync per group).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.service.ingest import IngestSummary, ingest_messages


@dataclass(slots=True)
class _Job:
    source: str
    payloads: Sequence[Mapping[str, Any]]
    done: asyncio.Future[IngestSummary]


class Writer:
    """Commits queued messages in groups; `await write(...)` returns once they are stored."""

    def __init__(self, engine: Engine, *, rules: IdentityRules, now: Callable[[], datetime],
                 max_messages: int = 5000) -> None:
        self._engine = engine
        self._rules = rules
        self._now = now
        self._max = max_messages
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the writer task on the running loop."""
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop the writer task (queued requests are failed by the server's shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def write(self, payloads: Sequence[Mapping[str, Any]], *, source: str) -> IngestSummary:
        """Store `payloads` (Segment messages) from `source`; the summary of the group they
        were committed in. Store errors are raised here."""
        if self._queue is None:
            raise RuntimeError("the writer is not started; create_app() starts it")
        done: asyncio.Future[IngestSummary] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(source, payloads, done))
        return await done

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            jobs = [await self._queue.get()]
            count = len(jobs[0].payloads)
            while count < self._max and not self._queue.empty():
                job = self._queue.get_nowait()
                jobs.append(job)
                count += len(job.payloads)
            by_source: dict[str, list[_Job]] = {}
            for job in jobs:
                by_source.setdefault(job.source, []).append(job)
            for source, group in by_source.items():
                payloads = [p for job in group for p in job.payloads]
                try:
                    summary = await asyncio.to_thread(
                        ingest_messages, self._engine, payloads, rules=self._rules,
                        now=self._now(), source=source)
                except Exception as exc:  # every waiting request gets the store's error
                    for job in group:
                        if not job.done.done():
                            job.done.set_exception(exc)
                    continue
                for job in group:
                    if not job.done.done():
                        job.done.set_result(summary)
