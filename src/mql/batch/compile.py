"""A model compiled to one set-based query: every contact's scores, grade and MQL decision
at one time or at every time of a series, from the tables `events_raw`, `contacts` and
`accounts`.

The query, in steps (each a CTE; steps 1-3 are `mql.batch.events`):

1. ``ev``: the event rows `mql.ingest` would accept, with the time in microseconds (UTC);
2. ``dd``: the first copy of each event id in input order, whatever its time (the one
   duplicate rule of the store and `mql.scoring.score`), at or before the last time;
3. ``m``: one boolean per tracker (rule, activity, fast track) for each relevant event,
   and its decay factor once per half-life;
4. ``xc`` / ``xa``: per contact (per account), each tracker's decayed sum
   ``sum 2**(-(T - t)/h)`` or count of events in ``(T - window, T]``; for a series of
   times, `mql.batch.series` gives them per time instead (prefix sums over the times
   where a tracker changes, carried by the decay factor);
5. ``fits``, ``scored``: fit scores (and the forms of the record fields the criteria read)
   once per contact, then intent scores (caps, maxima) per contact and time;
6. the decision: grade, reasons (thresholds, criteria, fast track), exclusions, MQL.

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
from mql.batch.conditions import Forms, Scope, forms
from mql.batch.conditions import to_sql as condition_sql
from mql.batch.events import deduplicated, matched, points_per_sql, valid_events
from mql.batch.frame import Frame
from mql.batch.plan import Level, Plan, Tracker, calendar_window_us
from mql.batch.series import Series, longest, window_aggregate
from mql.model.conditions import Activity, activities
from mql.model.spec import TOTAL, Criterion, ExitRule, FitRule, IntentRule, Model

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
                  unique_ids: bool = False) -> exp.Query:
    """The query AST: one row per contact (and per time of `as_of`) with columns
    contact, as_of, one per score, total, grade, mql, reasons, excluded_by.

    `unique_ids=True` promises that no event id occurs twice in `events_raw` (the engines
    check it first): the query then skips ordering the copies of each id.
    """
    plan = Plan(model, as_of)
    most = longest(Frame(plan, as_of, dialect))
    if as_of.count <= most:
        return _Compiler(plan, as_of, dialect, unique_ids).query()
    # a series longer than `MAX_HALF_LIVES` of the fastest decay: one query per part of it
    parts = [_Compiler(plan, AsOf(as_of.start + first * as_of.step, as_of.step,
                                  min(most, as_of.count - first)), dialect, unique_ids
                       ).query().subquery(f"h{i}", copy=False)
             for i, first in enumerate(range(0, as_of.count, most))]
    union: exp.Query = exp.select("*").from_(parts[0])
    for part in parts[1:]:
        union = exp.union(union, exp.select("*").from_(part), distinct=False)
    return union


class _Compiler:
    def __init__(self, plan: Plan, as_of: AsOf, dialect: sql.Dialect,
                 unique_ids: bool = False) -> None:
        self.frame = Frame(plan, as_of, dialect, unique_ids)
        self.plan, self.as_of, self.dialect = plan, as_of, dialect
        self.series = self.frame.series
        self.t0, self.step, self.n = as_of.start_us, as_of.step_us, as_of.count
        self.decay = self.frame.decay_columns()
        self.history = Series(self.frame) if self.series else None
        self.forms_used: set[str] = set()  # set by `decision`, read by `fits`, `scored`

    # -- 4: trackers per contact / account and time ------------------------------------

    def window_count(self, t: Tracker, at: sql.Node) -> sql.Node:
        assert t.window_us is not None
        window = t.window_us if t.calendar is None else calendar_window_us(
            t.calendar, self.as_of.start)  # one time: its window (a part of a series too)
        recent = exp.GT(this=sql.col("ts"),
                        expression=sql.arith(exp.Sub, at, sql.integer(window)))
        if t.aggregate:
            return window_aggregate(t, exp.and_(sql.col(t.column), recent))
        return exp.Count(this=sql.case((exp.and_(sql.col(t.column), recent),
                                        exp.Literal.number(1))))

    def totals(self, level: Level) -> Query:
        """Per key (email or domain), at the one time: each tracker's value (a series is
        `mql.batch.series`)."""
        trackers = self.plan.level(level)
        key = "email" if level == "contact" else "domain"
        present = sql.col(key).is_(exp.null()).not_()
        at = sql.integer(self.t0)
        cols = [self.decayed_sum(t) if not t.windowed else self.window_count(t, at)
                for t in trackers]
        return exp.select(sql.alias(sql.col(key), "key"),
                          *[sql.alias(c, t.column) for c, t in zip(cols, trackers, strict=True)]
                          ).from_("m").where(present).group_by(sql.col(key))
    def decayed_sum(self, t: Tracker) -> sql.Node:
        """The sum of the event's decay factors (column ``f*`` of ``m``, computed once per
        event) over the events `t` counts."""
        factor = sql.double(1.0) if t.half_life_s is None else sql.col(
            self.decay[t.half_life_s])
        counts: sql.Node = sql.col(t.column)
        if t.weighted:  # issue 13: each counted event's share of the points
            factor = sql.arith(exp.Mul, factor, sql.col(f"w{t.column}"))
        if t.lifespan_us is not None:  # issue 13: alive while younger than its lifespan
            counts = exp.and_(counts, exp.LT(
                this=sql.arith(exp.Sub, sql.integer(self.t0), sql.col("ts")),
                expression=sql.integer(t.lifespan_us)))
        return exp.Sum(this=sql.case((counts, factor)))

    # -- 5-6: scores and the decision ----------------------------------------------------

    def tracked(self, t: Tracker) -> sql.Node:
        if self.history is not None:
            value = self.history.tracked(t)
        else:
            value = sql.col(t.column, "xc" if t.level == "contact" else "xa")
        # no events: nothing counted (an average of nothing is below any line: -1)
        empty = -1.0 if t.measure is not None and t.measure.kind == "avg" else 0.0
        return sql.fn("coalesce", value, sql.double(empty))

    def rule_value(self, rule: IntentRule, key: str) -> sql.Node:
        t = self.plan.rule_trackers[key]
        if t.windowed:
            return sql.case((window_holds(t, self.tracked(t)), sql.double(rule.points)),
                            default=sql.double(0.0))
        points = 1.0 if rule.points_per is not None else rule.points  # the sum holds them
        value = sql.arith(exp.Mul, sql.double(points), self.tracked(t))
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
            terms: list[sql.Node] = [fit_points(rule, records)
                                     for rule in score.rules if isinstance(rule, FitRule)]
            cols.append(sql.alias(floored(self.summed(terms, score.max), score.floor),
                                  f"s_{i}"))
        cols += [sql.alias(condition_sql(rule.when, records), f"r_{i}")
                 for i, rule in self.record_rules().items()]
        for table, fields in (("c", plan.contact_fields), ("a", plan.account_fields)):
            for c in fields.values():
                given = forms(sql.col(c, table))
                cols += [sql.alias(getattr(given, form), f"{c}_{form}")
                         for form in ("present", "lower", "number")
                         if f"{c}_{form}" in self.forms_used]
        # copy=False: SQLGlot's builders copy what they are given, and what they are
        # called on, by default; these trees are built once here and never shared
        return exp.select(*cols, copy=False).from_("contacts AS c", copy=False).join(
            "accounts AS a", on=exp.EQ(this=sql.col("domain", "a"),
                                       expression=sql.col("account", "c")), join_type="left",
            copy=False)

    def record_rules(self) -> dict[int, Criterion | ExitRule]:
        """Criteria, exclusions and exits on conditions (numbered across all three) that
        read only contact and account fields: computed once per contact in ``fits``, not
        at every time."""
        model = self.plan.model
        rules: tuple[Criterion | ExitRule, ...] = (*model.mql.criteria, *model.mql.exclude,
                                                   *model.exit_when)
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
            cols.append(sql.alias(floored(self.summed(terms, score.max), score.floor),
                                  f"s_{i}"))
        cols += [sql.col(c, "f") for c in plan.contact_fields.values()]
        cols += [sql.col(c, "f") for c in plan.account_fields.values()]
        cols += [sql.col(name, "f") for name in sorted(self.forms_used)]
        cols += [sql.col(f"r_{i}", "f") for i in self.record_rules()]
        cols += [sql.alias(self.tracked(t), t.column) for t in
                 (*plan.activity_trackers.values(), *plan.fast_track_trackers.values())]
        query = exp.select(*cols, copy=False).from_("fits AS f", copy=False)
        if self.history is not None:
            return self.history.join(query)
        query = query.join("xc", on=exp.EQ(this=sql.col("key", "xc"),
                                           expression=sql.col("email", "f")), join_type="left",
                           copy=False)
        if plan.level("account"):
            query = query.join("xa", on=exp.EQ(this=sql.col("key", "xa"),
                                               expression=sql.col("account", "f")),
                               join_type="left", copy=False)
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
        total = weighted(model.total, score_cols)
        values = {**score_cols, TOTAL: sql.col("total")}
        fields = {**plan.contact_fields, **plan.account_fields}
        # a criterion read at every time reads its record fields' forms from ``fits``
        # (computed once per contact), not recomputed at every time
        scope = Scope({f: sql.col(c) for f, c in fields.items()},
                      {f"score.{n}": v for n, v in values.items()},
                      lambda leaf: self.activity_holds(leaf),
                      {f: Forms(sql.col(f"{c}_present"), sql.col(f"{c}_lower"),
                                sql.col(f"{c}_number")) for f, c in fields.items()})
        reasons: list[tuple[sql.Node, str]] = []
        for i, minimums in enumerate(model.mql.thresholds):
            tests = [exp.GTE(this=values[n], expression=sql.double(low)) for n, low in minimums]
            reasons.append((exp.and_(*tests), f"thresholds #{i + 1}"))
        once = self.record_rules()

        def holds(i: int, rule: Criterion | ExitRule) -> sql.Node:
            return sql.col(f"r_{i}") if i in once else condition_sql(rule.when, scope)

        for i, criterion in enumerate(model.mql.criteria):
            reasons.append((holds(i, criterion), f"criteria {criterion.name}"))
        for fast in model.mql.fast_track:
            t = plan.fast_track_trackers[fast.name]
            reasons.append((exp.GTE(this=sql.col(t.column), expression=exp.Literal.number(1)),
                            f"fast-track {fast.name}"))
        first = len(model.mql.criteria)
        excluded = [(holds(first + i, c), c.name) for i, c in enumerate(model.mql.exclude)]
        # an exit on a condition blocks the verdict as an exclusion does (its own column)
        after = first + len(model.mql.exclude)
        exits = [(holds(after + i, r), r.name) for i, r in enumerate(model.exit_when)]
        excluded_or_exits = excluded + exits
        any_excluded = exp.or_(*[e for e, _ in excluded_or_exits]) if excluded_or_exits \
            else exp.false()
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
        query = exp.select(*cols).from_(inner.subquery("s", copy=False))
        self.forms_used = {c.name for c in query.find_all(exp.Column)
                           if c.name.endswith(("_present", "_lower", "_number"))}
        return query

    def activity_holds(self, leaf: Activity) -> sql.Node:
        t = self.plan.activity_trackers[leaf]
        return window_holds(t, sql.col(t.column))

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
        ctes: list[tuple[str, Query]] = [("ev", valid_events(self.frame)),
                                         ("dd", deduplicated(self.frame)),
                                         *matched(self.frame)]
        if self.history is not None:
            days = exp.values([(i,) for i in range(self.n)], alias="days", columns=["k"])
            ctes.insert(0, ("days", exp.select("k").from_(days)))
            ctes += self.history.ctes()
        else:
            ctes.append(("xc", self.totals("contact")))
            if self.plan.level("account"):
                ctes.append(("xa", self.totals("account")))
        ctes.append(("fits", self.fits()))
        ctes.append(("scored", self.scored()))
        for name, cte in ctes:
            query = query.with_(name, as_=cte, copy=False)
        return query


# -- points read from a field (issue 13): value tables, bins, points per unit -----------

def fit_points(rule: FitRule, records: Scope) -> sql.Node:
    """A fit rule's points, as `mql.scoring.fit.FitScorer` computes them: `points` when
    `when` holds; a value table or bins as the first case that holds (else `default`);
    points per unit as ``floor(n / each) * points`` capped, for a finite n >= 0."""
    when = condition_sql(rule.when, records)
    value: sql.Node
    if rule.points_by is not None:
        by = rule.points_by
        cases = [(condition_sql(cond, records), sql.double(points))
                 for _, cond, points in by.cases()]
        value = sql.case(*cases, default=sql.double(by.default))
    elif rule.points_per is not None:
        per = rule.points_per
        if per.field not in records.text:
            value = sql.double(0.0)  # a field no table holds is always missing
        else:
            given = records.forms.get(per.field) or forms(records.text[per.field])
            value = points_per_sql(per, given.number)
    else:
        return sql.case((when, sql.double(rule.points)), default=sql.double(0.0))
    return sql.case((when, value), default=sql.double(0.0))


def floored(value: sql.Node, floor: float | None) -> sql.Node:
    """`value` raised to the score's `floor` (`Score.bounded`)."""
    return value if floor is None else sql.fn("greatest", sql.double(floor), value)


