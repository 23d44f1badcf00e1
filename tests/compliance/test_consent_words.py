"""Consent records read as of a time (the pure `mql.compliance.consent`): the words other
systems use for statuses, bases and channels, two records at one moment (the stricter,
whatever order they arrive in), a global do-not-contact, merged contacts and the moment a
grant lapses. Expected values worked out by hand from docs/compliance.md and the module's
rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mql.compliance.consent import (
    Record,
    basis_of,
    changes_after,
    channel_of,
    state_at,
    status_of,
)

T = datetime(2025, 1, 31, 10, tzinfo=UTC)
DAY = timedelta(days=1)
LAPSES = datetime(2025, 7, 31, 10, tzinfo=UTC)  # six calendar months after T
CASL = {"implied_inquiry": 6}


@pytest.mark.parametrize(("text", "basis"), [
    (None, "none"), ("", "none"), ("consent", "consent"), ("Consent", "consent"),
    ("double-opt-in", "consent"), ("Legitimate-Interest", "legitimate_interest"),
    ("legitimate interest", "legitimate_interest"), ("implied_purchase", "implied_purchase"),
    ("EBR", "existing_business_relationship"), ("gut feeling", None)])
def test_the_words_for_a_legal_basis(text: str | None, basis: str | None) -> None:
    # no basis given is "none" (the loader then reads a grant as "consent")
    assert basis_of(text) == basis


@pytest.mark.parametrize(("text", "status"), [
    ("Opted-In", "granted"), ("opted in", "granted"), ("Opted Out", "withdrawn"),
    ("withdrawn", "withdrawn"), ("Denied", "denied"), ("no", "denied"), (None, None),
    ("maybe", None)])
def test_the_words_for_a_status(text: str | None, status: str | None) -> None:
    assert status_of(text) == status


@pytest.mark.parametrize(("text", "channel"), [
    ("mail", "email"), ("E-Mail", "email"), ("Call", "phone"), ("TELEPHONE", "phone"),
    ("Text", "sms"), ("Advertising", "ads"), ("Sales Outreach", "sales"),
    ("any", "all"), ("all", "all"), ("SMS", "sms"),
    (None, None), ("fax", None)])
def test_the_words_for_a_channel(text: str | None, channel: str | None) -> None:
    assert channel_of(text) == channel


def _both_orders(a: Record, b: Record, at: datetime) -> tuple[Record | None, Record | None]:
    return state_at([a, b], "email", at).record, state_at([b, a], "email", at).record


def test_a_grant_and_a_withdrawal_at_one_moment_the_withdrawal_wins_in_either_order() -> None:
    grant = Record("email", "granted", T, "consent")
    withdrawal = Record("email", "withdrawn", T)
    assert _both_orders(grant, withdrawal, T + DAY) == (withdrawal, withdrawal)


def test_a_denial_and_a_withdrawal_at_one_moment_the_withdrawal_wins() -> None:
    # strictness: withdrawn > denied > unknown > granted
    denial = Record("email", "denied", T)
    withdrawal = Record("email", "withdrawn", T)
    assert _both_orders(denial, withdrawal, T) == (withdrawal, withdrawal)


def test_a_withdrawal_beats_a_grant_at_one_moment_whatever_their_bases() -> None:
    withdrawal = Record("email", "withdrawn", T, "consent")
    grant = Record("email", "granted", T, "legitimate_interest")
    assert _both_orders(withdrawal, grant, T) == (withdrawal, withdrawal)


def test_two_grants_at_one_moment_give_the_same_state_in_either_order() -> None:
    # the larger basis decides ("legitimate_interest" after "consent"): the state does
    # not depend on the order the records were loaded in
    li = Record("email", "granted", T, "legitimate_interest")
    consent = Record("email", "granted", T, "consent")
    assert _both_orders(li, consent, T) == (li, li)


def test_records_after_t_are_not_read_wherever_they_are_in_the_list() -> None:
    withdrawal = Record("email", "withdrawn", T)
    later = Record("email", "granted", T + 2 * DAY, "consent")
    assert state_at([later, withdrawal], "email", T + DAY).status == "withdrawn"


def test_an_older_stricter_record_does_not_beat_a_newer_grant() -> None:
    newer = Record("email", "granted", T + DAY, "consent")
    older = Record("email", "withdrawn", T)
    state = state_at([newer, older], "email", T + 2 * DAY)
    assert state.status == "granted" and state.record == newer


def test_a_global_denial_beats_an_earlier_channel_grant() -> None:
    everything = Record("all", "denied", T + DAY)
    state = state_at([Record("email", "granted", T, "consent"), everything], "email",
                     T + 2 * DAY)
    assert (state.channel, state.status, state.record) == ("email", "denied", everything)


def test_a_channel_s_own_withdrawal_stays_when_a_global_denial_is_less_strict() -> None:
    # withdrawn (the channel's) is stricter than denied (every channel): the state is the
    # channel's own withdrawal
    own = Record("email", "withdrawn", T + 2 * DAY)
    state = state_at([own, Record("all", "denied", T + DAY)], "email", T + 3 * DAY)
    assert (state.status, state.record) == ("withdrawn", own)


def test_a_grant_says_when_it_lapses() -> None:
    grant = Record("email", "granted", T, "implied_inquiry")
    assert state_at([grant], "email", T + DAY, CASL).expires_at == LAPSES
    assert state_at([grant], "email", LAPSES, CASL).status == "expired"
    # express consent does not lapse
    assert state_at([Record("email", "granted", T, "consent")], "email", T,
                    CASL).expires_at is None


def test_of_two_merged_grants_the_one_that_lapses_first_decides() -> None:
    # contact 1 gave express consent (no lapse), contact 2 an inquiry (lapses 31 July):
    # the merged person's consent lapses with the inquiry's, in either place
    express = Record("email", "granted", T, "consent", origin=1)
    for origin in (1, 2):
        inquiry = Record("email", "granted", T, "implied_inquiry", origin=origin)
        other = Record("email", "granted", T, "consent", origin=3 - origin)
        state = state_at([express if origin == 2 else other, inquiry], "email", T + DAY,
                         CASL)
        assert (state.record, state.expires_at) == (inquiry, LAPSES)


def test_merged_withdrawals_give_the_same_state_in_either_order() -> None:
    one = Record("email", "withdrawn", T, origin=1)
    two = Record("email", "withdrawn", T + DAY, origin=2)
    at = T + 2 * DAY
    assert state_at([one, two], "email", at) == state_at([two, one], "email", at)


def test_the_next_change_is_after_t_not_at_it() -> None:
    grant = Record("email", "granted", T, "implied_inquiry")
    assert changes_after([grant], LAPSES - timedelta(seconds=1), CASL) == LAPSES
    assert changes_after([grant], LAPSES, CASL) is None


def test_two_grants_at_one_moment_the_one_with_its_own_expiry_decides_in_either_order() -> None:
    # the same grant loaded twice, once with an expiry of its own: the stricter (the one
    # that lapses) wins whatever the order, so the consent lapses on its tenth day
    # (before the fix, the record loaded first decided)
    ends = T + 10 * DAY
    lapsing = Record("email", "granted", T, "consent", expires_at=ends)
    lasting = Record("email", "granted", T, "consent", source="crm")
    for records in ([lapsing, lasting], [lasting, lapsing]):
        assert state_at(records, "email", ends - DAY).expires_at == ends
        assert state_at(records, "email", ends).status == "expired"
