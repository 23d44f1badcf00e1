"""The one engine factory of mql, and the one place driver errors become mql errors.

`connect(url)` gives a SQLAlchemy engine for SQLite (WAL journal, foreign keys on, a busy
timeout; the file's folder is created) or PostgreSQL (`postgresql://...` uses psycopg 3).
`translate_errors(step)` turns every SQLAlchemy/driver error into an `mql.errors` class
naming the step; nothing above `store/` catches SQLAlchemy errors.

>>> engine = connect("sqlite://")
>>> with engine.connect() as c:
...     c.exec_driver_sql("PRAGMA foreign_keys").scalar()
1
>>> with translate_errors("reading contacts"), engine.connect() as c:  # doctest: +ELLIPSIS
...     c.exec_driver_sql("SELECT * FROM nowhere")
Traceback (most recent call last):
...
mql.errors.SchemaOutdated: reading contacts: the database has no such table or column ...
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from sqlalchemy.engine import URL, Engine, make_url

from mql.errors import ConfigError, DuplicateEvent, SchemaOutdated, StoreError, StoreUnavailable

_MISSING_SCHEMA = ("no such table", "no such column", "does not exist", "undefinedtable",
                   "undefinedcolumn")


def _url(text: str) -> URL:
    try:
        url = make_url(text)
    except sa_exc.ArgumentError as exc:
        raise ConfigError(f"database URL {text!r} cannot be read ({exc}); use "
                          "sqlite:///path/to/mql.db or postgresql://user@host/db") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at each checkpoint
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be stored as JSON")


def dumps(value: Any) -> str:
    """JSON text for the store: times as ISO 8601, no spaces.

    >>> from datetime import timezone
    >>> dumps({"at": datetime(2026, 3, 2, tzinfo=timezone.utc)})
    '{"at":"2026-03-02T00:00:00+00:00"}'
    """
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def connect(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`; `ConfigError` for a bad URL or a missing driver."""
    parsed = _url(url)
    kwargs: dict[str, Any] = {"echo": echo, "json_serializer": dumps}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs["poolclass"] = sa.pool.StaticPool  # one in-memory database per engine
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    elif parsed.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
        # no server-side prepared statements: a generic plan made while a table was empty
        # (seq scan) would be reused after it grew, e.g. for the event-id lookup of ingest
        kwargs["connect_args"] = {"prepare_threshold": None}
    else:
        raise ConfigError(f"database {parsed.get_backend_name()!r} is not supported; "
                          "use sqlite or postgresql")
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (ImportError, sa_exc.NoSuchModuleError) as exc:
        raise ConfigError(f"the driver for {parsed.drivername} is missing ({exc}); "
                          "pip install 'mql[postgres]'") from None
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def redact(url: str) -> str:
    """`url` without its password, for messages.

    >>> redact("postgresql://mql:secret@db/mql")
    'postgresql://mql:***@db/mql'
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return url


@contextmanager
def translate_errors(step: str) -> Iterator[None]:
    """Run the block; a SQLAlchemy or driver error leaves it as an mql error naming `step`.

    IntegrityError -> DuplicateEvent; a missing table/column -> SchemaOutdated; a lost,
    refused or locked connection -> StoreUnavailable; any other database error ->
    StoreError. The most specific SQLAlchemy classes come first.
    """
    try:
        yield
    except sa_exc.IntegrityError as exc:
        raise DuplicateEvent(f"{step}: a row with the same key is already stored "
                             f"({_reason(exc)})") from exc
    except (sa_exc.OperationalError, sa_exc.ProgrammingError) as exc:
        text = _reason(exc)
        if any(marker in text.lower() for marker in _MISSING_SCHEMA):
            raise SchemaOutdated(f"{step}: the database has no such table or column ({text}); "
                                 "run `mql migrate`") from exc
        raise StoreUnavailable(f"{step}: {text}") from exc
    except (sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError) as exc:
        raise StoreUnavailable(f"{step}: the database connection failed ({_reason(exc)})") \
            from exc
    except sa_exc.DBAPIError as exc:
        raise StoreError(f"{step}: {_reason(exc)}") from exc
    except sa_exc.SQLAlchemyError as exc:
        raise StoreError(f"{step}: {exc}") from exc
    except Exception as exc:
        # raw driver errors (the COPY and executemany fast paths bypass SQLAlchemy)
        kinds = _dbapi_kinds(exc)
        if not kinds:
            raise
        text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
        if "IntegrityError" in kinds:
            raise DuplicateEvent(f"{step}: a row with the same key is already stored "
                                 f"({text})") from exc
        if kinds & {"OperationalError", "InterfaceError"}:
            raise StoreUnavailable(f"{step}: {text}") from exc
        raise StoreError(f"{step}: {text}") from exc


_DRIVERS = ("sqlite3", "psycopg")


def _dbapi_kinds(exc: BaseException) -> set[str]:
    """The DB-API exception class names of a raw driver error (empty for other errors)."""
    if not type(exc).__module__.startswith(_DRIVERS):
        return set()
    return {cls.__name__ for cls in type(exc).__mro__}


def _reason(exc: sa_exc.SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    name = type(orig).__name__ if orig is not None else type(exc).__name__
    text = str(orig if orig is not None else exc).strip().splitlines()[0]
    return f"{name}: {text}"
