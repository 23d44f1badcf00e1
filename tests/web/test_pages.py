"""The web pages over HTTP (no browser): sign-in with a token, the signed session cookie,
CSRF on every form, a seller's reach, and user errors as pages, never tracebacks."""

from __future__ import annotations

from pathlib import Path

import httpx
import sqlalchemy as sa

from mql.identity.merge import IdentityRules
from mql.service.ingest import ingest_file
from mql.service.store import quarantined
from mql.store.db import connect
from mql.store.tables import audit_log, contacts
from tests.api.conftest import T0
from tests.web.conftest import MINE, THEIRS, Site, csrf_of


def _stage(site: Site, email: str) -> str | None:
    engine = connect(site.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(contacts.c.lifecycle_stage)
                                .where(contacts.c.email == email)).scalar_one()
    finally:
        engine.dispose()


def test_home_sends_a_stranger_to_the_sign_in_form_with_a_csrf_token(site: Site) -> None:
    with httpx.Client(base_url=site.url) as c:
        home = c.get("/")
        form = c.get("/signin")
    assert home.status_code == 303 and home.headers["location"] == "/signin"
    assert form.status_code == 200 and 'name="token"' in form.text
    assert len(csrf_of(form.text)) >= 20
    cookie = form.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "mql_session=" in cookie


def test_a_signed_in_seller_lands_on_the_queue(site: Site) -> None:
    with site.signed_in("sales") as c:
        home = c.get("/")
        queue = c.get("/queue")
    assert home.status_code == 303 and home.headers["location"] == "/queue"
    assert queue.status_code == 200 and "Sales queue" in queue.text


def test_a_wrong_token_or_a_write_key_is_refused_with_a_page(site: Site) -> None:
    with httpx.Client(base_url=site.url) as c:
        csrf = csrf_of(c.get("/signin").text)
        wrong = c.post("/signin", data={"token": "mql_tok_nope_secret", "csrf": csrf})
        writer = c.post("/signin", data={"token": site.keys["writer"], "csrf": csrf})
        queue = c.get("/queue")
    assert wrong.status_code == 401 and "unknown, wrong or revoked" in wrong.text
    assert writer.status_code == 401 and "write key" in writer.text
    assert "Traceback" not in wrong.text + writer.text
    assert queue.status_code == 303 and queue.headers["location"].startswith("/signin")


def test_a_sign_in_without_the_csrf_token_is_refused(site: Site) -> None:
    with httpx.Client(base_url=site.url) as c:
        c.get("/signin")
        forged = c.post("/signin", data={"token": site.keys["admin"]})
        queue = c.get("/queue")
    assert forged.status_code == 403 and "security token" in forged.text
    assert queue.status_code == 303  # not signed in


def test_a_forged_sales_action_is_refused_and_changes_nothing(site: Site) -> None:
    target = MINE[2]
    with site.signed_in("sales") as c:
        no_token = c.post(f"/leads/{target}/accept", data={})
        wrong = c.post(f"/leads/{target}/accept", data={"csrf": "x" * 32})
    with httpx.Client(base_url=site.url) as stranger:  # a cross-site form: no cookie
        anonymous = stranger.post(f"/leads/{target}/accept", data={"csrf": "x"})
    assert no_token.status_code == wrong.status_code == 403
    assert anonymous.status_code == 401
    assert "text/html" in no_token.headers["content-type"]
    assert _stage(site, target) == "mql"


def test_a_seller_sees_their_teams_leads_only_and_cannot_open_another_teams(
        site: Site) -> None:
    with site.signed_in("sales") as c:
        queue = c.get("/queue").text
        theirs = c.get(f"/leads/{THEIRS}")
        mine = c.get(f"/leads/{MINE[0]}")
    assert all(email in queue for email in MINE) and THEIRS not in queue
    assert theirs.status_code == 403 and "owned by" in theirs.text
    assert mine.status_code == 200
    with site.signed_in("other-sales") as c:  # the emea seller: the other way round
        queue = c.get("/queue").text
    assert THEIRS in queue and not any(email in queue for email in MINE)


def test_an_action_through_the_page_is_the_apis_action_with_its_audit_line(
        site: Site) -> None:
    target = MINE[1]
    with site.signed_in("admin") as c:
        page = c.get(f"/leads/{target}")
        done = c.post(f"/leads/{target}/reassign",
                      data={"csrf": csrf_of(page.text), "owner": "li.wei",
                            "next": f"/leads/{target}"})
        unknown = c.post(f"/leads/{target}/reassign",
                         data={"csrf": csrf_of(page.text), "owner": "nobody.here"})
    assert done.status_code == 303 and done.headers["location"].startswith(f"/leads/{target}")
    assert unknown.status_code == 404 and "no such seller" in unknown.text
    engine = connect(site.database_url)
    try:
        with engine.connect() as conn:
            lines = conn.execute(sa.select(audit_log.c.actor, audit_log.c.action,
                                           audit_log.c.subject)).all()
    finally:
        engine.dispose()
    assert any(a == "lead.reassign" and target in (s or "") for _, a, s in lines), lines


