"""Every endpoint x every role: 401 without a key, 403 with the wrong role (with a message
naming the role needed), anything else with the right one. Written out by hand, not derived
from `mql.api.auth`, so a change of the table shows up here."""

from __future__ import annotations

import uuid
from importlib.resources import files
from typing import Any

import pytest

from tests.api.conftest import ROLES, Server

READERS = {"admin", "marketing", "sales", "read-only"}
MODEL = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()


def _track() -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "userId": "matrix@acme.example", "event": "Demo",
            "timestamp": "2026-03-01T09:00:00Z"}


# method, path, body, roles allowed
ENDPOINTS: list[tuple[str, str, Any, set[str]]] = [
    ("POST", "/v1/identify", _track, {"writer"}),
    ("POST", "/v1/track", _track, {"writer"}),
    ("POST", "/v1/page", _track, {"writer"}),
    ("POST", "/v1/screen", _track, {"writer"}),
    ("POST", "/v1/group", _track, {"writer"}),
    ("POST", "/v1/alias", _track, {"writer"}),
    ("POST", "/v1/batch", lambda: {"batch": [{"type": "track", **_track()}]}, {"writer"}),
    ("POST", "/v1/import", lambda: {"batch": [{"type": "track", **_track()}]}, {"writer"}),
    ("GET", "/v1/leads", None, READERS),
    # (a lead nobody reaches is the reach's refusal, not the role's: test_leads_and_models)
    ("GET", "/v1/leads/nobody@acme.example", None, READERS),
    ("GET", "/v1/leads/nobody@acme.example/history", None, READERS),
    ("GET", "/v1/leads/nobody@acme.example/scores", None, READERS),
    ("POST", "/v1/leads/nobody@acme.example/accept", None, {"admin", "sales"}),
    ("POST", "/v1/leads/nobody@acme.example/reject", lambda: {"reason": "no_budget"},
     {"admin", "sales"}),
    ("POST", "/v1/leads/nobody@acme.example/convert", lambda: {}, {"admin", "sales"}),
    ("POST", "/v1/leads/nobody@acme.example/reassign", lambda: {"owner": "x"},
     {"admin", "sales"}),
    ("GET", "/v1/accounts/acme.example", None, READERS),
    ("GET", "/v1/accounts?coverage=incomplete", None, READERS),
    ("GET", "/v1/reports/funnel", None, READERS),
    ("GET", "/v1/reports/review?size=2", None, READERS),
    ("GET", "/v1/reports/calibration", None, READERS),
    ("GET", "/v1/reports/backtest?version=1", None, READERS),
    ("GET", "/v1/inbox", None, READERS),
    ("GET", "/v1/deliveries", None, READERS),
    ("POST", "/v1/deliveries/retry", lambda: {"ids": []}, {"admin"}),
    ("GET", "/v1/models", None, READERS),
    ("POST", "/v1/models/check", lambda: {"text": MODEL}, {"admin", "marketing"}),
    ("POST", "/v1/models", lambda: {"text": MODEL}, {"admin", "marketing"}),
    ("POST", "/v1/models/1/activate", None, {"admin"}),
    ("GET", "/v1/keys", None, {"admin"}),
    ("POST", "/v1/keys", lambda: {"kind": "token", "name": "x", "role": "read-only"},
     {"admin"}),
    ("DELETE", "/v1/keys/000000000000", None, {"admin"}),
    ("GET", "/v1/quarantine", None, READERS),
    ("POST", "/v1/quarantine/retry", lambda: {"ids": []}, {"admin"}),
    ("GET", "/v1/webhooks", None, {"admin"}),
    ("POST", "/v1/webhooks", lambda: {"url": "not-a-url", "secret": "s"}, {"admin"}),
    ("PATCH", "/v1/webhooks/999999", lambda: {"topics": ["*"]}, {"admin"}),
    ("POST", "/v1/webhooks/999999/pause", None, {"admin"}),
    ("POST", "/v1/webhooks/999999/rotate-secret", lambda: {"secret": "x"}, {"admin"}),
    ("DELETE", "/v1/webhooks/999999", None, {"admin"}),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_each_endpoint_answers_each_role_as_the_table_says(
        server: Server, method: str, path: str, body: Any, allowed: set[str]) -> None:
    payload = body() if body is not None else None
    with server.client() as c:
        anonymous = c.request(method, path, json=payload)
    assert anonymous.status_code == 401, anonymous.text
    assert "mql keys create" in anonymous.json()["detail"]
    for role in ROLES:
        with server.client(role) as c:
            answer = c.request(method, path, json=body() if body is not None else None)
        if role in allowed:
            assert answer.status_code not in (401, 403), (role, answer.text)
            assert answer.status_code < 500, (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)
            assert f"role {role!r}" in answer.json()["detail"]


def test_the_openapi_document_and_health_need_no_key(server: Server) -> None:
    with server.client() as c:
        assert c.get("/health").json() == {"ok": True}
        assert c.get("/openapi.json").status_code == 200
