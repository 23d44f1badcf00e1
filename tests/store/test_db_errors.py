"""Foreign errors are translated once, in store/db.py: every driver error we expect maps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy.exc as sa_exc
from sqlalchemy.engine import Engine

from mql.errors import (
    ConfigError,
    DuplicateEvent,
    MQLError,
    SchemaOutdated,
    StoreError,
    StoreUnavailable,
)
from mql.records import Event
from mql.store.db import connect, translate_errors
from mql.store.events import StoredEvent, insert_events

T = datetime(2026, 3, 2, tzinfo=UTC)


class _Orig(Exception):
    pass


EXPECTED = [
    (sa_exc.IntegrityError("INSERT", {}, _Orig("UNIQUE constraint failed")), DuplicateEvent),
    (sa_exc.OperationalError("SELECT", {}, _Orig("database is locked")), StoreUnavailable),
    (sa_exc.OperationalError("SELECT", {}, _Orig("no such table: events")), SchemaOutdated),
    (sa_exc.ProgrammingError("SELECT", {}, _Orig('relation "events" does not exist')),
     SchemaOutdated),
    (sa_exc.ProgrammingError("SELECT", {}, _Orig("syntax error")), StoreUnavailable),
    (sa_exc.InterfaceError("SELECT", {}, _Orig("connection closed")), StoreUnavailable),
    (sa_exc.DisconnectionError("gone"), StoreUnavailable),
    (sa_exc.TimeoutError("pool exhausted"), StoreUnavailable),
    (sa_exc.DataError("INSERT", {}, _Orig("value too long")), StoreError),
    (sa_exc.InternalError("INSERT", {}, _Orig("internal")), StoreError),
    (sa_exc.NotSupportedError("INSERT", {}, _Orig("nope")), StoreError),
    (sa_exc.DatabaseError("INSERT", {}, _Orig("other")), StoreError),
    (sa_exc.StatementError("bad bind", "INSERT", {}, _Orig("x")), StoreError),
    (sa_exc.NoResultFound("none"), StoreError),
]


@pytest.mark.parametrize(("raised", "expected"), EXPECTED,
                         ids=[type(r).__name__ + "-" + e.__name__ for r, e in EXPECTED])
def test_every_expected_driver_error_is_mapped(raised: Exception,
                                               expected: type[MQLError]) -> None:
    with pytest.raises(expected, match=r"^loading rows: ") as info, translate_errors(
            "loading rows"):
        raise raised
    assert info.value.__cause__ is raised


def _raw_driver_errors() -> list[tuple[Exception, type[MQLError]]]:
    import sqlite3

    import psycopg

    return [(sqlite3.IntegrityError("UNIQUE"), DuplicateEvent),
            (sqlite3.OperationalError("locked"), StoreUnavailable),
            (sqlite3.DataError("bad"), StoreError),
            (psycopg.errors.UniqueViolation("dup"), DuplicateEvent),
            (psycopg.OperationalError("gone"), StoreUnavailable),
            (psycopg.errors.QueryCanceled("slow"), StoreError)]


def test_raw_driver_errors_of_the_fast_paths_are_mapped() -> None:
    for raised, expected in _raw_driver_errors():
        with pytest.raises(expected), translate_errors("copying events"):
            raise raised


def test_other_errors_pass_through_untouched() -> None:
    with pytest.raises(KeyError), translate_errors("step"):
        raise KeyError("x")


def test_every_sqlalchemy_error_class_is_covered() -> None:
    """A SQLAlchemy error class we never listed still comes out as a StoreError."""
    for name in dir(sa_exc):
        cls = getattr(sa_exc, name)
        if isinstance(cls, type) and issubclass(cls, sa_exc.SQLAlchemyError):
            try:
                instance = cls("x", {}, _Orig("y")) if issubclass(
                    cls, sa_exc.DBAPIError) else cls("x")
            except TypeError:
                continue
            with pytest.raises(StoreError), translate_errors("step"):
                raise instance


def test_a_resent_event_id_is_a_duplicate_event_on_the_real_driver(store: Engine) -> None:
    e = StoredEvent(Event("e1", "page_view", T, anonymous_id="a"), None, None, "x")
    with store.begin() as conn:
        insert_events(conn, [e], now=T)
    with pytest.raises(DuplicateEvent, match="already stored"), translate_errors(
            "storing e1"), store.begin() as conn:
        insert_events(conn, [e], now=T)


def test_a_missing_table_asks_for_migrate_on_the_real_driver(store_url: str) -> None:
    engine = connect(store_url)
    with pytest.raises(SchemaOutdated, match="mql migrate"), translate_errors(
            "reading"), engine.connect() as conn:
        conn.exec_driver_sql("SELECT * FROM events")
    engine.dispose()


def test_an_unreachable_postgres_is_store_unavailable() -> None:
    engine = connect("postgresql://mql@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StoreUnavailable, match="connecting"), translate_errors(
            "connecting"), engine.connect():
        pass


@pytest.mark.parametrize("url", ["nonsense", "mysql://x@y/z"])
def test_bad_database_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        connect(url)
