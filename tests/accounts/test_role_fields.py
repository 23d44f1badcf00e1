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
