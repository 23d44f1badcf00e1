"""Outcomes: opportunities (a state at a time; the stage history is kept), marketing costs
and sales dispositions, written by a CRM sync or a person; one opportunity read back with
its history, contacts and hand-off credit. Bodies use the columns of the files
(docs/outcomes.md) and are read by the same code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from starlette.concurrency import run_in_threadpool

from mql.api.deps import Reader, Seller, State, requires
from mql.api.guard import GuardedRoute
from mql.api.schemas import ERRORS
from mql.ingest.outcomes import cost_from_row, disposition_from_row, opportunity_from_row
from mql.service import outcomes
from mql.service.keys import Principal

router = APIRouter(route_class=GuardedRoute, tags=["outcomes"], responses=ERRORS)
OutcomeWriter = Annotated[Principal, Depends(requires("outcomes.write"))]
Row = Annotated[dict[str, Any], Body(description="one row in the columns of the file")]


def _opportunity_out(found: dict[str, Any]) -> dict[str, Any]:
    drop = {"id", "account_id", "primary_contact_id"}
    return {**{k: v for k, v in found.items() if k not in drop},
            "history": [{k: h[k] for k in ("at", "stage", "status", "amount", "closed_at")}
                        for h in found["history"]]}


@router.post("/v1/opportunities", summary="Save an opportunity's state")
async def save_opportunity(row: Row, state: State, key: OutcomeWriter) -> dict[str, Any]:
    """One state of an opportunity (`opportunity_id`, `created_at`, `stage`, `amount`,
    `updated_at` ...): each field keeps its newest known value (a partial update, e.g.
    `opportunity_id`, `stage`, `updated_at`, keeps the other fields; an older state
    cannot overwrite a newer one) and every stage change goes into its history; sending
    the same state again changes nothing. 422 names the field that cannot be used; 404
    for a partial update (no `created_at`) of an opportunity not in the store. Returns
    the opportunity as stored, with its history and links."""
    parsed = opportunity_from_row(row, source="body", row=1)
    found = await run_in_threadpool(outcomes.save_opportunity, state.engine, parsed,
                                    rules=state.settings.identity_rules(),
                                    now=state.clock.now(), source=f"api:{key.name}")
    return _opportunity_out(found)


@router.get("/v1/opportunities/{opportunity_id}", summary="An opportunity with its history")
async def get_opportunity(opportunity_id: str, state: State, _: Reader) -> dict[str, Any]:
    """The opportunity with this CRM id: state, stage history, contacts and the hand-offs
    it is credited to (sourced, influenced) with the rule; 404 when there is none."""
    found = await run_in_threadpool(outcomes.read_opportunity, state.engine, opportunity_id)
    return _opportunity_out(found)


@router.post("/v1/costs", summary="Save marketing costs")
async def save_costs(rows: Annotated[list[dict[str, Any]], Body(max_length=1000)],
                     state: State, key: OutcomeWriter) -> dict[str, Any]:
    """Spend rows (`month`, `channel`, `campaign`, `spend`, `currency`, `touches`): the rows
    with the same month, channel and campaign are added up and their total replaces the
    stored one. 422 names the row (1 = the first) and field of a bad row; nothing is
    stored then."""
    parsed = [cost_from_row(r, source="body", row=i) for i, r in enumerate(rows, 1)]
    changed, same = await run_in_threadpool(outcomes.save_costs, state.engine, parsed,
                                            now=state.clock.now(), source=f"api:{key.name}")
    return {"changed": len(changed), "unchanged": len(same)}


@router.post("/v1/dispositions", summary="Record what sales did with a lead")
async def save_disposition(row: Row, state: State, key: Seller) -> dict[str, Any]:
    """A disposition (`email`, `status`, `reason` from the model's list, `note`, `at`
    (default now), `opportunity_id`); stored once per contact, time and status. 404 for
    a contact not in the store."""
    body = {"at": state.clock.now().isoformat(), "actor": key.actor, **row}
    parsed = disposition_from_row(body, source="body", row=1)
    stored = await run_in_threadpool(outcomes.save_disposition, state.engine, parsed,
                                     rules=state.settings.identity_rules(),
                                     now=state.clock.now(), source=f"api:{key.name}")
    return {"stored": stored, "dispositions": [
        {"email": d.email, "at": d.at, "status": d.status, "reason": d.reason}
        for d in parsed]}


@router.get("/v1/dispositions", summary="The dispositions ledger")
async def list_dispositions(
    state: State, _: Reader,
    email: Annotated[str | None, Query(max_length=320, description="one contact's")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """What sales did, oldest first (the newest `limit`)."""
    ledger = await run_in_threadpool(outcomes.dispositions, state.engine, email,
                                     rules=state.settings.identity_rules())
    return [{k: d[k] for k in ("email", "at", "status", "reason", "note", "actor", "source")}
            for d in ledger[-limit:]]

