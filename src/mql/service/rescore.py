"""Rescoring use cases with a batch engine: every contact, at one time or every day.

`rescore_files` reads contacts and accounts with `mql.ingest` (the same parsing as
streaming scoring), hands the events file to the engine as is, and writes the result.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from mql.batch.asof import AsOf
from mql.batch.compile import to_sql
from mql.batch.engines import Inputs, OutputFormat, Summary, connect
from mql.batch.sql import Dialect
from mql.errors import ConfigError, InputError
from mql.identity.jobs import JOB_CHANGE, attributes_at
from mql.identity.match import is_free_mail
from mql.ingest import mapping as mappings
from mql.ingest.files import BadRow, Kind, Rejected
from mql.ingest.formats import EVENT_COLUMNS, EXTERNAL_ID_FIELDS, event_to_row
from mql.ingest.writers import Column, open_writer
from mql.model.portability import batch_limits
from mql.model.spec import Model
from mql.records import Account, Contact, Event
from mql.service import state as states
from mql.service.scores import Ledgers
from mql.service.scoring import load_model_file
from mql.store import contacts as contact_store
from mql.store import events as event_store
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
    warnings: list[InputError] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return self.summary.events / self.seconds if self.seconds > 0 else 0.0


SUFFIXES: dict[str, OutputFormat] = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def output_format(out: Path, fmt: str | None) -> OutputFormat:
    """The format to write `out` in: `fmt`, else the one its extension names (no
    extension: Parquet). An extension of another format (`x.xlsx`, or `x.csv` with
    --format parquet) is refused rather than written under a misleading name."""
    suffix = out.suffix.lower()
    named = SUFFIXES.get(suffix)
    if suffix and named is None:
        raise ConfigError(f"--out {out}: mql writes Parquet or CSV, not {suffix!r}; name the "
                          "file .parquet or .csv (or pass --format)")
    if fmt is not None and named is not None and named != fmt:
        raise ConfigError(f"--out {out} names {named} but --format is {fmt}; make them agree")
    if fmt is not None and fmt not in ("parquet", "csv"):
        raise ConfigError(f"--format {fmt}: choose parquet or csv")
    chosen: OutputFormat = "csv" if (fmt or named) == "csv" else "parquet"
    return chosen


def check_writable(out: Path) -> None:
    """Refuse, before any work, an `out` whose folder does not exist or cannot be written
    (the batch query may take minutes; its result must not be lost at the last step)."""
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"--out {out}: the folder {folder} does not exist; create it first "
                          f"(mkdir -p {folder})")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out}: the folder {folder} is not writable")
    if out.exists() and not os.access(out, os.W_OK):
        raise ConfigError(f"--out {out}: the file exists and is not writable")


def engine_options(engine: str, master: str | None) -> dict[str, Any]:
    """The options `connect` gets from the command line: a Spark master URL (Spark only).

    >>> engine_options("spark", "local[4]")
    {'master': 'local[4]'}
    >>> engine_options("duckdb", None)
    {}
    >>> engine_options("duckdb", "local[4]")
    Traceback (most recent call last):
    ...
    mql.errors.ConfigError: --master is a Spark master URL; add --engine spark
    """
    if master is None:
        return {}
    if engine != "spark":
        raise ConfigError("--master is a Spark master URL; add --engine spark")
    if not master.strip():
        raise ConfigError("--master is empty; give a Spark master URL such as local[2]")
    return {"master": master.strip()}


def check_engine(model: Model, engine: str) -> None:
    """Refuse, before any work, a model that uses what `engine` cannot run (a regex
    construct its database lacks); `mql score` still scores it."""
    limits = batch_limits(model, engine)
    if limits:
        raise ConfigError("\n".join([*limits, f"the {engine} engine cannot run this model; "
                                      "change these patterns, or score it with mql score"]))


class _Accounts:
    """The accounts of a file run: the accounts file's, with the company columns of the
    contacts file filling their gaps (and giving accounts the file lacks), read again on
    every iteration like the files."""

    def __init__(self, accounts: mappings.MappedFile | None, contacts: mappings.Reader
                 ) -> None:
        self.accounts = accounts
        self.contacts = contacts

    def _companies(self) -> dict[str, Account]:
        mapping = self.contacts.mapping
        section = mapping.sections.get("contacts") if mapping is not None else None
        if section is None or not any(t.startswith(mappings.ACCOUNT_PREFIX)
                                      for targets in section.columns.values()
                                      for t in targets):
            return {}
        found: dict[str, Account] = {}
        for _, item in self.contacts.records():
            company = getattr(item, "company", None)
            if company is not None and not is_free_mail(company.domain):
                found[company.domain] = mappings.with_company(found.get(company.domain),
                                                              company)
        return found

    def __iter__(self) -> Iterator[Account]:
        companies = self._companies()
        for account in self.accounts or ():
            company = companies.pop(account.domain, None)
            yield account if company is None else mappings.with_company(account, company)
        yield from companies.values()


def _header(reader: mappings.Reader) -> list[str]:
    """The file's column names: its header (CSV, Parquet) or its first row's keys (JSONL)."""
    header = reader.rows.header()
    if header is not None:
        return header
    for _, row in reader.rows:
        if not isinstance(row, BadRow):
            return list(row.keys())
    return []


def _reader(path: Path, kind: Kind, mapping: str | Path | None, date_format: str | None,
            dayfirst: bool | None) -> mappings.Reader:
    reader = mappings.Reader(path, kind, mappings.resolve(mapping), date_format=date_format,
                             dayfirst=dayfirst)
    reader.use(_header(reader))  # the header decides the mapping ("auto")
    reader.check_header()  # a missing required column: refused before the engine starts
    return reader


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
    mapping: str | Path | None = None,
    date_format: str | None = None,
    dayfirst: bool | None = None,
) -> RescoreRun:
    """Score every contact of `contacts` with the model at `model_path` at each time of
    `as_of`, and write one row per contact and time to `out`.

    `mapping` (None: detected from each header), `date_format` and `dayfirst` read CRM
    exports as `mql score` does; an events file that needs them is converted to mql's
    layout first (an events file in mql's layout with ISO times goes to the engine as is).
    """
    if engine not in DIALECTS:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {sorted(DIALECTS)}")
    check_writable(out)
    model = load_model_file(model_path)
    check_engine(model, engine)
    tell = progress or (lambda step: None)
    began = time.perf_counter()
    # streamed from the files while the engine builds its tables: a million contacts as
    # Python records would take gigabytes
    options = (mapping, date_format, dayfirst)
    people_reader = _reader(contacts, "contacts", *options)
    people = mappings.MappedFile(people_reader)
    companies = (mappings.MappedFile(_reader(accounts, "accounts", *options))
                 if accounts is not None else None)
    with tempfile.TemporaryDirectory(prefix="mql-rescore-") as scratch:
        events_reader = _reader(events, "events", *options)
        dropped: list[InputError] = []
        bad_events: list[Rejected] = []
        events_input = events
        by_id = bool(set(mappings.mapped_columns(
            _header(events_reader), "events", events_reader.use(_header(events_reader))))
            & set(EXTERNAL_ID_FIELDS))
        if (events_reader.mapping is not None and events_reader.mapping.name != "mql") \
                or date_format is not None or dayfirst is not None or by_id:
            tell("converting the events to mql's layout")
            events_input = Path(scratch) / "events.csv"
            # events that name only a CRM id join the contact holding it, as in `mql score`
            keys = mappings.aliases(people) if by_id else {}
            with open_writer(events_input, "csv",
                             [Column(name) for name in EVENT_COLUMNS]) as writer:
                for _, item in events_reader.records():
                    if isinstance(item, mappings.Parsed) and isinstance(item.record, Event):
                        writer.write(event_to_row(mappings.joined(item.record, keys)))
                        dropped.extend(item.warnings)
                    elif isinstance(item, Rejected):
                        bad_events.append(item)
        tell(f"starting {engine}")
        runner = connect(engine, **(engine_options or {}))
        try:
            inputs = Inputs(people, _Accounts(companies, people_reader), events_input)
            summary = runner.export(model, inputs, as_of, out, fmt, progress=tell)
        finally:
            runner.close()
    rejected = [*people.rejected, *(companies.rejected if companies else []), *bad_events]
    warnings = [*people.warnings, *(companies.warnings if companies else []), *dropped]
    return RescoreRun(model, as_of, summary, time.perf_counter() - began, out, rejected,
                      warnings)


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


def _contacts_at(conn: Connection, as_of: AsOf) -> list[Contact]:
    """Every live contact as a record, with its title and company as they were at the
    last time of `as_of` (`mql.identity.jobs.attributes_at`): a rescore of the past reads
    the attributes of then, as `mql scores --at` does."""
    ids = contact_store.live_contact_ids(conn)
    stored = contact_store.load_contacts(conn, ids)
    at = as_of.times()[-1]
    changes = event_store.of_type(conn, ids, JOB_CHANGE, after=at)
    out: list[Contact] = []
    for cid, c in stored.items():
        then = attributes_at(c.record.attributes, changes.get(cid, ()), at)
        out.append(c.record if then is None else dataclasses.replace(c.record, attributes=then))
    return out


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
    check_writable(out)
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
                check_engine(model, engine)
                people = _contacts_at(conn, as_of)
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
