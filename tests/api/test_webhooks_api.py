"""Webhook subscriptions over the HTTP API (admin role): create with checks, list without
secrets, pause, update, rotate with a grace period (both signatures verify), test, remove;
each action in the audit log."""

from __future__ import annotations

import json

from mql.notify.webhooks import verify
from mql.service.keys import audit_lines
from mql.store.db import connect
from tests.api.conftest import Server
from tests.notify.receivers import Receiver


def test_webhooks_are_managed_over_the_api_and_rotation_signs_with_both(server: Server
                                                                         ) -> None:
    r = Receiver()
    try:
        with server.client("admin") as c:
            typo = c.post("/v1/webhooks", json={"url": r.url, "secret": "old",
                                                "topics": ["mql.qualifed"]})
            assert typo.status_code == 400
            assert "did you mean 'mql.qualified'" in typo.text
            bad = c.post("/v1/webhooks", json={"url": "http://[::1/x", "secret": "old"})
            assert bad.status_code == 400
            empty = c.post("/v1/webhooks", json={"url": r.url, "secret": ""})
            assert empty.status_code == 400
            made = c.post("/v1/webhooks", json={"url": r.url, "secret": "old",
                                                "topics": ["mql.qualified"]})
            assert made.status_code == 201, made.text
            hook = made.json()
            assert "secret" not in hook and hook["topics"] == ["mql.qualified"]
            hid = hook["id"]
            listed = c.get("/v1/webhooks").json()
            assert [h["id"] for h in listed if h["id"] == hid] == [hid]
            assert "old" not in json.dumps(listed)
            paused = c.post(f"/v1/webhooks/{hid}/pause").json()
            assert paused["paused"] is True
            assert c.post(f"/v1/webhooks/{hid}/resume").json()["paused"] is False
            updated = c.patch(f"/v1/webhooks/{hid}",
                              json={"topics": ["mql.qualified", "lead.assigned"]}).json()
            assert updated["topics"] == ["mql.qualified", "lead.assigned"]
            rotated = c.post(f"/v1/webhooks/{hid}/rotate-secret",
                             json={"secret": "new", "grace_hours": 1}).json()
            assert rotated["rotating_until"] is not None
            tested = c.post(f"/v1/webhooks/{hid}/test").json()
            assert tested["outcome"] == "delivered", tested
            removed = c.delete(f"/v1/webhooks/{hid}")
            assert removed.status_code == 200
            assert c.delete(f"/v1/webhooks/{hid}").status_code == 404
    finally:
        r.close()
    _, headers, body = r.log[-1]
    header = headers["X-MQL-Signature"]
    t = int(header.split(",")[0].removeprefix("t="))
    assert verify("new", header, body, now=t) and verify("old", header, body, now=t)
    assert json.loads(body)["type"] == "webhook.test"
    actions = [a["action"] for a in audit_lines(connect(server.database_url))
               if str(a["subject"]).startswith(f"webhook:{hid}")]
    assert actions == ["webhook.add", "webhook.pause", "webhook.resume", "webhook.update",
                       "webhook.rotate_secret", "webhook.test", "webhook.remove"]
