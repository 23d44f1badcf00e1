"""Accounts: one account with its contacts, open MQLs and aggregate engagement."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from mql.api.deps import Reader, State
from mql.api.guard import GuardedRoute
from mql.api.schemas import ERRORS, AccountOut
from mql.service.api_reads import read_account

router = APIRouter(route_class=GuardedRoute, tags=["accounts"], responses=ERRORS)


@router.get("/v1/accounts/{domain}", summary="An account with its contacts")
async def get_account(domain: str, state: State, _: Reader) -> AccountOut:
    """The account with this web domain: firmographics, every contact's decision now (MQLs
    first), open MQLs and the sum of intent; 404 when there is none."""
    found = await run_in_threadpool(read_account, state.engine, domain, at=state.clock.now())
    return AccountOut.from_view(found)
