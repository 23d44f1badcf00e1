"""`mql backtest CANDIDATE --against live|MODEL`: both models replayed over the store's
history with the batch engine's daily series (each day sees only the events before it),
compared by `mql.learning.backtest` on the same outcomes (`service.calibration` reads
them: first SQL, opportunity and won deal of each contact, up to the end of the period).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from mql.errors import NotFound
from mql.learning import backtest as bt
from mql.learning.calibrate import Team, team_load
from mql.model.spec import Model
from mql.service import state as states
from mql.service.calibration import Period, read_history, replay
from mql.service.scoring import load_model_file
from mql.store import ledger
from mql.store import models as model_store
from mql.store.db import translate_errors
from mql.store.migrate import check

LIVE = "live"


@dataclass(frozen=True, slots=True)
class BacktestRun:
    candidate: Model
    baseline: Model
    baseline_name: str
    period: Period
    comparison: bt.Comparison
    teams: dict[str, Team] = field(default_factory=dict)

    def load(self, team: str, per_week: float) -> dict[str, Any]:
        """A team's MQLs a week as the load per seller, next to its capacity."""
        t = team_load(team, per_week, self.teams)
        return {"team": t.team, "mqls_per_week": t.mqls_per_week,
                "per_seller_per_week": t.per_seller_per_week,
                "capacity_per_seller": t.capacity_per_seller,
                "over_capacity": t.over_capacity}

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: every week, decile and person (never truncated)."""
        c = self.comparison

        def summary(s: bt.Summary) -> dict[str, Any]:
            return {"contacts": s.contacts, "mqls": s.mqls, "mql_entries": s.entries,
                    "mqls_per_week": s.mqls_per_week, "weekly": s.weekly,
                    "rates": {k: {"credited": r.credited, "rate": r.rate,
                                  "positives": r.positives, "recall": r.recall}
                              for k, r in s.rates.items()},
                    "revenue": s.revenue,
                    "deciles": [{"decile": d.decile, "contacts": d.contacts,
                                 "converted": d.converted, "rate": d.rate, "lift": d.lift}
                                for d in s.deciles],
                    "teams": [self.load(t, n) for t, n in s.teams.items()]}

        def people(ps: tuple[bt.Person, ...]) -> list[dict[str, Any]]:
            def iso(d: date | None) -> str | None:
                return None if d is None else d.isoformat()
            return [{"contact": p.contact, "first_mql": iso(p.first_mql), "sql": iso(p.sql),
                     "opportunity": iso(p.opportunity), "won": iso(p.won),
                     "revenue": p.revenue} for p in ps]

        return {"candidate": {"model": self.candidate.name, "version": self.candidate.version},
                "against": {"model": self.baseline.name, "version": self.baseline.version,
                            "source": self.baseline_name},
                "from": self.period.first.isoformat(), "to": self.period.last.isoformat(),
                "identical": c.identical,
                "summary": {"candidate": summary(c.candidate), "against": summary(c.baseline)},
                "newly_qualified": people(c.newly_qualified),
                "dropped_out": people(c.dropped)}


def run_backtest(engine: Engine, candidate: Path | Model, *, now: datetime,
                 against: str | Path = LIVE, start: date | None = None,
                 end: date | None = None) -> BacktestRun:
    """Replay `candidate` (a model file or model) and `against` (the live model, or a
    model file) over the period (default: the 12 months up to yesterday) and compare."""
    check(engine)
    new = candidate if isinstance(candidate, Model) else load_model_file(candidate)
    with tempfile.TemporaryDirectory(prefix="mql-backtest-") as scratch:
        with translate_errors("reading the store"), engine.connect() as conn:
            if str(against) == LIVE:
                old, name = states.live_model(conn).model, LIVE
            else:
                old, name = load_model_file(Path(against)), str(against)
            period = Period.of(start, end, now, ledger.first_event_day(conn))
            history = read_history(conn, new, period, Path(scratch))
        new_days, old_days = replay(new, history, period), replay(old, history, period)
    comparison = bt.compare(new_days, old_days, history.outcomes, weeks=period.weeks)
    return BacktestRun(new, old, name, period, comparison, history.capacity)


def backtest_version(engine: Engine, version_id: int, *, now: datetime) -> BacktestRun:
    """A stored version against the live one (what `mql model activate` shows first)."""
    with engine.connect() as conn:
        found = next((v for v in model_store.versions(conn) if v.id == version_id), None)
    if found is None:
        raise NotFound(f"no model version {version_id}")
    return run_backtest(engine, states.compiled(found).model, now=now)
