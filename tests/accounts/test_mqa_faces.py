"""`mql accounts show` says whether the account is an MQA, why, to whom and by when, on a
real store (SQLite and PostgreSQL), and the answer about a past moment does not change
when later events arrive."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from mql.cli.main import app
from mql.identity.merge import IdentityRules
from mql.records import Account, Event
from mql.service.accounts import show_account_mqa
from mql.service.ingest import ingest_records
from mql.service.store import activate_model
from tests.accounts.test_account_score import MODEL, T0, events, people
from tests.accounts.test_mqa import MQA

ACME = Account("acme.example", {"employees": 1500, "owner": "rep@vendor.example"})


@pytest.fixture
def loaded(store: Engine, tmp_path: Path) -> Engine:
    model = tmp_path / "acct.yaml"
    model.write_text(MODEL + MQA)
    activate_model(store, model, now=T0)
    rules = IdentityRules()
    ingest_records(store, "accounts", [ACME], rules=rules, now=T0, source="test")
    ingest_records(store, "contacts", people(), rules=rules, now=T0, source="test")
    ingest_records(store, "events", events(), rules=rules, now=T0, source="test")
    return store


def test_a_tier_one_account_is_fast_tracked_by_a_demo_request(loaded: Engine,
                                                             store_url: str) -> None:
    # acme.example is on the tier_one list: the 1:1 rule; the CIO's and the director's
    # demo requests at T0 fast-track it for 3 days, to team abm within 4 hours
    view = show_account_mqa(loaded, "acme.example", at=T0 + timedelta(hours=1))
    score, mqa = view.score, view.mqa
    assert score.tier == "1:1" and mqa.mqa
    # ingestion handed it off at T0 (the model has accounts.mqa): the stage is mqa since
    assert view.history.stage == "mqa" and view.history.moves[-1].at == T0
    assert show_account_mqa(loaded, "acme.example", at=T0 - timedelta(hours=1)
                            ).history.stage == "target"
    assert mqa.reason == "fast track: demo_request"
    assert mqa.route == "team:abm" and mqa.due == T0 + timedelta(hours=5)
    runner = CliRunner()
    shown = runner.invoke(app, ["accounts", "show", "acme.example", "--db", store_url,
                                "--at", T0.isoformat()])
    assert shown.exit_code == 0, shown.output
    assert "MQA: yes (fast track: demo_request); to team:abm, due" in shown.output
    assert "account stage: mqa since 2026-03-02 09:00" in shown.output
    as_json = runner.invoke(app, ["accounts", "show", "acme.example", "--db", store_url,
                                  "--at", T0.isoformat(), "--json"])
    body = json.loads(as_json.output)
    assert body["mqa"]["mqa"] is True and body["mqa"]["fast_track"] == "demo_request"


def test_after_the_fast_track_the_rule_decides_and_the_past_stays(loaded: Engine,
                                                                  store_url: str) -> None:
    later = T0 + timedelta(days=4)
    # 4 days on the total is 20 + 103.998 * 2**-0.4 = 98.8158 < 120, the CFO silent
    view = show_account_mqa(loaded, "acme.example", at=later)
    mqa = view.mqa
    assert view.history.stage == "mqa"  # it was handed off at T0; the past stays
    assert not mqa.mqa and mqa.unmet == ("account score 98.8158 (line 120)",
                                         "no economic buyer engaged")
    before = show_account_mqa(loaded, "acme.example", at=T0).mqa
    ingest_records(loaded, "events", [Event("late", "demo_request", T0 + timedelta(days=9),
                                            contact="cfo@acme.example")],
                   rules=IdentityRules(), now=T0 + timedelta(days=9), source="test")
    assert show_account_mqa(loaded, "acme.example", at=T0).mqa == before
    now = show_account_mqa(loaded, "acme.example", at=T0 + timedelta(days=9)).mqa
    assert now.mqa and now.reason == "fast track: demo_request"
    runner = CliRunner()
    shown = runner.invoke(app, ["accounts", "show", "acme.example", "--db", store_url,
                                "--at", later.isoformat()])
    assert "MQA: no (account score 98.8158 (line 120); no economic buyer engaged)" in \
        shown.output


def test_an_mqa_is_one_webhook_per_buying_motion(store: Engine, tmp_path: Path) -> None:
    from mql.service import lifecycle

    model = tmp_path / "acct.yaml"
    model.write_text(MODEL + MQA)
    activate_model(store, model, now=T0)
    lifecycle.add_webhook(store, "https://hooks.example/mqa", secret="s" * 32,
                          topics=["account.mqa"], now=T0)
    rules = IdentityRules()
    ingest_records(store, "accounts", [ACME], rules=rules, now=T0, source="test")
    ingest_records(store, "contacts", people(), rules=rules, now=T0, source="test")
    ingest_records(store, "events", events(), rules=rules, now=T0, source="test")

    def demo(i: str, days: float) -> None:
        at = T0 + timedelta(days=days)
        ingest_records(store, "events", [Event(i, "demo_request", at,
                                               contact="dev@acme.example")],
                       rules=rules, now=at, source="test")

    demo("again", 1)  # still an MQA (fast track), inside its open motion: no second one
    demo("much-later", 70)  # 70 days on: the motion (reopen_days 60) closed; a new one
    sent = [row["payload"]["data"] for row in lifecycle.outbox(store)
            if row["topic"] == "account.mqa"]
    assert len(sent) == 2
    first = sent[0]
    assert first["account"] == {"domain": "acme.example"} and first["tier"] == "1:1"
    assert first["reason"] == "fast track: demo_request" and first["route"] == "team:abm"
    assert first["sla_due_at"] == (T0 + timedelta(hours=4)).isoformat()
    assert first["handoff"] == "account" and isinstance(first["mqls"], list)
    assert first["coverage"]["next_action"].startswith("no economic buyer engaged")
    assert first["score"]["total"] == pytest.approx(123.998046875)
    assert sent[1]["at"] == (T0 + timedelta(days=70)).isoformat()
    # docs/webhooks.md shows exactly these fields
    from tests.notify.test_payloads import _documented, _paths

    example = _documented()["account.mqa"]
    assert example["type"] == "account.mqa"
    assert _paths(example["data"]) == set().union(*(_paths(d) for d in sent))


def test_the_api_shows_the_mqa_decision_of_an_account(loaded: Engine, store_url: str
                                                      ) -> None:
    import httpx

    from mql.api.app import create_app
    from mql.clock import FixedClock
    from mql.service.keys import create_key
    from tests.api.conftest import SECRET, running, settings_for

    token = create_key(loaded, kind="token", name="reader", role="read-only", team=None,
                       server_secret=SECRET, actor="test", now=T0).secret
    api = create_app(settings_for(store_url), clock=FixedClock(T0 + timedelta(days=4)))
    with running(api) as base, httpx.Client(base_url=base, headers={
            "Authorization": f"Bearer {token}"}) as c:
        body = c.get("/v1/accounts/acme.example").json()
    assert body["mqa"] == {
        "mqa": False, "tier": "1:1",
        "reason": "account score 98.8158 (line 120); no economic buyer engaged",
        "met": [], "unmet": ["account score 98.8158 (line 120)", "no economic buyer engaged"],
        "fast_track": None, "route": "team:abm", "due": None}
    assert body["stage"] == "mqa"


def test_the_account_report_replays_the_store_and_every_face_agrees(loaded: Engine,
                                                                    store_url: str) -> None:
    """At T0 the CIO's and the director's demo requests (40 points) and the account's
    surge (30, shared) make both MQLs (70 >= 45) and fast-track the 1:1 account: 2 MQLs
    and 1 MQA, one buying motion (the MQA is its hand-off), 2 second hand-offs avoided.
    A won opportunity created 10 days later is preceded by the MQA and the MQLs at the
    same instant: the MQA does not count as first."""
    import httpx

    from mql.api.app import create_app
    from mql.clock import FixedClock
    from mql.service import outcomes
    from mql.service.accounts import account_report, report_json
    from mql.service.keys import create_key
    from tests.api.conftest import SECRET, running, settings_for

    created, closed = T0 + timedelta(days=10), T0 + timedelta(days=20)
    outcomes.load_rows(loaded, "opportunities", [{
        "opportunity_id": "o1", "account": "acme.example", "amount": 1000,
        "created_at": created.isoformat(), "closed_at": closed.isoformat(),
        "status": "won"}], rules=IdentityRules(), now=closed, source="test")
    at = T0 + timedelta(days=30)
    view = account_report(loaded, at=at)
    assert view.qualifications == {"mql": 2, "mqa": 1, "pql": 0}
    assert view.motions == 1 and view.handoffs_saved == 2
    assert view.months == {"2026-03": {"mql": 2, "mqa": 1, "pql": 0}}
    (tier,) = view.tiers
    assert (tier.tier, tier.accounts, tier.mqas, tier.mqa_accounts,
            tier.mqa_opportunities) == ("1:1", 1, 1, 1, 1)
    t = view.timing
    assert (t.won, t.with_mqa, t.with_mql, t.mqa_first, t.same_time) == (1, 1, 1, 0, 1)
    assert t.mqa_lead_days == 10.0 and t.mqa_over_mql_days == 0.0
    # before the deal closed it was not won: no won account to time
    assert account_report(loaded, at=created + timedelta(days=1)).timing.won == 0

    runner = CliRunner()
    shown = runner.invoke(app, ["accounts", "report", "--db", store_url,
                                "--at", at.isoformat()])
    assert shown.exit_code == 0, shown.output
    assert "2 MQLs, 1 MQAs, 0 PQLs made 1 buying motions" in shown.output
    assert "the MQA came first for 0, at the same event for 1" in shown.output
    as_json = runner.invoke(app, ["accounts", "report", "--db", store_url,
                                  "--at", at.isoformat(), "--json"])
    assert json.loads(as_json.output) == report_json(view)

    token = create_key(loaded, kind="token", name="reader", role="read-only", team=None,
                       server_secret=SECRET, actor="test", now=T0).secret
    api = create_app(settings_for(store_url), clock=FixedClock(at))
    with running(api) as base, httpx.Client(base_url=base, headers={
            "Authorization": f"Bearer {token}"}) as c:
        body = c.get("/v1/reports/accounts").json()
    assert body == json.loads(json.dumps(report_json(view)))



def test_mql_report_accounts_lays_out_the_same_numbers(loaded: Engine, store_url: str) -> None:
    """`mql report accounts` is the account report as a report table: by ABM tier the one
    1:1 account (1 MQA, reached MQA, an opportunity within 90 days: 100%), by month the 2
    MQLs and 1 MQA of March 2026, by path the one motion; CSV carries the same values and
    --format json is the API's answer (`report_json`), not a second computation."""
    import csv
    import io

    from mql.service import outcomes
    from mql.service.accounts import account_report, report_json

    created, closed = T0 + timedelta(days=10), T0 + timedelta(days=20)
    outcomes.load_rows(loaded, "opportunities", [{
        "opportunity_id": "o1", "account": "acme.example", "amount": 1000,
        "created_at": created.isoformat(), "closed_at": closed.isoformat(),
        "status": "won"}], rules=IdentityRules(), now=closed, source="test")
    at = (T0 + timedelta(days=30)).isoformat()
    runner = CliRunner()

    def run(*extra: str) -> str:
        done = runner.invoke(app, ["report", "accounts", "--db", store_url, "--at", at,
                                   *extra])
        assert done.exit_code == 0, done.output
        return done.output

    by_tier = list(csv.DictReader(io.StringIO(run("--format", "csv"))))
    assert [(r["tier"], r["accounts"], r["mqas"], r["mqa_accounts"], r["mqa_opportunities"],
             r["mqa_to_opportunity"], r["won"], r["mqa_first"]) for r in by_tier] == [
        ("1:1", "1", "1", "1", "1", "1.0", "1", "0"),
        ("total", "1", "1", "1", "1", "1.0", "1", "0")]
    by_month = list(csv.DictReader(io.StringIO(run("--by", "month", "--format", "csv"))))
    assert [(r["month"], r["mqls"], r["mqas"], r["pqls"]) for r in by_month] == [
        ("2026-03", "2", "1", "0"), ("total", "2", "1", "0")]
    table = run()
    assert "1:1" in table and "100.0%" in table
    assert "2 MQLs, 1 MQAs and 0 PQLs made 1 buying motions" in " ".join(table.split())
    view = account_report(loaded, at=T0 + timedelta(days=30))
    assert json.loads(run("--format", "json")) == json.loads(json.dumps(report_json(view)))
    wrong = runner.invoke(app, ["report", "accounts", "--db", store_url, "--by", "owner"])
    assert wrong.exit_code == 2 and "tier, month, path, total" in wrong.output
    assert "Traceback" not in wrong.output


