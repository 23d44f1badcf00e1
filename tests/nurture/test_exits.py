"""How a nurture track ends, and when (mql.nurture: exit_of, advance, due, choose).

docs/nurture.md, "Which track, and when it ends": consent first, then qualification
(sales' stages count as MQL), the account's MQA, disqualification; the time-based exits
(completed at entry + the length, no engagement at the later of the entry and the last
engagement + the days, a consent lapse at its moment), the first to fall due wins, and
an exit decided late is stamped with its own moment. Moments are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mql.model.conditions import All, Compare
from mql.model.nurture import DEFAULT_EXITS, Length, Nurture, Reengage, Track
from mql.nurture import Fact, Facts, Member, advance, choose, due, exit_of

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
EXITS = DEFAULT_EXITS | {"no_engagement"}
# 6 touches over 3 weeks, out after 14 days without engagement
WARMING = Track("warming", Compare("lead.fit_grade", "in", ("A", "B")), 1, Length(6, 21.0),
                exits=EXITS, no_engagement_days=14.0)
# 3 touches over 2 weeks, the default exits (no no-engagement exit)
PROFILING = Track("profiling", Compare("contact.title", "missing"), 2, Length(3, 14.0))
WIN_BACK = Track("win_back", All(()), 0, Length(3, 14.0), exits=EXITS,
                 no_engagement_days=10.0)


def nurture(reengage: bool = True) -> Nurture:
    return Nurture((WARMING, PROFILING),
                   Reengage(WIN_BACK, 2.5, 30.0) if reengage else None)


def facts(at: datetime, stage: str = "nurture", grade: str = "C", title: str | None = "CTO",
          **rest: object) -> Facts:
    values = {"lead.stage": stage, "lead.fit_grade": grade, "contact.title": title}
    return Facts(at, stage, values.get, **rest)  # type: ignore[arg-type]


def facts_of(out: list[Fact]) -> list[tuple[str, str, datetime, str]]:
    return [(f.kind, f.track, f.at, f.reason) for f in out]


# -- the exits known at once, in their order ---------------------------------------------

def test_sales_stages_end_a_track_as_an_mql() -> None:
    member = Member("warming", T0)
    for stage in ("mql", "sal", "sql", "opportunity", "customer"):
        assert exit_of(WARMING, member, facts(T0 + DAY, stage)) == ("mql", T0 + DAY)
    assert exit_of(WARMING, member, facts(T0 + DAY, "pql")) == ("pql", T0 + DAY)


def test_an_exit_not_listed_does_not_end_the_track() -> None:
    only_mql = Track("t", All(()), 1, Length(3, 14.0), exits=frozenset({"mql"}))
    member = Member("t", T0)
    at = T0 + 100 * DAY  # long after its 14 days: `completed` is not one of its exits
    assert exit_of(only_mql, member, facts(at, "pql")) is None
    assert exit_of(only_mql, member, facts(at, "disqualified")) is None
    assert exit_of(only_mql, member, facts(at, mqa=True)) is None
    assert exit_of(only_mql, member, facts(at, "sql")) == ("mql", at)
    # unsubscribed is always an exit, listed or not
    assert exit_of(only_mql, member, facts(at, suppressed=True)) == ("unsubscribed", at)
    assert due(Nurture((only_mql,)), member, facts(T0)) is None  # nothing to wake it for


def test_consent_comes_before_qualification() -> None:
    member = Member("warming", T0)
    f = facts(T0 + DAY, "mql", channels={"email": False}, mqa=True)
    assert exit_of(WARMING, member, f) == ("unsubscribed", T0 + DAY)


def test_the_accounts_mqa_and_disqualification_end_the_track() -> None:
    member = Member("warming", T0)
    assert exit_of(WARMING, member, facts(T0 + DAY, mqa=True)) == ("mqa", T0 + DAY)
    assert exit_of(WARMING, member, facts(T0 + DAY, "mql", mqa=True)) == ("mql", T0 + DAY)
    assert exit_of(WARMING, member, facts(T0 + 2 * DAY, "disqualified")) == (
        "disqualified", T0 + 2 * DAY)
    assert exit_of(WARMING, member, facts(T0 + 2 * DAY, "disqualified", mqa=True)) == (
        "mqa", T0 + 2 * DAY)


# -- the time-based exits ----------------------------------------------------------------

def test_the_first_time_based_exit_to_fall_due_wins() -> None:
    member = Member("warming", T0)
    # engaged on day 10: no engagement would end it on day 24, completion on day 21
    f = facts(T0 + 30 * DAY, last_engagement=T0 + 10 * DAY)
    assert exit_of(WARMING, member, f) == ("completed", T0 + 21 * DAY)
    # engaged on day 2: out on day 16, before its completion
    f = facts(T0 + 30 * DAY, last_engagement=T0 + 2 * DAY)
    assert exit_of(WARMING, member, f) == ("no_engagement", T0 + 16 * DAY)
    # a consent lapse on day 5 comes before both
    f = facts(T0 + 30 * DAY, last_engagement=T0 + 2 * DAY, channel_change=T0 + 5 * DAY)
    assert exit_of(WARMING, member, f) == ("unsubscribed", T0 + 5 * DAY)


def test_a_time_based_exit_holds_from_its_exact_moment() -> None:
    member = Member("warming", T0)
    never_engaged = T0 + 14 * DAY  # counted from the entry
    assert exit_of(WARMING, member, facts(never_engaged - timedelta(seconds=1))) is None
    assert exit_of(WARMING, member, facts(never_engaged)) == ("no_engagement", never_engaged)
    lapse = T0 + 3 * DAY
    assert exit_of(WARMING, member, facts(lapse, channel_change=lapse)) == (
        "unsubscribed", lapse)
    assert exit_of(WARMING, member, facts(lapse - timedelta(seconds=1),
                                          channel_change=lapse)) is None


def test_completion_needs_the_exit_listed() -> None:
    member = Member("p", T0)
    no_completion = Track("p", All(()), 1, Length(3, 14.0), exits=frozenset({"mql"}),
                          no_engagement_days=30.0)
    assert exit_of(no_completion, member, facts(T0 + 20 * DAY)) is None
    assert exit_of(no_completion, member, facts(T0 + 30 * DAY)) == (
        "no_engagement", T0 + 30 * DAY)


def test_an_exit_decided_late_is_stamped_with_its_moment_and_so_is_the_next_entry() -> None:
    # on warming since day 0, never engaged: out on day 14; no title, so profiling matches;
    # the worker ran on day 20
    member = Member("warming", T0)
    out = advance(nurture(), member, facts(T0 + 20 * DAY, title=None))
    assert facts_of(out) == [
        ("unenrolled", "warming", T0 + 14 * DAY, "no_engagement"),
        ("enrolled", "profiling", T0 + 14 * DAY, "matches profiling")]


def test_a_late_completion_moves_the_next_entry_to_its_moment() -> None:
    member = Member("profiling", T0)
    out = advance(nurture(), member, facts(T0 + 20 * DAY, grade="A", title=None))
    assert facts_of(out) == [
        ("unenrolled", "profiling", T0 + 14 * DAY, "completed"),
        ("enrolled", "warming", T0 + 14 * DAY, "matches warming")]


def test_a_late_consent_lapse_moves_the_next_entry_to_its_moment() -> None:
    # a lapse is a time-based exit too (docs/nurture.md): known on day 8, it happened on
    # day 5, and what enters next is decided then, as after a completion
    member = Member("warming", T0)
    f = facts(T0 + 8 * DAY, title=None, last_engagement=T0 + 4 * DAY,
              channel_change=T0 + 5 * DAY)
    assert facts_of(advance(nurture(), member, f)) == [
        ("unenrolled", "warming", T0 + 5 * DAY, "unsubscribed"),
        ("enrolled", "profiling", T0 + 5 * DAY, "matches profiling")]


def test_a_track_removed_from_the_model_ends_now() -> None:
    member = Member("gone", T0)
    out = advance(nurture(), member, facts(T0 + 3 * DAY, grade="B"))
    assert facts_of(out) == [("unenrolled", "gone", T0 + 3 * DAY, "removed"),
                             ("enrolled", "warming", T0 + 3 * DAY, "matches warming")]
    assert due(nurture(), member, facts(T0 + 3 * DAY)) is None


def test_a_contact_does_not_reenter_the_track_it_just_left() -> None:
    # profiling completed on day 14, the title still missing, last engaged on day 2
    member = Member("profiling", T0)
    out = advance(nurture(reengage=False), member,
                  facts(T0 + 20 * DAY, title=None, last_engagement=T0 + 2 * DAY))
    assert facts_of(out) == [("unenrolled", "profiling", T0 + 14 * DAY, "completed")]


def test_a_qualified_contact_enters_no_track_after_its_exit() -> None:
    member = Member("warming", T0)
    out = advance(nurture(), member, facts(T0 + 3 * DAY, "sql", grade="A", title=None,
                                           quiet_since=T0 - 60 * DAY))
    assert facts_of(out) == [("unenrolled", "warming", T0 + 3 * DAY, "mql")]


# -- re-engagement after an exit -------------------------------------------------------

def test_reengagement_starts_no_earlier_than_the_last_exit() -> None:
    # quiet for 30 days since day -40 (so from day -10), left warming on day 14: win back
    # on day 14 exactly, when the late no-engagement exit is decided
    member = Member("warming", T0)
    f = facts(T0 + 20 * DAY, quiet_since=T0 - 40 * DAY)
    assert facts_of(advance(nurture(), member, f)) == [
        ("unenrolled", "warming", T0 + 14 * DAY, "no_engagement"),
        ("enrolled", "win_back", T0 + 14 * DAY, "intent under 2.5 for 30 days")]
    # not in a track: the later of the 30 quiet days and its last exit
    f = facts(T0 + 20 * DAY, quiet_since=T0 - 40 * DAY,
              left={"profiling": T0 + 12 * DAY, "warming": T0 + 9 * DAY})
    entry = choose(nurture(), f)
    assert entry is not None and entry[1:] == (T0 + 12 * DAY, "intent under 2.5 for 30 days")


def test_reengagement_enters_exactly_when_the_30_days_have_passed() -> None:
    quiet = T0 - 30 * DAY
    entry = choose(nurture(), facts(T0, quiet_since=quiet))
    assert entry is not None and (entry[0].name, entry[1]) == ("win_back", T0)
    assert choose(nurture(), facts(T0 - timedelta(seconds=1), quiet_since=quiet)) is None
    # and the worker is woken then, not after
    assert due(nurture(), None, facts(T0 - timedelta(seconds=1), quiet_since=quiet)) == T0
    assert due(nurture(), None, facts(T0, quiet_since=quiet)) is None


def test_reengagement_respects_consent_and_a_previous_win_back() -> None:
    quiet = T0 - 40 * DAY
    assert choose(nurture(), facts(T0, quiet_since=quiet, suppressed=True)) is None
    # left win back on day -5, no engagement since: not again
    left = {"win_back": T0 - 5 * DAY}
    assert choose(nurture(), facts(T0, quiet_since=quiet, left=left,
                                   last_engagement=T0 - 20 * DAY)) is None


def test_no_reengagement_due_without_the_track_quiet_or_an_open_stage() -> None:
    quiet = T0 - 10 * DAY
    assert due(nurture(), None, facts(T0, quiet_since=quiet)) == T0 + 20 * DAY
    assert due(nurture(reengage=False), None, facts(T0, quiet_since=quiet)) is None
    assert due(nurture(), None, facts(T0)) is None
    assert due(nurture(), None, facts(T0, "mql", quiet_since=quiet)) is None


def test_an_engagement_at_the_exit_moment_is_not_newer() -> None:
    left = {"profiling": T0}
    assert choose(nurture(reengage=False),
                  facts(T0 + DAY, title=None, left=left, last_engagement=T0)) is None
    later = facts(T0 + DAY, title=None, left=left, last_engagement=T0 + timedelta(seconds=1))
    entry = choose(nurture(reengage=False), later)
    assert entry is not None and entry[0].name == "profiling"


# -- due: the next moment the worker must act ----------------------------------------------

def test_due_is_the_next_time_based_exit_after_now() -> None:
    member = Member("warming", T0)
    # never engaged: no engagement on day 14, completion on day 21
    assert due(nurture(), member, facts(T0 + DAY)) == T0 + 14 * DAY
    # as of day 14 exactly the exit is made now; what falls due next is the completion
    assert due(nurture(), member, facts(T0 + 14 * DAY)) == T0 + 21 * DAY
    assert due(nurture(), member, facts(T0 + 21 * DAY)) is None
    # engaged on day 10: no engagement on day 24, after the completion
    assert due(nurture(), member, facts(T0 + 11 * DAY,
                                        last_engagement=T0 + 10 * DAY)) == T0 + 21 * DAY
