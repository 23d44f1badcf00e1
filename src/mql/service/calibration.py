"""`mql calibrate` and `GET /v1/reports/calibration`: the MQL threshold calibrated on the
store's own outcomes (`mql.learning.calibrate`), from the history the batch engine replays.

What is read, and when it was known:

- **the score at the moment of outreach**: the DuckDB engine's daily series of the model
  over the store's events (`AsOf.daily`): each day's value counts only the events before
  that day, so the score a contact had when sales first reached it (its first disposition
  or first touch in the period) never sees what the contact did afterwards. Today's
  stored score is never used. Intent resets from sales rejections are not replayed: the
  series is the model's reading of the events alone.
- **the outcome**: the contact's first SQL (a disposition `sql` or `converted`, or a move
  to sql, opportunity or customer), first opportunity (as its primary contact or one of
  its contacts) or first won opportunity, on or after the outreach day, up to the end of
  the period.
- **the routing team** of each contact: the routing core's answer (`route`) on its
  records, without round-robin state; capacity from the routing model.

`history` (the daily series, the outcomes, the teams) is shared with `mql backtest`.
"""

from __future__ import annotations

import random
import tempfile
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy.engine import Connection, Engine

from mql.batch import duckdb as duckdb_engine
from mql.batch.asof import AsOf
from mql.batch.conditions import EngineUnsupported
from mql.batch.engines import Inputs
from mql.errors import ConfigError
from mql.learning import calibrate as cal
from mql.learning.backtest import Outcome, Replay
from mql.model.spec import TOTAL, Model
from mql.records import Account, Contact
from mql.routing.rules import route
from mql.scoring.fit import record_getter
from mql.service import state as states
from mql.service.conversions import first_outcomes
from mql.service.engine_inputs import write_events
from mql.service.rescore import check_engine
from mql.service.scoring import load_model_file
from mql.store import contacts as contact_store
from mql.store import export, ledger
from mql.store.db import translate_errors
from mql.store.migrate import check

OUTCOME_KINDS = ("sql", "opportunity", "won")
DEFAULT_DAYS = 365
BOOTSTRAP_SEED = 0  # the same store gives the same interval every time
ACCOUNT_OWNER = "account_owner"  # the load of leads their account's owner takes


