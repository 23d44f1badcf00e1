"""Activating a model version: the lists of newly qualified and no longer qualified leads,
written down by hand for a small store whose scores are simple sums (no decay), on SQLite
and PostgreSQL. The dry run (batch engine), the replayed dry run and the real switch must
each give these lists; the other activation tests compare those paths with each other."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.records import Contact, Event
from mql.service.ingest import ingest_records
from mql.service.store import activate_version
from mql.store import models as model_store
from mql.store import tables
from mql.store.db import connect
from mql.store.migrate import upgrade

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
RULES = IdentityRules()

MODEL = """\
name: tiny
version: "{version}"
decay: none
fit:
  rules:
    - name: us
      when: {{field: contact.country, op: eq, value: US}}
      points: 10
intent:
  rules:
    - name: demo
      event: demo_request
      points: 40
    - name: pricing
      event: page_view
      when: {{field: url, op: contains, value: /pricing}}
      points: 10
mql:
  thresholds: {{total: {total}}}
exit:
  below: {{intent: {exit}}}
"""

# (email, country, demo requests, pricing views) -> fit, intent, total
LEADS = [
    ("ann@a.example", "US", 1, 0),  # 10 + 40 = 50
    ("bob@b.example", "DE", 1, 0),  #  0 + 40 = 40
    ("cat@c.example", "US", 0, 2),  # 10 + 20 = 30
    ("dan@d.example", "US", 0, 3),  # 10 + 30 = 40
    ("eve@e.example", "DE", 0, 5),  #  0 + 50 = 50
    ("fay@f.example", "DE", 0, 1),  #  0 + 10 = 10
]
# under the live version (total 45): ann and eve are MQLs


@pytest.fixture
def store(store_url: str) -> Iterator[Engine]:
    engine = connect(store_url)
    upgrade(engine)
    with engine.begin() as conn:
        model_store.activate(conn, model_store.save_version(
            conn, "tiny", "1", MODEL.format(version=1, total=45, exit=5), source="v1.yaml",
            now=NOW - timedelta(days=3)), now=NOW - timedelta(days=3))
    contacts = [Contact(email, None, {"country": country}) for email, country, _, _ in LEADS]
    ingest_records(engine, "contacts", contacts, rules=RULES, now=NOW - timedelta(days=2),
                   source="test")
    events = [Event(f"{email}-{kind}-{n}", kind, NOW - timedelta(days=1, minutes=n),
                    contact=email, properties={"url": "/pricing"})
              for email, _, demos, views in LEADS
              for kind, count in (("demo_request", demos), ("page_view", views))
              for n in range(count)]
    ingest_records(engine, "events", events, rules=RULES, now=NOW - timedelta(days=1),
                   source="test")
    try:
        yield engine
    finally:
        engine.dispose()


def _version(engine: Engine, version: int, total: int, exit_line: int) -> int:
    with engine.begin() as conn:
        return model_store.save_version(conn, "tiny", str(version),
                                        MODEL.format(version=version, total=total,
                                                     exit=exit_line),
                                        source=f"v{version}.yaml", now=NOW)


def _mqls(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(tables.contacts.c.email).where(
            tables.contacts.c.lifecycle_stage == "mql")).scalars())


def test_the_live_version_qualifies_the_leads_at_or_over_its_line(store: Engine) -> None:
    assert _mqls(store) == ["ann@a.example", "eve@e.example"]


@pytest.mark.parametrize(("total", "exit_line", "newly", "no_longer"), [
    # a lower line (35): bob and dan (40 each) join; cat (30) and fay (10) stay out
    (35, 5, ["bob@b.example", "dan@d.example"], []),
    # exactly at 40: "at or over" lets bob and dan in
    (40, 5, ["bob@b.example", "dan@d.example"], []),
    # at 50 nothing changes: ann and eve are exactly on the line
    (50, 5, [], []),
    # a higher line (55) no path holds ann and eve any more, but an MQL leaves only once
    # a score of exit.below is under its line too: intents 40 and 50 are over 5, both stay
    (55, 5, [], []),
    # ... and with the exit line at 45, ann (intent 40) leaves, eve (intent 50) stays
    (55, 45, [], ["ann@a.example"]),
    # the exit line alone moves nobody whom a path still qualifies (ann: total 50 >= 45)
    (45, 45, [], []),
])
def test_activation_lists_the_leads_a_new_line_moves(
        store: Engine, total: int, exit_line: int, newly: list[str], no_longer: list[str]
        ) -> None:
    version = _version(store, 2, total, exit_line)
    for method in ("batch", "replay"):
        dry = activate_version(store, version, now=NOW, dry_run=True, method=method)  # type: ignore[arg-type]
        assert (dry.newly_qualified, dry.no_longer_qualified) == (newly, no_longer), method
        assert dry.dry_run
    assert _mqls(store) == ["ann@a.example", "eve@e.example"]  # a dry run writes nothing
    done = activate_version(store, version, now=NOW)
    assert (done.newly_qualified, done.no_longer_qualified) == (newly, no_longer)
    assert not done.dry_run
    expected = sorted({"ann@a.example", "eve@e.example", *newly} - set(no_longer))
    assert _mqls(store) == expected
    # one model_change move per lead that changed side
    with store.connect() as conn:
        causes = list(conn.execute(sa.select(tables.lifecycle_history.c.cause).where(
            tables.lifecycle_history.c.model_version_id == version)).scalars())
    assert causes == ["model_change"] * len(newly + no_longer)
    assert done.transitions == len(newly + no_longer)
