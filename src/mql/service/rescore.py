"""Rescoring use cases with a batch engine: every contact, at one time or every day.

`rescore_files` reads contacts and accounts with `mql.ingest` (the same parsing as
streaming scoring), hands the events file to the engine as is, and writes the result.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from mql.batch.asof import AsOf
from mql.batch.compile import to_sql
from mql.batch.engines import Inputs, OutputFormat, Summary, connect
from mql.batch.sql import Dialect
from mql.errors import ConfigError
from mql.ingest.files import RecordFile, Rejected
from mql.ingest.formats import EVENT_COLUMNS, event_to_row
from mql.ingest.writers import Column, open_writer
from mql.model.spec import Model
from mql.records import Account, Contact
from mql.service import state as states
from mql.service.scores import Ledgers
from mql.service.scoring import load_model_file
from mql.store import export
from mql.store import handoff as handoff_store
from mql.store.db import connect as connect_store
from mql.store.db import translate_errors
from mql.store.migrate import check

Progress = Callable[[str], None]
DIALECTS: dict[str, Dialect] = {"duckdb": "duckdb", "spark": "spark"}


@dataclass(frozen=True, slots=True)
class RescoreRun:
    """What a rescore did: the engine's summary, the wall time, and the contact and
    account rows that could not be read (events are filtered by the engine)."""

    model: Model
    as_of: AsOf
    summary: Summary
    seconds: float
    out: Path
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return self.summary.events / self.seconds if self.seconds > 0 else 0.0


def rescore_files(
    model_path: Path,
    *,
    events: Path,
    contacts: Path,
    accounts: Path | None,
    out: Path,
    as_of: AsOf,
    engine: str = "duckdb",
    fmt: OutputFormat = "parquet",
    progress: Progress | None = None,
    engine_options: dict[str, Any] | None = None,
) -> RescoreRun:
    """Score every contact of `contacts` with the model at `model_path` at each time of
    `as_of`, and write one row per contact and time to `out`."""
    model = load_model_file(model_path)
    if engine not in DIALECTS:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {sorted(DIALECTS)}")
    tell = progress or (lambda step: None)
    began = time.perf_counter()
    # streamed from the files while the engine builds its tables: a million contacts as
    # Python records would take gigabytes
    people: RecordFile[Contact] = RecordFile(contacts, "contacts")
    companies: RecordFile[Account] | None = (RecordFile(accounts, "accounts")
                                             if accounts is not None else None)
    tell(f"starting {engine}")
    runner = connect(engine, **(engine_options or {}))
    try:
        inputs = Inputs(people, companies if companies is not None else [], events)
        summary = runner.export(model, inputs, as_of, out, fmt, progress=tell)
    finally:
        runner.close()
    rejected = [*people.rejected, *(companies.rejected if companies else [])]
    return RescoreRun(model, as_of, summary, time.perf_counter() - began, out, rejected)


def compiled_sql(model_path: Path, *, engine: str, as_of: AsOf) -> str:
    """The query `engine` runs for the model at `model_path` (no engine is started)."""
    if engine not in DIALECTS:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {sorted(DIALECTS)}")
    return to_sql(load_model_file(model_path), as_of, DIALECTS[engine], pretty=True)


def reset_points(conn: Connection, as_of: AsOf) -> dict[int, datetime]:
    """The intent reset in force for each contact at the last time of `as_of` (as every
    view of a lead decides it, `service.scores.Ledgers`): the contacts whose own events
    before it count for their account only."""
    at = as_of.times()[-1]
    live = states.live_model(conn)
    with_resets = set(handoff_store.resets_of(conn))
    ids = sorted(with_resets | set(handoff_store.mqls_due_by(conn, at)))
    if not ids:
        return {}
    ledgers = Ledgers(conn, live, ids)
    found = {cid: ledgers.since(cid, at) for cid in ids if cid in ledgers.contacts}
    return {cid: t for cid, t in found.items() if t is not None}


def rescore_store(
    database_url: str,
    *,
    out: Path,
    as_of: AsOf,
    model_path: Path | None = None,
    engine: str = "duckdb",
    fmt: OutputFormat = "parquet",
    progress: Progress | None = None,
    engine_options: dict[str, Any] | None = None,
) -> RescoreRun:
    """Rescore the store's contacts from its events with the batch engine; the model is
    `model_path`, or the store's active model version."""
    if engine not in DIALECTS:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {sorted(DIALECTS)}")
    tell = progress or (lambda step: None)
    began = time.perf_counter()
    db = connect_store(database_url)
    check(db)
    try:
        with tempfile.TemporaryDirectory(prefix="mql-rescore-") as scratch:
            events_path = Path(scratch) / "events.csv"
            tell("exporting the store's events")
            with translate_errors("exporting the store"), db.connect() as conn:
                if model_path is None:
                    live = states.live_model(conn)
                    model = live.model
                else:
                    model = load_model_file(model_path)
                people = export.live_contacts(conn)
                companies = export.all_accounts(conn)
                since = reset_points(conn, as_of)
                with open_writer(events_path, "csv",
                                 [Column(name) for name in EVENT_COLUMNS]) as writer:
                    writer.write_many(event_to_row(e) for e in
                                      export.resolved_events(conn, since=since))
            tell(f"starting {engine}")
            runner = connect(engine, **(engine_options or {}))
            try:
                summary = runner.export(model, Inputs(people, companies, events_path), as_of,
                                        out, fmt, progress=tell)
            finally:
                runner.close()
    finally:
        db.dispose()
    return RescoreRun(model, as_of, summary, time.perf_counter() - began, out)
