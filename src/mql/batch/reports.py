"""The funnel reports as set-based DuckDB SQL over the stored ledger (the tables of
`mql.store.ledger`, handed over as Arrow). Every KPI is one query over `mql_facts`, the one
row per MQL this module builds; docs/analytics.md gives each definition's SQL meaning.

>>> engine = ReportEngine()
>>> engine.load({})  # an empty store
>>> engine.build(ReportSettings(), as_of=datetime(2026, 1, 1, tzinfo=UTC))
>>> engine.funnel([Dimension.TOTAL], Window())
[]
>>> engine.close()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from mql.analytics.definitions import SCORE_BAND_WIDTH, SEGMENTS, Dimension
from mql.errors import ConfigError
from mql.model.reports import ReportSettings

_T = pa.timestamp("us", tz="UTC")
_S = pa.string()
_I = pa.int64()
_F = pa.float64()

# the ledger's tables as the queries read them (column, Arrow type); an absent table is empty
SCHEMAS: dict[str, tuple[tuple[str, pa.DataType], ...]] = {
    "contacts": (("id", _I), ("email", _S), ("account_id", _I), ("domain", _S),
                 ("source", _S), ("contact_region", _S), ("account_region", _S),
                 ("account_segment", _S), ("employees", _S), ("account_status", _S)),
    "moves": (("id", _I), ("contact_id", _I), ("from_stage", _S), ("to_stage", _S),
              ("at", _T), ("cause", _S), ("actor", _S), ("reason", _S),
              ("model_version_id", _I)),
    "first_touch": (("contact_id", _I), ("at", _T), ("seq", _I), ("channel", _S),
                    ("utm_source", _S), ("utm_medium", _S), ("campaign", _S)),
    "triggers": (("contact_id", _I), ("kind", _S), ("at", _T)),
    "assignments": (("id", _I), ("contact_id", _I), ("team", _S), ("owner", _S),
                    ("rule", _S), ("reason", _S), ("assigned_at", _T), ("sla", _S),
                    ("sla_due_at", _T),
                    ("first_touch_at", _T), ("breaches", _I), ("status", _S),
                    ("business_hours_to_touch", _F)),
    "scores": (("contact_id", _I), ("grade", _S), ("total", _F)),
    "versions": (("id", _I), ("name", _S), ("version", _S)),
    "opportunities": (("id", _I), ("external_id", _S), ("name", _S), ("account_id", _I),
                      ("primary_contact_id", _I), ("product_line", _S), ("amount", _F),
                      ("currency", _S), ("opened_at", _T), ("closed_at", _T), ("stage", _S),
                      ("status", _S), ("lost_reason", _S), ("lead_source", _S)),
    "opportunity_contacts": (("opportunity_id", _I), ("contact_id", _I), ("role", _S),
                             ("is_primary", pa.bool_())),
    "links": (("opportunity_id", _I), ("contact_id", _I), ("kind", _S), ("history_id", _I),
              ("qualified_at", _T)),
    "costs": (("month", _S), ("channel", _S), ("campaign", _S), ("amount", _F),
              ("currency", _S), ("touches", _I)),
    "dispositions": (("id", _I), ("contact_id", _I), ("at", _T), ("status", _S),
                     ("reason", _S), ("note", _S), ("actor", _S), ("opportunity_id", _I)),
}


@dataclass(frozen=True, slots=True)
class Window:
    """The cohorts a report covers: MQLs (assignments, spend months) from `start`
    (inclusive) to `end` (exclusive); None is open-ended."""

    start: datetime | None = None
    end: datetime | None = None


ALL_TIME = Window()


def _naive(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(_literal(v) for v in values) + ")" if values else "(NULL)"


def channel_sql(settings: ReportSettings, channel: str, medium: str, source: str) -> str:
    """The channel table as one SQL CASE over three text columns, in the order
    `mql.analytics.channels.channel_of` tries the rules (one definition, two runners)."""
    name = f"lower(trim({channel}))"
    med, src = f"lower(trim({medium}))", f"lower(trim({source}))"
    whens = [f"WHEN {name} IN {_in(r.names)} THEN {_literal(r.channel)}"
             for r in settings.channels if r.names]
    for r in settings.channels:
        tests = [f"{med} IN {_in(r.utm_medium)}" if r.utm_medium else "",
                 f"{src} IN {_in(r.utm_source)}" if r.utm_source else ""]
        tests = [t for t in tests if t]
        if tests:
            whens.append(f"WHEN {' OR '.join(tests)} THEN {_literal(r.channel)}")
    return f"CASE {' '.join(whens)} ELSE {_literal(settings.other_channel)} END"


def _segment_sql() -> str:
    bands = " ".join(f"WHEN try_cast(c.employees AS DOUBLE) >= {floor} THEN {_literal(name)}"
                     for floor, name in SEGMENTS)
    return f"coalesce(c.account_segment, CASE {bands} ELSE 'unknown' END)"


# one row per MQL move (the cohort unit): its episode runs until the contact's next MQL move
_FACTS = """
CREATE OR REPLACE TEMP TABLE mql_facts AS
WITH base AS (
  SELECT m.id AS mql_id, m.contact_id, m.at AS mql_at, m.cause, m.reason AS rule,
         m.model_version_id,
         lead(m.at) OVER w AS next_at, lead(m.id) OVER w AS next_id,
         lag(m.at) OVER w AS prev_at
  FROM moves m WHERE m.to_stage = 'mql'
  WINDOW w AS (PARTITION BY m.contact_id ORDER BY m.at, m.id)
),
episode AS (
  SELECT b.mql_id,
    min(x.at) FILTER (WHERE x.to_stage = 'sal') AS sal_at,
    min(x.at) FILTER (WHERE x.to_stage = 'sql') AS sql_at,
    min(x.at) FILTER (WHERE x.from_stage = 'mql' AND x.cause = 'sales_action'
                      AND x.to_stage IN ('recycled', 'nurture', 'disqualified')) AS rejected_at,
    arg_min(x.reason, x.at) FILTER (WHERE x.from_stage = 'mql' AND x.cause = 'sales_action'
                      AND x.to_stage IN ('recycled', 'nurture', 'disqualified'))
      AS rejected_reason,
    min(x.at) FILTER (WHERE x.to_stage IN ('recycled', 'nurture', 'disqualified',
                                           'closed_lost')) AS exited_at,
    min(x.at) FILTER (WHERE x.to_stage = 'recycled') AS recycled_at,
    string_agg(x.to_stage, ' > ' ORDER BY x.at, x.id) AS path
  FROM base b JOIN moves x ON x.contact_id = b.contact_id
    AND (x.at > b.mql_at OR (x.at = b.mql_at AND x.id > b.mql_id))
    AND (b.next_at IS NULL OR x.at < b.next_at OR (x.at = b.next_at AND x.id < b.next_id))
  GROUP BY b.mql_id
),
people AS (
  SELECT id AS opportunity_id, primary_contact_id AS contact_id FROM opportunities
  WHERE primary_contact_id IS NOT NULL
  UNION SELECT opportunity_id, contact_id FROM opportunity_contacts
),
pipeline AS (
  SELECT b.mql_id,
    min(o.opened_at) AS opp_at,
    arg_min(o.product_line, o.opened_at) AS product_line,
    count(DISTINCT o.id) AS opportunities,
    min(o.closed_at) FILTER (WHERE o.status = 'won') AS won_at,
    arg_min(date_diff('second', o.opened_at, o.closed_at), o.closed_at)
      FILTER (WHERE o.status = 'won') / 86400.0 AS cycle_days,
    bool_or(o.status = 'open') AS opp_open
  FROM base b JOIN people p ON p.contact_id = b.contact_id
  JOIN opportunities o ON o.id = p.opportunity_id
  WHERE o.opened_at >= b.mql_at AND o.opened_at <= b.mql_at + to_days($pipeline_days)
  GROUP BY b.mql_id
),
handed AS (
  SELECT b.mql_id, arg_min(a.team, a.assigned_at) AS team,
         arg_min(a.owner, a.assigned_at) AS owner
  FROM base b JOIN assignments a ON a.contact_id = b.contact_id AND a.assigned_at >= b.mql_at
    AND (b.next_at IS NULL OR a.assigned_at < b.next_at)
  GROUP BY b.mql_id
),
trig AS (
  SELECT b.mql_id, bool_or(t.kind = 'high_intent') AS high, bool_or(t.kind = 'content') AS content
  FROM base b JOIN triggers t ON t.contact_id = b.contact_id AND t.at <= b.mql_at
    AND (b.prev_at IS NULL OR t.at > b.prev_at)
  GROUP BY b.mql_id
)
SELECT b.mql_id, b.contact_id, c.email, b.mql_at, b.cause, b.rule, b.model_version_id,
  b.next_at AS requalified_at, e.recycled_at,
  e.sal_at, e.sql_at, e.rejected_at, e.rejected_reason, e.exited_at, e.path,
  p.opp_at, p.opportunities, p.won_at, p.cycle_days, p.opp_open,
  strftime(b.mql_at, '%Y-%m') AS month,
  strftime(date_trunc('week', b.mql_at), '%Y-%m-%d') AS week,
  {channel} AS channel,
  coalesce(ft.campaign, '(none)') AS campaign,
  coalesce(c.source, 'unknown') AS source,
  {segment} AS segment,
  coalesce(c.account_region, c.contact_region, 'unknown') AS region,
  coalesce(p.product_line, '(no opportunity)') AS product_line,
  coalesce(s.grade, '(none)') AS grade,
  CASE WHEN s.total IS NULL THEN '(none)' ELSE
    printf('%d-%d', CAST(floor(s.total / {band}) * {band} AS BIGINT),
           CAST(floor(s.total / {band}) * {band} + {band} AS BIGINT)) END AS score_band,
  coalesce(v.version, v.name, '(none)') AS model_version,
  coalesce(h.owner, '(unassigned)') AS owner,
  coalesce(h.team, '(unassigned)') AS team,
  CASE WHEN tr.high THEN 'high_intent' WHEN tr.content THEN 'content' ELSE 'other' END
    AS "trigger",
  'all' AS total,
  CASE WHEN ft.at <= b.mql_at THEN date_diff('second', ft.at, b.mql_at) / 86400.0 END
    AS days_to_mql,
  b.mql_at + to_days($maturity_days) <= $as_of AS mature
