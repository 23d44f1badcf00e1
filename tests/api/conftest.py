"""A real uvicorn server on 127.0.0.1 per test module, over a fresh workspace database, with
one key per role. Third-party warnings are filtered here, narrowly."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from mql.api.app import create_app
from mql.service.keys import create_key
from mql.service.store import init_workspace
from mql.settings import Settings
from mql.store.db import connect

SECRET = "test-secret-not-the-example"
ROLES = ("writer", "admin", "marketing", "sales", "read-only")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SALES_TEAM = "na_enterprise"  # where the example model routes large US software accounts


@dataclass(frozen=True)
class Server:
    """A running API: its base URL, database URL and one key per role."""

    url: str
    database_url: str
    keys: dict[str, str]

    def client(self, role: str | None = None) -> httpx.Client:
        """An httpx client for the server, authenticated as `role` (None: anonymous).
        The write key goes as the Basic username, as Segment clients send it."""
        if role is None:
            return httpx.Client(base_url=self.url, timeout=30)
        if role == "writer":
            return httpx.Client(base_url=self.url, auth=(self.keys[role], ""), timeout=30)
        return httpx.Client(base_url=self.url, timeout=30,
                            headers={"Authorization": f"Bearer {self.keys[role]}"})


    def applied(self, timeout: float = 30.0) -> None:
        """Wait until the server applied every collected message to the store (collection
        answers once messages are in the inbox; scores follow right behind)."""
        wait_applied(self.url, self.keys["read-only"], timeout)


def wait_applied(base: str, token: str, timeout: float = 30.0) -> None:
    """Wait until the server at `base` has no collected message left to apply."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as c:
        while True:
            answer = c.get("/v1/inbox")
            answer.raise_for_status()
            if answer.json()["pending"] == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the inbox still holds {answer.json()}")
            time.sleep(0.02)


def start_serve(url: str, port: int, env: Mapping[str, str] | None = None, *,
                within: float = 30.0) -> subprocess.Popen[bytes]:
    """A real `mql serve` (its own process, as a user runs it) over the store at `url` on
    127.0.0.1:`port`, with `env` over this environment and MQL_SECRET_KEY set; returned
    once /health answers (the process is ended if it does not within `within` s)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "mql", "serve", "--db", url, "--port", str(port),
         "--no-access-log"], env={**os.environ, "MQL_SECRET_KEY": SECRET, **(env or {})},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise AssertionError(f"mql serve did not start (exit {server.poll()})")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class running:
    """Serve `app` with uvicorn on 127.0.0.1 in a thread; the base URL while inside."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                ws="none", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


def make_workspace(folder: Path) -> str:
    """A fresh workspace database (example model active) under `folder`; its URL."""
    return init_workspace(folder, now=T0).database_url


def make_keys(database_url: str) -> dict[str, str]:
    """One key per role in `ROLES`: a write key named "website" and a token per role."""
    engine = connect(database_url)
    try:
        made = {}
        for role in ROLES:
            kind = "write_key" if role == "writer" else "token"
            made[role] = create_key(engine, kind=kind, name="website" if kind == "write_key"
                                    else f"{role}-person", role=None if role == "writer"
                                    else role, team=SALES_TEAM if role == "sales" else None,
                                    server_secret=SECRET, actor="test",
                                    now=T0).secret
        return made
    finally:
        engine.dispose()


def settings_for(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"database_url": database_url, "secret_key": SECRET,
                                 "api_key_cache_seconds": 0.0, "api_apply_delay_seconds": 0.0}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One live server per test module over a fresh workspace."""
    folder = tmp_path_factory.mktemp("api")
    url = make_workspace(folder)
    keys = make_keys(url)
    with running(create_app(settings_for(url))) as base:
        yield Server(base, url, keys)
