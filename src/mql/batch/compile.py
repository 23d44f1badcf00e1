"""A model compiled to one set-based query: every contact's scores, grade and MQL decision
at one time or at every time of a series, from the tables `events_raw`, `contacts` and
`accounts`.

The query, in steps (each a CTE):

1. ``ev``: the event rows `mql.ingest` would accept, with the time in microseconds (UTC);
2. ``dd``: for each copy of an event id, the earliest time of the copies before it in
   input order (``shadow``): a copy counts at time T when it is at or before T and no
   earlier copy is (so duplicates apply once, as in `mql.scoring.score`); for one time T,
   simply the first copy (``copy = 1``);
3. ``m``: one boolean per tracker (rule, activity, fast track) for each relevant event;
4. ``xc`` / ``xa``: per contact (per account) and as-of time, each tracker's decayed sum
   ``sum 2**(-(T - t)/h)`` or count of events in ``(T - window, T]``;
5. ``fits``, ``scored``: fit scores once per contact, then intent scores (caps, maxima)
   per contact and time;
6. the decision: grade, reasons (thresholds, criteria, fast track), exclusions, MQL.

For a series of times, events are summed once per (contact, first time that counts them)
and carried to later times by the decay factor ``2**(-(T_k - T_b)/h)`` (decay is linear in
the points), and window counts join each event to the few times whose window holds it.

>>> from importlib.resources import files
>>> from datetime import datetime, timezone
>>> from mql.model.parse import parse_model
>>> model = parse_model(files("mql").joinpath("examples/models/b2b-saas.yaml").read_text())
>>> text = to_sql(model, AsOf.at(datetime(2026, 3, 2, tzinfo=timezone.utc)), "duckdb")
>>> text.startswith("WITH ev AS"), "POWER(" in text
(True, True)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from sqlglot import exp

from mql.batch import sql
from mql.batch.asof import AsOf
from mql.batch.conditions import Scope
from mql.batch.conditions import to_sql as condition_sql
from mql.batch.plan import Level, Plan, Tracker
from mql.model.conditions import Activity, activities
from mql.model.spec import TOTAL, Criterion, FitRule, IntentRule, Model

Query = exp.Select


def to_sql(model: Model, as_of: AsOf, dialect: sql.Dialect, *, pretty: bool = False,
           unique_ids: bool = False) -> str:
    """The query text for `dialect` (see `compile_model`). Texts of parsed models are kept
    by the model's digest (building the tree takes a noticeable fraction of a second)."""
    key = (model.digest, as_of, dialect, pretty, unique_ids)
    if model.digest and key in _TEXTS:
        return _TEXTS[key]
    text = compile_model(model, as_of, dialect, unique_ids=unique_ids).sql(
        dialect=dialect, pretty=pretty)
    if model.digest:
        if len(_TEXTS) >= 64:
            _TEXTS.pop(next(iter(_TEXTS)))
        _TEXTS[key] = text
    return text


_TEXTS: dict[tuple[str, AsOf, str, bool, bool], str] = {}


def compile_model(model: Model, as_of: AsOf, dialect: sql.Dialect, *,
                  unique_ids: bool = False) -> Query:
    """The query AST: one row per contact (and per time of `as_of`) with columns
    contact, as_of, one per score, total, grade, mql, reasons, excluded_by.

    `unique_ids=True` promises that no event id occurs twice in `events_raw` (the engines
    check it first): the query then skips ordering the copies of each id.
    """
    return _Compiler(Plan(model), as_of, dialect, unique_ids).query()


