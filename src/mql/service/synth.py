"""Use case: write a synthetic B2B world to a folder (`mql synth`).

The world is generated account by account and streamed to one file per table, so memory
does not grow with the number of events. Files, in `out_dir`, with the chosen extension:

- ``accounts``, ``contacts``, ``events`` in the layout `mql score` and `mql ingest` read
  (`mql.ingest.formats`); events are grouped by account and sorted by time within each
  account (not globally);
- ``opportunities``, ``costs``, ``consent``, ``dispositions``;
- ``truth/accounts`` (hidden intent path), ``truth/duplicates`` (duplicate clusters),
  ``truth/malformed`` (rows broken on purpose by ``dirty``), ``truth/drivers`` (what
  drives the outcomes: `mql learn` should find them), ``truth/handoffs`` (the chance
  each hand-off was accepted and became an SQL, one row per ``dispositions`` row),
  ``truth/deals`` (the chance each opportunity was won); with ``channel_effects``,
  ``truth/channel_effects`` (each web channel's effect on the chance of an opportunity,
  its exposure rate and its true share of the opportunities,
  `mql.synthetic.channel_effects`);
- ``world.json``: the options and the row count of every file.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> summary = write_world(out, accounts=3, months=1, seed=7)
>>> summary.rows["accounts.csv"], (out / "world.json").exists()
(3, True)
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mql.errors import ConfigError
from mql.ingest.formats import (
    ACCOUNT_COLUMNS,
    CONTACT_COLUMNS,
    EVENT_COLUMNS,
    account_to_row,
    contact_to_row,
    event_to_row,
)
from mql.ingest.writers import FORMATS, Column, Kind, RowWriter, open_writer
from mql.synthetic import DEFAULT_START, AccountSlice, World, WorldParameters
from mql.synthetic.channel_effects import ChannelEffect, true_shares
from mql.synthetic.consent import ConsentRecord
from mql.synthetic.costs import CampaignCost
from mql.synthetic.messiness import MalformedEvent
from mql.synthetic.outcomes import Disposition, Opportunity
from mql.synthetic.params import Drift
from mql.synthetic.truth import (
    AccountTruth,
    DealChance,
    Driver,
    DuplicateMember,
    HandoffChance,
    MalformedRow,
    true_drivers,
)

Progress = Callable[[int, int], None]  # (accounts done, accounts in total)
GENERATOR = "mql-synthetic/1"
_EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}


@dataclass(frozen=True, slots=True)
class SynthSummary:
    """What `write_world` wrote: the folder, the options, the rows in each file (by path
    relative to the folder), the number of event rows and the seconds it took."""

    out_dir: Path
    fmt: str
    accounts: int
    months: int
    seed: int
    dirty: float
    start: datetime
    rows: Mapping[str, int]
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        """Event rows written per second of the whole run."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _kind(hint: Any) -> Kind:
    options = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) and len(options) == 1:
        hint = options[0]
    if hint is bool:
        return "boolean"
    if hint is int:
        return "integer"
    if hint is float:
        return "number"
    if typing.get_origin(hint) is tuple and typing.get_origin(typing.get_args(hint)[0]) is tuple:
        return "json"
    return "string"


def record_columns(cls: type) -> tuple[Column, ...]:
    """The columns of a file of `cls` records (a dataclass), in field order.

    >>> [(c.name, c.kind) for c in record_columns(CampaignCost)][:3]
    [('month', 'string'), ('channel', 'string'), ('spend', 'number')]
    """
    hints = typing.get_type_hints(cls)
    return tuple(Column(f.name, _kind(hints[f.name])) for f in dataclasses.fields(cls))


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, tuple):
        if value and isinstance(value[0], tuple):
            # (stage, time) pairs: a JSON list of {"stage", "at"} objects
            return json.dumps([{"stage": s, "at": _iso(at)} for s, at in value])
        return ";".join(str(v) for v in value)
    return value


def record_row(record: Any) -> dict[str, Any]:
    """One flat row for a synthetic record (a dataclass): times as ISO 8601 UTC text."""
    return {f.name: _cell(getattr(record, f.name)) for f in dataclasses.fields(record)}


def _event_row(event: Any) -> dict[str, Any]:
    if isinstance(event, MalformedEvent):
        row = event_to_row(event.event)
        row["timestamp"] = event.timestamp
        return row
    return event_to_row(event)


