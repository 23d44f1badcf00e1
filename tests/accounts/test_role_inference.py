"""Role inference against the synthetic world's ground truth (each contact's
`committee_role`, which the world draws before the title; the CRM override is switched
off for the measurement) and on messy titles.

Measured on 1,200 accounts (seed 20251, 12 months; 2,972 contacts, committee members and
the students, job seekers and bystanders who also became contacts): the shipped role
table reads, from title, department and seniority, micro precision 0.975 / recall 0.981
(macro over the seven roles 0.972 / 0.984); from the title alone micro 0.993 / 0.953
(macro 0.991 / 0.951). The issue's target is 0.95 / 0.90. What is left is mostly the 6%
of committee members whose title names no role ("Senior Manager", "Consultant"): read
with the department they are guessed, from the title alone they are not guessed at all
(recall, not precision, pays). Before the world drew titles from role vocabularies
(accounts16) no reader could pass 0.68 / 0.69.
"""

from __future__ import annotations

import random

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


def macro_precision_recall(pairs: list[tuple[str | None, str | None]]
                           ) -> tuple[float, float]:
    """Precision and recall per role (the roles the truth has), then their means."""
    precisions, recalls = [], []
    for role in sorted({t for t, _ in pairs if t is not None}):
        tp = sum(1 for t, g in pairs if g == role and t == role)
        guessed = sum(1 for _, g in pairs if g == role)
        actual = sum(1 for t, _ in pairs if t == role)
        precisions.append(tp / guessed if guessed else 0.0)
        recalls.append(tp / actual)
    return sum(precisions) / len(precisions), sum(recalls) / len(recalls)


def test_hand_counted_precision_and_recall() -> None:
    # truth, guess: one hit, one wrong role (a false positive and a miss), one silent miss,
    # one bystander guessed (a false positive): tp 1, fp 2, fn 2
    pairs = [("champion", "champion"), ("user", "champion"), ("security", None),
             (None, "user")]
    assert precision_recall(pairs) == (1 / 3, 1 / 3)
    # champion: p 1/2 r 1; user: p 0 (guessed once, wrongly) r 0; security: p 0 r 0
    assert macro_precision_recall(pairs) == ((0.5 + 0 + 0) / 3, (1 + 0 + 0) / 3)


def test_role_table_meets_the_target_on_the_world(contacts: list) -> None:
    pairs = [(c.attributes["committee_role"], infer_role(c, a, TABLE_ONLY).role)
             for c, a in contacts]
    assert len(pairs) > 2000  # 2,972 when measured
    precision, recall = precision_recall(pairs)
    assert precision >= 0.97 and recall >= 0.975  # measured 0.975 / 0.981 (target .95/.90)
    precision, recall = macro_precision_recall(pairs)
    assert precision >= 0.965 and recall >= 0.98  # measured 0.972 / 0.984


def test_titles_alone_meet_the_target(contacts: list) -> None:
    pairs = [(c.attributes["committee_role"],
              infer_role(Contact(c.email, c.account, {"title": c.attributes["title"]}), a,
                         TABLE_ONLY).role) for c, a in contacts]
    precision, recall = precision_recall(pairs)
    assert precision >= 0.99 and recall >= 0.95  # measured 0.993 / 0.953
    precision, recall = macro_precision_recall(pairs)
    assert precision >= 0.99 and recall >= 0.945  # measured 0.991 / 0.951


def test_titles_alone_say_seniority_and_many_departments(contacts: list) -> None:
    n = len(contacts)
    seniority = sum(seniority_of(c.attributes["title"]) == c.attributes["seniority"]
                    for c, _ in contacts)
    department = sum(department_of(c.attributes["title"]) == c.attributes["department"]
                     for c, _ in contacts)
    assert seniority / n >= 0.998  # measured 0.999
    # measured 0.680: "Solutions Architect", "Staff Engineer" and generic titles name no
    # department (engineering or IT), a CEO's title says executive, not the buying one
    assert department / n >= 0.675


