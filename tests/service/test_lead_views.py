"""Every view of a lead agrees, and the past does not change (SQLite and PostgreSQL).

`mql scores --at`, the stored scores, the list and lead APIs, `explain`, the day-by-day
history and the batch engine answer from one place (`service.scores.Ledgers`): after a
rejection under `requalify: fresh_intent` none of them counts the intent from before it,
and a question about an earlier time gets the answer it got then.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from mql.api.app import create_app
from mql.batch.asof import AsOf
from mql.errors import TransitionRefused
from mql.identity.merge import IdentityRules
from mql.records import Account, Contact, Event
from mql.service import lifecycle
from mql.service.api_reads import lead_score_history, read_lead
from mql.service.ingest import ingest_records
from mql.service.keys import create_key
from mql.service.rescore import rescore_store
from mql.service.scores import explain_contact, list_scores
from mql.service.store import activate_model, find_contact
from mql.settings import Settings
from mql.store import tables

NOW = datetime(2026, 3, 3, 15, tzinfo=UTC)  # a Tuesday, 10:00 in New York
RULES = IdentityRules()
SECRET = "test-secret-not-the-example"
JANE = Contact("jane@acme.example", "acme.example",
               {"title": "VP Marketing", "department": "marketing", "country": "US"})
ACME = Account("acme.example", {"employees": 3000, "industry": "software", "country": "US",
                                "region": "NA"})
SAM = Contact("sam@mid.example", "mid.example", {"title": "Analyst", "country": "US"})
MID = Account("mid.example", {"employees": 200, "industry": "retail", "country": "US"})


class Clock:
    """The API's clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def _ingest(store: Engine, kind: str, records: list, now: datetime) -> None:
    ingest_records(store, kind, records, rules=RULES, now=now, source="test")


def _load(store: Engine, *events: Event, now: datetime = NOW) -> None:
    _ingest(store, "accounts", [ACME, MID], now)
    _ingest(store, "contacts", [JANE, SAM], now)
    if events:
        _ingest(store, "events", list(events), now)


def _demo(at: datetime, who: str = JANE.email) -> Event:
    return Event(f"demo-{who}-{at.isoformat()}", "demo_request", at, contact=who)


def _scores_at(store: Engine, at: datetime) -> dict[str, tuple[bool, float]]:
    return {d.contact: (d.mql, d.intent) for d in list_scores(store, at=at)}


def _stored(store: Engine, email: str) -> dict:
    view = find_contact(store, email, rules=RULES)
    assert view.scores is not None
    return view.scores


def _batch(store: Engine, at: datetime, tmp_path: Path) -> dict[str, bool]:
    out = tmp_path / f"rescore-{at:%Y%m%d%H%M%S}.parquet"
    rescore_store(str(store.url.render_as_string(hide_password=False)), out=out,
                  as_of=AsOf.at(at))
    return {r["contact"]: bool(r["mql"]) for r in pq.read_table(out).to_pylist()}


class Api:
    """The real application, in process (reads only: its writer is not started)."""

    def __init__(self, store: Engine, clock: Clock) -> None:
        url = store.url.render_as_string(hide_password=False)
        self.token = create_key(store, kind="token", name="reader", role="read-only",
                                team=None, server_secret=SECRET, actor="test", now=NOW).secret
        settings = Settings(database_url=url, secret_key=SECRET, api_key_cache_seconds=0.0,
                            api_apply_delay_seconds=0.0)
        self.app = create_app(settings, clock=clock)

    def get(self, path: str, **params: Any) -> Any:
        async def call() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                         base_url="http://mql.test") as client:
                return await client.get(path, params=params,
                                        headers={"Authorization": f"Bearer {self.token}"})

        answer = asyncio.run(call())
        assert answer.status_code == 200, answer.text
        return answer.json()

    def close(self) -> None:
        self.app.state.mql.engine.dispose()


def test_after_a_rejection_every_view_says_not_mql(store: Engine, tmp_path: Path) -> None:
    _load(store, _demo(NOW))
    assert lifecycle.history(store, JANE.email)[-1].target == "mql"
    lifecycle.reject(store, JANE.email, reason="bad_timing", actor="dana",
                     now=NOW + timedelta(hours=2))
    later = NOW + timedelta(hours=3)
    clock = Clock(later)
    api = Api(store, clock)
    try:
        _every_view_says_not_mql(store, api, later, tmp_path)
    finally:
        api.close()


