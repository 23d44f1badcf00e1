"""The input tables of a compiled query, built from records: contacts and accounts with
one text column per field the model reads, and events in the file layout.

Attribute values become text as Python's `str` writes them, so numbers, booleans and times
compare in SQL exactly as `mql.scoring.evaluate` compares them; a missing value is NULL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any

import pyarrow as pa

from mql.batch.plan import Plan
from mql.records import Account, Contact, Event
from mql.scoring.evaluate import is_missing
from mql.scoring.fit import record_getter

EVENT_COLUMNS = ("event_id", "type", "timestamp", "email", "anonymous_id", "account",
                 "properties")


def _text(value: Any) -> str | None:
    return None if is_missing(value) else str(value)


def contacts_table(plan: Plan, contacts: Iterable[Contact]) -> pa.Table:
    """email, account, and one column per contact field of the model (last record of an
    email wins, in first-seen order, as `mql.scoring.score` keeps them). Only those texts
    are kept, not the records: `contacts` may stream from a file."""
    rows: dict[str, tuple[str | None, ...]] = {}
    for contact in contacts:
        get = record_getter(contact, None)
        rows[contact.email] = (contact.account or None,
                               *(_text(get(name)) for name in plan.contact_fields))
    return _table(["email", "account", *plan.contact_fields.values()], rows)


def accounts_table(plan: Plan, accounts: Iterable[Account]) -> pa.Table:
    """domain and one column per account field of the model (last record wins)."""
    rows: dict[str, tuple[str | None, ...]] = {}
    for account in accounts:
        get = record_getter(None, account)
        rows[account.domain] = tuple(_text(get(name)) for name in plan.account_fields)
    return _table(["domain", *plan.account_fields.values()], rows)


def _table(names: Sequence[str], rows: dict[str, tuple[str | None, ...]]) -> pa.Table:
    """Text columns `names`: the keys of `rows`, then their values."""
    columns = [list(rows), *(list(column) for column in zip(*rows.values(), strict=True))]
    if not rows:
        columns = [[] for _ in names]
    return pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, columns, strict=True)})


def events_table(events: Sequence[Event]) -> pa.Table:
    """Events in the file layout (`mql.ingest.formats`), with `seq`, their input order."""
    rows: dict[str, list[Any]] = {name: [] for name in EVENT_COLUMNS}
    for e in events:
        rows["event_id"].append(e.event_id)
        rows["type"].append(e.type)
        rows["timestamp"].append(e.at.astimezone(UTC).isoformat())
        rows["email"].append(e.contact)
        rows["anonymous_id"].append(e.anonymous_id)
        rows["account"].append(e.account)
        rows["properties"].append(json.dumps(dict(e.properties), sort_keys=True, default=str))
    table = pa.table({k: pa.array(v, pa.string()) for k, v in rows.items()})
    return table.append_column("seq", pa.array(range(len(events)), pa.int64()))