FROM base b
LEFT JOIN episode e USING (mql_id)
LEFT JOIN pipeline p USING (mql_id)
LEFT JOIN handed h USING (mql_id)
LEFT JOIN trig tr USING (mql_id)
LEFT JOIN contacts c ON c.id = b.contact_id
LEFT JOIN first_touch ft ON ft.contact_id = b.contact_id
LEFT JOIN scores s ON s.contact_id = b.contact_id
LEFT JOIN versions v ON v.id = b.model_version_id
"""

_FUNNEL = """
SELECT {key} AS key,
  count(*) AS mqls,
  count(*) FILTER (WHERE sal_at IS NOT NULL OR sql_at IS NOT NULL) AS sal,
  count(*) FILTER (WHERE rejected_at IS NOT NULL) AS rejected,
  count(*) FILTER (WHERE sql_at IS NOT NULL) AS sql,
  count(*) FILTER (WHERE opp_at IS NOT NULL) AS opportunities,
  count(*) FILTER (WHERE sql_at IS NOT NULL AND opp_at IS NOT NULL) AS sql_opportunities,
  count(*) FILTER (WHERE won_at IS NOT NULL) AS won,
  count(*) FILTER (WHERE won_at IS NOT NULL OR (opp_at IS NOT NULL AND NOT opp_open))
    AS closed_opportunities,
  count(*) FILTER (WHERE sql_at IS NULL AND exited_at IS NULL) AS still_open,
  count(*) FILTER (WHERE recycled_at IS NOT NULL) AS recycled,
  count(*) FILTER (WHERE requalified_at IS NOT NULL) AS requalified,
  count(*) FILTER (WHERE mature) AS mature_mqls,
  count(*) FILTER (WHERE mature AND sql_at IS NOT NULL) AS mature_sql,
  median(days_to_mql) AS median_days_to_mql,
  avg(cycle_days) AS sales_cycle_days,
  min(mql_at) AS first_mql_at,
  max(mql_at) AS last_mql_at
