"""Migrations: a fresh database reaches the newest schema, an old one is upgraded in place."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.errors import SchemaOutdated
from mql.store import tables
from mql.store.db import connect
from mql.store.migrate import check, current, head, upgrade

T = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = connect(store_url)
    try:
        yield engine
    finally:
        engine.dispose()  # also when an assertion failed: no connection is left open


def test_fresh_database_reaches_head_and_matches_the_schema(engine: Engine) -> None:
    assert upgrade(engine) == head()
    check(engine)
    names = set(sa.inspect(engine).get_table_names())
    assert {t.name for t in tables.metadata.sorted_tables} <= names


def test_database_created_by_the_first_migration_is_upgraded_keeping_rows(
    engine: Engine,
) -> None:
    assert upgrade(engine, "0001") == "0001"
    with pytest.raises(SchemaOutdated, match="mql migrate"):
        check(engine)
    with engine.begin() as conn:
        conn.execute(tables.accounts.insert().values(
            domain="acme.com", name="Acme", attributes={"employees": 10}, created_at=T,
            updated_at=T))
    assert upgrade(engine) == head()
    with engine.connect() as conn:
        assert conn.execute(sa.select(tables.accounts.c.attributes)).scalar_one() == {
            "employees": 10}
        assert conn.execute(sa.select(sa.func.count()).select_from(
            tables.ingest_checkpoints)).scalar_one() == 0


def test_an_empty_database_asks_for_migrate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = connect(f"sqlite:///{tmp_path / 'x.db'}")
    assert current(engine) is None
    with pytest.raises(SchemaOutdated, match="an empty database"):
        check(engine)


def test_the_migrations_build_exactly_the_declared_schema(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, tables.metadata)
    assert diff == []


def test_0005_keeps_one_copy_of_each_quarantined_row_and_dismisses_the_repeats(
    engine: Engine,
) -> None:
    # before 0005 a re-ingested file stored its bad rows again
    assert upgrade(engine, "0004") == "0004"
    row = {"kind": "events", "source": "e.csv", "row": 3, "raw": '{"type": ""}',
           "field": "type", "reason": "is empty", "mapping": "mql", "status": "open",
           "created_at": T}
    legacy = sa.table("quarantine", *(sa.column(c) for c in row))
    with engine.begin() as conn:
        conn.execute(legacy.insert(), [row, row, {**row, "row": 4}])
    assert upgrade(engine) == head()
    with engine.connect() as conn:
        got = conn.execute(sa.select(tables.quarantine.c.id, tables.quarantine.c.status,
                                     tables.quarantine.c.note)
                           .order_by(tables.quarantine.c.id)).all()
    assert [(s, n) for _, s, n in got] == [
        ("open", None), ("dismissed", f"a repeat of #{got[0][0]} (migration 0005)"),
        ("open", None)]


def test_recycles_under_fresh_intent_become_intent_resets_on_upgrade(engine: Engine) -> None:
    # before 0008 a recycle under `requalify: fresh_intent` emptied the stored state; the
    # upgrade keeps that promise by storing the moment, from the recorded history
    assert upgrade(engine, "0004") == "0004"
    later = datetime(2026, 3, 9, tzinfo=UTC)
    with engine.begin() as conn:
        fresh, loose = (conn.execute(tables.model_versions.insert().values(
            name="m", version=v, digest=v * 64, text=text, created_at=T, active=False)
            .returning(tables.model_versions.c.id)).scalar_one()
            for v, text in (("a", "lifecycle: {requalify: fresh_intent}"),
                            ("b", "lifecycle: {requalify: any}")))
        ids = [conn.execute(tables.contacts.insert().values(
            email=f"c{i}@acme.com", attributes={}, created_at=T, updated_at=T)
            .returning(tables.contacts.c.id)).scalar_one() for i in range(3)]
        history = [(ids[0], "mql", "recycled", T, "timeout", fresh),
                   (ids[0], "recycled", "mql", T, "threshold", fresh),
                   (ids[1], "mql", "recycled", later, "sales_action", fresh),
                   (ids[2], "mql", "recycled", later, "sales_action", loose)]
        conn.execute(tables.lifecycle_history.insert(), [
            {"contact_id": c, "from_stage": a, "to_stage": b, "at": at, "cause": cause,
             "actor": "mql", "model_version_id": v} for c, a, b, at, cause, v in history])
    assert upgrade(engine) == head()
    with engine.connect() as conn:
        rows = conn.execute(sa.select(tables.intent_resets.c.contact_id,
                                      tables.intent_resets.c.at, tables.intent_resets.c.cause)
                            .order_by(tables.intent_resets.c.contact_id)).all()
    assert [tuple(r) for r in rows] == [(ids[0], T, "timeout"), (ids[1], later, "sales_action")]


def _indexes(engine: Engine, table: str) -> dict[str, list[str]]:
    return {str(i["name"]): [str(c) for c in i["column_names"]]
            for i in sa.inspect(engine).get_indexes(table)}


# The sales queue reads the contacts in `mql` or `sal`, the MQA and alert reads an
# account's audit lines of one action: 0016 indexes both, and a downgrade removes them
# again, keeping the rows.
def test_0016_indexes_the_lifecycle_stage_and_the_audit_log_and_goes_back(
        engine: Engine) -> None:
    from alembic import command

    from mql.store.migrate import _config

    assert upgrade(engine, "0011") == "0011"
    with engine.begin() as conn:
        conn.execute(tables.contacts.insert().values(
            email="c@acme.com", attributes={}, lifecycle_stage="mql", created_at=T,
            updated_at=T))
        conn.execute(tables.audit_log.insert().values(
            at=T, actor="mql", action="account.mqa", subject="acme.com", detail={}))
    assert "ix_contacts_lifecycle_stage" not in _indexes(engine, "contacts")
    assert upgrade(engine, "0016") == "0016"
    assert _indexes(engine, "contacts")["ix_contacts_lifecycle_stage"] == ["lifecycle_stage"]
    assert _indexes(engine, "audit_log")["ix_audit_log_action_subject_at"] == [
        "action", "subject", "at"]
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0011")
    assert current(engine) == "0011"
    assert "ix_contacts_lifecycle_stage" not in _indexes(engine, "contacts")
    assert "ix_audit_log_action_subject_at" not in _indexes(engine, "audit_log")
    with engine.connect() as conn:
        assert conn.execute(sa.select(tables.contacts.c.lifecycle_stage)).scalar_one() == "mql"
        assert conn.execute(sa.select(tables.audit_log.c.subject)).scalar_one() == "acme.com"


# 0017 (issue 21) adds the nurture facts; a downgrade drops them and keeps the rest.
def test_0017_adds_the_nurture_facts_and_goes_back(engine: Engine) -> None:
    from alembic import command

    from mql.store.migrate import _config

    assert upgrade(engine, "0016") == "0016"
    with engine.begin() as conn:
        conn.execute(tables.contacts.insert().values(
            email="c@acme.com", attributes={}, lifecycle_stage="nurture", created_at=T,
            updated_at=T))
    assert "nurture_facts" not in sa.inspect(engine).get_table_names()
    assert upgrade(engine, "0017") == "0017"
    with engine.begin() as conn:
        cid = conn.execute(sa.select(tables.contacts.c.id)).scalar_one()
        conn.execute(tables.nurture_facts.insert().values(
            contact_id=cid, track="warming", kind="enrolled", at=T, reason="matches warming",
            cause="event", channels={"email": True}))
        assert conn.execute(sa.select(tables.nurture_facts.c.at)).scalar_one() == T
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0016")
    assert current(engine) == "0016"
    assert "nurture_facts" not in sa.inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(sa.select(tables.contacts.c.email)).scalar_one() == "c@acme.com"