def weighted(weights: Sequence[tuple[str, float]], scores: Mapping[str, sql.Node]) -> sql.Node:
    """`total` as `mql.model.spec.weighted_total` adds it: 0.0 + w1 * s1 + w2 * s2 ..."""
    return functools.reduce(
        lambda a, b: sql.arith(exp.Add, a, b),
        [sql.arith(exp.Mul, sql.double(w), scores[n]) for n, w in weights], sql.double(0.0))


def _joined(parts: Sequence[tuple[sql.Node, str]]) -> sql.Node:
    """The names whose condition holds, joined by "; " ('' when none)."""
    if not parts:
        return sql.text("")
    return sql.fn("concat_ws", sql.text("; "),
                  *[sql.case((cond, sql.text(name))) for cond, name in parts])


# -- aggregates and sequences in windows (model language v2) ---------------------------------

def window_holds(t: Tracker, value: sql.Node) -> sql.Node:
    """A window tracker's value reaches its line (a count: whole numbers; a sum: the
    line as a double)."""
    if t.measure is not None and t.measure.kind == "sum":
        return exp.GTE(this=value, expression=sql.double(t.line))
    if t.measure is not None and t.measure.kind == "avg":  # sum(value - line) >= 0
        return exp.GTE(this=value, expression=sql.double(0.0))
    return exp.GTE(this=value, expression=sql.integer(int(t.line)))
