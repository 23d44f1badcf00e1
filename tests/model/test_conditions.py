"""Conditions as a reviewer reads them (explain, model diff) and the window facts the
scorers read from them: what an event must meet to count, whether a window needs state,
every activity leaf of a condition."""

from __future__ import annotations

from mql.model.conditions import (
    Activity,
    After,
    All,
    AnyOf,
    Compare,
    Measure,
    Not,
    activities,
    counted_where,
    needs_window_state,
)
from mql.model.windows import CalendarWindow

PRICING = Compare("url", "contains", "/pricing")


def test_an_activity_reads_with_its_events_filter_sequence_and_window() -> None:
    assert str(Activity(("demo_request", "trial_signup"), 2, 14.0)) == (
        "2+ demo_request/trial_signup in 14 days")
    assert str(Activity(("page_view",), 3, 7.5, where=PRICING)) == (
        "3+ page_view where url contains '/pricing' in 7.5 days")
    assert str(Activity(("page_view",), 2, 30.0, calendar=CalendarWindow("quarter"))) == (
        "2+ page_view in this quarter (UTC)")
    assert str(Activity(("page_view",), 1, 30.0,
                        calendar=CalendarWindow("business_days", 5, team="sales"))) == (
        "1+ page_view in the last 5 business days (sales)")
    assert str(Activity(("page_view",), 4, 30.0, where=PRICING,
                        measure=Measure("distinct", "url"))) == (
        "4+ distinct url of page_view where url contains '/pricing' in 30 days")
    assert str(Activity(("page_view",), 1, 30.0, measure=Measure("avg", "seconds", 90))) == (
        "avg of seconds of page_view >= 90 in 30 days")


def test_a_sequence_reads_with_its_earlier_events() -> None:
    earlier = After(("webinar_attended", "content_download"), where=Compare(
        "topic", "eq", "security"), min_count=2, within_days=14)
    assert str(earlier) == ("after 2+ webinar_attended/content_download where topic eq "
                            "'security' within 14 days before")
    assert str(After(("webinar_attended",))) == "after 1+ webinar_attended"
    assert str(Activity(("demo_request",), 1, 30.0, after=After(("trial_signup",)))) == (
        "1+ demo_request after 1+ trial_signup in 30 days")


def test_compound_conditions_read_with_their_words() -> None:
    leaf = Compare("contact.country", "in", ("US", "CA"))
    assert str(leaf) == "contact.country in ['US', 'CA']"
    assert str(Compare("contact.title", "exists", None)) == "contact.title exists"
    assert str(All((leaf, Not(PRICING)))) == (
        "(contact.country in ['US', 'CA'] and not url contains '/pricing')")
    assert str(AnyOf((leaf, PRICING))) == (
        "(contact.country in ['US', 'CA'] or url contains '/pricing')")


def test_what_an_event_must_meet_to_count() -> None:
    assert counted_where(Activity(("page_view",))) is None
    assert counted_where(Activity(("page_view",), where=PRICING)) == PRICING
    summed = Activity(("page_view",), where=PRICING, measure=Measure("sum", "seconds", 600))
    assert counted_where(summed) == PRICING
    # a maximum reaches the line when one event does: the value test joins the filter
    longest = Measure("max", "seconds", 60)
    assert counted_where(Activity(("page_view",), measure=longest)) == Compare(
        "seconds", "gte", 60)
    assert counted_where(Activity(("page_view",), where=PRICING, measure=longest)) == All(
        (PRICING, Compare("seconds", "gte", 60)))


def test_which_windows_need_state_beyond_recent_counts() -> None:
    assert not needs_window_state(Activity(("page_view",), 3))
    assert not needs_window_state(Activity(("page_view",), measure=Measure("max", "s", 5)))
    assert needs_window_state(Activity(("page_view",), measure=Measure("sum", "s", 5)))
    assert needs_window_state(Activity(("page_view",), 2, measure=Measure("distinct", "url")))
    assert needs_window_state(Activity(("page_view",), after=After(("webinar_attended",))))


def test_every_activity_leaf_depth_first() -> None:
    a, b, c = (Activity((name,)) for name in ("page_view", "demo_request", "trial_signup"))
    cond = All((a, AnyOf((PRICING, Not(b))), c))
    assert list(activities(cond)) == [a, b, c]
    assert list(activities(PRICING)) == []
    assert list(activities(None)) == []
    assert list(activities(b)) == [b]
