"""The worker and the hand-off write a batch of moves together (a few statements per
batch, not several per move). These tests run the same scenario on two stores, one with
the batched writes and one with a reference that writes move by move (the code before
batching, kept here), and check that every stored row is the same: history, stages,
assignments, routing state, scores and outbox rows, ids included. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mql.identity.merge import IdentityRules
from mql.lifecycle.rules import due_at, next_move
from mql.lifecycle.stages import Cause, Stage
from mql.model.handoff import Routing, SlaRule
from mql.records import Account, Contact, Event
from mql.routing.calendar import add_business_hours
from mql.routing.round_robin import RoundRobin
from mql.routing.rules import Assignment, route
from mql.routing.sla import sla_for
from mql.scoring.intent import IntentState
from mql.scoring.qualify import Decision, Qualifier
from mql.service import handoff, lifecycle
from mql.service import state as states
from mql.service.ingest import ingest_records
from mql.store import handoff as store
from mql.store import tables

NOW = datetime(2026, 3, 3, 15, tzinfo=UTC)  # a Tuesday, 10:00 in New York
RULES = IdentityRules()
EXAMPLE = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
# two sellers with room for three open leads each: who gets a lead depends on the leads
# closed and re-routed before it in the same batch
TIGHT = EXAMPLE.replace("capacity: 40", "capacity: 3").replace("capacity: 30", "capacity: 3")


# -- the reference: one statement per move (the code before batching) ---------------------

def one_by_one_assign(conn: Connection, routing: Routing, sla_rules: tuple[SlaRule, ...],
                      cid: int, contact: Contact, account: Account | None, get: Any,
                      at: datetime) -> tuple[Assignment, str | None, datetime | None]:
    credit = store.robin_credit(conn)
    robins = {team: RoundRobin(c) for team, c in credit.items()}
    assignment, robins = route(routing, account, get, robins, store.open_loads(conn), at)
    store.save_robin_credit(conn, {t: dict(r.credit) for t, r in robins.items()}, at)
    rule = sla_for(sla_rules, get)
    due = None
    if rule is not None:
        team = routing.teams.get(assignment.team or routing.fallback)
        calendar = team.hours if team is not None else routing.teams[routing.fallback].hours
        due = add_business_hours(at, rule.first_touch_hours, calendar)
    store.close_assignments(conn, cid)
    store.add_assignment(conn, contact_id=cid, team=assignment.team, owner=assignment.owner,
                         rule=assignment.rule, reason=assignment.reason, assigned_at=at,
                         sla=None if rule is None else rule.name, sla_due_at=due,
                         status="open")
    store.set_owner(conn, cid, assignment.owner)
    return assignment, None if rule is None else rule.name, due


def one_by_one_apply_decisions(
    conn: Connection, qualifier: Qualifier, version_id: int, contacts: Mapping[int, Contact],
    accounts: Mapping[int, Account | None], decisions: Mapping[int, Decision],
    states_: Mapping[int, IntentState], cause: Cause | None = None, *,
    hold: frozenset[int] = frozenset(),
    stages: Mapping[int, store.StageRow] | None = None,  # read again here: the reference
    defer: list[handoff.NewMql] | None = None,  # only with accounts.mqa (not these models)
) -> dict[int, datetime]:
    assert not defer
    model = qualifier.model
    rows = store.stages(conn, decisions)
    due: dict[int, datetime | None] = {}
    reset: dict[int, datetime] = {}
    for cid, d in decisions.items():
        row = rows.get(cid)
        stage = handoff.stage_of(row.stage if row else None)
        since = (row.since if row and row.since else None) or d.as_of
        move = (None if cid in hold
                else next_move(model, stage, since, d, model_version=str(version_id)))
        if move is not None and cause is not None:
            move = dataclasses.replace(move, cause=cause)
        if move is not None:
            handoff.record(conn, cid, move, version_id)
            stage, since = move.target, move.at
            contact = contacts[cid]
            data = {**handoff.decision_data(model, d),
                    "transition": handoff.transition_data(move)}

            def notify(topic: str, data: dict[str, Any], at: datetime, cid: int = cid,
                       email: str = contact.email) -> None:
                handoff.notify_lead(conn, topic, cid, email, data, at, version_id, model)

            if move.target is Stage.MQL:
                notify("mql.qualified", data, move.at)
                if model.routing is not None:
                    get = qualifier.criteria_getter(contact, accounts.get(cid), d.scores,
                                                    states_.get(cid, IntentState.empty()),
                                                    d.as_of)
                    a, sla, sla_due = one_by_one_assign(conn, model.routing, model.sla, cid,
                                                        contact, accounts.get(cid), get,
                                                        move.at)
                    notify("lead.assigned", {**data, "assignment": {
                        "team": a.team, "owner": a.owner, "rule": a.rule, "reason": a.reason,
                        "sla": sla, "sla_due_at": handoff.iso(sla_due)}}, move.at)
            elif move.source is Stage.MQL:
                store.close_assignments(conn, cid)
                notify("lead.recycled", data, move.at)
                if move.target is Stage.RECYCLED and model.lifecycle.requalify_fresh_intent:
                    reset[cid] = move.at
        due[cid] = due_at(model, stage, since, dataclasses.replace(d, exit_at=None)
                          if cid in hold else d)
    store.set_due(conn, due)
    return reset


def one_by_one_run_sla(engine: Engine, *, now: datetime, batch: int = 500) -> tuple[int, int]:
    breaches = escalations = 0
    with engine.begin() as conn:
        live = states.live_model(conn)
        routing = live.model.routing
        by_name = {s.name: s for s in live.model.sla}
        for a in store.breached_assignments(conn, now, batch):
            rule = by_name.get(a["sla"] or "")
            team = routing.teams.get(a["team"] or "") if routing else None
            count = a["breaches"] + 1
            breaches += 1
            values: dict[str, Any] = {"breaches": count, "status": "breached"}
            if rule is not None and team is not None:
                values["sla_due_at"] = add_business_hours(a["sla_due_at"],
                                                          rule.first_touch_hours, team.hours)
            else:
                values["sla_due_at"] = None
            shown = {"id": a["id"], "team": a["team"], "owner": a["owner"], "rule": a["rule"],
                     "sla": a["sla"], "sla_due_at": handoff.iso(a["sla_due_at"]),
                     "status": a["status"]}
            data = {"assignment": {**shown, "breaches": count,
                                   "next_due_at": handoff.iso(values["sla_due_at"])},
                    "manager": team.manager if team else None, "breached_at": handoff.iso(now)}
            changed = None
            if rule is not None and team is not None and count >= rule.escalate_after_breaches:
                others = tuple(m for m in team.members if m.name != a["owner"]) or team.members
                credit = store.robin_credit(conn)
                owner, robin = RoundRobin(credit.get(team.name, {})).pick(
                    others, store.open_loads(conn), now.date())
                store.save_robin_credit(conn, {team.name: dict(robin.credit)}, now)
                values.update(status="escalated", owner=owner)
                data["rerouted_to"] = owner
                escalations += 1
                store.set_owner(conn, a["contact_id"], owner)
                changed = {"change": {"from": a["owner"], "to": owner, "team": a["team"],
                                      "cause": "escalation", "actor": "mql",
                                      "at": handoff.iso(now)},
                           "assignment": {**shown, "owner": owner}}
            store.update_assignment(conn, a["id"], **values)
            email = store.subjects(conn, [a["contact_id"]])[a["contact_id"]].email or ""
            handoff.notify_lead(conn, "sla.breached", a["contact_id"], email, data, now,
                                live.version_id, live.model)
            if changed is not None:
                handoff.notify_lead(conn, "lead.owner_changed", a["contact_id"], email,
                                    changed, now, live.version_id, live.model)
    return breaches, escalations


# -- two stores, the same scenario ---------------------------------------------------------

def _engine(url: str, model_text: str) -> Engine:
    from mql.store.db import connect
    from mql.store.migrate import upgrade
    from mql.store.models import activate, save_version

    engine = connect(url)
    upgrade(engine)
    with engine.begin() as conn:
        activate(conn, save_version(conn, "b2b_saas", "1", model_text, source="b2b-saas.yaml",
                                    now=NOW), now=NOW)
    lifecycle.add_webhook(engine, "http://127.0.0.1:9/all", secret="s", topics=["*"], now=NOW)
    lifecycle.add_webhook(engine, "http://127.0.0.1:9/exits", secret="s",
                          topics=["lead.recycled", "sla.breached"], now=NOW)
    return engine


def _urls(store_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if store_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'batched.db'}", f"sqlite:///{tmp_path / 'single.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    return cluster.new_database(), cluster.new_database()


@pytest.fixture(params=["example", "tight"])
def twins(store_url: str, request: pytest.FixtureRequest, tmp_path: Path
          ) -> Iterator[tuple[Engine, Engine]]:
    """(batched, one by one): two stores with the same model and webhooks."""
    text = EXAMPLE if request.param == "example" else TIGHT
    a, b = (_engine(u, text) for u in _urls(store_url, request, tmp_path))
    try:
        yield a, b
    finally:
        a.dispose()
        b.dispose()


def _rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row the hand-off writes, in id order (the outbox without its random ids)."""
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table, key in ((tables.contacts, "id"), (tables.lifecycle_history, "id"),
                           (tables.assignments, "id"), (tables.outbox, "id"),
                           (tables.routing_state, "team"),
                           (tables.contact_scores, "contact_id")):
            rows = [dict(r._mapping) for r in conn.execute(
                sa.select(table).order_by(table.c[key]))]
            for r in rows:
                r.pop("delivery_id", None)
            out[table.name] = rows
    return out