FROM mql_facts WHERE {where}
GROUP BY ALL ORDER BY key
"""

# pipeline and won revenue per distinct opportunity of a row, by the stored links
_VALUES = """
SELECT key,
  coalesce(sum(amount) FILTER (WHERE kind = 'sourced'), 0) AS pipeline_sourced,
  coalesce(sum(amount) FILTER (WHERE kind = 'influenced'), 0) AS pipeline_influenced,
  coalesce(sum(amount) FILTER (WHERE kind = 'sourced' AND status = 'won'), 0)
    AS won_sourced,
  coalesce(sum(amount) FILTER (WHERE kind = 'influenced' AND status = 'won'), 0)
    AS won_influenced
FROM (SELECT DISTINCT {key} AS key, l.kind, o.id, o.amount, o.status
      FROM mql_facts f JOIN links l ON l.history_id = f.mql_id
      JOIN opportunities o ON o.id = l.opportunity_id WHERE {where})
GROUP BY key
"""

_HEALTH = """
SELECT {key} AS key, "trigger",
  count(*) FILTER (WHERE mature) AS mature_mqls,
  count(*) FILTER (WHERE mature AND sql_at IS NOT NULL) AS mature_sql,
  count(*) AS mqls
FROM mql_facts WHERE {where}
GROUP BY ALL ORDER BY key, "trigger"
"""

# each assignment with the MQL move it followed (the latest one at or before it)
_SLA = """
WITH a AS (
  SELECT a.*, strftime(a.assigned_at, '%Y-%m') AS month,
         strftime(date_trunc('week', a.assigned_at), '%Y-%m-%d') AS week,
         coalesce(a.team, '(none)') AS team_key, coalesce(a.owner, '(none)') AS owner_key,
         'all' AS total, m.id AS mql_id
  FROM assignments a ASOF LEFT JOIN (SELECT x.id, x.contact_id, x.at FROM moves x
                                     WHERE to_stage = 'mql') m
    ON m.contact_id = a.contact_id AND a.assigned_at >= m.at
)
SELECT {key} AS key,
  count(*) AS assigned,
  count(*) FILTER (WHERE first_touch_at IS NOT NULL) AS touched,
  count(*) FILTER (WHERE status = 'met') AS met,
  count(*) FILTER (WHERE status = 'late') AS late,
  count(*) FILTER (WHERE status = 'breached') AS breached,
  count(*) FILTER (WHERE status = 'escalated') AS escalated,
  count(*) FILTER (WHERE status = 'open') AS open,
  count(*) FILTER (WHERE status = 'closed') AS closed,
  coalesce(sum(breaches), 0) AS breaches,
  count(*) - count(DISTINCT coalesce(mql_id, -id))
    + count(*) FILTER (WHERE reason LIKE 'reassigned by %') AS reroutes,
  quantile_cont(date_diff('second', assigned_at, first_touch_at) / 3600.0, 0.5)
    AS median_hours_to_touch,
  quantile_cont(date_diff('second', assigned_at, first_touch_at) / 3600.0, 0.9)
    AS p90_hours_to_touch,
  quantile_cont(business_hours_to_touch, 0.5) AS median_business_hours_to_touch,
  quantile_cont(business_hours_to_touch, 0.9) AS p90_business_hours_to_touch,
  count(*) FILTER (WHERE first_touch_at IS NULL AND status IN ('open', 'breached', 'escalated'))
    AS untouched_now,
  quantile_cont(date_diff('second', assigned_at, $as_of) / 3600.0, 0.5)
    FILTER (WHERE first_touch_at IS NULL AND status IN ('open', 'breached', 'escalated'))
    AS median_hours_untouched