def _every_view_says_not_mql(store: Engine, api: Api, later: datetime, tmp_path: Path) -> None:
    # every face: scores --at, stored scores, list API, lead API, explain, history, batch
    assert _scores_at(store, later)[JANE.email] == (False, 0.0)
    assert _stored(store, JANE.email)["mql"] is False
    listed = api.get("/v1/leads", limit=10)["items"]
    assert {i["contact"]: i["mql"] for i in listed}[JANE.email] is False
    lead = api.get(f"/v1/leads/{JANE.email}")
    assert (lead["stage"], lead["decision"]["mql"], lead["decision"]["scores"]["intent"]) == (
        "recycled", False, 0.0)
    assert read_lead(store, JANE.email, at=later, rules=RULES).explanation.decision.mql is False
    explained = explain_contact(store, JANE.email, at=later, rules=RULES)
    assert (explained.decision.mql, explained.decision.intent) == (False, 0.0)
    assert lead_score_history(store, JANE.email, at=later, days=2, rules=RULES)[-1].mql is False
    assert _batch(store, later, tmp_path)[JANE.email] is False
    # and before the rejection she was an MQL, in every view that answers about the past
    before = NOW + timedelta(hours=1)
    assert _scores_at(store, before)[JANE.email][0] is True
    assert explain_contact(store, JANE.email, at=before, rules=RULES).decision.mql is True
    assert _batch(store, before, tmp_path)[JANE.email] is True


def test_an_answer_about_the_past_survives_rejections_and_the_worker(store: Engine) -> None:
    # Jane qualifies by a demo request, Sam by criteria (3 page views, US mid-market);
    # three different pages earn him broad research's 10 intent points
    views = [Event(f"v{i}", "page_view", NOW + timedelta(hours=i), contact=SAM.email,
                   properties={"url": f"/blog/{i}"}) for i in range(3)]
    _load(store, _demo(NOW), *views)
    asked = NOW + timedelta(hours=4)
    then = _scores_at(store, asked)
    assert then[JANE.email][0] is True and then[JANE.email][1] > 30
    assert then[SAM.email] == (True, 10.0)
    lifecycle.reject(store, JANE.email, reason="bad_timing", actor="dana",
                     now=NOW + timedelta(hours=5))
    # Sam is not accepted in 14 days: the worker recycles him (fresh intent from then on)
    assert lifecycle.run_due(store, now=NOW + timedelta(days=40)) == 1
    assert lifecycle.history(store, SAM.email)[-1].target == "recycled"
    _ingest(store, "events", [Event("late-view", "page_view", NOW + timedelta(days=41),
                                    contact=SAM.email, properties={"url": "/pricing"})],
            NOW + timedelta(days=41))
    assert _scores_at(store, asked) == then  # a rejected MQL does not vanish from the past
    assert _scores_at(store, NOW + timedelta(days=41))[SAM.email] == (False, 10.0)


def test_a_late_worker_changes_no_answer_about_the_time_it_missed(store: Engine) -> None:
    views = [Event(f"v{i}", "page_view", NOW + timedelta(hours=i), contact=SAM.email,
                   properties={"url": "/blog"}) for i in range(3)]
    _load(store, *views)
    timeout = NOW + timedelta(hours=2, days=14)  # qualified at the third view
    missed = timeout + timedelta(days=1)
    asked = _scores_at(store, missed)
    assert asked[SAM.email] == (False, 0.0)  # recycled at the timeout: only fresh intent
    assert lifecycle.run_due(store, now=missed + timedelta(days=1)) == 1
    (move,) = [h for h in lifecycle.history(store, SAM.email) if h.target == "recycled"]
    assert move.at == timeout
    assert _scores_at(store, missed) == asked


def test_an_event_after_a_missed_timeout_is_decided_after_the_recycle(store: Engine) -> None:
    views = [Event(f"v{i}", "page_view", NOW + timedelta(hours=i), contact=SAM.email,
                   properties={"url": "/blog"}) for i in range(3)]
    _load(store, *views)
    timeout = NOW + timedelta(hours=2, days=14)
    later = timeout + timedelta(days=2)
    _ingest(store, "events", [Event("v9", "page_view", later, contact=SAM.email,
                                    properties={"url": "/blog"})], later)
    moves = [(h.source, h.target, h.at) for h in lifecycle.history(store, SAM.email)]
    # the worker never ran: the recycle is still stamped at its due moment, before the event
    assert moves[-1] == ("mql", "recycled", timeout)