def _both(twins: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch, step: Any) -> Any:
    """Run `step(engine)` batched on the first store, move by move on the second."""
    batched, single = twins
    got = step(batched)
    with monkeypatch.context() as m:
        m.setattr(states, "apply_decisions", one_by_one_apply_decisions)
        m.setattr(lifecycle, "run_sla", one_by_one_run_sla)
        want = step(single)
    assert got == want
    return got


def _ingest(kind: str, items: list[Any], now: datetime) -> Any:
    return lambda engine: ingest_records(engine, kind, items, rules=RULES, now=now,
                                         source="test").loaded


ACME = Account("acme.example", {"employees": 3000, "industry": "software", "country": "US",
                                "region": "NA", "technologies": "salesforce"})
BETA = Account("beta.example", {"employees": 300, "industry": "fintech", "country": "GB",
                                "region": "EMEA"})


def _people(domain: str, n: int, start: int = 0) -> list[Contact]:
    return [Contact(f"p{i}@{domain}", domain, {"seniority": "vp", "department": "it",
                                               "country": "US"}) for i in range(start, start + n)]


def _demo(c: Contact, at: datetime) -> Event:
    return Event(f"demo-{c.email}-{at.isoformat()}", "demo_request", at, contact=c.email)


def _browse(c: Contact, at: datetime) -> list[Event]:
    """Pricing and security pages: intent 16 and total 111 at ACME (fit 95), so an MQL by
    the total that decays under the exit line after about four days."""
    return [Event(f"{page}-{c.email}-{at.isoformat()}", "page_view", at, contact=c.email,
                  properties={"url": page}) for page in ("/pricing", "/security")]


