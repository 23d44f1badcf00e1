"""The hand-off end to end on a real store (SQLite and PostgreSQL): qualification moves a
lead to MQL, routes it, starts its SLA and queues notifications in the same transaction;
the worker demotes on time, breaches SLAs and delivers webhooks to a real receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy.engine import Engine

from mql.errors import NotFound, TransitionRefused
from mql.identity.merge import IdentityRules
from mql.records import Account, Contact, Event
from mql.service import lifecycle
from mql.service.ingest import ingest_records
from mql.store import handoff as handoff_store
from mql.store.tables import assignments

NOW = datetime(2026, 3, 3, 15, tzinfo=UTC)  # a Tuesday, 10:00 in New York
RULES = IdentityRules()
JANE = Contact("jane@acme.example", "acme.example",
               {"title": "VP Marketing", "department": "marketing", "country": "US"})
ACME = Account("acme.example", {"employees": 3000, "industry": "software", "country": "US",
                                "region": "NA"})


def _load(store: Engine, *events: Event, now: datetime = NOW) -> None:
    ingest_records(store, "accounts", [ACME], rules=RULES, now=now, source="test")
    ingest_records(store, "contacts", [JANE], rules=RULES, now=now, source="test")
    if events:
        ingest_records(store, "events", list(events), rules=RULES, now=now, source="test")


def _demo(at: datetime = NOW) -> Event:
    return Event(f"demo-{at.isoformat()}", "demo_request", at, contact=JANE.email)


def _assignment(store: Engine) -> dict:
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(assignments.select())]
    assert len(rows) == 1
    return rows[0]


def test_a_demo_request_makes_an_mql_routed_with_its_sla(store: Engine) -> None:
    lifecycle.add_webhook(store, "http://127.0.0.1:9/x", secret="s", topics=["*"], now=NOW)
    _load(store, _demo())
    history = lifecycle.history(store, JANE.email)
    assert [(h.source, h.target) for h in history] == [("captured", "mql")]
    assert history[0].cause in ("threshold", "fast_track")
    a = _assignment(store)
    assert (a["team"], a["owner"], a["rule"]) == ("na_enterprise", "dana.ross", "na_enterprise")
    assert a["sla"] == "hand_raiser"
    assert a["sla_due_at"] == NOW + timedelta(hours=1)  # one business hour, 10:00 -> 11:00
    topics = sorted(r["topic"] for r in lifecycle.outbox(store))
    assert topics == ["lead.assigned", "mql.qualified"]


def test_an_unaccepted_mql_is_demoted_exactly_when_due(store: Engine) -> None:
    _load(store, _demo())
    with store.connect() as conn:
        (cid,) = handoff_store.due_contacts(conn, NOW + timedelta(days=400), 10)
        contact_due = handoff_store.due_times(conn, [cid])[cid]
    assert contact_due is not None
    assert lifecycle.run_due(store, now=contact_due - timedelta(seconds=1)) == 0
    assert lifecycle.run_due(store, now=contact_due + timedelta(days=3)) == 1
    last = lifecycle.history(store, JANE.email)[-1]
    assert last.source == "mql"
    assert last.target in ("nurture", "recycled")
    assert last.at == contact_due  # stamped at the due moment, not when the worker ran


def test_sales_accepts_rejects_and_converts_with_reasons(store: Engine) -> None:
    _load(store, _demo())
    accepted = lifecycle.accept(store, "Jane@ACME.example", actor="dana.ross",
                                now=NOW + timedelta(minutes=30))
    assert (accepted.source, accepted.target, accepted.actor) == ("mql", "sal", "dana.ross")
    assert _assignment(store)["status"] == "met"
    sql = lifecycle.convert(store, JANE.email, actor="dana.ross", now=NOW + timedelta(days=1))
    assert sql.target == "sql"
    with pytest.raises(TransitionRefused, match="choose one of"):
        lifecycle.reject(store, JANE.email, reason="meh", actor="dana", now=NOW)
    rejected = lifecycle.reject(store, JANE.email, reason="no_budget", actor="dana",
                                now=NOW + timedelta(days=2))
    assert (rejected.target, rejected.reason) == ("recycled", "no_budget")
    with pytest.raises(NotFound):
        lifecycle.accept(store, "nobody@nowhere.example", actor="x", now=NOW)


def test_a_recycled_lead_needs_fresh_intent_to_qualify_again(store: Engine) -> None:
    _load(store, _demo())
    lifecycle.reject(store, JANE.email, reason="bad_timing", actor="dana",
                     now=NOW + timedelta(hours=2))
    # an old event arriving late does not bring the old points back into play
    views = [Event(f"v{i}", "page_view", NOW + timedelta(hours=3, minutes=i),
                   contact=JANE.email, properties={"url": "/blog"}) for i in range(2)]
    ingest_records(store, "events", views, rules=RULES, now=NOW + timedelta(hours=4),
                   source="test")
    assert lifecycle.history(store, JANE.email)[-1].target == "recycled"
    ingest_records(store, "events", [_demo(NOW + timedelta(days=1))], rules=RULES,
                   now=NOW + timedelta(days=1), source="test")
    assert lifecycle.history(store, JANE.email)[-1].target == "mql"


def test_sla_breach_then_escalation_reroutes_within_the_team(store: Engine) -> None:
    _load(store, _demo())
    first = _assignment(store)
    assert lifecycle.run_sla(store, now=first["sla_due_at"] + timedelta(minutes=1)) == (1, 0)
    second = _assignment(store)
    assert (second["status"], second["breaches"]) == ("breached", 1)
    assert lifecycle.run_sla(store, now=second["sla_due_at"] + timedelta(minutes=1)) == (1, 1)
    third = _assignment(store)
    assert third["status"] == "escalated"
    assert third["owner"] != first["owner"]


class _Receiver:
    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(503)
                else:
                    receiver.bodies.append(json.loads(body))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver(fail_first=2)
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_the_worker_delivers_every_notification_despite_failures(store: Engine,
                                                                  receiver: _Receiver) -> None:
    lifecycle.add_webhook(store, receiver.url, secret="s3cret", topics=["mql.qualified"],
                          now=NOW)
    _load(store, _demo())
    now = NOW
    for _ in range(6):  # the deliveries' clock, stepped an hour at a time
        lifecycle.run_deliveries(store, clock=lambda at=now: at)
        now += timedelta(hours=1)
    assert [b["type"] for b in receiver.bodies] == ["mql.qualified"]
    assert receiver.bodies[0]["data"]["contact"]["email"] == JANE.email
    rows = lifecycle.outbox(store)
    assert [(r["status"], r["attempts"]) for r in rows] == [("delivered", 3)]


def test_a_model_change_lists_newly_qualified_first_and_dry_runs_change_nothing(
        store: Engine, tmp_path) -> None:
    from importlib.resources import files

    from mql.service.store import activate_model

    views = [Event(f"p{i}", "page_view", NOW - timedelta(days=i), contact=JANE.email,
                   properties={"url": "/pricing"}) for i in range(2)]
    _load(store, *views)
    assert lifecycle.history(store, JANE.email) == []  # 20 intent points: not yet an MQL
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    looser = tmp_path / "looser.yaml"
    looser.write_text(text.replace("- {fit: 50, intent: 30}", "- {fit: 50, intent: 15}")
                      .replace('version: "2026.11.1"', 'version: "2026.11.2"'))
    dry = activate_model(store, looser, now=NOW + timedelta(hours=1), dry_run=True)
    assert (dry.newly_qualified, dry.transitions, dry.dry_run) == ([JANE.email], 1, True)
    assert lifecycle.history(store, JANE.email) == []
    done = activate_model(store, looser, now=NOW + timedelta(hours=1))
    assert done.newly_qualified == [JANE.email]
    (move,) = lifecycle.history(store, JANE.email)
    assert (move.target, move.cause) == ("mql", "model_change")


def _engage(store: Engine, url: str) -> list[dict]:  # type: ignore[type-arg]
    lifecycle.add_webhook(store, "http://127.0.0.1:9/x", secret="s", topics=["account.engaged"],
                          now=NOW)
    people = [Contact(f"p{i}@acme.example", "acme.example", {"country": "US"}) for i in range(4)]
    ingest_records(store, "accounts", [ACME], rules=RULES, now=NOW, source="test")
    ingest_records(store, "contacts", people, rules=RULES, now=NOW, source="test")
    for day, who in enumerate(people):
        at = NOW + timedelta(days=day)
        ingest_records(store, "events", [Event(f"v{day}", "page_view", at, contact=who.email,
                                               properties={"url": url})],
                       rules=RULES, now=at, source="test")
    return [r for r in lifecycle.outbox(store) if r["topic"] == "account.engaged"]


def test_an_account_owner_is_alerted_once_when_several_contacts_engage(store: Engine) -> None:
    """The alert is the MQA rule "3 contacts engaged within 7 days" (the example model's
    `routing.account_alerts`): a pricing view gives each contact 10 points of their own
    intent, so the third contact's view, on day 2, makes three engaged contacts."""
    alerts = _engage(store, "/pricing")
    assert len(alerts) == 1  # the third contact triggers it; the fourth is in the quiet period
    data = alerts[0]["payload"]["data"]
    assert data["contacts"] == 3
    assert data["reason"] == "3 engaged contacts within 7 days (needs 3)"


