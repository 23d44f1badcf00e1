"""The one table from mql errors to HTTP statuses, and the handlers that render them.

Every error answers ``{"detail": "<message naming the place, value and fix>", "code":
"<kind>", "message": "<the same message>"}`` (`code` and `message` are what Segment clients
read from an error); the most specific class in the table wins.

>>> status_for(TransitionRefused("mql -> sal refused", reason="owner only"))
409
>>> status_for(SchemaOutdated("run mql migrate"))
503
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from mql.errors import (
    ConfigError,
    DuplicateEvent,
    Forbidden,
    InputError,
    MergeRefused,
    ModelError,
    MQLError,
    NotFound,
    SchemaOutdated,
    StoreError,
    StoreUnavailable,
    TransitionRefused,
)

STATUS: dict[type[MQLError], int] = {
    NotFound: 404,
    Forbidden: 403,
    ModelError: 422,
    InputError: 422,
    ConfigError: 400,
    TransitionRefused: 409,
    MergeRefused: 409,
    DuplicateEvent: 409,
    StoreUnavailable: 503,
    SchemaOutdated: 503,
    StoreError: 500,
    MQLError: 500,
}


def status_for(exc: MQLError) -> int:
    """The HTTP status of `exc`: the entry of its most specific class in `STATUS`."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


async def _render(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MQLError)
    status = status_for(exc)
    body: dict[str, object] = {"detail": str(exc), "code": type(exc).__name__,
                               "message": str(exc)}
    if isinstance(exc, ModelError):
        body["problems"] = [str(p) for p in exc.problems]
    headers = {"Retry-After": "1"} if status == 503 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def _render_http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    return JSONResponse({"detail": exc.detail, "code": code, "message": str(exc.detail)},
                        status_code=exc.status_code, headers=exc.headers)


def install(app: FastAPI) -> None:
    """Render every `MQLError` raised by a handler with the status from `STATUS`, and the
    API's own refusals (401, 403, 413, 429) in the same shape."""
    app.add_exception_handler(MQLError, _render)
    app.add_exception_handler(HTTPException, _render_http)
