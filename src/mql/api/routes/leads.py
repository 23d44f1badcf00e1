"""Leads: one by id or email with its decision and explanation, pages of leads, lifecycle
history, and the sales actions accept, reject, convert and reassign."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from mql.api.deps import Reader, Seller, State
from mql.api.guard import GuardedRoute
from mql.api.schemas import (
    ERRORS,
    AssignmentOut,
    ConvertIn,
    DecisionOut,
    LeadOut,
    LeadPageOut,
    ReassignIn,
    RejectIn,
    TransitionOut,
    lead_out,
)
from mql.lifecycle.stages import Stage
from mql.service.api_reads import lead_page, lead_score_history, read_lead
from mql.service.sales_actions import accept, convert, history, reassign, reject

router = APIRouter(route_class=GuardedRoute, tags=["leads"], responses=ERRORS)


@router.get("/v1/leads/{lead}", summary="A lead with scores, grade and explanation")
async def get_lead(lead: str, state: State, key: Reader) -> LeadOut:
    """The lead with this contact id or email: record, lifecycle stage, decision now and
    the rules that gave it its scores; 404 when there is none, 403 for a sales token
    when the lead is neither its own nor an open lead of its team."""
    found = await run_in_threadpool(read_lead, state.engine, lead, at=state.clock.now(),
                                    rules=state.settings.identity_rules(), scope=key.scope)
    return lead_out(found)


@router.get("/v1/leads", summary="Leads, MQLs first, filtered, by pages")
async def list_leads(
    state: State, key: Reader,
    mql: Annotated[bool | None, Query(description="only MQLs (true) or only non-MQLs")] = None,
    grade: Annotated[str | None, Query(max_length=10, description="e.g. A1")] = None,
    min_score: Annotated[float | None, Query(allow_inf_nan=False,
                                             description="total score at least")] = None,
    max_score: Annotated[float | None, Query(allow_inf_nan=False,
                                             description="total score at most")] = None,
    stage: Annotated[Stage | None, Query(description="lifecycle stage, e.g. mql")] = None,
    owner: Annotated[str | None, Query(max_length=320, description="the owning seller")] = None,
    account: Annotated[str | None, Query(max_length=255, description="account domain")] = None,
    qualified_since: Annotated[datetime | None, Query(
        description="MQLs that entered the MQL stage at or after this time")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500, pattern="^[A-Za-z0-9_=-]+$",
                                        description="next_cursor of the previous page")] = None,
) -> LeadPageOut:
    """One page of leads as of now; follow `next_cursor` until it is null. A sales token
    sees its own leads and its team's open leads only."""
    page = await run_in_threadpool(lead_page, state.engine, at=state.clock.now(), limit=limit,
                                   cursor=cursor, mql=mql, grade=grade, min_score=min_score,
                                   max_score=max_score,
                                   stage=None if stage is None else stage.value, owner=owner,
                                   account=account, qualified_since=_utc(qualified_since),
                                   scope=key.scope)
    return LeadPageOut(items=[DecisionOut.from_decision(d) for d in page.items],
                       next_cursor=page.next_cursor)


def _utc(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


@router.get("/v1/leads/{email}/scores", summary="Score history of a lead, day by day")
async def score_history(
    email: str, state: State, key: Reader,
    days: Annotated[int, Query(ge=1, le=366, description="how many days back")] = 30,
) -> list[DecisionOut]:
    """The lead's scores, grade and verdict at midnight UTC of each of the last `days`
    days and now, replayed exactly from its events (a sales token: its own and its
    team's open leads)."""
    now = state.clock.now()
    points = await run_in_threadpool(lead_score_history, state.engine, email,
                                     at=now, days=days, rules=state.settings.identity_rules(),
                                     scope=key.scope)
    return [DecisionOut.from_decision(d) for d in points]


@router.get("/v1/leads/{email}/history", summary="Lifecycle history of a lead")
async def lead_history(email: str, state: State, key: Reader) -> list[TransitionOut]:
    """Every stage change of the lead, oldest first; 404 when there is no such lead (a
    sales token: its own and its team's open leads)."""
    moves = await run_in_threadpool(history, state.engine, email,
                                    identity=state.settings.identity_rules(),
                                    scope=key.scope)
    return [TransitionOut.model_validate(asdict(m)) for m in moves]


@router.post("/v1/leads/{email}/accept", summary="Sales accepts the lead")
async def accept_lead(email: str, state: State, key: Seller) -> TransitionOut:
    """MQL -> SAL, stopping the SLA clock; 409 when the lead's stage does not allow it,
    403 when a seller's lead is neither theirs nor open in their team."""
    done = await run_in_threadpool(accept, state.engine, email, actor=key.actor,
                                   now=state.clock.now(),
                                   identity=state.settings.identity_rules(), scope=key.scope)
    return TransitionOut.model_validate(asdict(done))


@router.post("/v1/leads/{email}/reject", summary="Sales rejects the lead with a reason")
async def reject_lead(email: str, body: RejectIn, state: State, key: Seller) -> TransitionOut:
    """Back to nurture (recycled) or disqualified, by the model's reason; 409 when refused."""
    done = await run_in_threadpool(reject, state.engine, email, reason=body.reason,
                                   actor=key.actor, now=state.clock.now(),
                                   identity=state.settings.identity_rules(), scope=key.scope)
    return TransitionOut.model_validate(asdict(done))


@router.post("/v1/leads/{email}/convert", summary="Sales moves the lead one step on")
async def convert_lead(email: str, body: ConvertIn, state: State, key: Seller
                       ) -> TransitionOut:
    """SAL -> SQL -> opportunity -> customer; 409 when the stage does not allow it."""
    done = await run_in_threadpool(convert, state.engine, email, reason=body.reason,
                                   actor=key.actor, now=state.clock.now(),
                                   identity=state.settings.identity_rules(), scope=key.scope)
    return TransitionOut.model_validate(asdict(done))


@router.post("/v1/leads/{email}/reassign", summary="Give the lead to another owner")
async def reassign_lead(email: str, body: ReassignIn, state: State, key: Seller
                        ) -> AssignmentOut:
    """The open assignment with its new owner."""
    done = await run_in_threadpool(reassign, state.engine, email, owner=body.owner,
                                   actor=key.actor, now=state.clock.now(),
                                   identity=state.settings.identity_rules(), scope=key.scope)
    return AssignmentOut.model_validate(asdict(done))
