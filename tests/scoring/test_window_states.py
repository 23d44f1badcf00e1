"""Window states beyond counting (distinct values, sums, averages, sequences): their
stored form, merged contacts and the moments they stop holding, each worked out by hand.

The stored form is what `contact_scores.state` holds: a state written by an earlier
version must read back the same, so the JSON is pinned here key by key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mql.model.conditions import Activity, After, Measure
from mql.records import Event
from mql.scoring.windows import (
    DistinctTimes,
    SequenceTimes,
    WindowAvg,
    WindowSum,
    averaged,
    describe_window,
    merge_windows,
    window_from_dict,
    window_to_dict,
)

D0 = datetime(2026, 3, 1, tzinfo=UTC)
MONTH = timedelta(days=30)


def day(n: float) -> datetime:
    return D0 + timedelta(days=n)


def test_each_state_is_stored_as_documented_json_and_read_back() -> None:
    stored = [
        (DistinctTimes(((day(0), "/a"), (day(1), "/b")), 2),
         {"window": "distinct", "keep": 2,
          "latest": [["2026-03-01T00:00:00+00:00", "/a"], ["2026-03-02T00:00:00+00:00", "/b"]]}),
        (WindowAvg(((day(0), 30.0, 1), (day(2), -15.5, 2)), 60.0, day(2)),
         {"window": "avg", "line": 60.0, "as_of": "2026-03-03T00:00:00+00:00",
          "points": [["2026-03-01T00:00:00+00:00", 30.0, 1],
                     ["2026-03-03T00:00:00+00:00", -15.5, 2]]}),
        (WindowSum(((day(0), 400.0), (day(1), 250.0)), 600.0, day(3)),
         {"window": "sum", "line": 600.0, "as_of": "2026-03-04T00:00:00+00:00",
          "sums": [["2026-03-01T00:00:00+00:00", 400.0], ["2026-03-02T00:00:00+00:00", 250.0]]}),
        (SequenceTimes(day(3), (day(4),), (day(0), day(1)), day(4)),
         {"window": "sequence", "as_of": "2026-03-05T00:00:00+00:00",
          "best": "2026-03-04T00:00:00+00:00", "pending": ["2026-03-05T00:00:00+00:00"],
          "priors": ["2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00"]}),
        (SequenceTimes(None, (), (day(0),), day(0)),
         {"window": "sequence", "as_of": "2026-03-01T00:00:00+00:00", "best": None,
          "pending": [], "priors": ["2026-03-01T00:00:00+00:00"]}),
    ]
    for state, form in stored:
        assert window_to_dict(state) == form
        assert window_from_dict(form) == state
    # numbers stored as JSON text of another type read back as the state's types
    assert window_from_dict({"window": "distinct", "keep": "2",
                             "latest": [["2026-03-01T00:00:00+00:00", 7]]}) == DistinctTimes(
        ((day(0), "7"),), 2)
    assert window_from_dict({"window": "sum", "line": 600, "as_of": "2026-03-01T00:00:00+00:00",
                             "sums": [["2026-03-01T00:00:00+00:00", 400]]}) == WindowSum(
        ((day(0), 400.0),), 600.0, day(0))
    # a sequence stored before `best` was written: none yet
    assert window_from_dict({"window": "sequence", "as_of": "2026-03-01T00:00:00+00:00",
                             "pending": [], "priors": []}) == SequenceTimes(None, (), (), day(0))


def test_an_average_keeps_per_time_the_sum_above_the_line_and_the_count() -> None:
    # line 60: 90 adds +30; 30 at the same moment adds -30 to the same point: 0 over 2
    s = WindowAvg((), 60.0, day(0)).add(90, day(0), MONTH)
    assert s.points == ((day(0), 30.0, 1),)
    assert s.holds_at(day(0), MONTH)  # one value, 90 >= 60
    s = s.add(30, day(0), MONTH)
    assert s.points == ((day(0), 0.0, 2),)
    assert s.holds_at(day(0), MONTH)  # average exactly 60: the line is reached
    assert not s.add(None, day(30), MONTH).points  # exactly 30 days later it is out
    later = s.add(70, day(29), MONTH)
    assert later.points == ((day(0), 0.0, 2), (day(29), 10.0, 1))
    assert not WindowAvg((), 60.0, day(0)).add(59, day(0), MONTH).holds_at(day(0), MONTH)


def test_an_average_stops_and_starts_again_as_values_leave_the_window() -> None:
    # 30 at day 0 and 100 at day 5 (line 60): 65 holds; day 30 the 30 leaves: 100 holds
    # still (no change); day 35 the 100 leaves: nothing, it stops
    s = WindowAvg((), 60.0, day(0)).add(30, day(0), MONTH).add(100, day(5), MONTH)
    assert s.flips(day(5), MONTH) == [day(35)]
    assert s.expires_at(MONTH) == day(35)
    # 30 at day 0 and 80 at day 2: 55 does not hold; day 30 the 30 leaves: 80 holds;
    # day 32 the 80 leaves: it stops again
    s = WindowAvg((), 60.0, day(0)).add(30, day(0), MONTH).add(80, day(2), MONTH)
    assert not s.holds_at(day(2), MONTH)
    assert s.flips(day(2), MONTH) == [day(30), day(32)]
    assert s.expires_at(MONTH) is None  # not holding now: nothing to expire
    # 100 at day 0 and 30 at day 5: 65 holds until the 100 leaves at day 30
    s = WindowAvg((), 60.0, day(0)).add(100, day(0), MONTH).add(30, day(5), MONTH)
    assert s.expires_at(MONTH) == day(30)


def test_a_sum_reaches_its_line_exactly_and_expires_when_its_oldest_kept_value_leaves() -> None:
    s = WindowSum.start(400, day(0), 600, MONTH).add(200, day(3), MONTH)
    assert s.holds_at(day(3), MONTH)  # 600 >= 600
    assert s.expires_at(MONTH) == day(30)
    below = WindowSum.start(400, day(0), 600, MONTH)
    assert not below.holds_at(day(0), MONTH)
    assert below.expires_at(MONTH) is None


def test_an_average_reads_numbers_only() -> None:
    assert averaged(True) is None  # a yes/no is no number
    assert averaged([90]) is None
    assert averaged({"seconds": 90}) is None
    assert averaged("inf") is None
    assert averaged("nan") is None
    assert averaged(" 45.5 ") == 45.5
    assert averaged(12) == 12.0


def test_merged_contacts_hold_what_one_contact_with_all_their_events_holds() -> None:
    pages = Activity(("page_view",), 2, 30, measure=Measure("distinct", "url"))
    ours = DistinctTimes.start("/a", day(0), 2).add("/b", day(1))
    theirs = DistinctTimes.start("/c", day(5), 2).add("/a", day(6))
    # /a latest at day 6, /c at day 5 are the two newest: holds until day 5 + 30
    merged = merge_windows(ours, theirs, pages)
    assert merged == DistinctTimes(((day(5), "/c"), (day(6), "/a")), 2)
    assert merged.expires_at(MONTH) == day(35)

    seconds = Activity(("page_view",), 1, 30, measure=Measure("sum", "seconds", 600))
    ours_sum = WindowSum.start(400, day(0), 600, MONTH)
    theirs_sum = WindowSum.start(250, day(10), 600, MONTH)
    merged_sum = merge_windows(ours_sum, theirs_sum, seconds)
    assert merged_sum == WindowSum(((day(0), 400.0), (day(10), 250.0)), 600.0, day(10))
    assert merged_sum.expires_at(MONTH) == day(30)  # then 250 alone is under 600
    # merged at a later moment: what is 30 days older than the newest event is gone
    late = merge_windows(WindowSum.start(700, day(0), 600, MONTH),
                         WindowSum.start(100, day(40), 600, MONTH), seconds)
    assert late == WindowSum(((day(40), 100.0),), 600.0, day(40))
    assert not late.holds_at(day(40), MONTH)

    avg = Activity(("call",), 1, 30, measure=Measure("avg", "minutes", 60))
    merged_avg = merge_windows(WindowAvg((), 60.0, day(0)).add(90, day(0), MONTH),
                               WindowAvg((), 60.0, day(5)).add(45, day(5), MONTH), avg)
    assert merged_avg == WindowAvg(((day(0), 30.0, 1), (day(5), -15.0, 1)), 60.0, day(5))
    assert merged_avg.expires_at(MONTH) == day(30)
    same_time = merge_windows(WindowAvg((), 60.0, day(0)).add(90, day(0), MONTH),
                              WindowAvg((), 60.0, day(0)).add(30, day(0), MONTH), avg)
    assert same_time.points == ((day(0), 0.0, 2),)
    gone = merge_windows(WindowAvg((), 60.0, day(0)).add(90, day(0), MONTH),
                         WindowAvg((), 60.0, day(31)).add(20, day(31), MONTH), avg)
    assert gone == WindowAvg(((day(31), -40.0, 1),), 60.0, day(31))


def test_merged_sequences_join_earlier_events_of_one_contact_to_later_ones_of_another() -> None:
    within_week = Activity(("page_view",), 1, 30,
                           after=After(("webinar_attended",), within_days=7))

    def seen(at: datetime, prior: bool, need: int = 1, gap: float | None = 7) -> SequenceTimes:
        g = None if gap is None else timedelta(days=gap)
        return SequenceTimes.empty(at).add(at, prior, not prior, need, g, MONTH)

    # a webinar on day 0 (ours), a page view on day 3 (theirs): the sequence happened
    merged = merge_windows(seen(day(0), True), seen(day(3), False), within_week)
    assert merged.best == day(3)
    assert merged.expires_at(MONTH) == day(33)
    # the page view 8 days after the webinar: more than the 7 days allowed
    assert merge_windows(seen(day(0), True), seen(day(8), False), within_week).best is None
    # with no gap any earlier webinar counts
    any_time = Activity(("page_view",), 1, 30, after=After(("webinar_attended",)))
    assert merge_windows(seen(day(0), True, gap=None), seen(day(8), False, gap=None),
                         any_time).best == day(8)
    # two webinars needed: one is not enough, one more from the other side is
    two = Activity(("page_view",), 1, 30, after=After(("webinar_attended",), min_count=2,
                                                      within_days=7))
    one = merge_windows(seen(day(0), True, 2), seen(day(3), False, 2), two)
    assert one.best is None
    both = merge_windows(one, seen(day(1), True, 2), two)
    assert both.best == day(3)


def test_an_average_rule_adds_its_points_again_when_a_low_value_leaves() -> None:
    from mql.model.parse import parse_model
    from mql.records import Event
    from mql.scoring.intent import IntentState, Program, intent_curve

    model = parse_model("""\