@dataclass(frozen=True, slots=True)
class Period:
    """The days `first`..`last` (inclusive) of a calibration or a backtest."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ConfigError(f"--to {self.last} is before --from {self.first}")

    @property
    def weeks(self) -> float:
        return ((self.last - self.first).days + 1) / 7

    @classmethod
    def of(cls, start: date | None, end: date | None, now: datetime,
           earliest: date | None = None) -> Period:
        """The period asked for; by default the 12 months up to yesterday (`now`), from
        the day of the first event (`earliest`) if that is later."""
        last = end or (now.astimezone(UTC).date() - timedelta(days=1))
        if start is None:
            start = last - timedelta(days=DEFAULT_DAYS - 1)
            if earliest is not None and earliest <= last:
                start = max(start, earliest)
        return cls(start, last)


@dataclass(frozen=True, slots=True)
class History:
    """Everything a calibration or backtest reads from the store, once."""

    contacts: list[Contact]
    accounts: list[Account]
    events: Path
    outcomes: dict[str, Outcome]
    outreach: dict[str, date]  # each contact's first outreach in the period
    teams: dict[str, str | None]
    capacity: dict[str, cal.Team] = field(default_factory=dict)


def _day(t: Any) -> date:
    value: datetime = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    return value.astimezone(UTC).date()


def _earliest(found: dict[int, date], cid: Any, day: date) -> None:
    if cid is not None and (cid not in found or day < found[cid]):
        found[int(cid)] = day


def read_outcomes(conn: Connection, period: Period) -> tuple[dict[int, Outcome],
                                                               dict[int, date]]:
    """Each contact's outcomes up to the end of the period (`conversions.first_outcomes`,
    the reader `mql learn` uses too) and its first outreach in it (survivor ids, as every
    report counts a merged person)."""
    outreach: dict[int, date] = {}
    d = ledger.disposition_columns(conn)
    for cid, at in zip(d["contact_id"], d["at"], strict=True):
        if period.first <= _day(at) <= period.last:
            _earliest(outreach, cid, _day(at))
    a = ledger.assignment_columns(conn)
    for cid, touch in zip(a["contact_id"], a["first_touch_at"], strict=True):
        if touch is not None and period.first <= _day(touch) <= period.last:
            _earliest(outreach, cid, _day(touch))
    found = first_outcomes(conn, period.last)
    return {cid: o.days() for cid, o in found.items()}, outreach


def team_capacity(model: Model) -> dict[str, cal.Team]:
    routing = model.routing
    if routing is None:
        return {}
    out = {}
    for name, team in routing.teams.items():
        caps = [m.capacity for m in team.members]
        out[name] = cal.Team(name, len(team.members),
                             None if any(c is None for c in caps) else sum(
                                 c for c in caps if c is not None))
    return out


def teams_of(model: Model, contacts: Iterable[Contact], accounts: Mapping[str, Account],
             at: datetime) -> dict[str, str | None]:
    """Each contact's routing team (`account_owner` when the account's owner takes it)."""
    routing = model.routing
    if routing is None:
        return {}
    out: dict[str, str | None] = {}
    for c in contacts:
        account = accounts.get(c.account) if c.account else None
        records = record_getter(c, account)

        def get(name: Any, records: Any = records) -> Any:
            # a routing rule on scores or activity does not hold: the team is the one the
            # person's records alone send them to
            if isinstance(name, str) and name.startswith(("contact.", "account.")):
                return records(name)
            return None

        assignment, _ = route(routing, account, get, {}, {}, at)
        out[c.email] = assignment.team or ACCOUNT_OWNER
    return out


def read_history(conn: Connection, model: Model, period: Period, scratch: Path) -> History:
    """The store's contacts, accounts, events (as a Parquet file in `scratch`) and
    outcomes, keyed by email."""
    # every live contact, whether it ever qualified or not (`ledger.contact_columns` holds
    # only those who did: the outreaches of the others would be lost)
    stored = contact_store.load_contacts(conn, contact_store.live_contact_ids(conn))
    people = [c.record for c in stored.values()]
    companies = export.all_accounts(conn)
    path = scratch / "events.parquet"
    write_events(conn, path)
    email = {i: c.record.email for i, c in stored.items()}
    outcomes, outreach = read_outcomes(conn, period)
    by_domain = {a.domain: a for a in companies}
    at = datetime.combine(period.last, datetime.min.time(), tzinfo=UTC)
    return History(people, companies, path,
                   {email[c]: o for c, o in outcomes.items() if c in email},
                   {email[c]: d for c, d in outreach.items() if c in email},
                   teams_of(model, people, by_domain, at), team_capacity(model))


def replay(model: Model, history: History, period: Period, score: str = TOTAL
           ) -> list[Replay]:
    """Every contact's MQL verdict and `score` at the start of each day from the day
    before the period to its last (the batch engine's daily series: no look-ahead)."""
    if score != TOTAL and score not in model.scores:
        raise ConfigError(f"--score {score}: the model has the scores "
                          f"{', '.join([*model.scores, TOTAL])}")
    as_of = AsOf.daily(period.first - timedelta(days=1), period.last)
    check_engine(model, "duckdb")
    engine = duckdb_engine.connect()
    try:
        table = engine.series(model, Inputs(history.contacts, history.accounts,
                                            history.events), as_of, score)
    except EngineUnsupported as exc:
        raise ConfigError(f"model {model.name}: the batch engine cannot replay it ({exc}); "
                          "calibration and backtests need the batch engine") from None
    finally:
        engine.close()
    # only what calibrate and backtest read, projected in the engine's query (never the
    # reasons, the other scores, the grade), ordered there; then one array of doubles
    # and one of bytes per contact: 9 bytes a contact and day, no Python object per day
    n = as_of.count
    rows = table.num_rows
    contacts = table.column("contact").take(pa.array(range(0, rows, n), pa.int64())).to_pylist()
    values = table.column("value").to_numpy()
    mqls = table.column("mql").to_numpy(zero_copy_only=False).astype(np.uint8)
    del table
    out = []
    first = period.first - timedelta(days=1)
    for k, contact in enumerate(contacts):
        email, start = str(contact), k * n
        series = array("d")
        series.frombytes(values[start:start + n].tobytes())
        out.append(Replay(email, first, mqls[start:start + n].tobytes(), series,
                          history.teams.get(email)))
    return out


def moments(replays: Iterable[Replay], history: History, outcome: str,
            first: date | None = None) -> list[cal.Moment]:
    """Each outreach in the period (from `first`, if given) with the score its contact
    had at the start of that day and whether the outcome followed."""
    out = []
    for r in replays:
        day = history.outreach.get(r.contact)
        if day is None or (first is not None and day < first):
            continue
        k = (day - r.first).days
        if not 0 <= k < len(r.score):
            continue
        hit = history.outcomes.get(r.contact, Outcome()).day(outcome)
        out.append(cal.Moment(r.contact, r.score[k],
                              1.0 if hit is not None and hit >= day else 0.0))
    return out


def daily(replays: Iterable[Replay]) -> list[cal.Daily]:
    return [cal.Daily(r.contact, r.first, r.score, r.team) for r in replays]


@dataclass(frozen=True, slots=True)
class CalibrationRun:
    """A calibration with what it was computed on."""

    model: Model
    period: Period
    outcome: str
    score: str
    result: cal.Calibration
    outreaches: int
    moments: tuple[cal.Moment, ...] = field(default=(), repr=False)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, every point, never rounded."""
        r = self.result

        def point(p: cal.Point | None) -> dict[str, Any] | None:
            if p is None:
                return None
            return {"threshold": p.threshold, "above": p.above,
                    "converted_above": p.converted_above, "rate_above": p.rate_above,
                    "below": p.below, "converted_below": p.converted_below,
                    "rate_below": p.rate_below, "lift": p.lift, "fitted": p.fitted,
                    "mqls": p.mqls, "mqls_per_week": p.mqls_per_week,
                    "teams": [{"team": t.team, "mqls_per_week": t.mqls_per_week,
                               "per_seller_per_week": t.per_seller_per_week,
                               "capacity_per_seller": t.capacity_per_seller,
                               "over_capacity": t.over_capacity} for t in p.loads]}

        return {
            "model": self.model.name, "version": self.model.version,
            "from": self.period.first.isoformat(), "to": self.period.last.isoformat(),
            "outcome": self.outcome, "score": self.score, "outreaches": self.outreaches,
            "method": "change point (two-rate Bernoulli likelihood) on the conversion "
                      "curve; isotonic fit for the curve",
            "recommended": r.recommended,
            "interval": None if r.interval is None else list(r.interval),
            "at_recommended": point(r.chosen),
            "health": None if r.health is None else {"position": r.health.position,
                                                     "words": r.health.words},
            "last_quarter": point(r.last_quarter),
            "isotonic": [{"low": b.low, "high": b.high, "n": b.n, "rate": b.rate}
                         for b in r.blocks],
            "curve": [point(p) for p in r.points],
            "notes": list(r.notes),
        }


def load_model(conn: Connection, path: Path | None) -> Model:
    return states.live_model(conn).model if path is None else load_model_file(path)


def run_calibration(engine: Engine, *, now: datetime, model_path: Path | None = None,
                    start: date | None = None, end: date | None = None,
                    outcome: str = "sql", score: str = TOTAL, step: float | None = None
                    ) -> CalibrationRun:
    """Calibrate the threshold on `score` for `outcome` over the period (default: the 12
    months up to yesterday), for the model at `model_path` (default: the live one)."""
    if outcome not in OUTCOME_KINDS:
        raise ConfigError(f"--outcome {outcome}: choose one of {', '.join(OUTCOME_KINDS)}")
    if step is not None and step <= 0:
        raise ConfigError(f"--step {step}: expected a positive number of points")
    check(engine)
    with tempfile.TemporaryDirectory(prefix="mql-calibrate-") as scratch:
        with translate_errors("reading the store"), engine.connect() as conn:
            model = load_model(conn, model_path)
            period = Period.of(start, end, now, ledger.first_event_day(conn))
            history = read_history(conn, model, period, Path(scratch))
        replays = replay(model, history, period, score)
    quarter = max(period.first, period.last - timedelta(weeks=13) + timedelta(days=1))
    found = moments(replays, history, outcome)
    result = cal.calibrate(found, daily(replays), weeks=period.weeks, last_quarter_from=quarter,
                           teams=history.capacity, bands=model.reports.health, step=step,
                           quarter_moments=moments(replays, history, outcome, quarter),
                           rng=random.Random(BOOTSTRAP_SEED))
    return CalibrationRun(model, period, outcome, score, result, len(found), tuple(found))
