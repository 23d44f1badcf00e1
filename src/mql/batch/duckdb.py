"""The DuckDB engine: embedded, the default. Reads events from CSV, JSONL or Parquet files
(or from records), runs the compiled query, returns Arrow or writes Parquet/CSV.

>>> from datetime import datetime, timezone
>>> from importlib.resources import files
>>> from mql.model.parse import parse_model
>>> from mql.records import Account, Contact, Event
>>> from mql.batch.asof import AsOf
>>> from mql.batch.engines import Inputs
>>> model = parse_model(files("mql").joinpath("examples/models/b2b-saas.yaml").read_text())
>>> at = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)
>>> jane = Contact("jane@acme.example", "acme.example",
...                {"title": "VP Marketing", "department": "marketing", "country": "US"})
>>> acme = Account("acme.example", {"employees": 800, "industry": "software", "country": "US"})
>>> demo = Event("e1", "demo_request", at, contact="jane@acme.example")
>>> engine = connect()
>>> row = engine.rescore(model, Inputs([jane], [acme], [demo]), AsOf.at(at)).to_pylist()[0]
>>> row["mql"], row["fit"], row["intent"], row["grade"], row["reasons"]
(True, 90.0, 40.0, 'A2', 'thresholds #1; thresholds #2; fast-track demo_request')
>>> engine.close()
"""

from __future__ import annotations

import codecs
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from mql.batch import compile
from mql.batch.asof import AsOf
from mql.batch.engines import Inputs, OutputFormat, Progress, Summary
from mql.batch.plan import Plan
from mql.batch.tables import EVENT_COLUMNS, accounts_table, contacts_table, events_table
from mql.errors import ConfigError, InputError
from mql.model.spec import Model

_READERS = {".parquet": "read_parquet", ".csv": "read_csv", ".jsonl": "read_json",
            ".ndjson": "read_json", ".json": "read_json"}


# DuckDB's own default is 80% of the machine's memory; a bounded pool makes large runs
# spill to `temp_directory` instead of growing with the data
MEMORY_LIMIT = "2GB"


