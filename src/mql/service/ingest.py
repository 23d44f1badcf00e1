"""Ingest use cases: files (CSV, JSONL, Parquet) and Segment messages into the store.

Every batch of rows (`batch_size`, 1,000 by default) is one transaction: its events, the
contacts' and accounts' new states and scores, its quarantined rows and the file's
checkpoint commit together, so a killed ingest loses no committed row and a re-run resumes
after the checkpoint; event ids already stored are skipped as duplicates (across restarts,
files and HTTP). Bad rows go to quarantine with the reason; the good rows of the file land.

Every record passes the checks of `mql.limits` before the store sees it (the same on
SQLite and PostgreSQL); events more than `future_skew` after the ingest time are
quarantined too. A quarantined row is stored once however often its file is read, and is
marked resolved when a later row about the same event id, email or domain lands.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine

from mql import limits
from mql.errors import ConfigError, InputError
from mql.identity.match import AccountIndex
from mql.identity.merge import IdentityRules
from mql.ingest import mapping as mappings
from mql.ingest.files import BadRow, Kind, ReadOptions
from mql.ingest.formats import external_id_key
from mql.ingest.segment import Message, held_id, parse_message, refusal
from mql.records import Account, Contact, Event
from mql.service import resolve, suppressed
from mql.service import state as states
from mql.service.state import LiveModel, live_model
from mql.store import accounts as account_store
from mql.store import checkpoints
from mql.store import quarantine as quarantine_store
from mql.store.db import translate_errors
from mql.store.migrate import check

Progress = Callable[[int, int, int | None], None]  # rows read, done and total (bytes or rows)
KINDS: tuple[Kind, ...] = ("accounts", "contacts", "events")


_T = TypeVar("_T")

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
    quarantined_before: int = 0  # of `quarantined`: already held from an earlier read
    resolved: int = 0  # earlier quarantined rows that a row of this ingest resolved
    fields_dropped: int = 0  # optional fields that could not be read (the row was kept)
    resumed: int = 0
    merges: int = 0
    merges_refused: int = 0
    refused_suppressed: int = 0  # of `quarantined`: rows of suppressed addresses
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    uncounted: dict[str, int] = field(default_factory=dict)  # event types no rule counts

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


def _raw_json(row: Any) -> str:
    """The raw row as JSON text (a line that is not a row: ``{"line": text}``)."""
    data = {"line": row} if isinstance(row, str) else dict(row) if isinstance(
        row, Mapping) else row
    return json.dumps(data, default=str, sort_keys=True)


_SUBJECT = {"events": "event_id", "contacts": "email", "accounts": "domain"}


def _subject(kind: str, mapped: Mapping[str, Any] | str) -> str | None:
    """The event id, email (or CRM-id key) or domain a raw row is about (what a later row
    resolves)."""
    if isinstance(mapped, str) or kind not in _SUBJECT:
        return None
    value = mapped.get(_SUBJECT[kind])
    if value is None or not str(value).strip():
        return external_id_key(mapped) if kind == "contacts" else None
    text = str(value).strip()
    return text.lower() if kind != "events" else text


def _key(record: Account | Contact | Event) -> str:
    """What a landed record is about: its event id, contact key or account domain."""
    if isinstance(record, Event):
        return record.event_id
    return record.email if isinstance(record, Contact) else record.domain


def _mapped(row: Mapping[str, Any] | str, kind: str, reader: mappings.Reader
            ) -> Mapping[str, Any] | str:
    """`row` under the reader's mapping, for naming its subject (the row itself if it
    cannot be mapped)."""
    if isinstance(row, str) or not isinstance(row, Mapping):
        return row
    try:
        return mappings.map_row(row, kind, reader.use(row.keys()))
    except InputError:
        return row


def parse_row(row: Mapping[str, Any], kind: str, mapping: str | mappings.Mapping, *,
              source: str, number: int) -> mappings.Parsed:
    """The record of one raw row after `mapping` (a name, a mapping file or a loaded
    mapping), whether it named its account, its company and its dropped fields."""
    loaded = mapping if isinstance(mapping, mappings.Mapping) else (
        mappings.resolve(mapping) or mappings.detect(row.keys(), kind))
    return mappings.parse(row, kind, loaded, source=source, number=number)


def open_reader(path: Path, kind: Kind, mapping: str | Path, *, source: str | None,
                options: ReadOptions | None, date_format: str | None,
                dayfirst: bool | None) -> tuple[str, mappings.Reader]:
    """The source name of a file to load (`source`, else the file's name) and its reader
    with `mapping`; `ConfigError` for a missing file or an unfit source name."""
    spec = mappings.resolve(mapping)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file" if not path.exists() else
                          f"{path}: is not a file")
    name = source or path.name
    problem = limits.text_problem(name, 200)
    if problem is not None:
        raise ConfigError(f"the source name {name[:60]!r} {problem}")
    return name, mappings.Reader(path, kind, spec, date_format=date_format,
                                 dayfirst=dayfirst, options=options)


@dataclass(slots=True)
class RowSource:
    """The numbered rows of one file, or one list, in mql's own columns (consent and
    outcome files): what their loaders read (`mql.ingest.rows.read_batches`), the
    summary they count in, and the name their records keep as source."""

    name: str
    summary: IngestSummary
    items: Iterable[tuple[int, Mapping[str, Any] | BadRow]]
    parse: Callable[[Mapping[str, Any], int], Any]
    mapping: Callable[[], str]  # what a quarantined row says it was read with
    progress: Callable[[int], None] | None
    reader: mappings.Reader | None = None
    started: float = field(default_factory=time.perf_counter)

    def finish(self) -> IngestSummary:
        self.summary.seconds = time.perf_counter() - self.started
        return self.summary


def file_rows(engine: Engine, path: Path, kind: Kind, *, mapping: str | Path,
              source: str | None, options: ReadOptions | None, date_format: str | None,
              dayfirst: bool | None, progress: Progress | None) -> RowSource:
    """The rows of a file of `kind` (its header checked, the store's schema too)."""
    name, reader = open_reader(path, kind, mapping, source=source, options=options,
                               date_format=date_format, dayfirst=dayfirst)
    reader.check_header()
    check(engine)
    summary = IngestSummary(kind, str(path), reader.mapping.name if reader.mapping
                            else str(mapping))

    def parse(raw: Mapping[str, Any], number: int) -> Any:
        if reader.mapping is None:
            summary.mapping = reader.use(raw.keys()).name
        return reader.parse(raw, number, summary.source).record

    def show(rows: int) -> None:
        if progress is not None:
            progress(rows, reader.rows.done, reader.rows.total)

    return RowSource(name, summary, reader.rows, parse,
                     lambda: reader.mapping.name if reader.mapping is not None else "mql",
                     show, reader)


def list_rows(engine: Engine, kind: str, rows: Iterable[Mapping[str, Any]], *,
              source: str) -> RowSource:
    """Rows given as mappings in mql's columns (the synthetic world's records), numbered
    from 1, read as a file of `kind` is."""
    check(engine)
    summary = IngestSummary(kind, source, "mql")

    def parse(raw: Mapping[str, Any], number: int) -> Any:
        return mappings.parse(raw, kind, mappings.MQL, source=source, number=number).record

    return RowSource(source, summary, enumerate(rows, 1), parse, lambda: "mql", None)


def ingest_file(engine: Engine, path: Path, kind: Kind, *, rules: IdentityRules, now: datetime,
                mapping: str | Path = "auto", source: str | None = None, batch_size: int = 1000,
                progress: Progress | None = None, options: ReadOptions | None = None,
                future_skew: timedelta = limits.FUTURE_SKEW, date_format: str | None = None,
                dayfirst: bool | None = None) -> IngestSummary:
    """Load one file of `kind` into the store; the summary counts what happened to its rows.

    `mapping` renames CRM export headers ("auto" detects HubSpot and Salesforce exports; a
    built-in name or the path of a mapping file); `date_format` and `dayfirst` say how to
    read dates that are not ISO 8601 (over the mapping's own). A header that lacks a
    required column (after the mapping) raises `ConfigError` before any row is read.
    `options` say how to read the file (encoding, value size limit, CSV delimiter); events
    more than `future_skew` after `now` are quarantined. A row whose optional field cannot
    be read lands without it, and the field is quarantined as a kept row.
    """
    name, reader = open_reader(path, kind, mapping, source=source, options=options,
                               date_format=date_format, dayfirst=dayfirst)
    rows = reader.rows
    reader.check_header()  # detects the mapping from a CSV or Parquet header
    check(engine)
    key = checkpoint_key(path, kind)
    with translate_errors("starting the ingest"), engine.connect() as conn:
        done, finished = checkpoints.rows_done(conn, key)
        live = live_model(conn)
        index = AccountIndex(account_store.all_names(conn))
    skip = 0 if finished else done
    started = time.perf_counter()
    context = _Context(live, index, now + future_skew if kind == "events" else None)
    summary = IngestSummary(kind, str(path), _mapping_name(reader) if reader.mapping else
                            str(mapping), resumed=skip)
    if rows.delimiter != "," and path.suffix.lower() == ".csv":
        summary.notes.append(f"read with the delimiter {rows.delimiter!r}")
    batch: list[tuple[int, Mapping[str, Any] | BadRow]] = []
    consumed = skip
    for position, item in enumerate(rows):
        if position < skip:
            continue
        if reader.mapping is None and not isinstance(item[1], BadRow):
            summary.mapping = reader.use(item[1].keys()).name
        batch.append(item)
        if len(batch) >= batch_size:
            consumed += len(batch)
            _commit(engine, kind, batch, summary, reader, rules=rules, now=now, source=name,
                    checkpoint=(key, consumed, False), context=context)
            batch = []
            if progress is not None:
                progress(consumed, rows.done, rows.total or path.stat().st_size)
    consumed += len(batch)
    _commit(engine, kind, batch, summary, reader, rules=rules, now=now, source=name,
            checkpoint=(key, consumed, True), context=context)
    if progress is not None:
        progress(consumed, rows.done, rows.total or path.stat().st_size)
    if summary.refused_suppressed:
        summary.notes.append(
            f"{summary.refused_suppressed:,} rows of suppressed addresses (erased, or on the "
            "suppression list) were not imported: consent given again lifts that")
    if summary.uncounted:
        kinds = sorted(summary.uncounted.items(), key=lambda kv: (-kv[1], kv[0]))
        summary.notes.append(
            f"{sum(summary.uncounted.values()):,} events of types no rule of the live model "
            f"counts (stored, for a later model): "
            + ", ".join(f"{kind} ({n:,})" for kind, n in kinds[:8]))
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass(frozen=True, slots=True)
class _Context:
    """What every batch of one file ingest shares: the live model, the account index and
    the latest event time accepted (None: no bound)."""

    live: LiveModel
    index: AccountIndex
    latest: datetime | None


def _too_late(event: Event, latest: datetime | None, now: datetime) -> str | None:
    if latest is None or event.at <= latest:
        return None
    return limits.event_time_problem(event.at, now, latest - now)


def _commit(engine: Engine, kind: str, batch: list[tuple[int, Mapping[str, Any] | BadRow]],
            summary: IngestSummary, reader: mappings.Reader, *, rules: IdentityRules,
            now: datetime, source: str, checkpoint: tuple[str, int, bool] | None,
            context: _Context) -> None:
    held: list[quarantine_store.Held] = []
    kept: list[quarantine_store.Held] = []  # the dropped fields of rows that land
    records: list[mappings.Parsed] = []
    numbers: list[int] = []
    for number, row in batch:
        summary.rows += 1
        mapping = _mapping_name(reader)
        if isinstance(row, BadRow):
            held.append(quarantine_store.Held(
                kind, summary.source, number, _raw_json(row.raw) if row.raw else "{}",
                row.error.field, row.error.reason, mapping,
                _subject(kind, _mapped(row.raw, kind, reader))))
            continue
        try:
            parsed = reader.parse(row, number, summary.source)
            late = (_too_late(parsed.record, context.latest, now)
                    if isinstance(parsed.record, Event) else None)
            if late is not None:
                raise InputError(summary.source, number, "timestamp", late)
        except InputError as exc:
            held.append(quarantine_store.Held(kind, summary.source, number, _raw_json(row),
                                              exc.field, exc.reason, mapping,
                                              _subject(kind, _mapped(row, kind, reader))))
            continue
        records.append(parsed)
        numbers.append(number)
        # the row lands; each optional field it lost is recorded (file, row, field, why)
        kept.extend(quarantine_store.Held(kind, summary.source, number, _raw_json(row),
                                          w.field, w.reason, mapping, _key(parsed.record),
                                          kept=True)
                    for w in parsed.warnings)
        summary.fields_dropped += len(parsed.warnings)
    with translate_errors(f"ingesting {kind} from {summary.source}"), engine.begin() as conn:
        new = quarantine_store.add(conn, held, now=now)
        summary.quarantined += len(held)
        summary.quarantined_before += len(held) - new
        quarantine_store.add(conn, kept, now=now)
        if records:
            apply_records(conn, kind, records, summary, rules=rules, now=now, source=source,
                          live=context.live, index=context.index,
                          kept={quarantine_store.fingerprint_of(h) for h in kept},
                          numbers=numbers, mapping=_mapping_name(reader))
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
                  import_stages: bool = True, kept: Collection[str] = (),
                  numbers: Sequence[int] | None = None, mapping: str = "mql") -> None:
    """Apply parsed records of `kind` inside the caller's transaction, counting in `summary`.

    `live` and `index` (the active model, the account index) are loaded when not given; a
    file ingest loads them once for all its batches. `import_stages`: the contacts' stages
    are a CRM's (their starting stage, cause ``import``). A contact or event that would
    create a contact for a suppressed address (`mql.service.suppressed`) is quarantined
    with its row (`numbers`: each record's row; default: its place, from 1).
    """
    if kind in ("contacts", "events"):
        records = _refuse_suppressed(conn, kind, records, summary, rules=rules, now=now,
                                     source=source, numbers=numbers, mapping=mapping)
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
        batch = [p.record for p in records if isinstance(p.record, Event)]
        loaded = resolve.apply_events(run, batch)
        program = run.live.program
        for event in batch:  # stored all the same: a later model may count them
            if not (program.trackers_for("contact", event.type)
                    or program.trackers_for("account", event.type)):
                summary.uncounted[event.type] = summary.uncounted.get(event.type, 0) + 1
    summary.loaded += loaded
    summary.duplicates += run.duplicates
    summary.merges += run.merges
    summary.merges_refused += run.merges_refused
    summary.resolved += _resolve_held(conn, kind, [p.record for p in records], now=now,
                                      source=source, kept=kept)