FROM a WHERE {where}
GROUP BY ALL ORDER BY key
"""

_SPEND = """
SELECT {key} AS key, sum(amount) AS spend, min(currency) AS currency,
       count(DISTINCT currency) AS currencies
FROM (SELECT month, channel, amount, currency, 'all' AS total FROM costs) c
WHERE {where} GROUP BY ALL
"""

_COST_COUNTS = """
SELECT {key} AS key, count(*) AS mqls,
  count(*) FILTER (WHERE sql_at IS NOT NULL) AS sql,
  count(*) FILTER (WHERE opp_at IS NOT NULL) AS opportunities,
  count(*) FILTER (WHERE won_at IS NOT NULL) AS won
FROM mql_facts WHERE {where} GROUP BY ALL
"""

_REASONS = """
WITH d AS (
  SELECT d.*, {key} AS key
  FROM dispositions d ASOF LEFT JOIN mql_facts f
    ON f.contact_id = d.contact_id AND d.at >= f.mql_at
)
SELECT key, status, coalesce(reason, '(none)') AS reason,
       count(*) AS dispositions, count(DISTINCT contact_id) AS contacts
FROM d WHERE {where}
GROUP BY ALL ORDER BY key, status, dispositions DESC, reason
"""

_REJECTIONS = """
SELECT {key} AS key, coalesce(rejected_reason, '(none)') AS reason, count(*) AS rejected,
       count(DISTINCT contact_id) AS contacts
