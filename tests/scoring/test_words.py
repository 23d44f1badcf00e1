"""The words a seller reads for a decision (`Decision.because`, `Reason.words`, `ago`),
written out by hand for each kind of path; the CLI, the API and the demo all show these."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mql.model.conditions import Compare
from mql.scoring.evaluate import compile_condition
from mql.scoring.explain import exit_words
from mql.scoring.qualify import Decision, Reason, ago

NOW = datetime(2026, 3, 4, 10, tzinfo=UTC)


@pytest.mark.parametrize(("before", "words"), [
    (timedelta(days=1), "1 day ago"),
    (timedelta(days=2, hours=23), "2 days ago"),  # whole days, rounded down
    (timedelta(hours=23, minutes=59), "23 hours ago"),
    (timedelta(hours=1), "1 hour ago"),
    (timedelta(minutes=59, seconds=59), "59 minutes ago"),
    (timedelta(minutes=1), "1 minute ago"),
    (timedelta(seconds=59), "just now"),
    (timedelta(0), "just now"),
    (timedelta(seconds=-1), "in the future"),
])
def test_ago_names_the_largest_whole_unit(before: timedelta, words: str) -> None:
    assert ago(NOW - before, NOW) == words


def test_a_threshold_path_reads_as_its_comparisons() -> None:
    reason = Reason("thresholds", "#2", "fit 30 >= 30, total 110.25 >= 110",
                    (("fit", 30.0, 30.0), ("total", 110.25, 110.0)))
    assert reason.words(NOW) == "fit 30 ≥ 30 and total 110.2 ≥ 110"
    # a threshold reason without values (an old stored one) reads as its line
    bare = Reason("thresholds", "#1", "fit 60 >= 50")
    assert bare.words(NOW) == "thresholds #1: fit 60 >= 50"


def test_a_fast_track_reads_as_the_event_and_how_long_ago() -> None:
    at = NOW - timedelta(hours=5)
    track = Reason("fast_track", "hand_raiser", "demo_request/trial_signup at 2026-03-04T05:00Z",
                   at=at)
    assert track.words(NOW) == "demo request or trial signup 5 hours ago"
    # "at" inside an event name is not the time separator
    assert Reason("fast_track", "x", "chat_at_booth at 2026-03-04T05:00Z", at=at).words(
        NOW) == "chat at booth 5 hours ago"
    # without a time: the event alone; without a detail: the time alone after the name
    assert Reason("fast_track", "demo", "demo_request").words(NOW) == "demo request"
    assert Reason("fast_track", "demo_track", "", at=at).words(NOW) == "demo track 5 hours ago"
    assert Reason("fast_track", "demo_track", "").words(NOW) == "fast track demo_track"


def test_a_criterion_reads_as_its_name_in_words() -> None:
    reason = Reason("criteria", "us_midmarket_engaged", "contact.country eq US and ...")
    assert reason.words(NOW) == "criterion us midmarket engaged"


def _decision(**changes: object) -> Decision:
    base = dict(contact="jane@acme.example", as_of=NOW,
                scores={"fit": 60.0, "intent": 40.0, "total": 100.0}, grade="B2", mql=False)
    return Decision(**{**base, **changes})  # type: ignore[arg-type]


def test_because_joins_every_path_and_names_exclusions() -> None:
    paths = (Reason("thresholds", "#1", "", (("fit", 60.0, 50.0), ("intent", 40.0, 30.0))),
             Reason("fast_track", "demo", "demo_request at x", at=NOW - timedelta(days=2)))
    assert _decision(mql=True, reasons=paths).because() == (
        "fit 60 ≥ 50 and intent 40 ≥ 30; demo request 2 days ago")
    assert _decision().because() == "not an MQL"
    assert _decision(excluded_by=("competitor", "student_or_job_seeker")).because() == (
        "excluded by competitor, student or job seeker")


def test_because_names_the_exit_rules_that_hold() -> None:
    # an exit rule that holds: never an MQL now, and the rules are named in words
    assert _decision(exits=("went_quiet", "bounced")).because() == (
        "exits: went quiet, bounced")


@pytest.mark.parametrize(("expected", "actual", "holds"), [
    # a CSV or form sends booleans as text: "true"/"false" in any case, with blanks
    (True, "true", True), (True, " True ", True), (True, "false", False),
    (False, "FALSE", True), (False, "false ", True), (False, "true", False),
    (True, True, True), (True, False, False), (False, False, True), (False, True, False),
    (False, 0, False),  # a number is not a boolean
])
def test_a_boolean_operand_matches_booleans_and_their_words(
        expected: bool, actual: object, holds: bool) -> None:
    test = compile_condition(Compare("contact.opted_in", "eq", expected, False))
    assert test({"contact.opted_in": actual}.get) is holds


def test_ne_of_a_boolean_and_a_number_are_the_negations() -> None:
    ne = compile_condition(Compare("f", "ne", True, False))
    assert ne({"f": "true"}.get) is False and ne({"f": "no"}.get) is True
    eq = compile_condition(Compare("f", "eq", 3, False))
    assert eq({"f": "3.0"}.get) is True and eq({"f": 4}.get) is False


def test_text_equality_follows_the_case_flag_on_both_sides() -> None:
    insensitive = compile_condition(Compare("f", "eq", "Acme", False))
    sensitive = compile_condition(Compare("f", "eq", "Acme", True))
    assert insensitive({"f": "ACME"}.get) is True and sensitive({"f": "ACME"}.get) is False
    assert sensitive({"f": "Acme"}.get) is True


@pytest.mark.parametrize(("op", "operand", "actual", "holds"), [
    # case-sensitive text operators compare the text as written, on both sides
    ("contains", "Acme", "The Acme Corp", True), ("contains", "Acme", "the acme corp", False),
    ("starts_with", "VP", "VP Sales", True), ("starts_with", "VP", "vp sales", False),
    ("ends_with", "Inc", "Acme Inc", True), ("ends_with", "Inc", "Acme inc", False),
    ("matches", "^[0-9]+$", 1234, True),  # a number is matched as its text
])
def test_case_sensitive_text_operators(op: str, operand: str, actual: object,
                                       holds: bool) -> None:
    test = compile_condition(Compare("f", op, operand, True))
    assert test({"f": actual}.get) is holds


@pytest.mark.parametrize("op", ["contains", "starts_with", "ends_with", "eq"])
def test_blank_text_is_missing_for_every_text_operator(op: str) -> None:
    # "   " is missing: no operator holds, even one whose operand is a blank
    assert compile_condition(Compare("f", op, " ", False))({"f": "   "}.get) is False


def test_a_number_field_compares_as_text_with_a_text_operand() -> None:
    assert compile_condition(Compare("f", "contains", "20", False))({"f": 2026}.get) is True
    assert compile_condition(Compare("f", "eq", "200", False))({"f": 200}.get) is True
    assert compile_condition(Compare("f", "eq", "200", False))({"f": 200.5}.get) is False


def test_an_unknown_operator_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"^unknown operator 'near'$"):
        compile_condition(Compare("f", "near", "x", False))


def test_a_reason_as_text_names_its_kind_with_a_dash() -> None:
    assert str(Reason("fast_track", "demo", "demo_request at 2026-03-02T09:00Z")) == (
        "fast-track demo: demo_request at 2026-03-02T09:00Z")


def test_an_exit_on_a_job_change_names_the_latest_change_before_the_moment() -> None:
    from mql.model.conditions import Activity
    from mql.model.spec import ExitRule
    from mql.records import Event
    from mql.scoring.explain import exit_words

    changed = ExitRule("changed_job", Activity(("job_change",), 1, 90), "changed job")

    def change(day: int, words: object) -> Event:
        return Event(f"j{day}", "job_change", datetime(2026, 3, day, 9, tzinfo=UTC),
                     contact="jane@acme.example", properties={"change": words})

    own = [change(1, "title Director of IT -> VP IT"), change(3, "title VP IT -> Student"),
           change(5, "company acme -> globex"),
           Event("p", "page_view", datetime(2026, 3, 4, tzinfo=UTC), contact="jane@acme.example")]
    # NOW is 4 March 10:00: the change of 5 March is not seen yet
    assert exit_words(changed, own, NOW) == (
        "changed job: title VP IT -> Student, since 2026-03-03")
    # no change seen, or one without words: the rule's reason alone
    assert exit_words(changed, own[3:], NOW) == "changed job"
    assert exit_words(changed, [change(2, 42)], NOW) == "changed job"
    # an exit on another event reads as its reason whatever the events
    quiet = ExitRule("unsubscribed", Activity(("email_unsubscribe",)), "unsubscribed")
    assert exit_words(quiet, own, NOW) == "unsubscribed"


def test_a_job_change_at_the_moment_itself_is_seen() -> None:
    from mql.model.conditions import Activity
    from mql.model.spec import ExitRule
    from mql.records import Event

    changed = ExitRule("changed_job", Activity(("job_change",), 1, 90), "changed job")
    now_change = Event("j", "job_change", NOW, contact="jane@acme.example",
                       properties={"change": "company acme -> globex"})
    assert exit_words(changed, [now_change], NOW) == (
        "changed job: company acme -> globex, since 2026-03-04")
