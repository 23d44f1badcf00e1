"""`create_app(settings)`: the FastAPI application of `mql serve`.

The settings are checked first: the example secret key is refused unless `dev` is set
(keys are stored as HMACs under it). The app opens one store engine, one writer for
collection, a key cache and a rate limiter, kept in `app.state.mql`, and closes them when
the server stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from mql import __version__
from mql.api import errors
from mql.api.auth import KeyCache
from mql.api.cors import CollectCors
from mql.api.deps import ApiState
from mql.api.ratelimit import RateLimiter
from mql.api.routes import (
    accounts,
    admin,
    compliance,
    leads,
    models,
    outcomes,
    reports,
    segment,
)
from mql.api.writer import Writer
from mql.clock import Clock, SystemClock
from mql.errors import ConfigError
from mql.service.keys import Principal, authenticate
from mql.settings import EXAMPLE_SECRET, Settings
from mql.store.db import connect

DESCRIPTION = """Collect events in the shape of Segment's HTTP tracking API, read leads
with their scores and explanations, manage models, keys and quarantine.

Write keys (HTTP Basic username, as Segment clients send them) can only send events. API
tokens (`Authorization: Bearer mql_...`) carry a role: admin, marketing, sales, read-only.
"""


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The application for `settings`; `ConfigError` when the settings are unsafe."""
    if settings.secret_key == EXAMPLE_SECRET and not settings.dev:
        raise ConfigError(f"MQL_SECRET_KEY is the example value {EXAMPLE_SECRET!r}; set a "
                          "real one (e.g. `openssl rand -hex 32`) or run with --dev")
    engine = connect(settings.database_url)
    time = clock or SystemClock()
    writer = Writer(engine, settings.database_url, rules=settings.identity_rules(), clock=time,
                    apply_delay=settings.api_apply_delay_seconds,
                    max_lag=settings.api_max_inbox_lag_seconds)

    def check(presented: str) -> Principal | None:
        return authenticate(engine, presented, server_secret=settings.secret_key)

    state = ApiState(settings, engine, time, writer,
                     KeyCache(check, ttl=settings.api_key_cache_seconds),
                     RateLimiter(rate=settings.api_rate_per_second,
                                 burst=settings.api_rate_burst),
                     RateLimiter(rate=settings.api_write_key_rate_per_second,
                                 burst=settings.api_write_key_rate_burst))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await writer.start()
        try:
            yield
        finally:
            await writer.stop()
            engine.dispose()

    app = FastAPI(title="mql", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.mql = state
    errors.install(app)
    app.add_middleware(CollectCors, paths=segment.PATHS, prefix=segment.SETTINGS_PREFIX)
    for module in (segment, leads, accounts, models, admin, outcomes, reports,
                   compliance):
        app.include_router(module.router)

    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = plain_openapi()
            document.setdefault("components", {}).setdefault("schemas", {}).update(
                segment.body_schemas())
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/health", tags=["health"], summary="Liveness")
    async def health() -> JSONResponse:
        """`{"ok": true}` while the server runs; no key needed, no store access."""
        return JSONResponse({"ok": True})

    return app
