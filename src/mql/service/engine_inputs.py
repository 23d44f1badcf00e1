"""The store's ledger as the batch engine's events file: one function for every service
that hands the DuckDB engine the store's events (`mql audit`, `mql calibrate`,
`mql backtest`, the activation dry run)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.engine import Connection

from mql.store import export

SCHEMA = pa.schema([(name, pa.string()) for name in export.EVENT_COLUMNS])


def _parse(text: str) -> datetime:
    t = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def write_events(conn: Connection, path: Path, *, types: Iterable[str] | None = None,
                 since: Mapping[int, datetime] | None = None) -> datetime | None:
    """Write the store's resolved events (only those of `types`, if given; `since` as for
    `export.resolved_event_columns`) to the Parquet file `path`, streamed in batches, and
    return the first event's time (None when there is none)."""
    first: datetime | None = None
    with pq.ParquetWriter(path, SCHEMA) as writer:
        for columns in export.resolved_event_columns(conn, types=types, since=since):
            stamps = [t for t in columns["timestamp"] if t]
            if stamps:
                low = _parse(min(stamps))
                first = low if first is None or low < first else first
            writer.write_table(pa.table(columns, schema=SCHEMA))
    return first
