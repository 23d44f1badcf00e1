"""Nurture tracks in the store (issue 21): entry and exit facts made with the decisions,
exact in time (the worker makes a no-engagement exit at last engagement + 14 days), their
webhooks, and no enrollment where consent forbids email. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

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


def vp(name: str, country: str, title: str = "VP Marketing") -> Contact:
    """A vice president at Acme (a good fit: grade B or better)."""
    return Contact(f"{name}@acme.example", "acme.example",
                   {"title": title, "seniority": "vp", "country": country})


def seed(store: Engine, *people: Contact) -> None:
    """Acme and `people`, created at NOW."""
    ingest_records(store, "accounts", [ACME], rules=RULES, now=NOW, source="test")
    ingest_records(store, "contacts", list(people), rules=RULES, now=NOW, source="test")


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
    lena, jo = vp("lena", "DE"), vp("jo", "US")
    seed(store, lena, jo)
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


def _warming(store: Engine, at: datetime, within: float = 90.0) -> dict:
    from mql.service import nurture

    result = nurture.nurture_report(store, at=at, within_days=within)
    return next(r for r in result.rows if r["track"] == "good_fit_warming")


def test_the_comparable_group_is_the_eligible_never_enrolled_from_that_moment(
        store: Engine) -> None:
    # Jo (US) enters warming at her creation. Lena and Ana (Germany, no consent to email)
    # are never enrolled though eligible: captured, not MQLs, from their creation (2 March
    # 09:00). Max's demo request arrives with his first record: an MQL at once, he was
    # never a candidate for a track and is not in the group.
    jo, lena, tom = vp("jo", "US"), vp("lena", "DE"), vp("tom", "DE", "VP Finance")
    seed(store, jo, lena, vp("ana", "DE", "VP Sales"), tom)
    ingest_records(store, "events", [Event("m1", "demo_request", NOW,
                                           contact="max@acme.example")],
                   rules=RULES, now=NOW, source="test")
    # Tom's history (a demo request an hour before his record was made) arrives a day
    # later and qualifies him: mql first knew him then, an MQL; not in the group either
    ingest_records(store, "events", [Event("t1", "demo_request", NOW - DAY / 24,
                                           contact=tom.email)],
                   rules=RULES, now=NOW + DAY, source="test")
    demo = NOW + 3 * DAY  # Lena qualifies three days after she became eligible
    ingest_records(store, "events", [Event("l1", "demo_request", demo,
                                           contact=lena.email)],
                   rules=RULES, now=demo, source="test")
    assert [(e, k) for e, k, *_ in facts(store)] == [("jo@acme.example", "enrolled")]
    at = NOW + 20 * DAY
    # the group: Lena and Ana; Lena's MQL is within 90 days of her eligible moment: 1/2
    # (from every never-enrolled contact's creation it was 3/4, Max and Tom counted)
    warm = _warming(store, at)
    assert (warm["not_enrolled_mql_rate"], warm["not_enrolled_sql_rate"]) == (0.5, 0.0)
    from mql.service import nurture

    assert "the 2 contacts never on a track" in nurture.nurture_report(store, at=at).notes[0]
    # the same window: 2 days from 2 March 09:00 ends before Lena's MQL (5 March 09:00)
    assert _warming(store, at, within=2)["not_enrolled_mql_rate"] == 0.0
    assert _warming(store, at, within=3)["not_enrolled_mql_rate"] == 0.5  # its last moment
    # as of 4 March, before her demo request, neither had converted
    assert _warming(store, NOW + 2 * DAY)["not_enrolled_mql_rate"] == 0.0


def test_opportunities_and_won_deals_in_the_store_count_as_conversions(
        store: Engine, tmp_path: Path) -> None:
    from mql.service import outcomes

    seed(store, vp("jo", "US"), vp("ana", "US", "VP Sales"))
    assert [(e, k) for e, k, *_ in facts(store)] == [
        ("jo@acme.example", "enrolled"), ("ana@acme.example", "enrolled")]  # 2 March 09:00
    # the CRM's deals, with no lifecycle move in mql: Jo's opened 10 days after her entry
    # and won 40 days after it; Ana's opened 100 days after hers (outside 90 days)
    deals = tmp_path / "opportunities.csv"
    deals.write_text(
        "opportunity_id,account,name,created_at,closed_at,status,stage,primary_contact\n"
        "opp-1,acme.example,platform,2026-03-12T09:00:00Z,2026-04-11T09:00:00Z,won,"
        "closed_won,jo@acme.example\n"
        "opp-2,acme.example,analytics,2026-06-10T09:00:00Z,,open,discovery,"
        "ana@acme.example\n", encoding="utf-8")
    summary = outcomes.ingest_outcomes(store, deals, "opportunities", rules=RULES,
                                       now=NOW + 130 * DAY)
    assert summary.quarantined == 0
    warm = _warming(store, NOW + 120 * DAY)
    # Jo: opportunity (past the SQL line) and won within 90 days; Ana: not within them
    assert {k: warm[k] for k in ("sql_rate", "opportunity_rate", "won_rate")} == {
        "sql_rate": 0.5, "opportunity_rate": 0.5, "won_rate": 0.5}
    # as of 20 March, Jo's deal was open, not won yet: the past is what it was then
    warm = _warming(store, NOW + 18 * DAY)
    assert (warm["opportunity_rate"], warm["won_rate"]) == (0.5, 0.0)
    # as of 11 March, before the deal opened, nothing
    assert _warming(store, NOW + 9 * DAY)["opportunity_rate"] == 0.0


def test_a_merged_away_contact_leaves_its_track_at_the_merge_and_the_past_stays(
        store: Engine, tmp_path: Path) -> None:
    from mql.service import nurture
    from mql.service.ingest import ingest_file

    ingest_records(store, "accounts", [ACME], rules=RULES, now=NOW, source="test")
    people = tmp_path / "people.csv"
    people.write_text("email,salesforce_id,title,seniority,country\n"
                      "jo@acme.example,003A,VP Marketing,vp,US\n"
                      "jo.b@acme.example,,VP Marketing,vp,US\n")
    ingest_file(store, people, "contacts", rules=RULES, now=NOW)
    link = tmp_path / "link.csv"
    link.write_text("email,salesforce_id\njo.b@acme.example,003A\n")
    merged_at = NOW + DAY
    assert ingest_file(store, link, "contacts", rules=RULES, now=merged_at).merges == 1
    assert facts(store) == [
        ("jo@acme.example", "enrolled", "good_fit_warming", NOW, "matches good_fit_warming",
         "event"),
        ("jo.b@acme.example", "enrolled", "good_fit_warming", NOW,
         "matches good_fit_warming", "event"),
        # the merged record is scored no more: its entry ends at the merge
        ("jo.b@acme.example", "unenrolled", "good_fit_warming", merged_at, "merged", "merge")]
    # the email tool nurtures the person once from the merge on; before it, as it was
    assert [r["email"] for r in nurture.export_track(store, "good_fit_warming",
                                                     at=merged_at)] == ["jo@acme.example"]
    assert [r["email"] for r in nurture.export_track(store, "good_fit_warming",
                                                     at=NOW + DAY / 2)] == [
        "jo@acme.example", "jo.b@acme.example"]
