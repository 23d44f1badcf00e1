"""Nurture tracks in the store (issue 21): entry and exit facts made with the decisions,
exact in time (the worker makes a no-engagement exit at last engagement + 14 days), their
webhooks, and no enrollment where consent forbids email. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.ingest.consent import ConsentRow
from mql.records import Account, Contact, Event
from mql.service import consent, lifecycle
from mql.service.ingest import ingest_records
from mql.store import tables

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
DAY = timedelta(days=1)
RULES = IdentityRules()
ACME = Account("acme.example", {"employees": 300, "industry": "software", "country": "US",
                                "region": "NA"})


def facts(store: Engine) -> list[tuple[str, str, str, datetime, str, str]]:
    with store.connect() as conn:
        rows = conn.execute(sa.select(
            tables.contacts.c.email, tables.nurture_facts.c.kind,
            tables.nurture_facts.c.track, tables.nurture_facts.c.at,
            tables.nurture_facts.c.reason, tables.nurture_facts.c.cause).join(
            tables.contacts, tables.contacts.c.id == tables.nurture_facts.c.contact_id)
            .order_by(tables.nurture_facts.c.at, tables.nurture_facts.c.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def drain(store: Engine, until: datetime) -> None:
    """The worker, run until nothing more is due by `until` (each move at its moment)."""
    for _ in range(20):
        with store.connect() as conn:
            if not conn.execute(sa.select(sa.func.count()).select_from(tables.contacts)
                                .where(tables.contacts.c.due_at <= until)).scalar_one():
                return
        lifecycle.run_due(store, now=until)
    raise AssertionError("the worker kept finding due work")


def test_a_good_fit_lead_leaves_14_days_after_its_last_touch_then_is_won_back(
        store: Engine) -> None:
    lifecycle.add_webhook(store, "https://hooks.example/mautic", secret="s3cret",
                          topics=["mql.nurture.enrolled", "mql.nurture.unenrolled"], now=NOW)
    jo = Contact("jo@acme.example", "acme.example", {"title": "VP Marketing",
                                                      "seniority": "vp", "country": "US"})
    ingest_records(store, "accounts", [ACME], rules=RULES, now=NOW, source="test")
    ingest_records(store, "contacts", [jo], rules=RULES, now=NOW, source="test")
    touch = NOW + 2 * DAY + timedelta(hours=3)  # 4 March 12:00
    ingest_records(store, "events", [Event("e1", "page_view", touch, contact=jo.email,
                                           properties={"url": "/blog"})],
                   rules=RULES, now=touch, source="test")
    drain(store, NOW + 90 * DAY)
    at = datetime
    assert facts(store) == [
        # a good fit (grade B or better) in no stage of sales: warming, priority 2
        ("jo@acme.example", "enrolled", "good_fit_warming", NOW, "matches good_fit_warming",
         "event"),
        # no engagement for 14 days after the last touch: 4 March 12:00 + 14 days
        ("jo@acme.example", "unenrolled", "good_fit_warming", at(2026, 3, 18, 12, tzinfo=UTC),
         "no_engagement", "due"),
        # intent under 5 since the touch, for 30 days: 4 March 12:00 + 30 days
        ("jo@acme.example", "enrolled", "win_back", at(2026, 4, 3, 12, tzinfo=UTC),
         "intent under 5 for 30 days", "due"),
        # 3 touches over 2 weeks: completed (no engagement falls at the same moment)
        ("jo@acme.example", "unenrolled", "win_back", at(2026, 4, 17, 12, tzinfo=UTC),
         "completed", "due"),
    ]
    rows = lifecycle.outbox(store)
    assert [(r["topic"], r["payload"]["data"]["nurture"]["track"]) for r in rows] == [
        ("mql.nurture.enrolled", "good_fit_warming"),
        ("mql.nurture.unenrolled", "good_fit_warming"),
        ("mql.nurture.enrolled", "win_back"), ("mql.nurture.unenrolled", "win_back")]
    data = rows[0]["payload"]["data"]
    assert data["contact"]["email"] == "jo@acme.example"
    assert data["nurture"]["reason"] == "matches good_fit_warming"
    assert "email" in data["permitted_channels"]


def test_qualifying_ends_the_track_at_the_moment_of_the_mql(store: Engine) -> None:
    jo = Contact("jo@acme.example", "acme.example", {"title": "VP Marketing",
                                                      "seniority": "vp", "country": "US"})
    ingest_records(store, "accounts", [ACME], rules=RULES, now=NOW, source="test")
    ingest_records(store, "contacts", [jo], rules=RULES, now=NOW, source="test")
    demo = NOW + 5 * DAY
    ingest_records(store, "events", [Event("d1", "demo_request", demo, contact=jo.email)],
                   rules=RULES, now=demo, source="test")
    assert [(k, t, a, r) for _, k, t, a, r, _ in facts(store)] == [
        ("enrolled", "good_fit_warming", NOW, "matches good_fit_warming"),
        ("unenrolled", "good_fit_warming", demo, "mql")]


def test_no_contact_is_enrolled_where_consent_forbids_email(store: Engine) -> None:
    # GDPR: marketing email needs consent; Lena has none on record
    lena = Contact("lena@acme.example", "acme.example", {"title": "VP Marketing",
                                                          "seniority": "vp", "country": "DE"})
    jo = Contact("jo@acme.example", "acme.example", {"title": "VP Marketing",
                                                      "seniority": "vp", "country": "US"})
    ingest_records(store, "accounts", [ACME], rules=RULES, now=NOW, source="test")
    ingest_records(store, "contacts", [lena, jo], rules=RULES, now=NOW, source="test")
    assert [(e, k) for e, k, *_ in facts(store)] == [("jo@acme.example", "enrolled")]
    # Jo unsubscribes two days later: out of the track at the record's moment
    stop = NOW + 2 * DAY
    consent.record_consent(store, [ConsentRow("jo@acme.example", "email", "withdrawn",
                                              "consent", stop)],
                           rules=RULES, now=stop + timedelta(hours=1), actor="test")
    assert facts(store)[-1] == ("jo@acme.example", "unenrolled", "good_fit_warming", stop,
                                "unsubscribed", "consent")
    # and later activity does not bring a contact back onto email
    later = NOW + 4 * DAY
    ingest_records(store, "events", [Event("p1", "page_view", later, contact=jo.email,
                                           properties={"url": "/pricing"})],
                   rules=RULES, now=later, source="test")
    assert len(facts(store)) == 2


def test_the_report_and_the_export_read_the_facts_as_of_a_moment(store: Engine) -> None:
    from mql.service import nurture

    jo = Contact("jo@acme.example", "acme.example", {"title": "VP Marketing",
                                                      "seniority": "vp", "country": "US",
                                                      "first_name": "Jo"})
    ana = Contact("ana@acme.example", "acme.example", {"title": "VP Sales",
                                                        "seniority": "vp", "country": "US"})
    ingest_records(store, "accounts", [ACME], rules=RULES, now=NOW, source="test")
    ingest_records(store, "contacts", [jo, ana], rules=RULES, now=NOW, source="test")
    web = NOW + DAY
    ingest_records(store, "events", [Event("w1", "webinar_attended", web, contact=jo.email,
                                           properties={"campaign": "q1_webinar"})],
                   rules=RULES, now=web, source="test")
    # Ana: no touch; she leaves warming 14 days after her entry (2 March 09:00)
    drain(store, NOW + 20 * DAY)
    result = nurture.nurture_report(store, at=NOW + 20 * DAY)
    warm = next(r for r in result.rows if r["track"] == "good_fit_warming")
    assert {k: warm[k] for k in ("enrolled", "active", "exit_mql", "exit_no_engagement",
                                 "median_days", "mql_rate", "sql_rate")} == {
        "enrolled": 2, "active": 0, "exit_mql": 1, "exit_no_engagement": 1,
        # Jo 1 day (the webinar made her an MQL: us_midmarket_engaged), Ana 14 days
        "median_days": 7.5, "mql_rate": 0.5, "sql_rate": 0.0}
    assert warm["content_before_conversions"] == "q1_webinar (1)"
    # asked about 2 March 21:00, the past is what it was then
    before = nurture.nurture_report(store, at=NOW + DAY / 2)
    warm = next(r for r in before.rows if r["track"] == "good_fit_warming")
    assert (warm["enrolled"], warm["active"], warm["mql_rate"]) == (2, 2, 0.0)
    assert [r["email"] for r in nurture.export_track(store, "good_fit_warming",
                                                     at=NOW + DAY / 2)] == [
        "jo@acme.example", "ana@acme.example"]  # by entry, then as stored
    assert nurture.export_track(store, "good_fit_warming", at=NOW + 20 * DAY) == []