_ACCOUNT_KINDS: dict[str, Kind] = {"employees": "integer", "revenue": "number"}
TABLES: dict[str, tuple[Column, ...]] = {
    "accounts": tuple(Column(c, _ACCOUNT_KINDS.get(c, "string")) for c in ACCOUNT_COLUMNS),
    "contacts": tuple(Column(c) for c in CONTACT_COLUMNS),
    "events": tuple(Column(c, "json" if c == "properties" else "string") for c in EVENT_COLUMNS),
    "opportunities": record_columns(Opportunity),
    "costs": record_columns(CampaignCost),
    "consent": record_columns(ConsentRecord),
    "dispositions": record_columns(Disposition),
    "truth/accounts": record_columns(AccountTruth),
    "truth/duplicates": record_columns(DuplicateMember),
    "truth/malformed": record_columns(MalformedRow),
    "truth/drivers": record_columns(Driver),
    "truth/handoffs": record_columns(HandoffChance),
    "truth/deals": record_columns(DealChance),
}


def _rows(piece: AccountSlice, table: str) -> Iterator[dict[str, Any]]:
    if table == "accounts":
        yield account_to_row(piece.account)
    elif table == "contacts":
        yield from (contact_to_row(c) for c in piece.contacts)
    elif table == "events":
        yield from (_event_row(e) for e in piece.events)
    elif table == "truth/accounts":
        yield record_row(piece.truth)
    else:
        records = {
            "opportunities": piece.opportunities,
            "consent": piece.consent,
            "dispositions": piece.dispositions,
            "truth/duplicates": piece.duplicates,
            "truth/malformed": piece.malformed,
            "truth/handoffs": piece.handoff_chances,
            "truth/deals": piece.deal_chances,
        }[table]
        yield from (record_row(r) for r in records)


def write_world(
    out_dir: Path,
    *,
    accounts: int,
    months: int,
    seed: int,
    fmt: str = "csv",
    dirty: float = 0.0,
    start: datetime = DEFAULT_START,
    progress: Progress | None = None,
    drift: tuple[str, ...] = (),
    usage: bool = False,
    channel_effects: bool = False,
) -> SynthSummary:
    """Generate the world of `seed` and write it to `out_dir`; the same options always give
    the same bytes. Raises `ConfigError` for bad options or a folder that cannot be written.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    drifts = tuple(Drift.parse(d) for d in drift)  # DRIVER:DATE (`Drift.parse`)
    params = WorldParameters(accounts=accounts, months=months, start=start, dirty=dirty,
                             drift=drifts, usage=usage,
                             channel_effects=channel_effects)
    began = time.perf_counter()
    ext = _EXTENSIONS[fmt]
    try:
        (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the output folder {out_dir}: {exc.strerror}") from None
    world = World(params, random.Random(seed))
    tables = dict(TABLES)
    if channel_effects:
        tables["truth/channel_effects"] = record_columns(ChannelEffect)
    exposures: list[tuple[str, ...]] = []  # one per opportunity
    with ExitStack() as stack:
        writers: dict[str, RowWriter] = {
            table: stack.enter_context(open_writer(out_dir / f"{table}.{ext}", fmt, columns))
            for table, columns in tables.items()
        }
        for done, piece in enumerate(world.accounts(), start=1):
            for table, writer in writers.items():
                if table not in ("costs", "truth/drivers", "truth/channel_effects"):
                    writer.write_many(_rows(piece, table))
            exposures.extend(piece.exposed for _ in piece.opportunities)
            if progress is not None:
                progress(done, accounts)
        writers["costs"].write_many(record_row(c) for c in world.costs())
        writers["truth/drivers"].write_many(
            {**record_row(d), "strength": round(d.strength, 4)} for d in true_drivers())
        if channel_effects:
            writers["truth/channel_effects"].write_many(
                record_row(e) for e in true_shares(exposures))
        rows = {f"{table}.{ext}": writer.rows for table, writer in writers.items()}
    events = rows[f"events.{ext}"]
    manifest = {
        "generator": GENERATOR,
        "parameters": {
            "accounts": accounts,
            "months": months,
            "seed": seed,
            "format": fmt,
            "dirty": dirty,
            "start": _iso(params.start),
            "end": _iso(params.end),
            **({"drift": [f"{d.driver}:{_iso(d.since)}" for d in drifts]} if drifts else {}),
            **({"usage": True} if usage else {}),
            **({"channel_effects": True} if channel_effects else {}),
        },
        "world_token": world.token,
        "events_order": "grouped by account, sorted by time within each account",
        "rows": rows,
    }
    (out_dir / "world.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return SynthSummary(
        out_dir=out_dir,
        fmt=fmt,
        accounts=accounts,
        months=months,
        seed=seed,
        dirty=dirty,
        start=params.start,
        rows=rows,
        events=events,
        seconds=time.perf_counter() - began,
    )