def _refuse_suppressed(conn: Connection, kind: str, records: list[mappings.Parsed],
                      summary: IngestSummary, *, rules: IdentityRules, now: datetime,
                      source: str, numbers: Sequence[int] | None, mapping: str
                      ) -> list[mappings.Parsed]:
    """`records` without the ones that would re-create a suppressed address's contact;
    those are quarantined (file, row, field ``email``; only the address's hash kept)."""
    def email_of(p: mappings.Parsed) -> str | None:
        r = p.record
        return r.email if isinstance(r, Contact) else r.contact if isinstance(
            r, Event) else None

    found = suppressed.blocked(conn, [e for p in records if (e := email_of(p))],
                               rules=rules, now=now)
    if not found:
        return records
    rows = list(numbers) if numbers is not None else list(range(1, len(records) + 1))
    return _hold_blocked(conn, records, rows, email_of, found, summary, kind=kind,
                         source=source, mapping=mapping, now=now)


def _hold_blocked(conn: Connection, items: list[_T], rows: Sequence[int],
                     email_of: Callable[[_T], str | None], found: Mapping[str, Any],
                     summary: IngestSummary, *, kind: str, source: str, mapping: str,
                     now: datetime) -> list[_T]:
    """`items` without those whose address is in `found` (`suppressed.blocked`); those
    are quarantined (row `rows[i]`, field ``email``) and counted in `summary`."""
    held: list[quarantine_store.Held] = []
    kept: list[_T] = []
    for row, item in zip(rows, items, strict=True):
        email = email_of(item)
        if email is not None and email in found:
            held.append(suppressed.held_row(kind, source, row, "email", email, found[email],
                                            mapping))
        else:
            kept.append(item)
    new = quarantine_store.add(conn, held, now=now)
    summary.quarantined += len(held)
    summary.quarantined_before += len(held) - new
    summary.refused_suppressed += len(held)
    return kept


