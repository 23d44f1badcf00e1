"""Reports: the KPIs of `mql report ...` from the same computation, as JSON for programs
and the dashboard (docs/analytics.md defines every column)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from mql.analytics.definitions import Dimension, Report, parse_bound
from mql.api.deps import Reader, State
from mql.api.guard import GuardedRoute
from mql.api.schemas import ERRORS
from mql.batch.reports import Window
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