class DuckDBEngine:
    """One in-process DuckDB connection (UTC session). `threads`, `memory_limit` (default
    `MEMORY_LIMIT`) and `temp_directory` (where DuckDB spills what does not fit; default: a
    folder in the system's temporary folder, removed by `close`) pass through to
    DuckDB."""

    name = "duckdb"

    def __init__(self, threads: int | None = None, memory_limit: str | None = MEMORY_LIMIT,
                 temp_directory: str | Path | None = None) -> None:
        self.con = duckdb.connect()  # no time zone setting: UTC, without the ICU extension
        # DuckDB draws a progress bar on stdout for a query over 2 s: it would land in the
        # JSON a CLI prints and in the bench's result lines
        self.con.execute("SET enable_progress_bar = false")
        if threads is not None:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit is not None:
            self.con.execute("SET memory_limit = ?", [memory_limit])
        self._spill: Path | None = None
        if temp_directory is None:  # DuckDB creates it on the first spill only
            temp_directory = self._spill = Path(tempfile.gettempdir()) / (
                f"mql-duckdb-{os.getpid()}-{id(self):x}")
        self.con.execute("SET temp_directory = ?", [str(temp_directory)])

    def sql(self, model: Model, as_of: AsOf) -> str:
        return compile.to_sql(model, as_of, "duckdb", pretty=True)

    def _load(self, model: Model, inputs: Inputs) -> int:
        plan = Plan(model)
        self.con.register("contacts", contacts_table(plan, inputs.contacts))
        self.con.register("accounts", accounts_table(plan, inputs.accounts))
        if isinstance(inputs.events, Path):
            self._events_file(inputs.events)
        else:  # a file read by this engine before left its view under the name
            self.con.execute("DROP VIEW IF EXISTS events_raw")
            self.con.register("events_raw", events_table(inputs.events))
        return int(self.con.execute("SELECT count(*) FROM events_raw").fetchall()[0][0])

    def _events_file(self, path: Path) -> None:
        reader = _READERS.get(path.suffix.lower())
        if reader is None:
            raise ConfigError(f"{path}: unknown file type {path.suffix!r}; use one of "
                              f"{', '.join(sorted(_READERS))}")
        if not path.exists():
            raise ConfigError(f"{path}: no such file")
        options: dict[str, Any] = {}
        if reader == "read_csv":
            options = {"all_varchar": True, "header": True}
        elif reader == "read_json":
            # properties as JSON (not an inferred STRUCT), so the text keeps every key
            types = ", ".join(f"'{c}': '{'JSON' if c == 'properties' else 'VARCHAR'}'"
                              for c in EVENT_COLUMNS)
            options = {"format": "newline_delimited", "ignore_errors": True,
                       "columns": _Raw("{" + types + "}")}
        source = self.con.sql(f"SELECT * FROM {reader}('{_escape(str(path))}'"
                              f"{_named(options)}) LIMIT 0")
        present = set(source.columns)
        cols = [f"CAST({_quote(c)} AS VARCHAR) AS {c}" if c in present
                else f"CAST(NULL AS VARCHAR) AS {c}" for c in EVENT_COLUMNS]
        missing = {"event_id", "type", "timestamp"} - present
        if missing:
            raise InputError(str(path), 1, sorted(missing)[0], "column is missing")
        # the row number is taken over the scan in file order (DuckDB keeps insertion order)
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW events_raw AS SELECT {', '.join(cols)}, "
            f"row_number() OVER () AS seq FROM {reader}('{_escape(str(path))}'"
            f"{_named(options)})")

    def unique_ids(self) -> bool:
        """True when no event id occurs twice (one pass over the id column only). Grouped
        by a 64-bit hash of the id, a quarter of the memory of the text: two ids with one
        hash only make it answer False, which costs speed (the query then orders the
        copies of each id), never exactness."""
        return not self.con.execute("SELECT 1 FROM events_raw GROUP BY hash(trim(event_id)) "
                                    "HAVING count(*) > 1 LIMIT 1").fetchall()

    def rescore(self, model: Model, inputs: Inputs, as_of: AsOf) -> pa.Table:
        with _reading(inputs.events):
            self._load(model, inputs)
            query = compile.to_sql(model, as_of, "duckdb", unique_ids=self.unique_ids())
            table: pa.Table = self.con.sql(query).to_arrow_table()
        return table

    def series(self, model: Model, inputs: Inputs, as_of: AsOf, score: str) -> pa.Table:
        """Only what a replay reads of the result (calibration, backtests): contact,
        `score` as `value` (DOUBLE, 0 when null) and mql (BOOLEAN, false when null), one
        row per contact and time of `as_of`, ordered by contact and time. Projected in
        the query, so DuckDB never hands over the reasons, the other scores and the grade
        of every contact and day (51 bytes a row with the time, 43 without, against 93
        for the whole result on the synthetic world)."""
        with _reading(inputs.events):
            self._load(model, inputs)
            query = compile.to_sql(model, as_of, "duckdb", unique_ids=self.unique_ids())
            table: pa.Table = self.con.sql(
                f"SELECT contact, coalesce(CAST({_quote(score)} AS DOUBLE), 0) AS value, "
                f"coalesce(CAST(mql AS BOOLEAN), false) AS mql FROM ({query}) AS result "
                "ORDER BY contact, as_of").to_arrow_table()
        return table

    def export(self, model: Model, inputs: Inputs, as_of: AsOf, out: Path,
               fmt: OutputFormat = "parquet", progress: Progress | None = None) -> Summary:
        tell = progress or (lambda step: None)
        tell("reading contacts and events")
        with _reading(inputs.events):
            events = self._load(model, inputs)
            tell("scoring")
            query = compile.to_sql(model, as_of, "duckdb", unique_ids=self.unique_ids())
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE result AS {query}")
        tell(f"writing {out}")
        kind = "PARQUET" if fmt == "parquet" else "CSV, HEADER"
        self.con.execute(f"COPY result TO '{_escape(str(out))}' (FORMAT {kind})")
        row = self.con.execute("SELECT count(*), count(DISTINCT contact), "
                               "count(*) FILTER (WHERE mql) FROM result").fetchall()[0]
        self.con.execute("DROP TABLE result")
        return Summary(self.name, int(row[0]), int(row[1]), int(row[2]), events)

    def close(self) -> None:
        self.con.close()
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)


@contextmanager
def _reading(events: object) -> Iterator[None]:
    """DuckDB's refusal of an events file's bytes (not UTF-8, a broken CSV line) as a
    `ConfigError` naming the file and the fix, instead of a DuckDB traceback."""
    try:
        yield
    except duckdb.InvalidInputException as exc:
        if not isinstance(events, Path):
            raise
        first = str(exc).split("\n")[0].removeprefix("Invalid Input Error: ")
        bad = _first_non_utf8(events)
        hint = (f"byte {bad:,} is not UTF-8: convert the file (iconv -f latin1 -t utf-8), or "
                "load it with `mql ingest events FILE --encoding ...` and rescore with --db"
                if bad is not None else
                "fix the line, or load the file with `mql ingest events FILE` (bad rows are "
                "quarantined) and rescore with --db")
        raise ConfigError(f"{events}: the batch engine cannot read it ({first}); {hint}"
                          ) from None


def _first_non_utf8(path: Path) -> int | None:
    """The offset of the first byte of `path` that is not UTF-8, or None (Parquet: None)."""
    if path.suffix.lower() == ".parquet":
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset + exc.start
            offset += len(chunk)
    return None


def _escape(text: str) -> str:
    return text.replace("'", "''")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Raw(str):
    """An option value written as is (a DuckDB struct literal)."""


def _named(options: dict[str, Any]) -> str:
    parts = [f"{k} = {str(v).lower()}" if isinstance(v, bool)
             else f"{k} = {v}" if isinstance(v, _Raw)
             else f"{k} = '{_escape(str(v))}'" for k, v in options.items()]
    return "".join(", " + p for p in parts)


def connect(**options: Any) -> DuckDBEngine:
    """A DuckDB engine (options: threads, memory_limit, temp_directory)."""
    return DuckDBEngine(**options)