def _resolve_held(conn: Connection, kind: str, records: list[Any], *, now: datetime,
                  source: str, kept: Collection[str] = ()) -> int:
    """Resolve the open quarantined rows that `records` (just landed) are about, except
    the `kept` ones (fingerprints: the fields these very rows dropped)."""
    kinds: tuple[str, ...]
    if kind == "events":
        subjects, kinds = [r.event_id for r in records], ("events", "segment")
    elif kind == "contacts":
        subjects, kinds = [r.email for r in records], ("contacts",)
    else:
        subjects, kinds = [r.domain for r in records], ("accounts",)
    return quarantine_store.resolve_subjects(conn, kinds, subjects, now=now,
                                             note=f"a later row from {source} landed",
                                             keep=kept)


def ingest_records(engine: Engine, kind: Kind, records: Iterable[Account | Contact | Event], *,
                   rules: IdentityRules, now: datetime, source: str) -> IngestSummary:
    """Load records built elsewhere (e.g. parsed Segment messages) in one transaction; a
    record that breaks a rule of `mql.limits` is quarantined (row: its place, from 1)."""
    summary = IngestSummary(kind, source, "mql")
    items: list[mappings.Parsed] = []
    numbers: list[int] = []
    held: list[quarantine_store.Held] = []
    for number, r in enumerate(records, start=1):
        found = (limits.check_event(r) if isinstance(r, Event) else
                 limits.check_contact(r) if isinstance(r, Contact) else limits.check_account(r))
        if found is not None:
            held.append(quarantine_store.Held(kind, source, number, _raw_json(
                {"record": repr(r)[:2000]}), found.field, found.reason, "mql"))
            continue
        items.append(mappings.Parsed(r, isinstance(r, Contact) and r.account is not None))
        numbers.append(number)
    summary.rows = len(items) + len(held)
    check(engine)
    with translate_errors(f"ingesting {kind} from {source}"), engine.begin() as conn:
        summary.quarantined = len(held)
        summary.quarantined_before = len(held) - quarantine_store.add(conn, held, now=now)
        apply_records(conn, kind, items, summary, rules=rules, now=now, source=source,
                      import_stages=False, numbers=numbers)
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


