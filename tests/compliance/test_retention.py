"""Retention of raw events per jurisdiction on a real store (SQLite and PostgreSQL):
`consent.retention: {gdpr: 730d}` deletes a European contact's events older than two
years, and the quarantine's and inbox's payloads about them, keeps the American's, keeps
the stored scores and transitions, and audits the counts; a dry run deletes nothing;
the worker applies it once an hour."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from mql.cli.main import app
from mql.errors import ModelError
from mql.model.parse import parse_model
from mql.records import Event
from mql.service import lifecycle, retention
from mql.service.ingest import ingest_file, ingest_records
from mql.store import tables
from mql.store.inbox import inbox, open_inbox, put
from tests.compliance.helpers import (
    CONSENT,
    EXAMPLE,
    NOW,
    RULES,
    demo,
    load,
    person,
    with_consent,
)

RETAIN = CONSENT + "  retention: {gdpr: 730d}\n"
OLD = NOW - timedelta(days=800)
HANS, JANE = "hans@acme.example", "jane@acme.example"


def _world(store: Engine, tmp_path: Path) -> None:
    with_consent(store, tmp_path, RETAIN)
    load(store, person(HANS, "DE"))
    load(store, person(JANE, "US"))
    ingest_records(store, "events", [
        Event("old-hans", "page_view", OLD, contact=HANS, properties={"url": "/pricing"}),
        Event("old-jane", "page_view", OLD, contact=JANE),
        Event("new-hans", "page_view", NOW - timedelta(days=10), contact=HANS)],
        rules=RULES, now=NOW, source="test")
    load(store, person(HANS, "DE"), demo(HANS))
    bad = tmp_path / "bad.csv"  # held in quarantine since two years and more
    bad.write_text(f"event_id,type,timestamp,email\nx-1,,2024-01-01,{HANS}\n")
    assert ingest_file(store, bad, "events", rules=RULES, now=OLD).quarantined == 1
    with open_inbox(store).begin() as conn:
        put(conn, "web", [json.dumps({"type": "track", "userId": HANS})], now=OLD)
        put(conn, "web", [json.dumps({"type": "track", "userId": JANE})], now=OLD)


def _events(store: Engine) -> list[str]:
    with store.connect() as conn:
        return sorted(conn.execute(sa.select(tables.events.c.event_id)).scalars())


def _derived(store: Engine) -> list[tuple]:
    with store.connect() as conn:
        scores = conn.execute(sa.select(tables.contact_scores.c.contact_id,
                                        tables.contact_scores.c.total)
                              .order_by(tables.contact_scores.c.contact_id)).all()
        moves = conn.execute(sa.select(sa.func.count()).select_from(
            tables.lifecycle_history)).scalar_one()
    return [*map(tuple, scores), moves]


def test_a_european_contact_s_old_raw_events_go_the_derived_scores_stay(
        store: Engine, tmp_path: Path) -> None:
    _world(store, tmp_path)
    everything = _events(store)
    assert {"old-hans", "old-jane", "new-hans"} <= set(everything)
    derived = _derived(store)
    dry = retention.retain(store, now=NOW, dry_run=True)
    gdpr = dry.by_jurisdiction["gdpr"]
    assert (gdpr.days, gdpr.contacts, gdpr.events, gdpr.quarantine, gdpr.inbox) == (
        730, 1, 1, 1, 1)
    assert gdpr.before == NOW - timedelta(days=730)
    assert set(dry.by_jurisdiction) == {"gdpr"}  # CAN-SPAM: no retention named
    assert _events(store) == everything  # a dry run deletes nothing
    done = retention.retain(store, now=NOW, actor="dpo")
    assert done.as_dict() == dry.as_dict()
    assert _events(store) == [e for e in everything if e != "old-hans"]
    assert _derived(store) == derived  # scores and transitions are kept
    with store.connect() as conn:
        held = conn.execute(sa.select(tables.quarantine.c.raw)).scalars().all()
        (line,) = conn.execute(sa.select(tables.audit_log.c.actor, tables.audit_log.c.detail)
                               .where(tables.audit_log.c.action == "privacy.retain")).all()
    assert all(HANS not in r for r in held)
    assert line.actor == "dpo" and line.detail["jurisdictions"]["gdpr"]["events"] == 1
    with open_inbox(store).connect() as conn:
        left = conn.execute(sa.select(inbox.c.payload)).scalars().all()
    assert [JANE in p for p in left] == [True]
    # again: nothing more to delete
    assert retention.retain(store, now=NOW).events == 0


def test_the_worker_applies_it_once_an_hour(store: Engine, tmp_path: Path) -> None:
    _world(store, tmp_path)
    assert lifecycle.run_once(store, now=NOW, deliver=False).retained == 1
    assert "old-hans" not in _events(store)
    assert retention.due(store, now=NOW + timedelta(minutes=30)) is False
    assert retention.due(store, now=NOW + timedelta(hours=1)) is True


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_mql_privacy_retain_dry_run_says_what_it_would_delete(store: Engine,
                                                              tmp_path: Path) -> None:
    _world(store, tmp_path)
    shown = CliRunner().invoke(app, ["privacy", "retain", "--dry-run", "--db",
                                     str(store.url)])
    assert shown.exit_code == 0, shown.output
    assert "1 raw events would be deleted; scores and transitions kept" in shown.output
    assert "gdpr" in shown.output and "730 days" in shown.output
    assert "old-hans" in _events(store)


def test_a_retention_mistake_names_its_line_and_column() -> None:
    text = EXAMPLE + CONSENT + "  retention: {gdpr: 2 years, mars: 30d}\n"
    with pytest.raises(ModelError) as err:
        parse_model(text, source="m.yaml")
    found = {p.path: p.message for p in err.value.problems}
    assert found["consent.retention.gdpr"].startswith("expected a duration such as 730d")
    assert found["consent.retention.mars"].startswith('unknown jurisdiction "mars"')
    line = text.splitlines().index("  retention: {gdpr: 2 years, mars: 30d}") + 1
    assert {p.line for p in err.value.problems} == {line}