def _variant(tmp_path: Path, name: str, **replace: str) -> Path:
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_activating_an_equivalent_model_changes_nothing(store: Engine, tmp_path: Path) -> None:
    views = [Event(f"v{i}", "page_view", NOW + timedelta(hours=i), contact=SAM.email,
                   properties={"url": "/blog"}) for i in range(3)]
    _load(store, _demo(NOW), *views)
    lifecycle.reject(store, JANE.email, reason="bad_timing", actor="dana",
                     now=NOW + timedelta(hours=5))
    with store.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(
            tables.lifecycle_history)).scalar_one()
    relabelled = _variant(tmp_path, "m.yaml", **{'version: "2026.11.1"': 'version: "2026.12"'})
    dry = activate_model(store, relabelled, now=NOW + timedelta(hours=6), dry_run=True)
    assert (dry.transitions, dry.newly_qualified, dry.no_longer_qualified) == (0, [], [])
    done = activate_model(store, relabelled, now=NOW + timedelta(hours=6))
    assert (done.transitions, done.newly_qualified, done.no_longer_qualified) == (0, [], [])
    with store.connect() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(
            tables.lifecycle_history)).scalar_one()
    assert after == before
    assert lifecycle.history(store, JANE.email)[-1].target == "recycled"
    assert lifecycle.history(store, SAM.email)[-1].target == "mql"
    assert _stored(store, SAM.email)["mql"] is True  # the new version has its scores


def test_a_real_model_change_does_not_requalify_a_rejected_lead(store: Engine,
                                                                 tmp_path: Path) -> None:
    _load(store, _demo(NOW))
    lifecycle.reject(store, JANE.email, reason="bad_timing", actor="dana",
                     now=NOW + timedelta(hours=2))
    looser = _variant(tmp_path, "looser.yaml", **{"- {fit: 50, intent: 30}":
                                                  "- {fit: 50, intent: 20}"})
    dry = activate_model(store, looser, now=NOW + timedelta(hours=3), dry_run=True)
    assert JANE.email not in dry.newly_qualified
    done = activate_model(store, looser, now=NOW + timedelta(hours=3))
    assert JANE.email not in done.newly_qualified
    assert lifecycle.history(store, JANE.email)[-1].target == "recycled"
    assert _stored(store, JANE.email)["intent"] == 0.0


def test_a_merge_after_a_rejection_brings_no_old_points_back(store: Engine,
                                                            tmp_path: Path) -> None:
    from mql.service.ingest import ingest_file

    people = tmp_path / "c.csv"
    people.write_text("email,salesforce_id\njane@acme.example,003A\njd@personal.example,\n")
    _ingest(store, "accounts", [ACME], NOW)
    ingest_file(store, people, "contacts", rules=RULES, now=NOW)
    _ingest(store, "events", [_demo(NOW)], NOW)
    lifecycle.reject(store, JANE.email, reason="bad_timing", actor="dana",
                     now=NOW + timedelta(hours=2))
    link = tmp_path / "link.csv"
    link.write_text("email,salesforce_id\njd@personal.example,003A\n")
    assert ingest_file(store, link, "contacts", rules=RULES, now=NOW + timedelta(hours=3)
                       ).merges == 1
    assert lifecycle.history(store, JANE.email)[-1].target == "recycled"
    assert _stored(store, "jd@personal.example")["intent"] == 0.0


# -- one property over random histories -------------------------------------------------------

KINDS = [("demo_request", {}), ("page_view", {"url": "/blog"}),
         ("page_view", {"url": "/pricing"}), ("webinar_attended", {}),
         ("email_unsubscribe", {}), ("intent_surge", {"strength": 90})]
people = st.sampled_from([JANE.email, SAM.email])
steps = st.lists(st.tuples(
    st.one_of(st.tuples(st.just("event"), people, st.integers(0, len(KINDS) - 1)),
              st.tuples(st.just("reject"), people, st.just(0)),
              st.tuples(st.just("accept"), people, st.just(0)),
              st.tuples(st.just("worker"), st.just(""), st.just(0))),
    # hours: within a day, days, and longer than the 14-day acceptance timeout
    st.sampled_from([1, 5, 24, 24 * 4, 24 * 15, 24 * 40])), min_size=1, max_size=6)


def _fresh_store(folder: Path) -> Engine:
    from mql.store.db import connect
    from mql.store.migrate import upgrade
    from mql.store.models import activate, save_version

    engine = connect(f"sqlite:///{folder / 'store.db'}")
    upgrade(engine)
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    with engine.begin() as conn:
        activate(conn, save_version(conn, "b2b_saas", "1", text, source="b2b-saas.yaml",
                                    now=NOW), now=NOW)
    return engine