def checked_messages(data: Mapping[str, Any], *, source: str, row: int, now: datetime,
                     future_skew: timedelta = limits.FUTURE_SKEW) -> list[Message]:
    """The messages of one Segment payload, each checked against `mql.limits` (and its
    time against `now` + `future_skew`); `InputError` names the first field refused."""
    try:
        messages = parse_message(data, source=source, row=row)
    except InputError:
        raise
    except ValueError as exc:  # a record refused its values (a time after clock-skew fixing)
        raise InputError(source, row, "timestamp", str(exc)) from None
    for m in messages:
        found = limits.check_event(m.event)
        if found is None and m.contact is not None:
            found = limits.check_contact(m.contact)
        if found is None and m.account is not None:
            found = limits.check_account(m.account)
        if found is None:
            late = limits.event_time_problem(m.event.at, now, future_skew)
            found = None if late is None else limits.Violation("timestamp", late)
        if found is not None:
            raise InputError(source, row, found.field, found.reason)
    return messages


def _message_id(data: Any) -> str | None:
    value = data.get("messageId") if isinstance(data, Mapping) else None
    return None if value is None or not str(value).strip() else str(value).strip()


@dataclass(slots=True)
class ReadPayloads:
    """Segment payloads read and checked, not applied yet: the messages that land and
    the ones held in quarantine (with the reason), out of `rows` payloads."""

    messages: list[Message] = field(default_factory=list)
    held: list[quarantine_store.Held] = field(default_factory=list)
    rows: int = 0

    def extend(self, other: ReadPayloads) -> None:
        self.messages += other.messages
        self.held += other.held
        self.rows += other.rows