# Spec: the owner is alerted again once the quiet period (30 days) has fully passed
# since the last alert, not a second before.
def test_an_account_is_alerted_again_once_its_quiet_period_has_passed(store: Engine) -> None:
    (first,) = _engage(store, "/pricing")  # on day 2, the third contact's view
    alerted = NOW + timedelta(days=2)
    assert first["payload"]["data"]["at"] == alerted.isoformat()
    for n, (who, at) in enumerate([("p0", alerted + timedelta(days=29)),
                                   ("p1", alerted + timedelta(days=29)),
                                   ("p2", alerted + timedelta(days=30, seconds=-1)),
                                   ("p3", alerted + timedelta(days=30))]):
        ingest_records(store, "events", [Event(f"q{n}", "page_view", at,
                                               contact=f"{who}@acme.example",
                                               properties={"url": "/pricing"})],
                       rules=RULES, now=at, source="test")
    alerts = [r for r in lifecycle.outbox(store) if r["topic"] == "account.engaged"]
    # p2's view made three engaged contacts a second too early; p3's, at 30 days, alerts
    assert [a["payload"]["data"]["at"] for a in alerts] == [
        alerted.isoformat(), (alerted + timedelta(days=30)).isoformat()]
    assert alerts[1]["payload"]["data"]["contacts"] == 4


