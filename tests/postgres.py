"""Pytest plugin: a throwaway PostgreSQL cluster, and the store fixtures over both backends.

`pg_url` starts one cluster per session on first use (initdb into a temporary folder,
`pg_ctl start` on 127.0.0.1 with a free port and unix sockets in that folder, stopped at
the end) and gives each test a fresh database. initdb refuses to run as root, so as root
the cluster runs as the `postgres` user (or `nobody`), from a copy of the wheel's
programs when that user cannot reach the clone's .venv. The binaries are the system's
(`initdb` on PATH, or Debian's /usr/lib/postgresql/N/bin), else the `pgserver` wheel's (a
dev dependency: PostgreSQL in a wheel, so a bare machine with only Python runs these tests
too). Without either the postgres tests are skipped locally, and fail under CI=true: CI
must run them for real.

`store_url` is parametrized over ``sqlite`` and ``postgres``; `store` is an engine on it,
migrated, with the example model active.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

T_INIT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _wheel_bin() -> Path | None:
    """The bin folder of the `pgserver` wheel's PostgreSQL, if that package is installed
    (found without importing it: its import sets up folders of its own)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return folder if folder.is_dir() else None


SYSTEM_BINS = "/usr/lib/postgresql/*/bin"  # Debian's versioned server folders


def _binary(name: str, path: str | None = None, system: str = SYSTEM_BINS) -> str | None:
    """Where the PostgreSQL program `name` is: on `path` (default PATH), in the `system`
    folders (a glob, newest version last), else in the pgserver wheel."""
    found = shutil.which(name, path=path)
    if found:
        return found
    candidates = sorted(glob.glob(f"{system}/{name}"))
    if candidates:
        return candidates[-1]
    wheel = _wheel_bin()
    if wheel is not None and os.access(wheel / name, os.X_OK):
        return str(wheel / name)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _runner() -> list[str]:
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["runuser", "-u", user, "--"]
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user for initdb")


class Cluster:
    """A running throwaway cluster: its port, folder and a counter for database names."""

    def __init__(self, initdb: str, pg_ctl: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mql-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.pg_ctl = pg_ctl
        self.prefix = _runner()
        if self.prefix:
            user = self.prefix[2]
            shutil.chown(self.root, user=user)
            initdb, pg_ctl = self._reachable(initdb, pg_ctl)
            self.pg_ctl = pg_ctl
        self._run([initdb, "-D", str(self.data), "-U", "mql", "--auth=trust", "-E", "UTF8",
                   "--no-sync"])
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200")
        self._run([pg_ctl, "-D", str(self.data), "-o", options, "-l",
                   str(self.root / "log"), "-w", "-t", "60", "start"])
        self.count = 0

    def _reachable(self, initdb: str, pg_ctl: str) -> tuple[str, str]:
        """The programs as the cluster's user can run them. The pgserver wheel lives in
        the clone's .venv, which that user cannot enter when the clone sits in a private
        folder (a 0700 home or `mktemp -d`); then its PostgreSQL is copied into the
        cluster's own folder, which the user owns."""
        probe = subprocess.run([*self.prefix, "test", "-x", initdb], check=False)
        wheel = _wheel_bin()
        if probe.returncode == 0 or wheel is None or Path(initdb).parent != wheel:
            return initdb, pg_ctl
        # the same layout: the programs find their libraries at $ORIGIN/../../../pgserver.libs
        package, site = wheel.parent.parent, wheel.parent.parent.parent
        copy = self.root / "wheel"
        shutil.copytree(wheel.parent, copy / package.name / "pginstall", symlinks=True)
        if (site / "pgserver.libs").is_dir():
            shutil.copytree(site / "pgserver.libs", copy / "pgserver.libs", symlinks=True)
        os.chmod(self.root, 0o755)
        bin_ = copy / package.name / "pginstall" / "bin"
        return str(bin_ / "initdb"), str(bin_ / Path(pg_ctl).name)

    def _run(self, args: list[str]) -> None:
        result = subprocess.run([*self.prefix, *args], capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            log = self.root / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed: {result.stderr}{result.stdout}{tail}")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://mql@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        self.count += 1
        name = f"t{self.count}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=mql dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        subprocess.run([*self.prefix, self.pg_ctl, "-D", str(self.data), "-m", "immediate",
                        "stop"], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) are missing; CI must run the "
                        "postgres tests (the dev extra installs the pgserver wheel)")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: pip install -e '.[dev]' "
                    "brings the pgserver wheel")
    cluster = Cluster(initdb, pg_ctl)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """The URL of a fresh, empty database in the session's throwaway cluster."""
    return pg_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL, once on SQLite (a file under tmp_path), once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Engine]:
    """An engine on `store_url`, migrated, with the example model active."""
    from mql.store.db import connect
    from mql.store.migrate import upgrade
    from mql.store.models import activate, save_version

    engine = connect(store_url)
    upgrade(engine)
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    with engine.begin() as conn:
        activate(conn, save_version(conn, "b2b_saas", "1", text, source="b2b-saas.yaml",
                                    now=T_INIT), now=T_INIT)
    try:
        yield engine
    finally:
        engine.dispose()
