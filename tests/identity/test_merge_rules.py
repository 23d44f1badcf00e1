"""Merge guardrails: blocked values, per-kind limits, priorities, stricter consent."""

from __future__ import annotations

import pytest

from mql.errors import ConfigError, MergeRefused
from mql.identity.merge import (
    Identifier,
    IdentityRules,
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
    with pytest.raises(MergeRefused):
        plan_merge(a, b, reason="test", rules=RULES)


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
