"""The pages: sign-in and sign-out, the sales queue with its actions, a lead, an account,
the funnel and KPIs, the models and the operations overview.

Every page reads the signed session (`mql.web.session`), checks the role with the API's
permission table, calls service functions and renders a template; every form carries the
session's CSRF token, and a post without it is refused with 403 before anything runs. A
user error answers a page with the status the API would give (`status_for`), never a
traceback.

What every route repeats is a dependency (`Visited`: the session and who is signed in;
`SignedIn`: the same, or the sign-in page for a visitor; `Posted`: the form of a post
with the session's CSRF token); a refusal anywhere (those, `_deny`, a service error in
`_run`) is raised as `Refused` with its page, which `refused` answers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from mql.analytics.definitions import Dimension, Report, parse_bound
from mql.api.auth import Permission, allowed, refusal
from mql.api.deps import ApiState
from mql.api.errors import status_for
from mql.batch.reports import Window
from mql.errors import MQLError
from mql.service import pages, reports, sales_actions, webhooks
from mql.service import store as store_service
from mql.service.admin_actions import retry_quarantine
from mql.service.api_reads import deliveries
from mql.service.backtest import backtest_version
from mql.service.calibration import OUTCOME_KINDS, run_calibration
from mql.service.keys import Principal, authenticate, principal_by_id
from mql.service.model_versions import activate_version
from mql.web.session import COOKIE, MAX_AGE, Session, Sessions

router = APIRouter(include_in_schema=False)
FORM_LIMIT = 64 * 1024  # a sign-in or an action: a few short fields
_log = logging.getLogger("mql.web")


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}".removesuffix(".0") if abs(value) >= 0.05 or value == 0 \
            else f"{value:.3f}"
    return str(value)


def _percent(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.1f}%"


def _time(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if isinstance(value, datetime) else "-"


TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html"]), trim_blocks=True,
                        lstrip_blocks=True)
TEMPLATES.filters.update(num=_number, pct=_percent, time=_time)


def is_rate(column: str) -> bool:
    """Whether a report column is a share (docs/analytics.md: rates are shares, 0.25 is
    25%), shown as a percentage: `mql_to_sal`, `rejection_rate`, `attainment`, `*_share`
    (not the times: `median_days_to_mql`, speed-to-lead hours).

    >>> [is_rate(c) for c in ("mql_to_sql", "win_rate", "content_share", "share_of_mqls",
    ...                       "median_days_to_mql", "mqls")]
    [True, True, True, True, False, False]
    """
    if any(unit in column for unit in ("days", "hours", "minutes")):
        return False
    return ("_to_" in column or column.endswith(("rate", "attainment", "share"))
            or column.startswith("share"))


TEMPLATES.globals["is_rate"] = is_rate


@dataclass(frozen=True, slots=True)
class Visit:
    """One request's session and signed-in principal (None: signed out)."""

    session: Session
    principal: Principal | None
    fresh: bool  # the session was made for this request: its cookie must be set

    def can(self, permission: Permission) -> bool:
        return self.principal is not None and allowed(permission, self.principal.role)


def _api(request: Request) -> ApiState:
    state: ApiState = request.app.state.mql
    return state


