"""Which nurture track a contact is on, and the exact moment it leaves (mql.nurture).

Expected moments are worked out by hand from the track's days; the properties check the
invariants the issue names: at most one track at a time, an exit exactly when its
condition first holds, never a suppressed or consent-forbidden contact enrolled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mql.model.conditions import All, Compare
from mql.model.nurture import DEFAULT_EXITS, Length, Nurture, Reengage, Track
from mql.nurture import Facts, Member, advance, choose, due, exit_of

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
RECYCLED = Compare("lead.stage", "eq", "recycled")
GOOD_FIT = Compare("lead.fit_grade", "in", ("A", "B"))
EXITS = DEFAULT_EXITS | {"no_engagement"}


def spec(reengage: bool = True) -> Nurture:
    tracks = (
        Track("recycled", RECYCLED, 1, Length(5, 28.0), exits=EXITS, no_engagement_days=21.0),
        Track("warming", GOOD_FIT, 2, Length(6, 21.0), exits=EXITS, no_engagement_days=14.0),
        Track("profiling", Compare("contact.title", "missing"), 3, Length(3, 14.0)),
    )
    again = Reengage(Track("win_back", All(()), 0, Length(3, 14.0), exits=EXITS,
                           no_engagement_days=14.0), 5.0, 30.0)
    return Nurture(tracks, again if reengage else None)


def facts(at: datetime, stage: str = "nurture", **fields: object) -> Facts:
    values = {"lead.stage": stage, **{k.replace("__", "."): v for k, v in fields.items()
                                      if "__" in k}}
    rest = {k: v for k, v in fields.items() if "__" not in k}
    return Facts(at, stage, values.get, **rest)  # type: ignore[arg-type]


# -- entry: at most one track, by priority ---------------------------------------------

def test_the_first_track_by_priority_wins_when_several_match() -> None:
    # a recycled lead with a good fit and no title matches all three: recycled is priority 1
    f = facts(T0, "recycled", lead__fit_grade="A")
    assert [str(x) for x in advance(spec(), None, f)] == [
        "2026-03-02 09:00 enrolled recycled (matches recycled)"]


def test_a_lead_with_a_title_and_a_weak_fit_enters_no_track() -> None:
    assert advance(spec(reengage=False), None, facts(T0, lead__fit_grade="C",
                                                     contact__title="CTO")) == []


def test_a_member_stays_while_nothing_ends_its_track() -> None:
    member = Member("warming", T0)
    f = facts(T0 + 10 * DAY, lead__fit_grade="B", contact__title="CTO",
              last_engagement=T0 + 3 * DAY)
    assert advance(spec(), member, f) == []


def test_sales_stages_take_no_track() -> None:
    for stage in ("mql", "sal", "sql", "opportunity", "customer", "disqualified"):
        assert choose(spec(), facts(T0, stage, lead__fit_grade="A")) is None


# -- exits at the exact computed moment ------------------------------------------------

def test_no_engagement_exit_is_last_engagement_plus_14_days() -> None:
    # entered 2 March 09:00, last engaged 5 March 13:30: out 19 March 13:30 exactly
    member = Member("warming", T0)
    last = T0 + 3 * DAY + timedelta(hours=4, minutes=30)
    at = datetime(2026, 3, 25, tzinfo=UTC)
    f = facts(at, lead__fit_grade="B", contact__title="CTO", last_engagement=last)
    out = advance(spec(), member, f)
    assert out[0].kind == "unenrolled" and out[0].reason == "no_engagement"
    assert out[0].at == datetime(2026, 3, 19, 13, 30, tzinfo=UTC)
    # the worker is woken exactly then
    assert due(spec(), member, facts(last, lead__fit_grade="B", last_engagement=last)) == \
        datetime(2026, 3, 19, 13, 30, tzinfo=UTC)


def test_no_engagement_counts_from_the_entry_when_the_last_touch_is_older() -> None:
    member = Member("warming", T0)
    f = facts(T0, lead__fit_grade="B", last_engagement=T0 - 40 * DAY)
    assert due(spec(), member, f) == T0 + 14 * DAY


def test_completion_is_the_entry_plus_the_planned_length() -> None:
    # profiling: 3 touches over 2 weeks, no engagement exit: done 16 March 09:00
    member = Member("profiling", T0)
    f = facts(T0 + 30 * DAY, contact__title=None, last_engagement=T0 + 29 * DAY)
    out = advance(spec(reengage=False), member, f)
    assert next((x.kind, x.track, x.reason, x.at) for x in out) == (
        "unenrolled", "profiling", "completed", T0 + 14 * DAY)


def test_a_contact_does_not_reenter_a_track_it_completed_until_it_engages_again() -> None:
    f = facts(T0 + 20 * DAY, contact__title=None, last_engagement=T0 + 2 * DAY,
              left={"profiling": T0 + 14 * DAY})
    assert choose(spec(reengage=False), f) is None
    engaged = facts(T0 + 20 * DAY, contact__title=None, last_engagement=T0 + 19 * DAY,
                    left={"profiling": T0 + 14 * DAY})
    assert choose(spec(reengage=False), engaged)[0].name == "profiling"  # type: ignore[index]


def test_qualification_ends_the_track_at_once() -> None:
    member = Member("warming", T0)
    out = advance(spec(), member, facts(T0 + 5 * DAY, "mql", lead__fit_grade="A"))
    assert [(x.kind, x.reason, x.at) for x in out] == [("unenrolled", "mql", T0 + 5 * DAY)]


def test_consent_withdrawn_ends_the_track_and_forbids_entry() -> None:
    member = Member("warming", T0)
    f = facts(T0 + DAY, lead__fit_grade="A", channels={"email": False, "phone": True})
    assert [(x.kind, x.reason) for x in advance(spec(), member, f)] == [
        ("unenrolled", "unsubscribed")]
    assert choose(spec(), f) is None


def test_a_consent_lapse_is_an_exit_at_its_moment() -> None:
    member = Member("warming", T0)
    lapse = T0 + 5 * DAY
    f = facts(T0, lead__fit_grade="A", channel_change=lapse, last_engagement=T0)
    assert due(spec(), member, f) == lapse


# -- re-engagement ----------------------------------------------------------------------

def test_reengagement_entry_is_the_crossing_plus_30_days() -> None:
    quiet = datetime(2026, 1, 10, 6, 0, tzinfo=UTC)
    f = facts(datetime(2026, 3, 1, tzinfo=UTC), lead__fit_grade="D", contact__title="CTO",
              quiet_since=quiet)
    track, at, why = choose(spec(), f)  # type: ignore[misc]
    assert (track.name, at, why) == ("win_back", datetime(2026, 2, 9, 6, 0, tzinfo=UTC),
                                     "intent under 5 for 30 days")
    early = facts(datetime(2026, 2, 1, tzinfo=UTC), lead__fit_grade="D",
                  contact__title="CTO", quiet_since=quiet)
    assert choose(spec(), early) is None
    assert due(spec(), None, early) == datetime(2026, 2, 9, 6, 0, tzinfo=UTC)


# -- invariants --------------------------------------------------------------------------

stages = st.sampled_from(["captured", "nurture", "recycled", "closed_lost", "mql", "sal",
                          "disqualified"])
grades = st.sampled_from(["A", "B", "C", "D"])
offsets = st.integers(0, 60 * 24).map(lambda m: timedelta(minutes=m * 60))


@st.composite
def histories(draw: st.DrawFn) -> list[Facts]:
    """A contact's facts at increasing moments (stage, grade, engagement, consent)."""
    at, last = T0, None
    out = []
    for _ in range(draw(st.integers(1, 12))):
        at = at + draw(offsets)
        if draw(st.booleans()):
            last = at
        out.append(facts(at, draw(stages), lead__fit_grade=draw(grades),
                         contact__title=draw(st.sampled_from([None, "CTO"])),
                         last_engagement=last,
                         quiet_since=draw(st.sampled_from([None, T0])),
                         channels={"email": draw(st.booleans())},
                         suppressed=draw(st.booleans())))
    return out