ROUTING = """\
routing:
  teams:
    abm:
      time_zone: UTC
      members: [{name: abm.rep}]
    inbound:
      time_zone: UTC
      members: [{name: sdr.one}, {name: sdr.two}]
  rules: []
  fallback: inbound
"""


def _routed(store: Engine, tmp_path: Path, mqa: str) -> None:
    """The store under the accounts model with ROUTING and `mqa`, acme.example and its
    people loaded, then the events of T0 in one batch."""
    model = tmp_path / "acct.yaml"
    model.write_text(MODEL.replace("accounts:\n", ROUTING + "accounts:\n", 1) + mqa)
    activate_model(store, model, now=T0)
    rules = IdentityRules()
    ingest_records(store, "accounts", [ACME], rules=rules, now=T0, source="test")
    ingest_records(store, "contacts", people(), rules=rules, now=T0, source="test")
    ingest_records(store, "events", events(), rules=rules, now=T0, source="test")


def _assignments(store: Engine) -> list[dict[str, object]]:
    import sqlalchemy as sa

    from mql.store.tables import assignments, contacts
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(contacts.c.email, assignments.c.team, assignments.c.owner,
                      assignments.c.rule, assignments.c.reason, assignments.c.sla,
                      assignments.c.status)
            .join(contacts, contacts.c.id == assignments.c.contact_id)
            .order_by(assignments.c.id))]


