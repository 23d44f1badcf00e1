"""The rows a model is learned from (mql.learning.dataset), worked out by hand from its
docstrings and docs/learning.md: touches up to the moment oldest first, which fields are
learned from and why the others are left out, and the kind of a touch (a page view's first
section of its URL's path)."""

from __future__ import annotations

from datetime import UTC, datetime

from mql.learning.dataset import LeadRow, as_of, check_fields, is_numeric, touch_kind

AT = datetime(2026, 3, 1, tzinfo=UTC)


def test_touches_up_to_the_moment_oldest_first() -> None:
    touches = [("a", datetime(2026, 2, 27, tzinfo=UTC)),
               ("b", datetime(2026, 2, 20, tzinfo=UTC)),
               ("c", datetime(2026, 2, 28, 12, tzinfo=UTC)),
               ("d", datetime(2026, 3, 2, tzinfo=UTC))]
    assert as_of(touches, AT) == (("b", 9.0), ("a", 2.0), ("c", 0.5))
    # the touch that triggered the decision counts, at age 0
    assert as_of([("demo_request", AT)], AT) == (("demo_request", 0.0),)


def _rows(name: str, positives: list[object], negatives: list[object]) -> list[LeadRow]:
    return ([LeadRow(f"p{i}@a.example", {name: v}, label=True) for i, v in enumerate(positives)]
            + [LeadRow(f"n{i}@a.example", {name: v}, label=False)
               for i, v in enumerate(negatives)])


def test_a_field_filled_for_80_percent_of_the_positives_and_20_of_the_others_leaks() -> None:
    # 4 of 5 leads with the outcome have it, 1 of 5 without: exactly at both limits
    rows = _rows("contact.budget", ["a", "b", "a", "b", None], ["a", None, None, None, None])
    why = ("filled for 80% of the leads with the outcome and 20% of the others: it gets its "
           "value at or after the hand-off (leakage)")
    checked = check_fields(rows)
    assert checked.used == ()
    assert checked.skipped == (("contact.budget", why),)
    assert checked.warnings == (f"contact.budget: refused, {why}",)
    # one more negative filled (40%): learned from
    rows = _rows("contact.budget", ["a", "b", "a", "b", None], ["a", "b", None, None, None])
    assert check_fields(rows).used == ("contact.budget",)


def test_identifiers_are_not_learned_from_unless_named() -> None:
    rows = _rows("contact.email", ["x@a.example", "y@a.example"],
                 ["z@a.example", "w@a.example"])
    assert check_fields(rows).skipped == (("contact.email", "an identifier"),)
    assert check_fields(rows, requested=["contact.email"]).used == ("contact.email",)


def test_more_than_sixty_distinct_texts_are_free_text() -> None:
    sixty = [f"v{i}" for i in range(60)]
    rows = _rows("contact.title", sixty[:30], sixty[30:])
    assert check_fields(rows).used == ("contact.title",)
    rows = _rows("contact.title", [*sixty[:30], "v60"], sixty[30:])
    assert check_fields(rows).skipped == (("contact.title", "free text (61 distinct values)"),)


def test_only_a_page_views_url_gives_a_section() -> None:
    assert touch_kind("form_submit", {"url": "https://x.example/pricing"}) == "form_submit"


def test_the_first_section_of_the_path() -> None:
    def kind(url: str) -> str:
        return touch_kind("page_view", {"url": url})

    assert kind("https://x.example/pricing?plan=pro") == "page_view /pricing"
    assert kind("https://x.example/pricing#faq") == "page_view /pricing"
    assert kind("https://x.example/docs/api/v2") == "page_view /docs"
    # the path of this URL, not of the one in its query
    assert kind("https://x.example/r?u=https://y.example/blog") == "page_view /r"
    # a second ? or # stays in the query or fragment
    assert kind("https://x.example/pricing?a=1?b=2") == "page_view /pricing"
    assert kind("https://x.example/docs#a#b") == "page_view /docs"
    # no scheme
    assert kind("www.example.com/pricing") == "page_view /pricing"
    # a section of other characters, or longer than 40: the page view alone
    assert kind("https://x.example/caf%C3%A9") == "page_view"
    assert kind("https://x.example/" + "a" * 41) == "page_view"
    assert kind("https://x.example/" + "a" * 40) == "page_view /" + "a" * 40


def test_a_field_that_looks_sales_entered_is_left_out_unless_named() -> None:
    rows = _rows("account.status", ["open", "won"], ["open", "lost"])
    checked = check_fields(rows)
    assert checked.used == ()
    assert checked.skipped == (("account.status", "looks sales-entered (set at or after the "
                                                  "hand-off); name it in --features to use it"),)
    assert checked.warnings == ("account.status: left out, it looks sales-entered; name it in "
                                "--features to use it",)
    named = check_fields(rows, requested=["account.status"])
    assert named.used == ("account.status",)
    assert named.warnings == ("account.status: looks sales-entered (its value may be set at "
                              "or after the hand-off); used because --features names it",)


def test_fields_never_filled_or_of_one_value_are_left_out() -> None:
    rows = [LeadRow(f"p{i}@a.example", {"contact.a_empty": None,
                                        "contact.b_region": "EMEA" if i else "emea",
                                        "contact.c_seniority": s},
                    label=i % 2 == 0) for i, s in enumerate(["vp", "manager", "vp", "cfo"])]
    checked = check_fields(rows)
    # one value in two spellings is one value; the fields after a left-out one are read
    assert checked.used == ("contact.c_seniority",)
    assert checked.skipped == (("contact.a_empty", "never filled"),
                               ("contact.b_region", "one value only"))


def test_a_number_field_of_six_distinct_values_is_binned() -> None:
    def rows(values: list[object]) -> list[LeadRow]:
        return [LeadRow(f"p{i}@a.example", {"account.employees": v}) for i, v in
                enumerate(values)]

    assert is_numeric(rows([1, 2, 3, 4, 5, 6, None]), "account.employees")
    assert not is_numeric(rows([1, 2, 3, 4, 5, 5]), "account.employees")  # a table reads better
    assert not is_numeric(rows([1, 2, 3, 4, 5, 6, "many"]), "account.employees")