def test_role_less_titles_are_what_the_title_alone_misses(contacts: list) -> None:
    generic = {"director", "manager", "senior manager", "consultant", "specialist",
               "associate", "team member"}
    regions = {"emea", "apac", "dach", "americas", "uk", "and", "i", "na", "global"}

    def role_less(title: str) -> bool:
        return " ".join(w for w in normalise(title).split() if w not in regions) in generic

    committee = [(c, a) for c, a in contacts if c.attributes["committee_role"] is not None]
    share = sum(role_less(c.attributes["title"]) for c, _ in committee) / len(committee)
    assert 0.04 < share < 0.08  # measured 0.058 (the world draws 6%)
    missed = [c.attributes["title"] for c, a in committee
              if infer_role(Contact(c.email, c.account, {"title": c.attributes["title"]}),
                            a, TABLE_ONLY).role != c.attributes["committee_role"]]
    # measured: 133 of the 135 misses are role-less (the others: typos the reader misses)
    assert sum(role_less(t) for t in missed) >= 0.95 * len(missed)


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
    ("Head of SecOps", ("director", "security", "decision_maker")),
    ("Security Architect", ("individual_contributor", "security", "security")),
    ("Staff Engineer", ("individual_contributor", "engineering", "technical_evaluator")),
    ("Software Engineer", ("individual_contributor", "engineering", "user")),
    ("Head of Marketing", ("director", "marketing", "decision_maker")),
    ("Director of Marketing", ("director", "marketing", "champion")),
    ("Chief Strategy Officer", ("c_level", "executive", "economic_buyer")),
    ("General Manager", ("c_level", "executive", "decision_maker")),
    ("Procuremnet Manager, UK&I", ("manager", "procurement", "procurement")),
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



def role_table(when: str) -> RoleTable:
    from mql.model.parse import parse_model

    m = parse_model(f"""\
name: roles
fit:
  rules: [{{name: any, when: {{field: contact.title, op: exists}}, points: 1}}]
intent:
  rules: [{{name: demo, event: demo_request, points: 40}}]
mql:
  thresholds: {{intent: 40}}
accounts:
  roles:
    rules:
      - {{role: economic_buyer, seniorities: [c_level], when: {when}}}
      - {{role: decision_maker, seniorities: [c_level]}}
""", source="roles.yaml")
    assert m.accounts is not None
    return m.accounts.roles


def test_a_role_rule_with_a_condition_reads_the_contacts_account() -> None:
    # the CEO of a small company signs the cheque; of a large one, decides: a rule's
    # `when` reads the account's record, and a line whose condition fails is skipped
    from mql.records import Account

    small_signs = role_table("{field: account.employees, op: lt, value: 200}")
    large_signs = role_table("{field: account.employees, op: gte, value: 200}")
    ceo = Contact("ceo@a.example", "a.example", {"title": "CEO"})
    small = Account("a.example", {"employees": 50})
    large = Account("a.example", {"employees": 5000})
    for _ in range(2):  # the second time from the remembered conditions
        guess = infer_role(ceo, small, small_signs)
        assert (guess.role, guess.seniority, guess.source) == ("economic_buyer", "c_level",
                                                               "rule 1")
        guess = infer_role(ceo, large, small_signs)
        assert (guess.role, guess.source) == ("decision_maker", "rule 2")
        # no account record: the condition reads no employees and fails
        assert infer_role(ceo, None, small_signs).source == "rule 2"
        # the other table answers by its own condition, never by a remembered one
        assert infer_role(ceo, large, large_signs).source == "rule 1"
        assert infer_role(ceo, small, large_signs).source == "rule 2"


def test_a_remembered_condition_is_never_used_for_another_at_the_same_id() -> None:
    # the memo is keyed by id(): a condition freed and another allocated at its address
    # (a model reloaded in a long-running process) must be compiled anew; the stale entry
    # is made here by hand, a predicate that would say yes to everyone
    from mql.accounts import roles
    from mql.records import Account

    table = role_table("{field: account.employees, op: lt, value: 200}")
    cond = table.rules[0].when
    roles._PREDICATES[id(cond)] = (object(), lambda get: True)
    ceo = Contact("ceo@a.example", "a.example", {"title": "CEO"})
    assert infer_role(ceo, Account("a.example", {"employees": 5000}), table).source == "rule 2"