def test_an_mql_inside_an_open_mqa_is_attached_to_its_recipient(store: Engine,
                                                                tmp_path: Path) -> None:
    """`handoff: account`: once the account is handed off as an MQA (to team:abm, its 1:1
    rule's route), a contact that becomes an MQL inside the open motion is given to the
    same team, with no routing rule, round-robin turn or SLA of its own; once the motion
    is closed (60 quiet days), a new MQL's demo request opens a new motion: the MQA it
    makes comes first, and the MQL is attached to that one."""
    from mql.store import account_stages
    _routed(store, tmp_path, MQA)
    rules = IdentityRules()

    def demo(i: str, days: float, who: str) -> None:
        at = T0 + timedelta(days=days)
        ingest_records(store, "events", [Event(i, "demo_request", at, contact=who),
                                         Event(f"{i}-page", "page_view", at, contact=who)],
                       rules=rules, now=at, source="test")

    demo("cfo-demo", 2, "cfo@acme.example")  # the CFO: 40 + 5 + the surge's 30 decayed
    demo("dev-demo", 80, "dev@acme.example")  # 80 days on (the motion closed): 45

    rows = {r["email"]: r for r in _assignments(store)}
    cfo, dev = rows["cfo@acme.example"], rows["dev@acme.example"]
    assert (cfo["team"], cfo["owner"], cfo["rule"]) == ("abm", None, "account_mqa")
    assert cfo["reason"] == ("attached to the MQA of acme.example handed off "
                             f"{T0.isoformat()}")
    assert cfo["sla"] is None
    assert (dev["team"], dev["rule"], dev["reason"]) == (
        "abm", "account_mqa", "attached to the MQA of acme.example handed off "
        f"{(T0 + timedelta(days=80)).isoformat()}")
    with store.connect() as conn:  # the first motion and the one the dev's demo opened
        assert [at for at, _ in account_stages.mqas_of(conn, "acme.example")] == [
            T0, T0 + timedelta(days=80)]


