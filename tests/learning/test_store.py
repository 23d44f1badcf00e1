"""`mql learn` over the store: each lead as of its decision moment (time travel over the
event ledger), outcomes only from that moment on; on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from mql.cli.main import app
from mql.service import conversions, learning
from mql.service import ingest as ingest_service
from mql.service.calibration import Period, read_outcomes
from mql.store import learning as store_learning
from mql.store import outcomes as outcomes_store
from mql.store.tables import contacts
from tests.outcomes.helpers import NOW, RULES, day, ingest, load_contacts, qualify, write

# 40 VPs (16 become SQL) and 40 managers (4 do). Every lead qualifies on 1 March; the SQLs
# attended a webinar on 20 February, before the decision. Every manager attends one on
# 10 March, after it: that webinar must not count for anyone.


def _world(store: Engine, folder: Path) -> dict[str, int]:
    people = [(f"vp{i}@acme.example", "vp", i < 16) for i in range(40)] + [
        (f"mgr{i}@acme.example", "manager", i < 4) for i in range(40)]
    write(folder, "people.csv", "email,seniority\n" + "".join(
        f"{e},{s}\n" for e, s, _ in people))
    ingest_service.ingest_file(store, folder / "people.csv", "contacts", rules=RULES, now=NOW)
    with store.connect() as conn:
        ids = {str(e): int(i) for e, i in conn.execute(sa.select(contacts.c.email, contacts.c.id))}
    events = ["event_id,type,timestamp,email"]
    for n, (email, seniority, sql) in enumerate(people):
        if sql:
            events.append(f"b{n},webinar_attended,2025-02-20T10:00:00Z,{email}")
        if seniority == "manager":
            events.append(f"a{n},webinar_attended,2025-03-10T10:00:00Z,{email}")
    write(folder, "events.csv", "\n".join(events) + "\n")
    ingest_service.ingest_file(store, folder / "events.csv", "events", rules=RULES, now=NOW)
    for email, _, sql in people:
        qualify(store, ids[email], day(3, 1))
        with store.begin() as conn:
            outcomes_store.record_disposition(
                conn, ids[email], at=day(3, 2), status="sql" if sql else "rejected",
                reason=None if sql else "bad_timing", actor="test", now=NOW)
    return ids


def test_leads_are_read_as_of_their_decision_moment(store: Engine, tmp_path: Path) -> None:
    ids = _world(store, tmp_path)
    with store.connect() as conn:
        moments = store_learning.decision_moments(conn, start=day(1, 1), end=day(4, 1))
        leads = {lead.email: lead for lead in store_learning.stored_leads(conn, moments)}
    assert len(leads) == 80
    assert moments[ids["vp0@acme.example"]] == day(3, 1)
    assert [t[0] for t in leads["vp0@acme.example"].touches] == ["webinar_attended"]
    assert leads["mgr10@acme.example"].touches == []  # its webinar came after the moment
    # the outcome followed the moment: read by the one reader calibration uses too
    with store.connect() as conn:
        found = conversions.first_outcomes(conn)
    vp0, vp20 = leads["vp0@acme.example"], leads["vp20@acme.example"]
    assert found[vp0.contact_id].after("sql", vp0.at)
    assert vp20.contact_id not in found
    # a window that ends before the decisions holds none of them
    with store.connect() as conn:
        assert store_learning.decision_moments(conn, start=None, end=day(3, 1)) == {}

    run = learning.learn_from_store(store, outcome="sql", start=day(1, 1),
                                    end=day(3, 1) + timedelta(days=1), version="t")
    assert (run.card.leads, run.card.positives) == (80, 20)
    # 20 SQLs is small data: shrunk towards the live model (b2b-saas: 20 points for a VP)
    assert run.card.small_data and run.card.shrink == 20 / 120
    assert "shrunk towards the hand model's (learned weight 0.17)" in run.text
    seniority = next(r for r in run.card.attributes if r.field == "contact.seniority")
    assert seniority.points[1] > seniority.points[0]  # vp over manager, learned and prior
    assert '"vp": ' in run.text and "40 leads, 16 became SQL (40.0%), lift 1.60" in run.text
    webinar = next(t for t in run.card.touches if t.kind == "webinar_attended")
    # 16 VP and 4 manager SQLs attended before the decision; nobody else did
    assert (webinar.evidence.count, webinar.evidence.positives) == (20, 20)
    assert webinar.per_touch > 0


def test_mql_learn_cli_over_the_store(store: Engine, store_url: str, tmp_path: Path) -> None:
    _world(store, tmp_path)
    out = tmp_path / "candidate.yaml"
    result = CliRunner().invoke(app, ["learn", "--outcome", "sql", "--from", "2025-01-01",
                                      "--to", "2025-04-01", "--db", store_url,
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "80 leads, 20 sql" in result.output
    assert "small data" in result.output  # 20 SQLs: fewer than 100
    check = CliRunner().invoke(app, ["validate", str(out)])
    assert check.exit_code == 0, check.output
    # its own tests: three of the leads it learned from, with their webinars, score the
    # totals the learner computed
    tested = CliRunner().invoke(app, ["test", str(out)])
    assert tested.exit_code == 0, tested.output
    assert "3 tests: 3 passed, 0 failed" in tested.output
    assert "webinar_attended" in out.read_text().split("tests:", 1)[1]


def test_learn_and_calibrate_count_the_same_outcomes(store: Engine, tmp_path: Path) -> None:
    # Ann became an SQL by a lifecycle move (no disposition) and is the primary contact of
    # a won deal; Bob by a disposition; Cy only works at the account of Ann's deal
    ids = load_contacts(store, tmp_path, "ann@acme.example", "bob@acme.example",
                        "cy@acme.example")
    ann, bob, cy = (ids[f"{n}@acme.example"] for n in ("ann", "bob", "cy"))
    for cid in (ann, bob, cy):
        qualify(store, cid, day(3, 1))
    qualify(store, ann, day(3, 5), stage="sql")
    with store.begin() as conn:
        outcomes_store.record_disposition(conn, bob, at=day(3, 2), status="sql", reason=None,
                                          actor="test", now=NOW)
    path = write(tmp_path, "o.csv", "opportunity_id,account,created_at,closed_at,status,stage,"
                 "primary_contact,amount\n"
                 "o-1,acme.example,2025-03-10,2025-04-01,won,closed_won,ann@acme.example,900\n")
    ingest(store, path, "opportunities")
    with store.connect() as conn:
        learned = {kind: {r.key: r.label for r in learning.store_rows(
            conn, outcome=kind, start=None, end=None)} for kind in ("sql", "opportunity", "won")}
        counted, _ = read_outcomes(conn, Period(day(1, 1).date(), day(6, 30).date()))
    assert learned["sql"] == {"ann@acme.example": True, "bob@acme.example": True,
                              "cy@acme.example": False}
    # the deal names Ann only: her colleague's deal is not Cy's outcome
    assert learned["opportunity"] == {"ann@acme.example": True, "bob@acme.example": False,
                                      "cy@acme.example": False}
    assert learned["won"] == learned["opportunity"]
    # calibration counts exactly these, from the same moment
    for kind, found in learned.items():
        for email, hit in found.items():
            outcome = counted.get(ids[email])
            got = outcome.day(kind) if outcome is not None else None
            assert (got is not None and got >= day(3, 1).date()) == hit, (kind, email)
    assert counted[ann].revenue == 900.0


def test_store_leads_carry_their_companys_page_views(store: Engine, tmp_path: Path) -> None:
    # Ann is the lead (MQL on 1 March); her colleague Bob never qualified. The account
    # rule an account-wide row feeds counts every page view at acme before her moment:
    # Ann's own (22 Feb), Bob's (20 Feb; his 5 March view is after it) and an anonymous
    # visitor's resolved to the account (25 Feb): three
    write(tmp_path, "people.csv", "email,account\nann@acme.example,acme.example\n"
          "bob@acme.example,acme.example\n")
    ingest_service.ingest_file(store, tmp_path / "people.csv", "contacts", rules=RULES,
                               now=NOW)
    write(tmp_path, "events.csv", "event_id,type,timestamp,email,account,properties\n"
          'e1,page_view,2025-02-22T10:00:00Z,ann@acme.example,,"{""url"": ""https://acme.example/pricing""}"\n'
          "e2,page_view,2025-02-20T10:00:00Z,bob@acme.example,,\n"
          "e3,page_view,2025-03-05T10:00:00Z,bob@acme.example,,\n"
          "e4,page_view,2025-02-25T10:00:00Z,,acme.example,\n")
    ingest_service.ingest_file(store, tmp_path / "events.csv", "events", rules=RULES, now=NOW)
    with store.connect() as conn:
        ann = int(conn.execute(sa.select(contacts.c.id).where(
            contacts.c.email == "ann@acme.example")).scalar_one())
    qualify(store, ann, day(3, 1))
    with store.connect() as conn:
        [row] = learning.store_rows(conn, outcome="sql", start=None, end=None)
    assert row.key == "ann@acme.example"
    # ages in days at the moment (1 March, 00:00): 3.58 (anonymous), 6.58 (Ann), 8.58 (Bob)
    assert sorted((k, round(a, 2)) for k, a in row.touches) == [
        ("account:page_view", 3.58), ("account:page_view", 6.58), ("account:page_view", 8.58),
        ("page_view /pricing", 6.58)]
