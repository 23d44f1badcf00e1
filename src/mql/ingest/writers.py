"""Streaming writers for rows (dicts) to CSV, JSONL or Parquet, with a fixed schema.

Rows are written as they come; Parquet buffers `batch_rows` rows and writes them as one
row group, so memory stays bounded and the same rows always give the same bytes. Column
kinds: ``string``, ``integer``, ``number``, ``boolean`` and ``json`` (JSON text: a string
in CSV and Parquet, an embedded object in JSONL).

>>> import tempfile, pathlib
>>> columns = (Column("email"), Column("employees", "integer"), Column("properties", "json"))
>>> path = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
>>> with open_writer(path, "jsonl", columns) as writer:
...     writer.write({"email": "jane@acme.example", "employees": 80, "properties": '{"a": 1}'})
>>> path.read_text()
'{"email": "jane@acme.example", "employees": 80, "properties": {"a": 1}}\\n'
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from mql.errors import ConfigError

FORMATS = ("csv", "jsonl", "parquet")
Kind = Literal["string", "integer", "number", "boolean", "json"]
_ARROW = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(),
          "boolean": pa.bool_(), "json": pa.string()}  # fmt: skip
BATCH_ROWS = 65_536


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a file: its name and kind (string, integer, number, boolean or json)."""

    name: str
    kind: Kind = "string"

    def __post_init__(self) -> None:
        if self.kind not in _ARROW:
            raise ConfigError(
                f"column {self.name!r}: unknown kind {self.kind!r}; choose one of {sorted(_ARROW)}"
            )


class RowWriter(Protocol):
    """Writes rows to one file; `rows` counts them. Use as a context manager."""

    path: Path
    rows: int

    def write(self, row: Mapping[str, Any]) -> None: ...

    def write_many(self, rows: Iterable[Mapping[str, Any]]) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> RowWriter: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class _Base:
    def __init__(self, path: Path, columns: Sequence[Column]) -> None:
        if len({c.name for c in columns}) != len(columns):
            raise ConfigError(f"{path}: column names must be unique")
        self.path = path
        self.columns = tuple(columns)
        self.names = tuple(c.name for c in columns)
        self._known = frozenset(self.names)
        self.rows = 0

    def _check(self, row: Mapping[str, Any]) -> None:
        if not self._known.issuperset(row):
            extra = sorted(set(row) - self._known)
            raise ConfigError(f"{self.path}: row has columns outside the schema: {extra}")

    def write(self, row: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def write_many(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.write(row)

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> _Base:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class CsvWriter(_Base):
    """CSV with a header row; empty cells for None, true/false for booleans."""

    def __init__(self, path: Path, columns: Sequence[Column]) -> None:
        super().__init__(path, columns)
        self._file: IO[str] = path.open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._csv.writerow(self.names)
        self._booleans = [i for i, c in enumerate(self.columns) if c.kind == "boolean"]

    def write(self, row: Mapping[str, Any]) -> None:
        self._check(row)
        # the csv module already writes None as an empty cell; only booleans need care
        values = [row.get(name) for name in self.names]
        for i in self._booleans:
            values[i] = _text(values[i])
        self._csv.writerow(values)
        self.rows += 1

    def close(self) -> None:
        self._file.close()


class JsonlWriter(_Base):
    """One JSON object per line, keys in schema order; json columns embedded as objects."""

    def __init__(self, path: Path, columns: Sequence[Column]) -> None:
        super().__init__(path, columns)
        self._file: IO[str] = path.open("w", encoding="utf-8")
        self._keys = [json.dumps(name) for name in self.names]
        self._raw = [c.kind == "json" for c in self.columns]

    def write(self, row: Mapping[str, Any]) -> None:
        self._check(row)
        parts = []
        for key, name, raw in zip(self._keys, self.names, self._raw, strict=True):
            value = row.get(name)
            # json columns already hold JSON text: embed it as it is, without re-parsing
            text = value if raw and isinstance(value, str) and value else json.dumps(value)
            parts.append(f"{key}: {text}")
        self._file.write("{" + ", ".join(parts) + "}\n")
        self.rows += 1

    def close(self) -> None:
        self._file.close()


class ParquetWriter(_Base):
    """Parquet with a fixed schema, one row group per `batch_rows` rows."""

    def __init__(self, path: Path, columns: Sequence[Column], batch_rows: int = BATCH_ROWS) -> None:
        super().__init__(path, columns)
        self.schema = pa.schema([pa.field(c.name, _ARROW[c.kind]) for c in columns])
        self._writer = pq.ParquetWriter(str(path), self.schema, compression="zstd")
        self._batch_rows = batch_rows
        self._buffer: list[list[Any]] = [[] for _ in columns]

    def write(self, row: Mapping[str, Any]) -> None:
        self._check(row)
        for values, name in zip(self._buffer, self.names, strict=True):
            values.append(row.get(name))
        self.rows += 1
        if len(self._buffer[0]) >= self._batch_rows:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer[0]:
            return
        arrays = [
            pa.array(values, type=field.type)
            for values, field in zip(self._buffer, self.schema, strict=True)
        ]
        self._writer.write_table(
            pa.Table.from_arrays(arrays, schema=self.schema), row_group_size=self._batch_rows
        )
        self._buffer = [[] for _ in self.columns]

    def close(self) -> None:
        self._flush()
        self._writer.close()


def open_writer(
    path: Path, fmt: str, columns: Sequence[Column], *, batch_rows: int = BATCH_ROWS
) -> RowWriter:
    """A writer of rows with these `columns` to `path` in `fmt` (csv, jsonl or parquet).

    Raises `ConfigError` for an unknown format. Close it (or use ``with``) to finish the file.
    """
    if fmt == "csv":
        return CsvWriter(path, columns)
    if fmt == "jsonl":
        return JsonlWriter(path, columns)
    if fmt == "parquet":
        return ParquetWriter(path, columns, batch_rows)
    raise ConfigError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
