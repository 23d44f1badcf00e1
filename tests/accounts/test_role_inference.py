"""Role inference against the synthetic world's ground truth (each contact's
`committee_role`, which the world draws before the title) and on messy titles.

Measured on 1,200 accounts (seed 20251, 12 months; 2,972 contacts): the shipped role
table reads precision 0.681 and recall 0.685 from title, department and seniority, and
0.671 / 0.654 from the title alone. The issue's target (0.95 / 0.90) is out of reach for
any reader of titles on this world: it draws seniority and department per role from
overlapping profiles (a director in the buying department is a decision maker three
times in ten and a champion 35 times in a hundred), and the title from those two only.
The best any table can do is to name the most common role of each (seniority,
department) cell: precision 0.682, recall 0.686; knowing the account's hidden buying
department as well would reach 0.79. The CRM override is exact when the CRM has roles.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.accounts.roles import DEFAULT_ROLES, infer_role
from mql.accounts.titles import department_of, normalise, seniority_of
from mql.model.accounts import RoleTable
from mql.records import Contact
from mql.synthetic import World, WorldParameters

TABLE_ONLY = RoleTable(DEFAULT_ROLES.rules, override=None)


@pytest.fixture(scope="module")
def contacts() -> list[tuple[Contact, object]]:
    world = World(WorldParameters(accounts=1200, months=12), random.Random(20251))
    return [(c, s.account) for s in world.accounts() for c in s.contacts]


def precision_recall(pairs: list[tuple[str | None, str | None]]) -> tuple[float, float]:
    """Micro precision and recall of (truth, guess) pairs; None is "not on the committee"."""
    tp = sum(1 for t, g in pairs if g is not None and g == t)
    fp = sum(1 for t, g in pairs if g is not None and g != t)
    fn = sum(1 for t, g in pairs if t is not None and g != t)
    return tp / (tp + fp), tp / (tp + fn)


def test_role_table_precision_and_recall_on_the_world(contacts: list) -> None:
    pairs = [(c.attributes["committee_role"], infer_role(c, a, TABLE_ONLY).role)
             for c, a in contacts]
    precision, recall = precision_recall(pairs)
    assert len(pairs) > 2000  # 2,972 when measured
    assert precision >= 0.68 and recall >= 0.68  # measured 0.681 / 0.685


def test_the_table_reaches_what_title_department_and_seniority_can_tell(contacts: list
                                                                         ) -> None:
    cells: dict[tuple[str, str], Counter[str | None]] = defaultdict(Counter)
    for c, _ in contacts:
        a = c.attributes
        cells[(a["seniority"], a["department"])][a["committee_role"]] += 1
    best = {cell: counts.most_common(1)[0][0] for cell, counts in cells.items()}
    ceiling = precision_recall([(c.attributes["committee_role"],
                                 best[(c.attributes["seniority"], c.attributes["department"])])
                                for c, _ in contacts])
    ours = precision_recall([(c.attributes["committee_role"],
                              infer_role(c, a, TABLE_ONLY).role) for c, a in contacts])
    assert ceiling[0] < 0.7 and ceiling[1] < 0.7  # far below 0.95 / 0.90 for anyone
    assert ours[0] >= ceiling[0] - 0.005 and ours[1] >= ceiling[1] - 0.005


def test_titles_alone_say_seniority_and_most_departments(contacts: list) -> None:
    n = len(contacts)
    seniority = sum(seniority_of(c.attributes["title"]) == c.attributes["seniority"]
                    for c, _ in contacts)
    department = sum(department_of(c.attributes["title"]) == c.attributes["department"]
                     for c, _ in contacts)
    assert seniority / n >= 0.998  # measured 0.999
    assert department / n >= 0.76  # measured 0.763 ("Consultant" names no department)
    pairs = [(c.attributes["committee_role"],
              infer_role(Contact(c.email, c.account, {"title": c.attributes["title"]}), a,
                         TABLE_ONLY).role) for c, a in contacts]
    precision, recall = precision_recall(pairs)
    assert precision >= 0.67 and recall >= 0.65  # measured 0.671 / 0.654


def test_the_crm_role_wins_over_every_rule(contacts: list) -> None:
    pairs = [(c.attributes["committee_role"], infer_role(c, a, DEFAULT_ROLES))
             for c, a in contacts if c.attributes["committee_role"]]
    assert all(g.role == t and g.source == "crm" for t, g in pairs)


# messy titles as people type them -> (seniority, department, role)
@pytest.mark.parametrize(("title", "expected"), [
    ("Sr. Dir, InfoSec & GRC", ("director", "security", "security")),
    ("VP Eng", ("vp", "engineering", "decision_maker")),
    ("Head of Procurement EMEA", ("director", "procurement", "procurement")),
    ("CHIEF FINANCIAL OFFICER", ("c_level", "finance", "economic_buyer")),
    ("Leiter Einkauf", ("director", "procurement", "procurement")),
    ("Directeur Financier", ("director", "finance", "economic_buyer")),
    ("Jefe de Seguridad", ("director", "security", "security")),
    ("Responsable Sécurité Informatique", ("manager", "security", "security")),
    ("  sr software engineer ", ("individual_contributor", "engineering",
                                 "technical_evaluator")),
    ("Cheif Informaton Oficer", ("c_level", "it", "decision_maker")),
    ("Demand Gen Manager", ("manager", "marketing", "champion")),
    ("MBA Candidate", ("student", None, None)),
    ("Recruiter", ("individual_contributor", "hr", None)),
])
def test_messy_titles(title: str, expected: tuple[str, str | None, str | None]) -> None:
    guess = infer_role(Contact("x@a.example", "a.example", {"title": title}), None,
                       DEFAULT_ROLES)
    assert (guess.seniority, guess.department, guess.role) == expected


def test_normalised_titles_are_plain_words() -> None:
    assert normalise("V.P., Sales & Marketing") == "vice president sales and marketing"
    assert normalise("Geschäftsführer") == "chief executive officer"


TITLES = ["Sr. Dir, InfoSec & GRC", "VP Eng", "Head of Procurement EMEA", "CFO",
          "Directeur Financier", "Software Engineer", "Demand Gen Manager", "Recruiter",
          "Chief Information Officer", "IT Manager", "Leiter Einkauf"]


@settings(max_examples=60)
@given(st.sampled_from(TITLES), st.sampled_from(["lower", "upper", "pad", "dot", "and"]))
def test_careless_typing_does_not_change_the_role(title: str, how: str) -> None:
    # the synthetic world's careless forms: case, stray spaces, a trailing dot, & as "and"
    typed = {"lower": title.lower(), "upper": title.upper(), "pad": f"  {title} ",
             "dot": f"{title}.", "and": title.replace("&", "and")}[how]
    def role(t: str) -> object:
        return infer_role(Contact("x@a.example", "a.example", {"title": t}), None,
                          DEFAULT_ROLES)
    assert role(typed) == role(title)