FROM mql_facts WHERE rejected_at IS NOT NULL AND {where}
GROUP BY ALL ORDER BY key, rejected DESC, reason
"""

_OUTCOME = """CASE WHEN won_at IS NOT NULL THEN 'won'
  WHEN opp_at IS NOT NULL THEN 'opportunity'
  WHEN sql_at IS NOT NULL THEN 'sql'
  WHEN rejected_at IS NOT NULL THEN 'rejected'
  WHEN exited_at IS NOT NULL THEN 'exited'
  ELSE 'open' END"""

OUTCOMES = ("won", "opportunity", "sql", "rejected", "exited", "open")

_REVIEW = """
WITH f AS (
  SELECT f.*, {outcome} AS outcome,
    (SELECT arg_max(d.reason, d.at) FROM dispositions d
     WHERE d.contact_id = f.contact_id AND d.at >= f.mql_at AND d.reason IS NOT NULL
       AND (f.exited_at IS NULL OR d.at <= f.exited_at)) AS disposition_reason
  FROM mql_facts f WHERE {where}
), ranked AS (
  SELECT *, row_number() OVER (PARTITION BY outcome ORDER BY mql_at DESC, mql_id DESC) AS rank
  FROM f
)
SELECT mql_id, email, mql_at, cause, rule, outcome, path, grade, channel, segment, owner,
       team, coalesce(disposition_reason, rejected_reason) AS sales_reason, rank,
       model_version_id
