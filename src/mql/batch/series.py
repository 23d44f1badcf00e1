"""Score histories: every tracker of every contact (and account) at every time of a
series (`AsOf` with `count > 1`), in one pass over the events.

A tracker changes only on the times where an event starts or stops counting, so it is
computed there (sparse rows), then carried to the times in between:

- a decayed sum is kept as a prefix sum of ``f * 2**(T_b / h)`` (``f``: the event's
  factor at ``T_b``, the first time it counts at, relative to ``T_0``); its value at
  ``T_k`` is that sum times ``2**(-T_k / h)``. Decay is linear in the points, so this
  is exact, and every term is positive: nothing cancels. The scale ``2**(T_b / h)``
  stays far from overflow because a series spans at most `MAX_HALF_LIVES` half-lives
  (`compile` splits longer ones);
- a window count adds 1 on the event's first time and removes it on the first time its
  window has passed (or an earlier copy of it counts): integers, exact;
- a duplicate copy that stops counting when an earlier copy appears (``b_to < n``, rare)
  is not subtracted from a prefix sum (that would cancel); its decayed value is summed
  per time over the times it counts at (``xt``), as before prefix sums.

Each contact's (account's) changes become intervals ``[k, k_next)`` with the values at
``k``; a contact's intervals, cut by its account's, joined with the times they cover give
the contact x time rows directly (every contact has an interval from the first time),
without a join on (contact, time) of large tables.
"""

from __future__ import annotations

from sqlglot import exp

from mql.batch import sql
from mql.batch.frame import Frame
from mql.batch.plan import Level, Tracker, calendar_ends
from mql.model.windows import CalendarWindow

Query = exp.Select

# the longest series, in half-lives of the fastest decay, computed in one query: the prefix
# scale 2**(T_b / h) then stays under 2**512 (a double reaches 2**1023)
MAX_HALF_LIVES = 512.0


