"""Ingest use cases: files (CSV, JSONL, Parquet) and Segment messages into the store.

Every batch of rows (`batch_size`, 1,000 by default) is one transaction: its events, the
contacts' and accounts' new states and scores, its quarantined rows and the file's
checkpoint commit together, so a killed ingest loses no committed row and a re-run resumes
after the checkpoint; event ids already stored are skipped as duplicates (across restarts,
files and HTTP). Bad rows go to quarantine with the reason; the good rows of the file land.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from mql.errors import ConfigError, InputError
from mql.identity.match import AccountIndex
from mql.identity.merge import IdentityRules
from mql.ingest import mapping as mappings
from mql.ingest.files import Kind, read_rows
from mql.ingest.segment import Message, parse_message
from mql.records import Account, Contact, Event
from mql.service import resolve
from mql.service.state import LiveModel, live_model
from mql.store import accounts as account_store
from mql.store import checkpoints
from mql.store import quarantine as quarantine_store
from mql.store.db import translate_errors
from mql.store.migrate import check

Progress = Callable[[int], None]  # rows read so far
KINDS: tuple[Kind, ...] = ("accounts", "contacts", "events")


@dataclass(slots=True)
class IngestSummary:
    """What one ingest did: rows read, loaded, skipped as duplicates, quarantined, resumed."""

    kind: str
    source: str
    mapping: str
    rows: int = 0
    loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    fields_dropped: int = 0  # optional fields that could not be read (the row was kept)
    resumed: int = 0
    merges: int = 0
    merges_refused: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Rows per second."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0


class AccountDirectory:
    """The account index of a long-running collector (the API's writer), kept between
    transactions: each use reads only the accounts created since the last one (by id), and
    the whole index is rebuilt every `refresh_seconds`, so a renamed account reaches fuzzy
    name matching within that time. Building it from scratch reads every account, which
    per request would cost more than the request. Not shared between threads."""

    def __init__(self, *, refresh_seconds: float = 300.0) -> None:
        self.refresh_seconds = refresh_seconds
        self._index = AccountIndex()
        self._last_id = 0
        self._built = -float("inf")

    def index(self, conn: Connection) -> AccountIndex:
        """The index, brought up to date with `conn`'s view of the accounts."""
        if time.monotonic() - self._built > self.refresh_seconds:
            self._index, self._last_id, self._built = AccountIndex(), 0, time.monotonic()
        names, self._last_id = account_store.names_after(conn, self._last_id)
        for domain, name in names:
            self._index.add(domain, name)
        return self._index


def checkpoint_key(path: Path, kind: str) -> str:
    """The key of a file's checkpoint: kind, absolute path, size and modification time
    (a changed file starts over; idempotency keeps that safe)."""
    stat = path.stat()
    return f"{kind}:{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def _raw_json(row: Mapping[str, Any] | str) -> str:
    return row if isinstance(row, str) else json.dumps(dict(row), default=str, sort_keys=True)


def parse_row(row: Mapping[str, Any], kind: str, mapping: str | mappings.Mapping, *,
              source: str, number: int) -> mappings.Parsed:
    """The record of one raw row after `mapping` (a name, a mapping file or a loaded
    mapping), whether it named its account, its company and its dropped fields."""
    loaded = mapping if isinstance(mapping, mappings.Mapping) else (
        mappings.resolve(mapping) or mappings.detect(row.keys(), kind))
    return mappings.parse(row, kind, loaded, source=source, number=number)


def _rows(path: Path, skip: int) -> Iterator[tuple[int, Mapping[str, Any] | InputError]]:
    for index, item in enumerate(read_rows(path)):
        if index >= skip:
            yield item


def ingest_file(engine: Engine, path: Path, kind: Kind, *, rules: IdentityRules, now: datetime,
                mapping: str | Path = "auto", source: str | None = None, batch_size: int = 1000,
                progress: Progress | None = None, date_format: str | None = None,
                dayfirst: bool | None = None) -> IngestSummary:
    """Load one file of `kind` into the store; the summary counts what happened to its rows.

    `mapping` renames CRM export headers ("auto" detects HubSpot and Salesforce exports; a
    built-in name or the path of a mapping file); `date_format` and `dayfirst` say how to
    read dates that are not ISO 8601 (over the mapping's own).
    """
    reader = mappings.Reader(path, kind, mappings.resolve(mapping), date_format=date_format,
                             dayfirst=dayfirst)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    name = source or path.name
    check(engine)
    key = checkpoint_key(path, kind)
    with translate_errors("starting the ingest"), engine.connect() as conn:
        done, finished = checkpoints.rows_done(conn, key)
        live = live_model(conn)
        index = AccountIndex(account_store.all_names(conn))
    skip = 0 if finished else done
    started = time.perf_counter()
    context = (live, index)
    summary = IngestSummary(kind, str(path), str(mapping), resumed=skip)
    batch: list[tuple[int, Mapping[str, Any] | InputError]] = []
    consumed = skip
    for item in _rows(path, skip):
        if reader.mapping is None and not isinstance(item[1], InputError):
            summary.mapping = reader.use(item[1].keys()).name
        batch.append(item)
        if len(batch) >= batch_size:
            consumed += len(batch)
            _commit(engine, kind, batch, summary, reader, rules=rules, now=now, source=name,
                    checkpoint=(key, consumed, False), context=context)
            batch = []
            if progress is not None:
                progress(consumed)
    consumed += len(batch)
    _commit(engine, kind, batch, summary, reader, rules=rules, now=now, source=name,
            checkpoint=(key, consumed, True), context=context)
    if progress is not None:
        progress(consumed)
    summary.seconds = time.perf_counter() - started
    return summary


def _commit(engine: Engine, kind: str, batch: list[tuple[int, Mapping[str, Any] | InputError]],
            summary: IngestSummary, reader: mappings.Reader, *, rules: IdentityRules,
            now: datetime, source: str, checkpoint: tuple[str, int, bool] | None,
            context: tuple[LiveModel, AccountIndex]) -> None:
    held: list[quarantine_store.Held] = []
    records: list[mappings.Parsed] = []
    for number, row in batch:
        summary.rows += 1
        name = reader.mapping.name if reader.mapping is not None else "mql"
        if isinstance(row, InputError):
            held.append(quarantine_store.Held(kind, summary.source, number, "{}", row.field,
                                              row.reason, name))
            continue
        try:
            parsed = reader.parse(row, number, summary.source)
        except InputError as exc:
            held.append(quarantine_store.Held(kind, summary.source, number, _raw_json(row),
                                              exc.field, exc.reason, _mapping_name(reader)))
            continue
        records.append(parsed)
        # the row lands; each optional field it lost is recorded (file, row, field, why)
        held.extend(quarantine_store.Held(kind, summary.source, number, _raw_json(row),
                                          w.field, w.reason, _mapping_name(reader))
                    for w in parsed.warnings)
        summary.fields_dropped += len(parsed.warnings)
    with translate_errors(f"ingesting {kind} from {summary.source}"), engine.begin() as conn:
        quarantine_store.add(conn, held, now=now)
        summary.quarantined += len(held) - sum(len(p.warnings) for p in records)
        if records:
            apply_records(conn, kind, records, summary, rules=rules, now=now, source=source,
                          live=context[0], index=context[1])
        if checkpoint is not None:
            key, rows, finished = checkpoint
            checkpoints.save(conn, key, kind, rows, finished=finished, now=now)


def _mapping_name(reader: mappings.Reader) -> str:
    """What a quarantined row says it was read with: a built-in name or the file's path."""
    if reader.spec is not None and reader.spec.source and reader.spec.name not in \
            mappings.MAPPINGS:
        return reader.spec.source
    return reader.mapping.name if reader.mapping is not None else "mql"


def apply_records(conn: Connection, kind: str, records: list[mappings.Parsed],
                  summary: IngestSummary, *, rules: IdentityRules, now: datetime, source: str,
                  live: LiveModel | None = None, index: AccountIndex | None = None,
                  import_stages: bool = True) -> None:
    """Apply parsed records of `kind` inside the caller's transaction, counting in `summary`.

    `live` and `index` (the active model, the account index) are loaded when not given; a
    file ingest loads them once for all its batches. `import_stages`: the contacts' stages
    are a CRM's (their starting stage, cause ``import``).
    """
    run = resolve.Run(conn, live or live_model(conn), rules, now, source,
                      index if index is not None else AccountIndex(account_store.all_names(conn)))
    if kind == "accounts":
        loaded = resolve.apply_accounts(run, [p.record for p in records
                                              if isinstance(p.record, Account)])
    elif kind == "contacts":
        people = [p for p in records if isinstance(p.record, Contact)]
        loaded = resolve.apply_contacts(run, [(p.record, p.named) for p in people
                                              if isinstance(p.record, Contact)],
                                        companies=[p.company for p in people],
                                        import_stages=import_stages)
    else:
        loaded = resolve.apply_events(run, [p.record for p in records
                                            if isinstance(p.record, Event)])
    summary.loaded += loaded
    summary.duplicates += run.duplicates
    summary.merges += run.merges
    summary.merges_refused += run.merges_refused


def ingest_records(engine: Engine, kind: Kind, records: Iterable[Account | Contact | Event], *,
                   rules: IdentityRules, now: datetime, source: str) -> IngestSummary:
    """Load records built elsewhere (e.g. parsed Segment messages) in one transaction."""
    summary = IngestSummary(kind, source, "mql")
    items = [mappings.Parsed(r, isinstance(r, Contact) and r.account is not None)
             for r in records]
    summary.rows = len(items)
    check(engine)
    with translate_errors(f"ingesting {kind} from {source}"), engine.begin() as conn:
        apply_records(conn, kind, items, summary, rules=rules, now=now, source=source,
                      import_stages=False)
    return summary


def ingest_messages(engine: Engine, payloads: Iterable[Mapping[str, Any]], *,
                    rules: IdentityRules, now: datetime, source: str = "segment"
                    ) -> IngestSummary:
    """Apply Segment messages (identify, track, page, group, batch) in one transaction;
    messages that cannot be read are quarantined with the reason, the others land."""
    summary = IngestSummary("events", source, "segment")
    check(engine)
    with translate_errors(f"ingesting messages from {source}"), engine.begin() as conn:
        apply_payloads(conn, payloads, summary, rules=rules, now=now, source=source)
    return summary


def apply_payloads(conn: Connection, payloads: Iterable[Mapping[str, Any]],
                   summary: IngestSummary, *, rules: IdentityRules, now: datetime, source: str,
                   index: AccountIndex | None = None) -> None:
    """Parse Segment messages and apply them inside the caller's transaction; the ones that
    cannot be read are quarantined with the reason."""
    held: list[quarantine_store.Held] = []
    messages: list[Message] = []
    for number, data in enumerate(payloads, start=1):
        summary.rows += 1
        try:
            messages.extend(parse_message(data, source=source, row=number))
        except InputError as exc:
            held.append(quarantine_store.Held("segment", source, number, _raw_json(data),
                                              exc.field, exc.reason, "segment"))
    quarantine_store.add(conn, held, now=now)
    summary.quarantined += len(held)
    apply_messages(conn, messages, summary, rules=rules, now=now, source=source, index=index)


def apply_messages(conn: Connection, messages: list[Message], summary: IngestSummary, *,
                   rules: IdentityRules, now: datetime, source: str,
                   index: AccountIndex | None = None) -> None:
    """Apply parsed Segment messages inside the caller's transaction (`index`: the account
    index, read from the store when not given)."""
    run = resolve.Run(conn, live_model(conn), rules, now, source,
                      index if index is not None else AccountIndex(account_store.all_names(conn)))
    contacts = [(m.contact, False) for m in messages if m.contact is not None]
    if contacts:
        resolve.apply_contacts(run, contacts)
    accounts = [m.account for m in messages if m.account is not None]
    if accounts:
        resolve.apply_accounts(run, accounts)
    events = resolve.with_user_emails(run, [(m.event, m.user_id) for m in messages])
    summary.loaded += resolve.apply_events(run, events)
    summary.duplicates += run.duplicates
    summary.merges += run.merges
    summary.merges_refused += run.merges_refused


@dataclass(frozen=True, slots=True)
class RetryResult:
    """What a quarantine retry did: ids loaded and ids still failing (with the reason)."""

    loaded: list[int]
    failed: list[tuple[int, str]]


def retry_quarantined(engine: Engine, ids: list[int] | None, *, rules: IdentityRules,
                      now: datetime, mapping: str | None = None) -> RetryResult:
    """Parse quarantined rows again (all open ones when `ids` is None) and load those that
    pass now (e.g. after a mapping fix); the others keep their (updated) reason."""
    check(engine)
    loaded: list[int] = []
    failed: list[tuple[int, str]] = []
    with translate_errors("retrying quarantined rows"), engine.begin() as conn:
        rows = (quarantine_store.listing(conn) if ids is None
                else [quarantine_store.get(conn, i) for i in ids])
        live = live_model(conn)
        for q in rows:
            use = mapping or q.mapping or "mql"
            try:
                raw = json.loads(q.raw)
                if q.kind == "segment":
                    parsed = parse_message(raw, source=q.source, row=q.row)
                    summary = IngestSummary("events", q.source, "segment")
                    apply_messages(conn, parsed, summary, rules=rules, now=now,
                                   source=q.source)
                    quarantine_store.resolve(conn, q.id, now=now)
                    loaded.append(q.id)
                    continue
                record = parse_row(raw, q.kind, use, source=q.source, number=q.row)
                still = [w for w in record.warnings if w.field == q.field]
                if still:  # a kept row whose dropped field still cannot be read
                    raise still[0]
            except InputError as exc:
                quarantine_store.update_reason(conn, q.id, exc.reason, exc.field)
                failed.append((q.id, str(exc)))
                continue
            except json.JSONDecodeError:
                failed.append((q.id, f"{q.source}:{q.row}: the raw row is not readable"))
                continue
            summary = IngestSummary(q.kind, q.source, use)
            apply_records(conn, q.kind, [record], summary, rules=rules, now=now,
                          source=q.source, live=live)
            quarantine_store.resolve(conn, q.id, now=now)
            loaded.append(q.id)
    return RetryResult(loaded, failed)
