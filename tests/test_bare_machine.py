"""`make test` on a machine with only Python: PostgreSQL comes from the pgserver wheel of
the dev extra when the system has none, and the real server runs from it (Java for Spark:
tests/batch/test_bare_machine_java.py)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from tests.postgres import Cluster, _binary, _wheel_bin


def test_without_system_postgres_the_fixture_finds_the_wheel_and_starts_a_real_server(
        tmp_path: Path) -> None:
    bare = str(tmp_path / "bin")  # a PATH with no initdb, and no Debian server folders
    initdb = _binary("initdb", path=bare, system=str(tmp_path / "usr" / "*"))
    pg_ctl = _binary("pg_ctl", path=bare, system=str(tmp_path / "usr" / "*"))
    wheel = _wheel_bin()
    assert wheel is not None, "the dev extra installs pgserver"
    assert (initdb, pg_ctl) == (str(wheel / "initdb"), str(wheel / "pg_ctl"))
    cluster = Cluster(initdb, pg_ctl)
    try:
        url = cluster.new_database()
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
            row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
        assert row is not None and row[0] >= 160000  # the wheel's PostgreSQL 16
    finally:
        cluster.stop()


def test_the_system_postgres_is_preferred_over_the_wheel(tmp_path: Path) -> None:
    own = tmp_path / "bin"
    own.mkdir()
    (own / "initdb").write_text("#!/bin/sh\n")
    (own / "initdb").chmod(0o755)
    assert _binary("initdb", path=str(own)) == str(own / "initdb")
