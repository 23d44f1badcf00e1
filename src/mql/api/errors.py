"""The one table from mql errors to HTTP statuses, and the handlers that render them.

Every error answers ``{"detail": "<message naming the place, value and fix>", "code":
"<kind>", "message": "<the same message>"}`` (`code` and `message` are what the Segment and
RudderStack clients read from an error); the most specific class in the table wins. A body
or parameter that does not validate answers 422 in the same shape (``code``
``invalid_request``, the field errors in ``errors``), so do unknown paths (404), wrong
methods (405) and anything unexpected (500, no traceback).

>>> status_for(TransitionRefused("mql -> sal refused", reason="owner only"))
409
>>> status_for(SchemaOutdated("run mql migrate"))
503
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

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


_CODES = {413: "body_too_large", 422: "invalid_request"}  # phrases differ across Pythons


def code_of(status: int) -> str:
    """The `code` of an HTTP refusal: its phrase in snake case.

    >>> code_of(413), code_of(429)
    ('body_too_large', 'too_many_requests')
    """
    return _CODES.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_").replace(
        "-", "_")


def error_body(status: int, message: str, code: str | None = None) -> dict[str, object]:
    """The one error shape: `detail`, `code` and `message`."""
    return {"detail": message, "code": code or code_of(status), "message": message}


async def _render_http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse(error_body(exc.status_code, str(exc.detail)),
                        status_code=exc.status_code, headers=exc.headers)


def _where(error: dict[str, object]) -> str:
    loc = error.get("loc") or ()
    return ".".join(str(part) for part in loc) if isinstance(loc, list | tuple) else str(loc)


async def _render_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _where(e), "message": str(e.get("msg", ""))} for e in exc.errors()]
    message = "the request is invalid: " + "; ".join(
        f"{e['field']}: {e['message']}" for e in errors[:10])
    body = error_body(422, message, "invalid_request")
    body["errors"] = errors
    return JSONResponse(body, status_code=422)


async def _render_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    logging.getLogger("mql.api").error("unexpected error", exc_info=exc)
    return JSONResponse(error_body(500, f"internal error ({type(exc).__name__}); the "
                                   "server log has the details", "internal_error"),
                        status_code=500)


def install(app: FastAPI) -> None:
    """Render every `MQLError` raised by a handler with the status from `STATUS`, and the
    API's own refusals (401, 403, 404, 405, 413, 429), invalid requests (422) and unexpected
    errors (500) in the same shape."""
    app.add_exception_handler(MQLError, _render)
    app.add_exception_handler(HTTPException, _render_http)
    app.add_exception_handler(RequestValidationError, _render_invalid)
    app.add_exception_handler(Exception, _render_unexpected)
