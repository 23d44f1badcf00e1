"""Seniority read from an assistant's title (docs/accounts.md, "Roles from messy titles"):
an assistant is an individual contributor whatever rank the title names after it, unless
the title also says director; a vice president is a VP even when the title says
assistant ("Assistant Vice President", the banks' rank, like "AVP")."""

from __future__ import annotations

import pytest

from mql.accounts.titles import seniority_of


@pytest.mark.parametrize(("title", "seniority"), [
    # "vice president" is read before "assistant"
    ("Assistant Vice President", "vp"),
    ("AVP, Treasury", "vp"),
    # an assistant to a chief is not a chief (without the rule: "chief" -> c_level)
    ("Assistant to the CFO", "individual_contributor"),
    ("Assistant to the Chief Executive Officer", "individual_contributor"),
    # ... nor a manager
    ("Assistant Manager", "individual_contributor"),
    # an assistant director is a director
    ("Assistant Director of IT", "director"),
])
def test_the_seniority_of_an_assistant(title: str, seniority: str) -> None:
    assert seniority_of(title) == seniority
