"""Over randomised worlds and event orders (hypothesis), on SQLite and PostgreSQL: no
outbox row and no assignment is ever produced for a contact who withdrew everything or
is suppressed, whatever the events and the order they arrive in; the others are
handed off as before."""

from __future__ import annotations

import itertools
from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from mql.ingest.consent import ConsentRow
from mql.records import Event
from mql.service import consent as consent_service
from mql.service import lifecycle
from mql.service.ingest import ingest_records
from mql.store.tables import assignments, contacts, outbox
from tests.compliance.helpers import NOW, RULES, company, person, with_consent

_WORLD = itertools.count()
FATES = ("withdrawn", "suppressed", "granted", "nothing")
people = st.lists(st.tuples(st.sampled_from(("US", "DE", "CA", "GB")),
                            st.sampled_from(FATES)), min_size=2, max_size=4)
events = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(
    ("demo_request", "page_view", "trial_signup")), st.integers(0, 72)), min_size=1,
    max_size=10)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people, events, st.randoms(use_true_random=False), st.integers(1, 3))
def test_no_outbox_row_or_assignment_for_a_withdrawn_or_suppressed_contact(
        store: Engine, tmp_path_factory, crowd, happenings, rng, batches) -> None:
    world = next(_WORLD)
    if world == 0:
        with_consent(store, tmp_path_factory.mktemp("model"))
        lifecycle.add_webhook(store, "http://127.0.0.1:9/x", secret="s", topics=["*"],
                              now=NOW)
    domain = f"w{world}.example"
    ingest_records(store, "accounts", [company(domain)], rules=RULES, now=NOW, source="t")
    who = [person(f"p{i}@{domain}", country) for i, (country, _) in enumerate(crowd)]
    ingest_records(store, "contacts", who, rules=RULES, now=NOW, source="t")
    before = NOW - timedelta(days=1)
    blocked = set()
    for p, (_, fate) in zip(who, crowd, strict=True):
        if fate == "withdrawn":
            consent_service.record_consent(store, [ConsentRow(p.email, "all", "withdrawn",
                                                              "none", before)],
                                           rules=RULES, now=before, actor="t")
            blocked.add(p.email)
        elif fate == "suppressed":
            consent_service.suppress(store, "email", [p.email], now=before)
            blocked.add(p.email)
        elif fate == "granted":
            consent_service.record_consent(store, [
                ConsentRow(p.email, "email", "granted", "consent", before)],
                rules=RULES, now=before, actor="t")
    stream = [Event(f"{domain}-{n}", kind, NOW + timedelta(hours=h),
                    contact=who[i % len(who)].email)
              for n, (i, kind, h) in enumerate(happenings)]
    rng.shuffle(stream)  # any arrival order
    size = max(1, len(stream) // batches)
    for start in range(0, len(stream), size):
        part = stream[start:start + size]
        ingest_records(store, "events", part, rules=RULES,
                       now=max(e.at for e in part), source="t")
    lifecycle.run_due(store, now=NOW + timedelta(days=120))
    with store.connect() as conn:
        ids = {r.email: r.id for r in conn.execute(sa.select(contacts.c.email, contacts.c.id)
                                                   .where(contacts.c.email.like(f"%@{domain}")))}
        assigned = set(conn.execute(sa.select(assignments.c.contact_id)).scalars())
        rows = [str(p) for p in conn.execute(sa.select(outbox.c.payload)).scalars()]
    for email in blocked:
        assert ids[email] not in assigned, email
        assert not any(email in row for row in rows), email
