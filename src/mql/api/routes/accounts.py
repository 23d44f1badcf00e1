"""Accounts: account scores filtered by tier, coverage and score; one account with its
contacts, open MQLs, aggregate engagement and its account score."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from mql.api.deps import Reader, State
from mql.api.guard import GuardedRoute
from mql.api.schemas import ERRORS, AccountOut, AccountPageOut, AccountScoreOut
from mql.service.accounts import list_accounts, show_account_mqa
from mql.service.api_reads import read_account

router = APIRouter(route_class=GuardedRoute, tags=["accounts"], responses=ERRORS)


@router.get("/v1/accounts", summary="Account scores, filtered")
async def get_accounts(
    state: State, _: Reader,
    tier: Annotated[str | None, Query(max_length=40, description="ABM tier, e.g. 1:1")] = None,
    coverage: Annotated[Literal["complete", "incomplete", "any"], Query(
        description="complete: every role to cover has an engaged contact; incomplete: "
                    "some role is silent or missing")] = "any",
    min_score: Annotated[float | None, Query(allow_inf_nan=False,
                                             description="account total at least")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AccountPageOut:
    """Account scores now, highest total first: fit, intent, tier, owner, ledger and
    coverage (docs/accounts.md)."""
    now: datetime = state.clock.now()
    found = await run_in_threadpool(list_accounts, state.engine, at=now, tier=tier,
                                    coverage=coverage, min_score=min_score, limit=limit)
    return AccountPageOut(items=[AccountScoreOut.from_score(s) for s in found])


@router.get("/v1/accounts/{domain}", summary="An account with its contacts and score")
async def get_account(domain: str, state: State, key: Reader) -> AccountOut:
    """The account with this web domain: firmographics, every contact's decision now (MQLs
    first; a sales token: only its own and its team's open leads, the others counted in
    `hidden_contacts`), open MQLs and the sum of intent of those contacts, and its account
    score (ledger, coverage, missing roles, when it falls below its line) and its MQA
    decision; 404 when there is none."""
    now = state.clock.now()
    found = await run_in_threadpool(read_account, state.engine, domain, at=now,
                                    scope=key.scope)
    view = await run_in_threadpool(show_account_mqa, state.engine, domain, at=now)
    return AccountOut.from_view(found, view.score, view.mqa, view.history.stage)
