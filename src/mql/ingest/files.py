"""Reading accounts, contacts and events from CSV, JSONL and Parquet files.

Rows come back one at a time with their row number (the header is row 1 in CSV; the
first object is row 1 in JSONL and Parquet), so a bad row is reported by file and row
while the good rows go on.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from mql.errors import ConfigError, InputError
from mql.ingest.formats import account_from_row, contact_from_row, event_from_row
from mql.records import Account, Contact, Event

Kind = Literal["accounts", "contacts", "events"]
R = TypeVar("R", Account, Contact, Event)
FORMATS = (".csv", ".jsonl", ".ndjson", ".json", ".parquet")


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row that could not be used, with its raw content and the reason."""

    source: str
    row: int
    raw: Mapping[str, Any] | str
    error: InputError


@dataclass(frozen=True, slots=True)
class Loaded(Generic[R]):
    records: list[R]
    rejected: list[Rejected]


def read_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | InputError]]:
    """(row number, row) for each row of `path`; a row that is not even a row of the
    format (broken JSON) comes back as an `InputError` in its place."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise ConfigError(f"{path}: no such file")
    if suffix == ".csv":
        yield from _csv_rows(path)
    elif suffix in (".jsonl", ".ndjson", ".json"):
        yield from _jsonl_rows(path)
    elif suffix == ".parquet":
        yield from _parquet_rows(path)
    else:
        raise ConfigError(f"{path}: unknown file type {suffix!r}; use one of {', '.join(FORMATS)}")


def _csv_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | InputError]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        for number, row in enumerate(reader, start=2):
            if None in row:
                header = len(reader.fieldnames or [])
                yield number, InputError(str(path), number, None,
                                         f"has {header + len(row[None])} cells but the header "
                                         f"names {header}")
                continue
            yield number, row


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | InputError]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, InputError(str(path), number, None,
                                         f"is not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(row, dict):
                yield number, InputError(str(path), number, None, "must be a JSON object")
                continue
            yield number, row


def _parquet_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | InputError]]:
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
        for row in batch.to_pylist():
            number += 1
            yield number, row


_PARSERS: dict[Kind, Callable[..., Any]] = {
    "accounts": account_from_row,
    "contacts": contact_from_row,
    "events": event_from_row,
}


def read_records(path: Path, kind: Kind) -> Iterator[tuple[int, Any | Rejected]]:
    """Each row of `path` as a record of `kind`, or as `Rejected` with the reason."""
    parse = _PARSERS[kind]
    source = str(path)
    for number, row in read_rows(path):
        if isinstance(row, InputError):
            yield number, Rejected(source, number, "", row)
            continue
        try:
            yield number, parse(row, source=source, row=number)
        except InputError as exc:
            yield number, Rejected(source, number, row, exc)


class RecordFile(Generic[R]):
    """The good records of a file, read again on every iteration, never all held: for
    inputs too large to keep as Python objects (a million contacts take gigabytes). The
    rows rejected by the last complete pass are in `rejected`."""

    def __init__(self, path: Path, kind: Kind) -> None:
        self.path = path
        self.kind = kind
        self.rejected: list[Rejected] = []

    def __iter__(self) -> Iterator[R]:
        rejected: list[Rejected] = []
        for _, item in read_records(self.path, self.kind):
            if isinstance(item, Rejected):
                rejected.append(item)
            else:
                yield item
        self.rejected = rejected


def load(path: Path, kind: Kind) -> Loaded[Any]:
    """Every good record of `path`, and every rejected row with its reason."""
    records: list[Any] = []
    rejected: list[Rejected] = []
    for _, item in read_records(path, kind):
        (rejected if isinstance(item, Rejected) else records).append(item)
    return Loaded(records, rejected)