def read_payloads(payloads: Iterable[Mapping[str, Any]], *, source: str, now: datetime,
                  future_skew: timedelta = limits.FUTURE_SKEW, first: int = 1
                  ) -> ReadPayloads:
    """Parse and check Segment payloads (numbered from `first`) without the store: the
    part of applying them that needs no transaction (an applier does it before it takes
    its turn on the store)."""
    read = ReadPayloads()
    for number, data in enumerate(payloads, start=first):
        read.rows += 1
        refused = refusal(data)
        if refused is not None:  # the API refused it (e.g. over 32 KB): held as sent
            message, field_name, reason = refused
            read.held.append(quarantine_store.Held("segment", source, number,
                                                   _raw_json(message), field_name, reason,
                                                   "segment", subject=_message_id(message),
                                                   message_id=held_id(message)))
            continue
        try:
            read.messages.extend(checked_messages(data, source=source, row=number, now=now,
                                                  future_skew=future_skew))
        except InputError as exc:
            read.held.append(quarantine_store.Held("segment", source, number, _raw_json(data),
                                                   exc.field, exc.reason, "segment",
                                                   subject=_message_id(data),
                                                   message_id=held_id(data)))
    return read


def apply_payloads(conn: Connection, payloads: Iterable[Mapping[str, Any]],
                   summary: IngestSummary, *, rules: IdentityRules, now: datetime, source: str,
                   index: AccountIndex | None = None,
                   future_skew: timedelta = limits.FUTURE_SKEW) -> None:
    """Parse Segment messages and apply them inside the caller's transaction; the ones that
    cannot be read are quarantined with the reason."""
    apply_read(conn, read_payloads(payloads, source=source, now=now, future_skew=future_skew),
               summary, rules=rules, now=now, source=source, index=index)