name: avg_curve
event_types: [call]
fit: {rules: []}
intent:
  rules:
    - {name: long_calls, event: call, avg: minutes, at_least: 60, within_days: 30,
       points: 25}
mql: {thresholds: {intent: 20}}
""")
    program = Program(model)
    state = IntentState.empty()
    # 30 minutes on day 0 and 80 on day 2: 55 on average, under 60; on day 30 the 30
    # leaves (80 alone holds), on day 32 the 80 leaves (nothing holds)
    for n, (at, minutes) in enumerate(((day(0), 30), (day(2), 80))):
        state = state.add(Event(f"c{n}", "call", at, contact="jane@acme.example",
                                properties={"minutes": minutes}), program)
    curve = intent_curve(model.scores["intent"], state, IntentState.empty(), day(2))
    assert [curve.value(t) for t in (day(2), day(29), day(30), day(31), day(32), day(40))] == [
        0.0, 0.0, 25.0, 25.0, 0.0, 0.0]
    assert curve.crossings(20) == [day(30), day(32)]


def _seen(kind: str, days_ago: float, **properties: object) -> Event:
    return Event(f"{kind}-{days_ago}-{sorted(properties.items())}", kind,
                 day(30) - timedelta(days=days_ago), contact="jane@acme.example",
                 properties=properties)


def test_explain_describes_a_distinct_count_showing_five_values_at_most() -> None:
    leaf = Activity(("page_view",), 3, 30, measure=Measure("distinct", "url"))
    five = [_seen("page_view", n, url=f"/{c}") for n, c in enumerate("abcde")]
    assert describe_window(leaf, five, day(30))[1] == (
        "5 distinct url in 30 days (/a, /b, /c, /d, /e), needs 3")
    six = [*five, _seen("page_view", 5, url="/f")]
    assert describe_window(leaf, six, day(30))[1] == (
        "6 distinct url in 30 days (/a, /b, /c, /d, /e, ...), needs 3")
    # exactly 30 days ago is out of the window (t - 30 days, t]
    assert describe_window(leaf, [_seen("page_view", 30, url="/a")], day(30))[1] == (
        "0 distinct url in 30 days, needs 3")


def test_explain_describes_an_average_and_a_maximum_with_nothing_to_read() -> None:
    avg = Activity(("page_view",), 1, 30, measure=Measure("avg", "seconds", 60))
    assert describe_window(avg, [_seen("page_view", 1)], day(30))[1] == (
        "avg of seconds 0 over 0 in 30 days, needs 60")
    most = Activity(("page_view",), 1, 30, measure=Measure("max", "seconds", 60))
    assert describe_window(most, [], day(30))[1] == "max of seconds 0 in 30 days, needs 60"
    seen = [_seen("page_view", 1, seconds=90), _seen("page_view", 2, seconds=40)]
    assert describe_window(most, seen, day(30))[1] == "max of seconds 90 in 30 days, needs 60"


def test_explain_describes_a_sum_of_the_matching_events_only() -> None:
    from mql.model.conditions import Compare

    leaf = Activity(("page_view",), 1, 30, where=Compare("url", "contains", "docs"),
                    measure=Measure("sum", "seconds", 600))
    seen = [_seen("page_view", 1, url="/docs/a", seconds=400),
            _seen("page_view", 2, url="/pricing", seconds=300),
            _seen("webinar_attended", 3, url="/docs/b", seconds=1000),
            _seen("page_view", 4, url="/docs/b", seconds="-5")]
    counted, words = describe_window(leaf, seen, day(30))
    assert [e.event_id for e in counted] == [seen[0].event_id, seen[3].event_id]
    assert words == "sum of seconds 400 in 30 days, needs 600"


def test_explain_describes_a_sequence_with_its_latest_completion() -> None:
    from mql.model.conditions import Compare

    leaf = Activity(("page_view", "trial_signup"), 1, 30,
                    after=After(("webinar_attended",), where=Compare("topic", "eq", "pricing"),
                                min_count=2, within_days=7))
    start = day(30) - timedelta(days=20)
    webinars = [Event(f"w{n}", "webinar_attended", start + timedelta(days=d),
                      contact="jane@acme.example", properties={"topic": topic})
                for n, (d, topic) in enumerate(((0, "pricing"), (1, "pricing"), (1.5, "hiring")))]
    views = [Event(f"v{n}", kind, start + timedelta(days=d, hours=h), contact="jane@acme.example")
             for n, (kind, d, h) in enumerate((
                 ("page_view", 1, 0),  # at the second webinar: it is not before it, 1 only
                 ("trial_signup", 3, 6),  # two pricing webinars 3.25 and 2.25 days before
                 ("page_view", 7, 0),  # 7 and 6 days after them: the first is not within 7
                 ("page_view", 6, 23)))]  # both within 7 days
    counted, words = describe_window(leaf, [*webinars, *views], day(30))
    assert [e.event_id for e in counted] == ["v1", "v3"]
    assert words == ("2 of 4 page_view/trial_signup in 30 days after 2+ webinar_attended where "
                     "topic eq 'pricing' within 7 days before, the latest 2026-03-17 23:00, "
                     "needs 1")
    none = describe_window(leaf, views, day(30))
    assert none == ([], "0 of 4 page_view/trial_signup in 30 days after 2+ webinar_attended "
                        "where topic eq 'pricing' within 7 days before, needs 1")
    any_time = Activity(("page_view",), 1, 30, after=After(("webinar_attended",)))
    assert describe_window(any_time, [*webinars, views[2]], day(30))[1] == (
        "1 of 1 page_view in 30 days after 1+ webinar_attended, the latest 2026-03-18 00:00, "
        "needs 1")


def test_a_sum_keeps_per_time_only_what_can_still_reach_its_line() -> None:
    from mql.scoring.windows import summand

    # two values at one moment add up; zero and negative values add nothing
    s = WindowSum.start(100, day(0), 600, MONTH).add(200, day(0), MONTH).add(0, day(1), MONTH)
    assert s == WindowSum(((day(0), 300.0),), 600.0, day(1))
    assert s.add(0.5, day(2), MONTH).sums == ((day(0), 300.0), (day(2), 0.5))
    # newest first: 599.5 alone is under 600, so the 100 before it is still needed
    s = WindowSum.start(100, day(0), 600, MONTH).add(599.5, day(1), MONTH)
    assert s.sums == ((day(0), 100.0), (day(1), 599.5))
    # 700 reaches the line alone: the older 100 can no longer change an answer
    assert WindowSum.start(100, day(0), 600, MONTH).add(700, day(1), MONTH).sums == (
        (day(1), 700.0),)
    # exactly 30 days later the first value is out of every window
    assert WindowSum.start(100, day(0), 600, MONTH).add(50, day(30), MONTH).sums == (
        (day(30), 50.0),)
    assert [summand(v) for v in (0.5, 0, [5], {"s": 1}, "inf", " 12 ")] == [
        0.5, 0.0, 0.0, 0.0, 0.0, 12.0]


def test_a_window_not_reached_has_no_end() -> None:
    assert DistinctTimes.start("/a", day(0), 2).expires_at(MONTH) is None
    assert SequenceTimes.empty(day(0)).expires_at(MONTH) is None
    assert not SequenceTimes.empty(day(0)).holds_at(day(0), MONTH)


def test_a_completed_sequence_stays_completed_when_merged_again() -> None:
    leaf = Activity(("page_view",), 1, 30, after=After(("webinar_attended",), within_days=7))
    week = timedelta(days=7)
    webinar = SequenceTimes.empty(day(0)).add(day(0), True, False, 1, week, MONTH)
    view = SequenceTimes.empty(day(3)).add(day(3), False, True, 1, week, MONTH)
    done = merge_windows(webinar, view, leaf)
    assert done.best == day(3)
    # a later webinar of a third record: the sequence of day 3 still counts until day 33
    later = SequenceTimes.empty(day(10)).add(day(10), True, False, 1, week, MONTH)
    for merged in (merge_windows(done, later, leaf), merge_windows(later, done, leaf)):
        assert merged.best == day(3)
        assert merged.expires_at(MONTH) == day(33)


def test_a_sequence_that_ended_before_its_as_of_ends_the_same_whole_or_merged() -> None:
    """A webinar (day 0), a page view an hour later (the sequence happens, for 30 days)
    and an event 31 days later: one record of all three and two records merged (the
    webinar alone; the view and the late event) answer alike: it does not hold and has
    no end to come, not an end in the past on one side and none on the other."""
    leaf = Activity(("page_view",), 1, 30, after=After(("webinar_attended",)))
    view = day(0) + timedelta(hours=1)

    def of(*seen: tuple[datetime, bool, bool]) -> SequenceTimes:
        state = SequenceTimes.empty(seen[0][0])
        for at, prior, then in seen:
            state = state.add(at, prior, then, 1, None, MONTH)
        return state

    whole = of((day(0), True, False), (view, False, True), (day(31), False, False))
    merged = merge_windows(of((day(0), True, False)),
                           of((view, False, True), (day(31), False, False)), leaf)
    for state in (whole, merged):
        assert state.expires_at(MONTH) is None
        assert not state.holds_at(day(31), MONTH)
    # on day 30, 59 minutes in, it still holds on both sides and ends at one hour
    whole = of((day(0), True, False), (view, False, True), (view + timedelta(days=29), False,
                                                              False))
    merged = merge_windows(of((day(0), True, False)),
                           of((view, False, True), (view + timedelta(days=29), False, False)),
                           leaf)
    assert whole.expires_at(MONTH) == merged.expires_at(MONTH) == view + MONTH
