"""What every step of a compiled query shares: the model's plan, the as-of times, the
dialect, and the clock arithmetic on microseconds (buckets of times, decay factors).

>>> from datetime import date
>>> from importlib.resources import files
>>> from mql.model.parse import parse_model
>>> model = parse_model(files("mql").joinpath("examples/models/b2b-saas.yaml").read_text())
>>> frame = Frame(Plan(model), AsOf.daily(date(2026, 1, 1), date(2026, 1, 31)), "duckdb")
>>> frame.series, frame.n
(True, 31)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from mql.batch import sql
from mql.batch.asof import AsOf
from mql.batch.plan import Plan


@dataclass(frozen=True)
class Frame:
    """`unique_ids=True` promises that no event id occurs twice in `events_raw`."""

    plan: Plan
    as_of: AsOf
    dialect: sql.Dialect
    unique_ids: bool = False

    @property
    def series(self) -> bool:
        return self.as_of.count > 1

    @property
    def t0(self) -> int:
        return self.as_of.start_us

    @property
    def step(self) -> int:
        return self.as_of.step_us

    @property
    def n(self) -> int:
        return self.as_of.count

    def time_at(self, k: sql.Node) -> sql.Node:
        """Microseconds of the as-of time with index `k`."""
        return sql.arith(exp.Add, sql.integer(self.t0),
                         sql.arith(exp.Mul, k, sql.integer(self.step)))

    def bucket(self, t: sql.Node) -> sql.Node:
        """The index of the first as-of time at or after `t` (0 if `t` is before all)."""
        offset = sql.arith(exp.Sub, t, sql.integer(self.t0 - self.step + 1))
        return sql.case((exp.LTE(this=t, expression=sql.integer(self.t0)),
                         exp.Literal.number(0)),
                        default=sql.arith(exp.IntDiv, offset, sql.integer(self.step)))

    @staticmethod
    def factor(age_us: sql.Node, half_life_s: float | None) -> sql.Node:
        """2 ** (-age / half-life), as `Decay.factor` computes it (seconds, then ratio)."""
        if half_life_s is None:
            return sql.double(1.0)
        seconds = sql.arith(exp.Div, exp.cast(age_us, "double"), sql.double(1e6))
        ratio = sql.arith(exp.Div, exp.paren(seconds), sql.double(half_life_s))
        return exp.Pow(this=sql.double(2.0), expression=exp.Neg(this=exp.paren(ratio)))

    def decay_columns(self) -> dict[float, str]:
        """Half-life (s) -> the column of ``m`` holding each event's decay factor for it:
        computed once per event, not once per rule."""
        lives = sorted({t.half_life_s for t in self.plan.trackers
                        if not t.windowed and t.half_life_s is not None})
        return {h: f"f{i}" for i, h in enumerate(lives)}
