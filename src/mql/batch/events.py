"""Steps 1-3 of the compiled query: the valid events, their duplicates, and for each
relevant event one boolean per tracker (with its decay factors).

Each event is read once: its time parsed once, its JSON properties parsed once (all the
keys the model reads in one call where the dialect can), each property's forms (present,
lower case, number) computed once, and the decay factor computed once per half-life; the
trackers' conditions then read these columns.

>>> from importlib.resources import files
>>> from datetime import datetime, timezone
>>> from mql.batch.asof import AsOf
>>> from mql.batch.plan import Plan
>>> from mql.model.parse import parse_model
>>> model = parse_model(files("mql").joinpath("examples/models/b2b-saas.yaml").read_text())
>>> frame = Frame(Plan(model), AsOf.at(datetime(2026, 3, 2, tzinfo=timezone.utc)), "duckdb")
>>> ctes = dict(matched(frame))
>>> list(ctes), [c.alias_or_name for c in ctes["m"].selects][:4]
(['mw', 'm'], ['email', 'ts', 'domain', 't0'])
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from mql.batch import sql
from mql.batch.conditions import Forms, Scope, forms
from mql.batch.conditions import to_sql as condition_sql
from mql.batch.frame import Frame
from mql.batch.plan import Tracker, window_micros
from mql.model.conditions import CONTACT, Condition
from mql.model.spec import PointsPer
from mql.model.vocabulary import EVENT_ALIASES
from mql.scoring.decay import repeats_kept

Query = exp.Select


def event_type(raw: sql.Node) -> sql.Node:
    """`mql.model.vocabulary.event_type` in SQL: lower case words joined by underscores,
    then the standard name of a known other spelling."""
    snake = exp.Trim(this=exp.RegexpReplace(
        this=exp.Lower(this=exp.Trim(this=raw)), expression=sql.text("[^a-z0-9]+"),
        replacement=sql.text("_"), modifiers=sql.text("g")), expression=sql.text("_"))
    return exp.Case(this=snake, ifs=[exp.If(this=sql.text(alias), true=sql.text(name))
                                     for alias, name in sorted(EVENT_ALIASES.items())],
                    default=snake.copy())


def valid_events(frame: Frame) -> Query:
    """``ev``: the rows `mql.ingest` would accept (id, type, a readable time, a
    well-formed email if any, someone to attribute it to, properties that are a JSON
    object), with the time in microseconds (UTC); events after the last as-of time are
    dropped in ``dd``, after duplicates are resolved."""
    raw = sql.col
    # an address is compared in lower case; a contact's CRM-id key (`salesforce:00Q1`,
    # no "@") as written: record ids are case-sensitive
    trimmed = exp.Trim(this=raw("email"))
    email = exp.Case(ifs=[exp.If(this=exp.GT(this=sql.fn("strpos", trimmed, sql.text("@")),
                                             expression=exp.Literal.number(0)),
                                 true=exp.Lower(this=trimmed.copy()))],
                     default=trimmed.copy())
    account = exp.Lower(this=exp.Trim(this=raw("account")))
    inner = exp.select(
        sql.alias(exp.Trim(this=raw("event_id")), "event_id"),
        sql.alias(event_type(raw("type")), "type"),
        sql.alias(sql.epoch_micros(exp.Trim(this=raw("timestamp")), frame.dialect), "ts"),
        sql.alias(sql.fn("nullif", email, sql.text("")), "email"),
        sql.alias(sql.fn("nullif", account, sql.text("")), "account"),
        sql.alias(sql.fn("nullif", exp.Trim(this=raw("anonymous_id")), sql.text("")),
                  "anonymous_id"),
        raw("properties"), raw("seq"),
    ).from_("events_raw")
    # Spark: the JSON parsed here, once, for the check below and the values `matched` reads
    struct = sql.json_struct(raw("properties"), list(frame.plan.properties), frame.dialect)
    if struct is not None:
        inner = inner.select(sql.alias(struct, "pj"), copy=False)
    e = sql.col("email")
    at = sql.fn("strpos", e, sql.text("@"))
    domain = sql.fn("substr", e, sql.arith(exp.Add, at, exp.Literal.number(1)))
    no_space = exp.EQ(this=sql.fn("strpos", e, sql.text(" ")),
                      expression=exp.Literal.number(0))
    crm_key = exp.and_(exp.EQ(this=at.copy(), expression=exp.Literal.number(0)),
                       exp.GT(this=sql.fn("strpos", e, sql.text(":")),
                              expression=exp.Literal.number(1)), no_space.copy())
    good_email = exp.or_(e.is_(exp.null()), exp.and_(
        exp.GT(this=at, expression=exp.Literal.number(1)),
        exp.GT(this=sql.fn("strpos", domain, sql.text(".")),
               expression=exp.Literal.number(0)),
        no_space), crm_key)
    someone = exp.or_(e.is_(exp.null()).not_(), sql.col("account").is_(exp.null()).not_(),
                      sql.col("anonymous_id").is_(exp.null()).not_())
    # with no id twice, an event of a type no tracker reads can neither count nor hide a
    # later copy of its id: such rows are dropped first, so their JSON is never parsed
    types = frame.plan.event_types
    relevant = ([] if not frame.unique_ids else [exp.In(this=sql.col("type"), expressions=[
        sql.text(t) for t in types])] if types else [exp.false()])
    return exp.select("*").from_(inner.subquery("r", copy=False)).where(exp.and_(
        *relevant, exp.NEQ(this=sql.col("event_id"), expression=sql.text("")),
        exp.NEQ(this=sql.col("type"), expression=sql.text("")),
        sql.col("ts").is_(exp.null()).not_(), good_email, someone,
        sql.json_object_or_blank(sql.col("properties"), frame.dialect,
                                 None if struct is None else sql.col("pj"))))


def deduplicated(frame: Frame) -> Query:
    """``dd``: the first copy of each event id in input order (``copy = 1``), whatever its
    time (the rule of the store and the streaming core, docs/ingest.md), at or before the
    last as-of time; ``shadow`` (always NULL) keeps the series layout."""
    order = exp.Order(expressions=[exp.Ordered(this=sql.col("seq"))])
    in_time = exp.LTE(this=sql.col("ts"), expression=sql.integer(frame.as_of.last_us))
    shadow = sql.alias(exp.cast(exp.null(), "bigint"), "shadow")
    if frame.unique_ids:
        return exp.select("*", sql.alias(exp.Literal.number(1), "copy"), shadow
                          ).from_("ev").where(in_time)
    first = exp.Window(this=exp.RowNumber(), partition_by=[sql.col("event_id")], order=order)
    numbered = exp.select("*", sql.alias(first, "copy")).from_("ev")
    return exp.select("*", shadow).from_(numbered.subquery("n", copy=False)).where(
        exp.and_(exp.EQ(this=sql.col("copy"), expression=exp.Literal.number(1)), in_time))


def matched(frame: Frame) -> list[tuple[str, Query]]:
    """``m`` (after ``mw``, see `windowed`): per relevant event that counts, its contact
    (``email``), time, account (``domain``, for account-level trackers), buckets
    (``b_from``, ``b_to``: the as-of times it counts at, for a series), one boolean per
    tracker, one decay factor per half-life (``f0``, ... at the first time it counts at)."""
    plan = frame.plan
    # 1. the relevant events, the JSON parsed once (DuckDB: all keys in one call)
    keys = list(plan.properties)
    parsed_in_ev = sql.json_struct(sql.col("properties"), keys, frame.dialect) is not None
    parsed, values = sql.json_texts(sql.col("properties", "d"), keys, frame.dialect,
                                    sql.col("pj", "d") if parsed_in_ev else None)
    keep = ["email", "ts", *(["b_from", "b_to"] if frame.series else []),
            *(["domain"] if plan.level("account") else [])]
    cols: list[sql.Node] = [sql.col("email", "d"), sql.col("ts", "d"), sql.col("type", "d")]
    if parsed is not None:
        cols.append(parsed)
    else:
        cols += [sql.alias(v, c) for v, c in zip(values, plan.properties.values(),
                                                 strict=True)]
        values = [sql.col(c) for c in plan.properties.values()]
    if frame.series:
        shadow = sql.col("shadow", "d")
        cols.append(sql.alias(frame.bucket(sql.col("ts", "d")), "b_from"))
        cols.append(sql.alias(sql.case((shadow.is_(exp.null()), sql.integer(frame.n)),
                                       default=frame.bucket(shadow)), "b_to"))
    relevant: sql.Node = exp.In(
        this=sql.col("type", "d"), expressions=[sql.text(t) for t in plan.event_types]
    ) if plan.event_types else exp.false()
    # with no id twice, ``ev`` has already kept only the relevant types
    where = [*([] if frame.unique_ids else [relevant]),
             *([] if frame.series else [exp.EQ(this=sql.col("copy", "d"),
                                               expression=exp.Literal.number(1))])]
    events = exp.select(*cols).from_("dd AS d")
    if where:
        events = events.where(exp.and_(*where))
    if plan.level("account"):
        domain = sql.fn("coalesce", sql.col("account", "d"), sql.col("account", "c"))
        events = events.select(sql.alias(domain, "domain")).join(
            "contacts AS c", on=exp.EQ(this=sql.col("email", "c"),
                                       expression=sql.col("email", "d")), join_type="left")
    # 2. each property as a column, then the forms its comparisons read
    props = exp.select(*map(sql.col, keep), sql.col("type"), *[
        sql.alias(v, c) for v, c in zip(values, plan.properties.values(), strict=True)]
    ).from_(events.subquery("e", copy=False))
    named = {c: (Forms(sql.col(f"{c}_present"), sql.col(f"{c}_lower"),
                       sql.col(f"{c}_number")), forms(sql.col(c)))
             for c in plan.properties.values()}
    scope = Scope({f: sql.col(c) for f, c in plan.properties.items()},
                  forms={f: named[c][0] for f, c in plan.properties.items()})
    flags = [sql.alias(tracker_match(t, scope), t.column) for t in plan.trackers
             if t.after is None]
    flags += window_inputs(plan.trackers, scope)
    # 3. the decay factor per half-life, at the first time the event counts at
    at = frame.time_at(sql.col("b_from")) if frame.series else sql.integer(frame.t0)
    factors = [sql.alias(frame.factor(sql.arith(exp.Sub, at, sql.col("ts")), h), name)
               for h, name in frame.decay_columns().items()]
    used = {c.name for flag in flags for c in flag.find_all(exp.Column)}
    derived = [sql.alias(getattr(given, form), f"{c}_{form}")
               for c, (_, given) in named.items() for form in ("present", "lower", "number")
               if f"{c}_{form}" in used]
    with_forms = exp.select(*map(sql.col, keep), sql.col("type"),
                            *map(sql.col, plan.properties.values()), *derived
                            ).from_(props.subquery("p", copy=False))
    per = [sql.alias(points_per_sql(t.per, forms(sql.col(plan.properties[t.per.field])).number),
                     f"w{t.column}") for t in plan.trackers if t.per is not None]
    query = exp.select(*map(sql.col, keep), *flags, *factors, *per).from_(
        with_forms.subquery("v", copy=False))
    return windowed(frame, query, keep, [f.alias_or_name for f in flags],
                    [str(f.alias_or_name) for f in factors])


def windowed(frame: Frame, query: Query, keep: list[str], flags: Sequence[str],
             factors: Sequence[str]) -> list[tuple[str, Query]]:
    """`query` with the flags and shares that windows over earlier events decide
    (`counted_once`, `sequences`).

    Only the events such a window reads can change its result: an event of a
    `once_per` or `each_repeat` tracker, or an earlier or later event of a sequence. So
    the windows then run over those rows only (``mw``, the rows before the windows, split
    in two), and the other rows pass with a sequence's flag false and a repeat's share 0:
    a window over one large partition (the account-level events of no contact, one
    partition of NULL) sorts every row of it, relevant or not. The result is the same
    rows with the same values that count."""
    plan = frame.plan

    def in_series(rows: Query) -> Query:  # counts at some as-of time of the series
        return rows.where(exp.LT(this=sql.col("b_from"), expression=sql.col("b_to"))
                          ) if frame.series else rows

    def over(rows: Query) -> Query:
        return sequences(in_series(counted_once(frame, rows, keep)), plan.trackers, keep,
                         flags, factors)

    read = [f"{t.column}{part}" for t in plan.trackers if t.after is not None
            for part in ("_a", "_b")]
    read += [t.column for t in plan.trackers if t.after is None
             and (t.once_per is not None or t.each_repeat is not None)]
    if not read:
        return [("m", over(query))]
    reads = exp.or_(*[sql.fn("coalesce", sql.col(c), exp.false()) for c in read])
    columns = [sql.col(c.alias_or_name) for c in query.selects]
    windows = over(exp.select(*columns).from_("mw").where(reads))
    decided: dict[str, sql.Node] = {t.column: exp.false() for t in plan.trackers
                                    if t.after is not None}
    decided |= {f"w{t.column}": sql.double(0.0) for t in plan.trackers
                if t.each_repeat is not None}
    names = [str(c.alias_or_name) for c in windows.selects]
    rest = in_series(exp.select(*[sql.alias(decided[n], n) if n in decided else sql.col(n)
                                  for n in names]).from_("mw").where(exp.not_(reads.copy())))
    return [("mw", query), ("m", exp.select(*map(sql.col, names)).from_(
        exp.union(windows, rest, distinct=False).subquery("u", copy=False)))]


def tracker_match(t: Tracker, scope: Scope) -> sql.Node:
    """Whether an event counts for tracker `t` (its type, and its `where` on `scope`)."""
    kinds = exp.In(this=sql.col("type"), expressions=[sql.text(e) for e in t.events])
    return kinds if t.where is None else exp.and_(kinds, condition_sql(t.where, scope))


# -- aggregates and sequences in windows (model language v2) ---------------------------------

def window_inputs(trackers: Sequence[Tracker], scope: Scope) -> list[sql.Node]:
    """Per event, what the windows beyond counting read: the value a distinct count or a
    sum takes (``t*_v``: the property's text as written, the contact, or the positive
    finite number; NULL counts nothing), and for a sequence whether the event is one of
    its later events (``t*_b``) or of its earlier ones (``t*_a``)."""
    cols: list[sql.Node] = []
    for t in trackers:
        if t.measure is not None:
            if t.measure.field == CONTACT:
                value: sql.Node = sql.col("email")
            else:
                text = scope.text[t.measure.field]
                given = scope.forms.get(t.measure.field) or forms(text)
                if t.measure.kind == "distinct":
                    value = sql.case((given.present, text))
                elif t.measure.kind == "avg":  # value - line, a negative value as 0
                    number = given.number
                    finite = exp.and_(
                        exp.GTE(this=number, expression=sql.double(-1.7976931348623157e308)),
                        exp.LTE(this=number, expression=sql.double(1.7976931348623157e308)))
                    value = sql.case((finite, sql.arith(
                        exp.Sub, sql.fn("greatest", number, sql.double(0.0)),
                        sql.double(t.line))))
                else:
                    number = given.number
                    value = sql.case((exp.and_(
                        exp.GT(this=number, expression=sql.double(0.0)),
                        exp.LTE(this=number, expression=sql.double(1.7976931348623157e308))),
                        number))
            cols.append(sql.alias(value, f"{t.column}_v"))
        if t.after is not None:
            cols.append(sql.alias(_kinds_where(t.then, t.then_where, scope), f"{t.column}_b"))
            cols.append(sql.alias(_kinds_where(t.after.events, t.after.where, scope),
                                  f"{t.column}_a"))
    return cols


def _kinds_where(kinds: Sequence[str], where: Condition | None, scope: Scope) -> sql.Node:
    test = exp.In(this=sql.col("type"), expressions=[sql.text(e) for e in kinds])
    return test if where is None else exp.and_(test, condition_sql(where, scope))


def sequences(query: Query, trackers: Sequence[Tracker], keep: Sequence[str],
              flags: Sequence[str], factors: Sequence[str]) -> Query:
    """`query` (``m``) with each sequence's flag: a later event (``t*_b``) with at least
    `min_count` earlier events (``t*_a``) of the same contact (account) strictly before it,
    within the gap (``RANGE`` over the time in microseconds: ``(ts - gap, ts)``)."""
    seqs = [t for t in trackers if t.after is not None]
    if not seqs:
        return query
    cols: list[sql.Node] = [*map(sql.col, keep)]
    cols += [sql.col(f) for f in flags if not f.endswith(("_a", "_b"))]
    cols += [sql.col(f) for f in factors]
    cols += [sql.col(f"w{t.column}") for t in trackers if t.weighted]  # shares, points
    order = exp.Order(expressions=[exp.Ordered(this=sql.col("ts"))])
    for t in seqs:
        assert t.after is not None
        gap = t.after.within_days
        spec = exp.WindowSpec(
            kind="RANGE", start="UNBOUNDED" if gap is None else exp.Literal.number(
                window_micros(gap) - 1), start_side="PRECEDING",
            end=exp.Literal.number(1), end_side="PRECEDING")
        earlier = exp.Window(this=exp.Count(this=sql.case((sql.col(f"{t.column}_a"),
                                                           exp.Literal.number(1)))),
                             partition_by=[sql.col("email" if t.level == "contact"
                                                   else "domain")], order=order, spec=spec)
        cols.append(sql.alias(exp.and_(sql.col(f"{t.column}_b"), exp.GTE(
            this=earlier, expression=sql.integer(t.after.min_count))), t.column))
    return exp.select(*cols).from_(query.subquery("w", copy=False))


# -- de-duplication and diminishing repeats (issue 13) -----------------------------------

_PERIOD_US = {"hour": 3_600_000_000, "day": 86_400_000_000}
_SESSION_US = 30 * 60 * 1_000_000  # `mql.scoring.decay.SESSION`


def counted_once(frame: Frame, query: Query, keep: list[str]) -> Query:
    """``m`` with each `once_per` tracker true only on the events it counts (the first of
    each UTC hour or day, or of each session: 30 minutes after the previous matching
    event), and with ``w<column>``, the share of the points of each counted event of an
    `each_repeat` tracker: ``r**(n-1)`` for its n-th counted event, 0 after the
    `repeats_kept(r)`-th, as `mql.scoring.decay.EventLog` counts them. Whether and how
    much an event counts depends on earlier events only, so it holds at every time."""
    plan = frame.plan
    if not any(t.once_per is not None or t.each_repeat is not None for t in plan.trackers):
        return query
    order = exp.Order(expressions=[exp.Ordered(this=sql.col("ts"))])

    def key(t: Tracker) -> sql.Node:
        return sql.col("email" if t.level == "contact" else "domain")

    flags: dict[str, sql.Node] = {}
    for t in plan.trackers:
        flag: sql.Node = sql.col(t.column)
        if t.once_per == "session":
            previous = exp.Window(this=exp.Anonymous(this="LAG", expressions=[sql.col("ts")]),
                                  partition_by=[key(t), sql.col(t.column)], order=order)
            flag = exp.and_(flag, sql.fn("coalesce", exp.GTE(
                this=sql.arith(exp.Sub, sql.col("ts"), previous),
                expression=sql.integer(_SESSION_US)), exp.true()))
        elif t.once_per is not None:
            bucket = sql.arith(exp.IntDiv, sql.col("ts"), sql.integer(_PERIOD_US[t.once_per]))
            first = exp.Window(this=exp.RowNumber(), partition_by=[key(t), sql.col(t.column),
                                                                   bucket], order=order)
            flag = exp.and_(flag, exp.EQ(this=first, expression=exp.Literal.number(1)))
        flags[t.column] = sql.alias(flag, t.column)
    names = [str(c.alias_or_name) for c in query.selects]
    once = exp.select(*[flags.get(n) or sql.col(n) for n in names]).from_(
        query.subquery("o", copy=False))
    shares: list[sql.Node] = []
    for t in plan.trackers:
        if t.each_repeat is None:
            continue
        rank = exp.Window(this=exp.RowNumber(), partition_by=[key(t), sql.col(t.column)],
                          order=order)
        kept = repeats_kept(t.each_repeat)
        share = sql.case((exp.LTE(this=rank, expression=sql.integer(kept)), exp.Pow(
            this=sql.double(t.each_repeat), expression=exp.cast(
                sql.arith(exp.Sub, rank.copy(), exp.Literal.number(1)), "double"))),
            default=sql.double(0.0))
        shares.append(sql.alias(share, f"w{t.column}"))
    if not shares:
        return once
    return exp.select(*map(sql.col, names), *shares).from_(once.subquery("r", copy=False))


# -- points per unit (issue 13) -----------------------------------------------------------

_LARGEST = 1.7976931348623157e308  # the largest finite double: NaN and infinities fail


def points_per_sql(per: PointsPer, n: sql.Node) -> sql.Node:
    """`PointsPer.value` of the number `n` (NULL when not a number): ``floor(n / each) *
    points`` limited to `cap` in magnitude, for a finite ``n >= 0``; else 0."""
    units = exp.Floor(this=sql.arith(exp.Div, n, sql.double(per.each)))
    raw = sql.arith(exp.Mul, exp.paren(units), sql.double(per.points))
    if per.cap is not None:
        raw = sql.case((exp.GTE(this=raw, expression=sql.double(0.0)),
                        sql.fn("least", sql.double(per.cap), raw)),
                       default=sql.fn("greatest", sql.double(-per.cap), raw))
    finite = exp.and_(exp.GTE(this=n, expression=sql.double(0.0)),
                      exp.LTE(this=n, expression=sql.double(_LARGEST)))
    return sql.case((sql.fn("coalesce", finite, exp.false()), raw), default=sql.double(0.0))
