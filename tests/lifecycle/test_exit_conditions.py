"""Exits on conditions (docs/model.md, "exit"): unsubscribed, bounced, changed job, marked
as competitor; an MQL leaves at once with the rule's reason, and cannot qualify while the
condition holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mql.errors import ModelError
from mql.lifecycle.rules import next_move
from mql.lifecycle.stages import Cause, Stage
from mql.model.parse import parse_model
from mql.scoring.explain import explain
from mql.scoring.scorer import score
from tests.conftest import T0, account, contact, event

MODEL = parse_model("""\
name: exits
event_types: [email_bounce, job_change]
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
intent:
  decay: {half_life_days: 30}
  rules:
    - {name: demo, event: demo_request, points: 40}
mql:
  thresholds: {total: 45}
exit:
  below: {intent: 10}
  when:
    - name: unsubscribed
      reason: unsubscribed from our emails
      when: {activity: email_unsubscribe, within_days: 365}
    - name: bounced
      reason: the email address bounces
      when: {activity: email_bounce, within_days: 365}
      to: disqualified
    - name: changed_job
      reason: changed job (new title or company)
      when: {activity: job_change, within_days: 90}
    - name: competitor
      reason: works for a competitor
      when: {field: account.status, op: eq, value: competitor}
""", source="exits.yaml")
JANE = contact("jane@acme.example", country="US")
DEMO = event("demo_request", 1, event_id="demo")


def _decide(*events: object, status: str | None = None) -> object:
    acme = account("acme.example", **({"status": status} if status else {}))
    (decision,) = score(MODEL, [JANE], [acme], list(events), at=T0)  # type: ignore[arg-type]
    return decision


def test_without_an_exit_condition_the_demo_qualifies() -> None:
    d = _decide(DEMO)
    # fit 10 + 40 * 2**(-1/30) = 49.1 >= 45
    assert d.mql and d.exits == ()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("kind", "rule", "target", "reason"), [
    ("email_unsubscribe", "unsubscribed", Stage.NURTURE, "unsubscribed from our emails"),
    ("email_bounce", "bounced", Stage.DISQUALIFIED, "the email address bounces"),
    ("job_change", "changed_job", Stage.NURTURE, "changed job (new title or company)"),
])
def test_an_mql_leaves_at_once_with_the_rules_reason(kind: str, rule: str, target: Stage,
                                                     reason: str) -> None:
    d = _decide(DEMO, event(kind, 0, event_id="x"))
    assert not d.mql and d.exits == (rule,) and d.reasons == ()  # type: ignore[attr-defined]
    # intent 49 is far above the exit line (10): only the condition moves the lead
    move = next_move(MODEL, Stage.MQL, T0 - timedelta(days=1), d)  # type: ignore[arg-type]
    assert move is not None
    assert (move.target, move.cause, move.reason) == (target, Cause.EXIT_CONDITION, reason)
    # and while it holds, the lead cannot come back
    assert next_move(MODEL, Stage.NURTURE, T0, d) is None  # type: ignore[arg-type]


def test_a_field_condition_exits_too_and_explain_says_why() -> None:
    d = _decide(DEMO, status="competitor")
    assert d.exits == ("competitor",) and d.because() == "exits: competitor"  # type: ignore[attr-defined]
    acme = account("acme.example", status="competitor")
    x = explain(MODEL, JANE, acme, [DEMO], at=T0)
    assert "never qualifies while exit rule competitor holds (works for a competitor)" in \
        x.changes


def test_a_windowed_exit_condition_ends_with_its_window() -> None:
    # the job change 91 days ago is out of the 90-day window: the demo qualifies again
    d = _decide(event("demo_request", 0, event_id="d2"), event("job_change", 91, event_id="j"))
    assert d.mql and d.exits == ()  # type: ignore[attr-defined]


def test_an_exit_rule_needs_a_reason_and_a_valid_condition() -> None:
    text = """\
name: bad
fit: {rules: []}
intent: {rules: []}
mql: {thresholds: {total: 1}}
exit:
  when:
    - {name: gone, reason: " ", when: {field: contact.statuss, op: eq, value: x}}
"""
    with pytest.raises(ModelError) as caught:
        parse_model(text, source="bad.yaml")
    message = str(caught.value)
    assert "bad.yaml:7:28 exit.when[0].reason: say why, in the words a seller reads" in message
    assert 'bad.yaml:7:47 exit.when[0].when.field: unknown contact field "statuss"' in message


def test_explain_names_the_job_change_behind_the_exit() -> None:
    # a job_change event recorded from the contact's attributes (mql.identity.jobs)
    # carries the change; explain words it as a seller reads it
    change = event("job_change", 2, event_id="j", field="title", change=(
        "title Director of IT -> Student"))
    x = explain(MODEL, JANE, account("acme.example"), [DEMO, change], at=T0)
    since = (T0 - timedelta(days=2)).date().isoformat()
    assert (f"never qualifies while exit rule changed_job holds (changed job (new title or "
            f"company): title Director of IT -> Student, since {since})") in x.changes
