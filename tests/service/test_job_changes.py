"""Exit on a changed job read from the contact's attributes (issue 13): when a known
contact's title or company changes (a contacts file read again, identify traits), the
change is recorded as a `job_change` event at that moment, the exit rule on it fires with
a reason a seller reads, the lifecycle history keeps it, the batch engine sees it, and
every answer about a time before the change is the one given before (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.batch.asof import AsOf
from mql.identity.merge import IdentityRules
from mql.records import Contact, Event
from mql.service import lifecycle
from mql.service.ingest import ingest_file, ingest_messages, ingest_records
from mql.service.rescore import rescore_store
from mql.service.scores import explain_contact, list_scores
from mql.service.store import activate_model
from mql.store.tables import events

RULES = IdentityRules()
T1 = datetime(2026, 4, 20, 9, tzinfo=UTC)  # the demo request
T2 = datetime(2026, 5, 3, 9, tzinfo=UTC)  # the contacts file read again: a new title
MODEL = """\
name: jobs
event_types: [job_change]
fit:
  rules:
    - {name: senior, when: {field: contact.title, op: matches, value: '\\bdirector\\b'},
       points: 20}
intent:
  decay: none
  rules:
    - {name: demo, event: demo_request, points: 40}
mql:
  thresholds: {total: 50}
exit:
  when:
    - name: changed_job
      reason: changed job
      when: {activity: job_change, within_days: 90}
"""


def _setup(store: Engine, tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(MODEL)
    activate_model(store, path, now=T1 - timedelta(days=1))
    ingest_records(store, "contacts", [Contact("jane@acme.example", None, {
        "title": "Director of IT", "company": "Acme"})], rules=RULES, now=T1, source="crm")
    ingest_records(store, "events", [Event("d1", "demo_request", T1,
                                           contact="jane@acme.example")],
                   rules=RULES, now=T1, source="web")


def _contacts_file(tmp_path: Path, title: str, company: str = "Acme") -> Path:
    path = tmp_path / f"contacts-{title.replace(' ', '-')}.csv"
    path.write_text(f"email,title,company\njane@acme.example,{title},{company}\n")
    return path


def _job_changes(store: Engine) -> list[dict[str, object]]:
    with store.connect() as conn:
        return [dict(r.properties) for r in conn.execute(
            sa.select(events.c.properties).where(events.c.type == "job_change"))]


def test_a_new_title_ends_the_mql_with_the_change_as_its_reason(store: Engine,
                                                                tmp_path: Path) -> None:
    _setup(store, tmp_path)
    # fit 20 (director) + intent 40 = 60 >= 50: an MQL
    assert [(h.source, h.target) for h in lifecycle.history(store, "jane@acme.example")] == [
        ("captured", "mql")]
    ingest_file(store, _contacts_file(tmp_path, "Student"), "contacts", rules=RULES, now=T2)
    last = lifecycle.history(store, "jane@acme.example")[-1]
    assert (last.source, last.target, last.at, last.cause) == ("mql", "nurture", T2,
                                                               "exit_condition")
    assert last.reason == "changed job: title Director of IT -> Student, since 2026-05-03"
    assert _job_changes(store) == [{"field": "title", "from": "Director of IT",
                                    "to": "Student",
                                    "change": "title Director of IT -> Student"}]
    # reading the same file again records nothing more
    ingest_file(store, _contacts_file(tmp_path, "Student"), "contacts", rules=RULES,
                now=T2 + timedelta(hours=1))
    assert len(_job_changes(store)) == 1
    # explain names the rule and its reason
    x = explain_contact(store, "jane@acme.example", at=T2 + timedelta(hours=1), rules=RULES)
    assert ("never qualifies while exit rule changed_job holds (changed job: title "
            "Director of IT -> Student, since 2026-05-03)") in x.changes


def test_the_past_does_not_change(store: Engine, tmp_path: Path) -> None:
    _setup(store, tmp_path)
    before = T2 - timedelta(seconds=1)
    [then] = list_scores(store, at=before)
    assert (then.mql, then.scores["fit"], then.exits) == (True, 20.0, ())
    ingest_file(store, _contacts_file(tmp_path, "Student"), "contacts", rules=RULES, now=T2)
    [again] = list_scores(store, at=before)
    assert (again.mql, again.scores["fit"], again.exits) == (True, 20.0, ())
    [now] = list_scores(store, at=T2)
    assert (now.mql, now.scores["fit"], now.exits) == (False, 0.0, ("changed_job",))
    # 90 days later the exit window is over; the student title earns no fit: 0 + 40 < 50
    [later] = list_scores(store, at=T2 + timedelta(days=90))
    assert (later.mql, later.exits) == (False, ())
    # explain at the earlier time reads the title of then
    x = explain_contact(store, "jane@acme.example", at=before, rules=RULES)
    assert x.decision.mql and x.decision.scores["fit"] == 20.0


def test_the_batch_engine_sees_the_change(store: Engine, tmp_path: Path) -> None:
    _setup(store, tmp_path)
    ingest_file(store, _contacts_file(tmp_path, "Director of IT", "Globex"), "contacts",
                rules=RULES, now=T2)
    url = store.url.render_as_string(hide_password=False)
    verdicts = {}
    for at in (T2 - timedelta(seconds=1), T2):
        out = tmp_path / f"rescore-{at:%H%M%S}.parquet"
        rescore_store(url, out=out, as_of=AsOf.at(at))
        [row] = pq.read_table(out).to_pylist()
        verdicts[at] = (bool(row["mql"]), row["fit"])
    # the company changed (the title did not: fit stays 20); the exit holds from T2 on
    assert verdicts == {T2 - timedelta(seconds=1): (True, 20.0), T2: (False, 20.0)}
    assert [c["change"] for c in _job_changes(store)] == ["company Acme -> Globex"]


def test_identify_traits_change_the_job_and_a_first_title_does_not(store: Engine,
                                                                   tmp_path: Path) -> None:
    _setup(store, tmp_path)
    ingest_records(store, "contacts", [Contact("bo@acme.example", None, {"company": "Acme"})],
                   rules=RULES, now=T1, source="crm")
    ingest_messages(store, [
        {"type": "identify", "userId": "u1", "messageId": "m1", "timestamp": T2.isoformat(),
         "traits": {"email": "jane@acme.example", "title": "Student"}},
        {"type": "identify", "userId": "u2", "messageId": "m2", "timestamp": T2.isoformat(),
         "traits": {"email": "bo@acme.example", "title": "Director of IT"}}],
        rules=RULES, now=T2)
    # bo had no title before: filling it in is not a change of job
    assert [c["change"] for c in _job_changes(store)] == ["title Director of IT -> Student"]
    last = lifecycle.history(store, "jane@acme.example")[-1]
    assert (last.target, last.cause) == ("nurture", "exit_condition")
    assert last.reason == "changed job: title Director of IT -> Student, since 2026-05-03"
