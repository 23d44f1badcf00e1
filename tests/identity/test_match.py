"""Lead-to-account matching: domains, subdomains, country domains, names; never free mail."""

from __future__ import annotations

from mql.identity.match import AccountIndex, AccountMatch, company_name_key, is_free_mail

INDEX = AccountIndex([("acme.com", "Acme Inc."), ("globex.co.uk", "Globex Ltd"),
                      ("initech.de", "Initech GmbH"), ("initech.fr", "Initech SAS"),
                      ("gmail-tools.io", "Gmail Tools")])


def test_exact_domain_then_subdomain_then_country_domain() -> None:
    assert INDEX.match("a@acme.com").method == "domain"  # type: ignore[union-attr]
    sub = INDEX.match("a@us.eng.acme.com")
    assert sub is not None and (sub.account, sub.method) == ("acme.com", "subdomain")
    country = INDEX.match("a@globex.com")
    assert country is not None and country.account == "globex.co.uk"
    assert country.confidence < sub.confidence


def test_an_ambiguous_company_label_does_not_match() -> None:
    assert INDEX.match("a@initech.com") is None  # .de and .fr both exist


def test_free_mail_never_matches_an_account_by_domain() -> None:
    assert is_free_mail("gmail.com") and is_free_mail("hotmail.fr") and is_free_mail("yahoo.co.jp")
    assert INDEX.match("acme.fan@gmail.com") is None
    by_name = INDEX.match("jane@gmail.com", company="ACME inc")
    assert by_name is not None and by_name.method == "name" and by_name.confidence >= 0.9


def test_fuzzy_names_below_the_cutoff_do_not_match() -> None:
    assert INDEX.match("x@gmail.com", company="Umbrella Corporation") is None
    assert company_name_key("Globex, Ltd.") == "globex"


# Spec: an email host that is itself an account domain is that account; any other host
# under the same registrable domain belongs to the parent company (the shortest domain),
# never to a sibling subsidiary, whatever the order the accounts were indexed in.
def test_a_subdomain_goes_to_the_parent_not_to_a_sibling_subsidiary() -> None:
    for accounts in ([("emea.acme.com", None), ("acme.com", None)],
                     [("acme.com", None), ("emea.acme.com", None)]):
        index = AccountIndex(accounts)
        assert index.match("x@emea.acme.com") == AccountMatch("emea.acme.com", "domain", 1.0)
        assert index.match("x@acme.com") == AccountMatch("acme.com", "domain", 1.0)
        assert index.match("x@us.acme.com") == AccountMatch("acme.com", "subdomain", 0.95)
        assert index.match("x@sales.emea.acme.com") == AccountMatch("acme.com", "subdomain", 0.95)


# Spec: a free-mail address never matches by domain, even when an account's domain or
# company label is the provider's (Outlook Travel at outlook.travel, an account hotmail.com).
def test_free_mail_does_not_match_an_account_named_like_the_provider() -> None:
    index = AccountIndex([("outlook.travel", "Outlook Travel"), ("hotmail.com", None)])
    assert index.match_domain("outlook.com") == AccountMatch("outlook.travel",
                                                             "country_domain", 0.85)
    assert index.match("jane@outlook.com") is None
    assert index.match("jane@hotmail.com") is None
    by_name = index.match("jane@outlook.com", company="Outlook Travel")
    assert by_name == AccountMatch("outlook.travel", "name", 1.0)


def test_hosts_are_cleaned_of_scheme_www_port_path_case_and_trailing_dot() -> None:
    from mql.identity.domains import clean_host

    cases = {" HTTP://WWW.Acme.COM:8080/pricing?x=1 ": "acme.com", "acme.com.": "acme.com",
             "www.acme.com": "acme.com", "wwwacme.com": "wwwacme.com",
             "eu.www.acme.com": "eu.www.acme.com", "acme.com/a/b": "acme.com",
             "acme.com:443": "acme.com", "https://acme.com": "acme.com", "ACME.com": "acme.com"}
    assert {raw: clean_host(raw) for raw in cases} == cases


def test_the_parent_is_the_shortest_domain_not_the_first_in_the_alphabet() -> None:
    index = AccountIndex([("a.zeta.com", None), ("zeta.com", None)])
    assert index.match("x@b.zeta.com") == AccountMatch("zeta.com", "subdomain", 0.95)
    assert index.match("x@nowhere.example") is None


def test_a_short_company_label_never_matches_across_country_domains() -> None:
    # three letters say too little: ibm.de is not taken for ibm.com (four letters are enough)
    index = AccountIndex([("ibm.com", None), ("acme.com", None)])
    assert index.match("x@ibm.de") is None
    assert index.match("x@acme.de") == AccountMatch("acme.com", "country_domain", 0.85)


def test_a_name_given_later_is_indexed_and_a_score_of_exactly_90_matches() -> None:
    index = AccountIndex([("acme.com", None)])
    assert index.match_name("Acme") is None
    index.add("acme.com", "Acme Inc.")
    assert index.match_name("ACME") == AccountMatch("acme.com", "name", 1.0)
    close = AccountIndex([("abc.com", "Abcdefghij")])
    # one letter replaced: token_sort_ratio = (1 - 2/20) * 100 = 90, at the cutoff
    assert close.match_name("Abcdefghix") == AccountMatch("abc.com", "name", 0.9)
