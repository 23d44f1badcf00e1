"""Property: whatever a file holds, ingest never crashes, every good row lands and every bad
row is quarantined with a reason naming file, row and field — for every reader (CSV,
JSONL, Parquet), encoding and delimiter, on SQLite and PostgreSQL (issue 11)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from mql.errors import ConfigError
from mql.identity.merge import IdentityRules
from mql.ingest.files import ReadOptions
from mql.ingest.formats import EVENT_COLUMNS
from mql.service.ingest import ingest_file
from mql.store import tables

NOW = datetime(2026, 3, 30, tzinfo=UTC)
RULES = IdentityRules()
LIMIT = 300  # bytes per value in these files, so oversized values stay small and fast
MARK = "QQBADQQ"  # where an undecodable byte goes
BAD_BYTES = {"utf-8": b"\xff", "cp1252": b"\x81", "utf-16": b"\x00\xdc"}  # latin-1 has none
FORMATS = ("csv", "jsonl", "parquet")
ENCODINGS = ("utf-8", "latin-1", "cp1252", "utf-16")
# (kind of damage, the field the quarantine names)
DAMAGE = {"bytes": "email", "oversized": "properties", "long_id": "event_id", "nul": "email",
          "bad_email": "email", "future": "timestamp", "calendar": "timestamp",
          "ancient": "timestamp", "broken_line": None}
_counter = itertools.count()
SETTINGS = settings(max_examples=int(os.environ.get("MQL_BAD_INPUT_EXAMPLES", "20")),
                    deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
TEXT = st.text(alphabet="abcxyz éñü,;\t\"'{}[]\\\n\r", max_size=30)


@dataclass(frozen=True)
class Row:
    damage: str | None  # None: a good row
    note: str
    day: int


rows_strategy = st.lists(
    st.builds(Row, st.one_of(st.none(), st.none(), st.sampled_from(sorted(DAMAGE))), TEXT,
              st.integers(1, 28)), min_size=1, max_size=12)


def _usable(damage: str | None, fmt: str, encoding: str) -> bool:
    if damage == "bytes":
        return fmt != "parquet" and encoding in BAD_BYTES
    if damage == "broken_line":
        return fmt == "jsonl"
    return True


def _record(prefix: str, index: int, row: Row) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_id": f"{prefix}-{index}", "type": "page_view",
        "timestamp": f"2026-03-{row.day:02d}T10:00:00Z", "email": f"p{index}@acme.example",
        "anonymous_id": "", "account": "", "properties": json.dumps({"note": row.note})}
    damage = row.damage
    if damage == "bytes":
        record["email"] = f"p{index}{MARK}@acme.example"
    elif damage == "oversized":
        record["properties"] = json.dumps({"note": "o" * (LIMIT + 50)})
    elif damage == "long_id":
        record["event_id"] = f"{prefix}-{index}-" + "i" * 220
    elif damage == "nul":
        record["email"] = f"p{index}\x00@acme.example"
    elif damage == "bad_email":
        record["email"] = f"p{index}@b@acme.example"
    elif damage == "future":
        record["timestamp"] = "2031-01-01T00:00:00Z"
    elif damage == "calendar":
        record["timestamp"] = "9999-12-31T23:59:59-05:00"
    elif damage == "ancient":
        record["timestamp"] = "1900-01-01T00:00:00Z"
    return record


def _encode(text: str, encoding: str) -> bytes:
    piece = "utf-16-le" if encoding == "utf-16" else encoding
    data = text.encode(piece)
    if MARK in text:
        data = data.replace(MARK.encode(piece), BAD_BYTES[encoding])
    return data


def _write(path: Path, fmt: str, encoding: str, delimiter: str,
           records: list[tuple[Row, dict[str, Any]]]) -> None:
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist([r for _, r in records],
                                            schema=pa.schema([(c, pa.string())
                                                              for c in EVENT_COLUMNS])), path)
        return
    out = bytearray(b"\xff\xfe" if encoding == "utf-16" else b"")
    if fmt == "csv":
        def line(values: list[str]) -> str:
            buffer = io.StringIO()
            csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerow(values)
            return buffer.getvalue()

        out += _encode(line(list(EVENT_COLUMNS)), encoding)
        for _, record in records:
            out += _encode(line([record[c] for c in EVENT_COLUMNS]), encoding)
    else:
        for row, record in records:
            text = ("{broken json " + record["event_id"] if row.damage == "broken_line" else
                    json.dumps({**record, "properties": json.loads(record["properties"])},
                               ensure_ascii=False))
            out += _encode(text + "\n", encoding)
    path.write_bytes(bytes(out))


def _encodable(row: Row, encoding: str) -> Row:
    try:
        row.note.encode(encoding)
    except UnicodeEncodeError:
        return Row(row.damage, row.note.encode(encoding, "ignore").decode(encoding), row.day)
    return row


def _check(store: Engine, folder: Path, fmt: str, encoding: str, delimiter: str,
           rows: list[Row]) -> None:
    n = next(_counter)
    prefix = f"x{n}"
    encoding = encoding if fmt != "parquet" else "utf-8"
    rows = [_encodable(r, encoding) if _usable(r.damage, fmt, encoding) else
            Row(None, r.note, r.day) for r in rows]
    records = [(r, _record(prefix, i, r)) for i, r in enumerate(rows)]
    path = folder / f"{prefix}.{fmt}"
    _write(path, fmt, encoding, delimiter, records)
    summary = ingest_file(store, path, "events", rules=RULES, now=NOW,
                          options=ReadOptions(encoding=encoding, max_field_bytes=LIMIT))
    first = 2 if fmt == "csv" else 1
    good = {r["event_id"]: json.loads(r["properties"]) for row, r in records if row.damage is None}
    bad = {first + i: DAMAGE[row.damage] for i, (row, _) in enumerate(records)
           if row.damage is not None}
    assert (summary.rows, summary.loaded, summary.quarantined) == (len(rows), len(good), len(bad))
    with store.connect() as conn:
        stored = dict(conn.execute(sa.select(tables.events.c.event_id, tables.events.c.properties)
                                   .where(tables.events.c.event_id.like(f"{prefix}-%"))).all())
        held = conn.execute(sa.select(tables.quarantine.c.row, tables.quarantine.c.field,
                                      tables.quarantine.c.reason)
                            .where(tables.quarantine.c.source == str(path))).all()
    assert stored == good  # every good row landed, its text intact
    assert {r: f for r, f, _ in held} == bad  # every bad row, by row and field
    assert all(reason for _, _, reason in held)


@SETTINGS
@given(fmt=st.sampled_from(FORMATS), encoding=st.sampled_from(ENCODINGS),
       delimiter=st.sampled_from([",", ";", "\t"]), rows=rows_strategy)
def test_every_good_row_lands_and_every_bad_row_is_quarantined_by_row_and_field(
    store: Engine, tmp_path: Path, fmt: str, encoding: str, delimiter: str, rows: list[Row]
) -> None:
    _check(store, tmp_path, fmt, encoding, delimiter, rows)


@SETTINGS
@given(fmt=st.sampled_from(FORMATS), encoding=st.sampled_from(ENCODINGS),
       body=st.binary(max_size=600))
def test_random_bytes_never_crash_a_reader(store: Engine, tmp_path: Path, fmt: str,
                                           encoding: str, body: bytes) -> None:
    path = tmp_path / f"r{next(_counter)}.{fmt}"
    header = ",".join(EVENT_COLUMNS).encode() + b"\n" if fmt == "csv" else b""
    path.write_bytes(header + body)
    try:
        summary = ingest_file(store, path, "events", rules=RULES, now=NOW,
                              options=ReadOptions(encoding=encoding, max_field_bytes=LIMIT))
    except ConfigError as exc:
        refused = str(exc)
        assert str(path) in refused  # a file-level refusal names the file
        return
    assert summary.rows == summary.loaded + summary.duplicates + summary.quarantined
    with store.connect() as conn:
        held = conn.execute(sa.select(tables.quarantine.c.row, tables.quarantine.c.reason)
                            .where(tables.quarantine.c.source == str(path))).all()
    assert len(held) == summary.quarantined and all(r > 0 and why for r, why in held)
