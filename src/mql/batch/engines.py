"""The batch engines behind one protocol, chosen by name and imported only when used.

>>> engine = connect("duckdb")
>>> engine.name
'duckdb'
>>> engine.close()
>>> connect("oracle")
Traceback (most recent call last):
...
mql.errors.ConfigError: unknown engine 'oracle'; choose one of ['duckdb', 'python', 'spark']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import pyarrow as pa

from mql.batch.asof import AsOf
from mql.errors import ConfigError
from mql.model.spec import Model
from mql.records import Account, Contact, Event

# name -> module in mql.batch; the module has connect(**options) -> Engine
_ENGINES = {"duckdb": "duckdb", "spark": "spark", "python": "python"}
_EXTRAS = {"spark": "spark"}

OutputFormat = Literal["parquet", "csv"]
Progress = Callable[[str], None]  # told each step as it starts


@dataclass(frozen=True, slots=True)
class Inputs:
    """What a run scores: contacts and accounts as records (parsed by `mql.ingest`; any
    iterable that can be iterated again, e.g. `mql.ingest.mapping.RecordFile`, which streams
    a large file instead of holding it), and events as records or as a CSV, JSONL or
    Parquet file in the `mql synth` layout."""

    contacts: Iterable[Contact]
    accounts: Iterable[Account]
    events: Path | Sequence[Event] = ()


@dataclass(frozen=True, slots=True)
class Summary:
    """What a run wrote: rows (contacts x times), distinct contacts, rows that are MQLs,
    event rows read, and the engine."""

    engine: str
    rows: int
    contacts: int
    mqls: int
    events: int
    extra: dict[str, Any] = field(default_factory=dict)


class Engine(Protocol):
    """Computes every contact's scores and decision, as `mql.scoring.score` would, with
    set-based queries. The result has one row per contact and time of `as_of`: contact,
    as_of, one column per score of the model, total, grade, mql, reasons, excluded_by
    (reasons and exclusions as text joined by "; ")."""

    name: str

    def rescore(self, model: Model, inputs: Inputs, as_of: AsOf) -> pa.Table:
        """The result as an Arrow table (for results that fit in memory)."""
        ...

    def export(self, model: Model, inputs: Inputs, as_of: AsOf, out: Path,
               fmt: OutputFormat = "parquet", progress: Progress | None = None) -> Summary:
        """The result written to `out` (a file), with a summary of what was written."""
        ...

    def sql(self, model: Model, as_of: AsOf) -> str:
        """The query this engine runs for `model` (readable, for review)."""
        ...

    def close(self) -> None:
        """Releases the engine's connection or session."""
        ...


def connect(name: str = "duckdb", **options: Any) -> Engine:
    """The engine called `name` ("duckdb", "spark", or "python": the streaming core)."""
    try:
        module = importlib.import_module(f"mql.batch.{_ENGINES[name]}")
    except KeyError:
        raise ConfigError(f"unknown engine {name!r}; choose one of {sorted(_ENGINES)}") from None
    except ImportError as exc:
        extra = _EXTRAS.get(name, name)
        raise ConfigError(f"the {name} engine needs extra packages ({exc.name} is missing): "
                          f"pip install 'mql[{extra}]'") from exc
    engine: Engine = module.connect(**options)
    return engine