class Refused(Exception):
    """A route stops here: `response` is its page (an error page or a redirect)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def refused(request: Request, exc: Exception) -> Response:
    """The exception handler of `Refused` (installed by `mql.web.app`): its page."""
    assert isinstance(exc, Refused)
    return exc.response


async def _visit(request: Request) -> Visit:
    sessions: Sessions = request.app.state.web_sessions
    session = sessions.load(request.cookies.get(COOKIE))
    if session is None:
        return Visit(Session.fresh(), None, True)
    principal = None
    if session.key_id is not None:
        principal = await run_in_threadpool(principal_by_id, _api(request).engine,
                                            session.key_id)
    return Visit(session, principal, False)


Visited = Annotated[Visit, Depends(_visit)]


async def _signed_in(request: Request, visit: Visited) -> Visit:
    """The visit of a signed-in user; a visitor is sent to sign in (a page) or answered
    401 (a post)."""
    if visit.principal is None:
        raise Refused(_to_signin(request) if request.method == "GET" else
                      _error(request, visit, 401, "sign in first"))
    return visit


SignedIn = Annotated[Visit, Depends(_signed_in)]


def _with_cookie(request: Request, response: Response, session: Session) -> Response:
    sessions: Sessions = request.app.state.web_sessions
    response.set_cookie(COOKIE, sessions.dump(session), max_age=MAX_AGE, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path="/")
    return response


def _page(request: Request, visit: Visit, template: str, status: int = 200,
          **context: Any) -> Response:
    common = {"request": request, "visit": visit, "me": visit.principal,
              "csrf": visit.session.csrf, "can": visit.can}
    try:
        html = TEMPLATES.get_template(template).render(**common, **context)
    except Exception as exc:  # a page that cannot render is a 500 page, not a traceback
        _log.error("cannot render %s", template, exc_info=exc)
        status = 500
        html = TEMPLATES.get_template("error.html").render(
            **common, title="Error", message=f"internal error ({type(exc).__name__}); the "
            "server log has the details")
    response = HTMLResponse(html, status_code=status)
    return _with_cookie(request, response, visit.session) if visit.fresh else response


def _error(request: Request, visit: Visit, status: int, message: str) -> Response:
    titles = {400: "Not understood", 401: "Not signed in", 403: "Not allowed",
              404: "Not found", 409: "Not possible now", 413: "Too large",
              422: "Not valid", 503: "Unavailable"}
    return _page(request, visit, "error.html", status, title=titles.get(status, "Error"),
                 message=message)


def _to_signin(request: Request) -> Response:
    return RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)


def _local(target: str | None, default: str) -> str:
    """`target` when it is a path of this site (no open redirect), else `default`."""
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return default


async def _form(request: Request) -> dict[str, str] | None:
    """The posted form's fields (the first value of each), or None when the body is too
    large or not a form."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            return None
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        return None if body else {}
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return None
    return {k: v[0] for k, v in fields.items()}


async def _posted(request: Request, visit: Visited) -> dict[str, str]:
    """The form of a post whose CSRF field is the session's token (else the 400 or 403
    page). A route takes it after `SignedIn`: a visitor's post is a 401 first."""
    form = await _form(request)
    if form is None:
        raise Refused(_error(request, visit, 400, "the form is not a form this site sends "
                             "(too large, or not application/x-www-form-urlencoded)"))
    if visit.fresh or not visit.session.csrf_ok(form.get("csrf")):
        raise Refused(_error(request, visit, 403, "this form's security token is missing or "
                             "out of date (a form from another site, or an old page): "
                             "reload the page and send it again"))
    return form


Posted = Annotated[dict[str, str], Depends(_posted)]


def _deny(request: Request, visit: Visit, permission: Permission) -> None:
    """The 403 page when the signed-in role lacks `permission`."""
    assert visit.principal is not None
    if not allowed(permission, visit.principal.role):
        raise Refused(_error(request, visit, 403, refusal(permission, visit.principal)))


async def _run(request: Request, visit: Visit, call: Any, *args: Any, **kwargs: Any) -> Any:
    """`call(*args, **kwargs)` in the thread pool; an `MQLError` is its error page."""
    try:
        return await run_in_threadpool(call, *args, **kwargs)
    except MQLError as exc:
        raise Refused(_error(request, visit, status_for(exc), str(exc))) from exc
    except Exception as exc:  # no traceback reaches a page
        _log.error("unexpected error on %s", request.url.path, exc_info=exc)
        raise Refused(_error(request, visit, 500, f"internal error "
                             f"({type(exc).__name__}); the server log has the details")
                      ) from exc


# --- sign-in and sign-out -------------------------------------------------------------


@router.get("/")
async def home(visit: Visited) -> Response:
    """The sign-in page for a visitor; once signed in, the funnel for marketing and the
    queue for everyone else."""
    if visit.principal is None:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse("/funnel" if visit.principal.role == "marketing" else "/queue",
                            status_code=303)


@router.get("/signin")
async def signin_form(request: Request, visit: Visited, next: str | None = None) -> Response:
    return _page(request, visit, "signin.html", next=_local(next, "/"), problem=None)


