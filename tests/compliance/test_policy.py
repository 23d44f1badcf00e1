"""The pure rules: consent as of a time, the stricter consent across merged contacts,
CASL's implied consent lapsing at the computed moment, suppression, the jurisdiction
table and the `consent:` section's located errors. Expected values computed by hand."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.compliance import jurisdictions
from mql.compliance.consent import Record, add_months, changes_after, state_at
from mql.compliance.policy import Suppression, email_hash, evaluate
from mql.errors import ModelError
from mql.identity.merge import stricter_consent
from mql.model.consent import DEFAULT_POLICY
from mql.model.parse import parse_model
from tests.compliance.helpers import EXAMPLE

T = datetime(2025, 1, 31, 10, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def test_casl_implied_consent_lapses_six_months_after_the_inquiry_to_the_second() -> None:
    # an inquiry on 31 January 10:00: six calendar months later is 31 July 10:00
    records = [Record("email", "granted", T, "implied_inquiry")]
    ends = datetime(2025, 7, 31, 10, tzinfo=UTC)
    before = evaluate(DEFAULT_POLICY, records, country="CA", at=ends - SECOND)
    at = evaluate(DEFAULT_POLICY, records, country="CA", at=ends)
    assert before.jurisdiction == "casl" and before.may_contact["email"] is True
    assert before.next_change == ends  # scheduled exactly, as score decay is
    assert at.may_contact["email"] is False
    assert at.permissions[0].reason == ("implied_inquiry consent of 2025-01-31 lapsed on "
                                        "2025-07-31 (casl)")
    # voice calls are outside CASL: the phone stays permitted without a record
    assert at.may_contact["phone"] is True and not at.held


def test_an_implied_purchase_lapses_two_years_later_on_the_last_day_of_a_short_month() -> None:
    leap = datetime(2024, 2, 29, 9, tzinfo=UTC)
    assert add_months(leap, 24) == datetime(2026, 2, 28, 9, tzinfo=UTC)
    records = [Record("email", "granted", leap, "implied_purchase")]
    assert changes_after(records, leap, DEFAULT_POLICY.rule("casl").expiry) == datetime(
        2026, 2, 28, 9, tzinfo=UTC)
    # express consent does not lapse
    assert changes_after([Record("email", "granted", leap, "consent")], leap,
                         DEFAULT_POLICY.rule("casl").expiry) is None


def test_a_record_s_own_expiry_wins_when_sooner() -> None:
    own = T + timedelta(days=10)
    records = [Record("email", "granted", T, "implied_inquiry", expires_at=own)]
    assert state_at(records, "email", own - SECOND, {"implied_inquiry": 6}).status == "granted"
    assert state_at(records, "email", own, {"implied_inquiry": 6}).status == "expired"


def test_gdpr_needs_consent_for_email_and_accepts_legitimate_interest_for_calls() -> None:
    li = [Record("email", "granted", T, "legitimate_interest"),
          Record("phone", "granted", T, "legitimate_interest")]
    v = evaluate(DEFAULT_POLICY, li, country="FR", at=T)
    assert v.may_contact["email"] is False and v.may_contact["phone"] is True
    assert v.permissions[0].reason == ("email rests on legitimate_interest, which gdpr does "
                                       "not accept (needs consent)")
    uk = evaluate(DEFAULT_POLICY, li, country="GB", at=T)
    assert uk.jurisdiction == "uk" and uk.may_contact["email"] is True


def test_a_global_do_not_contact_beats_a_channel_grant_until_granted_again() -> None:
    records = [Record("email", "granted", T, "consent"),
               Record("all", "withdrawn", T + timedelta(days=1)),
               Record("email", "granted", T + timedelta(days=2), "consent")]
    # the later email grant does not lift the global withdrawal ...
    assert state_at(records, "email", T + timedelta(days=3)).status == "withdrawn"
    # ... a later global grant does
    records.append(Record("all", "granted", T + timedelta(days=4), "consent"))
    assert state_at(records, "email", T + timedelta(days=5)).status == "granted"


def test_an_email_suppression_is_lifted_by_consent_given_again_a_domain_never() -> None:
    email = "ann@acme.example"
    entries = [Suppression("email", email_hash(email), T, "erased")]
    kw = {"country": "US", "email": email, "domain": "acme.example"}
    assert evaluate(DEFAULT_POLICY, [], at=T, suppressions=entries, **kw).held
    regrant = [Record("email", "granted", T + SECOND, "consent")]
    assert not evaluate(DEFAULT_POLICY, regrant, at=T + SECOND, suppressions=entries,
                        **kw).held
    domain = [Suppression("domain", "acme.example", T, "competitor")]
    assert evaluate(DEFAULT_POLICY, regrant, at=T + SECOND, suppressions=domain, **kw).held


def test_the_jurisdiction_table() -> None:
    assert [jurisdictions.of(c) for c in ("DE", "no", "GB", "CA", "US", "JP", None)] == [
        "gdpr", "gdpr", "uk", "casl", "can_spam", "default", "default"]
    assert jurisdictions.of("CA", "QC", overrides={"CA-QC": "gdpr"}) == "gdpr"


def test_a_consent_section_mistake_names_its_line_and_column() -> None:
    text = (EXAMPLE + "\nconsent:\n  handoff_channels: [email, fax]\n"
            "  jurisdictions:\n    gdpr:\n      allow: {email: [gut_feeling]}\n")
    with pytest.raises(ModelError) as caught:
        parse_model(text, source="m.yaml")
    lines = EXAMPLE.count("\n") + 1
    text = str(caught.value)
    assert f"m.yaml:{lines + 2}:" in text and 'unknown channel "fax"' in text
    assert f"m.yaml:{lines + 5}:" in text and 'unknown basis "gut_feeling"' in text


# -- invariants --------------------------------------------------------------------------

STATUSES = ("granted", "denied", "withdrawn")
records = st.lists(st.builds(
    Record, channel=st.sampled_from(("email", "phone", "all")),
    status=st.sampled_from(STATUSES),
    at=st.integers(0, 20).map(lambda d: T + timedelta(days=d)),
    basis=st.sampled_from(("consent", "implied_inquiry", "none")),
    origin=st.sampled_from((1, 2))), max_size=12)


@settings(max_examples=150, deadline=None)
@given(records, st.integers(0, 25), st.randoms())
def test_consent_as_of_t_is_stable_and_order_free(rs: list[Record], day: int,
                                                   rng: random.Random) -> None:
    at = T + timedelta(days=day)
    state = state_at(rs, "email", at, {"implied_inquiry": 6})
    shuffled = list(rs)
    rng.shuffle(shuffled)
    later = [*shuffled, Record("email", "granted", at + SECOND, "consent"),
             Record("all", "withdrawn", at + timedelta(days=1))]
    # records after t, and the order records arrive in, change nothing at t
    assert state_at(later, "email", at, {"implied_inquiry": 6}).status == state.status


@settings(max_examples=150, deadline=None)
@given(records, st.integers(0, 25))
def test_the_stricter_consent_wins_across_merged_contacts(rs: list[Record], day: int
                                                          ) -> None:
    at = T + timedelta(days=day)
    one = [r for r in rs if r.origin == 1]
    two = [r for r in rs if r.origin == 2]
    merged = state_at(rs, "phone", at).status
    a, b = state_at(one, "phone", at).status, state_at(two, "phone", at).status
    if a == "unknown" or b == "unknown":  # an origin without a record decides nothing
        assert merged == (b if a == "unknown" else a)
    else:
        assert merged == stricter_consent(a, b)
    # consent never flows: a merge is never more permissive than either contact alone
    if merged == "granted":
        assert "granted" in (a, b) and {a, b} <= {"granted", "unknown"}
