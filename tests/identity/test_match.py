"""Lead-to-account matching: domains, subdomains, country domains, names; never free mail."""

from __future__ import annotations

from mql.identity.match import AccountIndex, company_name_key, is_free_mail

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
