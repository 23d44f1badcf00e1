"""Dependencies of the routes as `Annotated` types: the server's state and the caller.

`EventSender`, `Reader`, `ModelChecker`, `ModelActivator`, `KeyAdmin`, `QuarantineAdmin` and
`Seller` each authenticate the request (401), apply the key's rate limit (429 with
Retry-After) and check the role (403), in that order; the route gets the `Principal`.
Write keys have a rate limit of their own (`api_write_key_rate_per_second`: a website sends
one request per event). Collection routes, which may also find the write key in the body
(analytics.js), use `Presented` and `authorize` for the same checks.
"""

from __future__ import annotations

import base64
import binascii
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from mql.api.auth import MISSING, KeyCache, Permission, allowed, refusal, unknown
from mql.api.ratelimit import RateLimiter
from mql.api.writer import Writer
from mql.clock import Clock
from mql.service.keys import Principal
from mql.settings import Settings


@dataclass(frozen=True, slots=True)
class ApiState:
    """What every request may use: settings, store engine, clock, writer, key checks."""

    settings: Settings
    engine: Engine
    clock: Clock
    writer: Writer
    keys: KeyCache
    limiter: RateLimiter
    write_limiter: RateLimiter


async def _state(request: Request) -> ApiState:
    state: ApiState = request.app.state.mql
    return state


State = Annotated[ApiState, Depends(_state)]
_basic = HTTPBasic(auto_error=False, description="Write key as the username (Segment clients)")
_bearer = HTTPBearer(auto_error=False, description="API token: `Bearer mql_...`")


async def _presented(basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
                     bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                     ) -> str | None:
    """The key the request's headers present (Bearer, else the Basic username), if any."""
    found = bearer.credentials if bearer is not None else (
        basic.username if basic is not None else None)
    return found or None


Presented = Annotated[str | None, Depends(_presented)]
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="mql", Bearer'}


def presented_key(request: Request) -> str | None:
    """The key a request's headers present, read without FastAPI's dependencies (before
    the body is read): a Bearer token, else the HTTP Basic username."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None
    return None


async def authenticate(state: ApiState, presented: str | None) -> Principal:
    """The principal of `presented` after the key's rate limit: 401 when missing or not a
    live key, 429 with Retry-After when over its rate."""
    if not presented:
        raise HTTPException(401, MISSING, headers=_CHALLENGE)
    known, principal = state.keys.cached(presented)
    if not known:
        principal = await run_in_threadpool(state.keys.principal, presented)
    if principal is None:
        raise HTTPException(401, unknown(presented), headers=_CHALLENGE)
    writer = principal.kind == "write_key"
    limiter = state.write_limiter if writer else state.limiter
    wait = limiter.take(principal.key_id, now=time.monotonic())
    if wait > 0:
        rate = (state.settings.api_write_key_rate_per_second if writer
                else state.settings.api_rate_per_second)
        raise HTTPException(429, f"key {principal.key_id!r} sent more than {rate:g} requests "
                            f"per second; retry after {wait:.2f} s",
                            headers={"Retry-After": str(max(1, math.ceil(wait)))})
    return principal


async def principal_of(request: Request) -> Principal:
    """The caller of `request` by the key in its headers (401 without a live key, 429 over
    the key's rate), checked once per request: the first check (before the body is read)
    is kept for the rest."""
    found: Principal | None = getattr(request.state, "principal", None)
    if found is not None:
        return found
    state: ApiState = request.app.state.mql
    principal = await authenticate(state, presented_key(request))
    request.state.principal = principal
    return principal


def authorize(principal: Principal, permission: Permission) -> Principal:
    """`principal` if their role has `permission`, else 403 naming the role needed."""
    if not allowed(permission, principal.role):
        raise HTTPException(403, refusal(permission, principal))
    return principal


async def _principal(request: Request,
                     _basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
                     _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                     ) -> Principal:
    # the two security schemes only document the credentials in the OpenAPI document
    return await principal_of(request)


def requires(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the caller if their role has `permission` (else 403)."""
    async def check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        return authorize(principal, permission)
    return check


EventSender = Annotated[Principal, Depends(requires("collect"))]
Reader = Annotated[Principal, Depends(requires("read"))]
ModelChecker = Annotated[Principal, Depends(requires("models.check"))]
ModelActivator = Annotated[Principal, Depends(requires("models.activate"))]
KeyAdmin = Annotated[Principal, Depends(requires("keys"))]
QuarantineAdmin = Annotated[Principal, Depends(requires("quarantine.retry"))]
Seller = Annotated[Principal, Depends(requires("sales.act"))]
ConsentWriter = Annotated[Principal, Depends(requires("consent.write"))]
PrivacyAdmin = Annotated[Principal, Depends(requires("privacy"))]
