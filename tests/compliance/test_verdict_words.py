"""The verdict of the pure `mql.compliance.policy`: what each channel's permission says
(the words a lead view shows), the suppression lists (which entry, of which kind, since
when, lifted by which consent), the country table, the verdict as data, many contacts at
once and the retention bound. Expected values worked out by hand from docs/compliance.md."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from mql.compliance import jurisdictions
from mql.compliance.consent import ChannelState, Record
from mql.compliance.policy import (
    Suppression,
    Verdict,
    email_hash,
    evaluate,
    jurisdiction_of,
    retention_bound,
    suppression_of,
    verdicts,
)
from mql.model.consent import CHANNELS, DEFAULT_POLICY, ConsentPolicy, JurisdictionRule

T = datetime(2025, 1, 31, 10, tzinfo=UTC)
DAY = timedelta(days=1)
ANN = "ann@acme.example"


def _why(verdict: Verdict) -> dict[str, str]:
    return {p.channel: p.reason for p in verdict.permissions}


# -- each channel's permission in words ---------------------------------------------------

def test_a_denial_forbids_even_under_opt_out() -> None:
    denial = Record("email", "denied", T)
    v = evaluate(DEFAULT_POLICY, [denial], country="US", at=T + DAY)
    email, phone = v.permissions[0], v.permissions[1]
    assert (email.channel, email.allowed, email.reason) == ("email", False,
                                                            "consent denied on 2025-01-31")
    assert email.state == ChannelState("email", "denied", denial)
    # CAN-SPAM is opt-out: the phone, without a record, stays open
    assert (phone.allowed, phone.reason) == (True, "no record needed under can_spam (opt-out)")
    assert phone.state == ChannelState("phone", "unknown")


def test_a_global_withdrawal_forbids_every_channel_and_says_so() -> None:
    everything = Record("all", "withdrawn", T + DAY)
    v = evaluate(DEFAULT_POLICY, [Record("email", "granted", T, "consent"), everything],
                 country="DE", at=T + 2 * DAY)
    assert v.may_contact == dict.fromkeys(CHANNELS, False)
    assert _why(v) == dict.fromkeys(CHANNELS, "consent withdrawn (every channel) on "
                                              "2025-02-01")
    assert [p.state.record for p in v.permissions] == [everything] * 5
    assert v.reason == ("no hand-off channel is permitted: email: consent withdrawn (every "
                        "channel) on 2025-02-01; phone: consent withdrawn (every channel) on "
                        "2025-02-01")


def test_a_grant_on_an_accepted_basis_permits_and_says_since_when() -> None:
    grant = Record("email", "granted", T, "consent")
    v = evaluate(DEFAULT_POLICY, [grant], country="DE", at=T + DAY)
    email = v.permissions[0]
    assert (email.allowed, email.reason) == (True, "granted on consent since 2025-01-31")
    assert email.state == ChannelState("email", "granted", grant)
    assert not v.held and v.reason is None


def test_a_grant_on_a_basis_gdpr_does_not_accept_keeps_its_state() -> None:
    li = Record("email", "granted", T, "legitimate_interest")
    email = evaluate(DEFAULT_POLICY, [li], country="FR", at=T).permissions[0]
    assert email.allowed is False and email.state == ChannelState("email", "granted", li)


def test_a_lapsed_implied_consent_keeps_its_record_and_moment() -> None:
    inquiry = Record("email", "granted", T, "implied_inquiry")
    lapsed = datetime(2025, 7, 31, 10, tzinfo=UTC)
    email = evaluate(DEFAULT_POLICY, [inquiry], country="CA", at=lapsed).permissions[0]
    assert email.state == ChannelState("email", "expired", inquiry, lapsed)


def test_no_record_under_gdpr_names_the_bases_it_needs() -> None:
    v = evaluate(DEFAULT_POLICY, [], country="IT", at=T)
    assert _why(v) == {
        "email": "no email consent on record (gdpr needs consent)",
        "phone": "no phone consent on record (gdpr needs consent or legitimate_interest)",
        "sms": "no sms consent on record (gdpr needs consent)",
        "ads": "no ads consent on record (gdpr needs consent)",
        "sales": "no sales consent on record (gdpr needs consent or legitimate_interest)"}
    assert [p.state for p in v.permissions] == [ChannelState(c, "unknown") for c in CHANNELS]


EMAIL_ONLY = ConsentPolicy(MappingProxyType({"default": JurisdictionRule(
    "default", MappingProxyType({"email": ("consent",)}))}))


def test_a_channel_the_rule_does_not_name_is_permitted_by_no_basis() -> None:
    # the rule names email only: sms is never permitted, with or without a grant
    none = evaluate(EMAIL_ONLY, [], country="BR", at=T)
    assert _why(none)["sms"] == ("no sms consent on record (default needs a basis it does "
                                 "not accept on this channel)")
    grant = evaluate(EMAIL_ONLY, [Record("sms", "granted", T, "consent")], country="BR",
                     at=T)
    assert grant.may_contact["sms"] is False
    assert _why(grant)["sms"] == ("sms rests on consent, which default does not accept "
                                  "(needs a basis it does not accept on this channel)")


# -- suppression lists ---------------------------------------------------------------------

def test_a_suppressed_contact_is_refused_on_every_channel_with_the_entry_s_words() -> None:
    entries = [Suppression("email", email_hash(ANN), T, "erased")]
    v = evaluate(DEFAULT_POLICY, [], country="US", at=T + DAY, email=ANN,
                 domain="acme.example", suppressions=entries)
    words = "suppressed: email on the suppression list since 2025-01-31 (erased)"
    assert [(p.channel, p.allowed, p.reason) for p in v.permissions] == [
        (c, False, words) for c in CHANNELS]
    assert [p.state for p in v.permissions] == [ChannelState(c, "unknown") for c in CHANNELS]
    assert (v.at, v.suppressed, v.held, v.reason) == (T + DAY, words, True, words)


def test_an_entry_without_a_reason_says_only_since_when() -> None:
    entries = [Suppression("domain", "acme.example", T)]
    assert suppression_of(entries, email=ANN, domain="acme.example", account=None,
                          records=[], at=T) == ("suppressed: domain on the suppression "
                                                "list since 2025-01-31")


def test_an_account_entry_suppresses_the_account_s_contacts() -> None:
    entries = [Suppression("account", "globex.example", T, "partner")]
    v = evaluate(DEFAULT_POLICY, [], country="US", at=T, email=ANN, domain="acme.example",
                 account="globex.example", suppressions=entries)
    assert v.held and v.suppressed == ("suppressed: account on the suppression list since "
                                       "2025-01-31 (partner)")
    # a consent given later does not lift an account entry
    regrant = [Record("email", "granted", T + DAY, "consent")]
    assert evaluate(DEFAULT_POLICY, regrant, country="US", at=T + DAY, email=ANN,
                    domain="acme.example", account="globex.example",
                    suppressions=entries).held


def test_entries_of_other_addresses_domains_and_accounts_do_not_suppress() -> None:
    # Ann works at acme.example for the account globex.example; every entry names
    # someone else, or names her domain as an account and her account as a domain
    entries = [Suppression("email", email_hash("bob@acme.example"), T),
               Suppression("domain", "initech.example", T),
               Suppression("account", "initech.example", T),
               Suppression("account", "acme.example", T),
               Suppression("domain", "globex.example", T)]
    assert suppression_of(entries, email=ANN, domain="acme.example",
                          account="globex.example", records=[], at=T + DAY) is None


def test_the_earliest_entry_that_applies_is_the_one_named() -> None:
    entries = [Suppression("domain", "acme.example", T + 2 * DAY, "competitor"),
               Suppression("email", email_hash("bob@acme.example"), T),
               Suppression("email", email_hash(ANN), T + DAY, "erased")]
    assert suppression_of(entries, email=ANN, domain="acme.example", account=None,
                          records=[], at=T + 3 * DAY) == (
        "suppressed: email on the suppression list since 2025-02-01 (erased)")
    # before the entries: nothing
    assert suppression_of(entries, email=ANN, domain="acme.example", account=None,
                          records=[], at=T + DAY - timedelta(seconds=1)) is None


def test_a_lifted_address_entry_leaves_a_later_domain_entry_in_force() -> None:
    entries = [Suppression("email", email_hash(ANN), T, "erased"),
               Suppression("domain", "acme.example", T + 2 * DAY, "competitor")]
    grant = [Record("email", "granted", T + DAY, "consent")]
    kw = {"email": ANN, "domain": "acme.example", "account": None, "records": grant}
    assert suppression_of(entries, at=T + DAY, **kw) is None  # type: ignore[arg-type]
    assert suppression_of(entries, at=T + 3 * DAY, **kw) == (  # type: ignore[arg-type]
        "suppressed: domain on the suppression list since 2025-02-02 (competitor)")


def test_a_grant_at_the_moment_of_the_entry_does_not_lift_it() -> None:
    # lifted only by a consent given after the entry
    entries = [Suppression("email", email_hash(ANN), T, "erased")]
    v = evaluate(DEFAULT_POLICY, [Record("email", "granted", T, "consent")], country="US",
                 at=T + DAY, email=ANN, suppressions=entries)
    assert v.held


def test_only_a_grant_given_by_t_lifts_an_address_entry() -> None:
    # a denial is no consent given again, and a grant loaded for later does not lift
    # today's suppression (the past does not change)
    entries = [Suppression("email", email_hash(ANN), T, "erased")]
    records = [Record("email", "denied", T + DAY),
               Record("email", "granted", T + 5 * DAY, "consent")]
    v = evaluate(DEFAULT_POLICY, records, country="US", at=T + 2 * DAY, email=ANN,
                 suppressions=entries)
    assert v.held and v.may_contact["phone"] is False
    assert not evaluate(DEFAULT_POLICY, records, country="US", at=T + 5 * DAY, email=ANN,
                        suppressions=entries).held


# -- the country table ---------------------------------------------------------------------

TABLE = replace(DEFAULT_POLICY, countries=MappingProxyType({
    "CH": "gdpr", "US-CA": "gdpr", "NONE": "gdpr", "US-NONE": "gdpr", "US-": "gdpr"}))


def test_the_model_s_country_table_over_the_shipped_one() -> None:
    assert evaluate(TABLE, [], country="CH", at=T).jurisdiction == "gdpr"
    assert evaluate(TABLE, [], country="US", region="ca", at=T).jurisdiction == "gdpr"
    assert evaluate(TABLE, [], country="US", region="NY", at=T).jurisdiction == "can_spam"
    assert evaluate(DEFAULT_POLICY, [], country="CH", at=T).jurisdiction == "default"


def test_no_country_is_default_and_no_region_matches_no_region_entry() -> None:
    # whatever the table holds, a contact without a country is in `default`, and one
    # without a region (or a blank one) in its country's jurisdiction
    odd = {"NONE": "gdpr", "": "gdpr", "US-NONE": "gdpr", "US-": "gdpr"}
    assert jurisdictions.of(None, overrides=odd) == "default"
    assert jurisdictions.of("  ", overrides=odd) == "default"
    assert jurisdictions.of("US", None, overrides=odd) == "can_spam"
    assert jurisdictions.of("US", " ", overrides=odd) == "can_spam"
    assert jurisdictions.of("us", " ca ", overrides={"US-CA": "casl"}) == "casl"


def test_the_jurisdiction_of_attributes_reads_region_then_state() -> None:
    assert jurisdiction_of(TABLE, {"country": "US", "region": "CA"}) == "gdpr"
    assert jurisdiction_of(TABLE, {"country": "US", "state": "CA"}) == "gdpr"
    assert jurisdiction_of(TABLE, {"country": "US", "region": "NY", "state": "CA"}) == (
        "can_spam")
    assert jurisdiction_of(TABLE, {"country": "CH"}) == "gdpr"
    assert jurisdiction_of(TABLE, {}) == "default"


# -- the verdict as data, many at once -----------------------------------------------------

def test_a_verdict_as_data() -> None:
    grant = Record("email", "granted", T, "consent")
    v = evaluate(DEFAULT_POLICY, [grant], country="DE", at=T + DAY)
    assert v.as_dict() == {
        "at": "2025-02-01T10:00:00+00:00", "jurisdiction": "gdpr",
        "may_contact": {"email": True, "phone": False, "sms": False, "ads": False,
                        "sales": False},
        "held": False, "reason": None, "suppressed": None, "next_change": None,
        "channels": {
            "email": {"allowed": True, "status": "granted", "basis": "consent",
                      "why": "granted on consent since 2025-01-31"},
            "phone": {"allowed": False, "status": "unknown", "basis": None,
                      "why": "no phone consent on record (gdpr needs consent or "
                             "legitimate_interest)"},
            "sms": {"allowed": False, "status": "unknown", "basis": None,
                    "why": "no sms consent on record (gdpr needs consent)"},
            "ads": {"allowed": False, "status": "unknown", "basis": None,
                    "why": "no ads consent on record (gdpr needs consent)"},
            "sales": {"allowed": False, "status": "unknown", "basis": None,
                      "why": "no sales consent on record (gdpr needs consent or "
                             "legitimate_interest)"}}}


def test_a_held_verdict_as_data_says_why_and_when_it_changes() -> None:
    inquiry = Record("email", "granted", T, "implied_inquiry")
    data = evaluate(DEFAULT_POLICY, [inquiry], country="CA", at=T).as_dict()
    assert data["next_change"] == "2025-07-31T10:00:00+00:00"
    assert data["held"] is False and data["jurisdiction"] == "casl"
    entries = [Suppression("account", "acme.example", T)]
    held = evaluate(DEFAULT_POLICY, [], country="CA", at=T, account="acme.example",
                    suppressions=entries).as_dict()
    words = "suppressed: account on the suppression list since 2025-01-31"
    assert (held["held"], held["reason"], held["suppressed"]) == (True, words, words)
    assert held["channels"]["phone"] == {  # type: ignore[index]
        "allowed": False, "status": "unknown", "basis": None, "why": words}


def test_the_verdicts_of_many_contacts_each_at_its_own_moment() -> None:
    subjects = {
        1: ({"country": "US", "region": "CA"}, ANN, None),  # gdpr by the table, no record
        2: ({"country": "DE"}, "bob@initech.example", None),  # a grant, then suppressed
        3: ({"country": "US"}, None, "globex.example"),  # the account is suppressed
        4: ({"country": "US", "state": "CA"}, "cy@hooli.example", "hooli.example"),
        5: ({"country": "US"}, "dee", None),  # no domain in the address
        # a quoted local part may hold an "@": the domain follows the last one
        6: ({"country": "US"}, '"sales@eu"@initech.example', None),
        7: ({"country": "US"}, "Eve@Umbrella.example", None)}  # her address is listed
    records = {2: [Record("email", "granted", T, "consent")],
               4: [Record("email", "granted", T, "consent")]}
    entries = iter([Suppression("domain", "initech.example", T + DAY, "competitor"),
                    Suppression("account", "globex.example", T),
                    Suppression("domain", "dee", T),
                    Suppression("email", email_hash("eve@umbrella.example"), T, "erased")])
    at = {1: T, 2: T + 2 * DAY, 3: T, 4: T + DAY, 5: T, 6: T + 2 * DAY, 7: T}
    out = verdicts(TABLE, subjects, records, entries, at)
    assert sorted(out) == [1, 2, 3, 4, 5, 6, 7]
    assert [out[c].at for c in range(1, 6)] == [T, T + 2 * DAY, T, T + DAY, T]
    assert [out[c].jurisdiction for c in range(1, 6)] == [
        "gdpr", "gdpr", "can_spam", "gdpr", "can_spam"]
    assert out[1].held and out[1].suppressed is None
    assert out[2].suppressed == ("suppressed: domain on the suppression list since "
                                 "2025-02-01 (competitor)")
    assert out[3].suppressed == "suppressed: account on the suppression list since 2025-01-31"
    assert not out[4].held and out[4].may_contact["email"] is True
    assert out[5].suppressed is None and not out[5].held
    assert out[6].suppressed == out[2].suppressed
    assert out[7].suppressed == ("suppressed: email on the suppression list since "
                                 "2025-01-31 (erased)")
    # the same contact a day earlier, before the domain entry: its grant permits email
    earlier = verdicts(TABLE, {2: subjects[2]}, records, [], {2: T})
    assert earlier[2].may_contact["email"] is True


def test_the_retention_bound_per_jurisdiction() -> None:
    policy = replace(DEFAULT_POLICY, retention=MappingProxyType({"gdpr": 730}))
    now = datetime(2026, 12, 3, 9, tzinfo=UTC)
    assert retention_bound(policy, "gdpr", now) == datetime(2024, 12, 3, 9, tzinfo=UTC)
    assert retention_bound(policy, "uk", now) is None  # not named: kept
