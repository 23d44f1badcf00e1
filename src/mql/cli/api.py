"""API commands: `mql serve` and `mql keys create|list|revoke`. The main app adds them with
``register(app)``.

`--db URL` falls back to `MQL_DATABASE_URL`, then to the workspace database here. The
server secret comes from `MQL_SECRET_KEY`; its example value is accepted only with `--dev`.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mql.cli.render import DbOpt, console, fail, store_settings
from mql.clock import SystemClock
from mql.errors import ConfigError, MQLError
from mql.service import keys as key_service
from mql.settings import EXAMPLE_SECRET, Settings, load_settings
from mql.store.db import connect

CLOCK = SystemClock()
DevOpt = Annotated[bool, typer.Option(
    "--dev", help="Development mode: allow the example MQL_SECRET_KEY.")]


class KeyKind(str, Enum):
    """What a key is for."""

    write_key = "write_key"
    token = "token"


class TokenRole(str, Enum):
    """Roles of API tokens."""

    admin = "admin"
    marketing = "marketing"
    sales = "sales"
    read_only = "read-only"


def _settings(db: str | None, dev: bool) -> Settings:
    settings = load_settings(database_url=db, dev=dev) if db else load_settings(dev=dev)
    if settings.secret_key == EXAMPLE_SECRET and not settings.dev:
        raise ConfigError(f"MQL_SECRET_KEY is the example value {EXAMPLE_SECRET!r}; set a "
                          "real one (e.g. `openssl rand -hex 32`) or run with --dev")
    return settings


def _store_url(db: str | None) -> str:
    """The store's URL: `--db`, else the settings' (the environment, the workspace)."""
    return (load_settings(database_url=db) if db else load_settings()).database_url


def register(app: typer.Typer) -> None:
    """Add `serve` and the `keys` commands to `app`."""
    keys = typer.Typer(help="Write keys (send events) and API tokens (roles).",
                       no_args_is_help=True)
    app.add_typer(keys, name="keys")
    out = console()

    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
        db: DbOpt = None,
        dev: DevOpt = False,
        access_log: Annotated[bool, typer.Option(
            help="Log every request (one line each, to stderr).")] = True,
        write_openapi: Annotated[Path | None, typer.Option(
            "--write-openapi", help="Write the OpenAPI document to this file and exit.")] = None,
    ) -> None:
        """Run the HTTP API (Segment-compatible collection, leads, models, keys) and the
        web pages (open http://HOST:PORT/ and sign in with an API token; docs/web.md).

        Collected events are acknowledged once stored in the inbox and applied to leads by
        an applier process the server starts beside itself (`GET /v1/inbox`: its lag;
        MQL_API_APPLY_DELAY_SECONDS: how long messages gather into one group, 0.2 s).
        Past MQL_API_MAX_INBOX_LAG_SECONDS of lag (30 s) collection answers 503 with
        Retry-After until the applier caught up. Request heads are limited to 64 KB and
        100 headers (431)."""
        if write_openapi is not None:
            from mql.api.openapi import write
            write(write_openapi)
            out.print(f"wrote {write_openapi}")
            return
        from mql.api.server import serve as run
        from mql.web.app import create_app
        try:
            application = create_app(_settings(db, dev))
        except MQLError as exc:
            raise fail(exc) from None
        run(application, host=host, port=port, access_log=access_log)

    @keys.command("create")
    def create(
        name: Annotated[str, typer.Argument(help="Source (website, product, crm) or person.")],
        kind: Annotated[KeyKind, typer.Option(help="write_key: send events only.")] = (
            KeyKind.write_key),
        role: Annotated[TokenRole | None, typer.Option(help="Role of a token.")] = None,
        team: Annotated[str | None, typer.Option(help="Sales team of a token.")] = None,
        db: DbOpt = None,
        dev: DevOpt = False,
    ) -> None:
        """Create a key and print it once (only its HMAC is stored)."""
        try:
            settings = _settings(db, dev)
            engine = connect(settings.database_url)
            try:
                created = key_service.create_key(
                    engine, kind=kind.value, name=name, team=team,
                    role=None if role is None else role.value,
                    server_secret=settings.secret_key, actor="cli", now=CLOCK.now())
            finally:
                engine.dispose()
        except MQLError as exc:
            raise fail(exc) from None
        out.print(f"created {created.kind} {created.key_id} ({created.role}) for "
                  f"{created.name}; it is shown only now:")
        print(created.secret)

    @keys.command("list")
    def listing(
        all_: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="JSON lines output.")] = False,
        db: DbOpt = None,
    ) -> None:
        """List keys (never their secrets)."""
        try:
            engine = connect(store_settings(db).database_url)
            try:
                found = key_service.list_keys(engine, include_revoked=all_)
            finally:
                engine.dispose()
        except MQLError as exc:
            raise fail(exc) from None
        if as_json:
            for k in found:
                print(json.dumps({"key_id": k.key_id, "kind": k.kind, "role": k.role,
                                  "name": k.name, "team": k.team,
                                  "created_at": k.created_at.isoformat(),
                                  "revoked_at": k.revoked_at and k.revoked_at.isoformat()}))
            return
        table = Table("key id", "kind", "role", "name", "team", "created", "revoked")
        for k in found:
            table.add_row(k.key_id, k.kind, k.role, k.name, k.team or "-",
                          f"{k.created_at:%Y-%m-%d %H:%M}",
                          f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "-")
        out.print(table)

    @keys.command("revoke")
    def revoke(
        key_id: Annotated[str, typer.Argument(help="The key id (see `mql keys list`).")],
        db: DbOpt = None,
    ) -> None:
        """Revoke a key; servers stop accepting it within their key cache time."""
        try:
            engine = connect(store_settings(db).database_url)
            try:
                done = key_service.revoke_key(engine, key_id, actor="cli", now=CLOCK.now())
            finally:
                engine.dispose()
        except MQLError as exc:
            raise fail(exc) from None
        out.print(f"revoked {done.kind} {done.key_id} ({done.name})")
