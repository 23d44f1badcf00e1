"""Reports: the KPIs of `mql report ...` from the same computation, as JSON for programs
and the dashboard (docs/analytics.md defines every column)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from mql.analytics.definitions import Dimension, Report, parse_bound
from mql.api.deps import Reader, State
from mql.api.guard import GuardedRoute
from mql.api.schemas import ERRORS
from mql.batch.reports import Window
from mql.errors import ConfigError
from mql.service.accounts import account_report, report_json
from mql.service.attribution import Query as AttributionQuery
from mql.service.attribution import parse_models, run_attribution
from mql.service.backtest import backtest_version
from mql.service.calibration import OUTCOME_KINDS, run_calibration
from mql.service.nurture import MAX_WITHIN_DAYS
from mql.service.reports import REVIEW_SIZE, run_report

router = APIRouter(route_class=GuardedRoute, tags=["reports"], responses=ERRORS)


class ReportOut(BaseModel):
    """One report: `rows` (one per value of `by`, keyed by the column names in
    `columns`), `total` over every row (null where a total means nothing), and notes in
    words. Rates are shares (0.25 is 25%), money in the stored currency, times ISO 8601
    UTC; nothing is rounded."""

    report: str
    by: list[str]
    as_of: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    columns: list[str]
    rows: list[dict[str, Any]]
    total: dict[str, Any] | None
    notes: list[str]

    model_config = ConfigDict(populate_by_name=True)


def _bound(text: str | None, name: str) -> datetime | None:
    return None if text is None else parse_bound(text, name)


class CalibrationOut(BaseModel):
    """`mql calibrate --format json`: the trade-off curve (one point per threshold: at or
    above and below it, outreaches, conversions and rates, the isotonic rate, MQLs a week
    and the load per team), the recommended threshold with its point, its health verdict,
    and the point over the last quarter. Rates are shares (0.25 is 25%); nothing is
    rounded."""

    model: str
    version: str | None
    from_: str = Field(alias="from")
    to: str
    outcome: str
    score: str
    outreaches: int
    method: str
    recommended: float | None
    interval: list[float] | None
    at_recommended: dict[str, Any] | None
    health: dict[str, Any] | None
    last_quarter: dict[str, Any] | None
    isotonic: list[dict[str, Any]]
    curve: list[dict[str, Any]]
    notes: list[str]

    model_config = ConfigDict(populate_by_name=True)


class BacktestOut(BaseModel):
    """`mql backtest --format json` of a stored version against the live model: both
    summaries (MQLs, a week and by ISO week, conversion and recall per outcome, revenue
    captured, lift per decile, MQLs a week per team) and every person who newly
    qualifies or drops out, with their outcomes."""

    candidate: dict[str, Any]
    against: dict[str, Any]
    from_: str = Field(alias="from")
    to: str
    identical: bool
    summary: dict[str, Any]
    newly_qualified: list[dict[str, Any]]
    dropped_out: list[dict[str, Any]]

    model_config = ConfigDict(populate_by_name=True)


class AccountReportOut(BaseModel):
    """`mql accounts report --json`: MQLs, MQAs and PQLs (rising edges) replayed over the
    store's history, the buying motions they made (one hand-off each), each path's
    conversion, qualifications per month, per ABM tier the MQAs, the accounts that
    reached MQA and their MQA -> opportunity rate, and for the won accounts how often and
    how many days earlier than the first MQL the MQA fired (docs/accounts.md)."""

    qualifications: dict[str, int]
    motions: int
    handoffs_saved: int
    stages: dict[str, int]
    months: dict[str, dict[str, int]]
    paths: list[dict[str, Any]]
    timing: dict[str, Any]
    tiers: list[dict[str, Any]]


def _day(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{name} {text!r}: expected a day like 2025-03-01") from None


DayFrom = Annotated[str | None, Query(alias="from", max_length=10,
                                      description="First day of the history; default: 12 "
                                                  "months before `to`")]
DayTo = Annotated[str | None, Query(alias="to", max_length=10,
                                    description="Last day (inclusive); default: yesterday")]


@router.get("/v1/reports/calibration", summary="The MQL threshold calibrated on outcomes")
async def get_calibration(
    state: State,
    _: Reader,
    start: DayFrom = None,
    end: DayTo = None,
    outcome: Annotated[str, Query(max_length=20, description="sql, opportunity or won")
                       ] = "sql",
    score: Annotated[str, Query(max_length=100, description="The score the line is on")
                     ] = "total",
) -> CalibrationOut:
    """The live model's threshold calibrated on the store's outreaches and outcomes, as
    `mql calibrate --format json` prints it; 400 for a parameter that cannot be used."""
    if outcome not in OUTCOME_KINDS:
        raise ConfigError(f"outcome {outcome!r}: choose one of {', '.join(OUTCOME_KINDS)}")
    run = await run_in_threadpool(
        run_calibration, state.engine, now=state.clock.now(), start=_day(start, "from"),
        end=_day(end, "to"), outcome=outcome, score=score)
    return CalibrationOut.model_validate(run.to_json())


@router.get("/v1/reports/backtest", summary="A stored model version backtested")
async def get_backtest(
    state: State,
    _: Reader,
    version: Annotated[int, Query(ge=1, description="The stored model version to replay")],
) -> BacktestOut:
    """Model version `version` replayed over the last 12 months against the live model
    (what `mql model activate --backtest` shows); 404 for an unknown version."""
    run = await run_in_threadpool(backtest_version, state.engine, version,
                                  now=state.clock.now())
    return BacktestOut.model_validate(run.to_json())


@router.get("/v1/reports/accounts", summary="MQAs beside MQLs and PQLs")
async def get_account_report(state: State, _: Reader) -> AccountReportOut:
    """Every stored account replayed through the live model now: the numbers of `mql
    accounts report --json`."""
    view = await run_in_threadpool(account_report, state.engine, at=state.clock.now())
    return AccountReportOut.model_validate(report_json(view))


@router.get("/v1/reports/nurture", summary="Whether the nurture tracks work")
async def get_nurture_report(
    state: State,
    _: Reader,
    at: Annotated[str | None, Query(description="As of this time (ISO 8601); default: now.")
                  ] = None,
    within: Annotated[float, Query(gt=0, le=MAX_WITHIN_DAYS, allow_inf_nan=False,
                                   description="Days after entry in which a "
                                   "conversion counts.")] = 90.0,
) -> ReportOut:
    """Per nurture track: enrolled, active, exits by reason, median days in the track,
    conversion to MQL/SQL/opportunity/won within `within` days of entry beside the
    comparable contacts' (never enrolled, from their first eligible moment), the content
    before conversions: `mql report nurture --format json` (docs/nurture.md)."""
    from mql.service.nurture import nurture_report

    moment = _bound(at, "at") or state.clock.now()
    result = await run_in_threadpool(nurture_report, state.engine, at=moment,
                                     within_days=within)
    return ReportOut.model_validate(result.to_json())


@router.get("/v1/reports/attribution", summary="Multi-touch attribution of the pipeline")
async def get_attribution(
    state: State,
    _: Reader,
    model: Annotated[str, Query(max_length=200, description=(
        "first, last, last_non_direct, linear, u, w, z, time_decay, j, inverse_j, markov, "
        "shapley; several comma-separated, or all: side by side"))] = "linear",
    order: Annotated[int | None, Query(ge=1, le=6, description="Markov order")] = None,
    allocation: Annotated[Literal["total", "journey"] | None, Query(
        description="Markov: total (ChannelAttribution) or journey")] = None,
    self_transitions: Annotated[Literal["keep", "drop"] | None, Query(
        description="Markov: keep or drop a channel repeated in a row")] = None,
    level: Annotated[Literal["contact", "account"], Query(
        description="contact: a person's touches; account: the committee's")] = "contact",
    by: Annotated[Literal["channel", "campaign", "content"], Query(
        description="What is credited")] = "channel",
    measure: Annotated[Literal["opportunities", "pipeline", "won", "revenue"], Query(
        description="Side by side: the number compared")] = "opportunities",
    start: Annotated[str | None, Query(alias="from", max_length=40,
                                       description="Opportunities created from (2025-03, "
                                                   "a day, a time)")] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40,
                                     description="... up to (exclusive)")] = None,
) -> ReportOut:
    """`mql attribute --format json`: the credit per channel (campaign, content) for the
    opportunities, pipeline and won revenue under one model, or several side by side;
    400 when a parameter cannot be used (the message says which)."""
    query = AttributionQuery(parse_models(model), level, by, measure,
                             Window(_bound(start, "from"), _bound(end, "to")), order,
                             allocation, self_transitions)
    result = await run_in_threadpool(run_attribution, state.engine, query,
                                     now=state.clock.now())
    return ReportOut.model_validate(result.to_json())


@router.get("/v1/reports/{report}", summary="A report from the stored ledger")
async def get_report(
    report: Report,
    state: State,
    _: Reader,
    by: Annotated[str | None, Query(description="Rows: month, week, channel, segment ...",
                                    max_length=40)] = None,
    start: Annotated[str | None, Query(alias="from", max_length=40,
                                       description="First cohort (2025-03, a day, a time)")
                     ] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40,
                                     description="End of the cohorts, exclusive")] = None,
    size: Annotated[int, Query(ge=1, le=500, description="review: how many MQLs")
                    ] = REVIEW_SIZE,
) -> ReportOut:
    """funnel, sla, cost, reasons, health or review, as `mql report REPORT --format json`
    prints it; 400 when a parameter cannot be used (the message says which)."""
    window = Window(_bound(start, "from"), _bound(end, "to"))
    dims = None if by is None else Dimension.parse_many(by)
    result = await run_in_threadpool(
        run_report, state.engine, report, now=state.clock.now(), by=dims, window=window,
        size=size, rules=state.settings.identity_rules())
    return ReportOut.model_validate(result.to_json())
