"""Keys through the API (created once, stored hashed, revoked), the per-key rate limit and
the audit log of admin actions."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from mql.api.app import create_app
from mql.errors import ConfigError
from mql.service.keys import audit_lines
from mql.settings import Settings
from mql.store.db import connect
from mql.store.tables import auth_keys
from tests.api.conftest import Server, make_keys, make_workspace, running, settings_for


def test_a_token_created_by_an_admin_works_until_it_is_revoked(server: Server) -> None:
    with server.client("admin") as admin:
        created = admin.post("/v1/keys", json={"kind": "token", "name": "jo",
                                               "role": "sales", "team": "emea"})
        assert created.status_code == 201, created.text
        secret, key_id = created.json()["secret"], created.json()["key_id"]
        listed = admin.get("/v1/keys").json()
        assert {"key_id": key_id, "role": "sales", "name": "jo"}.items() <= next(
            k for k in listed if k["key_id"] == key_id).items()
        assert all("secret" not in k for k in listed)
        headers = {"Authorization": f"Bearer {secret}"}
        assert admin.get("/v1/leads", headers=headers).status_code == 200
        assert admin.delete(f"/v1/keys/{key_id}").status_code == 200
        refused = admin.get("/v1/leads", headers=headers)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    engine = connect(server.database_url)
    try:
        with engine.connect() as conn:
            digests = list(conn.execute(sa.select(auth_keys.c.digest)).scalars())
        actions = [line["action"] for line in audit_lines(engine)]
    finally:
        engine.dispose()
    assert secret.split("_", 2)[2] not in "".join(digests)
    assert {"key.create", "key.revoke"} <= set(actions)


def test_a_key_over_its_rate_answers_429_with_retry_after(tmp_path: Path) -> None:
    url = make_workspace(tmp_path)
    keys = make_keys(url)
    app = create_app(settings_for(url, api_rate_per_second=0.5, api_rate_burst=2))
    with running(app) as base, httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {keys['read-only']}"}) as c:
        statuses = [c.get("/v1/models") for _ in range(3)]
        other = c.get("/v1/models", headers={"Authorization": f"Bearer {keys['admin']}"})
    assert [s.status_code for s in statuses] == [200, 200, 429]
    assert int(statuses[2].headers["Retry-After"]) >= 1
    assert "requests per second" in statuses[2].json()["detail"]
    assert other.status_code == 200  # the limit is per key


def test_the_example_secret_is_refused_outside_dev_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(ConfigError, match="MQL_SECRET_KEY is the example value"):
        create_app(Settings(database_url=url))
    create_app(Settings(database_url=url, dev=True))
