"""Journeys from the ledger, worked out by hand from docs/attribution.md ("What is a
journey"): a small ledger of two accounts read at the contact and at the account level."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from mql.attribution.assemble import LedgerOpportunity, LedgerTouch, Person, assemble
from mql.attribution.journeys import Journey
from mql.model.attribution import AttributionSettings
from mql.model.reports import ReportSettings

T0 = datetime(2026, 1, 1, tzinfo=UTC)
D = timedelta(days=1)
REPORTS = ReportSettings()


def touch(contact: int | None, account: int | None, day: int, channel: str | None = None,
          medium: str | None = None, source: str | None = None, campaign: str | None = None,
          content: str | None = None) -> LedgerTouch:
    return LedgerTouch(contact, account, T0 + day * D, channel, medium, source, campaign,
                       content)


TOUCHES = [
    touch(1, 10, -100, "events", campaign="fair"),  # 110 days before opp-1: out of its window
    touch(1, 10, 2, None, "cpc", "google", campaign=" spring ", content="guide"),
    touch(None, 10, 3, "events"),  # the account's own event (an intent surge)
    touch(2, 10, 5, "events", content="  "),
    touch(1, 10, 10, "email"),  # at the moment opp-1 was created: inside
    touch(1, 10, 11, "email"),  # after opp-1
    touch(3, 20, 1, "events"),
    touch(3, 20, 200, "email"),
]
OPPORTUNITIES = [
    LedgerOpportunity("opp-1", 10, 1, 5000.0, "won", T0 + 10 * D),
    LedgerOpportunity("opp-2", None, None, 800.0, "won", T0 + 12 * D),  # linked to no one
    LedgerOpportunity("opp-3", 10, 2, None, "open", T0 + 20 * D),
]
PEOPLE = {1: Person(10, "champion", T0 + D), 2: Person(10, "user", T0 + 25 * D),
          3: Person(20, None, None), 5: Person(10, None, T0 + 8 * D)}
ROLES = {("opp-1", 2): "decision_maker"}
WEIGHTS = AttributionSettings(roles=(("decision_maker", 1.5), ("champion", 2.0)))


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


def seen(j: Journey) -> list[tuple[str, int, float]]:
    """A journey's touches as (credited key, day, weight)."""
    return [(t.channel, (t.at - T0) // D if t.at else -1, t.weight) for t in j.touches]


def test_the_contact_level_reads_the_primary_contacts_touches() -> None:
    built = assemble(TOUCHES, OPPORTUNITIES, PEOPLE, ROLES, WEIGHTS, REPORTS)
    opp1, opp3, null = built.created
    # opp-1: contact 1's touches from 90 days before day 10 up to day 10
    assert opp1.key == "opp-1"
    assert seen(opp1) == [("paid_search", 2, 1.0), ("email", 10, 1.0)]
    assert (opp1.conversions, opp1.nulls, opp1.value) == (1.0, 0.0, 5000.0)
    assert (opp1.converted_at, opp1.opportunity_at) == (T0 + 10 * D, T0 + 10 * D)
    assert opp1.lead_at == T0 + D  # contact 1's MQL
    # opp-3: contact 2's touch; no amount is a value of 0; its MQL came after: no lead
    assert (opp3.key, seen(opp3)) == ("opp-3", [("events", 5, 1.0)])
    assert (opp3.value, opp3.lead_at) == (0.0, None)
    # contact 3 has no opportunity: a journey of the 90 days before its last touch
    assert (null.key, seen(null), null.conversions, null.nulls) == (
        "contact 3", [("email", 200, 1.0)], 0.0, 1.0)
    assert built.notes == ["1 opportunities without a contact are not attributed"]
    # the won journeys: only opp-1 converts
    won1, won3, won_null = built.won
    assert (won1.conversions, won1.nulls, won1.value) == (1.0, 0.0, 5000.0)
    assert (won3.conversions, won3.nulls, won3.value) == (0.0, 1.0, 0.0)
    assert seen(won3) == seen(opp3) and won3.lead_at is None
    assert won1.lead_at == T0 + D and won1.converted_at == T0 + 10 * D
    assert won1.opportunity_at == T0 + 10 * D
    assert won_null == null


def test_the_account_level_weighs_each_member_by_role() -> None:
    built = assemble(TOUCHES, OPPORTUNITIES, PEOPLE, ROLES, WEIGHTS, REPORTS, level="account")
    opp1, opp3, null = built.created
    # contact 1 is a champion (2.0); contact 2 is the decision maker on opp-1 (1.5), a
    # user elsewhere (no weight in the model: 1.0); the account's own event weighs 1.0
    assert seen(opp1) == [("paid_search", 2, 2.0), ("events", 3, 1.0), ("events", 5, 1.5),
                          ("email", 10, 2.0)]
    assert seen(opp3) == [("paid_search", 2, 2.0), ("events", 3, 1.0), ("events", 5, 1.0),
                          ("email", 10, 2.0), ("email", 11, 2.0)]
    # the account's first MQL before each opportunity (day 1; day 8 and 25 later)
    assert opp1.lead_at == T0 + D and opp3.lead_at == T0 + D
    assert (null.key, seen(null)) == ("account 20", [("email", 200, 1.0)])
    assert built.notes == ["1 opportunities without a account are not attributed"]
    assert [j.conversions for j in built.won] == [1.0, 0.0, 0.0]


def test_without_role_weights_every_member_weighs_one_and_a_default_weighs_all() -> None:
    plain = assemble(TOUCHES, OPPORTUNITIES, PEOPLE, ROLES, AttributionSettings(), REPORTS,
                     level="account")
    assert {t.weight for j in plain.created for t in j.touches} == {1.0}
    half = assemble(TOUCHES, OPPORTUNITIES, PEOPLE, ROLES,
                    AttributionSettings(default_role_weight=0.5), REPORTS, level="account")
    assert [t.weight for t in half.created[0].touches] == [0.5, 0.5, 0.5, 0.5]


def test_campaign_and_content_are_credited_or_none() -> None:
    by_campaign = assemble(TOUCHES, OPPORTUNITIES, PEOPLE, ROLES, WEIGHTS, REPORTS,
                           by="campaign")
    assert [t.channel for t in by_campaign.created[0].touches] == ["spring", "(none)"]
    by_content = assemble(TOUCHES, OPPORTUNITIES, PEOPLE, ROLES, WEIGHTS, REPORTS,
                          by="content")
    assert [t.channel for t in by_content.created[0].touches] == ["guide", "(none)"]
    assert [t.channel for t in by_content.created[1].touches] == ["(none)"]  # blank content


def test_the_window_holds_its_start_not_its_end() -> None:
    # opportunities created in [day 10, day 20): opp-1 (day 10), not opp-3 (day 20); contact
    # 3's last touch (day 200) is out, so no journey without a conversion
    built = assemble(TOUCHES, OPPORTUNITIES, PEOPLE, ROLES, WEIGHTS, REPORTS,
                     start=T0 + 10 * D, end=T0 + 20 * D)
    assert [j.key for j in built.created] == ["opp-1"]
    # [day 15, day 201): opp-3 and contact 3; contact 1 converted (opp-1, before the
    # window), so it is no journey without a conversion
    later = assemble(TOUCHES, OPPORTUNITIES, PEOPLE, ROLES, WEIGHTS, REPORTS,
                     start=T0 + 15 * D, end=T0 + 201 * D)
    assert [j.key for j in later.created] == ["opp-3", "contact 3"]
    assert [j.key for j in assemble(TOUCHES, OPPORTUNITIES, PEOPLE, ROLES, WEIGHTS, REPORTS,
                                    end=T0 + 200 * D).created] == ["opp-1", "opp-3"]


def test_a_level_or_key_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match=exact("level 'team': expected contact or account")):
        assemble([], [], {}, {}, WEIGHTS, REPORTS, level="team")
    with pytest.raises(ValueError, match=exact(
            "by 'medium': expected channel, campaign or content")):
        assemble([], [], {}, {}, WEIGHTS, REPORTS, by="medium")


def test_the_edges_of_the_windows_and_of_the_ledger() -> None:
    # contact 7: a touch exactly 90 days before its opportunity (inside), its MQL at the
    # very moment of the opportunity (its lead); a lost opportunity of 300 (no won value)
    # contact 8: no touch at all; contact 9 has no opportunity, its touches 90 days and 90
    # days and a second before its last one: the first inside, the second out
    touches = [touch(7, 30, 0, None, "cpc"), touch(7, 30, 90, None, None, "linkedin"),
               touch(9, 40, 0, "events"), touch(9, 40, 10, "email"),
               LedgerTouch(9, 40, T0 + 10 * D - timedelta(seconds=1), "partner", None, None,
                           None, None),
               touch(9, 40, 100, "email")]
    opportunities = [LedgerOpportunity("opp-7", 30, 7, 300.0, "lost", T0 + 90 * D),
                     LedgerOpportunity("opp-8", 30, 8, 50.0, "won", T0 + 95 * D),
                     LedgerOpportunity("x", None, None, 1.0, "won", T0),
                     LedgerOpportunity("y", None, None, 1.0, "won", T0)]
    people = {7: Person(30, None, T0 + 90 * D), 8: Person(30, None, None)}
    built = assemble(touches, opportunities, people, {}, AttributionSettings(), REPORTS)
    opp7, opp8, null = built.created
    # a touch with only utm_medium cpc is paid search; only utm_source linkedin, paid social
    assert seen(opp7) == [("paid_search", 0, 1.0), ("paid_social", 90, 1.0)]
    assert opp7.lead_at == T0 + 90 * D
    assert (opp8.key, opp8.touches, opp8.value) == ("opp-8", (), 50.0)
    assert (null.key, seen(null)) == ("contact 9", [("email", 10, 1.0), ("email", 100, 1.0)])
    assert [j.key for j in built.won] == ["opp-7", "opp-8", "contact 9"]
    won7 = built.won[0]
    assert (won7.conversions, won7.nulls, won7.value) == (0.0, 1.0, 0.0)
    assert built.notes == ["2 opportunities without a contact are not attributed"]
    # at the account level, a member without an MQL gives the account no lead time
    account = assemble(touches, opportunities, people, {}, AttributionSettings(), REPORTS,
                       level="account")
    assert [j.lead_at for j in account.created[:2]] == [T0 + 90 * D, T0 + 90 * D]
