"""The contact's own fields in role inference, worked out by hand (docs/accounts.md,
"Roles from messy titles"): a seniority field holding one of the names is taken as is
(else the title says it), the CRM's role wins with the seniority and department it was
read with, spelled with a space or in capitals, and a contact with no title has no
seniority, no department and no role."""

from __future__ import annotations

from mql.accounts.roles import DEFAULT_ROLES, RoleGuess, infer_role
from mql.records import Contact


def guess(**fields: str) -> RoleGuess:
    return infer_role(Contact("x@a.example", "a.example", fields), None, DEFAULT_ROLES)


def test_the_seniority_field_wins_over_the_title() -> None:
    # "Consultant" names no rank (individual contributor); the field says c_level; the
    # same title with another seniority field is another guess
    assert guess(title="Consultant", seniority="c_level").seniority == "c_level"
    assert guess(title="Consultant", seniority="individual_contributor").seniority == (
        "individual_contributor")
    assert guess(title="Consultant", seniority="chief").seniority == "individual_contributor"


def test_the_crm_role_wins_with_what_the_title_says() -> None:
    # the table would make a CIO a decision maker
    assert guess(title="CIO", committee_role="champion") == RoleGuess(
        "champion", "c_level", "it", "crm")
    assert guess(title="CIO", committee_role="economic buyer") == RoleGuess(
        "economic_buyer", "c_level", "it", "crm")
    assert guess(title="CIO", committee_role="Economic Buyer").role == "economic_buyer"


def test_a_contact_with_no_title_has_no_role() -> None:
    assert guess() == RoleGuess(None, None, None, "none")
    assert guess(title="") == RoleGuess(None, None, None, "none")


def test_a_condition_on_the_contact_reads_the_contact() -> None:
    # a CEO in Germany signs (rule 1), elsewhere decides (rule 2)
    from tests.accounts.test_role_inference import role_table

    table = role_table("{field: contact.country, op: eq, value: DE}")
    de = Contact("ceo@a.example", "a.example", {"title": "CEO", "country": "DE"})
    us = Contact("ceo@b.example", "b.example", {"title": "CEO", "country": "US"})
    assert infer_role(de, None, table).source == "rule 1"
    assert infer_role(us, None, table).source == "rule 2"


def test_a_remembered_guess_is_never_used_for_another_table_at_the_same_id() -> None:
    # the memo is keyed by id(table): a table freed and another allocated at its address
    # must be read anew; the stale entry is made by hand, a guess that nobody would make
    from mql.accounts import roles
    from mql.model.accounts import RoleTable

    table = RoleTable(DEFAULT_ROLES.rules, override=None)
    stale = RoleGuess("user", "student", "hr", "rule 99")
    roles._GUESSES[(id(table), "cio", None, None, None)] = (object(), stale)
    cio = Contact("cio@a.example", "a.example", {"title": "CIO"})
    assert infer_role(cio, None, table) == RoleGuess("decision_maker", "c_level", "it",
                                                     "rule 7")
