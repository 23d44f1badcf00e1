"""Each contact's buying-committee role: the CRM's word when it names a role (the role
table's `override` field), else the first line of the model's role table that matches the
contact's title, department and seniority (the department and seniority fields when the
records have them, else what the normalised title says).

>>> from mql.records import Contact
>>> def role(title, **more):
...     return infer_role(Contact("x@a.example", "a.example", {"title": title, **more}),
...                       None, DEFAULT_ROLES)
>>> role("Sr. Dir, InfoSec & GRC").role, role("VP Eng").role
('security', 'decision_maker')
>>> role("Head of Procurement EMEA").role, role("Directeur Financier").role
('procurement', 'economic_buyer')
>>> role("Staff Engineer").role, role("Working Student").role
('technical_evaluator', None)
>>> guess = role("Intern", committee_role="champion")
>>> guess.role, guess.source
('champion', 'crm')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mql.accounts.titles import department_of, phrase_in, seniority_of, words_of
from mql.model.accounts import DEFAULT_ROLES, DEPARTMENT_NAMES, ROLES, SENIORITY_LEVELS
from mql.model.accounts import RoleTable as RoleTable
from mql.records import Account, Contact
from mql.scoring.evaluate import compile_condition, is_missing
from mql.scoring.fit import record_getter

__all__ = ["DEFAULT_ROLES", "RoleGuess", "RoleTable", "infer_role", "role_words"]


@dataclass(frozen=True, slots=True)
class RoleGuess:
    """A contact's role (None: not on the committee as far as the table knows), the
    seniority and department it was read with, and where it came from: ``crm`` (the
    override field), ``rule N`` (the N-th line of the role table, from 1) or ``none``."""

    role: str | None
    seniority: str | None
    department: str | None
    source: str


def _text(value: Any) -> str | None:
    return None if is_missing(value) else str(value).strip().lower()


_GUESSES: dict[tuple[int, str | None, str | None, str | None, str | None],
               tuple[RoleTable, RoleGuess]] = {}


def infer_role(contact: Contact, account: Account | None, table: RoleTable) -> RoleGuess:
    """The committee role of `contact` under `table` (see the module). Without `when`
    conditions a guess reads only the title, seniority, department and override
    fields: it is remembered for those (an account's contacts share a few titles)."""
    if any(rule.when is not None for rule in table.rules):
        return _infer_role(contact, account, table)
    attrs = contact.attributes
    key = (id(table), _text(attrs.get("title")), _text(attrs.get("seniority")),
           _text(attrs.get("department")),
           _text(attrs.get(table.override)) if table.override is not None else None)
    found = _GUESSES.get(key)
    if found is not None and found[0] is table:
        return found[1]
    guess = _infer_role(contact, account, table)
    if len(_GUESSES) > 65536:
        _GUESSES.clear()
    _GUESSES[key] = (table, guess)
    return guess


def _infer_role(contact: Contact, account: Account | None, table: RoleTable) -> RoleGuess:
    attrs = contact.attributes
    title = _text(attrs.get("title")) or ""
    seniority = _text(attrs.get("seniority"))
    if seniority not in SENIORITY_LEVELS:
        seniority = seniority_of(title) if title else None
    department = _text(attrs.get("department"))
    if department not in DEPARTMENT_NAMES:
        department = department_of(title) if title else None
    if table.override is not None:
        given = _text(attrs.get(table.override))
        if given is not None and given.replace(" ", "_") in ROLES:
            return RoleGuess(given.replace(" ", "_"), seniority, department, "crm")
    words = words_of(title)
    get = None
    for n, rule in enumerate(table.rules, start=1):
        if rule.departments and department not in rule.departments:
            continue
        if rule.seniorities and seniority not in rule.seniorities:
            continue
        if rule.titles and not any(phrase_in(words, p) for p in rule.titles):
            continue
        if rule.when is not None:
            get = get or record_getter(contact, account)
            if not _compiled(rule.when)(get):
                continue
        return RoleGuess(rule.role, seniority, department, f"rule {n}")
    return RoleGuess(None, seniority, department, "none")


_PREDICATES: dict[int, tuple[object, Any]] = {}


def _compiled(cond: Any) -> Any:
    found = _PREDICATES.get(id(cond))
    if found is None or found[0] is not cond:
        if len(_PREDICATES) > 1024:
            _PREDICATES.clear()
        found = (cond, compile_condition(cond))
        _PREDICATES[id(cond)] = found
    return found[1]


def role_words(role: str | None) -> str:
    """A role as a seller says it.

    >>> role_words("economic_buyer"), role_words(None)
    ('economic buyer', 'no known role')
    """
    return "no known role" if role is None else role.replace("_", " ")