def test_due_moves_of_one_batch_match_one_by_one(twins: tuple[Engine, Engine],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    acme, beta = _people("acme.example", 6), _people("beta.example", 3)
    _both(twins, monkeypatch, _ingest("accounts", [ACME, BETA], NOW))
    _both(twins, monkeypatch, _ingest("contacts", acme + beta, NOW))
    events = ([_demo(c, NOW) for c in acme[:3] + beta]
              + [e for c in acme[3:] for e in _browse(c, NOW)]
              + [Event("surge", "intent_surge", NOW, account="beta.example",
                       properties={"strength": 90})])
    _both(twins, monkeypatch, _ingest("events", events, NOW))
    # several contacts of the same account, decay exits and timeouts, all in one batch
    moved = _both(twins, monkeypatch,
                  lambda e: lifecycle.run_due(e, now=NOW + timedelta(days=30)))
    assert moved == len(acme) + len(beta)
    with twins[0].connect() as conn:
        targets = {r["to_stage"]: r["cause"] for r in
                   (dict(x._mapping) for x in conn.execute(sa.select(tables.lifecycle_history)))
                   if r["from_stage"] == "mql"}
    assert targets == {"nurture": "decay", "recycled": "timeout"}
    # by hand: the demo leads (40 points, 50 at beta with its surge) stay over the exit line
    # (intent 15) past the 14-day acceptance timeout; the browsers (intent 16) fall under
    # it after 45 * log2(16/15) days, which is when their move is stamped
    with twins[0].connect() as conn:
        ids = {r.id: r.email for r in conn.execute(sa.select(tables.contacts))}
        exits = {ids[r.contact_id]: (r.to_stage, r.at) for r in conn.execute(
            sa.select(tables.lifecycle_history).where(
                tables.lifecycle_history.c.from_stage == "mql"))}
    decay_at = NOW + timedelta(days=45 * math.log2(16 / 15))
    for c in acme[:3] + beta:
        assert exits[c.email] == ("recycled", NOW + timedelta(days=14))
    for c in acme[3:]:
        stage, at = exits[c.email]
        assert stage == "nurture" and abs(at - decay_at) <= timedelta(microseconds=1)
    # fresh activity after the moves: requalification and routing once more
    later = NOW + timedelta(days=31)
    _both(twins, monkeypatch, _ingest("events", [_demo(c, later) for c in acme + beta], later))
    _both(twins, monkeypatch, lambda e: lifecycle.run_due(e, now=later + timedelta(days=20)))
    assert _rows(twins[0]) == _rows(twins[1])


def test_small_batches_and_a_due_contact_that_stays(twins: tuple[Engine, Engine],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    acme = _people("acme.example", 5)
    _both(twins, monkeypatch, _ingest("accounts", [ACME], NOW))
    _both(twins, monkeypatch, _ingest("contacts", acme, NOW))
    _both(twins, monkeypatch, _ingest("events", [_demo(c, NOW) for c in acme], NOW))
    for engine in twins:  # one contact is due early, where nothing moves it yet
        with engine.begin() as conn:
            conn.execute(tables.contacts.update().where(tables.contacts.c.email == acme[0].email)
                         .values(due_at=NOW + timedelta(days=1)))
    now = NOW + timedelta(days=20)
    counts = [_both(twins, monkeypatch, lambda e: lifecycle.run_due(e, now=now, batch=2))
              for _ in range(4)]  # 2 + 2 + 1 + 0
    assert sum(counts) == len(acme)
    assert _rows(twins[0]) == _rows(twins[1])


def test_exits_and_new_mqls_in_one_ingest_batch_route_as_one_by_one(
        twins: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch) -> None:
    first, fresh = _people("acme.example", 4), _people("acme.example", 3, start=4)
    _both(twins, monkeypatch, _ingest("accounts", [ACME], NOW))
    _both(twins, monkeypatch, _ingest("contacts", first + fresh, NOW))
    _both(twins, monkeypatch, _ingest("events", [e for c in first for e in _browse(c, NOW)],
                                      NOW))
    # the same batch: the first leads unsubscribe (their intent falls under the exit line,
    # which closes their assignments) and fresh ones ask for a demo (and are routed)
    at = NOW + timedelta(hours=1)
    batch = ([Event(f"unsub-{c.email}", "email_unsubscribe", at, contact=c.email)
              for c in first[:3]] + [_demo(c, at) for c in fresh])
    _both(twins, monkeypatch, _ingest("events", batch, at))
    rows = _rows(twins[0])
    assert rows == _rows(twins[1])
    moves = [(r["from_stage"], r["to_stage"]) for r in rows["lifecycle_history"]]
    assert moves.count(("mql", "nurture")) == 3
    assert moves.count(("captured", "mql")) == len(first + fresh)


def test_breaches_and_escalations_of_one_batch_match_one_by_one(
        twins: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch) -> None:
    acme, beta = _people("acme.example", 5), _people("beta.example", 3)
    _both(twins, monkeypatch, _ingest("accounts", [ACME, BETA], NOW))
    _both(twins, monkeypatch, _ingest("contacts", acme + beta, NOW))
    _both(twins, monkeypatch, _ingest("events", [_demo(c, NOW) for c in acme + beta], NOW))
    results = []
    for k in range(1, 5):  # first breaches, then escalations re-routing within the teams
        now = NOW + timedelta(hours=30 * k)
        results.append(_both(twins, monkeypatch,
                             lambda e, now=now: lifecycle.run_sla(e, now=now)))
    assert sum(b for b, _ in results) >= 2 * len(acme + beta)
    assert sum(e for _, e in results) >= len(acme + beta)
    rows = _rows(twins[0])
    assert rows == _rows(twins[1])
    assert {r["status"] for r in rows["assignments"]} == {"escalated"}
    assert [r["topic"] for r in rows["outbox"]].count("sla.breached") == 2 * sum(
        b for b, _ in results)  # both webhooks subscribe to it


def test_many_new_mqls_of_one_account_in_one_batch_route_as_one_by_one(
        twins: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> None:
    acme = _people("acme.example", 8)
    _both(twins, monkeypatch, _ingest("accounts", [ACME], NOW))
    _both(twins, monkeypatch, _ingest("contacts", acme, NOW))
    # more leads than the tight team has room for, routed one after another in one batch
    _both(twins, monkeypatch, _ingest("events", [_demo(c, NOW) for c in acme], NOW))
    rows = _rows(twins[0])
    assert rows == _rows(twins[1])
    # by hand: smooth weighted round robin, dana.ross weight 2, li.wei weight 1; in the
    # tight model both hold three open leads at most, then the fallback queue gets them
    d, li, pool = "dana.ross", "li.wei", "sdr.pool"
    expected = {"example": [d, li, d, d, li, d, d, li],
                "tight": [d, li, d, d, li, li, pool, pool]}[request.node.callspec.params["twins"]]
    by_contact = sorted(rows["assignments"], key=lambda r: r["contact_id"])
    assert [r["owner"] for r in by_contact] == expected
    assert [r["team"] for r in by_contact] == [
        "inbound_queue" if o == pool else "na_enterprise" for o in expected]
    # one business hour from 10:00 in New York (and 15:00 UTC on the fallback's calendar)
    assert {r["sla_due_at"] for r in by_contact} == {NOW + timedelta(hours=1)}