@router.post("/signin")
async def signin(request: Request, visit: Visited, form: Posted) -> Response:
    token = form.get("token", "").strip()
    target = _local(form.get("next"), "/")
    state = _api(request)
    found = await _run(request, visit, authenticate, state.engine, token,
                       server_secret=state.settings.secret_key)
    if found is None or found.kind != "token":
        problem = ("that is a write key: write keys only send events; sign in with an API "
                   "token (`mql keys create --kind token --role sales ...`)"
                   if found is not None else
                   "unknown, wrong or revoked token; `mql keys list` shows the live keys")
        return _page(request, visit, "signin.html", 401, next=target, problem=problem)
    signed_in = Session.fresh(found.key_id)  # a new CSRF token once signed in
    return _with_cookie(request, RedirectResponse(target, status_code=303), signed_in)


@router.post("/signout")
async def signout(request: Request, _: Posted) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    return _with_cookie(request, response, Session.fresh())


# --- the sales queue and its actions ---------------------------------------------------


async def _reject_reasons(request: Request) -> tuple[str, ...]:
    try:
        found = await _run(request, Visit(Session.fresh(), None, False),
                           pages.reject_reasons, _api(request).engine)
    except Refused:
        return ()
    return tuple(found)


@router.get("/queue")
async def queue(request: Request, visit: SignedIn, notice: str | None = None) -> Response:
    assert visit.principal is not None
    state = _api(request)
    found = await _run(request, visit, pages.sales_queue, state.engine,
                       at=state.clock.now(), scope=visit.principal.scope)
    mqas = await _run(request, visit, pages.mqa_queue, state.engine,
                      at=state.clock.now(), scope=visit.principal.scope)
    return _page(request, visit, "queue.html", items=found.items, more=found.more,
                 mqas=mqas, notice=notice,
                 reasons=await _reject_reasons(request))


_ACTIONS = ("accept", "reject", "convert", "reassign")


@router.post("/leads/{email}/{action}")
async def act(request: Request, email: str, action: str, visit: SignedIn,
              form: Posted) -> Response:
    """Accept, reject (with a reason), convert or reassign a lead: the API's sales
    actions with the signed-in token's scope, written to the audit log."""
    if action not in _ACTIONS:
        return _error(request, visit, 404, f"no action {action!r}; one of "
                      + ", ".join(_ACTIONS))
    _deny(request, visit, "sales.act")
    key, state = visit.principal, _api(request)
    assert key is not None
    common: dict[str, Any] = {"actor": key.actor, "now": state.clock.now(),
                              "identity": state.settings.identity_rules(), "scope": key.scope}
    if action == "accept":
        done = await _run(request, visit, sales_actions.accept, state.engine, email,
                          **common)
    elif action == "reject":
        done = await _run(request, visit, sales_actions.reject, state.engine, email,
                          reason=form.get("reason", ""), **common)
    elif action == "convert":
        done = await _run(request, visit, sales_actions.convert, state.engine, email,
                          reason=form.get("reason") or None, **common)
    else:
        done = await _run(request, visit, sales_actions.reassign, state.engine, email,
                          owner=form.get("owner", "").strip(), **common)
    if action == "reassign":
        notice = f"{email}: reassigned to {done.owner}"
    else:
        notice = (f"{email}: {done.source or '-'} → {done.target}"
                  + (f" ({done.reason})" if done.reason else ""))
    if request.headers.get("hx-request") == "true":
        return _page(request, visit, "_done.html", email=email, notice=notice)
    target = _local(form.get("next"), "/queue")
    joiner = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{joiner}notice={quote(notice)}", status_code=303)


# --- a lead and an account -------------------------------------------------------------


@router.get("/leads/{lead}")
async def lead_page(request: Request, lead: str, visit: SignedIn,
                    notice: str | None = None) -> Response:
    assert visit.principal is not None
    state = _api(request)
    view = await _run(request, visit, pages.lead_view, state.engine, lead,
                      at=state.clock.now(), rules=state.settings.identity_rules(),
                      scope=visit.principal.scope)
    chart = {"t": [int(p.as_of.timestamp()) for p in view.points],
             "fit": [round(p.fit, 3) for p in view.points],
             "intent": [round(p.intent, 3) for p in view.points],
             "total": [round(p.total, 3) for p in view.points]}
    return _page(request, visit, "lead.html", view=view, chart=chart, notice=notice,
                 reasons=await _reject_reasons(request))