class Series:
    """The CTEs and joins that give each contact's trackers at each time index ``k``."""

    def __init__(self, frame: Frame) -> None:
        self.frame, self.plan = frame, frame.plan
        self.decay = frame.decay_columns()
        # issue 13: trackers with a lifespan are summed per time over the times their
        # events are alive at (``xl``), never in the prefix sums
        self.lives = {level: [t for t in self.plan.level(level) if t.lifespan_us is not None]
                      for level in ("contact", "account")}
        # duplicate copies that stop counting exist only if ids may repeat
        self.temporary = not frame.unique_ids

    # -- the CTEs ---------------------------------------------------------------------

    def ctes(self) -> list[tuple[str, Query]]:
        ctes: list[tuple[str, Query]] = [("xs", self.intervals("contact"))]
        if self.plan.level("account"):
            ctes.append(("xsa", self.intervals("account")))
        ctes += self.window_ctes()
        for level, name in (("contact", "xl"), ("account", "xla")):
            if self.lives[level]:
                ctes.append((name, self.alive(level)))
        if self.temporary:
            ctes.append(("xt", self.temporaries("contact")))
            if self.plan.level("account"):
                ctes.append(("xta", self.temporaries("account")))
        return ctes

    def changes(self, level: Level) -> Query:
        """Per key and time index: each tracker's change (decayed: scaled prefix terms of
        the events that count from then on for good; windows: +1 / -1)."""
        trackers = self.plan.level(level)
        key = "email" if level == "contact" else "domain"
        present = sql.col(key).is_(exp.null()).not_()
        n = sql.integer(self.frame.n)
        cols: list[sql.Node] = []
        for t in trackers:
            if t.aggregate:  # per time in ``xw`` (see `window_aggregates`)
                cols.append(exp.cast(exp.null(), "double"))
                continue
            if t.windowed:
                cols.append(exp.cast(exp.Count(this=sql.case((sql.col(t.column),
                                                               exp.Literal.number(1)))),
                                     "double"))
                continue
            lasting = exp.and_(sql.col(t.column),
                               exp.EQ(this=sql.col("b_to"), expression=n),
                               exp.false() if t.lifespan_us is not None else exp.true())
            cols.append(sql.arith(exp.Mul, exp.Sum(this=sql.case((lasting, self.factor(t)))),
                                  self.backward(t, sql.col("b_from"))))
        starts = exp.select(sql.alias(sql.col(key), "key"), sql.alias(sql.col("b_from"), "k"),
                            *[sql.alias(c, t.column) for c, t in zip(cols, trackers,
                                                                     strict=True)]
                            ).from_("m").where(present).group_by(sql.col(key), "b_from")
        parts = [starts]
        # each window's end: the time its events stop counting at (a window of days: the
        # bucket of ts + window; a calendar window: the first time whose window starts
        # after ts, `calendar_ends`)
        groups: list[tuple[sql.Node, list[Tracker]]] = []
        plain = [t for t in trackers if t.windowed and not t.aggregate and t.calendar is None]
        for window in sorted({t.window_us for t in plain if t.window_us is not None}):
            groups.append((self.frame.bucket(sql.arith(exp.Add, sql.col("ts"),
                                                       sql.integer(window))),
                           [t for t in plain if t.window_us == window]))
        calendars = [t for t in trackers if t.windowed and not t.aggregate
                     and t.calendar is not None]
        for calendar in dict.fromkeys(t.calendar for t in calendars):
            assert calendar is not None
            groups.append((self.calendar_end(calendar),
                           [t for t in calendars if t.calendar == calendar]))
        for end, counted in groups:
            ends = sql.fn("least", sql.col("b_to"), end)
            ends_cols = [exp.Neg(this=exp.cast(exp.Count(this=sql.case((
                sql.col(t.column), exp.Literal.number(1)))), "double")) if t in counted
                else exp.cast(exp.null(), "double") for t in trackers]
            parts.append(exp.select(
                sql.alias(sql.col(key), "key"), sql.alias(ends, "k"),
                *[sql.alias(c, t.column) for c, t in zip(ends_cols, trackers, strict=True)]
            ).from_("m").where(exp.and_(present, exp.LT(this=ends, expression=n),
                                        exp.or_(*[sql.col(t.column) for t in counted]))
                               ).group_by(sql.col(key), ends))
        # every contact (every account with events) starts an interval at the first time
        nothing = [sql.alias(exp.cast(exp.null(), "double"), t.column) for t in trackers]
        parts.append(exp.select(sql.alias(sql.col("email"), "key"),
                                sql.alias(sql.integer(0), "k"), *nothing).from_("contacts")
                     if level == "contact" else
                     exp.select(sql.alias(sql.col("key"), "key"),
                                sql.alias(sql.integer(0), "k"), *nothing).from_(
                         starts.subquery("s")).distinct())
        union: sql.Node = parts[0]
        for part in parts[1:]:
            union = exp.union(union, part, distinct=False)
        return union  # type: ignore[return-value]

    def intervals(self, level: Level) -> Query:
        """Per key: intervals ``[k, k_next)`` of time indexes, with each tracker's running
        value at ``k`` (decayed: the scaled prefix sum)."""
        trackers = self.plan.level(level)
        order = exp.Order(expressions=[exp.Ordered(this=sql.col("k"))])
        frame = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING",
                               end="CURRENT ROW")

        def running(value: sql.Node) -> sql.Node:
            return exp.Window(this=value, partition_by=[sql.col("key")], order=order,
                              spec=frame)

        following = exp.Window(this=exp.Anonymous(this="LEAD", expressions=[
            sql.col("k"), exp.Literal.number(1), sql.integer(self.frame.n)]),
            partition_by=[sql.col("key")], order=order)
        return exp.select(
            sql.col("key"), sql.col("k"), sql.alias(following, "k_next"),
            *[sql.alias(running(exp.Sum(this=exp.Sum(this=sql.col(t.column)))), t.column)
              for t in trackers]
        ).from_(self.changes(level).subquery("c", copy=False)).group_by("key", "k")

    def temporaries(self, level: Level) -> Query:
        """Per key and time index: the decayed values of the copies that stop counting
        when an earlier copy appears (summed over the times they count at)."""
        trackers = [t for t in self.plan.level(level) if not t.windowed
                    and t.lifespan_us is None]
        key = "email" if level == "contact" else "domain"
        n = sql.integer(self.frame.n)
        bucketed = exp.select(
            sql.alias(sql.col(key), "key"), "b_from", "b_to",
            *[sql.alias(exp.Sum(this=sql.case((sql.col(t.column), self.factor(t)))),
                        t.column) for t in trackers]
        ).from_("m").where(exp.and_(sql.col(key).is_(exp.null()).not_(),
                                    exp.LT(this=sql.col("b_to"), expression=n),
                                    exp.or_(*[sql.col(t.column) for t in trackers])
                                    if trackers else exp.false())
                           ).group_by(sql.col(key), "b_from", "b_to")
        k = sql.col("k", "d")
        age = sql.arith(exp.Mul, sql.arith(exp.Sub, k, sql.col("b_from", "s")),
                        sql.integer(self.frame.step))
        return exp.select(sql.col("key", "s"), sql.alias(k, "k"), *[
            sql.alias(exp.Sum(this=sql.arith(exp.Mul, sql.col(t.column, "s"),
                                             self.frame.factor(age, t.half_life_s))),
                      t.column) for t in trackers]
        ).from_(bucketed.subquery("s", copy=False)).join("days AS d", on=self.covers(
            sql.col("b_from", "s"), sql.col("b_to", "s"))).group_by(sql.col("key", "s"), k)

    def alive(self, level: str) -> Query:
        """Per key and time index: each lifespan tracker's decayed sum over the events
        alive then (``T_k - ts < lifespan``), summed over the times each event is alive
        at, as `mql.scoring.decay.EventLog.pieces` counts them."""
        trackers = self.lives[level]
        key = "email" if level == "contact" else "domain"
        k = sql.col("k", "d")
        at = self.frame.time_at(k)
        age = sql.arith(exp.Sub, at, sql.col("ts", "e"))
        longest = max(t.lifespan_us for t in trackers if t.lifespan_us is not None)
        ends = sql.fn("least", sql.col("b_to", "e"), self.frame.bucket(
            sql.arith(exp.Add, sql.col("ts", "e"), sql.integer(longest))))
        cols = []
        for t in trackers:
            assert t.lifespan_us is not None
            value = self.frame.factor(age, t.half_life_s)
            if t.weighted:
                value = sql.arith(exp.Mul, value, sql.col(f"w{t.column}", "e"))
            alive = exp.and_(sql.col(t.column, "e"),
                             exp.LT(this=age.copy(), expression=sql.integer(t.lifespan_us)))
            cols.append(sql.alias(exp.Sum(this=sql.case((alive, value))), t.column))
        return exp.select(sql.alias(sql.col(key, "e"), "key"), sql.alias(k, "k"), *cols
                          ).from_("m AS e").join("days AS d", on=self.covers(
                              sql.col("b_from", "e"), ends)).where(exp.and_(
                                  sql.col(key, "e").is_(exp.null()).not_(),
                                  exp.or_(*[sql.col(t.column, "e") for t in trackers]))
                          ).group_by(sql.col(key, "e"), k)

    # -- the values -------------------------------------------------------------------

    def join(self, query: Query) -> Query:
        """`query` (over ``fits AS f``) joined with the contact's intervals (``s``), its
        account's intervals that overlap them (``a``), the times of each overlap (``d``),
        and the temporaries of both."""
        d = sql.col("k", "d")
        query = query.join("xs AS s", on=exp.EQ(this=sql.col("key", "s"),
                                                expression=sql.col("email", "f")))
        start: sql.Node = sql.col("k", "s")
        end: sql.Node = sql.col("k_next", "s")
        if self.plan.level("account"):
            # an account's intervals cover every time from the first: each time of the
            # contact's interval lies in exactly one of them (or the account has none)
            query = query.join("xsa AS a", on=exp.and_(
                exp.EQ(this=sql.col("key", "a"), expression=sql.col("account", "f")),
                exp.LT(this=sql.col("k", "a"), expression=end),
                exp.GT(this=sql.col("k_next", "a"), expression=start)), join_type="left")
            start = sql.fn("greatest", start, sql.fn("coalesce", sql.col("k", "a"),
                                                     sql.integer(0)))
            end = sql.fn("least", end, sql.fn("coalesce", sql.col("k_next", "a"),
                                              sql.integer(self.frame.n)))
        query = query.join("days AS d", on=self.covers(start, end))
        query = self.window_join(query)
        for name, key, level in (("xl", "email", "contact"), ("xla", "account", "account")):
            if self.lives[level]:
                query = query.join(name, on=exp.and_(
                    exp.EQ(this=sql.col("key", name), expression=sql.col(key, "f")),
                    exp.EQ(this=sql.col("k", name), expression=d)), join_type="left")
        for name, key in (("xt", "email"), ("xta", "account")):
            if self.temporary and (name == "xt" or self.plan.level("account")):
                query = query.join(name, on=exp.and_(
                    exp.EQ(this=sql.col("key", name), expression=sql.col(key, "f")),
                    exp.EQ(this=sql.col("k", name), expression=d)), join_type="left")
        return query

    def tracked(self, t: Tracker) -> sql.Node:
        """Tracker `t` of the contact (or its account) at time ``d.k`` (NULL when nothing
        counted)."""
        if t.aggregate:
            return sql.col(t.column, "xw" if t.level == "contact" else "xwa")
        if t.lifespan_us is not None:
            return sql.col(t.column, "xl" if t.level == "contact" else "xla")
        value = self.value(t, "s" if t.level == "contact" else "a")
        if self.temporary and not t.windowed:
            temp = "xt" if t.level == "contact" else "xta"
            value = sql.arith(exp.Add, sql.fn("coalesce", value, sql.double(0.0)),
                              sql.fn("coalesce", sql.col(t.column, temp), sql.double(0.0)))
        return value

    def value(self, t: Tracker, table: str) -> sql.Node:
        """`t` at time ``d.k`` from its running value in interval row `table`."""
        running = sql.col(t.column, table)
        if t.windowed:
            return running
        return sql.arith(exp.Mul, running, self.forward(t, sql.col("k", "d")))

    # -- aggregates in windows (model language v2) ---------------------------------------

    def aggregates(self, level: Level) -> list[Tracker]:
        return [t for t in self.plan.level(level) if t.aggregate]

    def window_ctes(self) -> list[tuple[str, Query]]:
        levels: tuple[tuple[str, Level], ...] = (("xw", "contact"), ("xwa", "account"))
        return [(name, self.window_aggregates(level)) for name, level in levels
                if self.aggregates(level)]

    def window_aggregates(self, level: Level) -> Query:
        """Per key and time index where it is not empty: each distinct count or sum over
        the events in its window at that time (``[b_from, bucket(ts + window))``): events
        joined with the times they count at, as a window's value is not a running sum."""
        trackers = self.aggregates(level)
        key = "email" if level == "contact" else "domain"
        d = sql.col("k", "d")

        def end(t: Tracker) -> sql.Node:
            assert t.window_us is not None
            return sql.fn("least", sql.col("b_to", "m"), self.frame.bucket(
                sql.arith(exp.Add, sql.col("ts", "m"), sql.integer(t.window_us))))

        longest = max(trackers, key=lambda t: t.window_us or 0)
        cols = [sql.alias(window_aggregate(t, exp.and_(sql.col(t.column, "m"), exp.LT(
            this=d, expression=end(t)))), t.column) for t in trackers]
        return exp.select(sql.alias(sql.col(key, "m"), "key"), sql.alias(d, "k"), *cols
                          ).from_("m").join("days AS d", on=self.covers(
                              sql.col("b_from", "m"), end(longest))).where(exp.and_(
                                  sql.col(key, "m").is_(exp.null()).not_(),
                                  exp.or_(*[sql.col(t.column, "m") for t in trackers]))
                          ).group_by(sql.col(key, "m"), d)

    def window_join(self, query: Query) -> Query:
        d = sql.col("k", "d")
        levels: tuple[tuple[str, str, Level], ...] = (("xw", "email", "contact"),
                                                      ("xwa", "account", "account"))
        for name, key, level in levels:
            if self.aggregates(level):
                query = query.join(name, on=exp.and_(
                    exp.EQ(this=sql.col("key", name), expression=sql.col(key, "f")),
                    exp.EQ(this=sql.col("k", name), expression=d)), join_type="left")
        return query

    def calendar_end(self, calendar: CalendarWindow) -> sql.Node:
        """The index of the first time whose `calendar` window starts after the event's
        ``ts`` (n: none of the series), as a balanced CASE over the moments the window's
        start moves at (`calendar_ends`): log2 of their number comparisons per event."""
        points = calendar_ends(calendar, self.frame.as_of)
        n = self.frame.n

        def build(lo: int, hi: int) -> sql.Node:  # the first j in [lo, hi] with s_j > ts
            if lo == hi:
                return sql.integer(points[lo][1] if lo < len(points) else n)
            mid = (lo + hi) // 2
            return sql.case((exp.LT(this=sql.col("ts"), expression=sql.integer(
                points[mid][0])), build(lo, mid)), default=build(mid + 1, hi))

        return build(0, len(points))

    # -- arithmetic -------------------------------------------------------------------

    def factor(self, t: Tracker) -> sql.Node:
        """The event's decay factor for `t` at its first time (column of ``m``)."""
        factor = sql.double(1.0) if t.half_life_s is None else sql.col(
            self.decay[t.half_life_s])
        if t.weighted:  # issue 13: each counted event's share of the points
            return sql.arith(exp.Mul, factor, sql.col(f"w{t.column}"))
        return factor

    def backward(self, t: Tracker, k: sql.Node) -> sql.Node:
        """2 ** ((T_k - T_0) / h): carries a value at T_k back to T_0 (a prefix term)."""
        age = exp.Neg(this=exp.paren(sql.arith(exp.Mul, k, sql.integer(self.frame.step))))
        return self.frame.factor(age, t.half_life_s)

    def forward(self, t: Tracker, k: sql.Node) -> sql.Node:
        """2 ** (-(T_k - T_0) / h): carries a prefix sum from T_0 to T_k."""
        return self.frame.factor(sql.arith(exp.Mul, k, sql.integer(self.frame.step)),
                                 t.half_life_s)

    @staticmethod
    def covers(start: sql.Node, end: sql.Node) -> sql.Node:
        """``d.k`` in ``[start, end)``."""
        d = sql.col("k", "d")
        return exp.and_(exp.GTE(this=d, expression=start), exp.LT(this=d, expression=end))


def window_aggregate(t: Tracker, counts: sql.Node) -> sql.Node:
    """A distinct count or a sum of ``t*_v`` over the events where `counts` holds."""
    assert t.measure is not None
    value = sql.case((counts, sql.col(f"{t.column}_v")))
    if t.measure.kind == "distinct":
        return exp.Count(this=exp.Distinct(expressions=[value]))
    if t.measure.kind == "avg":  # sum(value - line), -1 when no value is in the window
        return sql.case((exp.GT(this=exp.Count(this=value), expression=exp.Literal.number(0)),
                         exp.Sum(this=value.copy())), default=sql.double(-1.0))
    return exp.Sum(this=value)


def longest(frame: Frame) -> int:
    """How many times of the series one query may compute (see `MAX_HALF_LIVES`)."""
    lives = [t.half_life_s for t in frame.plan.trackers
             if not t.windowed and t.half_life_s is not None]
    if not lives:
        return frame.n
    return max(1, int(MAX_HALF_LIVES * min(lives) * 1e6 // frame.step))