def apply_read(conn: Connection, read: ReadPayloads, summary: IngestSummary, *,
               rules: IdentityRules, now: datetime, source: str,
               index: AccountIndex | None = None) -> None:
    """Apply payloads `read_payloads` read, inside the caller's transaction: the held
    ones quarantined (once per message id), the others applied."""
    summary.rows += read.rows
    new = quarantine_store.add(conn, read.held, now=now)
    summary.quarantined += len(read.held)
    summary.quarantined_before += len(read.held) - new
    apply_messages(conn, read.messages, summary, rules=rules, now=now, source=source,
                   index=index)


def apply_messages(conn: Connection, messages: list[Message], summary: IngestSummary, *,
                   rules: IdentityRules, now: datetime, source: str,
                   index: AccountIndex | None = None) -> None:
    """Apply parsed Segment messages inside the caller's transaction (`index`: the account
    index, read from the store when not given)."""
    messages = _refuse_suppressed_messages(conn, messages, summary, rules=rules, now=now,
                                           source=source)
    run = resolve.Run(conn, live_model(conn), rules, now, source,
                      index if index is not None else AccountIndex(account_store.all_names(conn)),
                      deferred=set())  # each contact is decided once, after everything
    contacts = [(m.contact, False) for m in messages if m.contact is not None]
    if contacts:
        resolve.apply_contacts(run, contacts)
    accounts = [m.account for m in messages if m.account is not None]
    if accounts:
        resolve.apply_accounts(run, accounts)
    _apply_consent(conn, messages, rules=rules, now=now, source=source)
    events = resolve.with_user_emails(run, [(m.event, m.user_id) for m in messages])
    previous = {m.event.event_id: str(p) for m in messages if m.kind == "alias"
                and (p := m.event.properties.get("previous_id")) is not None}
    if previous:  # a previousId that names a person is no cookie
        people = resolve.previous_people(run, previous)
        events = [dataclasses.replace(e, anonymous_id=None) if e.event_id in people
                  and e.anonymous_id == previous[e.event_id] else e for e in events]
    summary.loaded += resolve.apply_events(run, events)
    if previous:
        resolve.apply_aliases(run, events, previous,
                              {m.event.event_id: m.user_id for m in messages
                               if m.kind == "alias"})
    if run.deferred:  # no new event to apply with them
        states.rescore(conn, run.live, run.deferred, now=now, hold=frozenset(run.held))
    summary.duplicates += run.duplicates
    summary.merges += run.merges
    summary.merges_refused += run.merges_refused
    summary.resolved += _resolve_held(conn, "events", events, now=now, source=source)