def test_every_account_move_is_stored_and_the_past_stays(store: Engine,
                                                         tmp_path: Path) -> None:
    """A model with an `accounts:` section and no `mqa:`: ingestion stores the moves to
    aware and engaged when it sees them (T0: the CIO's and the director's demo requests
    engage them), so the lifecycle asked about any later moment says "engaged since T0"
    (it used to say "since the moment asked", from the facts alone), and a later lost
    opportunity goes back to engaged without changing the answer about before it."""
    from mql.service import outcomes
    from mql.store import account_stages

    model = tmp_path / "acct.yaml"
    model.write_text(MODEL)
    activate_model(store, model, now=T0)
    rules = IdentityRules()
    ingest_records(store, "accounts", [ACME], rules=rules, now=T0, source="test")
    ingest_records(store, "contacts", people(), rules=rules, now=T0, source="test")
    ingest_records(store, "events", events(), rules=rules, now=T0, source="test")
    with store.connect() as conn:
        stored = account_stages.stored_moves(conn, "acme.example")
    assert [(at, stage) for at, stage, _ in stored] == [(T0, "aware"), (T0, "engaged")]
    assert stored[1][2].startswith("no economic buyer engaged")
    for days in (4, 40):
        history = show_account_mqa(store, "acme.example", at=T0 + timedelta(days=days)
                                   ).history
        # (an MQA now, under the shipped definition, is a decision at the moment asked,
        # after the stored moves)
        assert [(m.stage, m.at) for m in history.moves[:2]] == [("aware", T0),
                                                                ("engaged", T0)]
    opened, closed = T0 + timedelta(days=10), T0 + timedelta(days=20)
    outcomes.load_rows(store, "opportunities", [{
        "opportunity_id": "o1", "account": "acme.example", "amount": 1000,
        "created_at": opened.isoformat(), "closed_at": closed.isoformat(),
        "status": "lost"}], rules=rules, now=closed, source="test")
    later = show_account_mqa(store, "acme.example", at=T0 + timedelta(days=30)).history
    assert [m.stage for m in later.moves][:4] == ["aware", "engaged", "opportunity",
                                                  "engaged"]
    assert later.stage_at(T0 + timedelta(days=4)) == "engaged"
    assert later.stage_at(opened) == "opportunity"
    # events the day after add no second move: each move is stored once
    ingest_records(store, "events", [Event("p-late", "page_view", T0 + timedelta(days=1),
                                           contact="cio@acme.example")],
                   rules=rules, now=T0 + timedelta(days=1), source="test")
    with store.connect() as conn:
        assert len(account_stages.stored_moves(conn, "acme.example")) == 2


