"""The condition grammar's semantics, operator by operator, with truth tables by hand
(src/mql/scoring/evaluate.py's module doc is the spec; docs/model.md states the same)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from mql.model.conditions import All, AnyOf, Compare, Not
from mql.model.lists import NamedList
from mql.scoring.evaluate import as_number, compile_condition

F = "contact.title"
MISSING: list[Any] = [None, "", "   "]


def holds(op: str, value: Any, actual: Any, *, case: bool = False) -> bool:
    # list operands are tuples, as the model parser builds them (conditions are frozen)
    return compile_condition(Compare(F, op, value, case))({F: actual}.get)


TABLE = [
    # op, operand, case_sensitive, actual, expected
    ("eq", "VP", False, "vp", True), ("eq", "VP", True, "vp", False),
    ("eq", "VP", True, "VP", True), ("eq", "VP", False, "VPs", False),
    ("eq", 200, False, "200", True), ("eq", 200, False, 200.0, True),
    ("eq", 200, False, "200.5", False), ("eq", 200, False, "two hundred", False),
    ("eq", True, False, True, True), ("eq", True, False, "TRUE", True),
    ("eq", True, False, 1, False), ("eq", False, False, False, True),
    ("eq", False, False, True, False), ("eq", "true", False, True, True),
    ("ne", "VP", False, "vp", False), ("ne", "VP", False, "CTO", True),
    ("ne", "VP", True, "vp", True), ("ne", 3, False, "3", False), ("ne", 3, False, 4, True),
    ("in", ("US", "CA"), False, "ca", True), ("in", ("US", "CA"), False, "MX", False),
    ("in", ("US", "CA"), True, "ca", False), ("in", (1, 2), False, "2", True),
    ("not_in", ("US", "CA"), False, "us", False), ("not_in", ("US", "CA"), False, "MX", True),
    ("not_in", ("US", "CA"), True, "us", True),
    ("gt", 200, False, 201, True), ("gt", 200, False, 200, False),
    ("gt", 200, False, "250", True), ("gt", 200, False, "many", False),
    ("gte", 200, False, 200, True), ("gte", 200, False, 199.9, False),
    ("lt", 200, False, 199, True), ("lt", 200, False, 200, False),
    ("lte", 200, False, 200, True), ("lte", 200, False, 200.1, False),
    ("gt", 0, False, True, False),  # a boolean is not a number
    ("between", (50, 500), False, 50, True), ("between", (50, 500), False, 500, True),
    ("between", (50, 500), False, 49, False), ("between", (50, 500), False, 501, False),
    ("between", (50, 500), False, "120", True), ("between", (50, 500), False, "x", False),
    ("contains", "/Pricing", False, "https://x/pricing/team", True),
    ("contains", "/Pricing", True, "https://x/pricing/team", False),
    ("contains", "/Pricing", True, "https://x/Pricing/team", True),
    ("contains", "/pricing", False, "/blog", False), ("contains", "2", False, 123, True),
    ("starts_with", "VP", False, "vp marketing", True),
    ("starts_with", "VP", True, "vp marketing", False),
    ("starts_with", "VP", True, "VP Marketing", True),
    ("starts_with", "VP", False, "svp", False),
    ("ends_with", ".EDU", False, "mit.edu", True), ("ends_with", ".EDU", True, "mit.edu", False),
    ("ends_with", ".EDU", True, "MIT.EDU", True), ("ends_with", ".edu", False, "edu.com", False),
    ("matches", r"^v\.?p\b", False, "V.P. Sales", True),
    ("matches", r"^v\.?p\b", True, "V.P. Sales", False),
    ("matches", r"chief|head", False, "Head of IT", True),
    ("matches", r"^chief", False, "Deputy Chief", False), ("matches", r"^4\d$", False, 42, True),
    ("exists", None, False, "anything", True), ("exists", None, False, 0, True),
]


@pytest.mark.parametrize(("op", "operand", "case", "actual", "expected"), TABLE)
def test_each_operator_on_a_present_value(op, operand, case, actual, expected) -> None:
    assert holds(op, operand, actual, case=case) is expected


@pytest.mark.parametrize("op", ["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte",
                                "between", "contains", "starts_with", "ends_with",
                                "matches", "exists"])
@pytest.mark.parametrize("case", [False, True])
def test_a_missing_value_makes_every_operator_false_but_missing(op, case) -> None:
    operand = {"in": ("a",), "not_in": ("a",), "between": (1, 2), "exists": None}.get(op, "a")
    if op in ("gt", "gte", "lt", "lte"):
        operand = 1
    for actual in MISSING:
        assert holds(op, operand, actual, case=case) is False
        negated = compile_condition(Not(Compare(F, op, operand, case)))({F: actual}.get)
        assert negated is True
    for actual in MISSING:
        assert holds("missing", None, actual) is True
    assert holds("missing", None, "x") is False
    assert compile_condition(Compare(F, op, operand, case))({}.get) is False


def test_all_any_and_not_combine_as_in_logic() -> None:
    vp, us = Compare(F, "starts_with", "VP"), Compare("contact.country", "eq", "US")
    values = {F: "VP Sales", "contact.country": "DE"}
    assert compile_condition(All((vp, us)))(values.get) is False
    assert compile_condition(AnyOf((vp, us)))(values.get) is True
    assert compile_condition(All((vp, Not(us))))(values.get) is True
    assert compile_condition(AnyOf((Not(vp), us)))(values.get) is False
    assert compile_condition(All(()))(values.get) is True
    assert compile_condition(AnyOf(()))(values.get) is False


def test_an_integer_beyond_any_float_compares_as_infinite_on_its_side() -> None:
    # 10**400 reads as +inf (as the text "1e400" does), -10**400 as -inf
    assert as_number(10**400) == math.inf
    assert as_number(-(10**400)) == -math.inf
    huge = compile_condition(Compare("account.revenue", "gt", 1e300))
    assert huge({"account.revenue": 10**400}.get)
    assert not huge({"account.revenue": -(10**400)}.get)


def test_list_values_compare_trimmed_and_case_insensitively() -> None:
    # docs/model.md, lists: values are trimmed and compared case-insensitively; a missing
    # value is in no list and not "not in" one either
    personal = NamedList("personal_email", frozenset({"gmail.com", "yahoo.com"}))
    assert holds("in_list", personal, " Gmail.COM ")
    assert not holds("in_list", personal, "acme.example")
    assert not holds("not_in_list", personal, " Gmail.COM ")
    assert holds("not_in_list", personal, "acme.example")
    for missing in MISSING:
        assert not holds("in_list", personal, missing)
        assert not holds("not_in_list", personal, missing)


def test_in_a_list_of_texts_follows_case_sensitive() -> None:
    assert holds("in", ("VP", "CTO"), "vp")
    assert not holds("in", ("VP", "CTO"), "vp", case=True)
    assert holds("in", ("VP", "CTO"), "VP", case=True)
    assert holds("not_in", ("VP", "CTO"), "vp", case=True)
    assert not holds("not_in", ("VP", "CTO"), "VP", case=True)
    assert not holds("not_in", ("VP", "CTO"), "vp")


def test_in_a_list_of_numbers_and_texts_compares_each_by_its_kind() -> None:
    # numbers compare as numbers ("200" is 200), texts by the case rule
    assert holds("not_in", (200, 500), "300")
    assert not holds("not_in", (200, 500), "200")
    assert not holds("not_in", (200, 500), 500.0)
    assert holds("in", (200, "VP"), "vp")
    assert not holds("in", (200, "VP"), "vp", case=True)
    assert holds("not_in", (200, "VP"), "vp", case=True)