def run(history: list[Facts]) -> list[tuple[Facts, list]]:
    member, left, out = None, {}, []
    for f in history:
        f = Facts(f.at, f.stage, f.get, f.last_engagement, f.quiet_since, f.channels,
                  f.suppressed, f.mqa, left, f.channel_change)
        found = advance(spec(), member, f)
        for x in found:
            if x.kind == "enrolled":
                member = Member(x.track, x.at)
            else:
                member, left = None, {**left, x.track: x.at}
        out.append((f, found))
    return out


@settings(max_examples=300, deadline=None)
@given(histories())
def test_at_most_one_track_at_a_time_and_facts_in_order(history: list[Facts]) -> None:
    inside: str | None = None
    last = None
    for _, found in run(history):
        for x in found:
            if x.kind == "enrolled":
                assert inside is None  # never two tracks at once
                inside = x.track
            else:
                assert inside == x.track
                inside = None
            assert last is None or x.at >= last  # entry and exit facts in time order
            last = x.at


@settings(max_examples=300, deadline=None)
@given(histories())
def test_no_suppressed_or_forbidden_contact_is_ever_enrolled(history: list[Facts]) -> None:
    for f, found in run(history):
        for x in found:
            if x.kind == "enrolled":
                assert not f.suppressed and f.channels is not None and f.channels["email"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["recycled", "warming"]), offsets, offsets, offsets)
def test_an_exit_happens_exactly_when_its_condition_first_holds(
        name: str, engaged: timedelta, asked: timedelta, extra: timedelta) -> None:
    track = spec().track(name)
    assert track is not None and track.no_engagement_days is not None
    member = Member(name, T0)
    last = T0 + engaged
    quiet_end = last + timedelta(days=track.no_engagement_days)
    done = T0 + timedelta(days=track.length.days)
    expected = min(quiet_end, done)
    at = T0 + asked + extra
    stage = "recycled" if name == "recycled" else "nurture"
    f = facts(at, stage, lead__fit_grade="A", last_engagement=last)
    found = exit_of(track, member, f)
    if at < expected:
        assert found is None  # not a moment early
        assert due(spec(), member, f) == expected  # and the worker is woken then
    else:
        assert found == ("completed" if done <= quiet_end else "no_engagement", expected)