def _close(a: dict[str, tuple[bool, float]], b: dict[str, tuple[bool, float]]) -> bool:
    return a.keys() == b.keys() and all(
        a[k][0] == b[k][0] and abs(a[k][1] - b[k][1]) <= 1e-6 for k in a)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_every_view_agrees_and_no_past_answer_ever_changes(drawn) -> None:
    with tempfile.TemporaryDirectory(prefix="mql-views-") as scratch, \
            contextlib.ExitStack() as closing:
        folder = Path(scratch)
        store = _fresh_store(folder)
        closing.callback(store.dispose)
        _load(store)
        clock = Clock(NOW)
        api = Api(store, clock)
        closing.callback(api.close)
        now, asked = NOW, {}
        for n, ((action, who, kind), gap) in enumerate(drawn):
            now += timedelta(hours=gap)
            clock.at = now
            if action == "event":
                name, props = KINDS[kind]
                # a surge is the account's (third-party data), not the person's
                person, company = ((None, who.split("@")[1]) if name == "intent_surge"
                                   else (who, None))
                _ingest(store, "events", [Event(f"e{n}", name, now, contact=person,
                                                account=company, properties=props)], now)
            elif action == "worker":
                lifecycle.run_due(store, now=now)
            else:
                act = lifecycle.reject if action == "reject" else lifecycle.accept
                extra = {"reason": "bad_timing"} if action == "reject" else {}
                with contextlib.suppress(TransitionRefused):
                    act(store, who, actor="dana", now=now, **extra)
            # 1. the past: every earlier answer is given again, unchanged
            for t, answer in asked.items():
                assert _close(_scores_at(store, t), answer), (n, action, t)
            # 2. now, and the moment half-way back, in every view
            for t in (now - timedelta(hours=gap / 2), now):
                asked[t] = _scores_at(store, t)
                for email in (JANE.email, SAM.email):
                    d = explain_contact(store, email, at=t, rules=RULES).decision
                    assert (d.mql, d.intent) == pytest.approx(asked[t][email]), (n, t)
            listed = {i["contact"]: (i["mql"], i["scores"]["intent"])
                      for i in api.get("/v1/leads", limit=10)["items"]}
            assert _close(listed, asked[now])
            for email in (JANE.email, SAM.email):
                lead = api.get(f"/v1/leads/{email}")["decision"]
                assert (lead["mql"], lead["scores"]["intent"]) == pytest.approx(
                    asked[now][email])
                stored = _stored(store, email)
                if stored.get("scored_at") is not None:
                    assert stored["mql"] == _scores_at(store, stored["scored_at"])[email][0]
                for d in lead_score_history(store, email, at=now, days=3, rules=RULES):
                    assert (d.mql, d.intent) == pytest.approx(
                        _scores_at(store, d.as_of)[email])
        # 3. the batch engine, now and at the first moment asked about
        for t in (now, min(asked)):
            batch = _batch(store, t, folder)
            assert batch == {e: v[0] for e, v in _scores_at(store, t).items()}


# Spec: an account's read lists its own live contacts' decisions at the moment asked,
# MQLs first, exactly as the list of every lead decides them; a later event does not
# change the answer about an earlier moment.
def test_an_account_read_decides_its_contacts_as_the_lead_list_does(store: Engine) -> None:
    from mql.service.api_reads import read_account

    bo = Contact("bo@acme.example", "acme.example", {"title": "Analyst", "country": "US"})
    views = [Event(f"v{i}", "page_view", NOW + timedelta(hours=i), contact=bo.email,
                   properties={"url": f"/docs/{i}"}) for i in range(2)]
    _load(store, _demo(NOW), *views)
    _ingest(store, "contacts", [bo], NOW)
    _ingest(store, "events", views, NOW + timedelta(hours=2))
    asked = NOW + timedelta(days=3)
    before = read_account(store, "acme.example", at=asked)
    everyone = list_scores(store, at=asked)
    assert [d.contact for d in before.contacts] == [JANE.email, bo.email]  # the MQL first
    assert before.contacts == [d for d in everyone if d.contact in (JANE.email, bo.email)]
    assert read_account(store, "mid.example", at=asked).contacts == [
        d for d in everyone if d.contact == SAM.email]
    _ingest(store, "events", [_demo(asked + timedelta(days=1), bo.email)],
            asked + timedelta(days=1))
    assert read_account(store, "acme.example", at=asked) == before


def test_a_due_move_is_stamped_when_due_even_after_the_account_engaged(store: Engine) -> None:
    _load(store, _demo(NOW))
    timeout = NOW + timedelta(days=14)  # not accepted within 14 days: recycled then
    between = timeout + timedelta(hours=12)
    asked = _scores_at(store, between)
    assert asked[JANE.email] == (False, 0.0)
    # a third-party surge on Acme (no person) arrives after the timeout, before the worker
    surge = Event("s1", "intent_surge", timeout + timedelta(days=1), account="acme.example",
                  properties={"strength": 90})
    _ingest(store, "events", [surge], timeout + timedelta(days=1))
    assert lifecycle.run_due(store, now=timeout + timedelta(days=2)) == 1
    last = lifecycle.history(store, JANE.email)[-1]
    assert (last.source, last.target, last.cause, last.at) == ("mql", "recycled", "timeout",
                                                               timeout)
    assert _scores_at(store, between) == asked
