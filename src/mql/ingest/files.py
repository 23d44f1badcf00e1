"""Reading accounts, contacts and events from CSV, JSONL and Parquet files.

Rows come back one at a time with their row number (the header is row 1 in CSV; the
first object is row 1 in JSONL and Parquet), so a bad row is reported by file and row
while the good rows go on. Nothing in a file's bytes stops the reading: a byte the
encoding cannot decode, a cell over the size limit, a broken line or a value Parquet
cannot convert costs its own row (a `BadRow`, with the reason naming file, row, field and,
for undecodable bytes, the byte offset); rows before and after it are read as usual. Only
a file that cannot be read at all (missing, an empty or corrupt Parquet file, a header
that names no required column) raises `ConfigError`, before any row.

CSV is read with the delimiter that splits its header row into the most columns (`,`,
`;`, tab or `|`) unless one is given; any line ending (LF, CRLF, CR) is accepted.

This module reads rows only; records (a row through a column mapping, parsed and checked)
come from `mql.ingest.mapping.Reader`, which reads its rows here: one reader path for
`mql ingest`, `score`, `explain` and `rescore`.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp(dir="/tmp")) / "contacts.csv"
>>> _ = path.write_bytes(b"email;title\\njane@acme.example;CTO\\njos\\xe9@acme.example;CEO\\n")
>>> rows = RowSource(path)
>>> rows.header(), rows.delimiter
(['email', 'title'], ';')
>>> good, bad = list(rows)
>>> good
(2, {'email': 'jane@acme.example', 'title': 'CTO'})
>>> print(bad[1].error)  # doctest: +NORMALIZE_WHITESPACE
/tmp/.../contacts.csv:3 email: holds byte 0xe9 at byte offset 37 of the file that is not valid
utf-8 text; if the file is in another encoding, say which with --encoding (e.g. latin-1, cp1252)
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Generic, Literal, TypeVar

from mql.errors import ConfigError, InputError
from mql.ingest.consent import REQUIRED as CONSENT_COLUMNS
from mql.ingest.formats import REQUIRED_COLUMNS as RECORD_COLUMNS
from mql.ingest.outcomes import REQUIRED_COLUMNS as OUTCOME_COLUMNS
from mql.limits import MAX_FIELD_BYTES
from mql.records import Account, Contact, Event

Kind = Literal["accounts", "contacts", "events", "opportunities", "costs", "dispositions",
               "consent"]
R = TypeVar("R", Account, Contact, Event)
FORMATS = (".csv", ".jsonl", ".ndjson", ".json", ".parquet")
DELIMITERS = ",;\t|"
_ESCAPE = "mql-escape"  # undecodable bytes become U+DC00 + byte, as surrogateescape does
_MARKED = re.compile("[\udc00-\udcff]")
_SAMPLE = 64 * 1024
REQUIRED_COLUMNS = {**RECORD_COLUMNS, **OUTCOME_COLUMNS, "consent": CONSENT_COLUMNS}


def _escape(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start:exc.end]), exc.end


codecs.register_error(_ESCAPE, _escape)


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read a file: its text encoding (CSV, JSONL), the largest value in bytes, and
    the CSV delimiter (None: detected)."""

    encoding: str = "utf-8"
    max_field_bytes: int = MAX_FIELD_BYTES
    delimiter: str | None = None

    def __post_init__(self) -> None:
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ConfigError(f"unknown encoding {self.encoding!r}; use a name such as "
                              "utf-8, latin-1, cp1252 or utf-16") from None
        if self.max_field_bytes < 1:
            raise ConfigError(f"the field size limit must be at least 1 byte, "
                              f"got {self.max_field_bytes}")
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise ConfigError(f"the delimiter must be one character, got {self.delimiter!r}")


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that cannot be read as a row of its format: the reason and what was read."""

    error: InputError
    raw: Mapping[str, Any] | str


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


Item = tuple[int, Mapping[str, Any] | BadRow]


def _ascii_compatible(encoding: str) -> bool:
    name = codecs.lookup(encoding).name
    return name in ("utf-8", "utf-8-sig") or "\n\r,;\t|\"{}".encode(encoding) == b"\n\r,;\t|\"{}"


def _utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _cut(value: Any, limit: int) -> Any:
    """`value` for the quarantine: long text cut, undecodable bytes shown as \\xNN."""
    if isinstance(value, str):
        text = _MARKED.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", value)
        return text if len(text) <= min(limit, 1000) else (
            f"{text[:1000]}… ({len(value.encode('utf-8', 'surrogatepass')):,} bytes, cut)")
    if isinstance(value, bytes):
        return _cut(value.decode("latin-1"), limit)
    if isinstance(value, Mapping | list) and _nbytes(value) > min(limit, 1000):
        return _cut(json.dumps(value, default=str), limit)
    return value


def _nbytes(value: Any) -> int:
    if isinstance(value, str):
        return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, Mapping | list):
        return len(json.dumps(value, default=str, ensure_ascii=False).encode(
            "utf-8", "surrogatepass"))
    return 0


class RowSource:
    """The rows of one file, read again on every iteration. `header()` reads the column
    names (CSV header, Parquet schema; None for JSONL) without reading any row; `done`
    and `total` say how far the last iteration got (bytes for CSV and JSONL, rows for
    Parquet; `total` None when unknown)."""

    def __init__(self, path: Path, options: ReadOptions | None = None) -> None:
        self.path = path
        self.options = options or ReadOptions()
        self.source = str(path)
        self.suffix = path.suffix.lower()
        if self.suffix not in FORMATS:
            raise ConfigError(f"{path}: unknown file type {self.suffix!r}; use one of "
                              f"{', '.join(FORMATS)}")
        if not path.exists():
            raise ConfigError(f"{path}: no such file")
        if path.is_dir():
            raise ConfigError(f"{path}: is a folder, not a file")
        self.delimiter = self.options.delimiter or ","
        self.done = 0
        self.total: int | None = None
        self._header: list[str] | None = None
        self._header_read = False

    # -- the header ------------------------------------------------------------------

    def header(self) -> list[str] | None:
        """The column names, or None when the format has no header (JSONL)."""
        if not self._header_read:
            self._header = self._read_header()
            self._header_read = True
        return self._header

    def _read_header(self) -> list[str] | None:
        if self.suffix == ".parquet":
            return list(self._parquet().schema_arrow.names)
        if self.suffix != ".csv":
            with self.path.open("rb") as handle:
                start = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
            if start.startswith(b"["):
                raise ConfigError(f"{self.path}: holds a JSON array; mql reads JSON Lines (one "
                                  "object per line: `jq -c '.[]' file.json > file.jsonl`)")
            return None
        with self.path.open("rb") as handle:
            start = handle.read(4)
            if start[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) and _ascii_compatible(
                    self.options.encoding):
                raise ConfigError(f"{self.path}: starts with a UTF-16 byte order mark; read it "
                                  "with --encoding utf-16")
            handle.seek(0)
            sample = self._decoded_sample(handle)
        if self.options.delimiter is None:
            self.delimiter = _sniff(sample)
        for _, cells, bad in self._csv_records(io.StringIO(sample, newline="")):
            if bad is not None:
                raise ConfigError(f"{self.path}: the header row {bad}")
            if any(_MARKED.search(c) for c in cells):
                why = self._bad_bytes(-1, "".join(cells))
                raise ConfigError(f"{self.path}: the header row {why}")
            return [c.strip() for c in cells]
        return []

    def _decoded_sample(self, handle: IO[bytes]) -> str:
        raw = handle.read(_SAMPLE)
        cut = raw.rfind(b"\n") if len(raw) == _SAMPLE else -1
        raw = raw[:cut + 1] if cut > 0 else raw
        encoding = "utf-8-sig" if _utf8(self.options.encoding) else self.options.encoding
        try:
            return raw.decode(encoding, _ESCAPE)
        except UnicodeError as exc:
            raise ConfigError(f"{self.path}: cannot be read as {encoding} text ({exc})") from None

    def check_header(self, kind: str, mapped: list[str] | None = None) -> None:
        """`ConfigError` if the header (after the column mapping: `mapped`) lacks a
        required column of `kind`, naming it and the columns found."""
        header = self.header()
        if header is None:
            return
        columns = header if mapped is None else mapped
        names = set(columns)
        for group in REQUIRED_COLUMNS[kind]:
            if names.isdisjoint(group):
                wanted = (f"no column {group[0]!r}" if len(group) == 1
                          else "none of the columns " + ", ".join(map(repr, group)))
                found = ", ".join(repr(h) for h in header[:30]) or "nothing"
                hint = ""
                lower = {h.strip().lower(): h for h in header}
                near = next((lower[g] for g in group if g in lower), None)
                if near is not None:
                    hint = (f"; {near!r} differs only in case or spaces (rename it, or use "
                            "--mapping)")
                elif len(header) == 1 and any(d in header[0] for d in DELIMITERS[1:]):
                    used = next(d for d in DELIMITERS[1:] if d in header[0])
                    hint = (f"; the header is one column: is the file delimited by {used!r}? "
                            "(--delimiter)")
                raise ConfigError(f"{self.path}: {wanted} (required for {kind}); the header "
                                  f"has {found}{hint}")

    # -- rows ------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Item]:
        self.done = 0
        self.header()
        if self.suffix == ".csv":
            yield from self._csv_rows()
        elif self.suffix == ".parquet":
            yield from self._parquet_rows()
        else:
            yield from self._jsonl_rows()

    def _lines(self, handle: IO[bytes]) -> Iterator[tuple[str, int | None]]:
        """Each physical line as text, with the byte offset of its first undecodable byte."""
        encoding = self.options.encoding
        if not _ascii_compatible(encoding):
            text = io.TextIOWrapper(handle, encoding=encoding, errors=_ESCAPE, newline="")
            try:
                for line in text:
                    self.done = handle.tell()
                    yield line, (-1 if _MARKED.search(line) else None)
            except UnicodeError as exc:  # e.g. "UTF-16 stream does not start with BOM"
                raise ConfigError(f"{self.path}: cannot be read as {encoding} text "
                                  f"({exc})") from None
            finally:
                text.detach()  # the caller closes the file
            return
        if _utf8(encoding):
            encoding = "utf-8"
        offset = 0
        for raw in handle:
            pieces = [raw] if b"\r" not in raw[:-2] else raw.splitlines(keepends=True)
            for piece in pieces:
                if offset == 0 and piece.startswith(codecs.BOM_UTF8) and encoding == "utf-8":
                    piece, offset = piece[3:], 3
                try:
                    line, bad = piece.decode(encoding), None
                except UnicodeDecodeError as exc:
                    line, bad = piece.decode(encoding, _ESCAPE), offset + exc.start
                offset += len(piece)
                self.done = offset
                yield line, bad

    def _bad_bytes(self, line_error: int, text: str) -> str:
        found = _MARKED.search(text)
        byte = f"byte 0x{ord(found.group()) - 0xDC00:02x}" if found else "a byte"
        where = f" at byte offset {line_error:,} of the file" if line_error >= 0 else ""
        return (f"holds {byte}{where} that is not valid {self.options.encoding} text; if the "
                "file is in another encoding, say which with --encoding (e.g. latin-1, cp1252)")

    def _csv_records(self, handle: IO[str] | Iterator[tuple[str, int | None]]
                     ) -> Iterator[tuple[int, list[str], str | None]]:
        """(number, cells, why the record is unreadable) for each non-blank CSV record."""
        errors: list[int] = []

        def lines() -> Iterator[str]:
            for item in handle:
                if isinstance(item, tuple):
                    line, bad = item
                    if bad is not None:
                        errors.append(bad)
                    yield line
                else:
                    yield item

        if csv.field_size_limit() < 2**31 - 1:
            csv.field_size_limit(2**31 - 1)  # sizes are checked against our own limit
        reader = csv.reader(lines(), delimiter=self.delimiter)
        number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                errors.clear()
                yield number, [], f"cannot be read as CSV ({exc})"
                continue
            if not cells:
                continue
            number += 1
            if errors:
                text = self.delimiter.join(cells)
                reason = self._bad_bytes(errors[0], text)
                errors.clear()
                yield number, cells, reason
            else:
                yield number, cells, None

    def _csv_rows(self) -> Iterator[Item]:
        header = self._header or []
        limit = self.options.max_field_bytes
        quick = limit // 4
        with self.path.open("rb") as handle:
            records = self._csv_records(self._lines(handle))
            next(records, None)  # the header
            for number, cells, bad in records:
                row: dict[str, Any] = dict(zip(header, cells, strict=False))
                if len(cells) > len(header):
                    raw = {k: _cut(v, limit) for k, v in row.items()}
                    raw["(extra cells)"] = [_cut(c, limit) for c in cells[len(header):]]
                    yield number, BadRow(InputError(
                        self.source, number, None, f"has {len(cells)} cells but the header "
                        f"names {len(header)}"), raw)
                    continue
                for name in header[len(cells):]:
                    row[name] = None
                if bad is not None:
                    field = next((k for k, v in row.items() if v and _MARKED.search(v)), None)
                    yield number, BadRow(InputError(self.source, number, field, bad),
                                         {k: _cut(v, limit) for k, v in row.items()})
                    continue
                if max(map(len, cells), default=0) > quick:
                    big = next((k for k, v in row.items() if v is not None and len(v) > quick
                                and _nbytes(v) > limit), None)
                    if big is not None:
                        yield number, self._oversized(number, big, row)
                        continue
                yield number, row

    def _oversized(self, number: int, name: str, row: Mapping[str, Any]) -> BadRow:
        limit = self.options.max_field_bytes
        return BadRow(InputError(
            self.source, number, name, f"is {_nbytes(row[name]):,} bytes, over the limit of "
            f"{limit:,} bytes per value (--max-field-bytes, MQL_MAX_FIELD_BYTES)"),
            {k: _cut(v, limit) for k, v in row.items()})

    def _jsonl_rows(self) -> Iterator[Item]:
        limit = self.options.max_field_bytes
        with self.path.open("rb") as handle:
            number = 0
            for line, bad in self._lines(handle):
                number += 1
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, BadRow(InputError(
                        self.source, number, None,
                        f"is not valid JSON ({exc.msg} at column {exc.colno})"), _cut(line, limit))
                    continue
                except (ValueError, RecursionError) as exc:
                    yield number, BadRow(InputError(
                        self.source, number, None,
                        f"is not JSON mql can read ({str(exc)[:100]})"), _cut(line, limit))
                    continue
                if not isinstance(row, dict):
                    yield number, BadRow(InputError(self.source, number, None,
                                                    "must be a JSON object"), _cut(line, limit))
                    continue
                if bad is not None:
                    field = next((str(k) for k, v in row.items()
                                  if _MARKED.search(json.dumps(v, ensure_ascii=False))), None)
                    yield number, BadRow(InputError(self.source, number, field,
                                                    self._bad_bytes(bad, line)),
                                         {k: _cut(v, limit) for k, v in row.items()})
                    continue
                if len(line) > limit // 4 and len(line.encode("utf-8", "surrogatepass")) > limit:
                    big = next((k for k, v in row.items() if _nbytes(v) > limit), None)
                    if big is not None:
                        yield number, self._oversized(number, big, row)
                        continue
                yield number, row

    def _parquet(self) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.path.stat().st_size == 0:
            raise ConfigError(f"{self.path}: the file is empty (0 bytes), not a Parquet file")
        try:
            return pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise ConfigError(f"{self.path}: not a readable Parquet file ({exc})") from None

    def _parquet_rows(self) -> Iterator[Item]:
        import pyarrow as pa

        parquet = self._parquet()
        self.total = parquet.metadata.num_rows
        number = 0
        batches = parquet.iter_batches(batch_size=10_000)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise ConfigError(f"{self.path}: the Parquet data after row {number:,} "
                                  f"cannot be read ({exc})") from None
            try:
                rows: list[dict[str, Any] | BadRow] = list(batch.to_pylist())
            except (pa.ArrowException, ValueError, OverflowError):
                rows = [self._parquet_row(batch, i, number + 1 + i) for i in range(len(batch))]
            for row in rows:
                number += 1
                self.done = number
                yield number, row if isinstance(row, BadRow) else self._parquet_values(number, row)

    def _parquet_row(self, batch: Any, index: int, number: int) -> dict[str, Any] | BadRow:
        import pyarrow as pa

        row: dict[str, Any] = {}
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            try:
                row[name] = column[index].as_py()
            except (pa.ArrowException, ValueError, OverflowError) as exc:
                return BadRow(InputError(self.source, number, name,
                                         f"cannot be read ({str(exc)[:100]})"), {})
        return row

    def _parquet_values(self, number: int, row: dict[str, Any]) -> dict[str, Any] | BadRow:
        limit = self.options.max_field_bytes
        for name, value in row.items():
            if not isinstance(value, str | int | float | datetime | None):
                row[name] = value = _plain(value)
            if isinstance(value, bytes):
                try:
                    row[name] = value = value.decode(self.options.encoding)
                except UnicodeDecodeError as exc:
                    return BadRow(InputError(
                        self.source, number, name, f"holds byte 0x{value[exc.start]:02x} that "
                        f"is not valid {self.options.encoding} text (--encoding)"),
                        {k: _cut(v, limit) for k, v in row.items()})
            if isinstance(value, str | Mapping | list) and (
                    not isinstance(value, str) or len(value) > limit // 4) and (
                    _nbytes(value) > limit):
                return self._oversized(number, name, row)
        return row


def _plain(value: Any) -> Any:
    """A Parquet value as a JSON-able Python value (decimals as floats, times as text)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, time | timedelta | date) and not isinstance(value, datetime):
        return value.isoformat() if not isinstance(value, timedelta) else value.total_seconds()
    return value


def _sniff(sample: str) -> str:
    """The delimiter of a CSV sample: the one of DELIMITERS that splits its header row into
    the most columns (as csv.Sniffer would on a header; a comma on a tie).

    >>> _sniff('event_id;"note, with commas";type'), _sniff("email")
    (';', ',')
    """
    reader_input = sample.splitlines()[:1] or [""]

    def width(delimiter: str) -> int:
        return len(next(csv.reader(reader_input, delimiter=delimiter), []))

    return max(DELIMITERS, key=lambda d: (width(d), d == ","))


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of the `what` file (a model, a mapping) at `path`; `ConfigError`
    saying why not (missing, a folder, not UTF-8) instead of an OS or codec error."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder; give the {what} file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_rows(path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
    """(row number, row) for each row of `path`; a row that is not even a row of the
    format (broken JSON, undecodable bytes, an oversized value) is a `BadRow`."""
    yield from RowSource(path, options)
