"""Identity rules at their edges, each value worked out from the rule it checks: hosts with
a second scheme or a port, names in another word order, addresses with two @, limits on
kinds no rule names, and the exact words of each refusal."""

from __future__ import annotations

import pytest

from mql.errors import ConfigError, MergeRefused
from mql.identity.domains import clean_host, registered_domain
from mql.identity.match import AccountIndex, AccountMatch, company_name_key
from mql.identity.merge import Identifier, IdentityRules, over_limit, plan_merge
from mql.identity.normalize import clean_email


def test_a_host_is_what_follows_the_first_scheme_up_to_the_path() -> None:
    # a tracking link carries a second URL in its query: the host is the first one's
    assert clean_host("https://acme.com/go?to=http://evil.com") == "acme.com"
    assert clean_host("acme.com:8443/login") == "acme.com"


def test_a_bare_host_name_is_its_own_registered_domain() -> None:
    # no suffix: the name alone, no trailing dot
    assert registered_domain("localhost") == "localhost"
    assert registered_domain("https://intranet/") == "intranet"


def test_a_company_name_keeps_all_its_words_in_one_spaced_key() -> None:
    assert company_name_key("Acme Rocket Works, Inc.") == "acme rocket works"


def test_a_name_match_ignores_word_order_and_the_default_cutoff_is_ninety() -> None:
    index = AccountIndex([("acme.com", "Widgets Global")])
    # token_sort_ratio sorts the words: "global widgets" = "global widgets", 100 -> 1.0
    assert index.match_name("Global Widgets") == AccountMatch("acme.com", "name", 1.0)
    # "initech" vs "global widgets" is far below 90: no account
    assert index.match_name("Initech") is None
    # a name that is only a legal suffix compares nothing, even with no cutoff at all
    assert AccountIndex([("acme.com", "Acme")], min_name_score=0).match_name("GmbH") is None


def test_the_domain_of_an_address_is_after_its_last_at() -> None:
    index = AccountIndex([("acme.com", "Acme")])
    # a quoted local part may hold an @ (RFC 5321): the mailbox is still at acme.com
    assert index.match('"jane@home"@acme.com') == AccountMatch("acme.com", "domain", 1.0)


def test_a_country_domain_match_picks_the_parent_not_the_alphabetically_first() -> None:
    # "ab.acme.de" sorts before "acme.de"; the parent is the shorter one
    index = AccountIndex([("ab.acme.de", None), ("acme.de", None)])
    assert index.match_domain("acme.fr") == AccountMatch("acme.de", "country_domain", 0.85)


@pytest.mark.parametrize("text", ["jane@.acme.com", "jane@acme.com.", "jane@acme.com@intranet"])
def test_an_address_whose_domain_starts_or_ends_with_a_dot_or_has_none_is_refused(
        text: str) -> None:
    # the domain is what follows the last @ ("intranet" in the third, no dot)
    with pytest.raises(ValueError, match=r"is not an email address \(the domain has no dot\)$"):
        clean_email(text)


def test_other_identifiers_are_usable_unless_blocked() -> None:
    rules = IdentityRules()
    assert rules.usable(Identifier("anonymous_id", "a1b2c3"))
    assert rules.usable(Identifier("external", "003A", "salesforce"))


def test_a_kind_the_rules_set_no_limit_for_has_none() -> None:
    emails_only = IdentityRules(max_per_kind={"email": 1})
    cookies = [Identifier("anonymous_id", f"c{n}") for n in range(50)]
    assert over_limit(cookies, emails_only) is None
    assert plan_merge((1, frozenset(cookies[:25])), (2, frozenset(cookies[25:])),
                      reason="r", rules=emails_only).merged == 2


def test_limits_count_emails_per_contact_and_crm_ids_per_crm() -> None:
    one_each = IdentityRules(max_per_kind={"email": 1, "external": 2})
    # an email never has a namespace of its own: two are two emails
    emails = [Identifier("email", "a@x.com", "hubspot"), Identifier("email", "b@x.com", "crm")]
    assert over_limit(emails, one_each) == "2 email identifiers (at most 1 per contact)"
    crm = [Identifier("external", v, "salesforce") for v in ("1", "2", "3")]
    assert over_limit(crm, one_each) == ("3 salesforce external identifiers "
                                         "(at most 2 per contact)")
    with pytest.raises(MergeRefused, match=r"^merging contacts 1 and 2 would give 3 salesforce "
                                           r"external identifiers \(at most 2 per contact\)$"):
        plan_merge((2, frozenset(crm[:1])), (1, frozenset(crm[1:])), reason="r", rules=one_each)


def test_an_email_is_never_compared_with_a_crm_id() -> None:
    one = IdentityRules(max_per_kind={"external": 1})
    a = (1, frozenset({Identifier("external", "003A")}))  # no namespace given
    b = (2, frozenset({Identifier("email", "jane@acme.com")}))
    assert plan_merge(a, b, reason="r", rules=one).survivor == 1


def test_each_refusal_of_a_rule_set_says_what_to_do() -> None:
    with pytest.raises(ValueError, match=r"^identifier kind 'phone': expected one of "
                                         r"\('external', 'email', 'anonymous_id'\)$"):
        Identifier("phone", "+4930123")
    with pytest.raises(ConfigError, match=r"^identity rules name unknown identifier kinds "
                                          r"\['phone'\]; use external, email, anonymous_id$"):
        IdentityRules(priority=("phone",))
    with pytest.raises(ConfigError) as refused:
        IdentityRules(merge_on=frozenset({"anonymous_id"}))
    assert str(refused.value) == ("anonymous ids cannot merge contacts (a shared cookie would "
                                  "fuse everybody behind it); remove it from merge_on")
