"""Merge guardrails: blocked values, per-kind limits, priorities, stricter consent."""

from __future__ import annotations

import pytest

from mql.errors import ConfigError, MergeRefused
from mql.identity.merge import (
    Identifier,
    IdentityRules,
    MergePlan,
    choose_survivor,
    over_limit,
    plan_merge,
    stricter_consent,
)

RULES = IdentityRules(max_per_kind={"email": 2, "anonymous_id": 3, "external": 1})


def _ids(*pairs: tuple[str, str]) -> frozenset[Identifier]:
    return frozenset(Identifier(k, v, "salesforce" if k == "external" else "") for k, v in pairs)


@pytest.mark.parametrize("value", ["null", "anonymous", "0", "-1", "test@test.com", " NULL ",
                                   "noreply@acme.com", "undefined"])
def test_blocked_values_identify_nobody(value: str) -> None:
    kind = "email" if "@" in value else "anonymous_id"
    assert not RULES.usable(Identifier(kind, value))


def test_a_merge_over_a_per_kind_limit_is_refused() -> None:
    a = (1, _ids(("email", "a@x.com"), ("email", "b@x.com")))
    b = (2, _ids(("email", "c@x.com")))
    with pytest.raises(MergeRefused, match="at most 2 per contact"):
        plan_merge(a, b, reason="test", rules=RULES)


def test_two_different_crm_ids_refuse_when_one_is_allowed() -> None:
    a = (1, _ids(("external", "003A")))
    b = (2, _ids(("external", "003B")))
    with pytest.raises(MergeRefused, match=r"^contacts 1 and 2 have different salesforce ids "
                                           r"\(003A, 003B\)$"):
        plan_merge(a, b, reason="test", rules=RULES)
    # the same id on both sides is no conflict (one CRM record, two mql contacts)
    assert plan_merge(a, (2, _ids(("external", "003A"))), reason="same id",
                      rules=RULES) == MergePlan(1, 2, "same id")
    # ids of other CRMs never conflict with each other
    hubspot = (2, frozenset({Identifier("external", "77", "hubspot")}))
    assert plan_merge(a, hubspot, reason="r", rules=RULES).merged == 2


def test_the_crm_conflict_is_named_before_any_limit_first_identifier_first() -> None:
    one = IdentityRules(max_per_kind={"email": 1, "external": 1})
    a = (3, frozenset({Identifier("email", "a@x.com"), Identifier("external", "1", "salesforce"),
                       Identifier("external", "h1", "hubspot")}))
    b = (5, frozenset({Identifier("email", "b@x.com"), Identifier("external", "2", "salesforce"),
                       Identifier("external", "h2", "hubspot")}))
    # emails are over their limit too; the CRM conflict is the reason given, the first of
    # the identifiers in order (kind, value, namespace: "2" before "h2"), every run the same
    with pytest.raises(MergeRefused, match=r"^contacts 3 and 5 have different salesforce ids "
                                           r"\(1, 2\)$"):
        plan_merge(b, a, reason="r", rules=one)
    # an email alone over its limit is refused by the limit
    with pytest.raises(MergeRefused, match=r"^merging contacts 3 and 5 would give 2 email "
                                           r"identifiers \(at most 1 per contact\)$"):
        plan_merge((5, frozenset({Identifier("email", "b@x.com")})),
                   (3, frozenset({Identifier("email", "a@x.com")})), reason="r", rules=one)


def test_the_older_contact_survives_and_priority_picks_among_hits() -> None:
    plan = plan_merge((9, _ids(("email", "a@x.com"))), (4, _ids(("email", "b@x.com"))),
                      reason="same", rules=RULES)
    assert (plan.survivor, plan.merged) == (4, 9)
    hits = [(3, Identifier("email", "a@x.com")), (8, Identifier("external", "1", "hubspot"))]
    assert choose_survivor(hits, RULES) == 8
    email_first = IdentityRules(priority=("email", "external", "anonymous_id"))
    assert choose_survivor(hits, email_first) == 3


def test_anonymous_ids_can_never_merge_people() -> None:
    with pytest.raises(ConfigError, match="shared cookie"):
        IdentityRules(merge_on=frozenset({"anonymous_id"}))
    with pytest.raises(ConfigError, match="unknown identifier kinds"):
        IdentityRules(priority=("phone",))


def test_consent_never_flows_the_stricter_wins() -> None:
    assert stricter_consent("granted", "denied") == "denied"
    assert stricter_consent("withdrawn", "granted") == "withdrawn"
    assert stricter_consent("granted", "granted") == "granted"
    assert over_limit([Identifier("email", "a@x.com")], RULES) is None


def test_merge_guardrails_name_the_contacts_and_the_conflict() -> None:
    from mql.errors import MergeRefused
    from mql.identity.merge import Identifier, IdentityRules, plan_merge

    rules = IdentityRules()
    jane = frozenset({Identifier("email", "jane@acme.com"),
                      Identifier("external", "003A", "salesforce")})
    other = frozenset({Identifier("external", "003B", "salesforce")})
    with pytest.raises(MergeRefused, match=r"^contact 4 cannot be merged with itself$"):
        plan_merge((4, jane), (4, jane), reason="x", rules=rules)
    one_crm_id = IdentityRules(max_per_kind={"email": 5, "anonymous_id": 20, "external": 1})
    # two CRM records: the operator is told that, not only that a limit of 1 is exceeded
    with pytest.raises(MergeRefused, match=r"^contacts 4 and 9 have different salesforce "
                                           r"ids \(003A, 003B\)$"):
        plan_merge((9, other), (4, jane), reason="x", rules=one_crm_id)
    # with room for three CRM ids per contact (the default), two ids are not a conflict
    assert plan_merge((9, other), (4, jane), reason="x", rules=rules).survivor == 4
    hubspot = frozenset({Identifier("external", "77", "hubspot")})
    assert plan_merge((9, hubspot), (4, jane), reason="same person", rules=rules).survivor == 4


def test_the_survivor_is_the_highest_priority_kind_then_the_oldest() -> None:
    from mql.identity.merge import Identifier, IdentityRules, choose_survivor

    rules = IdentityRules()
    found = [(9, Identifier("email", "a@x.com")), (7, Identifier("email", "b@x.com"))]
    assert choose_survivor(found, rules) == 7
    assert IdentityRules(priority=("external", "email")).rank("anonymous_id") == 2


def test_consent_takes_the_stricter_status_and_an_unknown_word_counts_as_unknown() -> None:
    from mql.identity.merge import stricter_consent

    assert stricter_consent("granted", "pending") == "pending"
    assert stricter_consent("pending", "denied") == "denied"
    assert stricter_consent("denied", "withdrawn") == "withdrawn"
    assert stricter_consent("granted", "granted") == "granted"


def test_emails_compare_in_lower_case_other_ids_as_written() -> None:
    from mql.identity.normalize import normalize_identifier

    assert normalize_identifier("email", " Jane@ACME.com ") == "jane@acme.com"
    assert normalize_identifier("external", " 003aB ") == "003aB"


def test_a_fuzzy_name_match_reports_its_score_to_three_decimals() -> None:
    from mql.identity.match import AccountIndex, AccountMatch

    index = AccountIndex([("globex.co.uk", "Globex Ltd")])
    # token_sort_ratio("globexx", "globex") = (1 - 1/13) * 100 = 92.3
    assert index.match_name("Globexx") == AccountMatch("globex.co.uk", "name", 0.923)
    assert index.match_name("Ltd") is None  # only a legal suffix: nothing to compare