def _message_email(m: Message) -> str | None:
    email = m.contact.email if m.contact is not None else m.event.contact
    return email if email and "@" in email else None


def _refuse_suppressed_messages(conn: Connection, messages: list[Message],
                                summary: IngestSummary, *, rules: IdentityRules,
                                now: datetime, source: str) -> list[Message]:
    """`messages` without the ones that would re-create a suppressed address's contact
    (`mql.service.suppressed`), quarantined; a message that grants consent itself (after
    the suppression) passes: consent given again."""
    from mql.service import consent  # it reads this module's summary and reader

    emails = [e for m in messages if (e := _message_email(m))]
    if not emails:
        return messages

    def grants(suspects: Iterable[str]) -> dict[str, list[datetime]]:
        wanted = set(suspects)
        out: dict[str, list[datetime]] = {}
        for m in messages:
            email = _message_email(m)
            if email in wanted and m.raw:
                out.setdefault(email, []).extend(
                    r.at for r in consent.rows_from_segment(m.raw, email, m.event.at)
                    if r.status == "granted")
        return out

    found = suppressed.blocked(conn, emails, rules=rules, now=now, grants=grants)
    if not found:
        return messages
    return _hold_blocked(conn, messages, range(1, len(messages) + 1), _message_email,
                         found, summary, kind="segment", source=source, mapping="segment",
                         now=now)


def _apply_consent(conn: Connection, messages: list[Message], *, rules: IdentityRules,
                   now: datetime, source: str) -> None:
    """The consent changes the messages carry (`context.consent.categoryPreferences`,
    identify traits; `mql.service.consent.rows_from_segment`), stored before their events
    are scored, at the message's time. A change about a person the store does not know
    (no email on the message, no contact) is not stored."""
    from mql.service import consent  # it reads this module's summary and reader

    rows = []
    for number, m in enumerate(messages, 1):
        email = m.contact.email if m.contact is not None else m.event.contact
        if email and "@" in email and m.raw:
            rows += [(number, r) for r in consent.rows_from_segment(m.raw, email, m.event.at)]
    if rows:
        consent.apply_consent(conn, rows, rules=rules, now=now, where=source[:200],
                              actor=source[:200])


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
            if q.kind not in (*KINDS, "segment"):  # outcomes: loaded again from their file
                failed.append((q.id, f"{q.source}:{q.row}: a row of {q.kind}; fix the file "
                               f"and run `mql ingest {q.kind}` on it again (its other rows "
                               "are not loaded twice)"))
                continue
            try:
                raw = json.loads(q.raw)
                if q.kind == "segment":
                    parsed = checked_messages(raw, source=q.source, row=q.row, now=now)
                    summary = IngestSummary("events", q.source, "segment")
                    apply_messages(conn, parsed, summary, rules=rules, now=now,
                                   source=q.source)
                    quarantine_store.resolve(conn, q.id, now=now)
                    loaded.append(q.id)
                    continue
                record = parse_row(raw, q.kind, use, source=q.source, number=q.row)
                if isinstance(record.record, Event):
                    late = _too_late(record.record, now + limits.FUTURE_SKEW, now)
                    if late is not None:
                        raise InputError(q.source, q.row, "timestamp", late)
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
            summary = IngestSummary(q.kind, q.source, str(use))
            kept = [quarantine_store.Held(q.kind, q.source, q.row, q.raw, w.field, w.reason,
                                          q.mapping, _key(record.record), kept=True)
                    for w in record.warnings]  # the fields the row still drops stay held
            quarantine_store.add(conn, kept, now=now)
            apply_records(conn, q.kind, [record], summary, rules=rules, now=now,
                          source=q.source, live=live,
                          kept={quarantine_store.fingerprint_of(h) for h in kept},
                          numbers=[q.row], mapping=str(use))
            quarantine_store.resolve(conn, q.id, now=now)
            loaded.append(q.id)
    return RetryResult(loaded, failed)