class _Compiler:
    def __init__(self, plan: Plan, as_of: AsOf, dialect: sql.Dialect,
                 unique_ids: bool = False) -> None:
        self.plan, self.as_of, self.dialect = plan, as_of, dialect
        self.unique_ids = unique_ids
        self.series = as_of.count > 1
        self.t0, self.step, self.n = as_of.start_us, as_of.step_us, as_of.count

    # -- 1-3: events --------------------------------------------------------------------

    def events(self) -> Query:
        raw = sql.col
        email = exp.Lower(this=exp.Trim(this=raw("email")))
        account = exp.Lower(this=exp.Trim(this=raw("account")))
        inner = exp.select(
            sql.alias(exp.Trim(this=raw("event_id")), "event_id"),
            sql.alias(exp.Trim(this=raw("type")), "type"),
            sql.alias(sql.epoch_micros(exp.Trim(this=raw("timestamp")), self.dialect), "ts"),
            sql.alias(sql.fn("nullif", email, sql.text("")), "email"),
            sql.alias(sql.fn("nullif", account, sql.text("")), "account"),
            sql.alias(sql.fn("nullif", exp.Trim(this=raw("anonymous_id")), sql.text("")),
                      "anonymous_id"),
            raw("properties"), raw("seq"),
        ).from_("events_raw")
        e = sql.col("email")
        at = sql.fn("strpos", e, sql.text("@"))
        domain = sql.fn("substr", e, sql.arith(exp.Add, at, exp.Literal.number(1)))
        good_email = exp.or_(e.is_(exp.null()), exp.and_(
            exp.GT(this=at, expression=exp.Literal.number(1)),
            exp.GT(this=sql.fn("strpos", domain, sql.text(".")),
                   expression=exp.Literal.number(0)),
            exp.EQ(this=sql.fn("strpos", e, sql.text(" ")), expression=exp.Literal.number(0))))
        someone = exp.or_(e.is_(exp.null()).not_(), sql.col("account").is_(exp.null()).not_(),
                          sql.col("anonymous_id").is_(exp.null()).not_())
        return exp.select("*").from_(inner.subquery("r")).where(exp.and_(
            exp.NEQ(this=sql.col("event_id"), expression=sql.text("")),
            exp.NEQ(this=sql.col("type"), expression=sql.text("")),
            exp.LTE(this=sql.col("ts"), expression=sql.integer(self.as_of.last_us)),
            good_email, someone,
            sql.json_object_or_blank(sql.col("properties"), self.dialect)))

    def deduplicated(self) -> Query:
        order = exp.Order(expressions=[exp.Ordered(this=sql.col("seq"))])
        if self.unique_ids:
            return exp.select("*", sql.alias(exp.Literal.number(1), "copy"),
                              sql.alias(exp.cast(exp.null(), "bigint"), "shadow")).from_("ev")
        if not self.series:
            # one time: a copy counts when it is the first valid one (events after T are
            # gone already); numbering rows is cheaper than the running minimum below
            first = exp.Window(this=exp.RowNumber(), partition_by=[sql.col("event_id")],
                               order=order)
            return exp.select("*", sql.alias(first, "copy")).from_("ev")
        earlier = exp.Window(
            this=exp.Min(this=sql.col("ts")), partition_by=[sql.col("event_id")], order=order,
            spec=exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING",
                                end=exp.Literal.number(1), end_side="PRECEDING"))
        return exp.select("*", sql.alias(earlier, "shadow")).from_("ev")

    def bucket(self, t: sql.Node) -> sql.Node:
        """The index of the first as-of time at or after `t` (0 if `t` is before all)."""
        offset = sql.arith(exp.Sub, t, sql.integer(self.t0 - self.step + 1))
        return sql.case((exp.LTE(this=t, expression=sql.integer(self.t0)),
                         exp.Literal.number(0)),
                        default=sql.arith(exp.IntDiv, offset, sql.integer(self.step)))

    def matched(self) -> Query:
        plan = self.plan
        # the JSON is parsed once per relevant event (DuckDB: all keys in one call)
        parsed, values = sql.json_texts(sql.col("properties", "d"), list(plan.properties),
                                        self.dialect)
        cols: list[sql.Node] = [sql.col("email", "d"), sql.col("ts", "d"),
                                      sql.col("type", "d")]
        if parsed is not None:
            cols.append(parsed)
        else:
            cols += [sql.alias(e, c) for e, c in zip(values, plan.properties.values(),
                                                     strict=True)]
        if self.series:
            shadow = sql.col("shadow", "d")
            cols.append(sql.alias(self.bucket(sql.col("ts", "d")), "b_from"))
            cols.append(sql.alias(sql.case((shadow.is_(exp.null()), sql.integer(self.n)),
                                           default=self.bucket(shadow)), "b_to"))
        relevant: sql.Node = exp.In(
            this=sql.col("type", "d"), expressions=[sql.text(t) for t in plan.event_types]
        ) if plan.event_types else exp.false()
        inner = exp.select(*cols).from_("dd AS d").where(exp.and_(
            relevant, *([] if self.series else [exp.EQ(this=sql.col("copy", "d"),
                                                expression=exp.Literal.number(1))])))
        if plan.level("account"):
            domain = sql.fn("coalesce", sql.col("account", "d"), sql.col("account", "c"))
            inner = inner.select(sql.alias(domain, "domain")).join(
                "contacts AS c", on=exp.EQ(this=sql.col("email", "c"),
                                           expression=sql.col("email", "d")), join_type="left")
        scope = Scope({f: v if parsed is not None else sql.col(c) for (f, c), v in
                       zip(plan.properties.items(), values, strict=True)})
        flags = [sql.alias(self.tracker_match(t, scope), t.column) for t in plan.trackers]
        keep = ["email", "ts", *(["b_from", "b_to"] if self.series else []),
                *(["domain"] if plan.level("account") else [])]
        query = exp.select(*map(sql.col, keep), *flags).from_(inner.subquery("e"))
        if self.series:
            query = query.where(exp.LT(this=sql.col("b_from"), expression=sql.col("b_to")))
        return query

    @staticmethod
    def tracker_match(t: Tracker, scope: Scope) -> sql.Node:
        kinds = exp.In(this=sql.col("type"), expressions=[sql.text(e) for e in t.events])
        return kinds if t.where is None else exp.and_(kinds, condition_sql(t.where, scope))

    # -- 4: trackers per contact / account and time ------------------------------------

    def factor(self, age_us: sql.Node, t: Tracker) -> sql.Node:
        """2 ** (-age / half-life), as `Decay.factor` computes it (seconds, then ratio)."""
        if t.half_life_s is None:
            return sql.double(1.0)
        seconds = sql.arith(exp.Div, exp.cast(age_us, "double"), sql.double(1e6))
        ratio = sql.arith(exp.Div, exp.paren(seconds), sql.double(t.half_life_s))
        return exp.Pow(this=sql.double(2.0), expression=exp.Neg(this=exp.paren(ratio)))

    def window_count(self, t: Tracker, at: sql.Node) -> sql.Node:
        assert t.window_us is not None
        recent = exp.GT(this=sql.col("ts"),
                        expression=sql.arith(exp.Sub, at, sql.integer(t.window_us)))
        return exp.Count(this=sql.case((exp.and_(sql.col(t.column), recent),
                                        exp.Literal.number(1))))

    def totals(self, level: Level) -> Query:
        """Per key (email or domain) and time index `k`: each tracker's value."""
        trackers = self.plan.level(level)
        key = "email" if level == "contact" else "domain"
        present = sql.col(key).is_(exp.null()).not_()
        if not self.series:
            at = sql.integer(self.t0)
            cols = [self.decayed_sum(t, sql.arith(exp.Sub, at, sql.col("ts")))
                    if not t.windowed else self.window_count(t, at) for t in trackers]
            return exp.select(sql.alias(sql.col(key), "key"), sql.alias(exp.Literal.number(0),
                                                                         "k"),
                              *[sql.alias(c, t.column) for c, t in zip(cols, trackers,
                                                                      strict=True)]
                              ).from_("m").where(present).group_by(sql.col(key))
        parts: list[Query] = []
        decayed = [t for t in trackers if not t.windowed]
        windowed = [t for t in trackers if t.windowed]
        if decayed:
            parts.append(self.decayed_series(key, decayed, trackers, present))
        if windowed:
            parts.append(self.window_series(key, windowed, trackers, present))
        if not parts:
            return exp.select(sql.alias(sql.col(key), "key"), sql.alias(sql.integer(0), "k")
                              ).from_("m").where(exp.false())
        source: sql.Node = parts[0].subquery("u")
        if len(parts) > 1:
            source = exp.union(parts[0], parts[1], distinct=False).subquery("u")
        return exp.select(sql.col("key"), sql.col("k"),
                          *[sql.alias(exp.Sum(this=sql.col(t.column)), t.column)
                            for t in trackers]).from_(source).group_by("key", "k")

    def decayed_sum(self, t: Tracker, age: sql.Node) -> sql.Node:
        return exp.Sum(this=sql.case((sql.col(t.column), self.factor(age, t))))

    def decayed_series(self, key: str, decayed: list[Tracker], trackers: Sequence[Tracker],
                       present: sql.Node) -> Query:
        start = sql.arith(exp.Add, sql.integer(self.t0),
                          sql.arith(exp.Mul, sql.col("b_from"), sql.integer(self.step)))
        bucketed = exp.select(
            sql.alias(sql.col(key), "key"), "b_from", "b_to",
            *[sql.alias(self.decayed_sum(t, sql.arith(exp.Sub, start, sql.col("ts"))),
                        t.column) for t in decayed]
        ).from_("m").where(exp.and_(present, exp.or_(*[sql.col(t.column) for t in decayed]))
                           ).group_by(sql.col(key), "b_from", "b_to")
        k = sql.col("k", "d")
        age = sql.arith(exp.Mul, sql.arith(exp.Sub, k, sql.col("b_from", "s")),
                        sql.integer(self.step))
        cols: list[sql.Node] = []
        for t in trackers:
            value = sql.arith(exp.Mul, sql.col(t.column, "s"), self.factor(age, t)
                            ) if t in decayed else exp.null()
            cols.append(sql.alias(exp.cast(value, "double") if t.windowed else value, t.column))
        return exp.select(sql.col("key", "s"), sql.alias(k, "k"), *cols).from_(
            bucketed.subquery("s")).join("days AS d", on=exp.and_(
                exp.GTE(this=k, expression=sql.col("b_from", "s")),
                exp.LT(this=k, expression=sql.col("b_to", "s"))))

    def window_series(self, key: str, windowed: list[Tracker], trackers: Sequence[Tracker],
                      present: sql.Node) -> Query:
        k = sql.col("k", "d")
        # the days an event can count at: from its own day until its longest window ends
        # (T_k < ts + w), and before an earlier copy counts (b_to)
        longest = self.plan.longest_window_us
        ends = self.bucket(sql.arith(exp.Add, sql.col("ts"), sql.integer(longest)))
        reach = sql.fn("least", sql.col("b_to"), ends)
        at = sql.arith(exp.Add, sql.integer(self.t0), sql.arith(exp.Mul, k, sql.integer(self.step)))
        cols = [sql.alias(exp.cast(self.window_count(t, at), "double") if t in windowed
                          else exp.cast(exp.null(), "double"), t.column) for t in trackers]
        return exp.select(sql.alias(sql.col(key), "key"), sql.alias(k, "k"), *cols).from_(
            "m").join("days AS d", on=exp.and_(
                exp.GTE(this=k, expression=sql.col("b_from")),
                exp.LT(this=k, expression=reach))).where(exp.and_(
                    present, exp.GT(this=sql.col("ts"), expression=sql.integer(
                        self.t0 - longest)), exp.or_(*[sql.col(t.column) for t in windowed]))
        ).group_by(sql.col(key), k)

    # -- 5-6: scores and the decision ----------------------------------------------------

    def tracked(self, t: Tracker) -> sql.Node:
        table = "xc" if t.level == "contact" else "xa"
        return sql.fn("coalesce", sql.col(t.column, table), sql.double(0.0))

    def rule_value(self, rule: IntentRule, key: str) -> sql.Node:
        t = self.plan.rule_trackers[key]
        if t.windowed:
            assert rule.min_count is not None
            return sql.case((exp.GTE(this=self.tracked(t), expression=sql.integer(
                rule.min_count)), sql.double(rule.points)), default=sql.double(0.0))
        value = sql.arith(exp.Mul, sql.double(rule.points), self.tracked(t))
        if rule.cap is None:
            return value
        return sql.case((exp.GTE(this=value, expression=sql.double(0.0)),
                         sql.fn("least", sql.double(rule.cap), value)),
                        default=sql.fn("greatest", sql.double(-rule.cap), value))

    def fits(self) -> Query:
        """Per contact, once (fit does not change with time): its fields, its account's
        fields, and each fit score."""
        plan, model = self.plan, self.plan.model
        records = Scope({**{f: sql.col(c, "c") for f, c in plan.contact_fields.items()},
                         **{f: sql.col(c, "a") for f, c in plan.account_fields.items()}})
        cols: list[sql.Node] = [sql.col("email", "c"), sql.col("account", "c")]
        cols += [sql.col(c, "c") for c in plan.contact_fields.values()]
        cols += [sql.col(c, "a") for c in plan.account_fields.values()]
        for i, score in enumerate(model.scores.values()):
            if score.kind != "fit":
                continue
            terms: list[sql.Node] = [
                sql.case((condition_sql(rule.when, records), sql.double(rule.points)),
                         default=sql.double(0.0))
                for rule in score.rules if isinstance(rule, FitRule)]
            cols.append(sql.alias(self.summed(terms, score.max), f"s_{i}"))
        cols += [sql.alias(condition_sql(rule.when, records), f"r_{i}")
                 for i, rule in self.record_rules().items()]
        return exp.select(*cols).from_("contacts AS c").join(
            "accounts AS a", on=exp.EQ(this=sql.col("domain", "a"),
                                       expression=sql.col("account", "c")), join_type="left")

    def record_rules(self) -> dict[int, Criterion]:
        """Criteria and exclusions (numbered across both) that read only contact and
        account fields: computed once per contact in ``fits``, not at every time."""
        rules = (*self.plan.model.mql.criteria, *self.plan.model.mql.exclude)
        return {i: rule for i, rule in enumerate(rules)
                if not any(activities(rule.when))
                and all(f.startswith(("contact.", "account.")) for f in rule.when.fields())}

    @staticmethod
    def summed(terms: Sequence[sql.Node], most: float | None) -> sql.Node:
        # summed left to right from 0.0, as the core sums (float addition is not
        # associative, and a threshold may sit exactly on a sum)
        total = functools.reduce(lambda a, b: sql.arith(exp.Add, a, b), terms,
                                 sql.double(0.0))
        return total if most is None else sql.fn("least", sql.double(most), total)

    def scored(self) -> Query:
        """Per contact and time: every score, with what the decision reads."""
        plan, model = self.plan, self.plan.model
        cols: list[sql.Node] = [sql.alias(sql.col("email", "f"), "contact")]
        cols.append(sql.alias(self.time_of(), "as_of"))
        for i, (name, score) in enumerate(model.scores.items()):
            if score.kind == "fit":
                cols.append(sql.col(f"s_{i}", "f"))
                continue
            terms = [self.rule_value(rule, f"{name}.{rule.name}") for rule in score.rules
                     if isinstance(rule, IntentRule)]
            cols.append(sql.alias(self.summed(terms, score.max), f"s_{i}"))
        cols += [sql.col(c, "f") for c in plan.contact_fields.values()]
        cols += [sql.col(c, "f") for c in plan.account_fields.values()]
        cols += [sql.col(f"r_{i}", "f") for i in self.record_rules()]
        cols += [sql.alias(self.tracked(t), t.column) for t in
                 (*plan.activity_trackers.values(), *plan.fast_track_trackers.values())]
        query = exp.select(*cols).from_("fits AS f")
        on_k: list[sql.Node] = []
        if self.series:
            query = query.join("days AS d", join_type="cross")
            on_k = [exp.EQ(this=sql.col("k", "xc"), expression=sql.col("k", "d"))]
        query = query.join("xc", on=exp.and_(exp.EQ(this=sql.col("key", "xc"),
                                                    expression=sql.col("email", "f")), *on_k),
                           join_type="left")
        if plan.level("account"):
            on_ka = [exp.EQ(this=sql.col("k", "xa"), expression=sql.col("k", "d"))
                     ] if self.series else []
            query = query.join("xa", on=exp.and_(exp.EQ(this=sql.col("key", "xa"),
                                                        expression=sql.col("account", "f")),
                                                 *on_ka), join_type="left")
        return query

    def time_of(self) -> sql.Node:
        micros: sql.Node = sql.integer(self.t0)
        if self.series:
            micros = sql.arith(exp.Add, micros,
                               sql.arith(exp.Mul, sql.col("k", "d"), sql.integer(self.step)))
        name = "TIMESTAMP_MICROS" if self.dialect == "spark" else "MAKE_TIMESTAMP"
        return exp.Anonymous(this=name, expressions=[micros])

    def decision(self) -> Query:
        plan, model = self.plan, self.plan.model
        names = list(model.scores)
        score_cols = {n: sql.col(f"s_{i}") for i, n in enumerate(names)}
        total = sql.arith(exp.Add, score_cols["fit"], score_cols["intent"])
        values = {**score_cols, TOTAL: sql.col("total")}
        scope = Scope({**{f: sql.col(c) for f, c in plan.contact_fields.items()},
                       **{f: sql.col(c) for f, c in plan.account_fields.items()}},
                      {f"score.{n}": v for n, v in values.items()},
                      lambda leaf: self.activity_holds(leaf))
        reasons: list[tuple[sql.Node, str]] = []
        for i, minimums in enumerate(model.mql.thresholds):
            tests = [exp.GTE(this=values[n], expression=sql.double(low)) for n, low in minimums]
            reasons.append((exp.and_(*tests), f"thresholds #{i + 1}"))
        once = self.record_rules()

        def holds(i: int, rule: Criterion) -> sql.Node:
            return sql.col(f"r_{i}") if i in once else condition_sql(rule.when, scope)

        for i, criterion in enumerate(model.mql.criteria):
            reasons.append((holds(i, criterion), f"criteria {criterion.name}"))
        for fast in model.mql.fast_track:
            t = plan.fast_track_trackers[fast.name]
            reasons.append((exp.GTE(this=sql.col(t.column), expression=exp.Literal.number(1)),
                            f"fast-track {fast.name}"))
        first = len(model.mql.criteria)
        excluded = [(holds(first + i, c), c.name) for i, c in enumerate(model.mql.exclude)]
        any_excluded = exp.or_(*[e for e, _ in excluded]) if excluded else exp.false()
        any_reason = exp.or_(*[r for r, _ in reasons]) if reasons else exp.false()
        cols: list[sql.Node] = [sql.col("contact"), sql.col("as_of")]
        cols += [sql.alias(score_cols[n], n) for n in names]
        cols += [sql.alias(sql.col("total"), TOTAL), sql.alias(self.grade(values), "grade")]
        cols.append(sql.alias(exp.and_(exp.not_(exp.paren(any_excluded)), exp.paren(any_reason)),
                              "mql"))
        cols.append(sql.alias(sql.case((any_excluded, sql.text(""))
                                       , default=_joined(reasons)), "reasons"))
        cols.append(sql.alias(_joined(excluded), "excluded_by"))
        inner = exp.select("*", sql.alias(total, "total")).from_("scored")
        return exp.select(*cols).from_(inner.subquery("s"))

    def activity_holds(self, leaf: Activity) -> sql.Node:
        t = self.plan.activity_trackers[leaf]
        return exp.GTE(this=sql.col(t.column), expression=sql.integer(leaf.min_count))

    def grade(self, values: Mapping[str, sql.Node]) -> sql.Node:
        grades = self.plan.model.grades
        if grades is None:
            return exp.cast(exp.null(), "varchar")

        def band(value: sql.Node, bands: tuple[tuple[str, float], ...],
                 floor: str) -> sql.Node:
            return sql.case(*[(exp.GTE(this=value, expression=sql.double(low)), sql.text(b))
                              for b, low in bands], default=sql.text(floor))

        return sql.fn("concat", band(values[grades.fit_score], grades.fit_bands,
                                     grades.fit_floor),
                      band(values[grades.intent_score], grades.intent_bands,
                           grades.intent_floor))

    def query(self) -> Query:
        query = self.decision()
        ctes: list[tuple[str, Query]] = [("ev", self.events()), ("dd", self.deduplicated()),
                                         ("m", self.matched())]
        if self.series:
            days = exp.values([(i,) for i in range(self.n)], alias="days", columns=["k"])
            ctes.insert(0, ("days", exp.select("k").from_(days)))
        ctes.append(("xc", self.totals("contact")))
        if self.plan.level("account"):
            ctes.append(("xa", self.totals("account")))
        ctes.append(("fits", self.fits()))
        ctes.append(("scored", self.scored()))
        for name, cte in ctes:
            query = query.with_(name, as_=cte)
        return query


def _joined(parts: Sequence[tuple[sql.Node, str]]) -> sql.Node:
    """The names whose condition holds, joined by "; " ('' when none)."""
    if not parts:
        return sql.text("")
    return sql.fn("concat_ws", sql.text("; "),
                  *[sql.case((cond, sql.text(name))) for cond, name in parts])