@router.get("/accounts/{domain}")
async def account_page(request: Request, domain: str, visit: SignedIn) -> Response:
    assert visit.principal is not None
    state = _api(request)
    view = await _run(request, visit, pages.account_view, state.engine, domain,
                      at=state.clock.now(), scope=visit.principal.scope)
    return _page(request, visit, "account.html", page=view)


# --- funnel and KPIs, models, operations -----------------------------------------------

_FUNNEL_REPORTS = (Report.FUNNEL, Report.SLA, Report.COST, Report.REASONS)


def _window(start: str | None, end: str | None) -> Window:
    return Window(None if not start else parse_bound(start, "from"),
                  None if not end else parse_bound(end, "to"))


def _funnel(engine: Any, now: datetime, by: str, start: str | None, end: str | None
            ) -> list[reports.ReportResult]:
    dims = Dimension.parse_many(by)
    window = _window(start, end)
    wanted = [(r, dims if r is not Report.REASONS else None) for r in _FUNNEL_REPORTS]
    return reports.run_reports(engine, wanted, now=now, window=window)


@router.get("/funnel")
async def funnel(request: Request, visit: SignedIn, by: str = "month",
                 start: str | None = None, end: str | None = None) -> Response:
    """The funnel by cohort, SLA attainment, cost per MQL and rejection reasons: the
    reports of `mql report` (docs/analytics.md), with their filters."""
    _deny(request, visit, "read")
    state = _api(request)
    if by not in {d.value for d in Dimension}:
        return _error(request, visit, 400, "by must be one of "
                      + ", ".join(d.value for d in Dimension))
    found = await _run(request, visit, _funnel, state.engine, state.clock.now(), by, start,
                       end)
    funnel_report = found[0]
    label = funnel_report.by[0] if funnel_report.by else by
    chart = {"labels": [str(r.get(label)) for r in funnel_report.rows],
             "mqls": [r.get("mqls") for r in funnel_report.rows],
             "sqls": [r.get("sqls") for r in funnel_report.rows]}
    return _page(request, visit, "funnel.html", results=found, by=by, start=start or "",
                 end=end or "", dimensions=[d.value for d in Dimension], chart=chart)


@router.get("/nurture")
async def nurture_page(request: Request, visit: SignedIn, at: str | None = None) -> Response:
    """The nurture tracks and whether they convert: `mql report nurture`
    (docs/nurture.md), as of now or of `at`."""
    from mql.service.nurture import nurture_report

    _deny(request, visit, "read")
    state = _api(request)
    try:
        moment = state.clock.now() if not at else parse_bound(at, "at")
    except MQLError as exc:
        return _error(request, visit, 400, str(exc))
    found = await _run(request, visit, nurture_report, state.engine, at=moment)
    return _page(request, visit, "nurture.html", result=found, at=at or "")


@router.get("/models")
async def models(request: Request, visit: SignedIn, notice: str | None = None) -> Response:
    """The stored versions, the live one, and each other's changes in words."""
    return await _models_page(request, visit, notice=notice)


@router.get("/models/calibration")
async def calibration(request: Request, visit: SignedIn, outcome: str = "sql") -> Response:
    """The live model's threshold calibrated on outcomes (`mql calibrate`): the
    conversion curve as a chart and a table, the recommended threshold and its notes."""
    if outcome not in OUTCOME_KINDS:
        return _error(request, visit, 400, f"outcome {outcome!r}: choose one of "
                      f"{', '.join(OUTCOME_KINDS)}")
    state = _api(request)
    run = await _run(request, visit, run_calibration, state.engine, now=state.clock.now(),
                     outcome=outcome)
    found = run.to_json()
    curve = [p for p in found["curve"] if p is not None]
    chart = {"threshold": [p["threshold"] for p in curve],
             "rate": [p["rate_above"] for p in curve],
             "fitted": [p["fitted"] for p in curve]}
    return _page(request, visit, "calibration.html", run=found, curve=curve, chart=chart,
                 outcome=outcome, outcomes=OUTCOME_KINDS)