# Spec (docs/accounts.md, one hand-off per buying motion; at the same instant an MQA comes
# before an MQL): with `handoff: account`, the contacts that become MQLs in the same
# ingestion batch as their account's first MQA are attached to the MQA, as later ones
# are: one hand-off for the account, not one per contact and one for the account.
@pytest.mark.parametrize("fast_track", [True, False])
def test_mqls_of_the_batch_that_makes_the_mqa_are_attached_to_it(
        store: Engine, tmp_path: Path, fast_track: bool) -> None:
    from mql.store import account_stages

    # one batch: the director's and the CIO's demo requests (40 + the surge's 30 each:
    # both MQLs) fast-track acme.example, a 1:1 account, as an MQA to team abm
    _routed(store, tmp_path,
            MQA if fast_track else MQA.replace("        fast_track: [demo_request]\n", ""))
    rows = _assignments(store)
    with store.connect() as conn:
        mqas = account_stages.mqas_of(conn, "acme.example")
        handed = account_stages.open_mqa(conn, "acme.example", T0, T0 - timedelta(days=1))
    found = sorted((r["email"], r["team"], r["owner"], r["rule"], r["reason"], r["sla"],
                    r["status"]) for r in rows)
    if not fast_track:  # 124 >= 120 but no economic buyer engaged: no MQA, routed as usual
        assert mqas == []
        owner = ("rep@vendor.example", "account_owner", "the account already has an owner")
        assert [f[0] for f in found] == ["champ@acme.example", "cio@acme.example"]
        assert all(f[2:5] == owner for f in found)
        return
    assert [t for t, _ in mqas] == [T0]
    assert handed is not None and handed[1]["mqls"] == ["champ@acme.example",
                                                       "cio@acme.example"]
    attached = f"attached to the MQA of acme.example handed off {T0.isoformat()}"
    assert found == [
        ("champ@acme.example", "abm", None, "account_mqa", attached, None, "open"),
        ("cio@acme.example", "abm", None, "account_mqa", attached, None, "open")]
