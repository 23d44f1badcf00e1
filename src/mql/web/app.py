"""`create_app(settings)`: the API of `mql.api.app` with the web pages on the same app.

The pages are a thin face: each route reads the session, checks the role with the API's
permission table (`mql.api.auth.allowed`), calls one service function (`mql.service.pages`,
`sales_actions`, `reports`, ...) and renders a template. The web face reuses the API's
state, permission table and error statuses; the API knows nothing of it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from mql.api.app import create_app as create_api
from mql.clock import Clock
from mql.settings import Settings
from mql.web import routes
from mql.web.session import Sessions

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The app of `mql serve`: the HTTP API and the web pages; `ConfigError` when the
    settings are unsafe (as `mql.api.app.create_app`)."""
    app = create_api(settings, clock=clock)
    app.state.web_sessions = Sessions(settings.secret_key)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(routes.router)
    app.add_exception_handler(routes.Refused, routes.refused)
    return app