@router.get("/models/{version_id}/backtest")
async def backtest(request: Request, version_id: int, visit: SignedIn) -> Response:
    """A stored version replayed over the last 12 months against the live model
    (`mql backtest`, `GET /v1/reports/backtest`): MQLs per week of both as a chart, and
    their rates, deciles and the people who would qualify or drop out."""
    state = _api(request)
    run = await _run(request, visit, backtest_version, state.engine, version_id,
                     now=state.clock.now())
    found = run.to_json()
    ours, live = found["summary"]["candidate"], found["summary"]["against"]
    weeks = sorted(set(ours["weekly"]) | set(live["weekly"]))
    chart = {"labels": weeks, "candidate": [ours["weekly"].get(w, 0) for w in weeks],
             "live": [live["weekly"].get(w, 0) for w in weeks]}
    return _page(request, visit, "backtest.html", run=found, ours=ours, live=live,
                 chart=chart, version_id=version_id)


async def _models_page(request: Request, visit: Visit, **context: Any) -> Response:
    rows = await _run(request, visit, pages.model_page, _api(request).engine)
    return _page(request, visit, "models.html", rows=rows, **context)


@router.post("/models/{version_id}/{action}")
async def model_action(request: Request, version_id: int, action: str, visit: SignedIn,
                       form: Posted) -> Response:
    """Dry-run a stored version (admin, marketing) or activate it (admin, with the
    confirmation box ticked): `POST /v1/models/{id}/activate`'s service function."""
    if action not in ("dry-run", "activate"):
        return _error(request, visit, 404, f"no action {action!r}; dry-run or activate")
    _deny(request, visit, "models.check" if action == "dry-run" else "models.activate")
    if action == "activate" and form.get("confirm") != "yes":
        return _error(request, visit, 400, "activating a model re-decides every lead; tick "
                      "the confirmation box to activate it")
    assert visit.principal is not None
    state = _api(request)
    version, activation = await _run(request, visit, activate_version, state.engine,
                                     version_id, actor=visit.principal.actor,
                                     now=state.clock.now(), dry_run=action == "dry-run")
    if action == "dry-run":
        return await _models_page(request, visit, dry_run=activation, dry_version=version)
    notice = (f"{version.name} {version.version} is live: {len(activation.newly_qualified)} "
              f"newly qualified, {len(activation.no_longer_qualified)} no longer, "
              f"{activation.transitions} transitions")
    return RedirectResponse(f"/models?notice={quote(notice)}", status_code=303)


@router.get("/operations")
async def operations(request: Request, visit: SignedIn, notice: str | None = None
                     ) -> Response:
    state = _api(request)
    waiting = await state.writer.pending()
    lag = 0.0 if waiting.oldest is None else max(
        0.0, (state.clock.now() - waiting.oldest).total_seconds())
    rows = await _run(request, visit, store_service.quarantined, state.engine,
                      status="open", limit=100)
    dead = await _run(request, visit, deliveries, state.engine, status="dead")
    hooks: list[Any] = []
    if visit.can("keys"):  # subscriptions are the admins' (as GET /v1/webhooks)
        hooks = await _run(request, visit, webhooks.list_webhooks, state.engine,
                           now=state.clock.now())
    return _page(request, visit, "operations.html", quarantine=rows, dead=dead[-100:],
                 pending=waiting.count, lag=lag, webhooks=hooks, notice=notice)


@router.post("/operations/quarantine/{row_id}/{action}")
async def quarantine_action(request: Request, row_id: int, action: str, visit: SignedIn,
                            form: Posted) -> Response:
    """Dismiss or retry one quarantined row (admins), as `mql quarantine`."""
    _deny(request, visit, "quarantine.retry")
    assert visit.principal is not None
    state = _api(request)
    if action == "dismiss":
        count = await _run(request, visit, store_service.dismiss_quarantined, state.engine,
                           ids=[row_id], now=state.clock.now(),
                           note=f"dismissed on the web by {visit.principal.actor}")
        done = f"row {row_id} dismissed" if count else f"row {row_id} was not open"
    elif action == "retry":
        result = await _run(request, visit, retry_quarantine, state.engine, [row_id],
                            actor=visit.principal.actor, now=state.clock.now(),
                            rules=state.settings.identity_rules())
        done = (f"row {row_id} loaded" if result.loaded else
                f"row {row_id} still fails: " + "; ".join(r for _, r in result.failed))
    else:
        return _error(request, visit, 404, f"no action {action!r}; dismiss or retry")
    return RedirectResponse(f"/operations?notice={quote(str(done))}", status_code=303)
