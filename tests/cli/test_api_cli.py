"""`mql keys create|list|revoke` and `mql serve` on a fresh Typer app."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mql.cli.api import register
from mql.service.keys import authenticate
from mql.service.store import init_workspace
from mql.store.db import connect

runner = CliRunner(env={"COLUMNS": "240", "MQL_SECRET_KEY": "cli-test-secret"})


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """Test app."""

    return app


@pytest.fixture
def db(tmp_path: Path) -> str:
    return init_workspace(tmp_path, now=datetime(2026, 3, 2, tzinfo=UTC)).database_url


def test_keys_create_prints_a_working_key_once_then_list_and_revoke(db: str) -> None:
    made = runner.invoke(_app(), ["keys", "create", "website", "--db", db])
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("mql_")
    engine = connect(db)
    try:
        principal = authenticate(engine, secret, server_secret="cli-test-secret")
        assert principal is not None and principal.role == "writer"
        listed = runner.invoke(_app(), ["keys", "list", "--json", "--db", db])
        assert principal.key_id in listed.output and secret not in listed.output
        revoked = runner.invoke(_app(), ["keys", "revoke", principal.key_id, "--db", db])
        assert revoked.exit_code == 0, revoked.output
        assert authenticate(engine, secret, server_secret="cli-test-secret") is None
    finally:
        engine.dispose()


def test_a_token_needs_a_role_and_the_message_lists_them(db: str) -> None:
    result = runner.invoke(_app(), ["keys", "create", "jo", "--kind", "token", "--db", db])
    assert result.exit_code == 2
    assert "admin, marketing, sales, read-only" in result.output


def test_revoking_an_unknown_key_says_how_to_find_the_ids(db: str) -> None:
    result = runner.invoke(_app(), ["keys", "revoke", "nope", "--db", db])
    assert result.exit_code == 2
    assert "mql keys list" in result.output


def test_serve_refuses_the_example_secret_without_dev(db: str) -> None:
    plain = CliRunner(env={"COLUMNS": "240", "MQL_SECRET_KEY": ""})
    result = plain.invoke(_app(), ["serve", "--db", db], env={"MQL_SECRET_KEY": "change-me"})
    assert result.exit_code == 2
    assert "--dev" in result.output


def test_serve_writes_the_openapi_document(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    result = runner.invoke(_app(), ["serve", "--write-openapi", str(target)])
    assert result.exit_code == 0, result.output
    assert '"/v1/batch"' in target.read_text()


def test_serve_with_an_invalid_setting_says_which_variable_without_a_traceback(
        db: str) -> None:
    not_json = runner.invoke(_app(), ["serve", "--db", db], env={"MQL_CORS_ORIGINS": "nope"})
    assert not_json.exit_code == 2
    assert "cors_origins" in not_json.output and "MQL_CORS_ORIGINS='{" in not_json.output
    assert "Traceback" not in not_json.output
    bad_rate = runner.invoke(_app(), ["serve", "--db", db],
                             env={"MQL_API_WRITE_KEY_RATE_PER_SECOND": "fast"})
    assert bad_rate.exit_code == 2
    assert "MQL_API_WRITE_KEY_RATE_PER_SECOND" in bad_rate.output