def test_unknown_leads_and_accounts_are_404_pages(site: Site) -> None:
    with site.signed_in("admin") as c:
        lead = c.get("/leads/nobody@nowhere.example")
        account = c.get("/accounts/nowhere.example")
    assert lead.status_code == 404 and account.status_code == 404
    assert "Traceback" not in lead.text and "<html" in account.text


def test_marketing_reads_the_funnel_models_and_operations(site: Site) -> None:
    with site.signed_in("marketing") as c:
        funnel = c.get("/funnel", params={"by": "month"})
        bad = c.get("/funnel", params={"by": "colour"})
        models = c.get("/models")
        ops = c.get("/operations")
    assert funnel.status_code == 200 and "Funnel by cohort" in funnel.text
    assert "0.0%" in funnel.text  # rates are shares, shown as percentages
    assert bad.status_code == 400 and "by must be one of" in bad.text
    assert models.status_code == 200 and "live" in models.text
    assert ops.status_code == 200 and "Quarantine" in ops.text


def test_the_pages_are_not_in_the_openapi_document(site: Site) -> None:
    paths = httpx.get(f"{site.url}/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith(("/v1", "/health"))]


def test_an_admin_dismisses_a_quarantined_row_from_the_operations_page(
        site: Site, tmp_path: Path) -> None:
    rows = tmp_path / "contacts.csv"
    rows.write_text("email,title\nzed@ops.example,CTO\nnot-an-email,CTO\n")
    engine = connect(site.database_url)
    try:
        summary = ingest_file(engine, rows, "contacts", rules=IdentityRules(), now=T0)
        [held] = quarantined(engine, status="open", source=summary.source)
    finally:
        engine.dispose()
    with site.signed_in("sales") as c:
        page = c.get("/operations")
        refused = c.post(f"/operations/quarantine/{held.id}/dismiss",
                         data={"csrf": csrf_of(page.text)})
    assert page.status_code == 200 and "not-an-email" in page.text
    assert refused.status_code == 403 and "admin" in refused.text
    with site.signed_in("admin") as c:
        page = c.get("/operations")
        done = c.post(f"/operations/quarantine/{held.id}/dismiss",
                      data={"csrf": csrf_of(page.text)})
        after = c.get("/operations").text
    assert done.status_code == 303 and "dismissed" in done.headers["location"]
    assert "not-an-email" not in after


def test_an_admin_retries_quarantined_rows_from_the_operations_page(
        site: Site, tmp_path: Path) -> None:
    # held at T0: an event dated three days ahead (beyond the 24 hours of clock skew
    # allowed) and one whose email cannot be read; the server's clock is today's, long
    # after the first event's date, so a retry loads it and the other still fails
    rows = tmp_path / "events.csv"
    rows.write_text("event_id,type,timestamp,email\n"
                    "ahead-1,demo_request,2026-03-05T10:00:00Z,ahead@ops.example\n"
                    "broken-1,demo_request,2026-03-01T10:00:00Z,not-an-email\n")
    engine = connect(site.database_url)
    try:
        summary = ingest_file(engine, rows, "events", rules=IdentityRules(), now=T0)
        held = {q.row: q for q in quarantined(engine, status="open", source=summary.source)}
    finally:
        engine.dispose()
    ahead, broken = held[2], held[3]  # rows numbered as in the file, the header first
    assert ahead.field == "timestamp" and "3 days after it was received" in ahead.reason
    with site.signed_in("marketing") as c:
        page = c.get("/operations")
        refused = c.post(f"/operations/quarantine/{ahead.id}/retry",
                         data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 403 and "admin" in refused.text
    with site.signed_in("admin") as c:
        page = c.get("/operations")
        forged = c.post(f"/operations/quarantine/{ahead.id}/retry", data={"csrf": "forged"})
        loaded = c.post(f"/operations/quarantine/{ahead.id}/retry",
                        data={"csrf": csrf_of(page.text)}, follow_redirects=True)
        failed = c.post(f"/operations/quarantine/{broken.id}/retry",
                        data={"csrf": csrf_of(page.text)}, follow_redirects=True)
    assert forged.status_code == 403
    assert loaded.status_code == 200 and f"row {ahead.id} loaded" in loaded.text
    assert failed.status_code == 200 and f"row {broken.id} still fails" in failed.text
    assert "not-an-email" in failed.text and "Traceback" not in failed.text
    assert "ahead@ops.example" not in failed.text  # loaded: no longer in the quarantine
    engine = connect(site.database_url)
    try:
        still = {q.id for q in quarantined(engine, status="open", source=summary.source)}
        with engine.connect() as conn:
            landed = conn.execute(sa.select(contacts.c.email).where(
                contacts.c.email == "ahead@ops.example")).scalar_one_or_none()
            audit = conn.execute(sa.select(audit_log.c.actor, audit_log.c.detail).where(
                audit_log.c.action == "quarantine.retry")).all()
    finally:
        engine.dispose()
    assert still == {broken.id} and landed == "ahead@ops.example"
    assert [(d["ids"], d["loaded"]) for _, d in audit] == [([ahead.id], [ahead.id]),
                                                          ([broken.id], [])]
    assert all(actor == audit[0][0] and actor for actor, _ in audit)