FROM ranked WHERE rank <= $per_outcome
ORDER BY array_position({outcomes}, outcome), rank
"""


class ReportEngine:
    """One in-process DuckDB connection holding the ledger; `build` makes `mql_facts`,
    then each report is one query."""

    def __init__(self, threads: int | None = None) -> None:
        self.con = duckdb.connect()
        if threads is not None:
            self.con.execute(f"SET threads = {int(threads)}")

    def load(self, tables: Mapping[str, Mapping[str, list[Any]]]) -> None:
        """Register the ledger's tables (`SCHEMAS` names; missing ones are empty, missing
        columns NULL)."""
        for name, schema in SCHEMAS.items():
            columns = tables.get(name, {})
            length = max((len(v) for v in columns.values()), default=0)
            arrays = {}
            for column, kind in schema:  # a column the ledger did not give is NULL
                values = columns.get(column, [None] * length)
                array = pa.array(values, kind)
                arrays[column] = array.cast(pa.timestamp("us")) if kind == _T else array
            self.con.register(f"{name}_arrow", pa.table(arrays))
            # a real table: the reports scan it many times
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
            self.con.unregister(f"{name}_arrow")

    def export(self, folder: Path) -> list[Path]:
        """Write the loaded ledger as one Parquet file per table into `folder` (a ledger
        export, which `load_parquet` reads back without the store)."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name in SCHEMAS:
            path = folder / f"{name}.parquet"
            self.con.execute(f"COPY {name} TO {_literal(str(path))} (FORMAT PARQUET)")
            written.append(path)
        return written

    def load_parquet(self, folder: Path) -> None:
        """The ledger from a Parquet export (`export`): one file per table of `SCHEMAS`."""
        for name in SCHEMAS:
            path = folder / f"{name}.parquet"
            if not path.is_file():
                raise ConfigError(f"{path}: no such file; a ledger export holds "
                                  f"{', '.join(f'{n}.parquet' for n in SCHEMAS)} "
                                  "(`mql report export DIR` writes them)")
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM "
                             f"read_parquet({_literal(str(path))})")

    def build(self, settings: ReportSettings, *, as_of: datetime) -> None:
        """`mql_facts` as of `as_of` with `settings`' windows and channel table."""
        # one first touch per person: the earliest of its merged records' (time, arrival)
        self.con.execute("CREATE OR REPLACE TEMP TABLE first_touch AS SELECT * FROM "
                         "first_touch QUALIFY row_number() OVER (PARTITION BY contact_id "
                         "ORDER BY \"at\", seq) = 1")
        sql = _FACTS.format(channel=channel_sql(settings, "ft.channel", "ft.utm_medium",
                                                "ft.utm_source"),
                            segment=_segment_sql(), band=SCORE_BAND_WIDTH)
        self.con.execute(sql, {"pipeline_days": settings.pipeline_within_days,
                               "maturity_days": settings.maturity_days,
                               "as_of": _naive(as_of)})

    def _rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, params or {})
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, _utc_row(row), strict=True)) for row in cursor.fetchall()]

    @staticmethod
    def _where(column: str, window: Window, *, month: bool = False) -> str:
        parts = ["TRUE"]
        for op, value in ((">=", window.start), ("<", window.end)):
            if value is None:
                continue
            if month:  # spend is known by month: a month counts when it starts in the window
                parts.append(f"{column} {op} {_literal(f'{value:%Y-%m}')}")
            else:
                stamp = f"{_naive(value):%Y-%m-%d %H:%M:%S.%f}"
                parts.append(f"{column} {op} TIMESTAMP {_literal(stamp)}")
        return " AND ".join(parts)

    def funnel(self, dims: Sequence[Dimension], window: Window) -> list[dict[str, Any]]:
        """One row per value of `dims` (counts of the MQL cohort; `key` the values)."""
        where = self._where("mql_at", window)
        rows = self._rows(_FUNNEL.format(key=_key(dims), where=where))
        values = {r["key"]: r for r in self._rows(_VALUES.format(
            key=_key(dims, "f."), where=self._where("f.mql_at", window)))}
        empty = {"pipeline_sourced": 0.0, "pipeline_influenced": 0.0, "won_sourced": 0.0,
                 "won_influenced": 0.0}
        for row in rows:
            found = values.get(row["key"], {})
            row.update({k: float(found.get(k, v)) for k, v in empty.items()})
        return rows

    def health(self, dims: Sequence[Dimension], window: Window) -> list[dict[str, Any]]:
        """Mature MQLs and SQLs by `dims` and trigger kind."""
        return self._rows(_HEALTH.format(key=_key(dims), where=self._where("mql_at", window)))

    def sla(self, dims: Sequence[Dimension], window: Window, *, as_of: datetime
            ) -> list[dict[str, Any]]:
        names = {Dimension.TEAM: "team_key", Dimension.OWNER: "owner_key"}
        key = "[" + ", ".join(names.get(d, d.value) for d in dims) + "]"
        return self._rows(_SLA.format(key=key, where=self._where("assigned_at", window)),
                          {"as_of": _naive(as_of)})

    def cost(self, dims: Sequence[Dimension], window: Window) -> list[dict[str, Any]]:
        """Spend and the MQL cohort's counts by month and/or channel (`dims`)."""
        spend = self._rows(_SPEND.format(key=self._keys(dims),
                                         where=self._where("month", window, month=True)))
        counts = self._rows(_COST_COUNTS.format(key=self._keys(dims),
                                                where=self._where("mql_at", window)))
        merged: dict[Any, dict[str, Any]] = {}
        for row in spend:
            merged[row["key"]] = {"spend": row["spend"], "currency": row["currency"],
                                  "currencies": row["currencies"]}
        for row in counts:
            merged.setdefault(row["key"], {"spend": 0.0, "currency": None, "currencies": 0})
            merged[row["key"]].update({k: row[k] for k in ("mqls", "sql", "opportunities",
                                                           "won")})
        out = []
        for key_value in sorted(merged, key=lambda k: tuple("" if x is None else x for x in k)):
            row = {"mqls": 0, "sql": 0, "opportunities": 0, "won": 0, **merged[key_value]}
            out.append({**dict(zip([d.value for d in dims], key_value, strict=True)), **row})
        return out

    @staticmethod
    def _keys(dims: Sequence[Dimension]) -> str:
        return "[" + ", ".join(d.value for d in dims) + "]"

    def reasons(self, dims: Sequence[Dimension], window: Window) -> list[dict[str, Any]]:
        key = "[" + ", ".join(f"coalesce(f.\"{d.value}\", '(no MQL)')" for d in dims) + "]"
        return self._rows(_REASONS.format(key=key, where=self._where("d.at", window)))

    def rejections(self, dims: Sequence[Dimension], window: Window) -> list[dict[str, Any]]:
        """The MQLs sales rejected (their move out of MQL), by `dim` and reason."""
        return self._rows(_REJECTIONS.format(key=_key(dims),
                                             where=self._where("mql_at", window)))

    def review(self, window: Window, *, per_outcome: int) -> list[dict[str, Any]]:
        outcomes = "[" + ", ".join(_literal(o) for o in OUTCOMES) + "]"
        return self._rows(_REVIEW.format(outcome=_OUTCOME, outcomes=outcomes,
                                         where=self._where("mql_at", window)),
                          {"per_outcome": per_outcome})

    def mql_count(self) -> int:
        return int(self.con.execute("SELECT count(*) FROM mql_facts").fetchall()[0][0])

    def close(self) -> None:
        self.con.close()


def _key(dims: Sequence[Dimension], prefix: str = "") -> str:
    """The group key of `dims` as a DuckDB list of their columns of `mql_facts`."""
    return "[" + ", ".join(f'{prefix}"{d.value}"' for d in dims) + "]"


def _utc_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Naive UTC timestamps from DuckDB marked UTC again; lists (cost keys) as tuples."""
    return tuple(v.replace(tzinfo=UTC) if isinstance(v, datetime) else
                 tuple(v) if isinstance(v, list) else v for v in row)
