"""Reads, sales actions and model versions through a real server: a lead by email or id with
its explanation, pages that walk every lead once, accept/reject/convert/reassign with the
audit log, and model uploads validated with line-numbered errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

import pytest

from mql.service.keys import audit_lines
from mql.store.db import connect
from tests.api.conftest import Server

MODEL = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()


def _at(minutes_ago: int = 0) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


def _message(kind: str, email: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "messageId": str(uuid.uuid4()), "userId": email,
            "timestamp": _at(5), **fields}


def _hand_raiser(server: Server, email: str) -> None:
    """A US VP at a large software account who asks for a demo: an MQL by fast track."""
    domain = email.rsplit("@", 1)[1]
    batch = [
        _message("identify", email, traits={"email": email, "title": "VP Marketing",
                                            "department": "marketing", "country": "US"}),
        _message("group", email, groupId=domain, traits={
            "website": domain, "employees": 3000, "industry": "software", "country": "US",
            "region": "NA"}),
        _message("track", email, event="Demo Request"),
    ]
    with server.client("writer") as c:
        answer = c.post("/v1/batch", json={"batch": batch})
    assert answer.status_code == 200 and answer.json()["rejected"] == [], answer.text
    server.applied()


def _audit(server: Server) -> list[str]:
    engine = connect(server.database_url)
    try:
        return [line["action"] for line in audit_lines(engine)]
    finally:
        engine.dispose()


def test_a_lead_reads_by_email_and_by_id_with_decision_and_explanation(
        server: Server) -> None:
    _hand_raiser(server, "jane@acme.example")
    with server.client("read-only") as c:
        by_email = c.get("/v1/leads/jane@acme.example")
        assert by_email.status_code == 200, by_email.text
        lead = by_email.json()
        by_id = c.get(f"/v1/leads/{lead['id']}").json()
        missing = c.get("/v1/leads/nobody@nowhere.example")
    assert lead["decision"]["mql"] is True
    assert lead["stage"] == "mql" and lead["owner"]
    assert lead["sla"]["status"] == "open" and lead["sla"]["sla_due_at"]
    assert lead["decision"]["reasons"] and lead["rules"]
    assert by_id["email"] == "jane@acme.example"
    assert missing.status_code == 404
    assert "nobody@nowhere.example" in missing.json()["detail"]


def test_an_account_reads_with_its_contacts_open_mqls_and_engagement(server: Server) -> None:
    _hand_raiser(server, "ann@initrode.example")
    _hand_raiser(server, "ben@initrode.example")
    with server.client("sales") as c:
        account = c.get("/v1/accounts/initrode.example")
        missing = c.get("/v1/accounts/nowhere.example")
        dead = c.get("/v1/deliveries", params={"status": "dead"})
    assert account.status_code == 200, account.text
    body = account.json()
    assert {d["contact"] for d in body["contacts"]} == {"ann@initrode.example",
                                                         "ben@initrode.example"}
    assert body["open_mqls"] == 2 and body["engagement"] > 0
    assert body["attributes"]["employees"] == 3000
    assert missing.status_code == 404 and "web domain" in missing.json()["detail"]
    assert dead.status_code == 200 and dead.json() == []


def test_pages_walk_every_lead_once_and_filters_apply(server: Server) -> None:
    for n in range(3):
        _hand_raiser(server, f"p{n}@pages{n}.example")
    seen: list[str] = []
    cursor: str | None = None
    with server.client("marketing") as c:
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = c.get("/v1/leads", params=params).json()
            seen += [d["contact"] for d in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        everyone = c.get("/v1/leads", params={"limit": 500}).json()["items"]
        mqls = c.get("/v1/leads", params={"mql": True, "limit": 500}).json()["items"]
        bad = c.get("/v1/leads", params={"cursor": "not-a-cursor"})
    assert len(seen) == len(set(seen)) == len(everyone)
    assert {f"p{n}@pages{n}.example" for n in range(3)} <= {d["contact"] for d in mqls}
    assert all(d["mql"] for d in mqls)
    assert bad.status_code == 400 and "next_cursor" in bad.json()["detail"]


def test_sales_reassigns_accepts_and_converts_and_each_action_is_audited(
        server: Server) -> None:
    _hand_raiser(server, "sam@sales.example")
    with server.client("sales") as c:
        # the seller takes the lead of their team: from then on it is theirs
        moved = c.post("/v1/leads/sam@sales.example/reassign", json={"owner": "sales-person"})
        accepted = c.post("/v1/leads/sam@sales.example/accept")
        again = c.post("/v1/leads/sam@sales.example/accept")
        converted = c.post("/v1/leads/sam@sales.example/convert", json={})
        unknown = c.post("/v1/leads/nobody@sales.example/accept")
        history = c.get("/v1/leads/sam@sales.example/history").json()
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["source"], accepted.json()["target"]) == ("mql", "sal")
    assert "sales-person" in accepted.json()["actor"]
    assert again.status_code == 409
    assert converted.status_code == 200 and converted.json()["target"] == "sql"
    assert moved.status_code == 200, moved.text
    assert moved.json()["owner"] == "sales-person"
    assert unknown.status_code == 404
    assert [h["target"] for h in history] == ["mql", "sal", "sql"]
    assert {"lead.accept", "lead.convert", "lead.reassign"} <= set(_audit(server))


def test_sales_rejects_with_a_reason_of_the_model(server: Server) -> None:
    _hand_raiser(server, "rex@reject.example")
    with server.client("sales") as c:
        wrong = c.post("/v1/leads/rex@reject.example/reject", json={"reason": "meh"})
        done = c.post("/v1/leads/rex@reject.example/reject", json={"reason": "no_budget"})
    assert wrong.status_code == 409, wrong.text  # a refused move (docs/api.md)
    assert "no_budget" in wrong.json()["detail"]
    assert done.status_code == 200, done.text
    assert done.json()["reason"] == "no_budget"


def test_a_bad_model_is_refused_with_every_problem_located(server: Server) -> None:
    broken = MODEL.replace("points:", "points: ten #", 1)
    with server.client("marketing") as c:
        answer = c.post("/v1/models/check", json={"text": broken, "source": "candidate.yaml"})
        stored = c.post("/v1/models", json={"text": broken, "source": "candidate.yaml"})
    assert answer.status_code == stored.status_code == 422
    problems = answer.json()["problems"]
    assert problems and all(p.startswith("candidate.yaml:") for p in problems)


def test_a_model_is_uploaded_listed_and_activated_by_an_admin(server: Server) -> None:
    text = MODEL + "\n# a reviewed change\n"
    with server.client("marketing") as c:
        assert c.post("/v1/models/check", json={"text": text}).json()["valid"] is True
        uploaded = c.post("/v1/models", json={"text": text, "source": "v2.yaml"})
    assert uploaded.status_code == 201, uploaded.text
    version = uploaded.json()
    assert version["active"] is False
    with server.client("admin") as c:
        dry = c.post(f"/v1/models/{version['id']}/activate", params={"dry_run": "true"})
        still = c.get("/v1/models").json()
        activated = c.post(f"/v1/models/{version['id']}/activate")
        listed = c.get("/v1/models").json()
        unknown = c.post("/v1/models/99999/activate")
    assert activated.status_code == 200 and activated.json()["version"]["active"] is True
    assert [v["id"] for v in listed if v["active"]] == [version["id"]]
    assert dry.status_code == 200 and dry.json()["dry_run"] is True
    assert version["id"] not in [v["id"] for v in still if v["active"]]
    assert unknown.status_code == 404
    assert {"model.upload", "model.activate"} <= set(_audit(server))


def test_a_seller_acts_only_on_their_own_or_their_teams_open_leads(server: Server) -> None:
    _hand_raiser(server, "uma@scope.example")
    with server.client("admin") as admin:
        other = admin.post("/v1/keys", json={"kind": "token", "name": "kai.emea",
                                             "role": "sales", "team": "emea"}).json()["secret"]
    with server.client() as c:
        refused = c.post("/v1/leads/uma@scope.example/accept",
                         headers={"Authorization": f"Bearer {other}"})
    assert refused.status_code == 403
    assert "team" in refused.json()["detail"] and "reassign" in refused.json()["detail"]
    with server.client("sales") as c:  # team na_enterprise, where the lead was routed
        assert c.post("/v1/leads/uma@scope.example/accept").status_code == 200
    with server.client("admin") as admin:  # admins reach every lead
        assert admin.post("/v1/leads/uma@scope.example/convert", json={}).status_code == 200


# Spec (docs/api.md, roles): a sales token reads the leads it reaches, as it acts on them
# and as the web pages show them: its own and its team's open leads; another seller's
# lead answers 403 in the one error shape, naming the owner; admin and marketing read all.
def test_a_seller_reads_only_the_leads_it_reaches(server: Server) -> None:
    _hand_raiser(server, "ola@reads.example")  # routed to na_enterprise, the sales key's team
    with server.client("admin") as admin:
        other = admin.post("/v1/keys", json={"kind": "token", "name": "rhea.emea",
                                             "role": "sales", "team": "emea"}).json()["secret"]
        lead_id = admin.get("/v1/leads/ola@reads.example").json()["id"]
    paths = ["/v1/leads/ola@reads.example", f"/v1/leads/{lead_id}",
             "/v1/leads/ola@reads.example/scores", "/v1/leads/ola@reads.example/history"]
    with server.client() as c:
        refused = [c.get(p, headers={"Authorization": f"Bearer {other}"}) for p in paths]
        missing = c.get("/v1/leads/nobody@reads.example",
                        headers={"Authorization": f"Bearer {other}"})
    for answer in refused:
        assert answer.status_code == 403, answer.text
        body = answer.json()
        assert body["code"] == "Forbidden" and body["detail"] == body["message"]
        assert "ola@reads.example is owned by" in body["message"]
        assert "(emea) open leads" in body["message"]
    assert missing.status_code == 404
    for role in ("sales", "admin", "marketing", "read-only"):
        with server.client(role) as c:
            assert [c.get(p).status_code for p in paths] == [200] * 4, role
    # the list and the account list the leads a sales token reaches, the others counted
    other_key = {"Authorization": f"Bearer {other}"}
    with server.client() as c:
        listed = c.get("/v1/leads", params={"account": "reads.example"}, headers=other_key)
        seen = c.get("/v1/accounts/reads.example", headers=other_key).json()
    assert listed.json()["items"] == []
    for role in ("sales", "admin"):
        with server.client(role) as c:
            listed = c.get("/v1/leads", params={"account": "reads.example"}).json()
            account = c.get("/v1/accounts/reads.example").json()
        assert [d["contact"] for d in listed["items"]] == ["ola@reads.example"], role
        assert [d["contact"] for d in account["contacts"]] == ["ola@reads.example"], role
        assert account["hidden_contacts"] == 0, role
    assert seen["contacts"] == [] and seen["hidden_contacts"] == 1, seen
    assert seen["open_mqls"] == 0


def test_leads_filter_by_stage_owner_account_and_qualified_since(server: Server) -> None:
    _hand_raiser(server, "fay@filters.example")
    with server.client("read-only") as c:
        mqls = c.get("/v1/leads", params={"stage": "mql", "limit": 500}).json()["items"]
        here = c.get("/v1/leads", params={"account": "filters.example"}).json()["items"]
        since = c.get("/v1/leads", params={"qualified_since": "2000-01-01T00:00:00Z",
                                           "limit": 500}).json()["items"]
        future = c.get("/v1/leads", params={"qualified_since": "2999-01-01T00:00:00Z"})
        nobody = c.get("/v1/leads", params={"owner": "no.such.seller"}).json()["items"]
        lead = c.get("/v1/leads/fay@filters.example").json()
    assert "fay@filters.example" in [d["contact"] for d in mqls]
    assert [d["contact"] for d in here] == ["fay@filters.example"]
    assert "fay@filters.example" in [d["contact"] for d in since]
    assert future.json()["items"] == []
    assert nobody == []
    # a US software company of 3,000 people: na_enterprise's round robin (dana.ross, li.wei)
    owner = lead["owner"]
    assert owner in ("dana.ross", "li.wei"), lead
    with server.client("read-only") as c:
        mine = c.get("/v1/leads", params={"owner": owner, "limit": 500}).json()["items"]
    assert "fay@filters.example" in [d["contact"] for d in mine]


def test_a_lead_has_a_day_by_day_score_history(server: Server) -> None:
    _hand_raiser(server, "hal@history.example")
    with server.client("read-only") as c:
        points = c.get("/v1/leads/hal@history.example/scores", params={"days": 3}).json()
        missing = c.get("/v1/leads/nobody@history.example/scores")
    # midnight UTC of the last three days, then now; the demo came 5 minutes ago
    now = datetime.fromisoformat(points[-1]["as_of"].replace("Z", "+00:00"))
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert [p["as_of"] for p in points[:3]] == [
        (midnight - timedelta(days=k)).strftime("%Y-%m-%dT%H:%M:%SZ") for k in (2, 1, 0)]
    demo_at = now - timedelta(minutes=5)
    for p in points:
        at = datetime.fromisoformat(p["as_of"].replace("Z", "+00:00"))
        assert p["scores"]["fit"] == 90.0  # size 25, software 20, VP 20, marketing 15, US 10
        assert p["mql"] is (at >= demo_at)
    # 40 demo points, decayed over about five minutes (half-life 45 days)
    assert points[-1]["scores"]["intent"] == pytest.approx(40.0, abs=0.01)
    assert points[-1]["grade"] == "A2"
    assert [p["as_of"] for p in points] == sorted(p["as_of"] for p in points)
    assert missing.status_code == 404


def test_an_unknown_stage_filter_is_refused_with_the_stages_it_accepts(server: Server) -> None:
    with server.client("read-only") as c:
        bogus = c.get("/v1/leads", params={"stage": "bogus"})
    assert bogus.status_code == 422  # it answered 200 with no items
    text = bogus.text
    assert "bogus" in text or "stage" in text
    assert "nurture" in text and "mql" in text


def test_a_lead_says_why_in_the_words_of_the_cli(server: Server) -> None:
    _hand_raiser(server, "ida@words.example")
    with server.client("read-only") as c:
        lead = c.get("/v1/leads/ida@words.example").json()
        page = c.get("/v1/leads", params={"account": "words.example"}).json()["items"]
    because = lead["decision"]["because"]
    assert because == page[0]["because"]
    assert "demo request" in because and "ago" in because  # the fast track, in words