def test_activity_the_model_does_not_score_is_no_engagement(store: Engine) -> None:
    """A single blog view scores nothing (the example model counts blog pages from three
    distinct ones): four contacts doing only that have no intent of their own, so no
    account engagement alert, as no MQA rule would count them."""
    assert _engage(store, "/blog") == []


def test_an_accepted_lead_can_still_be_reassigned(store: Engine) -> None:
    _load(store, _demo())
    lifecycle.accept(store, JANE.email, actor="dana.ross", now=NOW + timedelta(minutes=5))
    view = lifecycle.reassign(store, JANE.email, owner="li.wei", actor="manager",
                              now=NOW + timedelta(hours=1))
    assert view.owner == "li.wei"
    assert _assignment(store)["owner"] == "li.wei"


def test_every_sales_action_leaves_its_audit_line(store: Engine) -> None:
    from mql.store.merges import audit_lines

    _load(store, _demo())
    lifecycle.accept(store, JANE.email, actor="dana.ross", now=NOW + timedelta(minutes=5))
    lifecycle.reassign(store, JANE.email, owner="li.wei", actor="manager", now=NOW)
    with store.connect() as conn:
        lines = [(a["action"], a["actor"]) for a in audit_lines(conn)]
    assert ("lead.accept", "dana.ross") in lines
    assert ("lead.reassign", "manager") in lines


# Spec: the first-touch deadline counts business hours of the team that owns the lead.
# 21:30 UTC on Tuesday is 16:30 in New York (na_enterprise, open until 18:00), so the
# one-hour SLA is due at 22:30 UTC the same day; on the fallback queue's UTC 09:00-17:00
# calendar it would be Wednesday 10:00 UTC.
def test_the_sla_deadline_follows_the_owning_teams_calendar(store: Engine) -> None:
    late_afternoon = datetime(2026, 3, 3, 21, 30, tzinfo=UTC)
    _load(store, _demo(late_afternoon), now=late_afternoon)
    a = _assignment(store)
    assert (a["team"], a["owner"], a["sla"]) == ("na_enterprise", "dana.ross", "hand_raiser")
    assert a["sla_due_at"] == datetime(2026, 3, 3, 22, 30, tzinfo=UTC)


# Spec: a first touch exactly at the deadline is on time.
def test_a_first_touch_exactly_at_the_deadline_is_met(store: Engine) -> None:
    _load(store, _demo())
    due = _assignment(store)["sla_due_at"]
    assert due == NOW + timedelta(hours=1)
    lifecycle.accept(store, JANE.email, actor="dana.ross", now=due)
    a = _assignment(store)
    assert (a["status"], a["first_touch_at"]) == ("met", due)
