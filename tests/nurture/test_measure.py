"""The nurture report (mql.nurture.measure): the numbers `mql report nurture` shows.

Every expected value is worked out by hand from the facts, moves and touches below
(docs/nurture.md, "Measuring the tracks"): entries, active ones, exits by reason, the
median days of the ended entries, conversions within the window of entry, the
comparable group's shares and the content before the conversions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mql.nurture.measure import FactRow, TrackRow, eligible_from, summarise, table

T = datetime(2026, 3, 2, tzinfo=UTC)
DAY = timedelta(days=1)
AT = T + 120 * DAY


def _world() -> tuple[list[FactRow], dict, dict, dict]:
    # given out of time order: the report orders them itself
    facts = [
        FactRow(1, "warm", "unenrolled", T + 4 * DAY, "mql"),
        FactRow(2, "warm", "unenrolled", T + 15 * DAY, "no_engagement"),
        FactRow(1, "warm", "enrolled", T, "matches warm"),
        FactRow(2, "warm", "enrolled", T + DAY, "matches warm"),
        FactRow(3, "warm", "enrolled", T + 2 * DAY, "matches warm"),
        FactRow(4, "warm", "enrolled", T + 3 * DAY, "matches warm"),
        FactRow(4, "warm", "unenrolled", T + 10 * DAY, "completed"),
        FactRow(5, "warm", "enrolled", AT + DAY, "matches warm"),  # after `at`: not yet
        FactRow(6, "warm", "unenrolled", T + 5 * DAY, "mql"),  # an exit with no entry
    ]
    moves = {
        1: [("mql", T + 4 * DAY)],
        2: [("mql", T + 20 * DAY)],
        3: [("pql", T + 3 * DAY), ("sql", T + 6 * DAY), ("opportunity", T + 8 * DAY),
            ("customer", T + 30 * DAY)],
        4: [("mql", T + 3 * DAY + 91 * DAY)],  # after the 90 days of the window
        10: [("mql", T + 5 * DAY)],
        11: [("sql", T + 10 * DAY + 95 * DAY)],
    }
    content = {
        1: [(T + DAY, "webinar"), (T + 3 * DAY, "webinar"), (T + 2 * DAY, "ebook"),
            (T + 5 * DAY, "late")],  # late: after its MQL
        2: [(T + 3 * DAY, "webinar"), (T, "before")],  # before: before its entry
        3: [(T + 2 * DAY, "ebook"), (T + 3 * DAY, "demo")],  # both from entry to PQL
        4: [(T + 4 * DAY, "pricing")],  # never converted within the window
    }
    never = {10: T, 11: T + 10 * DAY, 12: AT + DAY}  # 12: created after `at`
    return facts, moves, content, never


def test_the_report_rows_of_a_track_worked_out_by_hand() -> None:
    facts, moves, content, never = _world()
    cold, warm = summarise(["cold", "warm"], facts, moves, content, never, at=AT)
    assert warm.track == "warm"
    assert (warm.enrolled, warm.active) == (4, 1)  # contacts 1-4; 3 is still on it
    assert warm.exits == {"completed": 1, "mql": 1, "no_engagement": 1}
    assert list(warm.exits) == ["completed", "mql", "no_engagement"]
    assert warm.median_days == 7.0  # 4, 14 and 7 days
    # mql: 1 (day 4), 2 (day 20), 3 (its PQL); 4 converted after the window
    assert warm.converted == {"mql": 3, "sql": 1, "opportunity": 1, "won": 1}
    assert warm.rate("mql") == 0.75 and warm.rate("won") == 0.25
    # webinar: contacts 1 (twice, counted once) and 2; ebook: 1 and 3; demo: 3
    assert warm.content == (("ebook", 2), ("webinar", 2), ("demo", 1))
    # the comparable group: 10 and 11 (12 came later); 10 reached MQL, 11 its SQL too late
    assert warm.baseline == {"mql": 0.5, "sql": 0.0, "opportunity": 0.0, "won": 0.0}
    assert cold == TrackRow("cold", 0, 0, {}, None,
                            {"mql": 0, "sql": 0, "opportunity": 0, "won": 0},
                            warm.baseline, ())
    assert cold.rate("mql") is None


def test_top_keeps_the_most_frequent_content() -> None:
    facts, moves, content, never = _world()
    (warm,) = summarise(["warm"], facts, moves, content, never, at=AT, top=2)
    assert warm.content == (("ebook", 2), ("webinar", 2))


def test_the_report_names_the_three_most_frequent_by_default() -> None:
    facts = [FactRow(c, "t", "enrolled", T, "x") for c in (1, 2, 3)]
    moves = {c: [("mql", T + 9 * DAY)] for c in (1, 2, 3)}
    touches = {1: [(T, "a"), (T, "b"), (T, "c"), (T, "d")],
               2: [(T, "b"), (T, "c"), (T, "d")], 3: [(T, "c"), (T, "d")]}
    (row,) = summarise(["t"], facts, moves, touches, {}, at=T + 9 * DAY)
    assert row.content == (("c", 3), ("d", 3), ("b", 2))  # a (1) is the fourth


def test_a_shorter_window_counts_fewer_conversions() -> None:
    facts, moves, content, never = _world()
    (warm,) = summarise(["warm"], facts, moves, content, never, at=AT, within_days=7.0)
    # 1 (day 4 of its entry), 3 (PQL day 1, SQL day 4, opportunity day 6); 2 on day 19
    assert warm.converted == {"mql": 2, "sql": 1, "opportunity": 1, "won": 0}
    # 10 reached MQL 5 days after its creation: within 7 days too
    assert warm.baseline == {"mql": 0.5, "sql": 0.0, "opportunity": 0.0, "won": 0.0}


def test_the_report_as_of_a_past_moment_ignores_what_came_after() -> None:
    facts, moves, content, never = _world()
    at = T + 10 * DAY  # 4 leaves exactly then; 2 leaves and converts later
    (warm,) = summarise(["warm"], facts, moves, content, never, at=at)
    assert (warm.enrolled, warm.active) == (4, 1 + 1)  # 2 and 3 still on it
    assert warm.exits == {"completed": 1, "mql": 1}
    assert warm.median_days == 5.5  # 4 and 7 days
    assert warm.converted == {"mql": 2, "sql": 1, "opportunity": 1, "won": 0}
    assert warm.content == (("ebook", 2), ("demo", 1), ("webinar", 1))
    # the group as of day 10: 10 (created day 0, MQL day 5) and 11 (created exactly then)
    assert warm.baseline == {"mql": 0.5, "sql": 0.0, "opportunity": 0.0, "won": 0.0}


def test_the_window_holds_both_of_its_ends() -> None:
    facts = [FactRow(1, "t", "enrolled", T, "x"), FactRow(2, "t", "enrolled", T, "x"),
             FactRow(3, "t", "enrolled", T, "x")]
    moves = {1: [("mql", T)], 2: [("mql", T + 90 * DAY)],
             3: [("mql", T - DAY), ("mql", T + 90 * DAY + timedelta(seconds=1))],
             20: [("sql", T)], 21: [("sql", T + 90 * DAY)],
             22: [("sql", T - DAY), ("sql", T + 90 * DAY + timedelta(seconds=1))]}
    never = {20: T, 21: T, 22: T, 23: T}
    touches = {1: [(T, "first")]}
    (row,) = summarise(["t"], facts, moves, touches, never, at=T + 200 * DAY)
    assert row.converted["mql"] == 2  # at the entry and 90 days after it; 3 outside both
    assert row.content == (("first", 1),)  # a touch at the entry and the MQL moment
    assert row.baseline == {"mql": 0.0, "sql": 0.5, "opportunity": 0.0, "won": 0.0}
    # as of day 90 exactly: the move at that moment counts, the group too
    (row,) = summarise(["t"], facts, moves, {}, never, at=T + 90 * DAY)
    assert row.converted["mql"] == 2
    assert row.baseline["sql"] == 0.5
    # as of a second before: only the move at the entry
    (row,) = summarise(["t"], facts, moves, {}, never, at=T + 90 * DAY - timedelta(seconds=1))
    assert row.converted["mql"] == 1
    assert row.baseline["sql"] == 0.25


def test_an_entry_after_an_exit_is_a_second_entry_with_its_own_window() -> None:
    facts = [FactRow(1, "a", "enrolled", T, "x"),
             FactRow(1, "a", "unenrolled", T + 2 * DAY, "completed"),
             FactRow(1, "b", "enrolled", T + 2 * DAY, "x"),
             FactRow(1, "b", "unenrolled", T + 5 * DAY, "mql")]
    moves = {1: [("mql", T + 5 * DAY)]}
    a, b = summarise(["a", "b"], facts, moves, {}, {}, at=T + 9 * DAY)
    assert (a.enrolled, a.active, a.exits, a.median_days) == (1, 0, {"completed": 1}, 2.0)
    assert (b.enrolled, b.active, b.exits, b.median_days) == (1, 0, {"mql": 1}, 3.0)
    # both entries lead to the MQL within 90 days of them
    assert a.converted["mql"] == b.converted["mql"] == 1
    # no comparable group: no share, not a share of zero
    assert a.baseline == {"mql": None, "sql": None, "opportunity": None, "won": None}


def test_a_median_of_fractions_of_days() -> None:
    facts = [FactRow(1, "t", "enrolled", T, "x"),
             FactRow(1, "t", "unenrolled", T + timedelta(hours=36), "completed")]
    (row,) = summarise(["t"], facts, {}, {}, {}, at=T + 9 * DAY)
    assert row.median_days == 1.5


def test_a_track_named_only_in_the_facts_is_not_a_row() -> None:
    facts = [FactRow(1, "old", "enrolled", T, "x")]
    assert [r.track for r in summarise(["new"], facts, {}, {}, {}, at=T)] == ["new"]


# -- the table ----------------------------------------------------------------------------

def test_the_table_columns_and_values() -> None:
    facts, moves, content, never = _world()
    rows = summarise(["cold", "warm"], facts, moves, content, never, at=AT)
    columns, out = table(rows)
    assert columns == [
        "track", "enrolled", "active", "exit_completed", "exit_mql", "exit_no_engagement",
        "median_days", "mql_rate", "sql_rate", "opportunity_rate", "won_rate",
        "not_enrolled_mql_rate", "not_enrolled_sql_rate", "content_before_conversions"]
    assert out == [
        {"track": "cold", "enrolled": 0, "active": 0, "exit_completed": 0, "exit_mql": 0,
         "exit_no_engagement": 0, "median_days": None, "mql_rate": None, "sql_rate": None,
         "opportunity_rate": None, "won_rate": None, "not_enrolled_mql_rate": 0.5,
         "not_enrolled_sql_rate": 0.0, "content_before_conversions": None},
        {"track": "warm", "enrolled": 4, "active": 1, "exit_completed": 1, "exit_mql": 1,
         "exit_no_engagement": 1, "median_days": 7.0, "mql_rate": 0.75, "sql_rate": 0.25,
         "opportunity_rate": 0.25, "won_rate": 0.25, "not_enrolled_mql_rate": 0.5,
         "not_enrolled_sql_rate": 0.0,
         "content_before_conversions": "ebook (2), webinar (2), demo (1)"}]
    assert [list(r) for r in out] == [columns, columns]


def test_a_table_without_a_comparable_group_or_rows() -> None:
    row = TrackRow("t", 2, 2, {}, None, {"mql": 1, "sql": 0, "opportunity": 0, "won": 0})
    columns, out = table([row])
    assert columns == ["track", "enrolled", "active", "median_days", "mql_rate", "sql_rate",
                       "opportunity_rate", "won_rate", "not_enrolled_mql_rate",
                       "not_enrolled_sql_rate", "content_before_conversions"]
    assert out[0]["mql_rate"] == 0.5 and out[0]["not_enrolled_mql_rate"] is None
    assert out[0]["not_enrolled_sql_rate"] is None
    assert table([]) == (columns, [])


# -- who the comparable group holds, from when ------------------------------------------

def test_eligible_from_the_creation_in_an_open_stage() -> None:
    for stage in ("captured", "nurture", "recycled", "closed_lost"):
        assert eligible_from(T, [(stage, T - DAY)], T + DAY) == T
    assert eligible_from(T, [], T) == T  # created exactly at `at`
    assert eligible_from(T, [], T - timedelta(seconds=1)) is None  # not created yet


def test_eligible_from_reads_the_stage_of_the_last_move_by_its_moment() -> None:
    # given out of order: nurture on day -2, MQL on day -1, so an MQL when created
    moves = [("mql", T - DAY), ("nurture", T - 2 * DAY)]
    assert eligible_from(T, moves, T + 9 * DAY) is None
    # recycled on day 3 and closed lost on day 7: the first of them counts
    later = [*moves, ("sql", T + 2 * DAY), ("closed_lost", T + 7 * DAY),
             ("recycled", T + 3 * DAY)]
    assert eligible_from(T, later, T + 9 * DAY) == T + 3 * DAY
    assert eligible_from(T, later, T + 3 * DAY) == T + 3 * DAY  # exactly at `at`
    assert eligible_from(T, later, T + 3 * DAY - timedelta(seconds=1)) is None
    # a move back before the move that qualified it leaves it qualified when created
    assert eligible_from(T, [("nurture", T - 2 * DAY), ("mql", T)], T + 9 * DAY) is None


def test_eligible_from_a_move_at_the_creation_counts_as_its_stage_then() -> None:
    # recycled and qualified in the same moment as its creation, the qualification last:
    # an MQL when created, never eligible afterwards
    assert eligible_from(T, [("recycled", T), ("mql", T)], T + 9 * DAY) is None
